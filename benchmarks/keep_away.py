"""Chooses restore's `lowpass_away` (issue 17) on training photos: `keep`'s low-pass part measured away from the damage.

    PYTHONPATH=src python benchmarks/keep_away.py [--n 16] [--size 256] --threads 1

`keep` adds the low-pass part (a Gaussian of 8 px) of the U-Net's change everywhere, to carry fading and stains.
Where the U-Net repairs a speck, that low-pass part is the speck's own repair blurred over a disc around it: a
halo (a pale disc round a black speck). With `lowpass_away` it is a normalised convolution weighted by 1 - mask.
The shipped restore model with its card's steps, `lowpass_away` off and on, on the first --n photos of the
training split in `keep_gate`'s three sets (faint damage, `age`, clean). Prints PSNR, LPIPS and % of the input's
error removed inside the true mask, paired against off. Held-out photos are never used.
"""

from __future__ import annotations

import numpy as np
import torch

from _common import base_parser, print_header, set_threads
from keep_gate import training_sets
from restore_fill import restored


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="training photos per set (default 16)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    args = parser.parse_args()
    set_threads(args.threads)
    print_header("restore lowpass_away: keep's low-pass part measured away from the damage", args)
    from daguerre.metrics import lpips, psnr
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    shipped = net.lowpass_away
    print(f"model: {card.name} (sha256 {card.sha256[:12]}), card lowpass_away {shipped}")
    scores: dict[str, dict[bool, list[tuple[float, float, float]]]] = {}
    try:
        for set_name, cases in training_sets(args.n, args.size).items():
            for x, true, truth in cases:
                photo = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
                inside = true > 0.5
                before = np.abs(x - truth)[:, inside].mean() if inside.any() else np.nan
                for away in (False, True):
                    net.lowpass_away = away
                    with torch.inference_mode():
                        out = np.clip(restored(net, photo), 0, 1).astype(np.float32)
                    removed = 100 * (1 - np.abs(out - truth)[:, inside].mean() / before) if inside.any() else np.nan
                    scores.setdefault(set_name, {}).setdefault(away, []).append(
                        (psnr(out, truth), lpips(out, truth), removed))
            print(f"\n{set_name} ({len(cases)} photos): PSNR / LPIPS / % removed in the true mask, paired against "
                  "off (± s.e.)")
            base = np.array(scores[set_name][False])
            for away, rows in scores[set_name].items():
                a = np.array(rows)
                d = a - base
                se = d.std(0) / np.sqrt(len(d))
                removed = "  -" if np.isnan(a[:, 2]).all() else f"{np.nanmean(a[:, 2]):5.1f}"
                print(f"  lowpass_away {'on ' if away else 'off'}  {a[:, 0].mean():6.2f} ({d[:, 0].mean():+.2f} ± "
                      f"{se[0]:.2f})  {a[:, 1].mean():.4f} ({d[:, 1].mean():+.4f} ± {se[1]:.4f})  {removed}",
                      flush=True)
    finally:
        net.lowpass_away = shipped  # the operation's cached model


if __name__ == "__main__":
    main()
