"""A restore model's mask and keep on training photos with faint damage, at keep feathers 2 and 3 (issue 17).

    PYTHONPATH=src python benchmarks/mask_faint.py [--models DIR] [--n 10] [--size 256] --threads 1

To judge a mask predictor trained further on `age`'s faint damage before any held-out run: the three sets of
`keep_gate.py` (the first --n training photos: `faint`, `aged`, `clean`), each restored whole (`RestoreNet.restore`)
with the card's keep and its feather set to each of --feathers. Prints the mask's recall and precision at 0.5 (the
mask as restore uses it, after `mask_rule`; true mask > 0.5), PSNR, LPIPS and % of the input's error removed
inside the true mask, and the % of pixels masked. Held-out photos are never used. Writes results/mask_faint.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from _common import RESULTS, base_parser, print_header, set_threads
from keep_gate import training_sets


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="folder of trained models, put first in DAGUERRE_MODELS")
    parser.add_argument("--n", type=int, default=10, help="training photos per set (default 10)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    parser.add_argument("--feathers", type=float, nargs="+", default=[2.0, 3.0], help="keep feathers in px")
    args = parser.parse_args()
    if args.models:
        os.environ["DAGUERRE_MODELS"] = str(args.models.resolve())
    set_threads(args.threads)
    info = print_header("restore: mask and keep on training photos with faint damage", args)
    from daguerre.metrics import lpips, psnr
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    print(f"model: {card.name} ({card.path}, sha256 {card.sha256[:12]}), card keep {list(net.keep)}")
    sets = training_sets(args.n, args.size)
    shipped_keep, results = net.keep, {}
    for name, cases in sets.items():
        counts = np.zeros(3)  # true positives, false positives, false negatives, pooled over the photos
        masked = []  # % of each photo's pixels the mask marks
        scores: dict[str, dict[str, list[float]]] = {}
        for x, true, truth in cases:
            t = torch.from_numpy(np.ascontiguousarray(x))[None]
            with torch.inference_mode():
                hit = net.damage_mask(net.denoised(t))[0, 0].numpy() > 0.5
            inside = true > 0.5
            counts += [(hit & inside).sum(), (hit & ~inside).sum(), (~hit & inside).sum()]
            masked.append(100 * float(hit.mean()))
            for feather in args.feathers:
                net.keep = (*shipped_keep[:2], feather, *shipped_keep[3:])
                with torch.inference_mode():
                    y = net.restore(t)[0].numpy()
                s = scores.setdefault(f"feather {feather:g}", {})
                s.setdefault("psnr", []).append(psnr(y, truth))
                s.setdefault("lpips", []).append(lpips(y, truth))
                if inside.any():
                    before = np.abs(x - truth)[:, inside].mean()
                    s.setdefault("removed", []).append(100 * (1 - np.abs(y - truth)[:, inside].mean() / before))
        net.keep = shipped_keep
        tp, fp, fn = counts
        results[name] = {"recall": tp / max(tp + fn, 1), "precision": tp / max(tp + fp, 1),
                         "masked %": float(np.mean(masked)),
                         **{f: {m: float(np.mean(v)) for m, v in s.items()} for f, s in scores.items()},
                         "per_photo": scores}
        r = results[name]
        print(f"## {name}: mask recall {r['recall']:.3f}, precision {r['precision']:.3f}, "
              f"{r['masked %']:.2f}% masked")
        for f in scores:
            print(f"  {f}: PSNR {r[f]['psnr']:.2f} / LPIPS {r[f]['lpips']:.4f} / "
                  f"% removed {r[f].get('removed', float('nan')):.1f}", flush=True)
    path = RESULTS / f"mask_faint-{card.sha256[:8]}.json"
    path.write_text(json.dumps({"machine": info, "model": card.sha256, "n": args.n, "size": args.size,
                                "results": results}, indent=2, default=float) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
