"""Build a `ColourBank` (`nets.colour_bank`) from colour photographs: no training, a choice of examples.

Each photo (short side `SHORT_SIDE`, as the colorize recipes) is seen as the operation sees a grey photo: its
BT.601 luma at the working size (`ops.colorize.working`), through the frozen VGG16 (`match_keys`). A PCA fit on
a random sample of all photos' positions reduces the descriptors to `dims`; each photo then gives `per_photo`
entries: the positions nearest the centres of a k-means of its own descriptors (so a photo's small parts, a
face or a flower, are kept beside its large ones), with the ab (4 x 4 mean) and L there, and the photo's index
(for the lookup's vote by photo).

Augmentation: each photo may also be seen in other `views` (another scale, mirrored, another tone of its
grey): VGG descriptors change with scale, and a photo to colour shows its objects bigger or smaller than the
bank's twin. A photo's entries are then shared among its views, a k-means per view. Balance: photos of one
series (a name that differs only by its trailing number, as P1070493 ... P1070513) get `n ** balance`
photos' worth of entries between them, not `n` (`balance` 1: every photo the same), and the entries saved go
to the other photos, so a run of near-identical shots does not fill the bank.

Paintings (the training split of `sources.paintings`) may add entries of their own (`source` 1, photo indices
after the photos'), `per_painting` each, on the photos' PCA (so the photos' entries are those of a bank without
paintings): they show what the photos do not (people, garments, wood, wheat). A painting whose colours vary too
little around its mean (`painting_min_chroma`: ink, monochrome, brown varnish alone) or whose hues spread too
little (`painting_min_spread`) is skipped; `painting_correct` moves its ab toward a neutral mean by that
fraction (its varnish's yellow-brown cast taken out).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F

from daguerre.nets.colour_bank import ColourBank

SHORT_SIDE = 256
MIN_CHROMA = 8.0  # as recipes/colorize-fit.toml: nearly grey photos teach nothing about colour
PCA_SAMPLE = 2000  # positions per photo the PCA is fit on


class View(NamedTuple):
    """How a bank photo is seen: its scale against the working size, mirrored or not, the gamma of its grey."""

    scale: float = 1.0
    mirror: bool = False
    gamma: float = 1.0


AS_IS = View()


def photo_positions(path: Path, render_size: int, view: View = AS_IS,
                    min_chroma: float = MIN_CHROMA) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """A photo's descriptors (768,N) fp16, ab (2,N) and L (N,) at quarter working size, seen in `view`; None if
    its mean chroma is below `min_chroma` (as it is: the same answer for all its views)."""
    from daguerre.data.folder import load_rgb
    from daguerre.imaging import Picture
    from daguerre.imaging.lab import AB_SCALE, lab_split
    from daguerre.nets.correspondence import grey_features, match_keys
    from daguerre.ops.colorize import working

    x = load_rgb(path, SHORT_SIDE).float()[None] / 255
    if float(lab_split(x)[1].norm(dim=1).mean()) * AB_SCALE < min_chroma:
        return None
    if view.scale != 1:
        x = load_rgb(path, round(SHORT_SIDE * view.scale)).float()[None] / 255
    small = working(x, round(render_size * view.scale))
    if view.mirror:
        small = small.flip(-1)
    grey = torch.from_numpy(Picture(small[0].numpy()).luminance())[None, None] ** view.gamma
    grey = grey.expand(-1, 3, -1, -1)
    lightness = lab_split(grey)[0]
    with torch.inference_mode():
        keys = match_keys(*grey_features(lightness))[0].half()
    ab = F.avg_pool2d(lab_split(small)[1], 4).flatten(2)[0]
    return keys, ab, F.avg_pool2d(lightness, 4).flatten()


def painting_colour(ab: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """A painting's colour (ab (2,N), `imaging.lab` units): the mean chroma around its mean ab (L*a*b* units),
    its hue spread (1 - the length of the chroma-weighted mean hue vector: 0 one hue, 1 all hues) and the mean
    ab (2,)."""
    from daguerre.imaging.lab import AB_SCALE

    mean = ab.mean(1)
    variety = float((ab - mean[:, None]).norm(dim=0).mean()) * AB_SCALE
    chroma = ab.norm(dim=0)
    spread = 1 - float(ab.sum(1).norm() / chroma.sum().clamp_min(1e-12))
    return variety, spread, mean


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


def series_of(path: Path) -> str:
    """The series a photo belongs to: its picture's name (`sources.group_of`) without a trailing number."""
    from daguerre.data.sources import group_of

    name = Path(group_of(path)).stem
    return re.sub(r"[\W_\d]+$", "", name).lower() or name


def entries_per_photo(paths: list[Path], per_photo: int, balance: float) -> list[int]:
    """Entries for each photo: `per_photo` on average, a series of n photos sharing n ** `balance` photos'
    worth."""
    series = [series_of(p) for p in paths]
    size = {s: series.count(s) for s in series}
    weight = [size[s] ** balance / size[s] for s in series]
    return [max(1, round(per_photo * len(paths) * w / sum(weight))) for w in weight]


def build_bank(paths: list[Path], per_photo: int = 400, dims: int = 64, render_size: int = 384,
               select: str = "kmeans", seed: int = 0, views: tuple[View, ...] = (AS_IS,),
               balance: float = 1.0, paintings: tuple[Path, ...] = (), per_painting: int = 0,
               painting_min_chroma: float = 8.0, painting_min_spread: float = 0.0,
               painting_correct: float = 0.0) -> tuple[ColourBank, int, int]:
    """The bank of `paths` (and `paintings`, `per_painting` entries each, first view only), the number of
    colour photos and of paintings it holds. `per_photo` is the mean number of entries a photo gives, shared
    among its `views` (the first is the one the PCA is fit on)."""
    generator = torch.Generator().manual_seed(seed)
    seen = [(path, photo_positions(path, render_size, views[0])) for path in paths]
    paths = [path for path, p in seen if p is not None]
    photos = [p for _, p in seen if p is not None]
    sample = torch.cat([k[:, torch.randperm(k.shape[1], generator=generator)[:PCA_SAMPLE]].T.float()
                        for k, _, _ in photos])
    mean = sample.mean(0)
    _, _, v = torch.linalg.svd(sample - mean, full_matrices=False)
    basis = v[:dims].T.contiguous()
    keys, ab, ell, photo = [], [], [], []
    counts = entries_per_photo(paths, per_photo, balance)
    for j, (path, first, count) in enumerate(zip(paths, photos, counts, strict=True)):
        for i, view in enumerate(views):
            n = count * (i + 1) // len(views) - count * i // len(views)  # the photo's entries, shared evenly
            if n == 0:
                continue
            k, a, lightness = first if i == 0 else photo_positions(path, render_size, view)
            reduced = F.normalize((k.T.float() - mean) @ basis, dim=1)
            if select == "kmeans":
                pick = kmeans_medoids(reduced, n, generator)
            else:
                pick = torch.randperm(len(reduced), generator=generator)[:n]
            keys.append(reduced[pick])
            ab.append(a[:, pick].T)
            ell.append(lightness[pick])
            photo.append(torch.full((len(pick),), j, dtype=torch.int16))
    taken = 0
    for path in paintings if per_painting else ():
        k, a, lightness = photo_positions(path, render_size, views[0], min_chroma=0.0)
        variety, spread, centre = painting_colour(a)
        if variety < painting_min_chroma or spread < painting_min_spread:
            continue
        reduced = F.normalize((k.T.float() - mean) @ basis, dim=1)
        pick = kmeans_medoids(reduced, per_painting, generator)
        keys.append(reduced[pick])
        ab.append((a[:, pick] - painting_correct * centre[:, None]).T)
        ell.append(lightness[pick])
        photo.append(torch.full((len(pick),), len(photos) + taken, dtype=torch.int16))
        taken += 1
    keys_, ab_, ell_ = torch.cat(keys), torch.cat(ab), torch.cat(ell)
    source = torch.zeros(len(keys_), dtype=torch.uint8)
    source[sum(len(k) for k in keys[: len(keys) - taken]):] = 1
    bank = ColourBank(len(keys_), dims)
    bank.load_state_dict({"mean": mean.half(), "basis": basis.half(), "keys": keys_.half(), "ab": ab_.half(),
                          "lightness": ell_.half(), "photo": torch.cat(photo), "source": source})
    return bank, len(photos), taken


COLLECTION_GAIN, COLLECTION_VOTE = 1.35, 4.0  # a collection bank's readout, chosen on validation photos (BENCHMARKS.md)


def extend_bank(base: ColourBank, paths: list[Path], per_photo: int = 400, render_size: int = 384,
                seed: int = 0, progress: object = None) -> tuple[ColourBank, list[Path], list[Path]]:
    """`base` (the shipped bank) and `per_photo` entries from each colour photo of `paths` (a user's collection),
    on the base's PCA, so the base's entries are kept to the bit; the result reads out with the collection's
    `gain` and photo `vote`. Returns the bank, the photos used and those skipped as nearly grey. `progress`: called
    with (done, total) after each photo. A picture that cannot be read is an `ImageError` naming it."""
    generator = torch.Generator().manual_seed(seed)
    state = base.state_dict()
    first = int(state["photo"].max()) + 1 if len(state["photo"]) else 0
    keys, ab, ell, photo, used, skipped = [], [], [], [], [], []
    for n, path in enumerate(paths):
        seen = photo_positions(path, render_size)
        if seen is None:
            skipped.append(path)
        else:
            k, a, lightness = seen
            reduced = base.project(k[None].float())
            pick = kmeans_medoids(reduced, per_photo, generator)
            keys.append(reduced[pick].half())
            ab.append(a[:, pick].T.half())
            ell.append(lightness[pick].half())
            photo.append(torch.full((len(pick),), first + len(used), dtype=torch.int16))
            used.append(path)
        if progress is not None:
            progress(n + 1, len(paths))  # type: ignore[operator]
    if not used:
        return base, used, skipped
    if first + len(used) > torch.iinfo(torch.int16).max:
        raise ValueError(f"a colour bank holds at most {torch.iinfo(torch.int16).max} photos, "
                         f"got {first + len(used)}")
    state = {"mean": state["mean"], "basis": state["basis"], "keys": torch.cat([state["keys"], *keys]),
             "ab": torch.cat([state["ab"], *ab]), "lightness": torch.cat([state["lightness"], *ell]),
             "photo": torch.cat([state["photo"], *photo]),
             "source": torch.cat([state["source"], torch.zeros(sum(len(k) for k in keys), dtype=torch.uint8)])}
    config = {**base.config, "entries": len(state["keys"]), "gain": COLLECTION_GAIN, "vote": COLLECTION_VOTE}
    bank = ColourBank(**config)
    bank.load_state_dict(state)
    return bank.eval(), used, skipped


ENTRY_BUFFERS = ("keys", "ab", "lightness", "photo", "source")  # a ColourBank's buffers with one row per entry


def without_photo(bank: ColourBank, photo: int) -> ColourBank:
    """`bank` without the entries of photo index `photo`."""
    keep = bank.photo != photo
    state = {k: v[keep] if k in ENTRY_BUFFERS else v for k, v in bank.state_dict().items()}
    out = ColourBank(**{**bank.config, "entries": int(keep.sum())})
    out.load_state_dict(state)
    return out.eval()


def leave_one_out(bank: ColourBank, base: ColourBank, paths: list[Path], first: int, sample: int = 8,
                  render_size: int = 384, seed: int = 0) -> dict:
    """How `bank` colours its own collection: up to `sample` of its photos `paths` (photo indices from `first`),
    each seen grey and coloured automatically without its own entries, as a photo of those places the collection
    does not hold would be; the mean chroma error (at a quarter of the working size, L*a*b* units) as a fraction
    of grey's, with `bank` and with `base` (the shipped bank) alone."""
    from daguerre.data.folder import load_rgb
    from daguerre.imaging import Picture
    from daguerre.imaging.lab import AB_SCALE, lab_split
    from daguerre.ops import colorize as ops
    from daguerre.ops.task_models import task_model

    _, net = task_model("colorize")
    chosen = torch.randperm(len(paths), generator=torch.Generator().manual_seed(seed))[:sample].sort().values
    grey_err, errors = 0.0, {"ours": 0.0, "shipped": 0.0}
    for j in chosen.tolist():
        small = ops.working(load_rgb(paths[j], SHORT_SIDE).float()[None] / 255, render_size)
        grey = torch.from_numpy(Picture(small[0].numpy()).luminance())[None, None].expand(-1, 3, -1, -1)
        lightness = lab_split(grey)[0]
        truth = F.avg_pool2d(lab_split(small)[1], 4)
        with torch.inference_mode():
            for which, b in (("ours", without_photo(bank, first + j)), ("shipped", base)):
                ab = ops.predict_ab(net, lightness, [], [], tuple(small.shape[-2:]), render_size, b)
                errors[which] += float((ab - truth).norm(dim=1).mean()) * AB_SCALE
        grey_err += float(truth.norm(dim=1).mean()) * AB_SCALE
    return {"collection_photos_measured": len(chosen),
            "collection_leave_one_out_chroma_error_of_grey": round(errors["ours"] / grey_err, 3),
            "collection_leave_one_out_shipped_bank_chroma_error_of_grey": round(errors["shipped"] / grey_err, 3)}
