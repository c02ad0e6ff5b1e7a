"""The restore model's damage mask: recall, precision and F1 at several thresholds (issue 17).

    PYTHONPATH=src python benchmarks/damage_mask.py [--models DIR] [--n 25] [--size 256] --threads 1

Two sets, each photo i degraded with seed i:
- training: the first --n photos of the training split aged by `imaging.aging.age(strength 0.8)` (the damage the
  model trains on). Tune thresholds here, never on the held-out set;
- held-out: the --n held-out photos with the unseen damage of `benchmarks/damage.py` (for information only).
The predicted mask is the model's probability on the tone-corrected picture (`RestoreNet.damage_mask`); the true
mask is > 0.5; pixels are pooled over the photos. With --biases, the whole restoration of the training set at each
mask bias (`RestoreNet.mask_bias`: the threshold as the model uses it): PSNR and the % of the input's error
inside the true mask removed. With --rules, the same at each `RestoreNet.mask_rule` threshold (0: off; the
rule that drops highlights and texture, `nets.mask_rule`) on three training sets: aged as above, aged with damage
forced (scratches, dust, creases, fade, grain; seed 1000 + i) and clean (PSNR only: restore should leave it
alone). Writes results/damage_mask.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from _common import RESULTS, base_parser, print_header, set_threads
from restoration import AGING_STRENGTH, luma3, square_photo

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def cases(split: str, n: int, size: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(degraded, true mask, truth) per photo."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age
    from damage import damage

    out = []
    for i, path in enumerate(photos(split, graphics=False)[:n]):
        clean = square_photo(path, size)
        if split == "train":
            aged = age(clean, seed=i, strength=AGING_STRENGTH)
            truth = luma3(clean) if is_monochrome(aged.params) else clean
            out.append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), aged.mask, truth))
        else:
            out.append((*damage(clean, i), clean))
    return out


def scores(net: torch.nn.Module, pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, dict[str, float]]:
    counts = {t: np.zeros(3) for t in THRESHOLDS}  # true positives, false positives, false negatives
    for x, mask, _ in pairs:
        with torch.inference_mode():
            p = net.damage_mask(torch.from_numpy(np.ascontiguousarray(x))[None])[0, 0].numpy()
        true = mask > 0.5
        for t in THRESHOLDS:
            hit = p > t
            counts[t] += [(hit & true).sum(), (hit & ~true).sum(), (~hit & true).sum()]
    result = {}
    for t, (tp, fp, fn) in counts.items():
        r, p = tp / max(tp + fn, 1), tp / max(tp + fp, 1)
        result[str(t)] = {"recall": r, "precision": p, "f1": 2 * r * p / max(r + p, 1e-9)}
    return result


def restoration(net: torch.nn.Module, pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                biases: list[float]) -> dict[str, dict[str, float]]:
    """Mean PSNR and % of the in-mask error removed of the whole restoration at each mask bias."""
    from daguerre.metrics import psnr

    result, default = {}, net.mask_bias
    for bias in biases:
        net.mask_bias = bias
        db, removed = [], []
        for x, mask, truth in pairs:
            with torch.inference_mode():
                y = net.restore(torch.from_numpy(np.ascontiguousarray(x))[None])[0].numpy()
            db.append(psnr(y, truth))
            inside = mask > 0.5
            if inside.any():
                removed.append(100 * (1 - np.abs(y - truth)[:, inside].mean() / np.abs(x - truth)[:, inside].mean()))
        result[str(bias)] = {"psnr": float(np.mean(db)), "mask_removed": float(np.mean(removed))}
    net.mask_bias = default
    return result


def rule_sweep(net: torch.nn.Module, n: int, size: int, rules: list[float]) -> dict[str, dict[str, dict]]:
    """PSNR, % in-mask error removed and % of pixels masked of `net.restore` at each mask rule threshold."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age
    from daguerre.metrics import psnr

    sets: dict[str, list] = {"aged": cases("train", n, size), "damaged": [], "clean": []}
    for i, path in enumerate(photos("train", graphics=False)[:n]):
        clean = square_photo(path, size)
        aged = age(clean, seed=1000 + i, strength=AGING_STRENGTH, effects=["scratches", "dust", "creases", "fade",
                                                                             "grain"])
        truth = luma3(clean) if is_monochrome(aged.params) else clean
        sets["damaged"].append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), aged.mask, truth))
        sets["clean"].append((clean, np.zeros(clean.shape[1:], np.float32), clean))
    result, default = {}, net.mask_rule
    for rule in rules:
        net.mask_rule = rule
        for name, pairs in sets.items():
            db, removed, masked = [], [], []
            for x, mask, truth in pairs:
                with torch.inference_mode():
                    t = torch.from_numpy(np.ascontiguousarray(x))[None]
                    y = net.restore(t)[0].numpy()
                    masked.append(100 * float((net.damage_mask(t) > 0.5).float().mean()))
                db.append(psnr(y, truth))
                inside = mask > 0.5
                if inside.any():
                    after, before = np.abs(y - truth)[:, inside].mean(), np.abs(x - truth)[:, inside].mean()
                    removed.append(100 * (1 - after / before))
            result.setdefault(str(rule), {})[name] = {"psnr": float(np.mean(db)), "masked": float(np.mean(masked)),
                                                      "mask_removed": float(np.mean(removed)) if removed else None}
    net.mask_rule = default
    return result


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="folder of trained models, put first in DAGUERRE_MODELS")
    parser.add_argument("--n", type=int, default=25, help="photos per set (default 25)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    parser.add_argument("--biases", type=float, nargs="*", help="mask biases to restore the training set at")
    parser.add_argument("--rules", type=float, nargs="*", help="mask rule thresholds (0: off) to restore the "
                        "training sets at")
    args = parser.parse_args()
    if args.models:
        os.environ["DAGUERRE_MODELS"] = os.pathsep.join(filter(None, [str(args.models.resolve()),
                                                                      os.environ.get("DAGUERRE_MODELS")]))
    set_threads(args.threads)
    info = print_header("damage mask: recall / precision of the restore model's mask predictor", args)
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    print(f"model: {card.name} ({card.path}, sha256 {card.sha256[:12]})")
    results = {"machine": info, "model": card.sha256, "n": args.n, "size": args.size}
    for split, title in (("train", "training photos, aging damage (tune here)"),
                         ("heldout", "held-out photos, unseen damage (information only)")):
        pairs = cases(split, args.n, args.size)
        results[split] = scores(net, pairs)
        print(f"## {title}")
        print("threshold | recall | precision | F1")
        for t, s in results[split].items():
            print(f"{t:>9} | {s['recall']:.3f} | {s['precision']:.3f} | {s['f1']:.3f}")
        if split == "train" and args.biases:
            results["train_restoration"] = restoration(net, pairs, args.biases)
            print(f"## training photos restored at mask bias (model's own: {net.mask_bias})")
            print("bias | PSNR | % mask error removed")
            for b, s in results["train_restoration"].items():
                print(f"{b:>4} | {s['psnr']:.2f} | {s['mask_removed']:.1f}")
    if args.rules:
        results["train_rules"] = rule_sweep(net, args.n, args.size, args.rules)
        print(f"## training photos restored at mask rule threshold (model's own: {net.mask_rule})")
        print("rule | aged: PSNR / % removed / % masked | damage forced: PSNR / % removed / % masked | clean: PSNR / "
              "% masked")
        for rule, r in results["train_rules"].items():
            a, d, c = r["aged"], r["damaged"], r["clean"]
            print(f"{rule:>4} | {a['psnr']:.2f} / {a['mask_removed']:.1f} / {a['masked']:.2f} | {d['psnr']:.2f} / "
                  f"{d['mask_removed']:.1f} / {d['masked']:.2f} | {c['psnr']:.2f} / {c['masked']:.2f}")
    path = RESULTS / "damage_mask.json"
    path.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
