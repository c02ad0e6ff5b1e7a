"""Arbitrary style transfer by adaptive instance normalisation (Huang & Belongie 2017).

The encoder is the pretrained VGG16 up to relu4_1 (frozen, ImageNet weights); AdaIN gives the
content features the channel-wise mean and deviation of the style features; the decoder, trained
here, turns features back into an image. The decoder is slimmer than the paper's mirror of VGG
(128 channels at 1/8 scale instead of 512) so it costs a fraction of the encoder.
"""

from __future__ import annotations

import torch
from torch import nn

ENCODER_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    return flat.mean(-1).view(n, c, 1, 1), (flat.var(-1, unbiased=False) + eps).sqrt().view(n, c, 1, 1)


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Content features renormalised to the style features' channel statistics."""
    c_mean, c_std = mean_std(content)
    s_mean, s_std = mean_std(style)
    return (content - c_mean) / c_std * s_std + s_mean


def adain_stats(content: torch.Tensor, s_mean: torch.Tensor, s_std: torch.Tensor) -> torch.Tensor:
    c_mean, c_std = mean_std(content)
    return (content - c_mean) / c_std * s_std + s_mean


class ConvReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect"), nn.ReLU(inplace=True))


class AdaINDecoder(nn.Module):
    """relu4_1 features (512 channels, 1/8 scale) -> RGB [0,1]."""

    def __init__(self, widths: tuple[int, int, int, int] = (128, 64, 32, 16)):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.config = {"widths": list(widths)}
        self.block8 = ConvReLU(512, w1)  # 1/8
        self.up4 = nn.Upsample(scale_factor=2, mode="nearest")
        self.block4 = nn.Sequential(ConvReLU(w1, w2), ConvReLU(w2, w2))  # 1/4
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.block2 = ConvReLU(w2, w3)  # 1/2
        self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
        self.block1 = ConvReLU(w3, w4)  # 1/1
        self.to_rgb = nn.Conv2d(w4, 3, 3, padding=1, padding_mode="reflect")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        y = self.block4(self.up4(self.block8(features)))
        y = self.block1(self.up1(self.block2(self.up2(y))))
        return torch.sigmoid(self.to_rgb(y))
