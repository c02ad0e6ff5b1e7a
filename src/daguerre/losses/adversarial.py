"""Adversarial losses. Least-squares GAN (Mao et al. 2017) is the default: stable with PatchGAN."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    real = F.mse_loss(real_scores, torch.ones_like(real_scores))
    fake = F.mse_loss(fake_scores, torch.zeros_like(fake_scores))
    return 0.5 * (real + fake)
