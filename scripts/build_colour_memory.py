"""Build colorize's colour memory (`nets.colour_memory`) from the colour photographs of a training split: each read
at short side 256 (as training), seen in grey by the frozen VGG16 at the operation's working size, its descriptors
and ab pooled, reduced by PCA and stored as float16 safetensors.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python scripts/build_colour_memory.py --split fit --out FILE
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

MIN_CHROMA = 8.0  # as recipes/colorize*.toml: nearly grey photos teach nothing about colour


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="fit", choices=["fit", "train"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pool", type=int, default=4, help="positions pooled per side at quarter working size")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from daguerre.data.folder import load_rgb
    from daguerre.data.sources import photos, require_photo_sources
    from daguerre.imaging.lab import AB_SCALE, lab_split
    from daguerre.nets.colour_memory import build_memory, save_memory
    from daguerre.nets.correspondence import grey_features, match_keys
    from daguerre.ops.colorize import RENDER_SIZE, working

    require_photo_sources("scripts/build_colour_memory.py")
    pictures = []
    for path in photos(args.split, graphics=False):
        rgb = load_rgb(path, 256).float()[None] / 255
        lightness, ab = lab_split(working(rgb, RENDER_SIZE))
        if float(ab.norm(dim=1).mean()) * AB_SCALE < MIN_CHROMA:
            continue
        with torch.no_grad():
            keys = match_keys(*grey_features(lightness))
        quarter = F.avg_pool2d(ab, 4)
        pictures.append((keys.view(1, -1, *quarter.shape[-2:]), quarter))
    memory = build_memory(pictures, pool=args.pool)
    save_memory(memory, args.out)
    print(f"{len(pictures)} colour photos of {args.split!r}: {memory['keys'].shape[1]} positions x "
          f"{memory['keys'].shape[0]} dims, {args.out.stat().st_size / 1e6:.1f} MB -> {args.out}")


if __name__ == "__main__":
    main()
