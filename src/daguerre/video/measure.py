"""Measure a processed clip against its original: fidelity frame by frame, and how steady it is.

`daguerre evaluate result.mp4 -r original.mp4` (and `api.evaluate` given clips). Both clips are streamed, never
held whole. Fidelity (PSNR, SSIM) is the mean over every frame, LPIPS and the style distance over about
`SAMPLED` frames spread evenly (each costs a network pass). Steadiness is the warping error of Lai et al. 2018
(`metrics.warping_error`): each output frame against the previous output laid onto it along the *original's*
motion (DIS flow), on the pixels the flow can be trusted, pairs across a scene cut left out. The original's own
warping error is given beside it: the motion the flow cannot explain, the floor a result is judged against
(`benchmarks/video.py` measures the same way).
"""

from __future__ import annotations

from itertools import zip_longest
from pathlib import Path

import numpy as np

from daguerre.imaging import ImageError

SAMPLED = 24  # frames LPIPS and the style distance are measured on, spread over the clip


def measure_clip(result: str | Path, original: str | Path, style: np.ndarray | None = None) -> dict[str, float]:
    """psnr, ssim, lpips (means), warping_error and original_warping_error (means over the frame pairs), frames;
    style_distance with `style` (3, H, W) in [0, 1]. A clip of another size or length is an error naming it."""
    import cv2

    from daguerre import metrics
    from daguerre.video.clip import open_clip
    from daguerre.video.flow import FlowEstimator, confidence, grey8, is_scene_cut, resize_flow, warp

    result, original = Path(result), Path(original)
    (a_info, a_frames), (b_info, b_frames) = open_clip(result), open_clip(original)
    if a_info.size != b_info.size:
        raise ImageError(result, f"is {a_info.size[0]}x{a_info.size[1]}, the original {original.name} "
                                 f"{b_info.size[0]}x{b_info.size[1]}")
    every = max(1, round((b_info.frames or SAMPLED) / SAMPLED))
    flow = FlowEstimator()
    scores: dict[str, list[float]] = {"psnr": [], "ssim": [], "lpips": [], "style_distance": [], "warping_error": [],
                                      "original_warping_error": []}
    count, previous = 0, None
    for a, b in zip_longest(a_frames, b_frames):
        if a is None or b is None:  # one clip goes on: the rest counted (decoded) to say by how much
            made, had = count + (a is not None) + sum(1 for _ in a_frames), count + (b is not None) + sum(
                1 for _ in b_frames)
            raise ImageError(result, f"has {made} frames, the original {original.name} {had}: measure a result "
                                     "against the clip it was made from")
        out, src = a.rgb(), b.rgb()
        scores["psnr"].append(float(metrics.psnr(out, src)))
        scores["ssim"].append(float(metrics.ssim(out, src)))
        if count % every == 0:
            scores["lpips"].append(float(metrics.lpips(out, src)))
            if style is not None:
                scores["style_distance"].append(float(metrics.style_distance(out, style)))
        grey = flow.small(grey8(src))
        if previous is not None and not is_scene_cut(grey, previous[2]):
            back = flow(grey, previous[2])
            trust = confidence(back, flow(previous[2], grey))
            h, w = src.shape[1:]
            back = resize_flow(back, (w, h))
            trust = cv2.resize(trust, (w, h), interpolation=cv2.INTER_NEAREST).astype(np.float32)[None, None]
            for key, now, before in (("warping_error", out, previous[0]), ("original_warping_error", src, previous[1])):
                laid = warp(np.ascontiguousarray(before.transpose(1, 2, 0)), back).transpose(2, 0, 1)[None]
                scores[key].append(metrics.warping_error(np.stack([before, now]), laid, trust))
        previous = (out, src, grey)
        count += 1
    out = {k: float(np.mean(v)) for k, v in scores.items() if v}
    return {**out, "frames": count}
