"""Colour helpers shared by operations: luminance-only transfer and strength blending."""

from __future__ import annotations

import kornia.color as kc
import torch


def preserve_colour(original: torch.Tensor, stylized: torch.Tensor) -> torch.Tensor:
    """Keep the original's chroma (YCbCr) and take only the luminance of the stylized image."""
    y = kc.rgb_to_ycbcr(stylized)[:, :1]
    cbcr = kc.rgb_to_ycbcr(original)[:, 1:]
    return kc.ycbcr_to_rgb(torch.cat([y, cbcr], 1)).clamp(0, 1)


def blend(original: torch.Tensor, result: torch.Tensor, strength: float) -> torch.Tensor:
    """Linear mix: 0 gives the original, 1 the full result."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    return original + strength * (result - original)


def downscale(x: torch.Tensor, max_side: int) -> torch.Tensor:
    """Antialiased downscale so the longer side is at most `max_side` (multiple of 8)."""
    h, w = x.shape[-2:]
    s = min(1.0, max_side / max(h, w))
    nh, nw = max(8, round(h * s / 8) * 8), max(8, round(w * s / 8) * 8)
    if (nh, nw) == (h, w):
        return x
    return torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
