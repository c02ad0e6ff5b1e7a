"""Fits the weights of the restore mask's false-alarm rule (`daguerre.nets.mask_rule`) on training photos.

    PYTHONPATH=src python benchmarks/mask_rule_fit.py [--n 60] [--size 256] [--shape] --threads 1

The first --n photos of the training split at --size px, each three ways: clean, aged by `imaging.aging.age`
(seed i, strength 0.8) and aged with damage forced (scratches, dust, creases, fade, grain; seed 1000 + i). For each
component of the shipped model's mask (> 0.5, on the tone-corrected picture) its features (peak, busy, grade) and
how many of its pixels are truly damaged (true mask > 0.5) and not. A logistic regression (weighted by those pixel
counts, LBFGS in torch) of damaged against not, fitted on the even-numbered photos, gives the weights; the rule's
threshold is then chosen by `damage_mask.py --rules` (the whole restoration). Prints the weights, and for a few
thresholds the share of clean photos' masked pixels, of damaged pixels and of false-alarm pixels on aged photos
that the rule keeps, on the odd-numbered photos (not fitted on). Held-out photos are never used.
With --shape, the shape rule's weights too (`mask_rule.SHAPE_WEIGHTS`: peak, busy, grade and `mask_rule.SHAPE`'s
features, fitted standardised and printed in raw units), each photo's grey copy (BT.601 luma) added to the clean
ones, and on the odd photos the share of masked pixels each rule keeps at the same share of damaged pixels kept.
"""

from __future__ import annotations

import numpy as np
import torch

from _common import base_parser, set_threads
from restoration import AGING_STRENGTH, luma3, square_photo

FORCED = ["scratches", "dust", "creases", "fade", "grain"]


def components(net: torch.nn.Module, x: np.ndarray, true: np.ndarray, shape: bool = False
               ) -> list[tuple[np.ndarray, int, int]]:
    """(features, damaged pixels, undamaged pixels) of each component of the model's mask on x (with `shape`, the
    rule's shape features too)."""
    from daguerre.nets.mask_rule import component_features

    with torch.inference_mode():
        toned = net.toned(torch.from_numpy(np.ascontiguousarray(x))[None])
        prob = net.damage_mask(torch.from_numpy(np.ascontiguousarray(x))[None], rule=False)[0, 0].numpy()
    lum = (0.299 * toned[0, 0] + 0.587 * toned[0, 1] + 0.114 * toned[0, 2]).numpy()
    labels, features = component_features(prob, lum, toned[0].numpy() if shape else None)
    damaged = np.bincount(labels.ravel(), weights=(true > 0.5).ravel(), minlength=len(features) + 1)[1:]
    size = np.bincount(labels.ravel(), minlength=len(features) + 1)[1:]
    return [(f, int(d), int(s - d)) for f, d, s in zip(features, damaged, size, strict=True)]


def fit(features: torch.Tensor, damaged: torch.Tensor, undamaged: torch.Tensor) -> tuple[np.ndarray, float]:
    """(weights, bias) of the pixel-weighted logistic regression of damaged against undamaged (LBFGS)."""
    weights = torch.zeros(features.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    solver = torch.optim.LBFGS([weights, bias], max_iter=500, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        solver.zero_grad()
        z = features @ weights + bias
        value = damaged * torch.nn.functional.softplus(-z) + undamaged * torch.nn.functional.softplus(z)
        value = value.sum() / (damaged + undamaged).sum()
        value.backward()
        return value

    solver.step(loss)
    return weights.detach().numpy(), bias.item()


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="training photos (default 60)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    parser.add_argument("--shape", action="store_true", help="fit the shape rule too (`mask_rule.SHAPE`'s "
                        "features after peak, busy, grade) and compare it with the shipped rule at equal recall")
    args = parser.parse_args()
    set_threads(args.threads)
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age
    from daguerre.nets.mask_rule import SHAPE, WEIGHTS
    from daguerre.ops.task_models import task_model

    _, net = task_model("restore", None)
    rows: list[tuple[str, int, np.ndarray, int, int]] = []
    for i, path in enumerate(photos("train", graphics=False)[: args.n]):
        clean = square_photo(path, args.size)
        rows += [("clean", i, *c) for c in components(net, clean, np.zeros(clean.shape[1:]), args.shape)]
        if args.shape:  # an archive's prints are mostly grey: their false alarms too
            rows += [("grey", i, *c) for c in components(net, luma3(clean), np.zeros(clean.shape[1:]), True)]
        for seed, effects in ((i, None), (1000 + i, FORCED)):
            aged = age(clean, seed=seed, strength=AGING_STRENGTH, effects=effects)
            rows += [("aged", i, *c) for c in components(net, np.repeat(aged.image, 3 // aged.image.shape[0], 0),
                                                      aged.mask, args.shape)]
    kind, odd = np.array([r[0] for r in rows]), np.array([r[1] % 2 == 1 for r in rows])
    features = torch.tensor(np.stack([r[2] for r in rows]), dtype=torch.float64)
    damaged, undamaged = (torch.tensor([r[k] for r in rows], dtype=torch.float64) for k in (3, 4))
    fit_rows = torch.from_numpy(~odd & (kind != "grey"))  # the shipped rule's data
    w, bias = fit(features[fit_rows, :3], damaged[fit_rows], undamaged[fit_rows])
    print(f"{len(rows)} mask pieces of {args.n} photos x 3; weights (peak, busy, grade) {np.round(w, 2)}, "
          f"bias {bias:.2f} (the 50% threshold is {-bias:.2f})")
    score = features[:, :3].numpy() @ w
    clean, aged = (kind == "clean") & odd, (kind == "aged") & odd
    d, u = damaged.numpy(), undamaged.numpy()
    print("odd photos: threshold | clean masked pixels kept | aged: damaged pixels kept | aged: false alarms kept")
    for t in (1.5, 2.0, 2.5, 3.0, 3.5, 4.0):
        keep = score >= t
        print(f"{t:9} | {u[clean & keep].sum() / u[clean].sum():.2f} | {d[aged & keep].sum() / d[aged].sum():.3f} | "
              f"{u[aged & keep].sum() / u[aged].sum():.2f}")
    if not args.shape:
        return
    x, fit_rows = features.numpy(), ~odd
    mean, std = x[fit_rows].mean(0), x[fit_rows].std(0) + 1e-9  # standardised for the fit, weights in raw units
    ws, bs = fit(torch.from_numpy((x - mean) / std)[fit_rows], damaged[fit_rows], undamaged[fit_rows])
    raw = ws / std
    names = ("peak", "busy", "grade", *SHAPE)
    print("shape rule (fitted on clean, grey, aged): SHAPE_WEIGHTS = [" + ", ".join(f"{v:.3f}" for v in raw) + "] ("
          + ", ".join(names) + f"); its 50% threshold {-(bs - (ws * mean / std).sum()):.2f}")
    shipped, new = x[:, :3] @ WEIGHTS, x @ raw
    aged = odd & (kind == "aged")
    print("odd photos, the shape rule at the shipped rule's share of damaged pixels kept (aged): shipped threshold | "
          "damaged kept | masked pixels kept, shipped -> shape: clean | grey | aged false alarms | shape threshold")
    grid = np.quantile(new, np.linspace(0, 1, 4001))
    for t in (2.5, 3.0, 3.5, 4.0):
        target = d[aged & (shipped >= t)].sum() / d[aged].sum()
        g = grid[max(i for i, v in enumerate(grid) if d[aged & (new >= v)].sum() / d[aged].sum() >= target)]
        share = [f"{u[m & (shipped >= t)].sum() / u[m].sum():.2f} -> {u[m & (new >= g)].sum() / u[m].sum():.2f}"
                 for m in (odd & (kind == "clean"), odd & (kind == "grey"), aged)]
        print(f"{t:5} | {target:.3f} | " + " | ".join(share) + f" | {g:.2f}")


if __name__ == "__main__":
    main()
