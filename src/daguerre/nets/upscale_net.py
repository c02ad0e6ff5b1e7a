"""UpscaleNet: a compact ESRGAN-family super-resolution generator, designed for CPU speed.

ESRGAN's RRDBNet (Wang et al. 2018, 16.7M parameters) spends about 1.1 TMAC per output megapixel at x4.
Real-ESRGAN's compact model (SRVGGNetCompact, Wang et al. 2021) keeps ESRGAN's training (L1 + perceptual +
adversarial on realistic degradations) but replaces the trunk by a plain stack of 3x3 convs at the low
resolution, with the upsampling done once at the end by a pixel shuffle (sub-pixel conv, Shi et al. 2016).
This is that design, with fewer channels and layers (default 48 channels, 12 body convs: 0.27M parameters,
17 GMAC per output megapixel at x4, 65x fewer than RRDBNet):

- head: 3x3 conv from RGB to `width` channels, PReLU;
- body: `depth` times a 3x3 conv `width` -> `width`, PReLU (all at the input's resolution);
- tail: 3x3 conv to 3 * scale**2 channels, pixel shuffle to scale x the size; its weights start at zero, so
  a new net is exactly bicubic and training only ever adds detail to it (with a random tail, 1200
  distillation steps had only climbed back to bicubic quality);
- plus the input upscaled bicubically, so the net learns only the detail bicubic misses (residual): training
  starts from bicubic quality (with a nearest-neighbour base, 700 steps had not caught up with bicubic).

The convs are He-initialised (`nets.init`): with PyTorch's default init the body handed the tail a picture whose
variation had shrunk ~100x, and training never left bicubic quality. No normalisation: each output pixel depends
only on the input within `depth + 2` pixels, so the shared tiler gives the same picture tiled as whole.
`forward(x)`: RGB (N,3,H,W) in [0,1] -> (N,3,H*scale,W*scale), not clamped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nets.init import he_init


class UpscaleNet(nn.Module):
    def __init__(self, scale: int = 4, width: int = 48, depth: int = 12):
        super().__init__()
        self.config = {"scale": scale, "width": width, "depth": depth}
        self.scale = scale
        self.multiple = 1
        self.receptive_radius = depth + 2  # input pixels
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.PReLU(width)]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.PReLU(width)]
        he_init(nn.Sequential(*layers), 0.25)  # PReLU's initial slope (see `nets.init`)
        tail = nn.Conv2d(width, 3 * scale * scale, 3, padding=1)
        nn.init.zeros_(tail.weight)
        nn.init.zeros_(tail.bias)
        layers += [tail]
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        detail = self.shuffle(self.body(x))
        return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False) + detail
