"""No-reference image statistics: colourfulness and sharpness."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import laplace

from daguerre.metrics._arrays import ImageLike, as_batch, luma, per_image


def colourfulness(img: ImageLike) -> float | np.ndarray:
    """Hasler & Süsstrunk (2003) colourfulness M on the 0-255 scale (0 for grey; ~>59 'quite colourful')."""
    x, single = as_batch(img)
    if x.shape[1] != 3:
        raise ValueError(f"colourfulness needs RGB images, got {x.shape[1]} channels")
    r, g, b = (x[:, i].reshape(len(x), -1) * 255.0 for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    values = np.hypot(rg.std(1), yb.std(1)) + 0.3 * np.hypot(rg.mean(1), yb.mean(1))
    return per_image(values, single)


def sharpness(img: ImageLike) -> float | np.ndarray:
    """Variance of the 4-neighbour Laplacian of BT.601 luma on the 0-255 scale (as cv2.Laplacian on uint8)."""
    x, single = as_batch(img)
    y = luma(x)[:, 0] * 255.0
    values = np.array([laplace(yi, mode="mirror").var() for yi in y])
    return per_image(values, single)
