"""Optical flow between consecutive frames (OpenCV DIS), warping by it, where it can be trusted, and scene cuts.

Flows here are backward: `flow[y, x] = (dx, dy)` says where pixel (x, y) of the current frame was in the previous
one, so `warp(previous, flow)` lays the previous frame onto the current one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

FLOW_SIZE = 480  # `Flow`'s default long side (then scaled to the output); the consistency step uses 240
FLOW_PRESET = "fast"  # DIS preset: ultrafast, fast or medium
DIS_MIN_SIDE = 16  # px: smaller frames are enlarged for the flow (OpenCV's DIS needs a side of 12 or more)
CUT_THRESHOLD = 0.3  # measured: consecutive frames of a pan differ by ~0.005, two held-out photos by 0.1-0.65


def grey8(rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8 BT.601 luma of a (3, H, W) or (1, H, W) float picture in [0, 1]."""
    import cv2

    if rgb.shape[0] == 1:
        y = rgb[0]
    elif rgb.transpose(1, 2, 0).flags.c_contiguous:  # a decoded frame: (H, W, 3) in memory, one OpenCV pass
        y = cv2.cvtColor(rgb.transpose(1, 2, 0), cv2.COLOR_RGB2GRAY)
    else:  # planes: OpenCV's weighted sums (x0.35 NumPy's three products and two sums)
        y = cv2.scaleAdd(rgb[2], 0.114, cv2.addWeighted(rgb[0], 0.299, rgb[1], 0.587, 0))
    return cv2.convertScaleAbs(y, alpha=255)  # rounds and saturates to 0..255


class FlowEstimator:
    """DIS optical flow (Kroeger et al. 2016) on frames brought down to `size` (long side); `finest_scale`: the
    finest pyramid level DIS estimates at (0: `size` itself; None: the preset's, 2 for fast and ultrafast)."""

    def __init__(self, size: int = FLOW_SIZE, preset: str = FLOW_PRESET, finest_scale: int | None = None) -> None:
        import cv2

        presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                   "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
        self.size = size
        self._dis = cv2.DISOpticalFlow_create(presets[preset])
        if finest_scale is not None:
            self._dis.setFinestScale(finest_scale)

    def small(self, grey: np.ndarray) -> np.ndarray:
        """The frame at the working size of the flow."""
        import cv2

        h, w = grey.shape
        s = min(1.0, self.size / max(h, w))
        return grey if s == 1 else cv2.resize(grey, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)

    def __call__(self, current: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Backward flow (H, W, 2) float32 at the working size: where each current pixel was in `previous`."""
        import cv2

        h, w = current.shape
        if min(h, w) >= DIS_MIN_SIDE:
            return self._dis.calc(current, previous, None)
        k = -(-DIS_MIN_SIDE // min(h, w))  # a thumbnail-sized clip: DIS refuses sides under 12 px
        big = [cv2.resize(g, (w * k, h * k), interpolation=cv2.INTER_LINEAR) for g in (current, previous)]
        return resize_flow(self._dis.calc(*big, None), (w, h))


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A flow field resampled to (width, height), its vectors scaled with it."""
    import cv2

    h, w = flow.shape[:2]
    if (w, h) == tuple(size):
        return flow
    out = cv2.resize(flow, size, interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(out, (size[0] / w, size[1] / h, 0.0, 0.0), dst=out)  # per channel: 5x numpy's broadcast


def sample_map(flow: np.ndarray) -> np.ndarray:
    """(H, W, 2) float32 positions x + flow(x): where each pixel is fetched from, as `cv2.remap` takes them."""
    return flow + _grid(*flow.shape[:2])


def warp(image: np.ndarray, flow: np.ndarray, positions: np.ndarray | None = None, fixed: bool = False) -> np.ndarray:
    """`image` (H, W, C) sampled at x + flow(x): the previous frame laid onto the current one (edges clamped).
    `positions`: `sample_map(flow)` when already made. `fixed`: the positions converted to OpenCV's fixed point
    first, which `remap` otherwise does itself: the same picture, faster for several channels at full size."""
    import cv2

    positions = sample_map(flow) if positions is None else positions
    maps = cv2.convertMaps(positions, None, cv2.CV_16SC2) if fixed else (positions, None)
    return cv2.remap(image, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(image.shape)


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> np.ndarray:
    """(H, W, 2) float32 pixel coordinates (x, y)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.stack([gx, gy], axis=-1)


def confidence(backward: np.ndarray, forward: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint8 in {0, 1}: 1 where the flow is trusted (Sundaram et al. 2010; Ruder et al. 2016).

    A pixel is occluded (0) when following `backward` then `forward` does not come back to it
    (|b + f(x + b)|² > 0.01 (|b|² + |f(x + b)|²) + 0.5), or when it comes from outside the previous frame.
    `positions`: `sample_map(backward)` when already made.
    """
    import cv2

    h, w = backward.shape[:2]
    positions = sample_map(backward) if positions is None else positions
    back_fwd = warp(forward, backward, positions)
    total = backward + back_fwd
    mag = _squared_norm(backward) + _squared_norm(back_fwd)
    mag *= np.float32(0.01)
    mag += np.float32(0.5)
    ok = _squared_norm(total) <= mag
    inside = cv2.inRange(positions, (0.0, 0.0), (float(w - 1), float(h - 1)))  # 255 inside the previous frame
    return (ok & (inside > 0)).view(np.uint8)


def _squared_norm(v: np.ndarray) -> np.ndarray:
    """|v|² of an (H, W, 2) field (10x faster than einsum here)."""
    return np.square(v[..., 0]) + np.square(v[..., 1])


def is_scene_cut(current: np.ndarray, previous: np.ndarray, threshold: float = CUT_THRESHOLD) -> bool:
    """A new shot: the grey histograms (32 bins, smoothed) of two frames differ by more than `threshold`
    (half the L1 distance of the normalised histograms: 0 same, 1 disjoint). Shots with similar histograms are
    caught by the flow instead (`TemporalConsistency`: too little of the frame found in the previous one)."""
    import cv2

    a, b = (cv2.calcHist([g], [0], None, [32], [0, 256]).ravel().astype(np.float64) for g in (current, previous))
    kernel = np.array([0.25, 0.5, 0.25])
    a, b = np.convolve(a / a.sum(), kernel, "same"), np.convolve(b / b.sum(), kernel, "same")
    return 0.5 * float(np.abs(a - b).sum()) > threshold
