"""Is a picture faded or cast at all? Classical evidence for restore's ToneNet (issue 17), on training photos only.

    PYTHONPATH=src python benchmarks/tone_evidence.py [--n 24] [--size 256] --threads 1

The ToneNet was trained on the `train` split, so on training photos it has learnt they need nothing; on held-out
clean photos (a vivid meadow, a night scene) it corrects as much as on their damaged copies. This measures, on
the 64 px thumbnail the ToneNet sees, what fading and casts do that clean photos do not (`features`), on the
first --n training photos at --size px, as they are (`clean`), saturation-boosted (`vivid`), darkened (`dark`),
and with `age`'s tone effects at the benchmark's strength: `fade`, `yellowing`, `colour_cast`, `toned` (grey,
then yellowing) and `aged` (`age`, seed i). For each it prints the features' spread per set, and the ToneNet's
correction alone (the card's gate; then scaled by each evidence gate of `GATES`) as PSNR against the truth.
Held-out photos are never used. Writes results/tone_evidence.json.
"""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from _common import RESULTS, base_parser, print_header, set_threads
from restoration import AGING_STRENGTH, luma3, square_photo

SCALES = np.linspace(0, 1, 11)
CAP = 45.0  # dB: a clean picture left alone is infinitely close to itself
TONE_SETS = {"fade": ["fade"], "yellowing": ["yellowing"], "colour_cast": ["colour_cast"],
             "toned": ["grey", "yellowing"]}


def training_sets(n: int, size: int, split: str = "train",
                  agings: int = 1) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(input, truth) per photo of each set, from the first n photos of a training split; the aged sets have
    `agings` cases per photo (the first with the seeds of one, the others with their own)."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age

    sets: dict[str, list] = {}
    if split == "heldout":
        raise ValueError("tone sets are built from training photos only")
    for i, path in enumerate(photos(split, graphics=False)[:n]):
        clean = square_photo(path, size)
        lum = luma3(clean)
        sets.setdefault("clean", []).append((clean, clean))
        vivid = np.clip(lum + 1.8 * (clean - lum), 0, 1).astype(np.float32)
        sets.setdefault("vivid", []).append((vivid, vivid))
        dark = (0.7 * clean ** 2.2).astype(np.float32)
        sets.setdefault("dark", []).append((dark, dark))
        for j in range(agings):
            for k, (name, effects) in enumerate(TONE_SETS.items()):
                aged = age(clean, seed=4000 + 10 * i + k + 100_000 * j, strength=AGING_STRENGTH, effects=effects)
                truth = lum if is_monochrome(aged.params) else clean
                sets.setdefault(name, []).append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), truth))
            aged = age(clean, seed=i + 100_000 * j, strength=AGING_STRENGTH)
            truth = lum if is_monochrome(aged.params) else clean
            sets.setdefault("aged", []).append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), truth))
    return sets


def features(thumb: torch.Tensor) -> dict[str, float]:
    """Classical tone evidence of one thumbnail (1,3,h,w)."""
    x = thumb[0].flatten(1)
    q = torch.quantile(x, torch.tensor([0.01, 0.99]), dim=1)  # (2, 3): per-channel black and white levels
    lum = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    lq = torch.quantile(lum, torch.tensor([0.01, 0.99]))
    rg, yb = x[0] - x[1], 0.5 * (x[0] + x[1]) - x[2]
    chroma = torch.stack([rg, yb])
    mean = chroma.mean(1)
    spread = (chroma - mean[:, None]).norm(dim=0).mean()
    sat = (x.amax(0) - x.amin(0)).mean()
    return {"black": float(q[0].max()), "black_min": float(q[0].min()), "white_gap": float(1 - q[1].min()),
            "luma_black": float(lq[0]), "luma_range": float(lq[1] - lq[0]), "cast": float(mean.norm()),
            "spread": float(spread), "cast_ratio": float(mean.norm() / (spread + 0.02)), "saturation": float(sat),
            "level_gap": float(q[0].max() - q[0].min())}


# (black_lo, black_hi, tint_lo, tint_hi): the correction scaled by max(ramp(black_min), ramp(cast_ratio)); the
# first was chosen by a grid over these thresholds (the best mean gain on clean / vivid / dark whose tone sets each
# lose at most 0.1 dB), the others show its neighbourhood.
GATES = [(0.01, 0.05, 0.6, 0.8), (0.01, 0.05, 1.0, 1.5), (0.03, 0.07, 0.6, 0.8)]


def evidence(row: dict, gate: tuple[float, float, float, float]) -> float:
    """A picture's evidence of fading or a cast in [0, 1] under `gate` (`GATES`)."""
    ramp = lambda v, lo, hi: float(np.clip((v - lo) / (hi - lo), 0, 1))  # noqa: E731
    return max(ramp(row["black_min"], *gate[:2]), ramp(row["cast_ratio"], *gate[2:]))


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="training photos per set (default 24)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("restore tone: classical evidence of fading and casts", args)
    from daguerre.metrics import psnr
    from daguerre.nets.tone_net import THUMBNAIL
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    tone = net.tone
    rows: dict[str, list[dict]] = {}
    for name, cases in training_sets(args.n, args.size).items():
        for x, truth in cases:
            xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
            with torch.inference_mode():
                thumb = F.interpolate(xt, size=(THUMBNAIL, THUMBNAIL), mode="bilinear", antialias=True,
                                      align_corners=False)
                p = tone.params(xt)
                y = tone.apply(xt, p).clamp(0, 1)
                change = float((tone.apply(thumb, p) - thumb).abs().mean())
            curve = []  # PSNR (capped at CAP dB) with the correction scaled by each of SCALES
            for s in SCALES:
                with torch.inference_mode():
                    ys = tone.apply(xt, p * s).clamp(0, 1)[0].numpy()
                curve.append(min(psnr(ys, truth), CAP))
            row = features(thumb) | {"change": change, "psnr_none": psnr(x, truth),
                                     "psnr_tone": psnr(y[0].numpy(), truth), "curve": curve}
            rows.setdefault(name, []).append(row)
    keys = [k for k in rows["clean"][0] if k != "curve"]
    print("set | " + " | ".join(keys))
    for name, rs in rows.items():
        cells = [f"{np.median([r[k] for r in rs]):.3f} ({min(r[k] for r in rs):.3f}-{max(r[k] for r in rs):.3f})"
                 for k in keys]
        print(f"{name:>12} | " + " | ".join(cells))
    for gate in GATES:
        gains = {name: np.mean([np.interp(evidence(r, gate), SCALES, r["curve"]) - r["curve"][-1] for r in rs])
                 for name, rs in rows.items()}
        print(f"evidence gate {gate}: PSNR of the ToneNet alone against the card's, per set:",
              {k: round(float(v), 2) for k, v in gains.items()})
    path = RESULTS / "tone_evidence.json"
    path.write_text(json.dumps({"machine": info, "model": card.sha256, "n": args.n, "size": args.size,
                                "rows": rows}, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
