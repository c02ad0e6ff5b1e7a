"""Lab for colorization: the network's normalised L and ab, and putting chroma under a kept luminance.

Normalisation: L / 100 in [0, 1] (the network's input) and ab / 110 in about [-1, 1] (its tanh output).
"""

from __future__ import annotations

import kornia.color as kc
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
