"""The one tiler every operation uses for large pictures: overlapping tiles, blended seams, bounded memory.

The image is padded once (reflection; edge replication where a side is too short to reflect) to a multiple of
``multiple`` and at least ``2 * multiple`` a side, so a 1x1 picture or a 1-pixel strip reaches the deepest layer of
a network as 2x2 and is cropped back after; tiles are multiples of ``multiple`` in
size and position, so each tile sees the same padding as the whole image would. Each tile's output is
weighted by a separable ramp over the overlap that is zero for the first quarter of the overlap: pixels next
to a tile's cut edge (where a network lacks context) never reach the result, and in between the ramps of
neighbouring tiles sum to one. A network whose receptive field radius is at most ``overlap // 4`` therefore
gives the same result tiled as whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

TileFn = Callable[[torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]


def tile_count(h: int, w: int, tile: int = 512, overlap: int = 32, multiple: int = 8) -> int:
    """Number of tiles ``run_tiled`` uses for an h x w image (1 if it fits in one tile)."""
    if h <= tile and w <= tile:
        return 1
    return len(_starts(h, tile, overlap, multiple)) * len(_starts(w, tile, overlap, multiple))


def run_tiled(fn: TileFn, x: torch.Tensor, *, tile: int = 512, overlap: int = 32, scale: int = 1,
              multiple: int = 8, progress: Progress | None = None) -> torch.Tensor:
    """Apply ``fn`` ((1,C,h,w) -> (1,C',h*scale,w*scale)) to ``x`` (1,C,H,W), tile by tile if it is large.

    Returns (1,C',H*scale,W*scale). Only one tile's activations exist at a time; the output and a one-channel
    weight map are accumulated in place. ``progress(done, total)`` is called after each tile.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected a (1,C,H,W) tensor, got shape {tuple(x.shape)}")
    if multiple < 1 or not 0 <= overlap < tile // 2 or tile // multiple <= math.ceil(overlap / multiple):
        raise ValueError(f"need 0 <= overlap < tile/2 and tile a few multiples of `multiple` (tile={tile}, "
                         f"overlap={overlap}, multiple={multiple})")
    h, w = x.shape[-2:]
    xp = pad_to_fit(x, multiple)
    with torch.inference_mode():
        if h <= tile and w <= tile:
            y = _run(fn, xp, scale)
            if progress:
                progress(1, 1)
            return y[..., : h * scale, : w * scale]
        ys = _starts(xp.shape[-2], tile, overlap, multiple)
        xs = _starts(xp.shape[-1], tile, overlap, multiple)
        tile_px = tile // multiple * multiple
        th, tw = min(tile_px, xp.shape[-2]), min(tile_px, xp.shape[-1])
        out = weight = None
        total, done = len(ys) * len(xs), 0
        for i, y0 in enumerate(ys):
            wy = _ramp(th * scale, overlap * scale, i > 0, i < len(ys) - 1, x.device)
            for j, x0 in enumerate(xs):
                wx = _ramp(tw * scale, overlap * scale, j > 0, j < len(xs) - 1, x.device)
                y = _run(fn, xp[..., y0 : y0 + th, x0 : x0 + tw], scale)
                if out is None:
                    size = (xp.shape[-2] * scale, xp.shape[-1] * scale)
                    out = torch.zeros((1, y.shape[1], *size), dtype=torch.float32, device=y.device)
                    weight = torch.zeros((1, 1, *size), dtype=torch.float32, device=y.device)
                tw2d = (wy[:, None] * wx[None, :]).to(y.device)
                region = (..., slice(y0 * scale, (y0 + th) * scale), slice(x0 * scale, (x0 + tw) * scale))
                out[region].add_(y.float() * tw2d)
                weight[region].add_(tw2d)
                done += 1
                if progress:
                    progress(done, total)
        out.div_(weight)
        return out[..., : h * scale, : w * scale]


def _run(fn: TileFn, t: torch.Tensor, scale: int) -> torch.Tensor:
    y = fn(t)
    expected = (t.shape[-2] * scale, t.shape[-1] * scale)
    if y.dim() != 4 or tuple(y.shape[-2:]) != expected:
        raise ValueError(f"fn returned shape {tuple(y.shape)} for input {tuple(t.shape)}; expected (1,C,"
                         f"{expected[0]},{expected[1]}) for scale={scale}")
    return y


def pad_to_fit(x: torch.Tensor, multiple: int = 8, min_side: int | None = None) -> torch.Tensor:
    """Pad (...,H,W) bottom/right so each side is a multiple of ``multiple`` and at least ``min_side`` (default
    ``2 * multiple``: a network that divides by ``multiple`` still has 2 pixels to reflect at its deepest).

    Each side is reflected where it is long enough, else its edge is replicated (a 1-pixel strip)."""
    min_side = 2 * multiple if min_side is None else min_side
    h, w = x.shape[-2:]
    ph = math.ceil(max(h, min_side) / multiple) * multiple - h
    pw = math.ceil(max(w, min_side) / multiple) * multiple - w
    if pw:
        x = F.pad(x, (0, pw, 0, 0), mode="reflect" if pw < w else "replicate")
    if ph:
        x = F.pad(x, (0, 0, 0, ph), mode="reflect" if ph < h else "replicate")
    return x


def _starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    """Evenly spread tile origins (multiples of ``multiple``) covering ``length``, >= ``overlap`` shared."""
    units, tile_u = math.ceil(length / multiple), tile // multiple
    if units <= tile_u:
        return [0]
    overlap_u = math.ceil(overlap / multiple)
    n = math.ceil((units - overlap_u) / (tile_u - overlap_u))
    last = units - tile_u
    return [(i * last // (n - 1)) * multiple for i in range(n)]


def _ramp(n: int, overlap: int, rise: bool, fall: bool, device: torch.device) -> torch.Tensor:
    """1-D weight: at each cut edge, zero for overlap//4, then linear to one across the overlap's middle."""
    w = torch.ones(n, dtype=torch.float32, device=device)
    if overlap == 0:
        return w
    margin = overlap // 4
    i = torch.arange(overlap, dtype=torch.float32, device=device)
    r = ((i - margin + 0.5) / (overlap - 2 * margin)).clamp(0, 1)
    if rise:
        w[:overlap] *= r
    if fall:
        w[n - overlap :] *= r.flip(0)
    return w
