"""Temporal stability of a processed video."""

from __future__ import annotations

import numpy as np

from daguerre.metrics._arrays import ImageLike, as_batch


def temporal_error(
    frames: ImageLike, warped: ImageLike | None = None, mask: ImageLike | None = None
) -> float:
    """Mean absolute difference between consecutive output frames (T, C, H, W).

    `warped` (T-1, C, H, W): frame t motion-compensated onto frame t+1 (e.g. by optical flow); defaults to
    frames[:-1] (no compensation). `mask` (T-1, 1 or C, H, W): 1 where the comparison is valid (non-occluded).
    """
    f, _ = as_batch(frames)
    if len(f) < 2:
        raise ValueError("temporal_error needs at least two frames")
    prev = f[:-1] if warped is None else as_batch(warped)[0]
    if prev.shape != f[1:].shape:
        raise ValueError(f"warped frames must be shaped {f[1:].shape}, got {prev.shape}")
    err = np.abs(f[1:] - prev)
    if mask is None:
        return float(err.mean())
    m = np.broadcast_to(as_batch(mask)[0], err.shape)
    return float((err * m).sum() / max(m.sum(), 1e-12))


def warping_error(
    frames: ImageLike, warped: ImageLike, mask: ImageLike | None = None
) -> float:
    """Lai et al. 2018 warping error: mean over t of the mean squared difference (averaged over channels) between
    output frame t+1 and output frame t warped onto it by the input's optical flow, on non-occluded pixels.

    `frames` (T, C, H, W) in [0, 1]; `warped` (T-1, C, H, W); `mask` (T-1, 1, H, W): 1 where valid. Pairs across a
    scene cut are left out by giving them an all-zero mask.
    """
    f, _ = as_batch(frames)
    w, _ = as_batch(warped)
    if len(f) < 2 or w.shape != f[1:].shape:
        raise ValueError(f"warped frames must be shaped {f[1:].shape}, got {w.shape}")
    err = ((f[1:] - w) ** 2).mean(axis=1, keepdims=True)
    m = np.ones_like(err) if mask is None else np.broadcast_to(as_batch(mask)[0], err.shape)
    counts = m.sum(axis=(1, 2, 3))
    per_pair = (err * m).sum(axis=(1, 2, 3))[counts > 0] / counts[counts > 0]
    if not len(per_pair):
        raise ValueError("warping_error: no valid pixel in any pair of frames")
    return float(per_pair.mean())
