"""LPIPS v0.1 (Zhang et al. 2018) with the VGG16 trunk and the official linear heads."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from daguerre.metrics._arrays import ImageLike, as_tensor_batch, check_pair, check_side, per_image
from daguerre.nets.vgg16 import load_vgg16, lpips_linear_weights

LPIPS_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
LPIPS_MIN_SIDE = 16  # relu5_3 comes after four 2x poolings: a smaller side leaves it no pixel


class LPIPS(nn.Module):
    """LPIPS distance; differentiable in its inputs, so it also serves as a perceptual loss.

    forward(a, b) takes RGB (N, 3, H, W) in [0, 1] (or [-1, 1] with `normalize=False`) and returns (N,).
    """

    def __init__(self, net: str = "vgg"):
        super().__init__()
        if net != "vgg":
            raise ValueError(f"only net='vgg' is available, not {net!r}")
        self.net = load_vgg16(LPIPS_LAYERS)
        for i, w in enumerate(lpips_linear_weights()):
            self.register_buffer(f"lin{i}", w)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.eval()

    def forward(self, a: torch.Tensor, b: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        if normalize:
            a, b = a * 2 - 1, b * 2 - 1
        fa = self.net((a - self.shift) / self.scale, normalize=False)
        fb = self.net((b - self.shift) / self.scale, normalize=False)
        total = a.new_zeros(a.shape[0])
        for i, name in enumerate(LPIPS_LAYERS):
            ua = fa[name] / (fa[name].pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            ub = fb[name] / (fb[name].pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + F.conv2d((ua - ub) ** 2, getattr(self, f"lin{i}")).mean(dim=(1, 2, 3))
        return total


@lru_cache(maxsize=2)
def _lpips_module(net: str) -> LPIPS:
    return LPIPS(net)


@torch.no_grad()
def lpips(a: ImageLike, b: ImageLike, net: str = "vgg", batch_size: int = 8) -> float | np.ndarray:
    """LPIPS between RGB images in [0, 1]; float per image, (N,) for a batch. Lower is more similar."""
    x, single = as_tensor_batch(a)
    y, _ = as_tensor_batch(b)
    check_pair(tuple(x.shape), tuple(y.shape))
    check_side("LPIPS", tuple(x.shape), LPIPS_MIN_SIDE)
    model = _lpips_module(net).to(x.device)
    values = torch.cat([model(xa, yb.to(x.device)) for xa, yb in zip(x.split(batch_size), y.split(batch_size),
                                                                       strict=True)])
    return per_image(values.cpu().numpy().astype(np.float64), single)
