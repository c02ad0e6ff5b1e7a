"""Chooses restore's `fill` (Telea's inpainting inside the damage mask, issue 17) on training photos.

    PYTHONPATH=src python benchmarks/restore_fill.py [--n 16] [--size 256] --threads 1

The shipped restore model with its card's steps, and `fill` set to each of `FILLS` (mask threshold, feather in px)
or off (the U-Net's own fill, as before), on the first --n photos of the training split in `keep_gate`'s three
sets (faint damage, `age`, clean). Also: Telea inside the mask after the U-Net but not as its first guess, and the
hole grown where its ring deviates from a 7 px median like its core (`GROWTH`: threshold, steps). Prints PSNR,
LPIPS and % of the input's error removed inside the true mask, paired against `fill` off. Held-out photos are
never used.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch

from _common import base_parser, print_header, set_threads
from keep_gate import training_sets

FILLS = [(0.5, 1.5), (0.5, 2.0), (0.4, 2.0)]
GROWTH = [(0.02, 1), (0.04, 2)]  # (deviation threshold, growth steps of 1 px) on top of fill (0.5, 2)


def restored(net, photo: torch.Tensor, telea_first: bool = True, growth: tuple[float, int] | None = None):
    """`RestoreNet.restore` step by step, so Telea's first guess can be left out and the hole grown."""
    measured = net.prefilters(photo[0].numpy())
    x = net.denoised(photo, measured)
    params = net.tone_params(x)
    base = net.toned(x, params)
    mask = net.damage_mask(x, params)
    y = net.parts(x, params, mask, telea_first=telea_first)[0].clamp(0, 1)
    y = net.kept(base, y, mask, [measured])
    if growth and net.fill:  # the grown hole, as a mask above the threshold
        hole = grown(mask[0, 0].numpy() > net.fill[0], base[0].numpy(), *growth)
        mask = torch.from_numpy(hole)[None, None].float()
    return net.filled(y, base, mask)[0].numpy()


def grown(hole: np.ndarray, x: np.ndarray, threshold: float, steps: int) -> np.ndarray:
    """`hole` grown 1 px a step into ring pixels whose luma deviates from its 7 px median by more than
    `threshold` in the direction its component's core deviates (a speck's bright or dark fringe)."""
    lum = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]).astype(np.float32)
    deviation = lum - cv2.medianBlur((np.clip(lum, 0, 1) * 255).round().astype(np.uint8), 7) / np.float32(255)
    count, labels = cv2.connectedComponents(hole.astype(np.uint8))
    sign = np.sign(np.bincount(labels.ravel(), deviation.ravel(), count))
    sign[0] = 0
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    for _ in range(steps):
        near = cv2.dilate(labels.astype(np.float32), disc).astype(np.int32)  # a neighbouring component's label
        add = (near > 0) & ~hole & (sign[near] * deviation > threshold)
        hole, labels = hole | add, np.where(add, near, labels)
    return hole


def paired_on_training_sets(variants: dict[str, Callable[[torch.Tensor], np.ndarray]], n: int, size: int,
                            against: str) -> None:
    """Each variant (a function of the photo (1,3,H,W) giving the restored (3,H,W)) on the first n training photos
    in `keep_gate`'s three sets; prints PSNR, LPIPS and % of the input's error removed inside the true mask, paired
    against the variant `against` (± s.e.)."""
    from daguerre.metrics import lpips, psnr

    scores: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
    for set_name, cases in training_sets(n, size).items():
        for x, true, truth in cases:
            photo = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
            inside = true > 0.5
            before = np.abs(x - truth)[:, inside].mean() if inside.any() else np.nan
            for label, run in variants.items():
                with torch.inference_mode():
                    out = np.clip(run(photo), 0, 1).astype(np.float32)
                removed = 100 * (1 - np.abs(out - truth)[:, inside].mean() / before) if inside.any() else np.nan
                scores.setdefault(set_name, {}).setdefault(label, []).append(
                    (psnr(out, truth), lpips(out, truth), removed))
        print(f"\n{set_name} ({len(cases)} photos): PSNR / LPIPS / % removed in the true mask, paired against "
              f"{against} (± s.e.)")
        base = np.array(scores[set_name][against])
        for label, rows in scores[set_name].items():
            a = np.array(rows)
            d = a - base
            se = d.std(0) / np.sqrt(len(d))
            removed = "  -" if np.isnan(a[:, 2]).all() else f"{np.nanmean(a[:, 2]):5.1f}"
            print(f"  {label:44s} {a[:, 0].mean():6.2f} ({d[:, 0].mean():+.2f} ± {se[0]:.2f})  "
                  f"{a[:, 1].mean():.4f} ({d[:, 1].mean():+.4f} ± {se[1]:.4f})  {removed}", flush=True)


def shipped_restore(description: str, title: str):  # noqa: ANN201 - (args, card, RestoreNet)
    """The command line of a restore experiment on training photos (--n, --size, --threads), its header printed,
    and the shipped restore model (the operation's cached one: put back what you change)."""
    parser = base_parser(description)
    parser.add_argument("--n", type=int, default=16, help="training photos per set (default 16)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    args = parser.parse_args()
    set_threads(args.threads)
    print_header(title, args)
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    return args, card, net


def main() -> None:
    args, card, net = shipped_restore(__doc__.splitlines()[0],
                                      "restore fill: Telea's inpainting inside the damage mask")
    shipped = net.fill
    print(f"model: {card.name} (sha256 {card.sha256[:12]}), card fill {list(shipped)}")
    settings = {"fill off (the U-Net's fill)": ((), False, None)}
    settings |= {f"fill {t} / {f} px": ((t, f), True, None) for t, f in FILLS}
    settings["fill 0.5 / 2 px, Telea not the first guess"] = ((0.5, 2.0), False, None)
    settings["Telea the first guess only"] = ((), True, None)
    settings |= {f"fill 0.5 / 2 px, grown {s} px at {t}": ((0.5, 2.0), True, (t, s)) for t, s in GROWTH}

    def variant(fill, first, growth) -> Callable[[torch.Tensor], np.ndarray]:
        def run(photo: torch.Tensor) -> np.ndarray:
            net.fill = fill
            return restored(net, photo, first, growth)
        return run

    try:
        paired_on_training_sets({label: variant(*s) for label, s in settings.items()}, args.n, args.size,
                                "fill off (the U-Net's fill)")
    finally:
        net.fill = shipped  # the operation's cached model


if __name__ == "__main__":
    main()
