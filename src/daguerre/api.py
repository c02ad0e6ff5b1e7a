"""The Python API: the same things the command line does.

    import daguerre
    photo = daguerre.load("photo.jpg")
    art = daguerre.stylize(photo, model="van-gogh-wheat-field")
    daguerre.save(art, "art.jpg")
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from daguerre.imaging import Picture, load, save
from daguerre.models.card import ModelCard


def _picture(image: str | Path | Picture) -> Picture:
    return image if isinstance(image, Picture) else load(image)


def _run(op: object, image: str | Path | Picture, **params: object) -> Picture:
    """`op` on the picture, its notes (`Operation.notes`: a colour photo given to colorize) said as warnings."""
    picture = _picture(image)
    for note in op.notes(picture, params):
        warnings.warn(f"{'the picture' if isinstance(image, Picture) else image}: {note}", stacklevel=3)
    return op.run(picture, **params)


def _references(reference: str | Path | Picture | list | None) -> list | None:
    """One reference or several, as the operations take them: Pictures, or paths as text."""
    refs = reference if isinstance(reference, list | tuple) else None if reference is None else [reference]
    return [r if isinstance(r, Picture) else str(r) for r in refs] if refs else None


def stylize(image: str | Path | Picture, *, model: str | None = None,
            style: str | Path | Picture | list | None = None, method: str | None = None, **params: object) -> Picture:
    """Restyle a picture: `model=` a fast style model, or `style=` any painting (arbitrary or optimize): a file or
    a Picture, or a list of them."""
    from daguerre.ops import stylize as op

    method = method or ("fast" if model else "arbitrary")
    with tempfile.TemporaryDirectory(prefix="daguerre-style-") as tmp:  # a Picture: the operation reads files
        if style is not None:
            files = [s if not isinstance(s, Picture) else save(s, Path(tmp) / f"style-{i}.png")
                     for i, s in enumerate(style if isinstance(style, list | tuple) else [style])]
            params["style"] = [str(s) for s in files] if isinstance(style, list | tuple) else str(files[0])
        return _run(op, image, method=method, model=model, **params)


def colorize(image: str | Path | Picture, *, reference: str | Path | Picture | list | None = None,
             hints: list[str] | None = None, model: str | None = None, **params: object) -> Picture:
    """Colour for a black-and-white picture: automatic, or from colour `reference` picture(s) and `hints`
    (``"X,Y,#RRGGBB"``, pixels of the input); its luminance is kept exactly."""
    from daguerre.ops.colorize import colorize as op

    return _run(op, image, model=model, reference=_references(reference), hints=hints, **params)


def list_models(task: str | None = None) -> list[ModelCard]:
    """Installed models, shipped and your own (`daguerre models`). Not named `models`: that is the package
    `daguerre.models`, which would hide it once imported."""
    from daguerre.models import registry

    return registry.list_models(task)


def evaluate(result: str | Path | Picture, reference: str | Path | Picture,
             style: str | Path | Picture | None = None) -> dict[str, float]:
    """PSNR, SSIM and LPIPS of a result against its original, and its Gram style distance to a painting. Two clips:
    also their frames and warping errors (`daguerre.video.measure.measure_clip`)."""
    from daguerre import metrics
    from daguerre.video import is_clip_source

    clips = [is_clip_source(p) for p in (result, reference) if isinstance(p, str | Path)]
    if any(clips):
        if clips != [True, True]:
            raise ValueError("a clip is measured against the clip it was made from: give two clips")
        from daguerre.video.measure import measure_clip

        return measure_clip(result, reference, None if style is None else _picture(style).rgb())
    a, b = _picture(result).rgb(), _picture(reference).rgb()
    if a.shape != b.shape:
        raise ValueError(f"result is {a.shape[2]}x{a.shape[1]} but the reference is {b.shape[2]}x{b.shape[1]}")
    out = {"psnr": float(metrics.psnr(a, b))}
    small = {k: n for k, n in metrics.too_small(a.shape).items() if k != "style_distance" or style is not None}
    if small:
        names = {"ssim": "SSIM", "lpips": "LPIPS", "style_distance": "style distance"}
        (first, least), *rest = small.items()
        warnings.warn(f"{'the result' if isinstance(result, Picture) else result} is {a.shape[2]}x{a.shape[1]}: "
                      f"{names[first]} needs at least {least} px on a side"
                      f"{''.join(f', {names[k]} {n}' for k, n in rest)}: not measured", stacklevel=2)
    out |= {k: float(f(a, b)) for k, f in (("ssim", metrics.ssim), ("lpips", metrics.lpips)) if k not in small}
    if style is not None and "style_distance" not in small:
        out["style_distance"] = float(metrics.style_distance(a, _picture(style).rgb()))
    return out


def train_style(style: str | Path, content: str | Path, name: str, *, steps: int = 2000,
                run_dir: str | Path | None = None, out: str | Path | None = None, progress: bool = True,
                **recipe: object) -> ModelCard:
    """Train a fast style model for one painting on a folder of photos; returns its model card."""
    from daguerre.imaging import iter_images
    from daguerre.models.card import check_model_name
    from daguerre.models.registry import check_name_free, user_models_dir
    from daguerre.training.style import StyleRecipe, StyleSource, StyleTrainer

    check_model_name(name)  # clear errors now, before the training: a name that cannot name files,
    check_name_free(name, "style", Path(out or user_models_dir()), replace=True)  # or another model's (yours: remade)
    if steps < 1:
        raise ValueError(f"steps is at least 1, got {steps}")
    load(style)  # an unreadable painting
    files = [str(p) for p in iter_images([content])]
    if not files:
        raise ValueError(f"{content}: no images found")
    source = StyleSource(name=name, image=str(style), info={"title": Path(style).stem, "image": Path(style).name})
    r = StyleRecipe(styles=[source], content=files, steps=steps, **recipe)  # type: ignore[arg-type]
    trainer = StyleTrainer(r, Path(run_dir or Path("runs") / name), progress=progress)
    trainer.train()
    card = trainer.export(Path(out or user_models_dir()))[0]
    return _measure_style_card(card, style, files[:4])


def _measure_style_card(card: ModelCard, style: str | Path, photos: list[str]) -> ModelCard:
    """Fill the card's metrics on a few of the training photos (no held-out set for a user's folder)."""
    import torch

    from daguerre.imaging.colour import downscale
    from daguerre.models.registry import build
    from daguerre.training.card_metrics import SIZE, style_metrics

    small = [downscale(torch.from_numpy(load(p).rgb())[None], SIZE) for p in photos]
    painting = downscale(torch.from_numpy(load(style).rgb())[None], SIZE)
    card.metrics = style_metrics(card, build(card), painting, small, prefix="training")
    card.save(Path(card.path))
    return card


def train_retro(period: str | Path, modern: str | Path, *, name: str | None = None, steps: int = 3000,
                run_dir: str | Path | None = None, out: str | Path | None = None, progress: bool = True,
                **recipe: object) -> ModelCard:
    """Learn the look of a folder of period photographs (an unpaired CycleGAN against a folder of modern photos);
    returns the card of the `retro` model that gives modern photos that look (default name: retro-<period folder>)."""
    from daguerre.imaging import iter_images
    from daguerre.models.card import check_model_name
    from daguerre.models.registry import check_name_free, user_models_dir
    from daguerre.training.retro import RetroRecipe, RetroTrainer

    name = check_model_name(name or f"retro-{Path(period).resolve().name}")
    check_name_free(name, "retro", Path(out or user_models_dir()), replace=True)
    if steps < 1:
        raise ValueError(f"steps is at least 1, got {steps}")
    files = {}
    for label, folder in (("period", period), ("modern", modern)):
        files[label] = [str(p) for p in iter_images([folder])]
        if not files[label]:
            raise ValueError(f"{folder}: no images found (the {label} photos)")
    r = RetroRecipe(period=files["period"], modern=files["modern"], name=name, steps=steps,
                    **recipe)  # type: ignore[arg-type]
    trainer = RetroTrainer(r, Path(run_dir or Path("runs") / name), progress=progress)
    trainer.train()
    return trainer.export(Path(out or user_models_dir()))


def train_colour_bank(photos: str | Path | list, name: str, *, base: str | None = None, per_photo: int = 400,
                      out: str | Path | None = None, replace: bool = False, progress: object = None,
                      recorded: dict | None = None, measure: int = 8) -> ModelCard:
    """A colour bank from your own colour photographs (files or folders): the shipped bank (or `base`) and
    `per_photo` positions of each photo, so `colorize(..., bank=name)` takes the automatic colour from photos like
    yours wherever your collection shows such scenes. No training: about a second a photo. Nearly grey photos are
    skipped; a file that cannot be read is an error naming it, before anything is written. `replace`: overwrite
    your own bank of that name (a shipped model's name is never taken). `recorded`: more for the card's training
    record (an archive's item ids). `measure`: the card's figures, on up to this many of the photos, each coloured
    without its own entries (`training.colour_bank.leave_one_out`; 0: none)."""
    import time

    from daguerre.imaging import iter_images
    from daguerre.models.card import check_model_name, sha256_of
    from daguerre.models.registry import check_name_free, save_model, user_models_dir
    from daguerre.ops.colorize import DEFAULT_BANK, colour_bank
    from daguerre.training.colour_bank import (
        COLLECTION_GAIN,
        COLLECTION_VOTE,
        MIN_CHROMA,
        extend_bank,
        leave_one_out,
    )

    check_model_name(name)
    folder = Path(out or user_models_dir())

    def check_free() -> None:
        check_name_free(name, "colorize-bank", folder, replace, ", or pass --replace to remake this bank")

    check_free()
    if per_photo < 1:
        raise ValueError(f"per_photo is at least 1, got {per_photo}")
    sources = [photos] if isinstance(photos, (str, Path)) else list(photos)
    for source in sources:
        if not Path(source).exists():
            raise FileNotFoundError(f"{source}: no such file or folder")
    paths = iter_images(sources)
    if not paths:
        raise ValueError(f"{', '.join(map(str, sources))}: no images found")
    found = colour_bank(None, base or DEFAULT_BANK)
    if found is None:
        raise ValueError("no colour bank is installed to extend")
    base_card, base_bank = found
    start = time.perf_counter()
    bank, used, skipped = extend_bank(base_bank, paths, per_photo, progress=progress)
    if not used:
        raise ValueError(f"{', '.join(map(str, sources))}: no colour photos among {len(paths)} image(s) (all "
                         f"nearly grey: mean chroma under {MIN_CHROMA:g})")
    built = round(time.perf_counter() - start, 1)
    first = int(base_bank.photo.max()) + 1 if len(base_bank.photo) else 0
    metrics = leave_one_out(bank, base_bank, used, first, measure) if measure > 0 and len(used) > 1 else {}
    card = ModelCard(
        name=name, task="colorize-bank", architecture="ColourBank", config=bank.config, weights=f"{name}.safetensors",
        licence="as the photos it was made from (their positions' colours and descriptors are stored)",
        source="made by daguerre train colour-bank from the user's colour photographs",
        description=f"Colour by example for colorize's automatic mode: {base_card.name}'s entries and those of "
                    f"{len(used)} of your colour photos ({per_photo} positions each, VGG16 descriptors on "
                    f"{base_card.name}'s PCA, with their Lab chroma), read out with the photo vote "
                    f"({COLLECTION_VOTE:g}) and gain {COLLECTION_GAIN:g}: use it with colorize --bank {name}",
        training={"recipe": "daguerre train colour-bank", "data": [str(Path(s).resolve()) for s in sources],
                  "photos": [str(p) for p in used], "photos_sha256": [sha256_of(p) for p in used],
                  "skipped_nearly_grey": [str(p) for p in skipped], "min_chroma": MIN_CHROMA,
                  "per_photo": per_photo, "based_on": {"name": base_card.name, "sha256": base_card.sha256},
                  "readout": {"gain": COLLECTION_GAIN, "vote": COLLECTION_VOTE}, "seed": 0,
                  "wall_time_s": built, **(recorded or {})},
        metrics={**metrics, **({"note": "each measured photo seen grey and coloured without its own entries, as a "
                                        "photo of those places the bank does not hold; chroma error at a quarter "
                                        "of the working size, as a fraction of grey's"} if metrics else {})})
    check_free()  # again: a bank made meanwhile under this name (a web job's) is not overwritten
    return save_model(bank, card, folder)


def retro(image: str | Path | Picture, *, preset: str | None = None, model: str | None = None,
          **params: object) -> Picture:
    """A period look: `preset=` a classical one (sepia by default), or `model=` one trained by `train_retro`."""
    from daguerre.ops.retro import retro as op

    return _run(op, image, preset=preset, model=model, **params)


def restore(image: str | Path | Picture, *, model: str | None = None,
            reference: str | Path | Picture | None = None, damage_mask: str | Path | Picture | None = None,
            **params: object) -> Picture:
    """Restore an old photograph; `reference` (a clean print or reference image) guides its tone and colour;
    `damage_mask` (grey, white = damaged) marks damage to repair besides what the model finds; `mask_output` (a
    folder) receives the damage mask used, as ``<image stem>.png`` in the format `damage_mask` reads."""
    from daguerre.ops.restore import restore as op

    return _run(op, image, model=model, reference=reference, damage_mask=damage_mask, **params)


def upscale(image: str | Path | Picture, *, scale: int = 4, model: str | None = None, **params: object) -> Picture:
    """Upscale a picture x2 or x4."""
    from daguerre.ops.upscale import upscale as op

    return _run(op, image, model=model, scale=scale, **params)


def repair(image: str | Path | Picture, *, colorize: bool = False, scale: int = 1,
           reference: str | Path | Picture | list | None = None, hints: list[str] | None = None,
           **params: object) -> Picture:
    """Restore, then colorize (if asked; from `reference` pictures and `hints` as `colorize` takes them), then
    upscale x`scale`, as `daguerre repair` does."""
    from daguerre.ops.repair import repair as op

    return _run(op, image, colorize=colorize, scale=scale, reference=_references(reference), hints=hints,
                  **params)


def film(image: str | Path | Picture, *, preset: str = "sepia", strength: float = 1.0, seed: int = 0) -> Picture:
    """A classical period look with no trained model (sepia, cyanotype, daguerreotype, autochrome, faded-1970s,
    bw-film), as `daguerre film` gives."""
    from daguerre.ops.film import film_op as op

    return _run(op, image, preset=preset, strength=strength, seed=seed)


def age(image: str | Path | Picture, *, seed: int = 0, strength: float = 1.0,
        effects: list[str] | None = None) -> Picture:
    """Make a photograph look old (fading, yellowing, grain, dust, scratches, creases...; `effects` names some),
    the same for the same seed, as `daguerre age` does."""
    from daguerre.ops.age import age_op as op

    return _run(op, image, seed=seed, strength=strength, effects=effects)


STEADY = ("pixels", "inside", "moving", "local")  # how `run_clip` steadies a fast style model's frames


def run_clip(operation: str, source: str | Path, target: str | Path, *, consistency: float | None = None,
             steady: str = "pixels", key_every: int = 1, **params: object) -> Path:
    """Run an operation ("stylize", "restore", "colorize", "upscale", "repair", "retro", "film", "age") over every
    frame of a clip or a folder of numbered frames into `target` (a video file, or a pattern such as
    ``frames/%05d.png``), keeping frame rate, size ratio, duration and audio, as the command line does with a
    clip. `params` are the operation's (``model=``, ``preset=``...); `consistency` (0..1, default 0.5) steadies
    each frame towards the previous output along the motion, `steady` says how for fast style models; `key_every`
    N > 1 runs the model on every Nth frame and makes the frames between from those outputs along the motion
    (stylize, retro, colorize: faster and steadier)."""
    from daguerre.ops import get_operation
    from daguerre.video import DEFAULT_CONSISTENCY, MAX_KEY_EVERY
    from daguerre.video.run import process_clip

    if steady not in STEADY:
        raise ValueError(f"steady must be one of {', '.join(STEADY)}, not {steady!r}")
    consistency = DEFAULT_CONSISTENCY if consistency is None else consistency
    if not 0 <= consistency <= 1:
        raise ValueError(f"consistency must be between 0 and 1, got {consistency}")
    if not 1 <= key_every <= MAX_KEY_EVERY:
        raise ValueError(f"key_every must be 1 to {MAX_KEY_EVERY}, got {key_every}")
    op = get_operation(operation)
    if operation == "stylize":
        params.setdefault("method", "fast" if params.get("model") else "arbitrary")
        if steady != "pixels":  # not the clips' default: bf16 where the CPU has it, else fp32; int8 when asked for
            from daguerre.ops.stylize import steadied_precision

            params.setdefault("precision", steadied_precision(params.get("model")))
    op.check(params)
    return process_clip(op, source, target, consistency, steady_inside=steady == "inside",
                        steady_moving=steady == "moving", steady_local=steady == "local", key_every=key_every,
                        **op.with_defaults(params, clip=True))


def train_recipe(recipe: str | Path, *, out: str | Path | None = None, run_dir: str | Path | None = None,
                 steps: int | None = None, init_from: str | None = None,
                 progress: bool = True) -> list[ModelCard]:
    """Train what a recipe file describes; returns the model cards written. `init_from` (restore, colorize,
    upscale recipes): continue from this model (name or card file) instead of starting anew."""
    from daguerre.models.registry import user_models_dir
    from daguerre.training.conditional import GANRecipe
    from daguerre.training.recipes import load_recipe
    from daguerre.training.style import StyleTrainer

    r = load_recipe(Path(recipe))
    if steps is not None:
        r.steps = steps
    if init_from is not None:
        if not isinstance(r, GANRecipe):
            raise ValueError(f"{recipe}: init_from works with restore, colorize and upscale recipes")
        r.init_from = init_from
    run = Path(run_dir or Path("runs") / Path(recipe).stem)
    dest = Path(out or user_models_dir())
    from daguerre.training import distributed
    from daguerre.training.painting_style import PaintingStyleRecipe, PaintingStyleTrainer
    from daguerre.training.recipes import gan_trainer
    from daguerre.training.retro import RetroRecipe, RetroTrainer

    if isinstance(r, RetroRecipe):
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError(f"{recipe}: retro recipes train on one process only")
        rt = RetroTrainer(r, run, progress=progress)
        rt.train()
        return [rt.export(dest, str(recipe))]
    distributed.init()  # restore, colorize, upscale, style, painting style: several processes (torchrun, --nproc)
    if isinstance(r, GANRecipe):
        trainer = gan_trainer(r)(r, run, progress=progress)
    elif isinstance(r, PaintingStyleRecipe):
        trainer = PaintingStyleTrainer(r, run, progress=progress)
    else:
        trainer = StyleTrainer(r, run, progress=progress)
    trainer.train()
    made = trainer.export(dest, str(recipe)) if distributed.is_main() else []
    distributed.finish()  # leave the process group together: a rank exiting alone aborted in gloo's threads
    return made if isinstance(made, list) else [made]


__all__ = ["Picture", "age", "colorize", "evaluate", "film", "list_models", "load", "repair", "restore", "retro",
           "run_clip", "save", "stylize", "train_colour_bank", "train_recipe", "train_retro", "train_style", "upscale"]
