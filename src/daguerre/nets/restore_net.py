"""RestoreNet: the damage mask predictor and the U-Net generator as one model (one card, one weights file).

How the mask drives the restoration: the predicted mask is a fourth input channel of the generator, so it
knows which pixels carry no picture (scratches, dust, cracks, torn paper) and must be inpainted from their
surroundings, and which only need their tone, colour and grain corrected. An inpainting blend
(``generated * mask + photo * (1 - mask)``) was not chosen because restoration also changes undamaged pixels
(fading, yellowing, grain, blur). The mask is detached from the generator's graph: the predictor learns
from the true damage mask only (BCE), and the generator learns to use whatever mask it is given.

`forward(x)`: RGB (N,3,H,W) in [0,1] -> restored RGB in [0,1]; `parts(x)` -> (restored, unclamped; mask logits).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from daguerre.nets.damage_net import DamageNet
from daguerre.nets.unet import UNet


class RestoreNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), mask_width: int = 8):
        super().__init__()
        self.config = {"widths": [int(w) for w in widths], "mask_width": mask_width}
        self.damage = DamageNet(3, mask_width)
        self.generator = UNet(4, 3, widths, output="residual")
        self.multiple = max(self.generator.multiple, 2)

    def parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.damage.logits(x)
        y = self.generator(torch.cat([x, torch.sigmoid(logits).detach()], 1))
        return y, logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.parts(x)[0].clamp(0, 1)
