"""CycleGAN's reconstruction losses (Zhu et al. 2017): cycle consistency and identity, both L1."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """F(G(x)) should give x back: L1."""
    return F.l1_loss(reconstructed, original)


def identity_loss(mapped: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """A generator given a picture already in its target domain should leave it alone: L1."""
    return F.l1_loss(mapped, original)
