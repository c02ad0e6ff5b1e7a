"""ColorizeNet: the chroma of a grey photo from frozen ImageNet features, a reference's colours and user hints.

Inputs, for a grey photo of H x W (multiples of 8):
- VGG16 relu3_3 (H/4) and relu4_3 (H/8) of the grey photo (`nets.correspondence.grey_features`: frozen, not
  part of this net's weights);
- L (H) with the hint channels: hint ab and hint mask (zero where no hint; Zhang et al. 2017);
- the reference channels at H/4: ab carried over from reference images and the match confidence
  (`nets.correspondence.reference_colour`; zero without a reference).
Outputs at H/4: logits over quantised ab bins (Zhang et al. 2016: read out as the annealed mean) and a regressed ab
(used when hints or references are given: it follows them exactly rather than the most likely colour).
ab is in `imaging.lab` units (ab / 110).

`residual=True` (issue 17's second model): two more inputs at H/4, the hints spread in feature space
(`nets.correspondence.spread_hints`: their ab and weight) and the training-free estimate `base` (`training_free`);
the regressed ab is then base + sigmoid(gate) x correction, both heads zero-initialised, so an untrained net
gives the training-free colour and training learns only where to correct it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.imaging.lab import AB_SCALE

ANNEALED_T = 0.38  # Zhang et al. 2016's temperature for the annealed mean


def ab_bins(step: float = 10.0) -> torch.Tensor:
    """(Q, 2) centres of the `step`-wide ab grid cells reachable in sRGB at some lightness, in ab / 110 units."""
    import kornia.color as kc

    grid = torch.arange(-110, 110 + step / 2, step)
    a, b = torch.meshgrid(grid, grid, indexing="ij")
    ab = torch.stack([a.flatten(), b.flatten()], 1)
    lab = torch.cat([torch.linspace(5, 95, 19).repeat_interleave(len(ab))[:, None], ab.repeat(19, 1)], 1)
    rgb = kc.lab_to_rgb(lab.T[None, :, :, None], clip=False)[0, :, :, 0]
    inside = ((rgb >= 0) & (rgb <= 1)).all(0).view(19, -1).any(0)
    return ab[inside] / AB_SCALE


def conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def training_free(reference: torch.Tensor, spread: torch.Tensor, has_reference: bool) -> torch.Tensor:
    """The colour without a trained net (B,2,h,w): the spread hints' ab where their weight is high, the reference's
    carried ab elsewhere (the hints' ab everywhere without a reference; zero with neither)."""
    hint_ab, weight = spread[:, :2], spread[:, 2:]
    return weight * hint_ab + (1 - weight) * (reference[:, :2] if has_reference else hint_ab)


class ColorizeNet(nn.Module):
    multiple = 8

    def __init__(self, width: int = 96, bin_step: float = 10.0, residual: bool = False):
        super().__init__()
        self.config = {"width": width, "bin_step": bin_step} | ({"residual": True} if residual else {})
        self.residual = residual
        extra = 3 if residual else 0  # the spread hints' ab and weight
        w = width
        # the trained condition branch: L + hint ab + hint mask at full resolution, down to H/8
        self.cond_2 = conv(4, w // 8, stride=2)          # H/2
        self.cond_4 = conv(w // 8, w // 4, stride=2)     # H/4
        self.cond_8 = conv(w // 4, w // 2, stride=2)     # H/8
        # H/8: relu4_3 + condition + reference (pooled), a wide receptive field through dilation
        self.vgg_8 = nn.Conv2d(512, w, 1)
        self.mid_1 = conv(w + w // 2 + 3 + extra, w)
        self.mid_2 = conv(w, w, dilation=2)
        self.mid_3 = conv(w, w, dilation=2)
        # H/4: relu3_3 + condition + reference + the upsampled H/8 features
        self.vgg_4 = nn.Conv2d(256, w // 2, 1)
        self.dec_4a = conv(w + w // 2 + w // 4 + 3 + extra, 3 * w // 4)
        self.dec_4b = conv(3 * w // 4, 3 * w // 4)
        # the heads, at H/4 (as Zhang et al. 2016): the full-resolution luminance gives the detail
        self.register_buffer("bins", ab_bins(bin_step))
        self.logits = nn.Conv2d(3 * w // 4, len(self.bins), 1)
        self.ab = nn.Conv2d(3 * w // 4, 2 if not residual else 3, 1)  # residual: correction ab and gate
        if residual:
            nn.init.zeros_(self.ab.weight)
            nn.init.zeros_(self.ab.bias)

    def forward(self, relu3: torch.Tensor, relu4: torch.Tensor, lightness: torch.Tensor, hints: torch.Tensor,
                reference: torch.Tensor, spread: torch.Tensor | None = None,
                base: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B,Q,H/4,W/4) and regressed ab (B,2,H/4,W/4); hints (B,3,H,W), reference (B,3,H/4,W/4);
        residual nets: spread (B,3,H/4,W/4) and base (B,2,H/4,W/4), zero if not given."""
        c2 = self.cond_2(torch.cat([lightness - 0.5, hints], 1))
        c4 = self.cond_4(c2)
        c8 = self.cond_8(c4)
        quarter = [reference]
        if self.residual:
            spread = torch.zeros_like(reference) if spread is None else spread
            base = torch.zeros_like(reference[:, :2]) if base is None else base
            quarter.append(spread)
        at4 = torch.cat(quarter, 1)
        x = torch.cat([self.vgg_8(relu4), c8, F.avg_pool2d(at4, 2)], 1)
        x = self.mid_3(self.mid_2(self.mid_1(x)))
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.dec_4b(self.dec_4a(torch.cat([x, self.vgg_4(relu3), c4, at4], 1)))
        out = self.ab(x)
        if self.residual:
            return self.logits(x), base + torch.sigmoid(out[:, 2:]) * out[:, :2]
        return self.logits(x), out

    def annealed_mean(self, logits: torch.Tensor, temperature: float = ANNEALED_T) -> torch.Tensor:
        """ab (B,2,h,w) from the bin logits: the mean of the distribution sharpened by `temperature`."""
        p = torch.softmax(logits / temperature, 1)
        return torch.einsum("bqhw,qc->bchw", p, self.bins)
