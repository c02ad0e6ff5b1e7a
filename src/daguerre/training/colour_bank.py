"""Build a `ColourBank` (`nets.colour_bank`) from colour photographs: no training, a choice of examples.

Each photo (short side `SHORT_SIDE`, as the colorize recipes) is seen as the operation sees a grey photo: its
BT.601 luma at the working size (`ops.colorize.working`), through the frozen VGG16 (`match_keys`). A PCA fit on
a random sample of all photos' positions reduces the descriptors to `dims`; each photo then gives `per_photo`
entries: the positions nearest the centres of a k-means of its own descriptors (so a photo's small parts, a
face or a flower, are kept beside its large ones), with the ab (4 x 4 mean) and L there, and the photo's index
(for the lookup's vote by photo).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from daguerre.nets.colour_bank import ColourBank

SHORT_SIDE = 256
MIN_CHROMA = 8.0  # as recipes/colorize-fit.toml: nearly grey photos teach nothing about colour
PCA_SAMPLE = 2000  # positions per photo the PCA is fit on


def photo_positions(path: Path, render_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """A photo's descriptors (768,N) fp16, ab (2,N) and L (N,) at quarter working size; None if nearly grey."""
    from daguerre.data.folder import load_rgb
    from daguerre.imaging import Picture
    from daguerre.imaging.lab import AB_SCALE, lab_split
    from daguerre.nets.correspondence import grey_features, match_keys
    from daguerre.ops.colorize import working

    x = load_rgb(path, SHORT_SIDE).float()[None] / 255
    if float(lab_split(x)[1].norm(dim=1).mean()) * AB_SCALE < MIN_CHROMA:
        return None
    small = working(x, render_size)
    grey = torch.from_numpy(Picture(small[0].numpy()).luminance())[None, None].expand(-1, 3, -1, -1)
    lightness = lab_split(grey)[0]
    with torch.inference_mode():
        keys = match_keys(*grey_features(lightness))[0].half()
    ab = F.avg_pool2d(lab_split(small)[1], 4).flatten(2)[0]
    return keys, ab, F.avg_pool2d(lightness, 4).flatten()


def kmeans_medoids(x: torch.Tensor, k: int, generator: torch.Generator, iterations: int = 15) -> torch.Tensor:
    """Indices of the k rows of x (N,D) nearest the centres of a k-means (cosine) of x (all rows if N <= k)."""
    if len(x) <= k:
        return torch.arange(len(x))
    centres = x[torch.randperm(len(x), generator=generator)[:k]].clone()
    for _ in range(iterations):
        assign = (x @ centres.T).argmax(1)
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        filled = torch.bincount(assign, minlength=k) > 0
        centres[filled] = F.normalize(sums[filled], dim=1)
    return (centres @ x.T).argmax(1).unique()


def build_bank(paths: list[Path], per_photo: int = 400, dims: int = 64, render_size: int = 384,
               select: str = "kmeans", seed: int = 0) -> tuple[ColourBank, int]:
    """The bank of `paths` and the number of colour photos it holds."""
    generator = torch.Generator().manual_seed(seed)
    photos = [p for p in (photo_positions(path, render_size) for path in paths) if p is not None]
    sample = torch.cat([k[:, torch.randperm(k.shape[1], generator=generator)[:PCA_SAMPLE]].T.float()
                        for k, _, _ in photos])
    mean = sample.mean(0)
    _, _, v = torch.linalg.svd(sample - mean, full_matrices=False)
    basis = v[:dims].T.contiguous()
    keys, ab, ell, photo = [], [], [], []
    for i, (k, a, lightness) in enumerate(photos):
        reduced = F.normalize((k.T.float() - mean) @ basis, dim=1)
        if select == "kmeans":
            pick = kmeans_medoids(reduced, per_photo, generator)
        else:
            pick = torch.randperm(len(reduced), generator=generator)[:per_photo]
        keys.append(reduced[pick])
        ab.append(a[:, pick].T)
        ell.append(lightness[pick])
        photo.append(torch.full((len(pick),), i, dtype=torch.int16))
    keys_, ab_, ell_ = torch.cat(keys), torch.cat(ab), torch.cat(ell)
    bank = ColourBank(len(keys_), dims)
    bank.load_state_dict({"mean": mean.half(), "basis": basis.half(), "keys": keys_.half(), "ab": ab_.half(),
                          "lightness": ell_.half(), "photo": torch.cat(photo)})
    return bank, len(photos)
