"""Shared input handling: metrics take torch (N, C, H, W) / (C, H, W) tensors or numpy arrays in [0, 1]."""

from __future__ import annotations

import numpy as np
import torch

ImageLike = torch.Tensor | np.ndarray


def as_batch(img: ImageLike) -> tuple[np.ndarray, bool]:
    """float64 numpy (N, C, H, W) and whether the input was a single (C, H, W) image."""
    arr = img.detach().cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
    if arr.ndim not in (3, 4):
        raise ValueError(f"expected an image (C, H, W) or a batch (N, C, H, W), got shape {arr.shape}")
    single = arr.ndim == 3
    return (arr[None] if single else arr).astype(np.float64), single


def as_tensor_batch(img: ImageLike) -> tuple[torch.Tensor, bool]:
    """float32 torch (N, C, H, W) (kept on its device) and whether the input was a single image."""
    t = img if isinstance(img, torch.Tensor) else torch.from_numpy(np.asarray(img))
    if t.ndim not in (3, 4):
        raise ValueError(f"expected an image (C, H, W) or a batch (N, C, H, W), got shape {tuple(t.shape)}")
    single = t.ndim == 3
    return (t[None] if single else t).float(), single


def per_image(values: np.ndarray, single: bool) -> float | np.ndarray:
    """A float for a single image, else the (N,) array."""
    return float(values[0]) if single else values


def check_pair(a: tuple, b: tuple) -> None:
    if a != b:
        raise ValueError(f"images must have the same shape, got {a} and {b}")


def check_side(metric: str, shape: tuple, least: int) -> None:
    """A one-line ValueError if a (N, C, H, W) batch's pictures are smaller than `least` px on a side."""
    if min(shape[2:]) < least:
        raise ValueError(f"{metric} needs pictures at least {least} px on a side, got {shape[3]}x{shape[2]}")


def luma(batch: np.ndarray, studio: bool = False) -> np.ndarray:
    """BT.601 luma (N, 1, H, W) of RGB in [0, 1]; `studio=True`: 16-235 range (PSNR-Y/SSIM-Y)."""
    if batch.shape[1] == 1:
        return batch
    r, g, b = batch[:, 0:1], batch[:, 1:2], batch[:, 2:3]
    if studio:
        return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b) / 255.0
    return 0.299 * r + 0.587 * g + 0.114 * b
