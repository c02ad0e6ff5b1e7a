"""Steadying a fast style network on clips where figures move on their own, not only the camera.

`SteadyStyle` locks StyleNet's 8-px grid to the scene's (median) motion in whole pixels, so under a pan of whole
pixels a frame the network paints the same strokes, moved. Real motion is fractional, and a figure moving across
the scene is seen at a new phase each frame and painted afresh. Here:

1. Sub-pixel lock: the frame is shifted by the scene's motion to the fraction of a pixel (Lanczos, as two
   8-tap filters; bicubic softened the style more, measured), and the output shifted back, so the network sees
   the scene at the same phase every frame under any pan.
2. Moving figures: the output pixels are pulled towards the previous output warped by the flow (the pixel
   blend of `TemporalConsistency`, its contrast restored) with a weight that rises with how far each pixel's
   flow departs from the scene's motion: `still` where the grid lock already holds the strokes, up to `moving`
   where a figure moves on its own.

Measured in BENCHMARKS.md ("Temporal stability").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from daguerre.nets.style_net import StyleNet
from daguerre.video import DEFAULT_CONSISTENCY
from daguerre.video.consistency import keep_contrast
from daguerre.video.flow import resize_flow, warp
from daguerre.video.steady_style import CELL, Half, Motion, SteadyStyle, pad_to_cells

MOVING_RAMP = (0.5, 2.0)  # px (full size) of departure from the scene's motion: no pixel blend below, full above


@dataclass
class MovingMotion(Motion):
    """`Motion`, plus the backward flow (H, W, 2) and pixel blend weight (H, W) at the output's size."""

    pixels: tuple[np.ndarray, np.ndarray] | None = None
    fraction: tuple[float, float] = (0.0, 0.0)  # the scene's motion past the whole-pixel shift (x, y)


class SteadyMoving(SteadyStyle):
    """`SteadyStyle`, plus a pixel blend of strength up to `moving` where the flow departs from the scene's
    motion (and `still` elsewhere). Call once per frame, in order, as `SteadyStyle`."""

    def __init__(self, net: StyleNet, strength: float = DEFAULT_CONSISTENCY, moving: float = DEFAULT_CONSISTENCY,
                 still: float = 0.0, ramp: tuple[float, float] = MOVING_RAMP, halves: tuple[Half, Half] | None = None,
                 subpixel: bool = True, **flow: object) -> None:
        super().__init__(net, strength, halves=halves, **flow)  # type: ignore[arg-type]
        if not (0 <= moving <= 1 and 0 <= still <= 1):
            raise ValueError(f"pixel blend strengths must be between 0 and 1, got {moving} and {still}")
        self.moving, self.still, self.ramp, self.subpixel = moving, still, ramp, subpixel
        self._out: np.ndarray | None = None  # the previous steadied output (H, W, 3)
        self._fraction = np.zeros(2)

    def motion(self, frame: np.ndarray) -> MovingMotion:
        """As `SteadyStyle.motion`, with the pixel blend's flow and weight (made here: in a pipeline, this runs
        in the flow's thread, ahead of the network)."""
        m = super().motion(frame)
        pixels = None if m.scene is None else self.pixel_weight(m.scene, frame.shape[1:])
        fraction = self._drift - np.round(self._drift) if self.subpixel else np.zeros(2)  # in [-0.5, 0.5]
        if m.flow is not None:  # the features' flow, in cells, with the fractional shifts too
            m.flow += ((fraction - self._fraction) / CELL).astype(np.float32)
        self._fraction = fraction
        return MovingMotion(m.shift, m.flow, m.trust, m.scene, pixels, (float(fraction[0]), float(fraction[1])))

    def render(self, frame: np.ndarray, motion: Motion) -> np.ndarray:
        fraction = getattr(motion, "fraction", (0.0, 0.0))
        if fraction == (0.0, 0.0):
            out = np.ascontiguousarray(super().render(frame, motion).transpose(1, 2, 0))
            np.clip(out, 0, 1, out=out)  # as the sub-pixel path's
        else:
            out = self._render_subpixel(frame, motion, fraction)
        self._out = blended_with_previous(self._out, out, getattr(motion, "pixels", None))
        return self._out.transpose(2, 0, 1)

    @torch.inference_mode()
    def _render_subpixel(self, frame: np.ndarray, motion: Motion, fraction: tuple[float, float]) -> np.ndarray:
        """`SteadyStyle.render` with the frame shifted by the whole and fractional shift, and the output shifted
        back: (H, W, 3)."""
        import cv2

        (sx, sy), (fx, fy) = motion.shift, fraction
        h, w = frame.shape[1:]
        padded, (hp, wp) = pad_to_cells(frame)
        image = shifted(np.ascontiguousarray(padded.transpose(1, 2, 0)), fx, fy, cv2.BORDER_REFLECT_101)
        x = np.ascontiguousarray(image[sy : sy + hp, sx : sx + wp].transpose(2, 0, 1))  # pixel i: frame i + shift
        y = shifted(np.ascontiguousarray(self.steadied(x, motion).transpose(1, 2, 0)), -fx, -fy,
                    cv2.BORDER_REPLICATE)
        out = np.ascontiguousarray(y[CELL - sy : CELL - sy + h, CELL - sx : CELL - sx + w])
        return np.clip(out, 0, 1, out=out)

    def pixel_weight(self, scene: tuple[np.ndarray, np.ndarray, np.ndarray], size: tuple[int, int],
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(backward flow (H, W, 2), pixel blend weight (H, W)) at the output's size (H, W)."""
        import cv2

        backward, trust, median = scene
        h, w = size
        scale = w / backward.shape[1]
        departure = np.sqrt(np.square(backward - median.astype(np.float32)).sum(-1)) * np.float32(scale)
        lo, hi = self.ramp
        weight = np.clip((departure - lo) / (hi - lo), 0, 1)
        weight = self.still + (self.moving - self.still) * weight
        weight *= trust
        weight = cv2.blur(weight.astype(np.float32), (3, 3))
        return resize_flow(backward, (w, h)), cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)


def shifted(image: np.ndarray, fx: float, fy: float, border: int) -> np.ndarray:
    """(H, W, C) `image` sampled at (x + fx, y + fy), |f| <= 0.5: a separable Lanczos-4 filter (the kernel of
    OpenCV's INTER_LANCZOS4, 15x faster than `warpAffine` with it on a 480p frame). Its 8 taps lie within 4 px
    of x + f: -3..4 for f >= 0, -4..3 for f < 0 (9 places, the one out of reach weighted 0)."""
    import cv2

    if fx == 0 and fy == 0:
        return image
    taps = np.arange(-4, 5, dtype=np.float64)

    def kernel(f: float) -> np.ndarray:
        x = taps - f
        k = np.where(np.abs(x) < 4, np.sinc(x) * np.sinc(x / 4), 0.0)
        return (k / k.sum()).astype(np.float32)

    return cv2.sepFilter2D(image, -1, kernel(fx), kernel(fy), anchor=(4, 4), borderType=border).reshape(image.shape)


def blended_with_previous(previous: np.ndarray | None, out: np.ndarray,
                          pixels: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """out (H, W, 3) blended with the `previous` output warped by the pixel blend's backward flow, by its weight
    (`pixels`: (flow, weight (H, W))), local contrast kept; out itself without a previous output or blend."""
    import cv2

    if pixels is None or previous is None or previous.shape != out.shape:
        return out
    flow, weight = pixels
    # out + weight (warped - out) in one pass, as `TemporalConsistency`'s pixel blend
    blended = cv2.blendLinear(warp(previous, flow), out, weight, 1 - weight).reshape(out.shape)
    return keep_contrast(blended, out)
