"""The in-memory image every operation works on: float32 CHW pixels plus the metadata that must survive."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# ITU-R BT.601 luma weights: the Y that Pillow's convert("L") and JPEG store for a colour image.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(eq=False)
class Picture:
    """An upright image: ``pixels`` (C,H,W) float32 in [0,1] with C = 1 (grey) or 3 (RGB).

    ``alpha`` is (H,W) float32 or None. ``exif`` is the raw EXIF block (``b"Exif\\0\\0"`` + TIFF structure)
    with its orientation tag at 1, because orientation is applied once when loading. ``bit_depth`` (8 or 16)
    is the precision the picture came in with and is written out with by default.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    bit_depth: int = 8
    source: Path | None = None
    format: str | None = None

    def __post_init__(self) -> None:
        pixels = np.ascontiguousarray(self.pixels, dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[None]
        if pixels.ndim != 3 or pixels.shape[0] not in (1, 3):
            raise ValueError(f"pixels must be (C,H,W) with C = 1 or 3, got shape {self.pixels.shape}")
        self.pixels = pixels
        if self.alpha is not None:
            self.alpha = np.ascontiguousarray(self.alpha, dtype=np.float32)
            if self.alpha.shape != pixels.shape[1:]:
                raise ValueError(f"alpha shape {self.alpha.shape} does not match pixels {pixels.shape[1:]}")
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {self.bit_depth}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.pixels.shape[2], self.pixels.shape[1]

    @property
    def channels(self) -> int:
        return self.pixels.shape[0]

    @property
    def is_grey(self) -> bool:
        return self.pixels.shape[0] == 1

    def rgb(self) -> np.ndarray:
        """(3,H,W) pixels; a grey picture is repeated on the three channels."""
        return np.repeat(self.pixels, 3, axis=0) if self.is_grey else self.pixels

    def luminance(self) -> np.ndarray:
        """(H,W) BT.601 luma of the (gamma-encoded) pixels; the pixels themselves for a grey picture."""
        if self.is_grey:
            return self.pixels[0]
        return np.tensordot(LUMA_WEIGHTS, self.pixels, axes=1)

    def to_tensor(self) -> torch.Tensor:
        """(1,C,H,W) float32 tensor sharing memory with ``pixels``."""
        return torch.from_numpy(self.pixels).unsqueeze(0)

    @classmethod
    def from_tensor(cls, t: torch.Tensor, like: Picture | None = None) -> Picture:
        """Picture from a (1,C,H,W) or (C,H,W) tensor, clamped to [0,1], with the metadata of ``like``."""
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise ValueError(f"expected a batch of one, got shape {tuple(t.shape)}")
            t = t[0]
        pixels = t.detach().to("cpu", torch.float32).clamp(0, 1).numpy()
        if like is None:
            return cls(pixels)
        return like.with_pixels(pixels)

    def with_pixels(self, pixels: np.ndarray) -> Picture:
        """A copy with new pixels and the same metadata; alpha is resized if the size changed."""
        pixels = np.asarray(pixels, dtype=np.float32)
        icc = self.icc_profile if _icc_fits(self.icc_profile, pixels.shape[0] if pixels.ndim == 3 else 1) else None
        return dataclasses.replace(self, pixels=pixels, alpha=_resize_alpha(self.alpha, pixels.shape[-2:]),
                                   icc_profile=icc)


def _icc_fits(icc: bytes | None, channels: int) -> bool:
    """An ICC profile's colour space (header bytes 16-20) must match the channel count."""
    if not icc or len(icc) < 20:
        return True
    space = icc[16:20]
    return (space == b"GRAY") == (channels == 1)


def _resize_alpha(alpha: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if alpha is None or alpha.shape == tuple(shape):
        return alpha
    t = torch.from_numpy(alpha)[None, None]
    out = F.interpolate(t, size=tuple(shape), mode="bilinear", align_corners=False, antialias=True)
    return out[0, 0].clamp(0, 1).numpy()
