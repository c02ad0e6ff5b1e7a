"""The consistency step's cost and effect at 480p, its flow as before (DIS fast at 480 px, its default level 2)
against now (240 px down to level 1): the step's CPU per frame (this thread's, interleaved frame by frame), and on
a clip panning over held-out photos (3 shots x 16 frames, 854x480) the warping error with the true and the
estimated flow, the style distance and the sharpness (benchmarks/video.py's `stability`), int8 van-gogh-irises.
`--real`: the first 48 frames of opencv-doc's Megamind.avi instead (estimated flow only).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/consistency_step.py [--real] [--no-style]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import video  # noqa: E402
from daguerre.imaging import Picture  # noqa: E402
from daguerre.models.registry import find_model  # noqa: E402
from daguerre.ops import get_operation  # noqa: E402
from daguerre.video import DEFAULT_CONSISTENCY  # noqa: E402
from daguerre.video.consistency import TemporalConsistency  # noqa: E402

STEPS = {"flow 480 px, level 2 (before)": {"flow_size": 480, "flow_finest": None}, "now": {}}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="Megamind.avi instead of the held-out pan")
    parser.add_argument("--no-style", action="store_true", help="skip the style distance (VGG19, slow)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    frames = video.real_frames() if args.real else video.synthetic((854, 480), 3, 16)
    params = {"method": "fast", "model": video.STYLE_MODEL, "tile": 1024, "precision": "int8"}
    op = get_operation("stylize")
    outputs = [op.run(Picture(f), **params).pixels for f, _ in frames]
    painting = None if args.no_style else video.load_rgb(
        video.painting_path(find_model(video.STYLE_MODEL)), max(frames[0][0].shape[1:]))[0].numpy()
    steps = {k: TemporalConsistency(DEFAULT_CONSISTENCY, **kw) for k, kw in STEPS.items()}
    ms: dict[str, list[float]] = {k: [] for k in STEPS}
    for _ in range(3):
        for s in steps.values():
            s.reset()
        for (f, _), o in zip(frames, outputs, strict=True):
            for k, s in steps.items():
                start = time.thread_time()
                s(f, o)
                ms[k].append(1e3 * (time.thread_time() - start))
    base = float(np.median(ms[next(iter(STEPS))]))
    rows = []
    real_class = video.TemporalConsistency
    for k, kw in STEPS.items():
        video.TemporalConsistency = lambda c, chroma_only=False, kw=kw: real_class(c, chroma_only=chroma_only, **kw)
        try:
            plain, steady = video.stability(frames, outputs, (0.0, DEFAULT_CONSISTENCY), False, painting)
        finally:
            video.TemporalConsistency = real_class
        step = float(np.median(ms[k]))
        rows.append([k, step, step / base, 1e4 * steady["warping_error_true_flow"] if not args.real else None,
                     1e4 * steady["warping_error_estimated_flow"],
                     1e4 * plain["warping_error_estimated_flow"], steady.get("style_distance", 0)
                     / plain.get("style_distance", 1) - 1 if painting is not None else None,
                     steady["sharpness_ratio"]])
        print(f"  {k}: {rows[-1][1:]}", flush=True)
    print(video.format_table(["step", "CPU ms a frame", "x before", "warp err true flow x1e4",
                              "warp err est. flow x1e4", "frame by frame (est.)", "style distance change",
                              "sharpness"], rows))


if __name__ == "__main__":
    main()
