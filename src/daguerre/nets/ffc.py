"""Fast Fourier convolution blocks (Chi et al. 2020, as LaMa uses them: Suvorov et al. 2022): a global view.

A 3x3 conv sees 3x3 pixels; a 1x1 conv on the picture's 2-D Fourier transform sees all of it at once, since each
frequency is a sum over every pixel. LaMa builds its inpainter from such blocks so that a hole is filled from
the whole picture (repeated textures, long straight edges), not only from its rim. Here they sit at the U-Net's
bottleneck (1/8 resolution), where an FFT costs little.

`FFC`: the channels are split into a local part (a quarter) and a global part (three quarters), as LaMa's
ratio 0.75. Local -> local, local -> global and global -> local are 3x3 convs; global -> global is the
`SpectralTransform`: a 1x1 conv halves the channels, a `FourierUnit` (rfft2, a 1x1 conv over the real and
imaginary parts of every frequency, LeakyReLU, irfft2) is added to them, and a 1x1 conv restores the width.
`FFCBlock`: two FFCs with a residual connection; its last layer starts at zero, so a new block is the identity
(a trained U-Net can take blocks in without changing its output). No normalisation (LaMa has batch norm): the
restore model's tiles must not depend on tile statistics.

The global view is over the picture the net is given: a tile when the tiler cuts a large picture (the tiler
blends the seams; LaMa shows FFC inpainting carries over to larger pictures than it was trained on).
"""

from __future__ import annotations

import torch
from torch import nn

GLOBAL_RATIO = 0.75


def act() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, inplace=True)


class FourierUnit(nn.Module):
    """rfft2 -> 1x1 conv over (real, imaginary) channels -> LeakyReLU -> irfft2, at the input's size."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        spectrum = torch.fft.rfft2(x, norm="ortho")
        y = self.act(self.conv(torch.cat([spectrum.real, spectrum.imag], 1)))
        return torch.fft.irfft2(torch.complex(y[:, :c], y[:, c:]), s=(h, w), norm="ortho")


class SpectralTransform(nn.Module):
    """Global -> global: 1x1 conv to half the channels, plus its Fourier unit, 1x1 conv back."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.reduce = nn.Sequential(nn.Conv2d(channels, half, 1), act())
        self.fourier = FourierUnit(half)
        self.expand = nn.Conv2d(half, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.expand(x + self.fourier(x))


class FFC(nn.Module):
    """A fast Fourier convolution: (local, global) channels in, (local, global) channels out."""

    def __init__(self, channels: int):
        super().__init__()
        self.global_channels = int(channels * GLOBAL_RATIO)
        cl, cg = channels - self.global_channels, self.global_channels
        self.local_to_local = nn.Conv2d(cl, cl, 3, padding=1, padding_mode="reflect")
        self.global_to_local = nn.Conv2d(cg, cl, 3, padding=1, padding_mode="reflect")
        self.local_to_global = nn.Conv2d(cl, cg, 3, padding=1, padding_mode="reflect")
        self.global_to_global = SpectralTransform(cg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        local, glob = x[:, : -self.global_channels], x[:, -self.global_channels :]
        return torch.cat([self.local_to_local(local) + self.global_to_local(glob),
                          self.local_to_global(local) + self.global_to_global(glob)], 1)


class FFCBlock(nn.Module):
    """x + FFC(LeakyReLU(FFC(x))), the second FFC's convs zero at first (the block starts as the identity)."""

    def __init__(self, channels: int):
        super().__init__()
        self.first, self.act, self.second = FFC(channels), act(), FFC(channels)

    def zero_last(self) -> FFCBlock:
        """Zero the layers that end the block's branches, so that it is the identity."""
        s = self.second
        for conv in (s.local_to_local, s.global_to_local, s.local_to_global, s.global_to_global.expand):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.second(self.act(self.first(x)))
