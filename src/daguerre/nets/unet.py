"""UNet: the pix2pix generator (Isola et al. 2017), cut down for CPU speed.

pix2pix's U-Net-256 climbs down eight 4x4 stride-2 convs to 512 channels (54M parameters, batch norm) and
back up with transposed convs, concatenating the encoder's features at each scale (skip connections).
This one keeps that shape with few channels (default 16-32-64-128: 0.5M parameters, 9.1 GMAC on a
512x512 picture) and three levels:

- encoder: a 3x3 conv at full resolution, then per level a 4x4 stride-2 conv and a 3x3 conv;
- decoder: per level bilinear x2 upsampling (no checkerboard artefacts of transposed convs), concatenation
  with the encoder's features of that scale, and one 3x3 conv;
- head: a 3x3 conv, initialised to zero so training starts from the identity (residual) or from grey (tanh).

No normalisation: batch or instance norm would use the statistics of the tile, so a picture cut into tiles
would change from tile to tile. Without it every output pixel depends only on its receptive field (radius
`receptive_radius`: 38 px with the default three levels, 78 with four), and the shared tiler gives the same
result tiled as whole when its overlap is at least four times that. Height and width must be multiples of
`multiple` (2 ** levels); the tiler pads to it.

`output="residual"`: y = x[:, :out_channels] + head (restoration learns the correction of the photo).
`output="tanh"`: y = tanh(head) in [-1, 1] (colorization: normalised ab chroma).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

OUTPUTS = ("residual", "tanh")


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")


class Down(nn.Sequential):
    """Half the resolution: 4x4 stride-2 conv, then a 3x3 conv, each followed by LeakyReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 4, stride=2, padding=1, padding_mode="reflect"),
            nn.LeakyReLU(0.2, inplace=True),
            conv3x3(cout, cout),
            nn.LeakyReLU(0.2, inplace=True),
        )


class Up(nn.Module):
    """Double the resolution: bilinear upsampling, concatenation with the skip features, 3x3 conv, ReLU."""

    def __init__(self, cin: int, skip: int, cout: int):
        super().__init__()
        self.conv = conv3x3(cin + skip, cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.relu(self.conv(torch.cat([x, skip], 1)))


class UNet(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, widths: Sequence[int] = (16, 32, 64, 128),
                 output: str = "residual"):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, not {output!r}")
        if output == "residual" and out_channels > in_channels:
            raise ValueError("a residual UNet needs at least as many input channels as output channels")
        widths = [int(w) for w in widths]
        self.config = {"in_channels": in_channels, "out_channels": out_channels, "widths": widths, "output": output}
        self.out_channels, self.output = out_channels, output
        self.multiple = 2 ** (len(widths) - 1)
        self.receptive_radius = 5 * self.multiple - 2  # pixels: 38 with three levels, 78 with four (measured)
        self.inc = nn.Sequential(conv3x3(in_channels, widths[0]), nn.LeakyReLU(0.2, inplace=True))
        self.downs = nn.ModuleList(Down(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.ups = nn.ModuleList(Up(b, a, a) for a, b in reversed(list(zip(widths[:-1], widths[1:], strict=True))))
        self.bottleneck: nn.Module = nn.Identity()  # a model may put blocks here (restore: FFC blocks)
        self.head = conv3x3(widths[0], out_channels)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = self.bottleneck(skips.pop())
        for up in self.ups:
            y = up(y, skips.pop())
        y = self.head(y)
        return x[:, : self.out_channels] + y if self.output == "residual" else torch.tanh(y)
