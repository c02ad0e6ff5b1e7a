"""Steadying a fast style network where the scene does not move as one: a grid lock that follows the smoothed flow.

`SteadyMoving` shifts each frame by the scene's one (median) motion so StyleNet's 8-px grid stays put on the
scene. Figures moving on their own, a zoom or a turn are seen at a new phase each frame and painted afresh. Here
the lock is local: the motion since the shot began is followed per pixel, through a smoothed (trust-weighted,
Gaussian) field of the DIS flow, and each frame is resampled into the shot's first geometry (less whole cells,
so it stays in view) before the network, its output resampled back. Where the flow departs from the smoothed
field (outlines, fast small figures), the output pixels are blended with the previous output as
`SteadyMoving` does. The trunk's features are blended with the previous frame's, moved by what is left of the
motion in the locked geometry.

Measured in BENCHMARKS.md ("Temporal stability"): on camera moves (the held-out pan and zoom) half the warping
error of `SteadyMoving` at the same style cost; on Megamind the goal (half the warping error at +-5 % style
distance) with `let_go` 0.3 (x0.47 at +4.7 %), at x1.79 the network's CPU time. Where an actor crosses the
frame several pixels a frame, the smoothed lock would carry her motion into the background she uncovers and
stretch the picture there (a smear around her face after ~8 frames); `REACH` bounds its departure
from the camera's motion, so fast figures are steadied less, not smeared.

With the int8 network's halves (`onnx_halves(..., "int8")`, `--precision int8`) a 480p clip takes ~x1.4 the
pixel blend's CPU a frame (x1.7 in fp32), but int8 flickers more (training clips +0.02-0.03 of warping ratio;
Megamind x0.505): measured in BENCHMARKS.md ("Video", "Speed"), not the default. The bf16 halves (OpenVINO, on a
CPU with native bf16) steady as fp32's do (Megamind x0.468) at less CPU than int8's: the default there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from daguerre.nets.style_net import StyleNet
from daguerre.video import DEFAULT_CONSISTENCY
from daguerre.video.consistency import MIN_TRUSTED, keep_contrast, trusted_flow
from daguerre.video.flow import grey8, is_scene_cut, resize_flow, sample_map
from daguerre.video.steady_moving import MOVING_RAMP, blended_with_previous
from daguerre.video.steady_style import CELL, Half, Motion, SteadyStyle

SMOOTH = 12.0  # px at the flow's size: the Gaussian the flow is smoothed with before it steers the lock
# cv2.INTER_*; "doubled" (out only): cubic from the output doubled in size by Lanczos (~2/3 of Lanczos's time)
INTERPOLATION = {"linear": 1, "cubic": 2, "lanczos": 4, "doubled": -1}
# into the window / out of it: the way out sets the strokes' crispness (training clips, 0.3: cubic out +8.4 %
# style distance, Lanczos out +4.7 %, either way in); Lanczos costs ~3x cubic, "doubled" ~2.3x with the same
# style cost (layered / fast training clips +4.1 / +8.9 % against Lanczos's +4.9 / +9.1 %; warping error +0.01-0.02)
RESAMPLING = "cubic/doubled"
# px: a soft bound on the lock's departure from the camera's motion. Unbounded, a figure crossing the frame
# several px a frame drags the lock into the background it uncovers until the window folds (training clips:
# the round trip in and out missed by p99 2-9 px); at 16 it held within 0.1 px, and the layered and zooming
# training clips lost <= 0.01 of their warping error ratio
REACH = 16.0
# px a frame of motion the lock leaves in the window: `let_go`'s blend starts at the first, full at the second.
# Chosen on training clips of fast actors over dark flat backgrounds (BENCHMARKS.md): 1-3 lies on the strength
# curve there as 0.5-2 does, and on the layered, fast and zoom-pan clips within 0.01 of its warping ratio at
# 0.1-0.6 point less style distance
LET_GO_RAMP = (1.0, 3.0)
# `let_go`'s strength, on by default since it meets the Megamind goal where the lock alone does not (held-out
# once: x0.47 at +4.7 % against x0.545 at +3.7 % alone, the pan kept), for ~x0.15 more of the network's CPU time
LET_GO = 0.3
COARSE = 4  # the lock is kept on a grid this many times coarser than the flow's (it follows the smoothed flow)


@dataclass
class LocalMotion(Motion):
    """`Motion` (its flow and trust: the trunk's, in cells of the locked window), plus the network's input (the
    frame resampled into the locked window, (3, Hw, Ww), made here: in a pipeline, in the flow's thread), where the
    output samples the window (H, W, 2), and the pixel blend's backward flow and weight (H, W) at the output's
    size."""

    window: np.ndarray | None = None
    back: np.ndarray | None = None
    pixels: tuple[np.ndarray, np.ndarray] | None = None


class SteadyLocal(SteadyStyle):
    """Call once per frame, in order: `steady(frame (3, H, W)) -> stylized frame (3, H, W)`; or `motion` then
    `render`, as `SteadyStyle`. `strength`: the trunk's feature blend; `moving` / `still`: the pixel blend where the
    flow departs from the smoothed field by `ramp` px or more / not at all; `smooth`: the field's Gaussian (px at
    the flow's size; large: one motion for the whole frame); `leak`: the share of the local lock kept each frame
    (below 1, a figure walking across the frame slowly lets go of its first place instead of stretching it);
    `interpolation`: "into/out of" the locked window, linear, cubic or lanczos (one name: both), out of it also
    doubled (cubic from the output doubled by Lanczos: as sharp, cheaper); `reach` (px): the
    lock's departure from the camera's motion is softly bounded by it (None: unbounded); `coarse`: the lock is kept
    on a grid this many times coarser than the flow (1: the flow's; 4 steadies alike on the training clips, and
    the lock's motion costs a third less); `let_go`: the output's pixels blended with the previous output, up to
    this strength, where the lock leaves motion in the window (a figure past its reach; from `let_go_ramp` px a frame
    up to full)."""

    def __init__(self, net: StyleNet, strength: float = DEFAULT_CONSISTENCY, moving: float = 0.0,
                 still: float = 0.0, ramp: tuple[float, float] = MOVING_RAMP, smooth: float = SMOOTH,
                 leak: float = 0.95, interpolation: str = RESAMPLING, reach: float | None = REACH,
                 coarse: int = COARSE, let_go: float = LET_GO, let_go_ramp: tuple[float, float] = LET_GO_RAMP,
                 halves: tuple[Half, Half] | None = None,
                 **flow: object) -> None:
        super().__init__(net, strength, halves=halves, **flow)  # type: ignore[arg-type]
        if not (0 <= moving <= 1 and 0 <= still <= 1):
            raise ValueError(f"pixel blend strengths must be between 0 and 1, got {moving} and {still}")
        self.moving, self.still, self.ramp, self.smooth, self.leak = moving, still, ramp, smooth, leak
        self.reach, self.coarse, self.let_go, self.let_go_ramp = reach, coarse, let_go, let_go_ramp
        into, out_of = interpolation.split("/") if "/" in interpolation else (interpolation, interpolation)
        if into not in INTERPOLATION or out_of not in INTERPOLATION or into == "doubled":
            raise ValueError(f"interpolation must be INTO/OUT_OF (linear, cubic or lanczos; out of also doubled), "
                             f"got {interpolation!r}")
        self.interpolation = INTERPOLATION[into], INTERPOLATION[out_of]  # into the window, out of it
        self._lock: np.ndarray | None = None  # (h, w, 2) on a grid `coarse` times the flow's: each pixel's place
        # in the shot's first geometry less its place now, in full-size pixels, whole cells removed
        self._out: np.ndarray | None = None

    def motion(self, frame: np.ndarray) -> LocalMotion:
        import cv2

        grey = self.flow.small(grey8(frame))
        previous, self._grey = self._grey, grey
        if previous is None or previous.shape != grey.shape or is_scene_cut(grey, previous):
            self.cuts += previous is not None and previous.shape == grey.shape
            return self._new_local_shot(grey.shape)
        backward, trust = trusted_flow(self.flow, grey, previous)
        if trust.mean() < MIN_TRUSTED:
            self.cuts += 1
            return self._new_local_shot(grey.shape)
        h, w = frame.shape[1:]
        fh, fw = grey.shape
        scale = np.float32((w / fw, h / fh))  # full-size pixels per flow pixel (x, y)
        lh, lw = self._lock_size(grey.shape)
        smooth = smoothed(backward, trust, self.smooth, (lw, lh))  # flow px, on the lock's grid
        ratio = np.float32((fw / lw, fh / lh))  # flow pixels per lock pixel
        # a pixel's place in the first geometry: where it was in the previous frame, then that one's place
        before = sample_map(smooth / ratio)
        last = self._lock if self._lock is not None and self._lock.shape[:2] == (lh, lw) else \
            np.zeros((lh, lw, 2), np.float32)
        lock = cv2.remap(last, before, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) + smooth * scale
        middle = np.median(lock.reshape(-1, 2), axis=0)
        lock = middle + np.float32(self.leak) * (lock - middle)
        if self.reach:  # a soft bound on how far the lock holds a region from the scene's motion
            deviation = lock - middle
            far = np.square(deviation).sum(-1, keepdims=True) * np.float32(1 / self.reach**2)
            lock = middle + deviation / np.sqrt(1 + far)
        lock -= np.float32(CELL) * np.round(middle / CELL)  # whole cells: the same strokes, kept in view
        self._lock = lock
        window, back = self.lock_maps((h, w))
        # the trunk's flow: where each cell's content was in the previous window
        cells = window[CELL // 2 :: CELL, CELL // 2 :: CELL] + np.float32((CELL - 1) / 2 - CELL // 2)
        at = cells / scale  # in the flow's pixels (the frame's positions of the cells' content)
        came = cv2.remap(backward, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        was = at + came  # flow pixels, previous frame
        on = (was + np.float32(0.5)) / ratio - np.float32(0.5)  # on the lock's grid
        place = cv2.remap(last, on[..., 0], on[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        gy, gx = np.mgrid[0 : cells.shape[0], 0 : cells.shape[1]].astype(np.float32)
        centres = np.stack([gx, gy], -1) * np.float32(CELL) + np.float32((CELL - 1) / 2)
        features = (was * scale + place - centres) / np.float32(CELL)
        k = max(1, round(CELL / float(scale[0]))) | 1  # the share of a cell's pixels that are trusted
        share = cv2.remap(cv2.blur(trust.astype(np.float32), (k, k)), at[..., 0], at[..., 1], cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
        pixels = None
        if self.moving or self.still:  # the pixel blend, where the flow departs from the smoothed field
            field = cv2.resize(smooth, (fw, fh), interpolation=cv2.INTER_LINEAR)
            departure = np.sqrt(np.square((backward - field) * scale).sum(-1))
            lo, hi = self.ramp
            weight = self.still + (self.moving - self.still) * np.clip((departure - lo) / (hi - lo), 0, 1)
            weight = cv2.blur((weight * trust).astype(np.float32), (3, 3))
            pixels = (resize_flow(backward, (w, h)), cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR))
        if self.let_go:  # the pixel blend where the lock leaves motion in the window (a figure it let go)
            left = np.sqrt(np.square(features).sum(-1)) * np.float32(CELL)  # px a frame, per cell
            lo, hi = self.let_go_ramp
            cell_weight = (self.let_go * np.clip((left - lo) / (hi - lo), 0, 1) * share).astype(np.float32)
            if cell_weight.any():  # (none: the lock holds every cell, and the blend would give the output back)
                at_cells = (back - np.float32((CELL - 1) / 2)) / np.float32(CELL)  # output pixel -> window's cell
                weight = cv2.remap(cell_weight, at_cells, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                pixels = (resize_flow(backward, (w, h)), weight if pixels is None else np.maximum(pixels[1], weight))
        image = resampled(frame, window, self.interpolation[0], cv2.BORDER_REFLECT_101)
        return LocalMotion((0, 0), np.ascontiguousarray(features), share * np.float32(self.strength), None, image,
                           back, pixels)

    def _new_local_shot(self, size: tuple[int, int]) -> LocalMotion:
        self._lock = np.zeros((*self._lock_size(size), 2), np.float32)
        return LocalMotion((0, 0))

    def _lock_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The lock's grid (h, w) for a flow of `size` (h, w): `coarse` times smaller."""
        return max(1, size[0] // self.coarse), max(1, size[1] // self.coarse)

    def lock_maps(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """For the current lock and a frame of `size` (H, W): (where each pixel of the network's window (whole
        cells) samples the frame, where each output pixel samples the window), full-size pixels."""
        import cv2

        lock = self._lock
        if lock is None:
            raise ValueError("no lock yet: call motion() on a frame first")
        h, w = size
        scale = np.float32((w / lock.shape[1], h / lock.shape[0]))
        hw, ww = whole_cells(h), whole_cells(w)
        # the inverse, at the flow's size: window position p shows frame position q = p - lock(q)
        inverse = -lock
        for _ in range(3):
            q = sample_map(inverse / scale)
            inverse = -cv2.remap(lock, q, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        back = sample_map(cv2.resize(lock, (w, h), interpolation=cv2.INTER_LINEAR))  # x -> x + lock(x)
        inverse = cv2.resize(inverse, (w, h), interpolation=cv2.INTER_LINEAR)
        window = sample_map(cv2.copyMakeBorder(inverse, 0, hw - h, 0, ww - w, cv2.BORDER_REPLICATE))
        return window, back

    def render(self, frame: np.ndarray, motion: Motion) -> np.ndarray:
        h, w = frame.shape[1:]
        window = getattr(motion, "window", None)
        with torch.inference_mode():
            if window is None:  # a shot's first frame: the window is the frame, reflected to whole cells
                image = np.ascontiguousarray(frame.transpose(1, 2, 0))
                x = np.pad(image, ((0, whole_cells(h) - h), (0, whole_cells(w) - w), (0, 0)), mode="reflect")
                out = self.steadied(np.ascontiguousarray(x.transpose(2, 0, 1)), motion)[:, :h, :w]
                out = np.ascontiguousarray(out.transpose(1, 2, 0))
            else:
                y = np.ascontiguousarray(self.steadied(window, motion).transpose(1, 2, 0))
                out = resampled_out(y, motion.back, self.interpolation[1])  # type: ignore[attr-defined]
        np.clip(out, 0, 1, out=out)
        self._out = blended_where_weighted(self._out, out, getattr(motion, "pixels", None))
        return self._out.transpose(2, 0, 1)


BLOCK = 32  # px: `blended_where_weighted` works the blend out over boxes of these blocks
MARGIN = 8  # px around them: >= 4, the contrast's window (5 px) twice, so the pixels it writes are exact
WHOLE = 0.7  # boxes covering more of the frame than this: the blend is worked out over the whole frame


def blended_where_weighted(previous: np.ndarray | None, out: np.ndarray,
                           pixels: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """`blended_with_previous`, worked out only in boxes around the pixels of weight > 0 (one box per connected
    group of `BLOCK`-px blocks holding some, `MARGIN` px wider): the blend changes only those and, through the
    contrast kept over 5 px, their neighbours within 2 px; elsewhere `out` is given back as the blend would
    give it (to 1e-5: OpenCV's blend divides by the weights' sum plus 1e-5). A figure moving on its own covers
    a fifth to a half of the frame in boxes (training clips), so most of the blend's time is saved."""
    import cv2

    if pixels is None or previous is None or previous.shape != out.shape:
        return out
    flow, weight = pixels
    h, w = weight.shape
    held = np.zeros((-(-h // BLOCK) * BLOCK, -(-w // BLOCK) * BLOCK), bool)
    np.greater(weight, 0, out=held[:h, :w])
    blocks = held.reshape(held.shape[0] // BLOCK, BLOCK, held.shape[1] // BLOCK, BLOCK).any((1, 3))
    count, _, stats, _ = cv2.connectedComponentsWithStats(blocks.view(np.uint8), connectivity=8)
    boxes = [(x * BLOCK, y * BLOCK, (x + bw) * BLOCK, (y + bh) * BLOCK) for x, y, bw, bh, _ in stats[1:count]]
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) > WHOLE * h * w:
        return blended_with_previous(previous, out, pixels)
    result = out.copy()
    grid = sample_map(np.zeros((h, w, 2), np.float32)) if boxes else None
    for x0, y0, x1, y1 in boxes:  # computed MARGIN px wider, written 2 px wider (what the blend can change)
        cx0, cy0, cx1, cy1 = max(x0 - MARGIN, 0), max(y0 - MARGIN, 0), min(x1 + MARGIN, w), min(y1 + MARGIN, h)
        crop = slice(cy0, cy1), slice(cx0, cx1)
        positions = flow[crop] + grid[crop]  # type: ignore[index]
        warped = cv2.remap(previous, positions, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        o = np.ascontiguousarray(out[crop])
        blended = cv2.blendLinear(warped, o, weight[crop], 1 - weight[crop]).reshape(o.shape)
        kept = keep_contrast(blended, o)
        wx0, wy0, wx1, wy1 = max(x0 - 2, 0), max(y0 - 2, 0), min(x1 + 2, w), min(y1 + 2, h)
        result[wy0:wy1, wx0:wx1] = kept[wy0 - cy0 : wy1 - cy0, wx0 - cx0 : wx1 - cx0]
    return result


def resampled_out(image: np.ndarray, positions: np.ndarray, interpolation: int) -> np.ndarray:
    """(H, W, C) `image` sampled at `positions` (h, w, 2), edges replicated; interpolation -1 ("doubled"): the
    image doubled by Lanczos, then sampled by cubic interpolation (within 0.002 RMS of Lanczos on a stylized frame,
    cubic alone 0.006, measured)."""
    import cv2

    if interpolation == -1:
        image = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LANCZOS4)
        positions = positions * np.float32(2) + np.float32(0.5)  # pixel centres: x -> 2x + 0.5
        interpolation = cv2.INTER_CUBIC
    return cv2.remap(image, positions, None, interpolation, borderMode=cv2.BORDER_REPLICATE).reshape(
        *positions.shape[:2], -1)


def resampled(frame: np.ndarray, positions: np.ndarray, interpolation: int, border: int) -> np.ndarray:
    """A (C, H, W) frame sampled at `positions` (h, w, 2), as `cv2.remap` takes them: (C, h, w). Planes in memory
    are sampled one by one (no transposes: ~25 % less time at 480p), interleaved pixels at once; both from the same
    float positions, so both give the same samples whatever OpenCV does with them (OpenCV 4 rounds them to 1/32 px,
    OpenCV 5 does not: maps converted once to fixed point made the planes differ by up to 0.006 there)."""
    import cv2

    if not frame.flags.c_contiguous:  # a decoded frame: (H, W, C) in memory
        image = cv2.remap(np.ascontiguousarray(frame.transpose(1, 2, 0)), positions, None, interpolation,
                          borderMode=border).reshape(*positions.shape[:2], -1)
        return np.ascontiguousarray(image.transpose(2, 0, 1))
    out = np.empty((frame.shape[0], *positions.shape[:2]), frame.dtype)
    for plane, target in zip(frame, out, strict=True):
        cv2.remap(plane, positions, None, interpolation, dst=target, borderMode=border)
    return out


def smoothed(flow: np.ndarray, trust: np.ndarray, sigma: float, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W, 2) `flow` averaged over a Gaussian of `sigma` px, weighted by `trust` (normalised convolution, at a
    quarter of the size); untrusted areas take their trusted surroundings' motion. `size` (w, h): the grid it is
    returned on (default the flow's); its vectors stay in the flow's pixels."""
    import cv2

    h, w = trust.shape
    small = (max(1, w // 4), max(1, h // 4))
    t = cv2.resize(trust.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    f = cv2.resize(flow * trust[..., None].astype(np.float32), small, interpolation=cv2.INTER_AREA)
    s = max(sigma / 4, 0.5)
    t = cv2.GaussianBlur(t, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
    f = cv2.GaussianBlur(f, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
    f /= np.maximum(t, np.float32(1e-3))[..., None]
    size = size or (w, h)
    return f if size == small else cv2.resize(f, size, interpolation=cv2.INTER_LINEAR)


def whole_cells(side: int) -> int:
    """The locked window's side for a frame's: whole cells, and at least two (the trunk reflects its borders)."""
    return max(side + -side % CELL, 2 * CELL)
