"""Chooses where the restore model's `keep` lets the U-Net's fine change through (issue 17), on training photos.

    PYTHONPATH=src python benchmarks/keep_gate.py [--n 10] [--size 256] --threads 1

`RestoreNet.kept` keeps the U-Net's fine change (its change minus a Gaussian low-pass) only inside the damage
mask, grown and feathered, so faint damage the mask misses stays as it is. This compares gates for that fine
change (`GATES`), each a (H,W) weight in [0,1]. The first --n photos of the training split at --size px, three
sets: `faint` (aged with fade, dust, scratches and `age`'s faint damage only: no grain, so the grain gate is shut,
as on a clean scan), `aged` (`age`, seed i) and `clean`. Prints PSNR, LPIPS, % of the input's error removed
inside the true mask (> 0.5) and % of the fine change kept, per set and gate. Held-out photos are never used.
Writes results/keep_gate.json after each photo (a long run can be stopped).
"""

from __future__ import annotations

import json

import numpy as np
import torch

from _common import RESULTS, base_parser, print_header, set_threads
from restoration import AGING_STRENGTH, luma3, square_photo

# name -> ([(source, lo, hi), ...], grow, feather, amount): the fine change kept where the shipped mask (grown and
# feathered as the card says) says so, or by `amount` x the product of clamp((v - lo) / (hi - lo), 0, 1) of each
# source (grown and feathered by the gate's own). Sources: everywhere (all), the mask before `mask_rule` (raw), the
# shipped grown and feathered mask (fringe), the mask grown g px and feathered f px (grown g f), the fine change's
# size (change), the 3 px hats (cue), and the part of a thin bright / dark thing the fine change undoes (removal:
# its luma against the 3 px top-hat / black-hat). Earlier runs of this script tried more (BENCHMARKS.md).
GATES = {"none": ([("all", 0, 1)], 0, 0, 1), "shipped": ([("none", 0, 1)], 0, 0, 1),
         "removal .02-.06": ([("removal", 0.02, 0.06)], 1, 1, 1),
         "grown 6 feather 2": ([("grown 6 2", 0, 1)], 0, 0, 1), "grown 5 feather 2": ([("grown 5 2", 0, 1)], 0, 0, 1),
         "grown 4 feather 2": ([("grown 4 2", 0, 1)], 0, 0, 1), "grown 6 feather 1": ([("grown 6 1", 0, 1)], 0, 0, 1),
         "grown 4 feather 1": ([("grown 4 1", 0, 1)], 0, 0, 1), "grown 8 feather 3": ([("grown 8 3", 0, 1)], 0, 0, 1)}


def training_sets(n: int, size: int) -> dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """(input, true mask, truth) per photo of each set."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age

    sets: dict[str, list] = {"faint": [], "aged": [], "clean": []}
    for i, path in enumerate(photos("train", graphics=False)[:n]):
        clean = square_photo(path, size)
        for name, seed, effects in (("faint", 2000 + i, ["fade", "dust", "scratches", "faint"]), ("aged", i, None)):
            aged = age(clean, seed=seed, strength=AGING_STRENGTH, effects=effects)
            truth = luma3(clean) if is_monochrome(aged.params) else clean
            sets[name].append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), aged.mask, truth))
        sets["clean"].append((clean, np.zeros(clean.shape[1:], np.float32), clean))
    return sets


def gate_weight(factors: list[tuple[str, float, float]], parts: dict) -> np.ndarray:
    """The (H,W) weight of the fine change a gate's sources let through (before growing and feathering)."""
    weight = np.ones_like(parts["mask"])
    for source, lo, hi in factors:
        if source in ("none", "all"):
            weight = weight * float(source == "all")
        else:
            weight = weight * np.clip((parts[source] - lo) / (hi - lo), 0, 1)
    return weight


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="training photos per set (default 10)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("restore keep: gates for the U-Net's fine change", args)
    from daguerre.metrics import lpips, psnr
    from daguerre.nets.damage_cues import damage_cues
    from daguerre.nets.restore_net import feathered, gaussian
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    sigma, grow, feather, lo, hi = net.keep
    print(f"model: {card.name} (sha256 {card.sha256[:12]}), card keep {list(net.keep)}")
    scores: dict[str, dict[str, dict[str, list[float]]]] = {}
    sets = training_sets(args.n, args.size)
    for k in range(args.n):  # photo by photo, the means written after each: a long run can be stopped
        for name, cases in sets.items():
            x, true, truth = cases[k]
            with torch.inference_mode():
                measured = net.prefilters(x)
                t = net.denoised(torch.from_numpy(np.ascontiguousarray(x))[None], measured)
                params = net.tone_params(t)
                base = net.toned(t, params)
                raw = net.damage_mask(t, params, rule=False)
                mask = net.drop_false_alarms(raw, base)
                y = net.local(t, params, mask)
                shipped = net.kept(base, y, mask, [measured])[0].numpy()
                hats = damage_cues(base)[0, :2].numpy() / 4  # 3 px black-hat, top-hat
            base, y = base[0].numpy(), y[0].numpy()
            change = y - base
            low = np.stack([gaussian(c, sigma) for c in change])
            fine = change - low
            lum = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), fine, axes=1)
            removal = np.maximum(np.minimum(lum, hats[0]), np.minimum(-lum, hats[1]))  # a thin thing undone
            parts = {"mask": mask[0, 0].numpy(), "raw": raw[0, 0].numpy(), "change": np.abs(fine).max(0),
                     "cue": hats.max(0), "removal": removal}
            shipped_inside = feathered(parts["mask"], grow, feather)
            parts["fringe"] = shipped_inside
            for g, f in ((6, 2), (5, 2), (4, 2), (6, 1), (4, 1), (8, 3)):
                parts[f"grown {g} {f}"] = feathered(parts["mask"], g, f)
            outside = 1.0 if measured[0] > 0 else float(np.clip((measured[2] - lo) / (hi - lo), 0, 1))
            inside = true > 0.5
            for gate, (factors, g, f, amount) in GATES.items():
                extra = amount * feathered(gate_weight(factors, parts), g, f)
                weight = outside + (1 - outside) * np.maximum(shipped_inside, extra)
                out = np.clip(base + low + fine * weight, 0, 1)
                if gate == "shipped":
                    assert np.abs(out - shipped).max() < 1e-5, "RestoreNet.kept differs from this script"
                s = scores.setdefault(gate, {}).setdefault(name, {})
                s.setdefault("psnr", []).append(psnr(out, truth))
                s.setdefault("lpips", []).append(lpips(out, truth))
                s.setdefault("kept %", []).append(100 * float(np.mean(weight)))
                if inside.any():
                    before = np.abs(x - truth)[:, inside].mean()
                    s.setdefault("removed", []).append(100 * (1 - np.abs(out - truth)[:, inside].mean() / before))
        print(f"  photo {k + 1}/{args.n}", flush=True)
        means = {g: {s: {m: float(np.mean(v)) for m, v in ms.items()} for s, ms in r.items()}
                 for g, r in scores.items()}
        path = RESULTS / "keep_gate.json"
        path.write_text(json.dumps({"machine": info, "model": card.sha256, "n": k + 1, "size": args.size,
                                    "mean": means, "per_photo": scores}, indent=2, default=float) + "\n")
    print("gate | " + " | ".join(f"{s}: PSNR / LPIPS / % removed / % fine kept" for s in means["shipped"]))
    for g, r in means.items():
        print(f"{g:>26} | " + " | ".join(f"{m['psnr']:.2f} / {m['lpips']:.4f} / {m.get('removed', float('nan')):.1f}"
                                         f" / {m['kept %']:.1f}" for m in r.values()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
