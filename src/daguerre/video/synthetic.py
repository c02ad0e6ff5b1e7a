"""Clips with a known camera motion (a pan and a zoom across still photographs), for measuring temporal
consistency against the true flow rather than an estimated one. Each photo is one shot: consecutive photos make
a scene cut."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np


@dataclass
class CameraMove:
    """Per frame: `pan` (dx, dy) in output pixels of the photo under the camera, `zoom` the relative scale step,
    `turn` the camera's roll (radians)."""

    pan: tuple[float, float] = (3.0, 1.0)
    zoom: float = 0.004
    turn: float = 0.0


def panned_frames(photo: np.ndarray, size: tuple[int, int], frames: int,
                  move: CameraMove | None = None, canvas: Callable[[np.ndarray], np.ndarray] | None = None,
                  ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(frame (3, H, W) float32, true backward flow (H, W, 2) or None for the first frame) of a camera moving
    over `photo` (3, h, w) in [0, 1]. The photo is scaled so the whole move stays inside it; `canvas`, if given,
    is applied to the scaled photo (h', w', 3) before the frames are cut (whatever it adds moves with the scene)."""
    import cv2

    move = move or CameraMove()
    w, h = size
    travel_x, travel_y = abs(move.pan[0]) * frames, abs(move.pan[1]) * frames
    fit = max((w + travel_x + 8) / photo.shape[2], (h + travel_y + 8) / photo.shape[1])
    if move.turn or move.zoom < 0:  # the frame's corners in the photo (about its centre), over the whole move
        t = np.arange(frames)[:, None]
        a, s = move.turn * t, (1 + move.zoom) ** t
        cx, cy = np.array([-1, 1, 1, -1]) * (w - 1) / 2, np.array([-1, -1, 1, 1]) * (h - 1) / 2
        px = (move.pan[0] * (t - frames / 2) + (np.cos(a) * cx - np.sin(a) * cy) / s)
        py = (move.pan[1] * (t - frames / 2) + (np.sin(a) * cx + np.cos(a) * cy) / s)
        fit = max(fit, (2 * np.abs(px).max() + 8) / photo.shape[2], (2 * np.abs(py).max() + 8) / photo.shape[1])
    img = np.ascontiguousarray(photo.transpose(1, 2, 0))
    img = cv2.resize(img, (int(photo.shape[2] * fit) + 1, int(photo.shape[1] * fit) + 1),
                     interpolation=cv2.INTER_AREA if fit < 1 else cv2.INTER_CUBIC)
    if canvas is not None:
        img = np.ascontiguousarray(canvas(img), dtype=np.float32)
    centre = np.array([img.shape[1] / 2 - move.pan[0] * frames / 2, img.shape[0] / 2 - move.pan[1] * frames / 2])
    middle = np.array([(w - 1) / 2, (h - 1) / 2])
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    previous = None
    for t in range(frames):
        scale = (1 + move.zoom) ** t  # output pixels per photo pixel
        c = centre + np.array(move.pan) * t
        cos, sin = np.cos(move.turn * t) / scale, np.sin(move.turn * t) / scale  # photo = c + R (x - middle) / s
        m = np.array([[cos, -sin, c[0] - cos * middle[0] + sin * middle[1]],
                      [sin, cos, c[1] - sin * middle[0] - cos * middle[1]]])
        frame = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        flow = None
        if previous is not None:  # photo point under pixel x now, and where it was in the previous frame
            pc, ps, pa = previous
            px, py = m[0, 0] * gx + m[0, 1] * gy + m[0, 2], m[1, 0] * gx + m[1, 1] * gy + m[1, 2]
            dx, dy = (px - pc[0]) * ps, (py - pc[1]) * ps
            flow = np.stack([middle[0] + np.cos(pa) * dx + np.sin(pa) * dy - gx,
                             middle[1] - np.sin(pa) * dx + np.cos(pa) * dy - gy], -1)
            flow = flow.astype(np.float32)
        previous = (c, scale, move.turn * t)
        yield np.clip(frame, 0, 1).transpose(2, 0, 1).astype(np.float32), flow


@dataclass
class Figure:
    """A cut-out moving on its own over the scene: an ellipse of `photo` (3, h, w) `radius` (rx, ry) output
    pixels, starting at `start` (x, y) and moving per frame by `velocity` (x, y) px, `spin` radians, `grow`
    (relative scale step); `wobble`: amplitude (px) of a smooth deformation of its picture that drifts from
    frame to frame (a face turning, cloth moving), its wavelength the figure's size."""

    photo: np.ndarray
    radius: tuple[float, float]
    start: tuple[float, float]
    velocity: tuple[float, float]
    spin: float = 0.0
    grow: float = 0.0
    wobble: float = 0.0

    def deform(self, ux: np.ndarray, uy: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        """The displacement (figure pixels) of the picture's point shown at figure position u at frame `t`."""
        k, phase = 2 * np.pi / (1.5 * sum(self.radius)), 0.25 * t
        return self.wobble * np.sin(k * uy + phase), self.wobble * np.sin(k * ux - 0.7 * phase + 1)

    def pose(self, t: int) -> tuple[np.ndarray, float, float]:
        """(centre (x, y), angle, scale) at frame `t`."""
        return np.array(self.start) + np.array(self.velocity) * t, self.spin * t, (1 + self.grow) ** t


def moving_frames(background: np.ndarray, figures: list[Figure], size: tuple[int, int], frames: int,
                  move: CameraMove | None = None, grain: float = 0.0, seed: int = 0,
                  ) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """(frame, true backward flow, valid) of figures moving on their own in front of a camera moving over
    `background`: `valid` (H, W) float32 is 1 where the pixel was visible in the previous frame on the same
    surface (not occluded, not disoccluded, not entering). `grain`: std of the per-frame film grain added."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    previous_layer: np.ndarray | None = None
    for t, (frame, flow) in enumerate(panned_frames(background, size, frames, move)):
        img = frame.transpose(1, 2, 0).copy()
        layer = np.zeros((h, w), np.int32)  # 0 background, i + 1 figure i
        if flow is not None:
            flow = flow.copy()
        for i, fig in enumerate(figures):
            (cx, cy), angle, scale = fig.pose(t)
            cos, sin = np.cos(angle), np.sin(angle)
            # figure coordinates u of each output pixel (inverse rotation and scale about its centre)
            ux = (cos * (gx - cx) + sin * (gy - cy)) / scale
            uy = (-sin * (gx - cx) + cos * (gy - cy)) / scale
            inside = (ux / fig.radius[0]) ** 2 + (uy / fig.radius[1]) ** 2 <= 1
            ph, pw = fig.photo.shape[1:]
            texture = np.ascontiguousarray(fig.photo.transpose(1, 2, 0))
            dx, dy = fig.deform(ux, uy, t) if fig.wobble else (0, 0)
            sample = cv2.remap(texture, (ux + dx + pw / 2).astype(np.float32), (uy + dy + ph / 2).astype(np.float32),
                               cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            img[inside] = sample[inside]
            layer[inside] = i + 1
            if flow is not None:  # where figure point u was in the previous frame
                (px, py), pa, ps = fig.pose(t - 1)
                if fig.wobble:  # the position v that showed the same picture point: v + d(v) = u + d(u)
                    vx, vy = ux, uy
                    for _ in range(6):
                        ex, ey = fig.deform(vx, vy, t - 1)
                        vx, vy = ux + dx - ex, uy + dy - ey
                    ux, uy = vx, vy
                pc, psn = np.cos(pa), np.sin(pa)
                fx = px + ps * (pc * ux - psn * uy) - gx
                fy = py + ps * (psn * ux + pc * uy) - gy
                flow[inside] = np.stack([fx, fy], -1)[inside].astype(np.float32)
        valid = None
        if flow is not None and previous_layer is not None:
            sx, sy = gx + flow[..., 0], gy + flow[..., 1]
            entering = (sx < 2) | (sx > w - 3) | (sy < 2) | (sy > h - 3)
            row, col = np.clip(np.rint(sy), 0, h - 1).astype(int), np.clip(np.rint(sx), 0, w - 1).astype(int)
            same = previous_layer[row, col] == layer
            # pixels within 2 px of a figure's outline are left out (interpolated across two surfaces)
            outline = (cv2.Laplacian(layer.astype(np.float32), cv2.CV_32F) != 0).astype(np.uint8)
            edge = cv2.dilate(outline, np.ones((5, 5), np.uint8))
            valid = (same & ~entering & (edge == 0)).astype(np.float32)
        previous_layer = layer
        if grain:
            img = img + rng.normal(0, grain, img.shape).astype(np.float32)
        yield np.clip(img, 0, 1).transpose(2, 0, 1).astype(np.float32), flow, valid
