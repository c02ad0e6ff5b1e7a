"""Steadying a fast style network on clips where figures move on their own, not only the camera.

`SteadyStyle` locks StyleNet's 8-px grid to the scene's (median) motion, so under a pan the network paints the
same strokes, moved; a figure moving across the scene is seen at a new phase each frame and painted afresh. Here
the output pixels are, in addition, pulled towards the previous output warped by the flow (the pixel blend of
`TemporalConsistency`, its contrast restored) with a weight that rises with how far each pixel's flow departs
from the scene's motion: none where the grid lock already holds the strokes, `moving` where a figure moves on
its own. Measured in BENCHMARKS.md ("Temporal stability").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from daguerre.nets.style_net import StyleNet
from daguerre.video import DEFAULT_CONSISTENCY
from daguerre.video.consistency import _keep_contrast, _scale_pixels
from daguerre.video.flow import resize_flow, warp
from daguerre.video.steady_style import Half, Motion, SteadyStyle

MOVING_RAMP = (0.5, 2.0)  # px (full size) of departure from the scene's motion: no pixel blend below, full above


@dataclass
class MovingMotion(Motion):
    """`Motion`, plus the backward flow (H, W, 2) and pixel blend weight (H, W) at the output's size."""

    pixels: tuple[np.ndarray, np.ndarray] | None = None


class SteadyMoving(SteadyStyle):
    """`SteadyStyle`, plus a pixel blend of strength up to `moving` where the flow departs from the scene's
    motion (and `still` elsewhere). Call once per frame, in order, as `SteadyStyle`."""

    def __init__(self, net: StyleNet, strength: float = DEFAULT_CONSISTENCY, moving: float = DEFAULT_CONSISTENCY,
                 still: float = 0.0, ramp: tuple[float, float] = MOVING_RAMP, halves: tuple[Half, Half] | None = None,
                 **flow: object) -> None:
        super().__init__(net, strength, halves=halves, **flow)  # type: ignore[arg-type]
        if not (0 <= moving <= 1 and 0 <= still <= 1):
            raise ValueError(f"pixel blend strengths must be between 0 and 1, got {moving} and {still}")
        self.moving, self.still, self.ramp = moving, still, ramp
        self._out: np.ndarray | None = None  # the previous steadied output (H, W, 3)

    def motion(self, frame: np.ndarray) -> MovingMotion:
        """As `SteadyStyle.motion`, with the pixel blend's flow and weight (made here: in a pipeline, this runs
        in the flow's thread, ahead of the network)."""
        m = super().motion(frame)
        pixels = None if m.scene is None else self.pixel_weight(m.scene, frame.shape[1:])
        return MovingMotion(m.shift, m.flow, m.trust, m.scene, pixels)

    def render(self, frame: np.ndarray, motion: Motion) -> np.ndarray:
        out = np.ascontiguousarray(super().render(frame, motion).transpose(1, 2, 0))
        previous, self._out = self._out, out
        pixels = getattr(motion, "pixels", None)
        if pixels is None or previous is None or previous.shape != out.shape:
            return out.transpose(2, 0, 1)
        flow, weight = pixels
        blended = warp(previous, flow)
        blended -= out
        _scale_pixels(blended, weight)
        blended += out
        self._out = _keep_contrast(blended, out)
        return self._out.transpose(2, 0, 1)

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


def steadier(method: str, net: StyleNet) -> object:
    """For benchmarks: "pixels:S" (`TemporalConsistency`), "inside:S" (`SteadyStyle`) or
    "moving:S:M[:STILL[:LO:HI]]" (`SteadyMoving`)."""
    from daguerre.video.consistency import TemporalConsistency

    kind, *values = method.split(":")
    v = [float(x) for x in values]
    if kind == "pixels":
        return TemporalConsistency(v[0])
    if kind == "inside":
        return SteadyStyle(net, v[0])
    if kind == "moving":
        ramp = (v[3], v[4]) if len(v) > 4 else MOVING_RAMP
        return SteadyMoving(net, v[0], v[1], v[2] if len(v) > 2 else 0.0, ramp)
    raise ValueError(f"unknown method {method!r}")
