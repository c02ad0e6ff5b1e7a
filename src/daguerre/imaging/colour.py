"""Colour helpers shared by operations: luminance-only transfer, strength blending, matching a reference."""

from __future__ import annotations

from collections.abc import Sequence

import kornia.color as kc
import numpy as np
import torch

from daguerre.imaging.lab import in_parallel, row_strips, srgb_to_lab


def preserve_colour(original: torch.Tensor, stylized: torch.Tensor) -> torch.Tensor:
    """Keep the original's chroma (YCbCr) and take only the luminance of the stylized image."""
    y = kc.rgb_to_ycbcr(stylized)[:, :1]
    cbcr = kc.rgb_to_ycbcr(original)[:, 1:]
    return kc.ycbcr_to_rgb(torch.cat([y, cbcr], 1)).clamp(0, 1)


def blend(original: torch.Tensor, result: torch.Tensor, strength: float) -> torch.Tensor:
    """Linear mix: 0 gives the original, 1 the full result."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    return original + strength * (result - original)


def downscale(x: torch.Tensor, max_side: int) -> torch.Tensor:
    """Antialiased downscale so the longer side is at most `max_side` (multiple of 8)."""
    h, w = x.shape[-2:]
    s = min(1.0, max_side / max(h, w))
    nh, nw = max(8, round(h * s / 8) * 8), max(8, round(w * s / 8) * 8)
    if (nh, nw) == (h, w):
        return x
    return torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)


STATS_SIDE = 512  # Lab statistics are measured on pictures downscaled to this long side


def lab_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation (N,3,1,1) of the CIELAB values of RGB pictures x (N,3,H,W)."""
    lab = kc.rgb_to_lab(downscale(x.clamp(0, 1), STATS_SIDE))
    return lab.mean((2, 3), keepdim=True), lab.std((2, 3), keepdim=True)


def match_reference(x: torch.Tensor, reference: torch.Tensor | Sequence[torch.Tensor],
                    max_gain: float = 2.0) -> torch.Tensor:
    """x (N,3,H,W) with the tone and colour of `reference` (1,3,h,w), or of several pooled with equal weight: each
    CIELAB channel of x is shifted and scaled so its mean and deviation over the whole picture are the
    reference's (Reinhard et al. 2001, "Color transfer between images"). The scale is kept within
    [1 / max_gain, max_gain], so a reference of another subject cannot blow up a nearly flat channel. A grey
    reference guides the lightness only (it would drain the colour); with none in colour, x keeps its own a and b.
    The same per-channel map at every pixel: a tiled picture gets the map measured on the whole."""
    references = [reference] if isinstance(reference, torch.Tensor) else list(reference)
    mean, std = lab_statistics(x)
    stats = [(*lab_statistics(r), is_achromatic(r)) for r in references]
    ref_mean, ref_std = mean.clone(), std.clone()
    for channels, chosen in ((slice(0, 1), stats), (slice(1, 3), [s for s in stats if not s[2]])):
        if len(chosen) == 1:  # one reference: its own figures (a recipe of one re-derives to the bit)
            ref_mean[:, channels], ref_std[:, channels] = chosen[0][0][:, channels], chosen[0][1][:, channels]
        elif chosen:  # pooled: the mean of the means, the deviation of the union of equal-sized samples
            means = torch.stack([m[:, channels] for m, _, _ in chosen])
            second = torch.stack([d[:, channels] ** 2 + m[:, channels] ** 2 for m, d, _ in chosen]).mean(0)
            ref_mean[:, channels] = means.mean(0)
            ref_std[:, channels] = (second - ref_mean[:, channels] ** 2).clamp_min(0).sqrt()
    gain = (ref_std / std.clamp(min=1e-3)).clamp(1 / max_gain, max_gain)
    lab = kc.rgb_to_lab(x.clamp(0, 1))
    return kc.lab_to_rgb((lab - mean) * gain + ref_mean, clip=True)


ACHROMATIC = 2.0  # a picture whose every position's chroma (CIELAB, at STATS_SIDE) is below this is grey


def is_achromatic(x: torch.Tensor) -> bool:
    """Whether the RGB picture x (1,3,H,W) is grey: no position's CIELAB chroma reaches `ACHROMATIC`."""
    lab = kc.rgb_to_lab(downscale(x.clamp(0, 1), STATS_SIDE))
    return float(lab[:, 1:].norm(dim=1).amax()) < ACHROMATIC


TONE_SIDE, TONE_BINS = 256, 24  # `colour_beyond_tone` measures at this long side, in this many bands of lightness
# a picture above this has colours that a monochrome print's toning, stains and JPEG noise do not give
# (benchmarks/colour_photo_note.py, validation: 189 toned, damaged or aged prints as JPEG at most 6.9; 16 of 21
# colour photos over it, median 19.5: a missed one only goes unnoted, a noted print would mislead)
TONED = 12.0


def colour_beyond_tone(x: torch.Tensor) -> float:
    """How far x's (1,3,H,W) colours stray from one tone per lightness: the 90th percentile of each position's
    CIELAB ab distance from the median ab of the positions of its lightness. A toned print (sepia, cyanotype,
    selenium: one colour for each grey level) gives a few units; a colour photo, even of one warm hue, tens."""
    lab = kc.rgb_to_lab(downscale(x.clamp(0, 1), TONE_SIDE))[0].flatten(1)
    bands = (lab[0] * (TONE_BINS / 100)).long().clamp(0, TONE_BINS - 1)
    stray = torch.empty_like(lab[0])
    for band in bands.unique():
        at = bands == band
        ab = lab[1:, at]
        stray[at] = (ab - ab.median(1, keepdim=True).values).norm(dim=0)
    return float(stray.quantile(0.9))


def lab_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (3,) and covariance (3,3), float64, of the CIELAB pixels of x (1,3,H,W) RGB in [0,1]."""
    return _moments(kc.rgb_to_lab(x.clamp(0, 1)))


def _moments(lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = lab[0].flatten(1).double()
    mean = flat.mean(1)
    centred = flat - mean[:, None]
    return mean, centred @ centred.T / centred.shape[1]


def _sqrtm(c: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(c)
    return vectors @ torch.diag(values.clamp_min(1e-6).sqrt()) @ vectors.T


def match_palette(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """x (1,3,H,W) with its CIELAB pixels moved by the linear map that gives them `mean` and covariance `cov` while
    moving them least (the Monge-Kantorovich linear colour transfer, Pitie & Kokaram 2007); out of gamut clipped."""
    out = palette_map(srgb_to_lab(x[0].permute(1, 2, 0).numpy()), mean, cov)
    return torch.from_numpy(out).permute(2, 0, 1)[None].to(x.dtype)


def palette_matrix(lab: np.ndarray, mean: torch.Tensor, cov: torch.Tensor) -> np.ndarray:
    """The (3,4) affine map of `match_palette` for (H,W,3) Lab pixels (`cv2.transform`'s form), from their moments
    measured on a quarter of them."""
    own_mean, own_cov = _moments(torch.from_numpy(lab[::2, ::2]).permute(2, 0, 1)[None])
    root = _sqrtm(own_cov)
    inverse_root = torch.linalg.inv(root)
    transfer = inverse_root @ _sqrtm(root @ cov @ root) @ inverse_root
    shift = mean - transfer @ own_mean  # y = T (x - own_mean) + mean = T x + shift
    return torch.cat([transfer, shift[:, None]], 1).numpy()


def palette_map(lab: np.ndarray, mean: torch.Tensor, cov: torch.Tensor) -> np.ndarray:
    """`match_palette` of (H,W,3) Lab pixels: (H,W,3) RGB in [0,1], float32. The picture's own moments are
    measured on a quarter of its pixels (`palette_matrix`); back from Lab in OpenCV (9x kornia's speed on CPU,
    within 0.22/255)."""
    import cv2

    matrix = palette_matrix(lab, mean, cov)
    out = np.empty(lab.shape, np.float32)

    def move(rows: slice) -> None:  # OpenCV's Lab -> RGB clips to [0, 1]
        out[rows] = cv2.cvtColor(cv2.transform(lab[rows], matrix), cv2.COLOR_Lab2RGB)

    in_parallel(move, row_strips(lab.shape))
    return out
