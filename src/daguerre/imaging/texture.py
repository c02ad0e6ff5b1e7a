"""A stylized picture's fine texture set to a painting's, and the photo's own detail kept (training-free steps after
the arbitrary-style network).

- `with_detail`: the photo's grey detail (its grey less a Gaussian blur of it) added to the picture, so edges and
  small shapes the network smeared come back.
- `match_bands`: each CIELAB channel's Laplacian-pyramid bands (Burt & Adelson; OpenCV's pyrDown / pyrUp) scaled to
  the painting's deviation in the same band (Heeger & Bergen 1995's statistics, by deviation), the gain kept in
  `GAIN`; the low-pass residual then rescaled so each channel keeps its deviation (the palette transfer's).

Measured in BENCHMARKS.md ("Any painting"): the pair lowers content LPIPS and KID; the Gram distance it lowers
mostly measures fine-scale contrast, so read that fall with care.
"""

from __future__ import annotations

import numpy as np
import torch

from daguerre.imaging.lab import in_parallel
from daguerre.imaging.picture import LUMA_WEIGHTS

LEVELS = 4  # band-pass levels matched; the residual below them is kept
GAIN = (0.5, 3.0)  # a band's gain towards the painting's deviation is kept in this range


def pyramid(x: np.ndarray, levels: int = LEVELS) -> list[np.ndarray]:
    """Laplacian pyramid of a (H, W) float32 image: up to `levels` band-pass images, finest first, then the
    residual."""
    import cv2

    bands, current = [], x
    for _ in range(levels):
        if min(current.shape) < 8:
            break
        down = cv2.pyrDown(current)
        up = cv2.pyrUp(down, dstsize=(current.shape[1], current.shape[0]))
        bands.append(current - up)
        current = down
    return [*bands, current]


def collapse(bands: list[np.ndarray]) -> np.ndarray:
    """The image a `pyramid` came from."""
    import cv2

    current = bands[-1]
    for band in reversed(bands[:-1]):
        current = cv2.pyrUp(current, dstsize=(band.shape[1], band.shape[0])) + band
    return current


def band_deviations(lab: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """(3, levels) deviations of each channel's bands of a (H, W, 3) Lab image, finest first (NaN where the image
    is too small for a level)."""
    out = np.full((3, levels), np.nan, np.float64)

    def measure(c: int) -> None:
        bands = pyramid(np.ascontiguousarray(lab[..., c], dtype=np.float32), levels)[:-1]
        out[c, : len(bands)] = [float(b.std()) for b in bands]

    in_parallel(measure, range(3))
    return out


def mix_deviations(deviations: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """The band deviations of a mixture of paintings (their variances weighted)."""
    w = np.asarray(weights, np.float64) / float(sum(weights))
    return np.sqrt(sum(wi * d**2 for wi, d in zip(w, deviations, strict=True)))


def match_bands(lab: np.ndarray, deviations: np.ndarray, gain: tuple[float, float] = GAIN) -> np.ndarray:
    """A (H, W, 3) Lab image with each channel's bands scaled towards `deviations` (`band_deviations` of the
    painting), each channel's overall deviation kept."""
    lab = lab.copy()

    def match(c: int) -> None:
        channel = np.ascontiguousarray(lab[..., c], dtype=np.float32)
        bands = pyramid(channel, deviations.shape[1])
        for k, target in enumerate(deviations[c, : len(bands) - 1]):
            if np.isfinite(target):
                bands[k] *= np.float32(np.clip(target / max(_mean_std(bands[k])[1], 1e-4), *gain))
        lab[..., c] = keep_deviation(collapse(bands), _mean_std(channel)[1], deviations.shape[1])

    in_parallel(match, range(3))  # the channels in threads
    return lab


def keep_deviation(x: np.ndarray, std: float, levels: int = LEVELS) -> np.ndarray:
    """x with its low-pass residual (the last of `pyramid`'s) scaled about its mean so that x's deviation is `std`
    (bands untouched)."""
    import cv2

    shapes, residual = [], x
    for _ in range(levels):  # `pyramid`'s residual, without its bands
        if min(residual.shape) < 8:
            break
        shapes.append(residual.shape)
        residual = cv2.pyrDown(residual)
    low = residual - residual.mean()
    for h, w in reversed(shapes):
        low = cv2.pyrUp(low, dstsize=(w, h))
    rest = x - low  # the bands and the mean
    (rest_mean, rest_std), (low_mean, low_std) = _mean_std(rest), _mean_std(low)
    cross = float(np.dot(rest.ravel(), low.ravel())) / rest.size - rest_mean * low_mean
    a, b, c = low_std**2, 2 * cross, rest_std**2 - std**2
    disc = b * b - 4 * a * c
    if a < 1e-8 or disc < 0:
        return x
    r = min(max((-b + disc**0.5) / (2 * a), 0.5), 2.0)
    return rest + r * low


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and deviation of a float32 image (OpenCV's, summed in float64: a fraction of NumPy's time)."""
    import cv2

    mean, std = cv2.meanStdDev(x)
    return float(mean[0, 0]), float(std[0, 0])


def with_detail(photo: torch.Tensor, picture: torch.Tensor, alpha: float, sigma: float) -> torch.Tensor:
    """`picture` (1,3,H,W) RGB plus `alpha` times the grey detail of `photo` (1,3,H,W) RGB (`photo_detail`),
    clipped to [0,1]."""
    detail = torch.from_numpy(photo_detail(photo, sigma))
    return (picture + alpha * detail.to(picture.dtype)).clamp_(0, 1)


def photo_detail(photo: torch.Tensor, sigma: float) -> np.ndarray:
    """(H,W) float32: the BT.601 grey of `photo` (1,3,H,W) RGB less its Gaussian blur at `sigma` px."""
    import cv2

    grey = (photo[0] * torch.tensor(LUMA_WEIGHTS, dtype=photo.dtype).view(3, 1, 1)).sum(0).float().numpy()
    return grey - cv2.GaussianBlur(grey, (0, 0), sigma)
