"""He initialisation for the plain conv stacks (no normalisation) of daguerre's generators.

PyTorch's default conv init draws weights with variance 1 / (3 fan_in): with a (leaky) ReLU after it, each
layer shrinks the signal's variance about six-fold. Without normalisation layers to undo it, a 13-layer stack
hands its last layer a near-constant picture (the per-pixel variation falls ~100x at UpscaleNet's tail and
~1000x at a four-level U-Net's bottleneck), so the deep layers hardly learn. He et al. (2015) draw the weights
with variance 2 / ((1 + slope²) fan_in) instead, which keeps the variance through the stack.

Used by UpscaleNet, and by RestoreNet.he_init() (the mask predictor and U-Net of an inpainting restore model,
recipe field `he_init`). The U-Net of colorize and the first restore models keep the default init on purpose:
their recipes must reproduce the shipped models, and with He init colorize learnt bold but wrong colours (held-out
colourfulness 47 against the truth's 57, but grass painted orange: LPIPS 0.367 against grey's 0.348).
"""

from __future__ import annotations

from torch import nn


def he_init(module: nn.Module, slope: float) -> nn.Module:
    """Every conv in `module` He-initialised for a leaky ReLU / PReLU of this negative slope; biases zero."""
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            nn.init.kaiming_normal_(conv.weight, a=slope, nonlinearity="leaky_relu")
            nn.init.zeros_(conv.bias)
    return module
