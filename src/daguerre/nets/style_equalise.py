"""Channel equalisation of a StyleNet for int8: the same function, channel ranges 8 bits can hold.

int8 activations share one scale per tensor: a channel whose values span 1/20 of the widest one gets ~13 of the
256 levels. Two exact re-parameterisations (Nagel et al. 2019's cross-layer equalisation; Xiao et al. 2023's
SmoothQuant split) give every channel its share, measured on calibration pictures:

- a conv feeding an instance norm: the norm removes each channel's offset and scale, so the conv's outputs are
  centred (bias) and scaled (weights, bias) to the widest channel's range;
- a tensor a conv reads (a norm's ReLU output, or the residual stream): each channel is multiplied by
  ``(widest / its range) ** alpha`` in the norms that write it and divided back in the convs' weights that read
  it (ReLU and sums commute with positive scales); `ALPHA` splits the imbalance between activations and weights.

The output matches the original's to float rounding and instance norm's epsilon (~75 dB PSNR).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from daguerre.nets.style_net import StyleNet

# share of a read tensor's imbalance moved into the weights (0.25-1 tried: 0.75 best); change INT8_RECIPE with it
ALPHA = 0.75
MAX_SCALE = 32.0  # no channel scaled more: a near-dead channel would otherwise widen its tensor's 8-bit range
# (or, feeding a norm with variance near its eps, be amplified); the shipped models' largest is 22


def _ranges(net: nn.Module, convs: list[nn.Conv2d], images: Iterable[np.ndarray], inputs: bool) -> dict:
    """Per-channel (min, max) of each conv's input (`inputs`) or output over the pictures."""
    seen: dict = {}

    def keep(conv: nn.Module, t: torch.Tensor) -> None:
        lo, hi = t.amin((0, 2, 3)), t.amax((0, 2, 3))
        if conv in seen:
            lo, hi = torch.minimum(lo, seen[conv][0]), torch.maximum(hi, seen[conv][1])
        seen[conv] = (lo, hi)

    hooks = [c.register_forward_pre_hook(lambda m, i: keep(m, i[0])) if inputs else
             c.register_forward_hook(lambda m, i, o: keep(m, o)) for c in convs]
    try:
        with torch.inference_mode():
            for x in images:
                net(torch.from_numpy(x))
    finally:
        for h in hooks:
            h.remove()
    return seen


def equalised(net: StyleNet, images: list[np.ndarray]) -> StyleNet:
    """A copy of `net` in its inference form with equalised channels; `images`: (1,3,H,W) float32 in [0, 1]."""
    fast = copy.deepcopy(net.for_inference())
    r = list(fast.residual)
    up1, up2, rgb = fast.up1[0].conv, fast.up2[0].conv, fast.to_rgb.conv
    # (norms writing a tensor, convs reading it)
    read = [([fast.down1[1]], [fast.down2[0]]), ([fast.down2[1]], [fast.down3[0]]),
            *[([b.norm1], [b.conv2]) for b in r], ([fast.up1[1]], [up2]), ([fast.up2[1]], [rgb]),
            ([fast.down3[1], *[b.norm2 for b in r]], [*[b.conv1 for b in r], up1])]
    seen = _ranges(fast, [c for _, convs in read for c in convs], images, inputs=True)
    for norms, convs in read:
        span = torch.stack([seen[c][1] - seen[c][0] for c in convs]).amax(0).clamp_min(1e-3)
        s = ((span.max() / span) ** ALPHA).clamp_max(MAX_SCALE)
        for norm in norms:
            norm.scale.data *= s
            norm.shift.data *= s
        for conv in convs:
            conv.weight.data /= s.view(1, -1, 1, 1)
    # convs feeding a norm, and how many outputs (sub-pixel phases) share one normalised channel
    normed = [(fast.down1[0], 1), (fast.down2[0], 1), (fast.down3[0], 1),
              *[(c, 1) for b in r for c in (b.conv1, b.conv2)], (up1, 4), (up2, 4)]
    seen = _ranges(fast, [c for c, _ in normed], images, inputs=False)
    for conv, phases in normed:
        lo, hi = (v.view(-1, phases) for v in seen[conv])
        lo, hi = lo.amin(1), hi.amax(1)
        mid, span = (lo + hi) / 2, (hi - lo).clamp_min(1e-4)
        s = (span.max() / span).clamp_max(MAX_SCALE).repeat_interleave(phases)
        conv.bias.data = (conv.bias.data - mid.repeat_interleave(phases)) * s
        conv.weight.data *= s.view(-1, 1, 1, 1)
    return fast
