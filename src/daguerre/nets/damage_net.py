"""DamageNet: a small predictor of the scratch/dust/crease/tear mask of an old photograph (sigmoid output).

Damage is thin and local, but telling a scratch from a bright edge needs some context along the curve.
So: two 3x3 convs at full resolution, one stride-2 conv, three dilated 3x3 convs at half resolution
(dilation 1, 2, 4: receptive field radius 20 px), bilinear upsampling and concatenation with the
full-resolution features, and a 1-channel head. No normalisation, so tiles agree with the whole picture.

With `cues=True` (issue 17) the classical cues of `nets.damage_cues` (morphological hats, line responses,
local contrast of the luminance) are extra input channels: they generalise to damage drawn differently from the
training's, where RGB alone taught the net to fire on edges.

`logits(x)` is for training (BCE with logits is numerically stable); `forward(x)` is the probability in [0,1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nets.damage_cues import CUES, damage_cues, line_kernels


class DamageNet(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 8, cues: bool = False):
        super().__init__()
        self.config = {"in_channels": in_channels, "width": width} | ({"cues": True} if cues else {})
        self.cues = cues
        if cues:
            self.register_buffer("line_kernels", line_kernels(), persistent=False)
        w, w2, inputs = width, 2 * width, in_channels + CUES * cues
        self.full = nn.Sequential(
            nn.Conv2d(inputs, w, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, w, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2, inplace=True),
        )
        self.context = nn.Sequential(
            nn.Conv2d(w, w2, 4, stride=2, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w2, w2, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w2, w2, 3, padding=2, dilation=2, padding_mode="reflect"), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w2, w2, 3, padding=4, dilation=4, padding_mode="reflect"), nn.LeakyReLU(0.2, inplace=True),
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(w + w2, w, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2, inplace=True),
        )
        self.head = nn.Conv2d(w, 1, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(self.inputs(x))

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the convolutions see: the picture, and its cues with `cues`."""
        return torch.cat([x, damage_cues(x, self.line_kernels)], 1) if self.cues else x

    def convs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The logits of `inputs` (the convolutions alone)."""
        full = self.full(inputs)
        context = F.interpolate(self.context(full), size=inputs.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.fuse(torch.cat([full, context], 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class DamageConvs(nn.Module):
    """A DamageNet's convolutions as a module of their own (its cues are OpenCV's at inference: not traced), for
    OpenVINO to convert."""

    def __init__(self, net: DamageNet):
        super().__init__()
        self.net = net

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net.convs(inputs)
