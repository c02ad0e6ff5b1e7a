"""Colour from a collection (issue 17): `colorize --bank`, a colour bank made by `daguerre train colour-bank` from
colour photos, on held-out photographs cut as `benchmarks/colorize.py` cuts them (the target a half given grey).

Two collections, each made through `api.train_colour_bank` (the shipped bank and the collection's photos):
- *same scenes*: the other halves of all the held-out photos (no target pixel in it; which half goes with which
  target is not given: the bank has to find it). Compared with that half given as `--reference` (the disjoint
  reference row of `colorize.py`), which needs a person to pair every photo with its reference.
- *other photos only* (leave one out): for each target, the other held-out photos whole, never its own: what a
  collection brings to a photo of a scene it does not show (held-out series such as the campus shots have
  siblings in it).
Rows: grey, the shipped bank (plain automatic), each collection, the disjoint reference, truth; colourfulness,
chroma error (and as a fraction of grey's), LPIPS.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/colorize_collection.py [--n N]
Writes benchmarks/results/colorize_collection.json and colorize_collection_grid.jpg.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import colorize as bench
from _common import RESULTS, base_parser, format_table, print_header, set_threads


def save(x: np.ndarray, path: Path) -> Path:
    Image.fromarray((x.transpose(1, 2, 0).clip(0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, help="held-out photos (default all)")
    parser.add_argument("--size", type=int, default=256, help="photos' short side in px (default 256)")
    parser.add_argument("--grid-rows", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("Colour from a collection (colorize --bank)", args)
    from daguerre import api
    from daguerre.data.folder import load_rgb
    from daguerre.data.sources import group_of, photos

    data, skipped = bench.cases(args)
    names = {c.name for c in data}
    whole = {}  # each held-out colour photo whole, for the leave-one-out collections
    for path in photos("heldout", graphics=False):
        if group_of(path) in names:
            whole[group_of(path)] = load_rgb(path, args.size).float().numpy() / 255
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["DAGUERRE_MODELS"] = str(root / "models")
        halves = root / "halves"
        halves.mkdir()
        for i, case in enumerate(data):
            save(case.disjoint, halves / f"{i:02d}.png")
        start = time.perf_counter()
        api.train_colour_bank(halves, "same-scenes", out=root / "models")
        built = {"same-scenes": round(time.perf_counter() - start, 1)}
        for i in range(len(data)):
            others = root / f"others-{i:02d}"
            others.mkdir()
            for j, other in enumerate(data):
                if j != i:
                    save(whole[other.name], others / f"{j:02d}.png")
            api.train_colour_bank(others, f"others-{i:02d}", out=root / "models")
        print(f"banks built ({built['same-scenes']} s for the {len(data)} halves)", flush=True)
        index = {c.name: i for i, c in enumerate(data)}
        rows = [bench.Row("grey", lambda c: c.grey),
                bench.Row("automatic: shipped bank", bench.ours(None)),
                bench.Row("automatic: --bank same scenes", bench.ours(None, bank="same-scenes")),
                bench.Row("automatic: --bank other photos only",
                          lambda c: bench.ours(None, bank=f"others-{index[c.name]:02d}")(c)),
                bench.Row("disjoint half as --reference", bench.ours(None, reference="disjoint")),
                bench.Row("truth", lambda c: c.truth)]
        bench.score(rows, data, args.grid_rows)
    grey = rows[0].mean("chroma_error")
    truth_cf = rows[-1].mean("colourfulness")
    table = [[r.name, r.mean("colourfulness"), r.mean("colourfulness") / truth_cf, r.mean("chroma_error"),
              r.mean("chroma_error") / grey, r.mean("lpips")] for r in rows]
    print()
    print(format_table(["method", "colourfulness", "/ truth's", "chroma err", "/ grey's", "LPIPS"], table))
    print(f"{len(data)} held-out colour photos ({', '.join(skipped) or 'none'} skipped as nearly grey)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "colorize_collection.json").write_text(json.dumps(
        {"machine": info, "photos": len(data), "skipped_grey": skipped, "build_seconds": built,
         "rows": [{"method": r.name, "mean": {k: r.mean(k) for k in r.scores}, "per_photo": r.scores} for r in rows]},
        indent=1))
    m = {r.name: r for r in rows}
    bench.grid(args.out / "colorize_collection_grid.jpg", data[: args.grid_rows], m,
               ["grey", "automatic: shipped bank", "automatic: --bank same scenes",
                "automatic: --bank other photos only", "(disjoint reference)", "disjoint half as --reference",
                "truth"])


if __name__ == "__main__":
    main()
