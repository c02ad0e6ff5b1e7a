"""Issue 12: does the painting's code get better when the painting is seen at the scale of the training crops?

Runs `style_quality.py` (every argument after `--` is its own) with `styles.image_style` replaced by one variant:
- `whole<N>`: the whole painting at a long side of N px (shipped: whole128);
- `crops<K>_<S>`: the painting held at a short side of 288 px (as in training), K crops of side S px spread over it
  (1: the centre one), each resized to 128 px (the predictor's input size in training); their VGG statistics
  averaged, then the predictor. The palette (Lab moments) is the whole painting's, as shipped.
Give each variant its own XDG_CACHE_HOME: codes are cached on disk by file and size, not by variant.

    XDG_CACHE_HOME=/tmp/enc-crops1 OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/painting_encoding.py \
        crops1_208 -- --paintings unseen --painting-files ... --contents-split validation ...
"""

from __future__ import annotations

import math
import runpy
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]
from daguerre.ops import styles  # noqa: E402

TRAINING_SHORT_SIDE = 288  # PaintingStyleRecipe.style_short_side
PREDICTOR_SIZE = 128  # PaintingStyleRecipe.style_size


def crop_positions(h: int, w: int, side: int, k: int) -> list[tuple[int, int]]:
    if k == 1:
        return [((h - side) // 2, (w - side) // 2)]
    g = math.ceil(math.sqrt(k))
    grid = [(round((h - side) * (i + 0.5) / g), round((w - side) * (j + 0.5) / g)) for i in range(g) for j in range(g)]
    return grid[:k]


def variant_style(variant: str, shipped=styles.image_style):
    def image_style(x: torch.Tensor, model: str = styles.DEFAULT_ARBITRARY_MODEL, size: int = styles.STYLE_SIZE):
        if variant.startswith("whole"):
            return shipped(x, model, int(variant[5:]))
        k, side = (int(v) for v in variant[5:].split("_"))
        _, net = styles.painting_style_model(model)
        whole = shipped(x, model, PREDICTOR_SIZE)  # its palette
        h, w = x.shape[-2:]
        s = TRAINING_SHORT_SIDE / min(h, w)
        held = F.interpolate(x.float(), size=(round(h * s), round(w * s)), mode="bilinear", antialias=True,
                             align_corners=False)
        session = styles._statistics_onnx()
        statistics = []
        with torch.inference_mode():
            for y0, x0 in crop_positions(*held.shape[-2:], side, k):
                crop = F.interpolate(held[..., y0 : y0 + side, x0 : x0 + side], size=(PREDICTOR_SIZE,) * 2,
                                     mode="bilinear", antialias=True, align_corners=False).contiguous()
                statistics.append(session(crop) if session is not None else styles.style_statistics_net()(crop))
            code = net.predictor(torch.stack(statistics).mean(0))
        return styles.PaintingStyle(code, whole.lab_mean, whole.lab_cov)

    return image_style


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        raise SystemExit("usage: painting_encoding.py VARIANT -- STYLE_QUALITY_ARGUMENTS...")
    styles.image_style = variant_style(sys.argv[1])
    sys.argv = [str(HERE / "style_quality.py"), *sys.argv[3:]]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
