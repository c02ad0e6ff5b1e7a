"""Full-reference colour metric: how far a colorized picture's chroma is from the true colours."""

from __future__ import annotations

import numpy as np

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
