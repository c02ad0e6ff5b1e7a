"""A still Operation's speed under two versions of the code, alternated: is a change faster, and the same?

The machine is shared and its speed drifts by the minute, so the two versions run turn about, each in a fresh
process (`--child`), on the held-out `coffee` photo resized to each `--sizes` (480p and 1 MP by default). Printed
for each run: the median ms of `--repeats` calls after a warm-up, and a hash of the output's pixels (as 8-bit),
so a change meant to keep the numbers shows that it did.

    .venv/bin/python benchmarks/op_alternate.py --before /tmp/clone/src [--after src] [--operation restore]
        [--rounds 3] [--threads 2] [--sizes 854x480 1024x1024]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import base_parser, format_table, print_header

HERE = Path(__file__).parent
PHOTO = HERE.parent / "src" / "daguerre" / "samples" / "coffee.jpg"  # held out from every model's training


def child(src: str, operation: str, size: tuple[int, int], threads: int, repeats: int) -> dict:
    """One version's median time and output hash (run in its own process)."""
    sys.path.insert(0, src)
    import numpy as np
    import torch
    from PIL import Image

    torch.set_num_threads(threads)
    from daguerre.imaging import Picture
    from daguerre.ops import get_operation

    with Image.open(PHOTO) as im:
        rgb = np.asarray(im.convert("RGB").resize(size, Image.Resampling.BICUBIC), np.float32) / 255
    picture = Picture(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    op = get_operation(operation)
    out = op.run(picture)  # warm-up: models loaded, caches made
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = op.run(picture)
        times.append(time.perf_counter() - start)
    pixels = np.round(np.clip(out.pixels, 0, 1) * 255).astype(np.uint8)
    return {"ms": 1000 * statistics.median(times), "sha": hashlib.sha256(pixels.tobytes()).hexdigest()[:12]}


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--before", help="src folder of the code to compare with (required)")
    parser.add_argument("--after", default=str(HERE.parent / "src"), help="src folder of the new code (this tree)")
    parser.add_argument("--operation", default="restore")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", nargs="+", default=["854x480", "1024x1024"])
    parser.add_argument("--child", nargs=3, metavar=("SRC", "SIZE", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        src, size, threads = args.child
        w, h = (int(n) for n in size.split("x"))
        print(json.dumps(child(src, args.operation, (w, h), int(threads), args.repeats)))
        return
    if not args.before:
        parser.error("--before SRC is required")
    print_header(f"{args.operation}: two versions of the code alternated", args)
    rows = []
    for round_ in range(1, args.rounds + 1):
        for size in args.sizes:
            for name, src in (("before", args.before), ("after", args.after)):
                out = subprocess.run([sys.executable, __file__, "--child", src, size, str(args.threads),
                                      "--operation", args.operation, "--repeats", str(args.repeats)],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append([round_, size, name, r["ms"], r["sha"]])
                print(f"  round {round_}, {size}, {name}: {r['ms']:.0f} ms", flush=True)
    print()
    print(format_table(["round", "size", "code", "median ms", "output sha256 (8-bit)"], rows))


if __name__ == "__main__":
    main()
