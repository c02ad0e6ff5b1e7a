"""Chooses the checkpoint of restore's stains fine-tune (issue 17, `recipes/restore-stains.toml`) on `validation`.

    PYTHONPATH=src python benchmarks/restore_stains.py --threads 1 runs/stains/step_3040 runs/stains/step_3140 ...

Each model folder (card + weights) and the shipped model restore (`RestoreNet.restore`, the card's steps) the
`validation` photos (not trained on by the fine-tune; held-out photos are never used) at --size px in four sets:
`stained` (`age`'s stains, silvering or both, by photo, strength 0.5-1), `clean`, `aged` (`age` at 0.8, two
seeds a photo) and `fade` (fade + yellowing at 0.8: restore's first job). Prints PSNR and LPIPS per set, paired
against the shipped model (± s.e.), and writes results/restore_stains.json and a grid of the first --grid stained
cases (columns: input, each model, truth) to results/restore_stains_grid.jpg. (The 2026-11-30 runs' JSONs are kept
as restore_stains_tone_gan.json and restore_stains_gan.json: the recipe, and it without the ToneNet steps.)

The rule, fixed before the fine-tune ran: a candidate is eligible if on `aged` and on `fade` it loses at most 0.1 dB
PSNR and 0.005 LPIPS against the shipped model, and on `clean` at most 0.1 dB; of those, the one with the lowest
mean LPIPS on `stained` is chosen (none eligible: none chosen, nothing measured held-out).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _common import RESULTS, base_parser, print_header, set_threads
from restoration import AGING_STRENGTH, luma3, square_photo

STAINED = (["stains"], ["silvering"], ["stains", "silvering"])
LIMITS = {"aged": (0.1, 0.005), "fade": (0.1, 0.005), "clean": (0.1, float("inf"))}  # dB lost, LPIPS gained


def validation_sets(size: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(input, truth) per case of each set."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age

    sets: dict[str, list] = {"stained": [], "clean": [], "aged": [], "fade": []}
    for i, path in enumerate(photos("validation", graphics=False)):
        clean = square_photo(path, size)
        cases = [("stained", 5000 + i, 0.5 + 0.5 * ((i * 7) % 10) / 10, STAINED[i % 3]),
                 ("aged", 6000 + i, AGING_STRENGTH, None), ("aged", 7000 + i, AGING_STRENGTH, None),
                 ("fade", 8000 + i, AGING_STRENGTH, ["fade", "yellowing"])]
        for name, seed, strength, effects in cases:
            aged = age(clean, seed=seed, strength=strength, effects=effects)
            truth = luma3(clean) if is_monochrome(aged.params) else clean
            sets[name].append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), truth))
        sets["clean"].append((clean, clean))
    return sets


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="model folders (a restore card and its weights)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    parser.add_argument("--grid", type=int, default=6, help="stained cases in the grid (default 6)")
    args = parser.parse_args()
    set_threads(args.threads)
    print_header("restore stains fine-tune: checkpoints on validation", args)
    from daguerre.metrics import lpips, psnr
    from daguerre.models.card import ModelCard
    from daguerre.models.registry import build
    from daguerre.ops.task_models import task_model

    nets = {"shipped": task_model("restore", None)[1]}
    for folder in args.models:
        nets[folder.name] = build(ModelCard.load(next(folder.glob("*.json")))).eval()
    sets = validation_sets(args.size)
    scores: dict[str, dict[str, list[tuple[float, float]]]] = {}
    grid: list[list[np.ndarray]] = []
    for set_name, cases in sets.items():
        for i, (x, truth) in enumerate(cases):
            photo = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
            row = [x]
            for label, net in nets.items():
                with torch.inference_mode():
                    out = np.clip(net.restore(photo)[0].numpy(), 0, 1).astype(np.float32)
                scores.setdefault(set_name, {}).setdefault(label, []).append((psnr(out, truth), lpips(out, truth)))
                row.append(out)
            if set_name == "stained" and i < args.grid:
                grid.append([*row, truth])
    summary: dict[str, dict] = {}
    for set_name, by_model in scores.items():
        print(f"\n{set_name} ({len(sets[set_name])} cases): PSNR / LPIPS, paired against shipped (± s.e.)")
        base = np.array(by_model["shipped"])
        for label, rows in by_model.items():
            a = np.array(rows)
            d = a - base
            se = d.std(0) / np.sqrt(len(d))
            summary.setdefault(label, {})[set_name] = {"psnr": a[:, 0].mean(), "lpips": a[:, 1].mean(),
                                                       "d_psnr": d[:, 0].mean(), "d_lpips": d[:, 1].mean()}
            print(f"  {label:16s} {a[:, 0].mean():6.2f} ({d[:, 0].mean():+.2f} ± {se[0]:.2f})  "
                  f"{a[:, 1].mean():.4f} ({d[:, 1].mean():+.4f} ± {se[1]:.4f})", flush=True)
    eligible = [m for m in summary if m != "shipped" and all(
        -summary[m][s]["d_psnr"] <= db and summary[m][s]["d_lpips"] <= lp for s, (db, lp) in LIMITS.items())]
    chosen = min(eligible, key=lambda m: summary[m]["stained"]["lpips"]) if eligible else None
    print(f"\neligible: {eligible or 'none'}; chosen: {chosen or 'none'}")
    RESULTS.mkdir(exist_ok=True)
    picture = np.concatenate([np.concatenate(row, 2) for row in grid], 1)
    Image.fromarray((np.moveaxis(picture, 0, -1) * 255).round().astype(np.uint8)).save(
        RESULTS / "restore_stains_grid.jpg", quality=90)
    (RESULTS / "restore_stains.json").write_text(json.dumps(
        {"summary": summary, "eligible": eligible, "chosen": chosen}, indent=2, default=float))


if __name__ == "__main__":
    main()
