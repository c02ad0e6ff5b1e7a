"""Full-reference pixel metrics: PSNR and SSIM (data range 1, inputs in [0, 1])."""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from daguerre.metrics._arrays import ImageLike, as_batch, check_pair, check_side, luma, per_image

SSIM_MIN_SIDE = 11  # the Gaussian window's side


def _prepare(a: ImageLike, b: ImageLike, y_channel: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    x, single = as_batch(a)
    y, _ = as_batch(b)
    check_pair(x.shape, y.shape)
    if y_channel:
        x, y = luma(x, studio=True), luma(y, studio=True)
    return x, y, single


def psnr(a: ImageLike, b: ImageLike, y_channel: bool = False) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB (inf for identical images); float per image, (N,) for a batch.

    `y_channel=True` measures on BT.601 studio-range luma (16-235), the super-resolution convention.
    """
    x, y, single = _prepare(a, b, y_channel)
    mse = ((x - y) ** 2).mean(axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(1.0 / mse)
    return per_image(values, single)


def ssim(a: ImageLike, b: ImageLike, y_channel: bool = False) -> float | np.ndarray:
    """Structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), mean over channels.

    Float per image, (N,) for a batch; images must be at least 11 px on each side.
    """
    x, y, single = _prepare(a, b, y_channel)
    check_side("SSIM", x.shape, SSIM_MIN_SIDE)
    values = np.array([
        structural_similarity(
            xi, yi, channel_axis=0, data_range=1.0,
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        )
        for xi, yi in zip(x, y, strict=True)
    ])
    return per_image(values, single)
