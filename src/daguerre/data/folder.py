"""Image sets held in memory for training: random crops with flips, drawn by a seeded generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from rich.progress import track

from daguerre.imaging.io import ImageError


def load_rgb(path: Path, short_side: int) -> torch.Tensor:
    """Read an image as (3,H,W) uint8 with its short side resized to `short_side`; a file that cannot be read
    is an `ImageError` naming it (a training folder may hold a broken or truncated picture)."""
    try:
        return _load_rgb(path, short_side)
    except (OSError, Image.DecompressionBombError) as e:  # UnidentifiedImageError and truncation are OSErrors
        raise ImageError(path, str(e) or type(e).__name__) from None


def _load_rgb(path: Path, short_side: int) -> torch.Tensor:
    with Image.open(path) as im:
        im.draft("RGB", (short_side * 2, short_side * 2))
        im = ImageOps.exif_transpose(im).convert("RGB")
        scale = short_side / min(im.size)
        size = (max(short_side, round(im.width * scale)), max(short_side, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)


class CropSampler:
    """Random `crop`x`crop` patches from a set of images, reproducible through `generator`."""

    def __init__(self, paths: list[Path], short_side: int, crop: int, progress: bool = True):
        if not paths:
            raise ValueError("no training images found")
        it = track(paths, description="loading images") if progress else paths
        self.images = [load_rgb(p, short_side) for p in it]
        self.crop, self.short_side = crop, short_side
        self.names = [Path(p).name for p in paths]

    def sample(self, batch: int, generator: torch.Generator, crop: int | None = None) -> torch.Tensor:
        """`batch` random crops of `crop` px (default: the sampler's), flipped half the time."""
        crop = crop or self.crop
        if crop > self.short_side:
            raise ValueError(f"crops of {crop} px do not fit in images of short side {self.short_side} px")
        out = torch.empty(batch, 3, crop, crop)
        for i in range(batch):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=generator))]
            _, h, w = img.shape
            y = int(torch.randint(h - crop + 1, (1,), generator=generator))
            x = int(torch.randint(w - crop + 1, (1,), generator=generator))
            patch = img[:, y : y + crop, x : x + crop].float() / 255
            if torch.rand(1, generator=generator) < 0.5:
                patch = patch.flip(-1)
            out[i] = patch
        return out


def sample_one(sampler: CropSampler, index: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """Random crops from image `index` of a sampler only."""
    img = sampler.images[index]
    _, h, w = img.shape
    c = sampler.crop
    out = torch.empty(batch, 3, c, c)
    for i in range(batch):
        y = int(torch.randint(h - c + 1, (1,), generator=generator))
        x = int(torch.randint(w - c + 1, (1,), generator=generator))
        out[i] = img[:, y : y + c, x : x + c].float() / 255
    return out
