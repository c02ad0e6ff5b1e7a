"""Does colorize's "already in colour" note (`imaging.colour.colour_beyond_tone` over `TONED`) tell colour photos
from monochrome prints?

Each photo of a split (at a 512 px long side) is measured as a JPEG (quality 75), and so are prints made from its
grey: `film`'s sepia, cyanotype and daguerreotype looks, each damaged by two seeds of the benchmark's unseen damage
(`damage.py`: scratches, dust, creases, water stains, silvering), and `age`d by four seeds (the ones that stay in
colour). A colour photo should be over `TONED` (noted), a print never.

    .venv/bin/python benchmarks/colour_photo_note.py --split validation --photos 100
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import base_parser, print_header, set_threads  # noqa: E402
from daguerre import api  # noqa: E402
from daguerre.data.sources import photos  # noqa: E402
from daguerre.imaging import Picture  # noqa: E402
from daguerre.imaging.colour import TONED, colour_beyond_tone  # noqa: E402
from damage import damage  # noqa: E402


def as_jpeg(chw: np.ndarray, quality: int = 75) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray((np.clip(chw, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)).save(buf, "JPEG",
                                                                                                  quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"), np.float32).transpose(2, 0, 1) / 255


def stray(chw: np.ndarray) -> float:
    return colour_beyond_tone(torch.from_numpy(np.ascontiguousarray(chw))[None])


def prints(grey: Picture) -> list[np.ndarray]:
    made = []
    for look in ("sepia", "cyanotype", "daguerreotype"):
        toned = api.film(grey, preset=look).pixels
        made += [damage(toned, seed)[0] for seed in range(2)]
    aged = [np.clip(api.age(grey, seed=seed).pixels, 0, 1) for seed in range(4)]
    return made + [a for a in aged if a.shape[0] == 3]


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--split", default="validation", help="validation (to choose on) or heldout (once)")
    parser.add_argument("--photos", type=int, default=100)
    args = parser.parse_args()
    set_threads(args.threads)
    print_header(f"colour photo or monochrome print ({args.split})", args)
    colour, toned = [], []
    for path in photos(args.split)[: args.photos]:
        image = Image.open(path).convert("RGB")
        image.thumbnail((512, 512))
        rgb = np.asarray(image, np.float32).transpose(2, 0, 1) / 255
        if np.abs(rgb - rgb.mean(0)).max() < 2 / 255:  # a grey photo: neither
            continue
        grey = Picture(np.repeat(np.tensordot([0.299, 0.587, 0.114], rgb, 1).astype(np.float32)[None], 3, 0))
        colour.append(stray(as_jpeg(rgb)))
        made = [stray(as_jpeg(p)) for p in prints(grey)]
        toned += made
        print(f"{path.name[:28]:28}  colour {colour[-1]:5.1f}   its prints: max {max(made):4.1f}", flush=True)
    colour, toned = np.array(colour), np.array(toned)
    print(f"\nTONED = {TONED}")
    print(f"colour photos: {len(colour)}, noted {int((colour > TONED).sum())} ({np.mean(colour > TONED):.0%}); "
          f"min {colour.min():.1f}, median {np.median(colour):.1f}")
    print(f"prints: {len(toned)}, noted {int((toned > TONED).sum())}; max {toned.max():.1f}, "
          f"99th percentile {np.percentile(toned, 99):.1f}")


if __name__ == "__main__":
    main()
