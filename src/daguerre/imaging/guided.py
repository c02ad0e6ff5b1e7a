"""Edge-aware upsampling of a low-resolution map guided by a full-resolution grey image.

Joint bilateral upsampling (Kopf et al. 2007): each full-resolution pixel averages the 4 x 4 nearest low-resolution
values, weighted by a Gaussian in distance (`sigma_s`, low-resolution pixels) times a Gaussian in the difference
between its own lightness and theirs (`sigma_r`, guide units), so a colour stops at the edges of the guide instead
of bleeding across them. It works a band of rows at a time (`rows`): a 24 MP picture never holds a full-size copy.
(A fast guided filter was tried first: its box filters blurred the chroma more than its edges sharpened it,
BENCHMARKS.md.)
"""

from __future__ import annotations

import torch


def source_positions(low: int, high: int, start: int, stop: int) -> torch.Tensor:
    """Low-resolution coordinates of high-resolution pixel centres start..stop-1 (as align_corners=False)."""
    return (torch.arange(start, min(stop, high), dtype=torch.float32) + 0.5) * low / high - 0.5


def joint_bilateral_rows(low: torch.Tensor, low_guide: torch.Tensor, guide_rows: torch.Tensor, rows: slice,
                         full: tuple[int, int], sigma_s: float = 0.5, sigma_r: float = 0.05) -> torch.Tensor:
    """Rows `rows` of `low` (1,C,h,w) upsampled to `full` (H, W); low_guide (1,1,h,w) is the guide at low size and
    guide_rows (1,1,len(rows),W) those rows of the full-size guide. Where every neighbour's lightness is far off,
    the spatial weights alone decide (as bilinear-like smoothing)."""
    h, w = low.shape[-2:]
    uy, ux = source_positions(h, full[0], rows.start, rows.stop), source_positions(w, full[1], 0, full[1])
    by, bx = uy.floor().long(), ux.floor().long()
    num = torch.zeros(1, low.shape[1], len(uy), full[1])
    den = torch.zeros(1, 1, len(uy), full[1])
    for oy in (-1, 0, 1, 2):
        qy = (by + oy).clamp(0, h - 1)
        wy = torch.exp(-((uy - by - oy) ** 2) / (2 * sigma_s**2))
        low_r, guide_r = low[:, :, qy], low_guide[:, :, qy]
        for ox in (-1, 0, 1, 2):
            qx = (bx + ox).clamp(0, w - 1)
            spatial = wy[:, None] * torch.exp(-((ux - bx - ox) ** 2) / (2 * sigma_s**2))[None]
            weight = spatial * (torch.exp(-((guide_rows - guide_r[:, :, :, qx]) ** 2) / (2 * sigma_r**2)) + 1e-6)
            num += weight * low_r[:, :, :, qx]
            den += weight
    return num / den


def joint_bilateral_upsample(low: torch.Tensor, low_guide: torch.Tensor, guide: torch.Tensor,
                             sigma_s: float = 0.5, sigma_r: float = 0.05) -> torch.Tensor:
    """`low` (1,C,h,w) brought to `guide`'s size (1,1,H,W) following its edges (low_guide: the guide at h x w)."""
    size = tuple(guide.shape[-2:])
    return joint_bilateral_rows(low, low_guide, guide, slice(0, size[0]), size, sigma_s, sigma_r)
