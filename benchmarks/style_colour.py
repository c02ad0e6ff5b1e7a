"""Colour distance to the painting of every shipped fast style model (and of the photo itself), on held-out photos.

    .venv/bin/python benchmarks/style_colour.py            # the real run
    .venv/bin/python benchmarks/style_colour.py --quick    # checks it runs

The colour distance is `daguerre.metrics.colour_distance` (sliced Wasserstein-1 between the CIELAB pixel sets,
in Lab units; the one style_quality.py reports), between each output and the model's painting. It shows where the
per-style models stand on colour next to the arbitrary-style model's figures in style_quality.py --paintings unseen.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from _common import RESULTS, base_parser, format_table, load_rgb, painting_path, print_header, set_threads, style_models


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--contents", type=int, help="held-out photos (default 6)")
    parser.add_argument("--long-side", type=int, help="photos resized to this long side (default 384)")
    parser.add_argument("--json", nargs="?", const=RESULTS / "style_colour.json", type=Path,
                        help=f"also write the results as JSON (default path {RESULTS.name}/style_colour.json)")
    args = parser.parse_args()
    args.contents = args.contents or (2 if args.quick else 6)
    args.long_side = args.long_side or (128 if args.quick else 384)
    set_threads(args.threads)
    info = print_header("style_colour: fast models' colour distance to their paintings", args)

    from daguerre.data.sources import photos, require_photo_sources
    from daguerre.imaging import Picture
    from daguerre.metrics import colour_distance
    from daguerre.ops.stylize import stylize

    require_photo_sources("benchmarks/style_colour.py")
    held = photos("heldout")
    picks = [load_rgb(held[i * len(held) // args.contents], args.long_side) for i in range(args.contents)]
    cards = style_models()[:2] if args.quick else style_models()
    rows, records = [], []
    for card in cards:
        painting = load_rgb(painting_path(card), 512)
        ours, photo = [], []
        for x in picks:
            with torch.inference_mode():
                y = torch.from_numpy(stylize.run(Picture(x[0].numpy()), model=card.name).rgb())
            ours.append(colour_distance(y, painting[0]))
            photo.append(colour_distance(x[0], painting[0]))
        record = {"model": card.name, "colour_distance": float(np.mean(ours)), "photo_itself": float(np.mean(photo))}
        records.append(record)
        rows.append([card.name, record["colour_distance"], record["photo_itself"]])
        print(f"  {card.name}", flush=True)
    rows.append(["mean", float(np.mean([r[1] for r in rows])), float(np.mean([r[2] for r in rows]))])
    print()
    print(format_table(["fast model", "colour dist (output)", "colour dist (photo itself)"], rows))
    print(f"\nMeans over {args.contents} held-out photos at long side {args.long_side}; Lab units, lower is closer "
          "to the painting's palette.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "quick": args.quick, "models": records}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
