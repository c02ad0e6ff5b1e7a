"""Lab for colorization: the network's normalised L and ab, and putting chroma under a kept luminance.

Normalisation: L / 100 in [0, 1] (the network's input) and ab / 110 in about [-1, 1] (its tanh output).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import kornia.color as kc
import numpy as np
import torch

from daguerre.imaging.picture import LUMA_WEIGHTS

L_SCALE = 100.0
AB_SCALE = 110.0


def lab_split(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,3,H,W) sRGB in [0,1] -> L (N,1,H,W) in [0,1] and ab (N,2,H,W) in about [-1,1]."""
    lab = kc.rgb_to_lab(rgb.clamp(0, 1))
    return lab[:, :1] / L_SCALE, lab[:, 1:] / AB_SCALE


def lab_merge(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Inverse of `lab_split`: sRGB in [0,1] (out-of-gamut colours clipped)."""
    return kc.lab_to_rgb(torch.cat([lightness * L_SCALE, ab * AB_SCALE], 1), clip=True)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """(N,1,H,W) BT.601 luma of (N,3,H,W) RGB (as `Picture.luminance`)."""
    w = torch.as_tensor(LUMA_WEIGHTS, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(1, keepdim=True)


def with_luma(rgb: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Colours `rgb` (N,3,H,W) given exactly the BT.601 luma `y` (N,1,H,W) in [0,1], staying in [0,1].

    The colour is shifted to luma `y` (adding the same amount to R, G and B changes luma by that amount, the
    weights summing to 1), then its chroma ``c - y`` is scaled towards grey just enough to fit the gamut:
    ``y + k (c - y)`` keeps luma `y` for any k, and the largest k <= 1 keeping every channel in [0,1] is taken.
    """
    d = rgb - luma(rgb)  # chroma: the colour minus its own luma (luma zero)
    room = torch.where(d > 0, (1 - y) / d.clamp_min(1e-12), torch.where(d < 0, -y / d.clamp_max(-1e-12), 1.0))
    k = room.amin(1, keepdim=True).clamp(0, 1)
    return (y + k * d).clamp(0, 1)


# Full-size composition in numpy float32: the same formulas as kornia's (`lab_split`, `lab_merge`, `with_luma`)
# without their temporaries (numpy's pow is several times faster than torch's on this CPU), for the bands of a
# colorized picture.
_XYZ_TO_RGB = np.array([[3.2404813432005266, -1.5371515162713185, -0.4985363261688878],
                        [-0.9692549499965682, 1.8759900014898907, 0.0415559265582928],
                        [0.0556466391351772, -0.2040413383665112, 1.0573110696453443]], np.float32)
_WHITE = (0.95047, 1.0, 1.08883)  # D65


def srgb_lightness(pixels: np.ndarray) -> np.ndarray:
    """L (H,W) in [0,1] (as `lab_split`) of grey (H,W) or RGB (3,H,W) sRGB pixels, float32 in [0,1]."""
    x = np.clip(pixels, 0, 1, dtype=np.float32)
    lin = np.where(x > 0.04045, np.power((x + np.float32(0.055)) / np.float32(1.055), np.float32(2.4)),
                   x / np.float32(12.92))
    if lin.ndim == 3:  # relative luminance Y (its white is 1)
        lin = np.einsum("c,chw->hw", np.array([0.212671, 0.715160, 0.072169], np.float32), lin)
    f = np.where(lin > 0.008856, np.cbrt(lin), lin * np.float32(7.787) + np.float32(4 / 29))
    return (f * np.float32(116) - np.float32(16)) / np.float32(L_SCALE)


def _f_inverse(f: np.ndarray, white: float) -> np.ndarray:
    cube = f * f * f
    return np.where(f > 0.2068966, cube, (f - np.float32(4 / 29)) / np.float32(7.787)) * np.float32(white)


def colour_with_luma(lightness: np.ndarray, ab: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(3,H,W) sRGB of L (H,W) and ab (2,H,W) (`lab_split` units) given exactly the luma `y` (H,W):
    ``with_luma(lab_merge(lightness, ab), y)`` computed in numpy."""
    fy = (lightness * np.float32(L_SCALE) + np.float32(16)) / np.float32(116)
    fx = ab[0] * np.float32(AB_SCALE / 500) + fy
    fz = np.maximum(fy - ab[1] * np.float32(AB_SCALE / 200), 0)
    xyz = np.stack([_f_inverse(fx, _WHITE[0]), _f_inverse(fy, _WHITE[1]), _f_inverse(fz, _WHITE[2])])
    lin = np.einsum("ij,jhw->ihw", _XYZ_TO_RGB, xyz)
    rgb = np.where(lin > 0.0031308, np.power(np.maximum(lin, np.float32(0.0031308)), np.float32(1 / 2.4))
                   * np.float32(1.055) - np.float32(0.055), lin * np.float32(12.92))
    np.clip(rgb, 0, 1, out=rgb)
    d = rgb - np.einsum("c,chw->hw", LUMA_WEIGHTS, rgb)  # chroma: the colour minus its own luma
    room = np.divide(np.where(d > 0, 1 - y, -y), d, out=np.ones_like(d), where=d != 0)  # how far it may go
    k = np.clip(room.min(0), 0, 1)
    return np.clip(d * k + y, 0, 1)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(H,W,3) CIELAB (D65) float32 of (H,W,3) sRGB pixels (clipped to [0,1]; any strides): the exact sRGB
    curve, then OpenCV's linear RGB -> Lab (within 0.03 Lab units of kornia's `rgb_to_lab`, ~3x its speed here),
    in row strips on the cores. OpenCV's own sRGB -> Lab is not used: its curve is off by up to 0.57 Lab units."""
    out = np.empty(rgb.shape, np.float32)

    def convert(rows: slice) -> None:
        part = rgb[rows]  # any strides (a channels-first tensor's view): copied once, clipped on the way
        out[rows] = lab_of_strip(np.clip(part, 0, 1, out=np.empty(part.shape, np.float32), dtype=np.float32))

    in_parallel(convert, row_strips(rgb.shape))
    return out


def lab_of_strip(x: np.ndarray) -> np.ndarray:
    """`srgb_to_lab` of a C-contiguous float32 (h,W,3) strip in [0,1], on this thread."""
    import cv2

    knee = np.float32(0.04045)  # the curve's pieces meet here (within 1e-7): no mask needed
    lin = cv2.pow(np.maximum(x, knee) * np.float32(1 / 1.055) + np.float32(0.055 / 1.055), 2.4)
    lin += (np.minimum(x, knee) - knee) * np.float32(1 / 12.92)
    return cv2.cvtColor(lin, cv2.COLOR_LRGB2Lab)


def row_strips(shape: tuple[int, ...], pixels: int = 1 << 15) -> list[slice]:
    """Slices of about `pixels` pixels of whole rows of an (H,W,...) image: a chain of elementwise steps over one
    strip stays in the core's cache (over the whole image, each step reads and writes main memory)."""
    rows = max(1, pixels // max(1, shape[1]))
    return [slice(top, top + rows) for top in range(0, shape[0], rows)]


def in_parallel(work: Callable[[object], None], parts: Sequence[object]) -> None:
    """`work` on each part, the parts shared in turn among up to `torch.get_num_threads()` threads, each taking its
    share in order (NumPy and OpenCV release the GIL over large arrays; their elementwise operations use one core
    each)."""
    workers = max(1, min(torch.get_num_threads(), len(parts)))
    if workers == 1:
        for part in parts:
            work(part)
        return

    def share(first: int) -> None:
        for part in parts[first::workers]:
            work(part)

    for done in _pool(workers, os.getpid()).map(share, range(workers)):
        del done


@cache
def _pool(workers: int, pid: int) -> ThreadPoolExecutor:
    """The threads for `in_parallel`, per process: a forked child has none of its parent's threads."""
    return ThreadPoolExecutor(workers, "daguerre-pixels")
