"""Where `--steady local`'s CPU goes at 854x480, per part, on training-split clips (thread CPU time, medians).

Frames: `video_moving.layered_clip` (training-split photos only) at 854x480. Each part of `SteadyLocal`'s step
(flow, lock, maps, the frame resampled in, the network's halves, the feature blend, the resampling out, the
let_go blend) is timed by wrapping the function that does it; "the lock's arithmetic" is what is left of
`motion`. `--precision int8` runs the halves cut from the int8 network (`onnx_halves`).

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/steady_local_cost.py [--precision int8]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import print_header, set_threads  # noqa: E402
from daguerre.ops import styles  # noqa: E402
from daguerre.video import steady_local  # noqa: E402
from daguerre.video.steady_local import SteadyLocal  # noqa: E402
from daguerre.video.steady_style import onnx_halves  # noqa: E402
from video_moving import layered_clip, training_photos  # noqa: E402

MODEL = "van-gogh-irises"
PARTS = {  # part: (module or class, attribute)
    "flow (two DIS, trust)": (steady_local, "trusted_flow"),
    "smoothed flow": (steady_local, "smoothed"),
    "lock maps (inverse, resized)": (SteadyLocal, "lock_maps"),
    "flow resized to full size": (steady_local, "resize_flow"),
    "frame resampled in": (steady_local, "resampled"),
    "output resampled out": (steady_local, "resampled_out"),
    "let_go blend (warp, blend, contrast)": (steady_local, "blended_where_weighted"),
}


def timed(spent: dict[str, float], name: str, fn: Callable) -> Callable:
    def wrapper(*args: object, **kwargs: object) -> object:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.thread_time() - start
    return wrapper


def profile(steady: SteadyLocal, frames: list[np.ndarray]) -> dict[str, list[float]]:
    """ms of thread CPU per part and frame (the first frame of each clip left out: no motion yet)."""
    spent: dict[str, float] = defaultdict(float)
    saved = {name: getattr(owner, attr) for name, (owner, attr) in PARTS.items()}
    encode, decode = steady.encode, steady.decode
    steady.encode, steady.decode = timed(spent, "encoder", encode), timed(spent, "decoder", decode)
    out: dict[str, list[float]] = defaultdict(list)
    try:
        for name, (owner, attr) in PARTS.items():
            setattr(owner, attr, timed(spent, name, saved[name]))
        for i, frame in enumerate(frames):
            spent.clear()
            start = time.thread_time()
            motion = steady.motion(frame)
            spent["motion, all"] = time.thread_time() - start
            start = time.thread_time()
            steady.render(frame, motion)
            spent["render, all"] = time.thread_time() - start
            if i:
                inside = ("flow (two DIS, trust)", "smoothed flow", "lock maps (inverse, resized)",
                          "flow resized to full size", "frame resampled in")
                spent["lock's arithmetic (the rest of motion)"] = spent["motion, all"] - sum(spent[k] for k in inside)
                spent["feature blend (the rest of render)"] = spent["render, all"] - sum(
                    spent[k] for k in ("encoder", "decoder", "output resampled out",
                                       "let_go blend (warp, blend, contrast)"))
                for k, v in spent.items():
                    out[k].append(1e3 * v)
    finally:
        for name, (owner, attr) in PARTS.items():
            setattr(owner, attr, saved[name])
        steady.encode, steady.decode = encode, decode
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="one clip of 3 frames: checks the script")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.frames = 1, 3
    set_threads(args.threads)
    import cv2

    cv2.setNumThreads(args.threads)
    print_header("steady local: CPU per part at 854x480", args)
    card, net = styles.style_model(MODEL)
    pictures = training_photos(4 * args.clips)
    clips = [[f for f, _, _ in layered_clip(pictures[4 * i : 4 * i + 3], (854, 480), args.frames, i)]
             for i in range(args.clips)]
    parts: dict[str, list[float]] = defaultdict(list)
    for clip in clips:
        steady = SteadyLocal(net, 0.3, halves=onnx_halves(card, net, args.precision))
        for k, v in profile(steady, clip).items():
            parts[k] += v
    total = np.median(np.add(parts["motion, all"], parts["render, all"]))
    network = np.median(np.add(parts["encoder"], parts["decoder"]))
    print(f"{'part':44s} {'CPU ms (median)':>16s}")
    for k, v in parts.items():
        print(f"{k:44s} {np.median(v):16.1f}")
    print(f"{'all (motion + render)':44s} {total:16.1f}")
    print(f"{'the step (all less the network)':44s} {total - network:16.1f}  x{(total - network) / network:.2f} the "
          f"network's {network:.1f}")


if __name__ == "__main__":
    main()
