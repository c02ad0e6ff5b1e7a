"""PatchGAN discriminator (Isola et al. 2017): scores overlapping patches as real or generated.

Spectral norm keeps it stable with small batches. With `n_heads > 1` one trunk judges several
domains (one output map per style); `forward(x, head)` returns the map of that head.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 32, n_layers: int = 3, n_heads: int = 1):
        super().__init__()
        layers: list[nn.Module] = [
            spectral_norm(nn.Conv2d(in_channels, width, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        ch = width
        for i in range(1, n_layers):
            nxt = width * min(2**i, 8)
            layers += [
                spectral_norm(nn.Conv2d(ch, nxt, 4, stride=2, padding=1)),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            ch = nxt
        layers += [
            spectral_norm(nn.Conv2d(ch, ch, 4, stride=1, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        self.body = nn.Sequential(*layers)
        self.head = spectral_norm(nn.Conv2d(ch, n_heads, 4, stride=1, padding=1))

    def forward(self, x: torch.Tensor, head: int = 0) -> torch.Tensor:
        return self.head(self.body(x))[:, head : head + 1]


class CodePatchDiscriminator(PatchDiscriminator):
    """A PatchGAN conditioned on a style code by projection (Miyato & Koyama 2018): each patch's score is the
    head's plus the inner product of its features with a linear embedding of the code."""

    def __init__(self, code_dim: int, in_channels: int = 3, width: int = 32, n_layers: int = 3):
        super().__init__(in_channels, width, n_layers)
        self.embed = spectral_norm(nn.Linear(code_dim, self.head.in_channels))

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        h = self.body(x)
        scores = self.head(h)  # one pixel smaller than h (4x4 conv, padding 1)
        projection = (h * self.embed(code)[:, :, None, None]).sum(1, keepdim=True)
        return scores + projection[..., : scores.shape[-2], : scores.shape[-1]]
