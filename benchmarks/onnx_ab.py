"""Two caches of exported style models timed against each other, alternated run by run in one process (the
machine's load changes within minutes, so only such same-run ratios are quoted): every model's int8 and fp32
file in `--before` paired with the same model's file in `--after`, at 856x480 on the held-out coffee photo, with
their outputs' PSNR against each other.

    XDG_CACHE_HOME=/tmp/before PYTHONPATH=<old checkout>/src python -c "..."   # fill each cache with its code
    .venv/bin/python benchmarks/onnx_ab.py --before /tmp/before/daguerre/onnx --after ~/.cache/daguerre/onnx
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from _common import base_parser, print_header

SAMPLE = Path(__file__).resolve().parent.parent / "src" / "daguerre" / "samples" / "coffee.jpg"


def session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as `daguerre.models.onnx` runs them
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def model_key(path: Path) -> str:
    """The file's model and kind without the export recipe: 'name-key-int8-v5' / 'name-key'."""
    return re.sub(r"-e\d+(?=(-int8-v\d+)?\.onnx$)", "", path.name)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a cache folder of ONNX files")
    parser.add_argument("--after", type=Path, required=True, help="another, made by the code after the change")
    parser.add_argument("--runs", type=int, default=6, help="alternated runs of each file")
    args = parser.parse_args()
    print_header("ONNX files before and after, alternated", args)
    with Image.open(SAMPLE) as im:
        x = (np.asarray(im.convert("RGB").resize((856, 480)), np.float32) / 255).transpose(2, 0, 1)[None].copy()
    after = {model_key(p): p for p in args.after.glob("*.onnx")}
    ratios: dict[str, list[float]] = {"int8": [], "fp32": []}
    for path in sorted(args.before.glob("*.onnx")):
        kind = "int8" if "-int8-" in path.name else "fp32"
        if model_key(path) not in after or re.search(r"-(encoder|decoder)", path.name):
            continue
        a, b = session(path, args.threads), session(after[model_key(path)], args.threads)
        ya, yb = (np.clip(s.run(None, {"image": x})[0], 0, 1) for s in (a, b))
        psnr = 10 * np.log10(1 / max(float(np.mean((ya - yb) ** 2)), 1e-20))
        times = np.zeros((2, args.runs))
        for i in range(args.runs):
            for j, s in enumerate((a, b)):
                start = time.perf_counter()
                s.run(None, {"image": x})
                times[j, i] = time.perf_counter() - start
        ratio = float(np.median(times[1] / times[0]))
        ratios[kind].append(ratio)
        before_ms, after_ms = 1000 * np.median(times, axis=1)
        print(f"{model_key(path)[:40]:40s} {kind}  before {before_ms:6.1f}  after {after_ms:6.1f} ms  "
              f"ratio {ratio:.3f}  outputs {psnr:.1f} dB apart")
    for kind, rs in ratios.items():
        if rs:
            print(f"{kind}: median ratio {np.median(rs):.3f} (range {min(rs):.3f}-{max(rs):.3f}, {len(rs)} models)")


if __name__ == "__main__":
    main()
