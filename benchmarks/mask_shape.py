"""The restore mask's shape rule against the shipped false-alarm rule (issue 17: real light and dark details of
clean pictures kept, the repair of real damage too).

    PYTHONPATH=src python benchmarks/mask_shape.py --threads 1 --stage train --n 30 --rules 4.8 5.1 5.4 5.7
    PYTHONPATH=src python benchmarks/mask_shape.py --threads 1 --stage validation --rules 4.8 5.1 5.4 5.7
    PYTHONPATH=src python benchmarks/mask_shape.py --threads 1 --stage look --rules 5.1
    PYTHONPATH=src python benchmarks/mask_shape.py --threads 1 --stage train --plain 3.25 3.5

The shipped model restores (`RestoreNet.restore`, the card's steps) with its mask rule (`nets.mask_rule`, peak /
busy / grade, threshold 3.0) and with the shape rule instead (`mask_shape`: the piece's shape, colour and
neighbours too, weights from `benchmarks/mask_rule_fit.py --shape`) at each threshold of --rules.
- `train`: the first --n training photos at --size px, as `damage_mask.py --rules`: `aged` (`age` at 0.8, seed i),
  `damaged` (scratches, dust, creases, fade, grain forced; seed 1000 + i), `clean` and `grey` (its BT.601 luma on
  three channels: an archive's prints are mostly grey): PSNR, % of the input's error inside the true mask removed,
  % of pixels masked (> 0.5); results/mask_shape_train.json.
- `validation`: the 21 `validation` photos' sets of `restore_stains.py` (stained, clean, aged x2 seeds, fade) and
  `grey` (the clean photos' luma): PSNR and LPIPS paired against shipped (± s.e.); results/mask_shape_validation.json.
- `--plain T ...`: the shipped rule at other thresholds beside them (results/mask_shape_STAGE_plain.json), to see
  whether the shape rule trades damage kept for false alarms dropped better than a stricter shipped rule; never
  chosen.
- `look`: a PNG of the clean validation photos (photo | shipped mask | shape rule's mask at the first of --rules;
  red: the mask restore uses (> 0.5), blue: what its rule dropped) to results/mask_shape_clean.png.
Held-out photos are never used here.

Ship rule (issue 17, written 2026-12-01 03:55 UTC before any of these runs):
1. `train`: a threshold is eligible if on `aged` and on `damaged` its in-mask removal is at most 0.5 point below
   the shipped rule's and its PSNR at most 0.05 dB below; the largest eligible threshold (the most false alarms
   dropped) is chosen; none eligible: nothing shipped.
2. `validation`: the chosen threshold must give a lower mean LPIPS than shipped on `clean` and on `stained`, and
   lose at most 0.1 dB and 0.005 LPIPS on `aged` and `fade` (`restore_stains.py`'s rule for a variant).
3. Then held-out once (`restoration.py --threads 1 --sections restore --restore-rows damage,unseen,clean,aging`,
   shipped and candidate card in two processes side by side): shipped only if the unseen damage's in-mask removal
   stays >= 60%, its PSNR is not lower and its LPIPS not higher than shipped's, and the clean row's PSNR is higher
   and LPIPS lower.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import torch
from PIL import Image

from _common import RESULTS, base_parser, print_header, set_threads
from restoration import luma3, square_photo


def shaped(net, threshold: float):
    """The shipped RestoreNet with the shape rule at `threshold` instead of its own rule."""
    v = copy.deepcopy(net)
    v.mask_rule, v.mask_shape = threshold, True
    return v


def restored(net, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.clip(net.restore(torch.from_numpy(np.ascontiguousarray(x, np.float32))[None])[0].numpy(), 0, 1)


def train_stage(nets: dict, n: int, size: int) -> dict:
    from daguerre.metrics import psnr
    from keep_detail import training_sets

    sets = training_sets(n, size)  # aged, damaged (`keep_detail.FORCED`) and clean copies of training photos
    sets["grey"] = [(luma3(clean), empty, luma3(clean)) for clean, empty, _ in sets["clean"]]
    result: dict = {}
    for label, net in nets.items():
        for name, cases in sets.items():
            db, removed, masked = [], [], []
            for x, mask, truth in cases:
                y = restored(net, x)
                with torch.inference_mode():
                    m = net.damage_mask(torch.from_numpy(np.ascontiguousarray(x))[None])
                masked.append(100 * float((m > 0.5).float().mean()))
                db.append(psnr(y, truth))
                inside = mask > 0.5
                if inside.any():
                    after, before = np.abs(y - truth)[:, inside].mean(), np.abs(x - truth)[:, inside].mean()
                    removed.append(100 * (1 - after / before))
            result.setdefault(label, {})[name] = {"psnr": float(np.mean(db)), "masked": float(np.mean(masked)),
                                                  "mask_removed": float(np.mean(removed)) if removed else None,
                                                  "per_photo_psnr": db}
        r = result[label]
        print(f"{label:12s} " + " | ".join(
            f"{s}: {r[s]['psnr']:.2f} dB" + (f" / {r[s]['mask_removed']:.1f}%" if r[s]["mask_removed"] is not None
                                              else "") + f" / {r[s]['masked']:.2f}% masked" for s in sets),
              flush=True)
    base = result["shipped"]
    eligible = [label for label in result if label.startswith("shape") and all(
        result[label][s]["mask_removed"] >= base[s]["mask_removed"] - 0.5
        and result[label][s]["psnr"] >= base[s]["psnr"] - 0.05 for s in ("aged", "damaged"))]
    chosen = max(eligible, key=lambda label: float(label.split()[-1])) if eligible else None
    print(f"eligible: {eligible or 'none'}; chosen: {chosen or 'none'}")
    return {"results": result, "eligible": eligible, "chosen": chosen}


def validation_stage(nets: dict, size: int) -> dict:
    from daguerre.metrics import lpips, psnr
    from restore_stains import paired_against_shipped, validation_sets

    sets = validation_sets(size, ("stained", "clean", "aged", "fade"))
    sets["grey"] = [(luma3(x), luma3(x)) for x, _ in sets["clean"]]
    scores: dict = {}
    for name, cases in sets.items():
        for x, truth in cases:
            for label, net in nets.items():
                y = restored(net, x)
                scores.setdefault(name, {}).setdefault(label, []).append((psnr(y, truth), lpips(y, truth)))
    summary = paired_against_shipped(scores)
    passing = [label for label in summary if label != "shipped"
               and all(summary[label][s]["d_lpips"] < 0 for s in ("clean", "stained"))
               and all(summary[label][s]["d_psnr"] >= -0.1 and summary[label][s]["d_lpips"] <= 0.005
                       for s in ("aged", "fade"))]
    print(f"\npass the validation rule: {passing or 'none'}")
    return {"summary": summary, "pass": passing}


def look(nets: dict, size: int) -> None:
    from daguerre.data.sources import photos

    rows = []
    for path in photos("validation", graphics=False):
        x = square_photo(path, size)
        row = [x]
        for net in nets.values():
            t = torch.from_numpy(np.ascontiguousarray(x))[None]
            with torch.inference_mode():
                raw = net.damage_mask(t, rule=False)[0, 0].numpy() > 0.5
                kept = net.damage_mask(t)[0, 0].numpy() > 0.5
            over = x.copy()
            for where, colour in ((kept, (1, 0, 0)), (raw & ~kept, (0, 0, 1))):
                over[:, where] = 0.3 * over[:, where] + 0.7 * np.array(colour, np.float32)[:, None]
            row.append(over)
        rows.append(np.concatenate(row, 2))
    pairs = [np.concatenate(rows[i : i + 2], 2) if i + 1 < len(rows) else
             np.concatenate([rows[i], np.zeros_like(rows[i])], 2) for i in range(0, len(rows), 2)]
    picture = np.concatenate(pairs, 1)
    RESULTS.mkdir(exist_ok=True)
    Image.fromarray((np.moveaxis(picture, 0, -1) * 255).round().astype(np.uint8)).save(RESULTS / "mask_shape_clean.png")
    print(f"wrote {RESULTS / 'mask_shape_clean.png'} (each photo: input | shipped | {list(nets)[1]})")


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("train", "validation", "look"), required=True)
    parser.add_argument("--rules", type=float, nargs="*", default=[], help="shape rule thresholds")
    parser.add_argument("--plain", type=float, nargs="*", default=[], help="the shipped rule at these thresholds "
                        "too (for comparison: a trade-off, never chosen)")
    parser.add_argument("--n", type=int, default=30, help="training photos (default 30)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    args = parser.parse_args()
    if args.stage == "look" and not args.rules:
        parser.error("--stage look draws the shape rule at the first of --rules: give one")
    set_threads(args.threads)
    info = print_header("restore mask: the shape rule against the shipped rule", args)
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    nets = {"shipped": net, **{f"shape {t}": shaped(net, t) for t in args.rules}}
    for t in args.plain:
        nets[f"plain {t}"] = copy.deepcopy(net)
        nets[f"plain {t}"].mask_rule = t
    if args.stage == "look":
        look({"shipped": net, f"shape {args.rules[0]}": nets[f"shape {args.rules[0]}"]}, args.size)
        return
    result = train_stage(nets, args.n, args.size) if args.stage == "train" else validation_stage(nets, args.size)
    path = RESULTS / f"mask_shape_{args.stage}{'_plain' if args.plain else ''}.json"
    path.write_text(json.dumps({"machine": info, "model": card.sha256, "rules": args.rules, **result}, indent=1,
                               default=float) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
