"""Clips with a known camera motion (a pan and a zoom across still photographs), for measuring temporal
consistency against the true flow rather than an estimated one. Each photo is one shot: consecutive photos make
a scene cut."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass
class CameraMove:
    """Per frame: `pan` (dx, dy) in output pixels of the photo under the camera, `zoom` the relative scale step."""

    pan: tuple[float, float] = (3.0, 1.0)
    zoom: float = 0.004


def panned_frames(photo: np.ndarray, size: tuple[int, int], frames: int,
                  move: CameraMove | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(frame (3, H, W) float32, true backward flow (H, W, 2) or None for the first frame) of a camera moving
    over `photo` (3, h, w) in [0, 1]. The photo is scaled so the whole move stays inside it."""
    import cv2

    move = move or CameraMove()
    w, h = size
    travel_x, travel_y = abs(move.pan[0]) * frames, abs(move.pan[1]) * frames
    fit = max((w + travel_x + 8) / photo.shape[2], (h + travel_y + 8) / photo.shape[1])
    img = np.ascontiguousarray(photo.transpose(1, 2, 0))
    img = cv2.resize(img, (int(photo.shape[2] * fit) + 1, int(photo.shape[1] * fit) + 1),
                     interpolation=cv2.INTER_AREA if fit < 1 else cv2.INTER_CUBIC)
    centre = np.array([img.shape[1] / 2 - move.pan[0] * frames / 2, img.shape[0] / 2 - move.pan[1] * frames / 2])
    middle = np.array([(w - 1) / 2, (h - 1) / 2])
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    previous = None
    for t in range(frames):
        scale = (1 + move.zoom) ** t  # output pixels per photo pixel
        c = centre + np.array(move.pan) * t
        m = np.array([[1 / scale, 0, c[0] - middle[0] / scale], [0, 1 / scale, c[1] - middle[1] / scale]])
        frame = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        flow = None
        if previous is not None:  # photo point under pixel x now, and where it was in the previous frame
            pc, ps = previous
            px, py = c[0] + (gx - middle[0]) / scale, c[1] + (gy - middle[1]) / scale
            flow = np.stack([middle[0] + (px - pc[0]) * ps - gx, middle[1] + (py - pc[1]) * ps - gy], -1)
            flow = flow.astype(np.float32)
        previous = (c, scale)
        yield np.clip(frame, 0, 1).transpose(2, 0, 1).astype(np.float32), flow
