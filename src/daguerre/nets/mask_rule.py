"""A rule that drops the damage mask's false alarms: specular highlights and busy texture (issue 17).

The mask predictor fires on things that look like damage to its cues: the glint on a spoon, the bright rim of a
cup, stamens, grass blades. Restoring a clean photo then inpaints them away. Three things about a piece of the
mask tell damage from them on training photos:

- `peak`, its highest probability: damage fires the predictor firmly, texture hesitantly;
- `busy`, the standard deviation of the luminance around it (unmasked pixels 4-6 px out): the false alarms
  cluster in busy texture, while damage lies over smooth and textured areas alike;
- `grade`, where the ring just outside it (unmasked pixels within 2 px) lies between it and its surroundings: 0
  for the sharp edge of something drawn over the picture, about 0.5 for a highlight its surroundings grade into.

Components (probability > 0.5, 8-connected) are judged in pieces, one per 16 px cell, so a long scratch is judged
by its own neighbourhood along its length. A piece scoring ``WEIGHTS . (peak, busy, grade)`` below `threshold` is
dropped (its pixels and a 2 px margin, unless a kept piece holds them). The weights are a logistic regression of
damaged against undamaged pixels of the pieces on training photos, clean and aged by `imaging.aging.age`
(`benchmarks/mask_rule_fit.py`): peak and busy carry it, grade weighs little (highlights are thin or confident
as often as not). The threshold is a sweep of the whole restoration on training photos (`benchmarks/
damage_mask.py --rules`). Never the held-out photos.

The shape rule (`filter_mask(..., rgb=)`, a card's `mask_shape`) scores a piece by `SHAPE` too: a dust speck or
scratch contrasts one way with all its surroundings (`enclosed`: the share of the surroundings it stands out from
by half its contrast; a sliver along an object's edge stands out from half), is neutral (`chroma_in`, the mean
max-min of R, G, B inside; `chroma_around`, of the surroundings), stands alone (`others`: the share of the
NEAR px around it held by other components: a pattern of spots, dots on fabric, a butterfly's wing), and
`log_size` (log 1 + its pixels) and `contrast` (|its mean luminance - its surroundings'|). Its weights are the
same regression on the same training photos with their grey copies among the clean ones
(`benchmarks/mask_rule_fit.py --shape`). Tried 2026-12-01 at 4.8 (`benchmarks/mask_shape.py`), not shipped: held
out, its clean row did not improve (BENCHMARKS.md).

`filter_mask(prob, lum, threshold)`: (H,W) probability and luminance in [0,1] -> the probability with the dropped
pieces zeroed. Whole pictures only (a piece's surroundings can cross tiles): `ops.restore` runs it on the whole
mask.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

WEIGHTS = np.array([5.41, -8.41, -0.48], np.float32)  # score = WEIGHTS . (peak, busy, grade)
# the shape rule's: score = SHAPE_WEIGHTS . (peak, busy, grade, *SHAPE) (`benchmarks/mask_rule_fit.py --shape`)
SHAPE_WEIGHTS = np.array([7.730, -5.853, -0.439, 1.120, -5.134, 3.170, -1.977, -0.430, -0.224], np.float32)
NEAR = 16  # px around a piece where other components count (a pattern of spots, not a speck)
PIECE = 16  # px: components are judged in pieces (one per PIECE x PIECE cell), so a long scratch is judged locally
EIGHT = np.ones((3, 3), bool)
SHAPE = ("enclosed", "chroma_in", "chroma_around", "others", "log_size", "contrast")


def grown(mask: np.ndarray, size: int) -> np.ndarray:
    """A boolean mask grown by a size x size square (nothing beyond the border): scipy's binary dilation's
    result, by OpenCV (~30x faster on a piece's window: most of the rule's time at 480p was these)."""
    import cv2

    square = np.ones((size, size), np.uint8)
    return cv2.dilate(np.ascontiguousarray(mask).view(np.uint8), square).view(bool)


def component_features(prob: np.ndarray, lum: np.ndarray, rgb: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                                               np.ndarray]:
    """(labels of the mask's pieces (H,W), 0 outside; (n, 3) features (peak, busy, grade) of piece k at row k-1;
    with the picture's `rgb` (3,H,W), (n, 3 + len(SHAPE)) with `SHAPE`'s features after them).
    A piece is the part of a component (probability > 0.5, 8-connected) in one PIECE x PIECE cell. The ring just
    outside it is the unmasked pixels within 2 px; the surroundings, the unmasked pixels 4-6 px out."""
    mask = prob > 0.5
    components, _ = ndimage.label(mask, EIGHT)
    h, w = mask.shape
    cells = (np.arange(h)[:, None] // PIECE) * (w // PIECE + 1) + np.arange(w)[None] // PIECE
    _, labels = np.unique(np.where(mask, components * cells.size + cells + 1, 0), return_inverse=True)
    labels = labels.reshape(h, w)
    unmasked = ~grown(mask, 3)
    extra = rgb is not None
    default = [1, 0, 0] + ([1, 0, 0, 0, 0, 0] if extra else [])
    features = np.tile(np.float32(default), (labels.max(), 1))  # kept if it has no surroundings
    chroma = rgb.max(0) - rgb.min(0) if extra else None
    for k, box in enumerate(ndimage.find_objects(labels), 1):
        rows = slice(max(box[0].start - 6, 0), box[0].stop + 6)
        cols = slice(max(box[1].start - 6, 0), box[1].stop + 6)
        inside = labels[rows, cols] == k
        ring = grown(inside, 5) & ~mask[rows, cols]
        far = grown(inside, 13) & unmasked[rows, cols]
        far &= ~grown(inside, 7)
        if far.sum() < 4 or not ring.any():
            continue
        patch = lum[rows, cols]
        mean, around = patch[inside].mean(), patch[far].mean()
        contrast = mean - around
        grade = (patch[ring].mean() - around) / (contrast if abs(contrast) >= 1e-3 else 1e-3)
        features[k - 1, :3] = (prob[rows, cols][inside].max(), patch[far].std(), np.clip(grade, -3, 3))
        if extra:
            sign = 1.0 if contrast >= 0 else -1.0
            enclosed = (sign * (mean - patch[far]) > 0.5 * abs(contrast)).mean()
            c = chroma[rows, cols]
            near = (slice(max(box[0].start - NEAR, 0), box[0].stop + NEAR),
                    slice(max(box[1].start - NEAR, 0), box[1].stop + NEAR))
            own = components[rows, cols][inside][0]
            window = components[near]
            others = ((window > 0) & (window != own)).mean()
            features[k - 1, 3:] = (enclosed, c[inside].mean(), c[far].mean(), others, np.log1p(inside.sum()),
                                   abs(contrast))
    return labels, features


def filter_mask(prob: np.ndarray, lum: np.ndarray, threshold: float, rgb: np.ndarray | None = None) -> np.ndarray:
    """The probability with the pieces scoring below `threshold` zeroed (with a 2 px margin); with the picture's
    `rgb` (3,H,W) scored by the shape rule (`SHAPE_WEIGHTS`)."""
    labels, features = component_features(prob, lum, rgb)
    dropped = np.r_[False, features @ (WEIGHTS if rgb is None else SHAPE_WEIGHTS) < threshold][labels]
    if not dropped.any():
        return prob
    kept = (labels > 0) & ~dropped
    zero = grown(dropped, 5) & ~kept
    return np.where(zero, 0, prob).astype(prob.dtype)
