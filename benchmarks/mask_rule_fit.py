"""Fits the weights of the restore mask's false-alarm rule (`daguerre.nets.mask_rule`) on training photos.

    PYTHONPATH=src python benchmarks/mask_rule_fit.py [--n 60] [--size 256] --threads 1

The first --n photos of the training split at --size px, each three ways: clean, aged by `imaging.aging.age`
(seed i, strength 0.8) and aged with damage forced (scratches, dust, creases, fade, grain; seed 1000 + i). For each
component of the shipped model's mask (> 0.5, on the tone-corrected picture) its features (peak, busy, grade) and
how many of its pixels are truly damaged (true mask > 0.5) and not. A logistic regression (weighted by those pixel
counts, LBFGS in torch) of damaged against not, fitted on the even-numbered photos, gives the weights; the rule's
threshold is then chosen by `damage_mask.py --rules` (the whole restoration). Prints the weights, and for a few
thresholds the share of clean photos' masked pixels, of damaged pixels and of false-alarm pixels on aged photos
that the rule keeps, on the odd-numbered photos (not fitted on). Held-out photos are never used.
"""

from __future__ import annotations

import numpy as np
import torch

from _common import base_parser, set_threads
from restoration import AGING_STRENGTH, square_photo

FORCED = ["scratches", "dust", "creases", "fade", "grain"]


def components(net: torch.nn.Module, x: np.ndarray, true: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
    """(features, damaged pixels, undamaged pixels) of each component of the model's mask on x."""
    from daguerre.nets.mask_rule import component_features

    with torch.inference_mode():
        toned = net.toned(torch.from_numpy(np.ascontiguousarray(x))[None])
        prob = net.damage_mask(torch.from_numpy(np.ascontiguousarray(x))[None], rule=False)[0, 0].numpy()
    lum = (0.299 * toned[0, 0] + 0.587 * toned[0, 1] + 0.114 * toned[0, 2]).numpy()
    labels, features = component_features(prob, lum)
    damaged = np.bincount(labels.ravel(), weights=(true > 0.5).ravel(), minlength=len(features) + 1)[1:]
    size = np.bincount(labels.ravel(), minlength=len(features) + 1)[1:]
    return [(f, int(d), int(s - d)) for f, d, s in zip(features, damaged, size, strict=True)]


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="training photos (default 60)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    args = parser.parse_args()
    set_threads(args.threads)
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age
    from daguerre.ops.task_models import task_model

    _, net = task_model("restore", None)
    rows: list[tuple[str, int, np.ndarray, int, int]] = []
    for i, path in enumerate(photos("train", graphics=False)[: args.n]):
        clean = square_photo(path, args.size)
        rows += [("clean", i, *c) for c in components(net, clean, np.zeros(clean.shape[1:]))]
        for seed, effects in ((i, None), (1000 + i, FORCED)):
            aged = age(clean, seed=seed, strength=AGING_STRENGTH, effects=effects)
            rows += [("aged", i, *c) for c in components(net, np.repeat(aged.image, 3 // aged.image.shape[0], 0),
                                                      aged.mask)]
    kind, odd = np.array([r[0] for r in rows]), np.array([r[1] % 2 == 1 for r in rows])
    features = torch.tensor(np.stack([r[2] for r in rows]), dtype=torch.float64)
    damaged, undamaged = (torch.tensor([r[k] for r in rows], dtype=torch.float64) for k in (3, 4))
    fit = torch.from_numpy(~odd)
    weights, bias = torch.zeros(3, dtype=torch.float64, requires_grad=True), torch.zeros(1, dtype=torch.float64,
                                                                                          requires_grad=True)
    solver = torch.optim.LBFGS([weights, bias], max_iter=500, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        solver.zero_grad()
        z = features[fit] @ weights + bias
        value = damaged[fit] * torch.nn.functional.softplus(-z) + undamaged[fit] * torch.nn.functional.softplus(z)
        value = value.sum() / (damaged[fit] + undamaged[fit]).sum()
        value.backward()
        return value

    solver.step(loss)
    w = weights.detach().numpy()
    print(f"{len(rows)} mask pieces of {args.n} photos x 3; weights (peak, busy, grade) {np.round(w, 2)}, "
          f"bias {bias.item():.2f} (the 50% threshold is {-bias.item():.2f})")
    score = features.numpy() @ w
    clean, aged = (kind == "clean") & odd, (kind == "aged") & odd
    d, u = damaged.numpy(), undamaged.numpy()
    print("odd photos: threshold | clean masked pixels kept | aged: damaged pixels kept | aged: false alarms kept")
    for t in (1.5, 2.0, 2.5, 3.0, 3.5, 4.0):
        keep = score >= t
        print(f"{t:9} | {u[clean & keep].sum() / u[clean].sum():.2f} | {d[aged & keep].sum() / d[aged].sum():.3f} | "
              f"{u[aged & keep].sum() / u[aged].sum():.2f}")


if __name__ == "__main__":
    main()
