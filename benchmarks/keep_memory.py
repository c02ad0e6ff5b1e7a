"""Peak memory of the restore model's `keep` step (`RestoreNet.kept`) on a large scan: in bands of rows against
the whole picture at once (issue 17 review: the step undid the tiler's memory bound).

    PYTHONPATH=src python benchmarks/keep_memory.py [--mp 24] --threads 1

The bundled `coffee` photo resized to about --mp megapixels is the base; the restored picture is a blurred copy of
it (the step's cost does not depend on what the U-Net did), the mask a few drawn lines. Each form runs in a fresh
process: the peak resident memory (VmHWM, reset once the inputs are built) minus the resident memory before the
step, and the step's time. Writes results/keep_memory.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from _common import RESULTS, base_parser, print_header, set_threads


def status(field: str) -> float:
    """A /proc/self/status field in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def one(mp: float, strip: int | None) -> dict:
    """Runs in the child: builds the inputs, resets the peak, runs `kept` once."""
    import cv2
    import numpy as np
    import torch

    from daguerre.imaging import load
    from daguerre.nets.restore_net import RestoreNet
    from daguerre.ops.task_models import task_model

    torch.set_num_threads(1)
    _, net = task_model("restore", None)
    assert isinstance(net, RestoreNet) and net.keep
    photo = load(Path(__file__).parents[1] / "src/daguerre/samples/coffee.jpg").rgb().transpose(1, 2, 0)
    scale = (mp * 1e6 / (photo.shape[0] * photo.shape[1])) ** 0.5
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC).clip(0, 1)
    base = torch.from_numpy(np.ascontiguousarray(big.transpose(2, 0, 1)))[None]
    y = torch.from_numpy(np.ascontiguousarray(cv2.GaussianBlur(big, (0, 0), 1.5).transpose(2, 0, 1)))[None]
    mask = np.zeros(big.shape[:2], np.float32)
    for k in range(20):
        cv2.line(mask, (0, 300 * k), (big.shape[1] - 1, 200 * k + 100), 1.0, 3)
    mask = torch.from_numpy(mask)[None, None]
    del photo, big
    before = status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    start = time.perf_counter()
    with torch.inference_mode():
        out = net.kept(base, y, mask, [(0.0, 0.0, 0.0)], **({} if strip is None else {"strip": strip}))
    seconds = time.perf_counter() - start
    return {"pixels": int(base.shape[-1] * base.shape[-2]), "extra_mb": status("VmHWM") - before,
            "seconds": seconds, "full_copy_mb": out.numel() * 4 / 2**20}


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--mp", type=float, default=24.0, help="megapixels (default 24)")
    parser.add_argument("--child", nargs=2, help=argparse_hidden())
    args = parser.parse_args()
    if args.child:
        strip = None if args.child[1] == "default" else int(args.child[1])
        print(json.dumps(one(float(args.child[0]), strip)))
        return
    set_threads(args.threads)
    info = print_header("restore keep: peak memory of the step on a large scan", args)
    rows = {}
    for name, strip in (("whole picture at once (as before)", "1000000"), ("bands of rows (default)", "default")):
        done = subprocess.run([sys.executable, __file__, "--threads", "1", "--child", str(args.mp), strip],
                              capture_output=True, text=True, check=True)
        rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
        r = rows[name]
        print(f"{name}: {r['pixels'] / 1e6:.1f} MP, peak +{r['extra_mb']:.0f} MB over the inputs "
              f"(one full RGB float32 copy: {r['full_copy_mb']:.0f} MB), {r['seconds']:.1f} s", flush=True)
    path = RESULTS / "keep_memory.json"
    path.write_text(json.dumps({"machine": info, "mp": args.mp, "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
