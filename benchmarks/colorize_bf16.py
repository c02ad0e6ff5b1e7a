"""Colorize's ImageNet encoder in fp32 and in bf16 (OpenVINO), on the held-out photos: the same colours?

The held-out cases of `colorize.py` (grey halves of colour photos, the overlap and disjoint references, 10
hints), colorized with `precision` fp32 and bf16 in the same process: the goals' figures for each (chroma error,
its ratio to grey's, colourfulness, LPIPS), how far the two outputs are apart, and the time of a 480p grey
frame (median of --repeats calls, the two precisions turn about). Needs a CPU with native bf16 and OpenVINO.

    .venv/bin/python benchmarks/colorize_bf16.py [--threads 2] [--n 30] [--repeats 5]
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch

from _common import base_parser, format_table, print_header, set_threads

PHOTO = Path(__file__).parent.parent / "src" / "daguerre" / "samples" / "coffee.jpg"
ROWS = {"automatic": {}, "overlap reference": {"reference": "overlap"},
        "disjoint reference": {"reference": "disjoint"}, "10 hints": {"hints": True}}


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="held-out photos (default all)")
    parser.add_argument("--size", type=int, default=256, help="photos' short side in px (default 256)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    set_threads(args.threads)
    print_header("Colorize: its encoder in fp32 and bf16 on held-out photos", args)
    import colorize as bench
    from daguerre.imaging import Picture
    from daguerre.metrics import chroma_error, colourfulness, lpips
    from daguerre.models.onnx import bf16_available
    from daguerre.ops import get_operation

    if not bf16_available():
        raise SystemExit("this CPU has no native bf16 (or OpenVINO is not installed)")
    data, _ = bench.cases(args)
    grey_error = np.mean([chroma_error(c.grey, c.truth) for c in data])
    table = []
    for name, params in ROWS.items():
        outs = {}
        for precision in ("fp32", "bf16"):
            run = bench.ours(None, precision=precision, **params)
            with torch.inference_mode():
                outs[precision] = [np.clip(run(c), 0, 1).astype(np.float32) for c in data]
            o = outs[precision]
            error = np.mean([chroma_error(x, c.truth) for x, c in zip(o, data, strict=True)])
            table.append([name, precision, error, error / grey_error, np.mean([colourfulness(x) for x in o]),
                          np.mean([lpips(x, c.truth) for x, c in zip(o, data, strict=True)]), "", ""])
        apart = [np.abs(a - b) for a, b in zip(outs["fp32"], outs["bf16"], strict=True)]
        table[-1][6:] = [float(np.mean([d.mean() for d in apart])), float(max(d.max() for d in apart))]
        print(f"  {name}: done", flush=True)
    print()
    print(format_table(["case", "encoder", "chroma error", "/ grey's", "colourfulness", "LPIPS",
                        "mean |bf16 - fp32|", "max |bf16 - fp32|"], table))

    from PIL import Image

    op = get_operation("colorize")
    with Image.open(PHOTO) as im:  # held out: a 480p grey frame of it
        grey = im.convert("L").resize((854, 480), Image.Resampling.BICUBIC)
    frame = Picture(np.asarray(grey, np.float32)[None] / 255)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for precision in ("fp32", "bf16"):
        op.run(frame, precision=precision)  # warm-up: the encoder loaded or compiled
    for _ in range(args.repeats):
        for precision in ("fp32", "bf16"):
            start = time.perf_counter()
            op.run(frame, precision=precision)
            times[precision].append(time.perf_counter() - start)
    h, w = frame.pixels.shape[-2:]
    print()
    print(format_table([f"a {w}x{h} grey frame", "median ms"],
                       [[p, 1000 * statistics.median(t)] for p, t in times.items()]))


if __name__ == "__main__":
    main()
