"""Distribution metrics on Inception features: FID (Heusel et al. 2017) and KID (Binkowski et al. 2018)."""

from __future__ import annotations

import numpy as np
import scipy.linalg


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians N(mu1, sigma1) and N(mu2, sigma2), via scipy.linalg.sqrtm."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():  # singular product: regularize, as pytorch-fid does
        offset = np.eye(len(sigma1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def _fid_low_rank(a: np.ndarray, b: np.ndarray) -> float:
    """Exact FID when there are fewer samples than dimensions: tr sqrt(S1 S2) = nuclear norm of A'B'^T."""
    ac = (a - a.mean(0)) / np.sqrt(len(a) - 1)
    bc = (b - b.mean(0)) / np.sqrt(len(b) - 1)
    diff = a.mean(0) - b.mean(0)
    cross = np.linalg.svd(ac @ bc.T, compute_uv=False).sum()
    return float(diff @ diff + (ac * ac).sum() + (bc * bc).sum() - 2.0 * cross)


def fid(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """FID between two feature sets (N, D), e.g. from `inception_features`; needs N >= 2 in each.

    Below D samples the exact low-rank identity is used (fast, no sqrtm); otherwise `frechet_distance`.
    """
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if min(len(a), len(b)) < 2:
        raise ValueError("fid needs at least two feature vectors in each set")
    if max(len(a), len(b)) <= a.shape[1]:
        return _fid_low_rank(a, b)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def kid(feats_a: np.ndarray, feats_b: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000,
        seed: int = 0) -> float:
    """KID: unbiased MMD^2 with the cubic polynomial kernel (x.y/d + 1)^3, averaged over random subsets.

    Same estimator as StyleGAN2-ADA / clean-fid; can be slightly negative for matching distributions.
    """
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    d = a.shape[1]
    m = min(len(a), len(b), max_subset_size)
    if m < 2:
        raise ValueError("kid needs at least two feature vectors in each set")
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = b[rng.choice(len(b), m, replace=False)]
        y = a[rng.choice(len(a), m, replace=False)]
        k = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        cross = (x @ y.T / d + 1) ** 3
        total += (k.sum() - np.diag(k).sum()) / (m - 1) - cross.sum() * 2 / m
    return float(total / num_subsets / m)
