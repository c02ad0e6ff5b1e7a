"""Training jobs: a fast style model learnt from a painting in the archive, or a colour bank of archive masters
(`jobs.colour_bank`), run by the same job table and runner as the operations (queued, running with progress,
cancellable between steps, done or failed).

A style job's item is the painting; its params name the model, the content photos and a few recipe knobs. The run's
checkpoints, loss log, loss plot and sample grids go to ``<archive>/cache/training/<job id>/`` and the trained
model (weights + card) to its ``model/`` folder, until `publish` copies it where `daguerre models` finds it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daguerre.archive.errors import ArchiveError
from daguerre.jobs import colour_bank

if TYPE_CHECKING:
    from daguerre.archive.api import Archive
    from daguerre.models.card import ModelCard

TRAINING = ("train-style", "train-colour-bank")  # the job table's operations that make a model, not a picture
TRAINING_PHOTOS = "photos:train"  # content: the registry photo packages' training split
MAX_CONTENT = 200  # content pictures loaded at most (they are held in memory while training)
NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
KNOBS = {"steps": (1, 20_000), "batch_size": (1, 8), "crop": (32, 256)}  # recipe values a user may set


def run_dir(archive: Archive, job_id: str) -> Path:
    return archive.path / "cache" / "training" / job_id


def check_params(params: dict, operation: str = "train-style") -> dict:
    """A training job's parameters, checked: ``name``, ``content`` (photos:train or an archive search) and knobs;
    a colour bank's (`jobs.colour_bank`)."""
    from daguerre.models.registry import list_models

    if operation == colour_bank.OPERATION:
        return colour_bank.check_params(params)
    name = str(params.get("name", "")).strip()
    if not NAME.fullmatch(name):
        raise ArchiveError(f"name: {name!r} is not 2-40 lower-case letters, digits and dashes")
    if any(c.name == name for c in list_models()):
        raise ArchiveError(f"name: a model named {name!r} is already installed; choose another name")
    content = str(params.get("content", TRAINING_PHOTOS)).strip() or TRAINING_PHOTOS
    out: dict[str, Any] = {"name": name, "content": content}
    for key, (low, high) in KNOBS.items():
        if params.get(key) in (None, ""):
            continue
        try:
            value = int(params[key])
        except (TypeError, ValueError):
            raise ArchiveError(f"{key}: {params[key]!r} is not a whole number") from None
        if not low <= value <= high:
            raise ArchiveError(f"{key}: {value} is outside {low}..{high}")
        out[key] = value
    return out


def content_files(archive: Archive, content: str) -> tuple[list[str], str]:
    """The content pictures' paths and a line for the model card saying where they came from."""
    if content == TRAINING_PHOTOS:
        from daguerre.data.sources import photos

        files = [str(p) for p in photos("train")[:MAX_CONTENT]]
        return files, f"{len(files)} photos of the registry photo packages' training split (daguerre.data.sources)"
    query = content.removeprefix("search:").strip()
    items = [i for i in archive.search(query, kind="master", limit=MAX_CONTENT) if i.media_type.startswith("image/")]
    files = [str(p) for i in items if (p := archive.store.local_path(i.sha256)) is not None]
    return files, f"{len(files)} masters of the archive matching {query!r}"


def label(job: dict) -> str:
    """What a training job makes, as the job lists name it."""
    if job["operation"] == colour_bank.OPERATION:
        return colour_bank.label(job["params"])
    return f"training run {job['params'].get('name')}"


def plan(archive: Archive, job_id: str, painting_id: str, params: dict, operation: str = "train-style") -> dict:
    """What a worker needs to train (client side: the painting, the content files, the folders)."""
    if operation == colour_bank.OPERATION:
        return colour_bank.plan(archive, job_id, params)
    params = check_params(params)
    painting = archive.get(painting_id)
    path = archive.store.local_path(painting.sha256)
    if path is None:
        raise ArchiveError(f"{painting.id}: the store is remote; training reads a painting stored on this machine")
    files, described = content_files(archive, params["content"])
    if not files:
        raise ArchiveError(f"content: no pictures found for {params['content']!r}")
    info = {"title": painting.title or Path(painting.filename).stem, "artist": painting.creator or "unknown artist",
            "date": painting.date or "", "rights": painting.rights or "", "archive_item": painting.id}
    recipe = {k: params[k] for k in KNOBS if k in params}
    steps = recipe.get("steps", 2000)
    recipe |= {"sample_every": max(1, steps // 10), "checkpoint_every": max(1, min(100, steps))}
    if "crop" in recipe:
        recipe["content_short_side"] = max(recipe["crop"], 256)
    return {"training": "style", "job_id": job_id, "name": params["name"], "painting": str(path),
            "painting_info": info, "content": files, "content_described": described, "recipe": recipe,
            "run_dir": str(run_dir(archive, job_id))}


def train(task: dict, progress) -> dict:
    """Worker side: train, export the model with its card into the run's ``model/`` folder; what was made."""
    if task["training"] == "colour-bank":
        return colour_bank.make(task, progress)
    from daguerre.api import _measure_style_card
    from daguerre.training import common
    from daguerre.training.style import StyleRecipe, StyleSource, StyleTrainer

    source = StyleSource(name=task["name"], image=task["painting"], info=task["painting_info"])
    recipe = StyleRecipe(styles=[source], content=task["content"], threads=task.get("threads") or 1, **task["recipe"])
    folder = Path(task["run_dir"])
    trainer = StyleTrainer(recipe, folder, progress=False)
    common.train_loop(trainer, recipe.steps, "style", on_step=lambda step, _: progress(step, recipe.steps))
    card = trainer.export(folder / "model")[0]
    card.training["data"] = "content: " + task["content_described"]
    card.save(folder / "model")
    card = _measure_style_card(card, task["painting"], task["content"][:2])
    return {"model": card.name, "steps": trainer.step}


def trained_card(archive: Archive, job_id: str) -> ModelCard | None:
    """The card of the model a finished training job made (None before it is done)."""
    from daguerre.models.card import ModelCard

    cards = sorted((run_dir(archive, job_id) / "model").glob("*.json"))
    return ModelCard.load(cards[0]) if cards else None


def publish(archive: Archive, job_id: str, folder: Path | None = None) -> ModelCard:
    """Copy a trained style model (weights and card) into the user's model folder: it joins the installed models.
    Only a job that is done (not one cancelled or failed after its model was written); a colour bank installs
    itself."""
    from daguerre.jobs import get_job

    job = get_job(archive, job_id)
    if job["operation"] not in TRAINING:
        raise ArchiveError(f"{job_id}: not a training job")
    if job["operation"] == colour_bank.OPERATION:
        raise ArchiveError(f"job {job_id[:8]}: a colour bank is installed by its job when done; nothing to publish")
    if job["status"] != "done":
        raise ArchiveError(f"job {job_id[:8]} is {job['status']}: only a finished training's model is published")
    card = trained_card(archive, job_id)
    if card is None:
        raise ArchiveError(f"job {job_id[:8]}: no trained model (the training has not finished)")
    return install(card, folder)


def finish(archive: Archive, job_id: str, task: dict) -> ModelCard | None:
    """Client side, as a training job's worker returns: a colour bank is installed now (the run folder keeps only
    its card); the card this installed, None for a style model (published by hand) or a bank already there. A
    different model given the bank's name meanwhile: an ArchiveError, nothing overwritten."""
    if task.get("training") != "colour-bank":
        return None
    card = trained_card(archive, job_id)
    if card is None:
        raise ArchiveError(f"job {job_id[:8]}: the colour bank was not written")
    from daguerre.models.registry import list_models

    there = any(c.name == card.name and c.sha256 == card.sha256 for c in list_models())
    installed = install(card)
    card.weights_path().unlink(missing_ok=True)  # the installed copy is the bank: not twice on disk
    return None if there else installed


def withdraw(card: ModelCard) -> None:
    """Take back a model `finish` installed (its job was cancelled at that moment)."""
    (Path(card.path) / card.weights).unlink(missing_ok=True)
    (Path(card.path) / f"{card.name}.json").unlink(missing_ok=True)


def discard(archive: Archive, job_id: str, task: dict) -> None:
    """A colour-bank job cancelled or failed: its run folder's bank (possibly hundreds of MB) is deleted."""
    if task.get("training") == "colour-bank":
        shutil.rmtree(run_dir(archive, job_id) / "model", ignore_errors=True)


def install(card: ModelCard, folder: Path | None = None) -> ModelCard:
    """Copy a model made in a run folder (weights and card) into ``folder`` (the user's model folder); the
    installed card. Installed already: that card; a different model of that name installed: an ArchiveError."""
    from daguerre.models.card import ModelCard, sha256_of
    from daguerre.models.registry import list_models, user_models_dir

    if sha256_of(card.weights_path()) != card.sha256:
        raise ArchiveError(f"{card.weights_path()}: weights do not match the sha256 in the model card")
    installed = {c.name: c for c in list_models()}
    if card.name in installed:
        if installed[card.name].sha256 == card.sha256:
            return installed[card.name]  # published already
        raise ArchiveError(f"a different model named {card.name!r} is installed already")
    folder = Path(folder or user_models_dir())
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(card.weights_path(), folder / card.weights)
    card.save(folder)
    return ModelCard.load(folder / f"{card.name}.json")
