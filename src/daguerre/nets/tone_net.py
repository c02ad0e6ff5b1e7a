"""ToneNet: the global tone and colour correction of a faded, yellowed or colour-cast print, from a thumbnail.

Most of what aging does to a print is global: black and white levels drift together (fading), a gamma changes,
the paper yellows, a cast tints everything, sepia toning mixes the channels. A U-Net that sees 77 px around a
pixel learns such corrections slowly and unevenly; a few numbers per picture describe them exactly. ToneNet
looks at a 64 x 64 thumbnail of the whole picture and predicts, per picture:

- a 3x3 colour matrix M and offset b (channel mixing, casts, levels): y = M x + b;
- then a tone curve per channel: piecewise linear through `knots` points at equal spacing on [0, 1].

Layers: four 3x3 stride-2 convs with LeakyReLU (64 -> 4 px), mean and max pooling, a two-layer MLP. The last
layer starts at zero, so a new ToneNet is the identity. `params(x)` gives the (N, 12 + 3 * knots) numbers from
the whole picture; `apply(x, params)` applies them to any part of it at full resolution, so a tiled picture is
corrected with its whole-picture parameters.

`gate=(lo, hi)` (do no harm): the correction is scaled by how large it is, ``clamp((d - lo) / (hi - lo), 0, 1)``
with d its mean absolute change of the thumbnail: a picture that needs little correction (not faded, no cast) is
left alone instead of nudged by an estimate as uncertain as the correction is small (on clean photos the
ToneNet changed pixels by 0.015 on average, and on blurred noisy ones it raised contrast: both cost PSNR).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

THUMBNAIL = 64


class ToneNet(nn.Module):
    def __init__(self, width: int = 16, knots: int = 8, gate: Sequence[float] = ()):
        super().__init__()
        self.config = {"width": width, "knots": knots} | ({"gate": [float(g) for g in gate]} if gate else {})
        self.knots = knots
        self.gate = tuple(float(g) for g in gate)
        if self.gate and not (len(self.gate) == 2 and 0 <= self.gate[0] < self.gate[1]):
            raise ValueError(f"ToneNet gate must be (lo, hi) with 0 <= lo < hi, got {list(gate)}")
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * w, 4 * w, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
        )
        self.mlp = nn.Sequential(nn.Linear(8 * w, 64), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(64, 12 + 3 * knots))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def params(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 12 + 3 * knots) correction parameters of whole pictures x (N,3,H,W) in [0,1]."""
        thumb = F.interpolate(x, size=(THUMBNAIL, THUMBNAIL), mode="bilinear", antialias=True, align_corners=False)
        f = self.features(thumb)
        params = self.mlp(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))
        return params * self.confidence(thumb, params)[:, None] if self.gate else params

    def confidence(self, thumb: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """(N,) how much of the correction `gate` lets through: 0 where it would change the thumbnail by less than
        lo on average, 1 from hi on, linear between."""
        lo, hi = self.gate
        change = (self.apply(thumb, params) - thumb).abs().mean((1, 2, 3))
        return ((change - lo) / (hi - lo)).clamp(0, 1)

    def apply(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Correct x (N,3,H,W) with `params` (N, 12 + 3 * knots): colour matrix and offset, then tone curves."""
        n = x.shape[0]
        matrix = torch.eye(3, dtype=x.dtype, device=x.device) + params[:, :9].view(n, 3, 3)
        y = torch.einsum("nij,njhw->nihw", matrix, x) + params[:, 9:12].view(n, 3, 1, 1)
        k = self.knots
        values = torch.linspace(0, 1, k, dtype=x.dtype, device=x.device) + params[:, 12:].view(n, 3, k)
        t = y.clamp(0, 1) * (k - 1)
        i = t.floor().clamp(max=k - 2)
        frac = t - i
        flat = values.view(n, 3, 1, k).expand(n, 3, y.shape[2], k)  # gather along the knots of each channel
        lo = torch.gather(flat, 3, i.long()).view_as(y)
        hi = torch.gather(flat, 3, (i + 1).long()).view_as(y)
        return lo + frac * (hi - lo)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.params(x))
