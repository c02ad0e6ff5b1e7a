"""Gatys-style content and style distances on VGG19 (Oxford ImageNet weights) features."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from daguerre.losses.style import gram_matrix
from daguerre.metrics._arrays import ImageLike, as_tensor_batch, check_side, per_image
from daguerre.nets.vgg19 import VGG19Features, load_vgg19

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
STYLE_MIN_SIDE = 16  # relu5_1 comes after four 2x poolings
__all__ = ["CONTENT_LAYER", "STYLE_MIN_SIDE", "STYLE_LAYERS", "content_distance", "gram_matrix", "style_distance"]


@lru_cache(maxsize=1)
def _vgg19() -> VGG19Features:
    return load_vgg19((*STYLE_LAYERS, CONTENT_LAYER))


def _features(img: ImageLike) -> tuple[dict[str, torch.Tensor], bool]:
    x, single = as_tensor_batch(img)
    check_side("the style distance", tuple(x.shape), STYLE_MIN_SIDE)
    return _vgg19().to(x.device)(x), single


@torch.no_grad()
def style_distance(a: ImageLike, b: ImageLike) -> float | np.ndarray:
    """Sum over relu1_1..relu5_1 of the mean squared Gram difference; float per image, (N,) for a batch.

    Sizes may differ (Gram matrices do not depend on H, W); a single `b` is compared with every image of `a`.
    """
    fa, single = _features(a)
    fb, _ = _features(b)
    total = sum(
        ((gram_matrix(fa[k]) - gram_matrix(fb[k].to(fa[k].device))) ** 2).mean(dim=(1, 2))
        for k in STYLE_LAYERS
    )
    return per_image(total.cpu().numpy().astype(np.float64), single)


@torch.no_grad()
def content_distance(a: ImageLike, b: ImageLike) -> float | np.ndarray:
    """Mean squared difference of VGG19 relu4_2 features (same-size images); float or (N,)."""
    fa, single = _features(a)
    fb, _ = _features(b)
    if fa[CONTENT_LAYER].shape[1:] != fb[CONTENT_LAYER].shape[1:]:
        raise ValueError("content_distance needs images of the same size")
    d = ((fa[CONTENT_LAYER] - fb[CONTENT_LAYER].to(fa[CONTENT_LAYER].device)) ** 2).mean(dim=(1, 2, 3))
    return per_image(d.cpu().numpy().astype(np.float64), single)
