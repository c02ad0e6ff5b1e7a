"""RetroNet: the CycleGAN generator of `retro` (a modern photo given a period look, or back), sized for CPUs.

Zhu et al.'s ResNet generator (after Johnson et al.) at a CPU budget: a full-resolution 3x3 stem, two strided
convs to 1/4 scale, residual blocks there, nearest upsampling plus 3x3 convs back to full size. Two changes:

- It predicts a change to the photo, not the photo: the output is ``x + delta`` and the last conv starts at
  zero, so a new generator is exactly the identity. A period look is mostly tone, colour, softness and grain
  on an unchanged picture; starting from the identity keeps the photo's detail at full resolution from step
  one (StyleNet's 1/8-scale bottleneck and sigmoid output must learn to redraw it, which the cycle and
  identity losses then fight) and makes the short CPU runs that a user's own collection gets useful.
- Instance norm is `StyleNorm` (one style), so large photos run tile by tile with the whole image's
  statistics (`global_statistics`), exactly as StyleNet does.

In training the output is left unclamped (the discriminators learn that real pictures stay in [0,1] and the
gradients never vanish); in eval mode it is clamped to [0,1].
"""

from __future__ import annotations

import torch
from torch import nn

from daguerre.nets.style_net import ConvNormReLU, ResidualBlock, UpConvNormReLU, WholeImageStatistics


class RetroNet(WholeImageStatistics):
    """RGB [0,1] in, RGB [0,1] out (eval mode), same size (sides a multiple of 4).

    Runs as trained (no `for_inference` form): its last upsampling conv works at full resolution, where ONNX
    Runtime's fp32 pixel shuffle made `SubPixelConv` 3-7% slower (`benchmarks/inference_form.py`)."""

    multiple = 4

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), n_residual: int = 4):
        super().__init__()
        w1, w2, w3 = widths
        self.config = {"widths": list(widths), "n_residual": n_residual}
        self.stem = ConvNormReLU(3, w1, 1, 1)
        self.down1 = ConvNormReLU(w1, w2, 2, 1)  # 1/2
        self.down2 = ConvNormReLU(w2, w3, 2, 1)  # 1/4
        self.residual = nn.Sequential(*[ResidualBlock(w3, 1) for _ in range(n_residual)])
        self.up1 = UpConvNormReLU(w3, w2, 1)  # 1/2
        self.up2 = UpConvNormReLU(w2, w1, 1)  # 1/1
        self.to_delta = nn.Conv2d(w1, 3, 3, padding=1, padding_mode="reflect")
        nn.init.zeros_(self.to_delta.weight)  # a new generator is the identity
        nn.init.zeros_(self.to_delta.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down2(self.down1(self.stem(x)))
        y = self.up2(self.up1(self.residual(y)))
        y = x + self.to_delta(y)
        return y if self.training else y.clamp(0, 1)
