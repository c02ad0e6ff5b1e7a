"""Chooses the restore model's `keep` setting (issue 17) on training photos: what of the U-Net's change to keep
outside the damage mask.

    PYTHONPATH=src python benchmarks/keep_detail.py [--n 40] [--size 256] --threads 1

`RestoreNet.kept`: the change y - base (base: the input after the prefilters and the ToneNet) is split by a
Gaussian of sigma px into a low-pass part, kept everywhere, and the rest, kept only inside the damage mask grown
by `grow` px and feathered by `feather` px, and elsewhere by the picture's grain (measured noise level) between lo
and hi. The first --n
photos of the training split at --size px, three sets as `damage_mask.py --rules`: aged by `imaging.aging.age`
(seed i, strength 0.8), aged with damage forced (scratches, dust, creases, fade, grain; seed 1000 + i), and
clean (restore should leave them alone). The network runs once per photo; each variant is a cheap whole-picture
step after it. Prints PSNR, LPIPS and % of the input's in-mask error removed per set and variant, and checks
`RestoreNet.kept` against this script's formula. Held-out photos are never used. Writes results/keep_detail.json.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from _common import RESULTS, base_parser, print_header, set_threads
from restoration import AGING_STRENGTH, luma3, square_photo

FORCED = ["scratches", "dust", "creases", "fade", "grain"]
# (sigma, grow, feather, grain lo, grain hi) as `RestoreNet.keep`, the grain levels in /255; None: the model's output
G = 1e6  # a gate no picture reaches: the U-Net's fine change kept only inside the mask
VARIANTS = [None, (8, 4, 3, G, 2 * G), (8, 2, 2, G, 2 * G), (8, 4, 3, 1, 3), (8, 4, 3, 1.5, 4), (8, 4, 3, 2, 5),
            (4, 4, 3, 1.5, 4), (16, 4, 3, 1.5, 4), (8, 6, 4, 1.5, 4), (8, 2, 2, 1.5, 4), (8, 4, 3, 0.5, 2),
            (16, 4, 3, 1, 3)]


def training_sets(n: int, size: int) -> dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """(input, true mask, truth) per photo of each set."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age

    sets: dict[str, list] = {"aged": [], "damaged": [], "clean": []}
    for i, path in enumerate(photos("train", graphics=False)[:n]):
        clean = square_photo(path, size)
        for name, seed, effects in (("aged", i, None), ("damaged", 1000 + i, FORCED)):
            aged = age(clean, seed=seed, strength=AGING_STRENGTH, effects=effects)
            truth = luma3(clean) if is_monochrome(aged.params) else clean
            sets[name].append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), aged.mask, truth))
        sets["clean"].append((clean, np.zeros(clean.shape[1:], np.float32), clean))
    return sets


def network_parts(net: torch.nn.Module, x: np.ndarray, check: bool) -> tuple[np.ndarray, ...]:
    """(base, restored before `keep`, mask, grain level, restored with the net's `keep`) as `RestoreNet.restore`
    makes them (checked against it if `check`)."""
    with torch.inference_mode():
        measured = net.prefilters(x)
        t = net.denoised(torch.from_numpy(np.ascontiguousarray(x))[None], measured)
        params = net.tone_params(t)
        mask = net.damage_mask(t)
        base = net.toned(t, params)
        y = net.local(t, params, mask)
        shipped = net.kept(base, y, mask, [measured])
    if check:
        with torch.inference_mode():
            whole = net.restore(torch.from_numpy(np.ascontiguousarray(x))[None])
        assert torch.equal(whole, shipped), "RestoreNet.restore differs from its parts"
    grain = measured[2] if measured[0] == 0 else 1.0  # a halftone print: the U-Net's change kept whole
    return base[0].numpy(), y[0].numpy(), mask[0, 0].numpy(), grain, shipped[0].numpy()


def keep(base: np.ndarray, y: np.ndarray, mask: np.ndarray, grain: float, variant: tuple | None) -> np.ndarray:
    from daguerre.nets.restore_net import feathered, gaussian

    if variant is None:
        return y
    sigma, grow, feather, lo, hi = variant
    change = y - base
    low = np.stack([gaussian(c, sigma) for c in change])
    outside = np.clip((grain * 255 - lo) / (hi - lo), 0, 1)
    weight = outside + (1 - outside) * feathered(mask, grow, feather)
    return np.clip(base + low + (change - low) * weight, 0, 1)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="training photos per set (default 40)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    parser.add_argument("--sets", nargs="*", default=["aged", "damaged", "clean"], help="sets to run (default all)")
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("restore keep: the U-Net's change kept outside the damage mask", args)
    from daguerre.metrics import lpips, psnr
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    card_keep = net.keep
    print(f"model: {card.name} (sha256 {card.sha256[:12]}), card keep {list(card_keep)}")
    check = (8.0, 4.0, 3.0, 1.5, 4.0)
    net.keep = (*check[:3], check[3] / 255, check[4] / 255)
    sets = {k: v for k, v in training_sets(args.n, args.size).items() if k in args.sets}
    scores: dict[str, dict[str, dict[str, list[float]]]] = {}
    worst = 0.0
    for name, cases in sets.items():
        for k, (x, true, truth) in enumerate(cases):
            base, y, mask, grain, shipped = network_parts(net, x, k == 0)
            worst = max(worst, float(np.abs(shipped - keep(base, y, mask, grain, check)).max()))
            inside = true > 0.5
            for variant in VARIANTS:
                out = keep(base, y, mask, grain, variant)
                s = scores.setdefault(str(variant), {}).setdefault(name, {})
                s.setdefault("psnr", []).append(psnr(out, truth))
                s.setdefault("lpips", []).append(lpips(out, truth))
                if inside.any():
                    before = np.abs(x - truth)[:, inside].mean()
                    s.setdefault("removed", []).append(100 * (1 - np.abs(out - truth)[:, inside].mean() / before))
            print(f"  {name} {k + 1}/{len(cases)}", flush=True)
    net.keep = card_keep
    print(f"RestoreNet.kept against this script's formula: max difference {worst:.2e}")
    print("variant (sigma, grow, feather, grain lo, hi /255) | " + " | ".join(f"{name}: PSNR / LPIPS / % removed"
                                                                          for name in sets))
    means = {v: {s: {m: float(np.mean(vals)) for m, vals in ms.items()} for s, ms in r.items()}
             for v, r in scores.items()}
    for v, r in means.items():
        print(f"{v:>22} | " + " | ".join(f"{m['psnr']:.2f} / {m['lpips']:.4f} / {m.get('removed', float('nan')):.1f}"
                                         for m in r.values()))
    path = RESULTS / "keep_detail.json"
    path.write_text(json.dumps({"machine": info, "model": card.sha256, "n": args.n, "size": args.size,
                                "mean": means, "per_photo": scores}, indent=2, default=float) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
