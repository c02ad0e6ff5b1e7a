"""Metrics written into a model card, measured on held-out photos the model never saw."""

from __future__ import annotations

import time

import numpy as np
import torch

from daguerre import metrics
from daguerre.data import sources
from daguerre.imaging import load
from daguerre.imaging.colour import downscale
from daguerre.models.card import ModelCard

N_PHOTOS = 6
SIZE = 256


def heldout_photos(n: int = N_PHOTOS, size: int = SIZE) -> list[torch.Tensor]:
    sources.require_photo_sources("measuring a model on the held-out photos")
    return [downscale(torch.from_numpy(load(p).rgb())[None], size) for p in sources.photos("heldout")[:n]]


def style_metrics(card: ModelCard, net: torch.nn.Module, painting: torch.Tensor,
                  photos: list[torch.Tensor], prefix: str = "heldout") -> dict[str, float]:
    """Style distance (VGG19 Gram) to the painting, relative to the photo's own; content LPIPS; speed."""
    ratios, lp = [], []
    p = painting[0].numpy()
    with torch.inference_mode():
        for x in photos:
            h, w = x.shape[-2:]
            xp = torch.nn.functional.pad(x, (0, (-w) % 8, 0, (-h) % 8), mode="reflect")
            y = net(xp)[..., :h, :w]
            ratios.append(metrics.style_distance(y[0].numpy(), p) / metrics.style_distance(x[0].numpy(), p))
            lp.append(float(metrics.lpips(y[0].numpy(), x[0].numpy())))
        z = torch.rand(1, 3, 512, 512)
        net(z)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            net(z)
            times.append(time.perf_counter() - t0)
    return {
        f"{prefix}_style_distance_ratio": round(float(np.mean(ratios)), 4),
        f"{prefix}_content_lpips": round(float(np.mean(lp)), 4),
        f"ms_512px_torch_{torch.get_num_threads()}threads": round(float(np.median(times)) * 1000, 1),
        f"{prefix}_photos": len(photos),
    }
