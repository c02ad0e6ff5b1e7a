"""Content, Gram-style and total-variation losses (Gatys et al. 2016; Johnson et al. 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C), normalised by C*H*W."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(features, target)


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared difference between Gram matrices."""
    loss = torch.zeros((), device=next(iter(features.values())).device)
    for name, target in target_grams.items():
        g = gram_matrix(features[name])
        loss = loss + F.mse_loss(g, target.expand_as(g))
    return loss


def look_loss(features: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> torch.Tensor:
    """How far an output's stroke statistics are from a reference output's, image by image: per layer, the MSE of
    the Gram matrices plus that of the channels' means and standard deviations (over 1/C, the Gram's scale). Strokes
    may move; their statistics may not (a model trained further keeps a look, issue 14)."""
    loss = torch.zeros((), device=next(iter(features.values())).device)
    for name, ref in reference.items():
        f, c = features[name], ref.shape[1]
        loss = loss + F.mse_loss(gram_matrix(f), gram_matrix(ref))
        loss = loss + (F.mse_loss(f.mean((2, 3)), ref.mean((2, 3))) + F.mse_loss(f.std((2, 3)), ref.std((2, 3)))) / c
    return loss


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    return dh + dw
