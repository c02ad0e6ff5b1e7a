"""Colour metrics: how far a colorized picture's chroma is from the true colours (`chroma_error`), and how far a
stylized picture's palette is from the painting's (`colour_distance`)."""

from __future__ import annotations

import numpy as np
import torch

from daguerre.metrics._arrays import ImageLike, as_tensor_batch, check_pair, per_image


def chroma_error(a: ImageLike, b: ImageLike) -> float | np.ndarray:
    """Mean over pixels of |(a*, b*) - (a*, b*)_b| in CIELAB units (a*, b* span about -110..110; ~2.3 is a just
    noticeable difference): RGB in [0, 1], float per image, (N,) for a batch."""
    from daguerre.imaging.lab import AB_SCALE, lab_split

    x, single = as_tensor_batch(a)
    y, _ = as_tensor_batch(b)
    check_pair(tuple(x.shape), tuple(y.shape))
    if x.shape[1] != 3:
        raise ValueError(f"chroma_error needs RGB images, got {x.shape[1]} channels")
    (_, ab), (_, ab_true) = lab_split(x), lab_split(y)
    values = (ab - ab_true).norm(dim=1).mean(dim=(1, 2)) * AB_SCALE
    return per_image(values.detach().double().numpy(), single)


COLOUR_DIRECTIONS = 64  # fixed projections of the sliced Wasserstein distance
COLOUR_QUANTILES = 256
COLOUR_SIDE = 256  # images are compared at this long side: the palette, not the pixels


def _directions(k: int) -> torch.Tensor:
    d = torch.randn(3, k, generator=torch.Generator().manual_seed(0))
    return d / d.norm(dim=0, keepdim=True)


def lab_sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, directions: int = COLOUR_DIRECTIONS,
                           quantiles: int = COLOUR_QUANTILES) -> torch.Tensor:
    """(N,) sliced Wasserstein-1 distance between the CIELAB pixel sets of x and y ((N,3,H,W) RGB in [0,1], any
    sizes), in Lab units: the pixels projected on fixed directions, their quantiles compared. Differentiable
    (the training colour loss is this)."""
    import kornia.color as kc

    d = _directions(directions).to(x)
    q = (torch.arange(quantiles, dtype=x.dtype, device=x.device) + 0.5) / quantiles

    def projected_quantiles(rgb: torch.Tensor) -> torch.Tensor:
        lab = kc.rgb_to_lab(rgb.clamp(0, 1)).flatten(2)  # (N,3,P)
        p = torch.einsum("ncp,ck->nkp", lab, d).sort(-1).values
        idx = (q * (p.shape[-1] - 1)).round().long()
        return p[..., idx]

    return (projected_quantiles(x) - projected_quantiles(y)).abs().mean((1, 2))


def colour_distance(a: ImageLike, b: ImageLike) -> float | np.ndarray:
    """How far a's colour distribution is from b's: the sliced Wasserstein distance between their CIELAB pixel sets
    (`lab_sliced_wasserstein`, both seen at a long side of `COLOUR_SIDE` px), in Lab units (0: the same palette in
    the same proportions; about 2.3 is a just noticeable shift). RGB in [0,1]; a and b may differ in size; float
    per image, (N,) for batches of equal length."""
    from daguerre.imaging.colour import downscale

    x, single = as_tensor_batch(a)
    y, _ = as_tensor_batch(b)
    if x.shape[1] != 3 or y.shape[1] != 3:
        raise ValueError("colour_distance needs RGB images")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"colour_distance needs batches of equal length, got {x.shape[0]} and {y.shape[0]}")
    with torch.no_grad():
        values = lab_sliced_wasserstein(downscale(x, COLOUR_SIDE), downscale(y, COLOUR_SIDE))
    return per_image(values.double().numpy(), single)
