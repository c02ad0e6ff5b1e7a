"""Running an instance-normalised feed-forward generator (StyleNet, RetroNet) over a picture of any size.

A picture that fits in one tile runs whole in one pass (ONNX Runtime when asked for or available). A larger
one goes through the shared tiler with every tile normalised by the statistics of the whole picture
(`global_statistics`), so the tiles of one picture match and the seams vanish. Up to `STATS_SIZE` those are
the statistics of the picture padded as the tiler pads it, exactly those of a whole pass; above it, of the
picture downscaled to `STATS_SIZE`. What is left is the receptive field reaching past a tile's cut: measured
on a 600x400 photo in 256 px tiles with overlap 96 and random weights, at most 1.6/255 for RetroNet (mean
0.004/255) and 6.2/255 for StyleNet (mean 0.06/255).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from daguerre.imaging import pad_to_fit, run_tiled
from daguerre.imaging.colour import downscale
from daguerre.nets.style_net import WholeImageStatistics
from daguerre.ops.base import Progress

STATS_SIZE = 1024  # tiles share the statistics of the whole image seen at this size
TILE_OVERLAP = 96  # measured: max seam difference 2.3/255 on a 600x400 photo cut into 256 px tiles
ENGINES = ("auto", "onnx", "torch")

TileFn = Callable[[torch.Tensor], torch.Tensor]


def run_feedforward(
    net: WholeImageStatistics,
    x: torch.Tensor,
    *,
    tile: int = 1024,
    engine: str = "auto",
    onnx: Callable[[], TileFn | None] | None = None,
    progress: Progress | None = None,
) -> torch.Tensor:
    """`net` over x (1,3,H,W). `onnx()` gives the ONNX Runtime version of `net` (None without onnxruntime);
    it is asked for only when the picture runs whole and `engine` is auto or onnx."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (use {', '.join(ENGINES)})")
    h, w = x.shape[-2:]
    if max(h, w) <= tile:
        session = onnx() if onnx is not None and engine in ("auto", "onnx") else None
        if engine == "onnx" and session is None:
            raise RuntimeError("engine 'onnx' asked for but onnxruntime is not installed")
        return run_tiled(session or net.for_inference(), x, tile=tile, progress=progress)
    if max(h, w) <= STATS_SIZE:  # the statistics of exactly what a whole pass sees: tiled equals whole
        whole = pad_to_fit(x)
    else:
        whole = pad_to_fit(downscale(x, STATS_SIZE))
    # the same numbers, ~1.6x faster in torch; a copy, since the whole picture's statistics are set on its norm
    # layers for the run, and the cached `net` may be running another picture in another thread (a web preview)
    fast = copy.deepcopy(net).for_inference()
    with fast.global_statistics(whole):
        return run_tiled(fast, x, tile=tile, overlap=TILE_OVERLAP, progress=progress)
