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
