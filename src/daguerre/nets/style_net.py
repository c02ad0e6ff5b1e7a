"""StyleNet: the fast feed-forward style generator, designed for CPU speed.

Johnson et al.'s TransformerNet spends ~81 GFLOP on a 512x512 image (full-resolution 9x9 convs,
residual blocks at 1/4 scale with 128 channels). StyleNet reaches 1/8 scale in three cheap strided
convs, keeps its residual blocks there with 64 channels, and climbs back with nearest upsampling
plus 3x3 convs (no checkerboard artefacts): 3.6 GFLOP at 512x512 (2 per multiply-add).

Normalisation is conditional instance norm (Dumoulin et al. 2017): one trunk can carry several
styles, each style being its own scale and shift per layer. `single_style(i)` cuts out a plain
one-style generator, which is what ships.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class StyleNorm(nn.Module):
    """Instance norm whose affine scale and shift are chosen by style index."""

    def __init__(self, channels: int, n_styles: int = 1):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.scale = nn.Parameter(torch.ones(n_styles, channels))
        self.shift = nn.Parameter(torch.zeros(n_styles, channels))
        self.style = 0
        self.recording = False  # remember this pass's statistics
        self.statistics: tuple[torch.Tensor, torch.Tensor] | None = None  # use these instead of the tile's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale[self.style].view(1, -1, 1, 1)
        shift = self.shift[self.style].view(1, -1, 1, 1)
        if self.recording:
            self.statistics = (x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True, unbiased=False))
        if self.statistics is not None:
            mean, var = self.statistics
            return (x - mean) / torch.sqrt(var + self.norm.eps) * scale + shift
        # one operator with its affine (ONNX InstanceNormalization's scale and bias), not a norm, a Mul and an Add
        return F.instance_norm(x, weight=self.scale[self.style], bias=self.shift[self.style], eps=self.norm.eps)


class ConvNormReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int, n_styles: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="reflect"),
            StyleNorm(cout, n_styles),
            nn.ReLU(inplace=True),
        )


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, n_styles: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
        self.norm1 = StyleNorm(channels, n_styles)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
        self.norm2 = StyleNorm(channels, n_styles)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.norm1(self.conv1(x)))
        return x + self.norm2(self.conv2(y))


class UpConvNormReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, n_styles: int):
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect"),
            StyleNorm(cout, n_styles),
            nn.ReLU(inplace=True),
        )


# How the rows (or columns) of a 3x3 kernel applied after 2x nearest upsampling fall on the low-resolution
# picture's rows above / at / below, for an even output row (0) and an odd one (1).
_PHASE_TAPS = (torch.tensor([[1.0, 0, 0], [0, 1, 1], [0, 0, 0]]), torch.tensor([[0.0, 0, 0], [1, 1, 0], [0, 0, 1]]))
_LOW_PADDING = {"reflect": "replicate", "replicate": "replicate", "zeros": "zeros"}


class SubPixelConv(nn.Module):
    """A 3x3 conv after 2x nearest upsampling, computed at the low resolution: the same numbers, 1.2-1.7x faster.

    After nearest upsampling each of the four output phases (even/odd row x even/odd column) is a 3x3 conv of
    the low-resolution picture whose kernel is the original's rows and columns summed by phase, and a
    reflect-padded upsampled picture is an edge-padded low one. So one conv with four times the outputs and a
    pixel shuffle give the original's output (to float rounding) without making the upsampled picture
    (Shi et al. 2016's sub-pixel convolution, here an exact re-parameterisation of a trained layer)."""

    def __init__(self, upsampled: nn.Conv2d):
        super().__init__()
        if upsampled.kernel_size != (3, 3) or upsampled.stride != (1, 1) or upsampled.padding != (1, 1):
            raise ValueError("SubPixelConv re-parameterises a 3x3, stride 1, padding 1 conv only")
        w = upsampled.weight.detach()
        cout, cin = w.shape[:2]
        kernels = [torch.einsum("ij,ocjk,lk->ocil", rows, w, cols) for rows in _PHASE_TAPS for cols in _PHASE_TAPS]
        self.conv = nn.Conv2d(cin, 4 * cout, 3, padding=1, padding_mode=_LOW_PADDING[upsampled.padding_mode],
                              bias=upsampled.bias is not None)
        self.conv.weight.data = torch.stack(kernels, 1).reshape(4 * cout, cin, 3, 3)
        if upsampled.bias is not None:
            self.conv.bias.data = upsampled.bias.detach().repeat_interleave(4)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def subpixel(up: UpConvNormReLU) -> nn.Sequential:
    """`up` (upsample, conv, norm, ReLU) with its upsample and conv as one `SubPixelConv`; the norm is `up`'s own."""
    return nn.Sequential(SubPixelConv(up[1]), up[2], up[3])


def sharing_copy(net: nn.Module) -> nn.Module:
    """A copy of `net` holding the same submodules: replacing one in the copy leaves `net` as it is."""
    twin = copy.copy(net)
    twin._modules = dict(net._modules)
    return twin


class WholeImageStatistics(nn.Module):
    """Base of the generators normalised by `StyleNorm` layers: tiles can use the whole image's statistics."""

    def for_inference(self) -> nn.Module:
        """The same generator made faster for inference (its upsampling convs as `SubPixelConv`), sharing this
        one's norm layers, so `global_statistics` on either applies to both. Here: itself."""
        return self

    @contextmanager
    def global_statistics(self, whole: torch.Tensor, *inputs: torch.Tensor) -> Iterator[None]:
        """Normalise every tile with the statistics of `whole` (the full image, downscaled).

        Instance norm on a tile alone would give each tile its own look; with the whole image's
        statistics, tiles of one image match and seams vanish. `inputs` are the net's other inputs
        (a style code). Any norm layer with `recording` and `statistics` (StyleNorm, CodeNorm) takes part.
        """
        norms = [m for m in self.modules() if hasattr(m, "recording") and hasattr(m, "statistics")]
        for m in norms:
            m.recording, m.statistics = True, None
        with torch.inference_mode():
            self(whole, *inputs)
        for m in norms:
            m.recording = False
        try:
            yield
        finally:
            for m in norms:
                m.statistics = None


class StyleNet(WholeImageStatistics):
    """RGB [0,1] in, RGB [0,1] out, same size (sides a multiple of 8)."""

    def __init__(self, n_styles: int = 1, widths: tuple[int, int, int] = (16, 32, 64), n_residual: int = 3):
        super().__init__()
        w1, w2, w3 = widths
        self.config = {"n_styles": n_styles, "widths": list(widths), "n_residual": n_residual}
        self.down1 = ConvNormReLU(3, w1, 2, n_styles)  # 1/2
        self.down2 = ConvNormReLU(w1, w2, 2, n_styles)  # 1/4
        self.down3 = ConvNormReLU(w2, w3, 2, n_styles)  # 1/8
        self.residual = nn.Sequential(*[ResidualBlock(w3, n_styles) for _ in range(n_residual)])
        self.up1 = UpConvNormReLU(w3, w2, n_styles)  # 1/4
        self.up2 = UpConvNormReLU(w2, w1, n_styles)  # 1/2
        self.up3 = nn.Upsample(scale_factor=2, mode="nearest")  # 1/1
        self.to_rgb = nn.Conv2d(w1, 3, 3, padding=1, padding_mode="reflect")

    def set_style(self, index: int) -> None:
        for m in self.modules():
            if isinstance(m, StyleNorm):
                m.style = index

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The residual trunk's output (1/8 scale): where a clip's frames are steadied (`video.steady_style`)."""
        return self.residual(self.down3(self.down2(self.down1(x))))

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        y = self.up2(self.up1(features))
        return torch.sigmoid(self.to_rgb(self.up3(y)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def for_inference(self) -> StyleNet:
        fast = sharing_copy(self)
        fast.up1, fast.up2 = subpixel(self.up1), subpixel(self.up2)
        fast.up3, fast.to_rgb = nn.Identity(), SubPixelConv(self.to_rgb)
        return fast

    def single_style(self, index: int) -> StyleNet:
        """A one-style generator holding this trunk and style `index`'s norm parameters."""
        one = copy.deepcopy(self)
        for m in one.modules():
            if isinstance(m, StyleNorm):
                m.scale = nn.Parameter(m.scale.data[index : index + 1].clone())
                m.shift = nn.Parameter(m.shift.data[index : index + 1].clone())
                m.style = 0
        one.config = {**self.config, "n_styles": 1}
        return one

    @classmethod
    def join(cls, singles: list[StyleNet]) -> StyleNet:
        """The several-style generator that `single_style` cuts came from: one trunk, each one's norms.

        Refuses generators whose trunks (convs) differ: they were not trained together."""
        states = [one.state_dict() for one in singles]
        convs = [k for k in states[0] if not k.endswith((".scale", ".shift"))]
        if any(not torch.equal(s[k], states[0][k]) for s in states[1:] for k in convs):
            raise ValueError("these style generators do not share one trunk")
        config = singles[0].config
        net = cls(len(singles), tuple(config["widths"]), config["n_residual"])
        joined = {k: torch.cat([s[k] for s in states]) if k.endswith((".scale", ".shift")) else states[0][k]
                  for k in states[0]}
        net.load_state_dict(joined)
        return net
