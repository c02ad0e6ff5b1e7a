"""Measure a processed clip against its original: fidelity, and how steady it is.

`daguerre evaluate result.mp4 -r original.mp4` (and `api.evaluate` given clips), and every clip the archive
derives. Both clips are streamed, never held whole, and about `SAMPLED` frames spread evenly over them are
measured (all of a short clip). Steadiness is the warping error of Lai et al. 2018 (`metrics.warping_error`):
each sampled output frame against the output before it laid onto it along the *original's* motion (DIS flow), on
the pixels the flow can be trusted, pairs across a scene cut left out. The original's own warping error is given
beside it: the motion the flow cannot explain, the floor a result is judged against (`benchmarks/video.py`
measures the same way).
"""

from __future__ import annotations

from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from daguerre.imaging import ImageError

if TYPE_CHECKING:
    from daguerre.video.flow import FlowEstimator

SAMPLED = 48  # frames measured, spread evenly over the clip (all of a clip this short or shorter)
LPIPS_SAMPLED = 8  # of them, those LPIPS is measured on: ~10 CPU s a 480p frame (BENCHMARKS.md, "Video")


def measure_clip(result: str | Path, original: str | Path, style: np.ndarray | None = None,
                 lpips: bool = True) -> dict[str, float]:
    """Means over about `SAMPLED` frames spread evenly over the clips: psnr, ssim, lpips (with `lpips`; on about
    `LPIPS_SAMPLED` of them), style_distance (with `style`, (3, H, W) in [0, 1]), and warping_error and
    original_warping_error (each sampled frame against the frame before it); frames (all of them) and
    frames_measured. Every frame is decoded, only the
    sampled ones measured, so an hour-long clip costs its decoding and ~`SAMPLED` frames' measures. A clip of
    another size or length is an error naming it."""

    from daguerre import metrics
    from daguerre.video.clip import open_clip
    from daguerre.video.flow import FlowEstimator, grey8

    result, original = Path(result), Path(original)
    (a_info, a_frames), (b_info, b_frames) = open_clip(result), open_clip(original)
    if a_info.size != b_info.size:
        raise ImageError(result, f"is {a_info.size[0]}x{a_info.size[1]}, the original {original.name} "
                                 f"{b_info.size[0]}x{b_info.size[1]}")
    small = metrics.too_small(b_info.size[::-1])  # left out: SSIM, LPIPS of frames too small for them
    every = max(1, (b_info.frames or SAMPLED) // SAMPLED)
    flow = FlowEstimator()
    scores: dict[str, list[float]] = {"psnr": [], "ssim": [], "lpips": [], "style_distance": [], "warping_error": [],
                                      "original_warping_error": []}
    count, previous, measured = 0, None, 0
    for a, b in zip_longest(a_frames, b_frames):
        if a is None or b is None:  # one clip goes on: the rest counted (decoded) to say by how much
            made, had = count + (a is not None) + sum(1 for _ in a_frames), count + (b is not None) + sum(
                1 for _ in b_frames)
            raise ImageError(result, f"has {made} frames, the original {original.name} {had}: measure a result "
                                     "against the clip it was made from")
        sampled = count % every == 0
        now = None
        if sampled or (count + 1) % every == 0:  # a sampled frame, or the one before it: converted once
            out, src = a.rgb(), b.rgb()
            now = (out, src, flow.small(grey8(src)))
        if sampled:
            measured += 1
            scores["psnr"].append(float(metrics.psnr(out, src)))
            if "ssim" not in small:
                scores["ssim"].append(float(metrics.ssim(out, src)))
            if lpips and "lpips" not in small and (measured - 1) % (SAMPLED // LPIPS_SAMPLED) == 0:
                scores["lpips"].append(float(metrics.lpips(out, src)))
            if style is not None:
                scores["style_distance"].append(float(metrics.style_distance(out, style)))
            if previous is not None:
                _steadiness(scores, now, previous, flow)
        previous, count = now, count + 1
    out = {k: float(np.mean(v)) for k, v in scores.items() if v}
    return {**out, "frames": count, "frames_measured": measured}


def _steadiness(scores: dict, now: tuple, before: tuple, flow: FlowEstimator) -> None:
    """The warping errors of the output and of the original from the frame `before` to this one (`now`; each
    output, original and the original's grey at the flow's size), along the original's motion where the flow is
    trusted; nothing across a scene cut."""
    import cv2

    from daguerre import metrics
    from daguerre.video.flow import confidence, is_scene_cut, resize_flow, warp

    (out, src, grey), (out_before, src_before, grey_before) = now, before
    if is_scene_cut(grey, grey_before):
        return
    back = flow(grey, grey_before)
    trust = confidence(back, flow(grey_before, grey))
    h, w = src.shape[1:]
    back = resize_flow(back, (w, h))
    trust = cv2.resize(trust, (w, h), interpolation=cv2.INTER_NEAREST).astype(np.float32)[None, None]
    for key, frame, previous in (("warping_error", out, out_before), ("original_warping_error", src, src_before)):
        laid = warp(np.ascontiguousarray(previous.transpose(1, 2, 0)), back).transpose(2, 0, 1)[None]
        scores[key].append(metrics.warping_error(np.stack([previous, frame]), laid, trust))
