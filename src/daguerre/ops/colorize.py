"""`colorize`: colour for a black-and-white photograph from a trained colorize model (`training.colorize`).

The chroma (Lab ab) is predicted at a working size (`render_size`, the long side: larger is slower and more
detailed, smaller steadier) and upsampled bilinearly to the full picture. The picture's own luminance is kept
exactly at full resolution: the result's BT.601 luma is the input's (`Picture.luminance`), so converting the
result back to grey gives the original. (Its CIE L* differs from the grey's where colours are strong: L*
follows linear luminance, luma the weighted sum of gamma-encoded R, G, B.) Colour inputs are colorized from
their luminance (existing colour, such as sepia toning, is replaced). Grey, 16-bit and EXIF-rotated inputs
keep their size and bit depth.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.imaging import Picture, run_tiled
from daguerre.imaging.colour import downscale
from daguerre.imaging.lab import lab_merge, lab_split, with_luma
from daguerre.ops.base import Operation, Progress, Provenance, register
from daguerre.ops.film import repixel
from daguerre.ops.task_models import model_record, task_model

BAND = 256  # rows composed at a time at full resolution, bounding the memory of the Lab conversion
RENDER_SIZE = 384  # the long side of a training photo (short side 256, recipes/colorize.toml)


class Colorize(Operation):
    name = "colorize"
    version = "1"
    summary = "Colorize a black-and-white photograph, keeping its luminance exactly"

    def run(self, picture: Picture, progress: Progress | None = None, *, model: str | None = None,
            render_size: int = RENDER_SIZE, tile: int = 1024, **unknown: object) -> Picture:
        if unknown:
            raise TypeError(f"colorize: unknown parameter(s) {', '.join(unknown)}")
        if render_size < 16:
            raise ValueError(f"render_size must be at least 16 pixels, got {render_size}")
        _, net = task_model("colorize", model)
        rgb = torch.from_numpy(picture.rgb())[None]
        with torch.inference_mode():
            lightness, _ = lab_split(downscale(rgb, render_size))
            # four times the U-Net's receptive field radius: tiled equals whole
            overlap = min(4 * net.receptive_radius, tile // 3 // net.multiple * net.multiple)
            ab = run_tiled(net, lightness, tile=tile, overlap=overlap, multiple=net.multiple, progress=progress)
            ab = F.interpolate(ab, size=rgb.shape[-2:], mode="bilinear", align_corners=False)
            y = torch.from_numpy(picture.luminance())[None, None]
            out = np.empty((3, *rgb.shape[-2:]), np.float32)
            for r in range(0, rgb.shape[-2], BAND):
                rows = slice(r, r + BAND)
                full_l, _ = lab_split(rgb[..., rows, :])
                out[:, rows] = with_luma(lab_merge(full_l, ab[..., rows, :]), y[..., rows, :])[0].numpy()
        return repixel(picture, out)

    def provenance(self, **params: object) -> Provenance:
        card, _ = task_model("colorize", params.get("model"))  # type: ignore[arg-type]
        return Provenance(self.name, self.version, dict(params), [model_record(card)])


colorize = register(Colorize())
