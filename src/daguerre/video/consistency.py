"""The temporal-consistency step: each output frame is pulled towards the previous (steadied) output, warped by
the optical flow of the input frames, where that flow is trusted.

    out_t = result_t + strength * c_t * (warp(out_{t-1}, flow_t) - result_t)

`c_t` is 1 where the flow passes the forward-backward check and the warped previous input matches the current
one, 0 at occlusions, disocclusions and pixels entering the frame (Ruder et al. 2016, "Artistic style transfer
for videos"), softened over a few pixels. Static regions therefore stay still, moving ones follow the motion, and
new content is the Operation's own result. At a scene cut (grey histograms far apart, or under a quarter of the
frame found in the previous one) nothing is carried over.
With `chroma_only` (colorize) only the colour (YCbCr Cb, Cr) is carried: each frame keeps its own BT.601 luma
exactly, so the picture's detail is never smeared, only its colours held in place. Otherwise the blend's local
contrast is brought back to the result's (a variance-preserving blend, as in Heitz and Neyret 2018's
histogram-preserving blending), so a style's strokes stay as crisp as frame-by-frame output.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from daguerre.video import DEFAULT_CONSISTENCY
from daguerre.video.flow import (
    FLOW_PRESET,
    FlowEstimator,
    confidence,
    grey8,
    is_scene_cut,
    resize_flow,
    sample_map,
    warp,
)

# The step's flow: DIS on the grey frame at 240 px (long side) down to its level 1, the same 120-px grid of
# patches as DIS fast's default level 2 of a 480-px frame, without building and resampling the two finer levels;
# the occlusion tests run at 240 px too. Measured on a held-out pan and a real clip (BENCHMARKS.md, "Video"):
# x0.85-0.86 the step's CPU, warping error -1.0% (true flow) to +1.2% (estimated) on the pan, +2.1% on the real clip.
# (`confidence`'s fixed 0.5 px^2 forward-backward tolerance is in these 240-px units: twice as loose at 480 px.)
STEP_FLOW_SIZE, STEP_FLOW_FINEST = 240, 1
MIN_TRUSTED = 0.25  # less of the frame than this found in the previous one: a scene cut the histograms missed
CONTRAST_WINDOW = 5  # px: the local contrast of the Operation's result is restored over this window
PHOTOMETRIC_TOLERANCE = 24  # grey levels: a warped previous input further off than this is not the same surface


class FrameMotion(NamedTuple):
    """A frame's motion from the previous input frame, at the flow's size: `backward` (H, W, 2) and `trust`
    (H, W) uint8, both None at the first frame and at a scene cut."""

    grey: np.ndarray
    backward: np.ndarray | None
    trust: np.ndarray | None


class TemporalConsistency:
    """Call once per frame, in order: `steady(input_pixels, result_pixels) -> steadied result pixels` (C, H, W).
    Or, when the motion is wanted before the Operation runs (a style model's anchor, `daguerre.video.anchor`):
    `motion = steady.motion(input_pixels)` once per frame, in order, then `steady(input, result, motion)`."""

    def __init__(self, strength: float = DEFAULT_CONSISTENCY, chroma_only: bool = False,
                 flow_size: int = STEP_FLOW_SIZE, flow_preset: str = FLOW_PRESET,
                 flow_finest: int | None = STEP_FLOW_FINEST, eight_bit: bool = True) -> None:
        if not 0 <= strength <= 1:
            raise ValueError(f"consistency must be between 0 and 1, got {strength}")
        self.strength, self.chroma_only = strength, chroma_only
        self.eight_bit = eight_bit  # `rgb8` steadies a style's or restoration's frames in 8 bits (False: in float)
        self.flow = FlowEstimator(flow_size, flow_preset, flow_finest)
        self.cuts = 0  # scene cuts seen
        self._out: np.ndarray | None = None  # previous steadied output, (H, W, C)
        self._grey: np.ndarray | None = None  # previous input's grey, at the flow's size

    def reset(self) -> None:
        self._grey = self._out = None

    def motion(self, source: np.ndarray) -> FrameMotion:
        """The frame's motion from the previous frame given here (its flow and trust, or None at a cut), as
        `__call__` finds it when not given it; whatever the strength."""
        grey = self.flow.small(grey8(source))
        previous, self._grey = self._grey, grey
        if previous is None or previous.shape != grey.shape or is_scene_cut(grey, previous):
            return FrameMotion(grey, None, None)
        backward, trust = trusted_flow(self.flow, grey, previous)
        if trust.mean() < MIN_TRUSTED:
            return FrameMotion(grey, None, None)
        return FrameMotion(grey, backward, trust)

    def __call__(self, source: np.ndarray, result: np.ndarray, motion: FrameMotion | None = None) -> np.ndarray:
        if self.strength == 0:
            return result
        return self.steadied(source, result, motion).transpose(2, 0, 1)

    def rgb8(self, source: np.ndarray, result: np.ndarray, motion: FrameMotion | None = None) -> np.ndarray:
        """The steadied frame as (H, W, 3) uint8, as a clip's encoder takes it. A style's or restoration's frames
        are steadied in 8 bits, the encoder's own (the result rounded first, the previous frame as written): less
        memory to move than floats, within a few levels of `__call__`'s pictures written by
        `daguerre.video.clip.to_rgb8`, the same steadiness (BENCHMARKS.md, "The steady stage in 8 bits"). Colour
        only: as `__call__`."""
        import cv2

        from daguerre.video.clip import hwc_to_rgb8, planes_to_rgb8

        if self.strength == 0 or self.chroma_only or not self.eight_bit:
            out = channels_last(result) if self.strength == 0 else self.steadied(source, result, motion)
            return hwc_to_rgb8(out)
        motion = self.motion(source) if motion is None else motion
        out = self._carried(planes_to_rgb8(result), motion)  # (H, W, C) uint8
        return out if out.shape[2] == 3 else cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)

    def steadied(self, source: np.ndarray, result: np.ndarray, motion: FrameMotion | None = None) -> np.ndarray:
        """The steadied result, (H, W, C) float32 (strength above 0)."""
        motion = self.motion(source) if motion is None else motion  # given: found before the Operation ran
        return self._carried(channels_last(result), motion)

    def _carried(self, out: np.ndarray, motion: FrameMotion) -> np.ndarray:
        """`out` (H, W, C), float32 or uint8, blended with the previous output of the same kind where the motion
        is trusted; itself at the first frame, at a cut, or when the previous output differs in size or kind."""
        previous = self._out
        if previous is not None and (motion.backward is None or previous.shape != out.shape
                                     or previous.dtype != out.dtype):
            self.cuts += 1
        elif previous is not None:
            out = self._blend(out, motion.backward, motion.trust)  # type: ignore[arg-type]
        self._out = out
        return out

    def _blend(self, out: np.ndarray, backward: np.ndarray, trust: np.ndarray) -> np.ndarray:
        import cv2

        prev_out = self._out
        trust = cv2.blur(trust.astype(np.float32), (3, 3))
        trust *= np.float32(self.strength)
        h, w = out.shape[:2]
        backward = resize_flow(backward, (w, h))
        trust = cv2.resize(trust, (w, h), interpolation=cv2.INTER_LINEAR)
        # the sampling positions in OpenCV's fixed point, as remap makes them itself from float ones: the same
        # picture, the conversion shared by the three channels (x0.8 the warp's time at 480p)
        warped = warp(prev_out, backward, fixed=True)
        if self.chroma_only and out.shape[2] == 3:
            ycc, warped_ycc = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb), cv2.cvtColor(warped, cv2.COLOR_RGB2YCrCb)
            ycc[..., 1:] += trust[..., None] * (warped_ycc[..., 1:] - ycc[..., 1:])
            return _fit_gamut(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), ycc[..., :1])
        # out + trust * (warped - out) in one pass (OpenCV's per-pixel weighted sum: ~5x the three in-place steps)
        blended = cv2.blendLinear(warped, out, trust, 1 - trust).reshape(out.shape)
        return keep_contrast(blended, out)


def trusted_flow(flow: FlowEstimator, grey: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(backward flow (H, W, 2), trust (H, W) uint8 in {0, 1}) from `previous` to `grey` at the flow's size: trusted
    where the forward-backward check passes and the warped previous frame matches the current one."""
    import cv2

    backward = flow(grey, previous)
    positions = sample_map(backward)
    trust = confidence(backward, flow(previous, grey), positions)
    trust &= cv2.absdiff(warp(previous, backward, positions), grey) <= PHOTOMETRIC_TOLERANCE
    return backward, trust


def _fit_gamut(rgb: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """(H, W, 3) colours brought into [0, 1] by desaturating, never by changing their luma."""
    import torch

    from daguerre.imaging.lab import with_luma

    t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    y = torch.from_numpy(np.ascontiguousarray(luma.transpose(2, 0, 1)))[None]
    return with_luma(t, y)[0].numpy().transpose(1, 2, 0)


def channels_last(pixels: np.ndarray) -> np.ndarray:
    """(C, H, W) float32 pixels as a new (H, W, C) array (OpenCV's interleave: ~6x numpy's transposed copy)."""
    import cv2

    if pixels.shape[0] == 1:
        return np.ascontiguousarray(pixels.transpose(1, 2, 0), dtype=np.float32)
    return cv2.merge([np.asarray(p, dtype=np.float32) for p in pixels])


def keep_contrast(blended: np.ndarray, result: np.ndarray) -> np.ndarray:
    """`blended` with its local standard deviation brought back up to the result's (gain 1 to 2, measured on the
    luma), around its own local mean: averaging two renderings of a texture whose strokes do not align lowers its
    contrast (measured: the sharpness of a style model's output fell to 0.6 at strength 0.6), and that loss is
    what washes out a style. Float32 in [0, 1] or uint8 (H, W, C), both of one kind.
    """
    import cv2

    k = (CONTRAST_WINDOW, CONTRAST_WINDOW)
    eight_bit = blended.dtype == np.uint8

    def local_variance(x: np.ndarray) -> np.ndarray:
        if eight_bit:  # the luma's sums in float, read from its bytes
            x = x.astype(np.float32)
        mean = cv2.blur(x, k)
        variance = cv2.blur(cv2.multiply(x, x), k)  # as sqrBoxFilter, in half its time
        return cv2.subtract(variance, cv2.multiply(mean, mean), dst=variance)

    def luma(x: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) if x.shape[2] == 3 else x[..., 0]

    gain = np.maximum(local_variance(luma(result)), 0)
    gain /= np.maximum(local_variance(luma(blended)), np.float32(255**2 * 1e-6 if eight_bit else 1e-6))
    np.clip(np.sqrt(gain, out=gain), 1, 2, out=gain)
    mean = cv2.blur(blended, k).reshape(blended.shape)
    out = cv2.blendLinear(blended, mean, gain, 1 - gain).reshape(blended.shape)  # mean + gain (blended - mean)
    return out if eight_bit else np.clip(out, 0, 1, out=out)  # bytes saturate
