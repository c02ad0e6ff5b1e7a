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

BLOCK = 16384  # full-size pixels weighed at a time (x 16 neighbours x 4 bytes: 1 MB)


def source_positions(low: int, high: int, start: int, stop: int) -> torch.Tensor:
    """Low-resolution coordinates of high-resolution pixel centres start..stop-1 (as align_corners=False)."""
    return (torch.arange(start, min(stop, high), dtype=torch.float32) + 0.5) * low / high - 0.5


def joint_bilateral_rows(low: torch.Tensor, low_guide: torch.Tensor, guide_rows: torch.Tensor, rows: slice,
                         full: tuple[int, int], sigma_s: float = 0.5, sigma_r: float = 0.05) -> torch.Tensor:
    """Rows `rows` of `low` (1,C,h,w) upsampled to `full` (H, W); low_guide (1,1,h,w) is the guide at low size and
    guide_rows (1,1,len(rows),W) those rows of the full-size guide. Where every neighbour's lightness is far off,
    the spatial weights alone decide (as bilinear-like smoothing).

    The rows sharing the same 4 low-resolution rows are done together, a block of about `BLOCK` pixels at a time,
    so the 16 neighbours' guide values and colours are gathered per column only and the temporaries stay in cache.
    """
    h, w = low.shape[-2:]
    channels = low.shape[1]
    uy, ux = source_positions(h, full[0], rows.start, rows.stop), source_positions(w, full[1], 0, full[1])
    by, bx = uy.floor().long(), ux.floor().long()
    offsets = torch.arange(-1, 3)
    wy = torch.exp(-(((uy - by)[None] - offsets[:, None]) ** 2) / (2 * sigma_s**2))  # (4, rows)
    wx = torch.exp(-(((ux - bx)[None] - offsets[:, None]) ** 2) / (2 * sigma_s**2))  # (4, W)
    qx = (bx[None] + offsets[:, None]).clamp(0, w - 1)  # (4, W): the neighbours' columns
    # exp(-d^2 / 2 sigma_r^2) as exp2 (several times faster in torch), floored far below the 1e-6 added to it
    scale = -1.4426950408889634 / (2 * sigma_r**2)
    out = torch.empty(1, channels, len(uy), full[1])
    values, counts = torch.unique_consecutive(by, return_counts=True)
    r0 = 0
    for row, n in zip(values.tolist(), counts.tolist(), strict=True):
        qy = (row + offsets).clamp(0, h - 1)
        guide_y, low_y = low_guide[0, 0, qy], low[0][:, qy]  # (4, w), (C, 4, w)
        step = max(64, BLOCK // n)
        for c0 in range(0, full[1], step):
            cols = slice(c0, c0 + step)
            q = qx[:, cols]
            spatial = (wy[:, None, r0 : r0 + n, None] * wx[None, :, None, cols]).reshape(16, n, -1)
            weight = guide_rows[0, 0, r0 : r0 + n, cols][None] - guide_y[:, q].reshape(16, 1, -1)
            weight.square_().mul_(scale).clamp_(min=-100).exp2_().add_(1e-6).mul_(spatial)
            num = (weight[None] * low_y[:, :, q].reshape(channels, 16, 1, -1)).sum(1)
            out[0, :, r0 : r0 + n, cols] = num / weight.sum(0)
        r0 += n
    return out


def joint_bilateral_upsample(low: torch.Tensor, low_guide: torch.Tensor, guide: torch.Tensor,
                             sigma_s: float = 0.5, sigma_r: float = 0.05) -> torch.Tensor:
    """`low` (1,C,h,w) brought to `guide`'s size (1,1,H,W) following its edges (low_guide: the guide at h x w)."""
    size = tuple(guide.shape[-2:])
    return joint_bilateral_rows(low, low_guide, guide, slice(0, size[0]), size, sigma_s, sigma_r)
