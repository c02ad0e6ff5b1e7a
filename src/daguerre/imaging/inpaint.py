"""Classical inpainting: the pixels of a hole filled from its border inwards (Telea 2004, OpenCV's `cv2.inpaint`).

Used by restore inside the damage mask, where it fills thin scratches and specks more faithfully than the U-Net's
own fill (BENCHMARKS.md, issue 17). Works per channel on 16-bit values: OpenCV's float path of Telea gives values
far outside the neighbours' range, and 8 bits would band smooth skies.
"""

from __future__ import annotations

import cv2
import numpy as np

RADIUS = 3  # px: the neighbourhood each filled pixel averages (OpenCV's inpaintRadius)


def telea(x: np.ndarray, hole: np.ndarray, radius: int = RADIUS) -> np.ndarray:
    """x (C,H,W) float in [0,1] with the pixels where `hole` (H,W) is true filled from the rest; float32, the
    same values elsewhere (to 1/65535)."""
    holes = np.ascontiguousarray(hole, np.uint8) * 255
    out = np.empty(x.shape, np.float32)
    for c, channel in enumerate(x):
        u16 = (np.clip(channel, 0, 1) * 65535).round().astype(np.uint16)
        out[c] = cv2.inpaint(u16, holes, radius, cv2.INPAINT_TELEA).astype(np.float32) / 65535
    return out
