"""Tune the colorize operation's constants on the validation photos (`sources.photos("validation")`: part of the
training split that `recipes/colorize.toml` does not fit on; never the held-out ones), cut as
`benchmarks/colorize.py` cuts the held-out photos. Prints, for each setting of one stage, the mean chroma error
as a fraction of grey's (and colourfulness / LPIPS for the automatic mode).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/colorize_tune.py --stage hints [--models DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

import numpy as np
import torch

import colorize as bench
from _common import set_threads

GRIDS = {
    "eval": {"ops.NET_CORRECTS": [0.0, 1.0]},
    "strength": {"ops.NET_CORRECTS": [0.2, 0.4]},
    "upsample": {"ops.UPSAMPLE_SIGMA_S": [0.5], "ops.UPSAMPLE_SIGMA_R": [0.03, 0.05, 0.1, 1e3]},
    "reference": {"cc.REF_TEMPERATURE": [0.005, 0.01, 0.02], "cc.REF_SIGMA_L": [None, 10.0, 20.0]},
    "hints": {"cc.HINT_SIGMA_XY": [0.1, 0.15, 0.25], "cc.HINT_SIGMA_L": [7.0, 10.0, 15.0, 25.0],
              "cc.HINT_TAU": [0.05, 0.1, 0.2, 0.4]},
    "floor": {"cc.HINT_FLOOR": [3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3], "cc.HINT_TAU": [0.05, 0.1]},
    "floor_small": {"cc.HINT_FLOOR": [3e-4, 1e-3]},
    "floor_kernel": {"cc.HINT_FLOOR": [0.003, 0.01], "cc.HINT_SIGMA_L": [7.0, 10.0], "cc.HINT_SIGMA_XY": [0.15, 0.25]},
    "floor_tau": {"cc.HINT_FLOOR": [3e-4, 1e-3, 3e-3], "cc.HINT_SIGMA_XY": [0.15, 0.25, 0.3, 0.35],
                  "cc.HINT_TAU": [0.2, 0.3, 0.5]},  # with the floor, a wider kernel and a softer feature term
    "edge": {"cc.HINT_EDGE": [None, 20.0, 40.0], "cc.HINT_SMOOTH": [None, 0.1, 0.3], "cc.HINT_SIGMA_XY": [0.25, 0.35]},
    "prior": {"ops.HINT_PRIOR": [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3]},  # with --models: a net not fit on these
    "auto": {"ops.ANNEALED_T": [0.38, 0.6, 1.0], "ops.CHROMA_GAIN": [0.7, 1.0]},
    "smooth": {"ops.ANNEALED_T": [0.38, 0.6], "ops.AUTO_BLUR": [2.0, 4.0], "ops.CHROMA_GAIN": [0.8, 0.9, 1.0, 1.1]},
    # the colour bank (--models: a folder with a bank from scripts/build_colour_bank.py)
    "bank": {"ops.AUTO_SOURCE": ["net", "bank", "bank-ref", "blend"]},
    "bank_match": {"ops.BANK_K": [8, 16, 64], "ops.BANK_T": [0.01, 0.02, 0.05]},
    "bank_smooth": {"ops.BANK_STRIDE": [1, 2], "ops.BANK_BLUR": [2.0, 4.0, 8.0],
                    "ops.BANK_SIGMA_L": [None, 10.0, 20.0]},
    "bank_blend": {"ops.BANK_WEIGHT": [0.25, 0.5, 0.75]},
    "bank_colour": {"ops.BANK_REBALANCE": [0.0, 0.5, 1.0], "ops.BANK_GAIN": [1.0, 1.3, 1.6]},
    "bank_gain": {"ops.BANK_GAIN": [1.8, 2.0]},
    "bank_region": {"ops.BANK_REGION": [0, 8, 16], "ops.BANK_REGION_EPS": [1e-3, 1e-2]},
    "bank_readout": {"ops.BANK_ANNEALED_T": [0.3, 0.4, 0.6], "ops.BANK_GAIN": [1.8, 2.0, 2.2]},
    # the photo-coherent lookup (a bank with photo indices)
    "bank_vote": {"ops.BANK_VOTE": [0.0, 0.5, 1.0, 2.0, 4.0]},
    "bank_vote_gain": {"ops.BANK_VOTE": [1.0, 2.0, 4.0], "ops.BANK_GAIN": [1.4, 1.7, 2.0, 2.2]},
    "bank_vote_window": {"ops.BANK_VOTE": [1.0, 2.0], "ops.BANK_VOTE_WINDOW": [16, 32, 64]},
    "bank_vote_readout": {"ops.BANK_VOTE": [1.0, 2.0, 4.0], "ops.BANK_ANNEALED_T": [0.35, 0.45],
                          "ops.BANK_GAIN": [2.1, 2.3]},
    "bank_vote_strong": {"ops.BANK_VOTE": [4.0, 8.0, 16.0], "ops.BANK_GAIN": [1.8, 1.9, 2.0]},
    "bank_vote_region": {"ops.BANK_REGION": [4, 6], "ops.BANK_REGION_EPS": [1e-2, 3e-3]},
    "bank_vote_pick": {"ops.BANK_VOTE": [2.0, 4.0], "ops.BANK_ANNEALED_T": [0.3, 0.35],
                       "ops.BANK_GAIN": [1.9, 2.0, 2.1]},
    "bank_vote_fine": {"ops.BANK_VOTE": [1.0, 2.0], "ops.BANK_VOTE_WINDOW": [0, 32, 64],
                       "ops.BANK_GAIN": [2.1, 2.2, 2.3]},
    "bank_data": {"ops.BANK_GAIN": [2.2, 2.5, 2.8]},  # a bank of other photos or views: its gain re-tuned
    "bank_data_fine": {"ops.BANK_GAIN": [2.6, 2.7]},
    "bank_data_mid": {"ops.BANK_GAIN": [2.65]},
    # hints over another colour: a reference's (its weight under the hints) or the automatic one (few hints)
    "hint_prior_ref": {"ops.HINT_PRIOR_REF": [0.0, 1e-4, 1e-3, 1e-2, 0.1, 1.0]},
    "hint_prior_ref_fine": {"ops.HINT_PRIOR_REF": [0.003, 0.02, 0.03]},
    "hint_prior": {"ops.HINT_PRIOR": [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]},
    # a bank with training paintings (build_colour_bank.py --paintings): their logit penalty and the gain
    "bank_paint": {"ops.BANK_PAINTING": [0.0, 1.0, 2.0, 4.0, 8.0], "ops.BANK_GAIN": [2.2, 2.5, 2.8]},
    "bank_paint_some": {"ops.BANK_PAINTING": [0.0, 2.0, 4.0], "ops.BANK_GAIN": [2.5, 2.7]},
    "bank_paint_pick": {"ops.BANK_PAINTING": [1.0, 2.0, 3.0], "ops.BANK_GAIN": [2.7, 2.8]},
    "bank_paint_fine": {"ops.BANK_PAINTING": [0.0, 1.0, 2.0, 4.0], "ops.BANK_GAIN": [2.3, 2.4, 2.6, 2.7]},
    "bank_paint_readout": {"ops.BANK_PAINTING": [1.0, 2.0], "ops.BANK_ANNEALED_T": [0.35, 0.45],
                           "ops.BANK_GAIN": [2.3, 2.5, 2.7]},
    "bank_as_set": {"ops.BANK_K": [16]},  # one run with the shipped constants and `--set` (e.g. with `--save`)
}
MODES = {"eval": ["auto", "overlap", "disjoint", "hints"], "strength": ["overlap", "disjoint", "hints"],
         "upsample": ["overlap", "hints"], "reference": ["overlap", "disjoint"], "auto": ["auto"],
         "smooth": ["auto"], "hint_prior_ref": ["overlap", "overlap+hints", "disjoint", "disjoint+hints"],
         "hint_prior_ref_fine": ["overlap+hints", "disjoint+hints"],
         "hint_prior": ["1 hint", "3 hints", "hints"]}  # the bank stages: auto; the other stages: hints only


def cached_features() -> None:
    """VGG features are the same for every setting: compute each picture's once."""
    from daguerre.nets import correspondence as cc

    original, memo = cc.grey_features, {}

    def features(lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (tuple(lightness.shape), float(lightness.sum()), float(lightness.flatten()[::97].sum()))
        if key not in memo:
            memo[key] = original(lightness)
        return memo[key]

    cc.grey_features = features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=list(GRIDS), required=True)
    parser.add_argument("--models", type=Path)
    parser.add_argument("--n", type=int)
    parser.add_argument("--set", nargs="*", default=[], help="fixed settings, e.g. cc.HINT_TAU=0.1")
    parser.add_argument("--save", type=Path, help="write the automatic outputs here (PNG, one per photo and setting)")
    args = parser.parse_args()
    if args.models:
        os.environ["DAGUERRE_MODELS"] = os.pathsep.join([str(args.models), os.environ.get("DAGUERRE_MODELS", "")])
    set_threads(1)
    from daguerre.metrics import chroma_error, colourfulness, lpips
    from daguerre.nets import correspondence as cc
    from daguerre.ops import colorize as ops

    cached_features()
    modules = {"cc": cc, "ops": ops}
    for item in args.set:
        name, value = item.split("=")
        mod, attr = name.split(".")
        setattr(modules[mod], attr, None if value == "None" else type(getattr(modules[mod], attr) or 1.0)(value))
    data, _ = bench.cases(argparse.Namespace(split="validation", n=args.n, size=256))
    grey = float(np.mean([chroma_error(c.grey, c.truth) for c in data]))
    truth_cf = float(np.mean([colourfulness(c.truth) for c in data]))
    modes = MODES.get(args.stage, ["auto"] if args.stage.startswith("bank") else ["hints"])
    grey_lpips = float(np.mean([lpips(c.grey, c.truth) for c in data])) if "auto" in modes else 0.0
    print(f"{len(data)} validation photos; grey's chroma error {grey:.2f}, LPIPS {grey_lpips:.4f}; truth's "
          f"colourfulness {truth_cf:.1f}", flush=True)
    runs = {"auto": bench.ours(None), "overlap": bench.ours(None, reference="overlap"),
            "disjoint": bench.ours(None, reference="disjoint"), "hints": bench.ours(None, hints=True),
            "overlap+hints": bench.ours(None, reference="overlap", hints=True),
            "disjoint+hints": bench.ours(None, reference="disjoint", hints=True)}
    runs["1 hint"], runs["3 hints"] = bench.first_hints(runs["hints"], 1), bench.first_hints(runs["hints"], 3)
    if args.stage in ("reference", "eval"):
        for which in ("overlap", "disjoint"):
            base = bench.matching_baseline(which)
            print(f"  baseline {which}: {np.mean([chroma_error(base(c), c.truth) for c in data]) / grey:.3f}")
    if "hints" in modes:
        naive = [np.clip(bench.naive_hints(c), 0, 1) for c in data]
        pairs = list(zip(naive, data, strict=True))
        print(f"  naive hints: {np.mean([chroma_error(o, c.truth) for o, c in pairs]) / grey:.3f}, "
              f"LPIPS {np.mean([lpips(o, c.truth) for o, c in pairs]):.4f}", flush=True)
    grid = GRIDS[args.stage]
    for values in itertools.product(*grid.values()):
        for name, value in zip(grid, values, strict=True):
            mod, attr = name.split(".")
            setattr(modules[mod], attr, value)
        line = []
        with torch.inference_mode():
            for mode in modes:
                outs = [np.clip(runs[mode](c), 0, 1) for c in data]
                err = np.mean([chroma_error(o, c.truth) for o, c in zip(outs, data, strict=True)]) / grey
                line.append(f"{mode} {err:.4f}")
                if "hint" in mode:
                    line.append(f"LPIPS {np.mean([lpips(o, c.truth) for o, c in zip(outs, data, strict=True)]):.4f}")
                if mode == "auto" and args.save:
                    from PIL import Image

                    args.save.mkdir(parents=True, exist_ok=True)
                    tag = "_".join(f"{n.split('.')[1]}={v}" for n, v in zip(grid, values, strict=True))
                    for i, o in enumerate(outs):
                        Image.fromarray((o.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(
                            args.save / f"{i:02d}_{tag}.png")
                if mode == "auto":
                    cf = np.mean([colourfulness(o) for o in outs]) / truth_cf
                    lp = np.mean([lpips(o, c.truth) for o, c in zip(outs, data, strict=True)])
                    line.append(f"colourfulness {cf:.3f} LPIPS {lp:.4f}")
        print("  " + " ".join(f"{n.split('.')[1]}={v}" for n, v in zip(grid, values, strict=True)) + ": "
              + ", ".join(line), flush=True)


if __name__ == "__main__":
    main()
