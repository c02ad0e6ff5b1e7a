"""RestoreNet: the damage mask predictor and the U-Net generator as one model (one card, one weights file).

How the mask drives the restoration: the predicted mask is a fourth input channel of the generator, so it
knows which pixels carry no picture (scratches, dust, cracks, torn paper) and must be inpainted from their
surroundings, and which only need their tone, colour and grain corrected. An inpainting blend
(``generated * mask + photo * (1 - mask)``) was not chosen because restoration also changes undamaged pixels
(fading, yellowing, grain, blur). The mask is detached from the generator's graph: the predictor learns
from the true damage mask only (BCE), and the generator learns to use whatever mask it is given.

With `tone_width > 0` a ToneNet first corrects the picture's global tone and colour (levels, gamma, casts,
yellowing, toning) from a thumbnail of the whole picture; the mask predictor and the U-Net then work on the
corrected picture. Global corrections are then learned in a few hundred steps instead of slowly and unevenly by
the U-Net. Large pictures: `tone_params(x)` once on the whole picture, then `local(tile, params)` per tile.

`forward(x)`: RGB (N,3,H,W) in [0,1] -> restored RGB in [0,1]; `parts(x)` -> (restored, unclamped; mask logits).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from daguerre.nets.damage_net import DamageNet
from daguerre.nets.tone_net import ToneNet
from daguerre.nets.unet import UNet


class RestoreNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), mask_width: int = 8, tone_width: int = 0):
        super().__init__()
        self.config = {"widths": [int(w) for w in widths], "mask_width": mask_width}
        if tone_width:
            self.config["tone_width"] = tone_width
        self.tone = ToneNet(tone_width) if tone_width else None
        self.damage = DamageNet(3, mask_width)
        self.generator = UNet(4, 3, widths, output="residual")
        self.multiple = max(self.generator.multiple, 2)

    def tone_params(self, x: torch.Tensor) -> torch.Tensor | None:
        """The global correction of whole pictures x (None without a ToneNet)."""
        return self.tone.params(x) if self.tone is not None else None

    def parts(self, x: torch.Tensor, params: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(restored, unclamped; mask logits) of x, a whole picture or (with its `params`) part of one."""
        if self.tone is not None:
            x = self.tone.apply(x, self.tone.params(x) if params is None else params)
        logits = self.damage.logits(x)
        y = self.generator(torch.cat([x, torch.sigmoid(logits).detach()], 1))
        return y, logits

    def local(self, x: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        """Restore part of a picture whose `tone_params` were measured on the whole."""
        return self.parts(x, params)[0].clamp(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.parts(x)[0].clamp(0, 1)
