"""Halftone screens of printed photographs (newspapers, magazines, postcards): found in the spectrum, removed by a
low-pass below the screen's frequency, as a scanner's descreen does.

A screen is a lattice of dots: its spectrum has sharp peaks far above what a photo holds at that frequency, and,
the lattice being square, the same peak again turned by 90 degrees. `screen` scores the strongest such pair in the
luminance's spectrum (a 256 px centre crop, Hann window) as its power over the median power of its frequency ring,
the smaller of the two; off the axes (a JPEG's 8 px blocks, scan banding and stripes such as blinds are on one
axis or one orientation) and off the JPEG block lattice. On training photos (BENCHMARKS.md) clean ones score
5-98, screened ones 360-770,000.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

CROP = 256  # px of the centre crop whose spectrum is read
LOWEST = 0.1  # cycles per pixel: screens finer than 10 px (coarser ones are part of the picture)


def screen(x: np.ndarray) -> tuple[float, float]:
    """(score, frequency in cycles per pixel) of the strongest square-lattice peak pair of x (C,H,W) in [0,1]."""
    h, w = x.shape[-2:]
    s = min(CROP, h, w) // 2 * 2
    if s < 32:
        return 0.0, 0.0
    x = x[:, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s].astype(np.float64)
    crop = x[0] if len(x) == 1 else 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    crop = (crop - crop.mean()) * np.outer(np.hanning(s), np.hanning(s))
    power = np.abs(np.fft.fftshift(np.fft.fft2(crop))) ** 2
    fy, fx = np.meshgrid(np.arange(s) - s // 2, np.arange(s) - s // 2, indexing="ij")
    ring = np.hypot(fy, fx).round().astype(int)
    typical = ndimage.median(power, ring, index=np.arange(ring.max() + 1))
    ratio = ndimage.maximum_filter(power / np.maximum(typical[ring], 1e-20), 3)
    turned = np.roll(np.rot90(ratio), 1, axis=0)  # at each frequency, the ratio at that frequency turned 90 degrees
    block = s // 8  # a JPEG's 8 px blocks put peaks at multiples of 1/8 cycle per pixel
    near_block = [np.abs((f + block // 2) % block - block // 2) <= 1 for f in (fx, fy)]
    on_blocks = near_block[0] & near_block[1]
    band = (ring >= LOWEST * s) & (ring <= s // 2) & (np.abs(fx) > 2) & (np.abs(fy) > 2) & ~on_blocks
    score = np.where(band, np.minimum(ratio, turned), 0)
    k = int(np.argmax(score))
    return float(score.flat[k]), float(ring.flat[k] / s)


def descreen(x: np.ndarray, frequency: float, width: float) -> np.ndarray:
    """x (C,H,W) low-passed by a Gaussian of `width` / `frequency` px (0.35: the screen's frequency kept at 9%)."""
    sigma = width / frequency
    return np.stack([ndimage.gaussian_filter(c, sigma, mode="reflect") for c in x]).astype(np.float32)
