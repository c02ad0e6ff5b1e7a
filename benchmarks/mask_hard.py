"""The restore mask predictor fine-tuned on its own false alarms and on faint, tapering damage (issue 17,
`recipes/restore-mask-hard.toml`) against the shipped one, on `validation` photos only.

    PYTHONPATH=src python benchmarks/mask_hard.py --threads 1 --fit-sweep runs/cand-2600 runs/cand-2840
    PYTHONPATH=src python benchmarks/mask_hard.py --threads 1 --reuse SHIPPED.json --out mask_hard_b1.25 \
        runs/cand-2840-b1.25
    PYTHONPATH=src python benchmarks/mask_hard.py --threads 1 --look runs/cand-2840-b1.25

(`runs/cand-STEP`: the fine-tune's checkpoint at STEP exported with the shipped card's inference settings;
`-bB`: the same with the card's `mask_bias` B.)

Each model folder (card + weights) and the shipped model on the 21 `validation` photos at --size px (the
fine-tune trains on `fit`, which excludes them; held-out photos are never used here):
- mask on clean copies: each clean photo as is, and its grey, sepia (`age`'s yellowing) and faded (`age`'s fade)
  copies: % of pixels > 0.5 of the mask restore uses (`RestoreNet.damage_mask`, its rule applied). Every such
  pixel is a false alarm;
- mask and restore on damaged copies: `aged` (`age` at 0.8, seeds 6000 + i and 7000 + i: `restore_stains.py`'s
  aged set), `damaged` (scratches, dust, creases, fade, grain forced at 0.8, seed 1000 + i: `keep_detail.FORCED`)
  and `taper` (`age`'s own draw plus its tapering hairlines and faint specks, seed 9000 + i: the hard positives'
  family, for information): the mask's recall and precision at 0.5 (pixels pooled), the whole restore's PSNR and
  % of the input's error inside the true mask removed (mean over photos);
- the whole restore's PSNR / LPIPS on `restore_stains.py`'s `clean` and `stained` sets, paired against shipped.
Writes results/mask_hard_validation.json. `--fit-sweep`: the mask alone (no restore) of each model on the first
24 `fit` photos (which the fine-tune trained on: its clean false alarms there are its hard negatives, so only the
recall is fair) at the mask biases of --biases (the shipped model at its own): % of pixels > 0.5 on the clean
copies, recall at 0.5 on `aged` (seed i) and `damaged` (seed 1000 + i); the bias a fine-tuned mask needs to keep
the shipped recall is chosen here, not on `validation`. `--look FOLDER`: a PNG of the clean validation photos
(photo | shipped mask | the model's mask; red: > 0.5 as restore uses it, blue: > 0.5 before the rule but dropped by
it) to results/mask_hard_clean.png.

Ship rule (issue 17, written 2026-12-01 06:25 UTC before any run of this script; the training ran from 06:18):
1. `validation` (this script): a checkpoint is eligible if, against shipped,
   - its pixels > 0.5 on the clean copies (as is, grey, sepia, faded: pooled) are fewer, and on the as-is
     photos alone too (precision on clean pictures better);
   - its mask recall at 0.5 on `aged` and on `damaged` is not lower;
   - its mean LPIPS of the whole restore on `clean` and on `stained` is not higher;
   - its in-mask removal on `aged` and on `damaged` is at most 0.5 point lower and its PSNR at most 0.05 dB lower.
   Of the eligible, the one with the fewest pixels > 0.5 on the clean copies is chosen; none eligible: nothing is
   measured held-out and nothing ships.
2. Held-out once (`restoration.py --threads 1 --sections restore --restore-rows unseen,clean,aging`, `--models`
   the chosen card's folder, the shipped card re-run in the same hour): shipped only if the unseen damage's
   in-mask removal stays >= 60 %, its PSNR is not lower and its LPIPS not higher than shipped's, and the clean row
   is not worse (PSNR not lower, LPIPS not higher).
(Added 07:15, the rule unchanged: the candidates were checkpoints with a card `mask_bias`, since the fine-tuned
mask at bias 0 loses recall; `restoration.py`'s unseen damage row is `damage` (`unseen` is motion blur + noise),
so the held-out runs used `--restore-rows damage,unseen,clean,aging`.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _common import RESULTS, base_parser, print_header, set_threads
from keep_detail import FORCED
from restoration import AGING_STRENGTH, luma3, square_photo

COPIES = {"as is": None, "grey": ["grey"], "sepia": ["yellowing"], "faded": ["fade"]}
DAMAGED = {"aged": [(6000, None), (7000, None)], "damaged": [(1000, FORCED)], "taper": [(9000, "taper")]}
REMOVAL_LOSS, PSNR_LOSS = 0.5, 0.05  # the rule's limits: points of in-mask removal, dB


def as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]


def validation_cases(size: int) -> tuple[list[np.ndarray], dict[str, list], dict[str, list]]:
    """(clean photos; per copy name its pictures; per damaged set its (input, true mask, truth) cases)."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age, choose_effects

    cleans, copies, damaged = [], {name: [] for name in COPIES}, {name: [] for name in DAMAGED}
    for i, path in enumerate(photos("validation", graphics=False)):
        clean = square_photo(path, size)
        cleans.append(clean)
        for name, effects in COPIES.items():
            x = clean if effects is None else age(clean, seed=8500 + i, strength=AGING_STRENGTH, effects=effects).image
            copies[name].append(np.repeat(x, 3 // x.shape[0], 0))
        for name, draws in DAMAGED.items():
            for base, effects in draws:
                if effects == "taper":
                    effects = sorted({*choose_effects(base + i), "taper"})
                aged = age(clean, seed=base + i, strength=AGING_STRENGTH, effects=effects)
                truth = luma3(clean) if is_monochrome(aged.params) else clean
                damaged[name].append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), aged.mask, truth))
    return cleans, copies, damaged


def evaluate(net, copies: dict[str, list], damaged: dict[str, list], light: dict[str, list]) -> dict:
    from daguerre.metrics import lpips, psnr

    out: dict = {"clean_masked": {}, "damaged": {}, "light": {}}
    for name, pictures in copies.items():
        with torch.inference_mode():
            out["clean_masked"][name] = [100 * float((net.damage_mask(as_tensor(x)) > 0.5).float().mean())
                                         for x in pictures]
    for name, cases in damaged.items():
        tp = fp = fn = 0
        db, removed = [], []
        for x, mask, truth in cases:
            with torch.inference_mode():
                hit = net.damage_mask(as_tensor(x))[0, 0].numpy() > 0.5
                y = np.clip(net.restore(as_tensor(x))[0].numpy(), 0, 1)
            true = mask > 0.5
            tp, fp, fn = tp + (hit & true).sum(), fp + (hit & ~true).sum(), fn + (~hit & true).sum()
            db.append(psnr(y, truth))
            if true.any():
                removed.append(100 * (1 - np.abs(y - truth)[:, true].mean() / np.abs(x - truth)[:, true].mean()))
        out["damaged"][name] = {"recall": tp / max(tp + fn, 1), "precision": tp / max(tp + fp, 1),
                                "psnr": db, "removed": removed}
    for name, cases in light.items():
        rows = []
        for x, truth in cases:
            with torch.inference_mode():
                y = np.clip(net.restore(as_tensor(x))[0].numpy(), 0, 1).astype(np.float32)
            rows.append((psnr(y, truth), lpips(y, truth)))
        out["light"][name] = rows
    return out


def summary(results: dict[str, dict]) -> tuple[dict, list[str]]:
    base = results["shipped"]
    table, eligible = {}, []
    for label, r in results.items():
        pooled = float(np.mean([np.mean(v) for v in r["clean_masked"].values()]))
        row = {"clean_masked_pooled": pooled,
               "clean_masked": {k: float(np.mean(v)) for k, v in r["clean_masked"].items()}}
        checks = [pooled < np.mean([np.mean(v) for v in base["clean_masked"].values()]),
                  np.mean(r["clean_masked"]["as is"]) < np.mean(base["clean_masked"]["as is"])]
        for name, d in r["damaged"].items():
            b = base["damaged"][name]
            dp = np.array(d["psnr"]) - np.array(b["psnr"])
            dr = np.array(d["removed"]) - np.array(b["removed"])
            row[name] = {"recall": float(d["recall"]), "precision": float(d["precision"]),
                         "psnr": float(np.mean(d["psnr"])), "removed": float(np.mean(d["removed"])),
                         "d_psnr": float(dp.mean()), "se_psnr": float(dp.std() / np.sqrt(len(dp))),
                         "d_removed": float(dr.mean()), "se_removed": float(dr.std() / np.sqrt(len(dr)))}
            if name in ("aged", "damaged"):
                checks += [d["recall"] >= b["recall"], dr.mean() >= -REMOVAL_LOSS, dp.mean() >= -PSNR_LOSS]
        for name, rows in r["light"].items():
            a, d = np.array(rows), np.array(rows) - np.array(base["light"][name])
            row[name] = {"psnr": float(a[:, 0].mean()), "lpips": float(a[:, 1].mean()),
                         "d_psnr": float(d[:, 0].mean()), "d_lpips": float(d[:, 1].mean()),
                         "se_lpips": float(d[:, 1].std() / np.sqrt(len(d))),
                         "better_lpips": int((d[:, 1] < 0).sum()), "worse_lpips": int((d[:, 1] > 0).sum())}
            checks.append(d[:, 1].mean() <= 0)
        row["passes"] = [bool(c) for c in checks]
        table[label] = row
        if label != "shipped" and all(checks):
            eligible.append(label)
    return table, eligible


def print_table(table: dict) -> None:
    print("model | clean copies % masked: pooled (as is / grey / sepia / faded) | aged: recall / precision / PSNR / "
          "% removed | damaged: the same | taper: the same | clean: PSNR / LPIPS | stained: PSNR / LPIPS")
    for label, row in table.items():
        m = row["clean_masked"]
        parts = [f"{row['clean_masked_pooled']:.3f} ({m['as is']:.3f} / {m['grey']:.3f} / {m['sepia']:.3f} / "
                 f"{m['faded']:.3f})"]
        for name in DAMAGED:
            d = row[name]
            parts.append(f"{d['recall']:.3f} / {d['precision']:.3f} / {d['psnr']:.2f} ({d['d_psnr']:+.3f} ± "
                         f"{d['se_psnr']:.3f}) / {d['removed']:.1f} ({d['d_removed']:+.2f} ± {d['se_removed']:.2f})")
        for name in ("clean", "stained"):
            d = row[name]
            parts.append(f"{d['psnr']:.2f} ({d['d_psnr']:+.2f}) / {d['lpips']:.4f} ({d['d_lpips']:+.4f} ± "
                         f"{d['se_lpips']:.4f}; {d['better_lpips']} better, {d['worse_lpips']} worse)")
        print(f"{label} | " + " | ".join(parts) + f" | checks {row['passes']}", flush=True)


def fit_sweep(nets: dict, biases: list[float], n: int = 24, size: int = 256) -> None:
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age

    cleans, damaged = [], []
    for i, path in enumerate(photos("fit", graphics=False)[:n]):
        clean = square_photo(path, size)
        for effects in COPIES.values():
            x = clean if effects is None else age(clean, seed=8500 + i, strength=AGING_STRENGTH, effects=effects).image
            cleans.append(np.repeat(x, 3 // x.shape[0], 0))
        for name, seed, effects in (("aged", i, None), ("damaged", 1000 + i, FORCED)):
            aged = age(clean, seed=seed, strength=AGING_STRENGTH, effects=effects)
            damaged.append((name, np.repeat(aged.image, 3 // aged.image.shape[0], 0), aged.mask > 0.5))
    print(f"fit, {n} photos at {size} px: model | mask bias | clean copies % masked | recall aged | recall damaged")
    for label, net in nets.items():
        with torch.inference_mode():
            toned = [net.toned(as_tensor(x)) for x in cleans] + [net.toned(as_tensor(x)) for _, x, _ in damaged]
            logits = [net.damage.logits(t) for t in toned]
        for bias in [net.mask_bias] if label == "shipped" else biases:
            hits = [net.drop_false_alarms(torch.sigmoid(z + bias), t)[0, 0].numpy() > 0.5
                    for z, t in zip(logits, toned, strict=True)]
            masked = 100 * np.mean([h.mean() for h in hits[: len(cleans)]])
            recall = {}
            for (name, _, true), hit in zip(damaged, hits[len(cleans) :], strict=True):
                found, total = recall.get(name, (0, 0))
                recall[name] = (found + (hit & true).sum(), total + true.sum())
            print(f"{label} | {bias:.2f} | {masked:.3f} | {recall['aged'][0] / recall['aged'][1]:.3f} | "
                  f"{recall['damaged'][0] / recall['damaged'][1]:.3f}", flush=True)


def overlay(net, x: np.ndarray) -> np.ndarray:
    """x with the mask restore uses (> 0.5) in red and what its rule dropped (> 0.5 before it) in blue."""
    with torch.inference_mode():
        used = net.damage_mask(as_tensor(x))[0, 0].numpy() > 0.5
        raw = net.damage_mask(as_tensor(x), rule=False)[0, 0].numpy() > 0.5
    out = 0.6 * x.copy()
    out[:, raw & ~used] = np.array([0.1, 0.3, 1.0])[:, None]
    out[:, used] = np.array([1.0, 0.1, 0.1])[:, None]
    return out


def look(nets: dict, cleans: list[np.ndarray], path: Path, per_column: int = 7) -> None:
    rows = [np.concatenate([x, *(overlay(net, x) for net in nets.values())], 2) for x in cleans]
    rows += [np.zeros_like(rows[0])] * (-len(rows) % per_column)
    columns = [np.concatenate(rows[k : k + per_column], 1) for k in range(0, len(rows), per_column)]
    gap = np.ones((3, columns[0].shape[1], 8), np.float32)
    picture = np.concatenate([c for col in columns for c in (col, gap)][:-1], 2)
    Image.fromarray((np.moveaxis(picture, 0, -1) * 255).round().astype(np.uint8)).save(path)
    print(f"wrote {path} (columns: photo | " + " | ".join(nets) + " mask)")


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="model folders (a restore card and its weights)")
    parser.add_argument("--look", type=Path, help="only the PNG of masks on clean photos, this model's beside shipped")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    parser.add_argument("--out", default="mask_hard", help="results' name in results/")
    parser.add_argument("--fit-sweep", action="store_true", help="only the mask at --biases on `fit` photos")
    parser.add_argument("--biases", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.25],
                        help="mask biases of --fit-sweep (default 0.5 0.75 1 1.25)")
    parser.add_argument("--reuse", type=Path, help="an earlier run's JSON: its results of the models with the same "
                        "weights (sha256) are taken, not measured again (the figures do not depend on load)")
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("restore mask fine-tuned on hard negatives and faint damage: validation", args)
    from daguerre.models.card import ModelCard
    from daguerre.models.registry import build
    from daguerre.ops.task_models import task_model
    from restore_stains import validation_sets

    card, shipped = task_model("restore", None)
    print(f"shipped: {card.path} (sha256 {card.sha256[:12]})")
    nets, hashes = {"shipped": shipped}, {"shipped": card.sha256}
    for folder in [args.look] if args.look else args.models:
        candidate = ModelCard.load(next(folder.glob("*.json")))
        nets[folder.name] = build(candidate).eval()
        hashes[folder.name] = candidate.sha256
        print(f"{folder.name}: sha256 {candidate.sha256[:12]}, step {candidate.training.get('steps')}")
    if args.fit_sweep:
        fit_sweep(nets, args.biases)
        return
    cleans, copies, damaged = validation_cases(args.size)
    RESULTS.mkdir(exist_ok=True)
    if args.look:
        look(nets, cleans, RESULTS / f"{args.out}_clean.png")
        return
    light = validation_sets(args.size, ("clean", "stained"))
    results = {}
    earlier = json.loads(args.reuse.read_text()) if args.reuse else {"models": {}, "raw": {}}
    for label, net in nets.items():
        again = [k for k, sha in earlier["models"].items() if sha == hashes[label]]
        if again:
            results[label] = earlier["raw"][again[0]]
            print(f"{label}: taken from {args.reuse} ({again[0]})", flush=True)
            continue
        results[label] = evaluate(net, copies, damaged, light)
        print(f"{label}: done", flush=True)
    table, eligible = summary(results)
    print_table(table)
    chosen = min(eligible, key=lambda m: table[m]["clean_masked_pooled"]) if eligible else None
    print(f"\neligible: {eligible or 'none'}; chosen: {chosen or 'none'}")
    (RESULTS / f"{args.out}_validation.json").write_text(json.dumps(
        {"machine": info, "size": args.size, "models": hashes, "table": table, "eligible": eligible, "chosen": chosen,
         "raw": results}, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
