"""Colour-bank jobs (``train-colour-bank``): a colour bank (`archive.banks`) of the masters a collection view showed,
their ids frozen into the job's params when it is submitted, made in the runner's training lane with its progress
per photo, cancellable between photos, and installed in the user's model folder when done.

The bank is made in the job's run folder (``<archive>/cache/training/<job id>/model/``) and moved into the model
folder by the runner as it marks the job done (`training.finish`): a failed or cancelled job installs nothing, and a
bank given the same name meanwhile (by the CLI or another job) is never overwritten: the job fails saying so.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daguerre.archive.errors import ArchiveError

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

OPERATION = "train-colour-bank"
MAX_MASTERS = 5_000  # masters one job takes (~0.65 s of CPU each: about an hour at the limit)
PER_PHOTO = (1, 400)  # the positions a photo gives at least and at most (400: `daguerre train colour-bank`'s default)
ITEM_ID = re.compile(r"[0-9a-f]{16}")


def check_name(name: str) -> str:
    """A new bank's name: it can name a model and no installed model has it."""
    from daguerre.models.card import check_model_name
    from daguerre.models.registry import list_models

    try:
        check_model_name(name)
    except ValueError as e:
        raise ArchiveError(str(e)) from None
    if any(c.name == name for c in list_models()):
        raise ArchiveError(f"name: a model named {name!r} is already installed; choose another name")
    return name


def check_params(params: dict) -> dict:
    """A colour-bank job's parameters, checked: ``name``, ``masters`` (item ids), ``query`` (what the collection
    view showed, for its label) and optionally ``per_photo``."""
    out: dict[str, Any] = {"name": check_name(str(params.get("name", "")).strip())}
    masters = params.get("masters")
    if not isinstance(masters, list) or not masters:
        raise ArchiveError("masters: no master pictures to make a colour bank from")
    if len(masters) > MAX_MASTERS:
        raise ArchiveError(f"masters: {len(masters)} are more than the {MAX_MASTERS} a colour bank job takes: narrow "
                           "the search, or use `daguerre archive colour-bank`")
    if bad := [m for m in masters if not isinstance(m, str) or not ITEM_ID.fullmatch(m)]:
        raise ArchiveError(f"masters: {bad[0]!r} is not an item id (16 hexadecimal digits)")
    out |= {"masters": masters, "query": str(params.get("query") or "")}
    if params.get("per_photo") not in (None, ""):
        try:
            per_photo = int(params["per_photo"])
        except (TypeError, ValueError):
            raise ArchiveError(f"per_photo: {params['per_photo']!r} is not a whole number") from None
        if not PER_PHOTO[0] <= per_photo <= PER_PHOTO[1]:
            raise ArchiveError(f"per_photo: {per_photo} is outside {PER_PHOTO[0]}..{PER_PHOTO[1]}")
        out["per_photo"] = per_photo
    return out


def label(params: dict) -> str:
    return f"colour bank {params.get('name')}, {len(params.get('masters') or [])} masters"


def plan(archive: Archive, job_id: str, params: dict) -> dict:
    """What a worker needs (client side): the masters' stored files by item id (those withdrawn since the job was
    submitted left out), the bank's name and the job's run folder."""
    from sqlalchemy import select

    from daguerre.archive.banks import bank_pictures
    from daguerre.archive.catalogue import Item
    from daguerre.jobs.training import run_dir

    params = check_params(params)
    with archive.session() as s:
        found = {it.id: it for it in s.scalars(select(Item).where(Item.id.in_(params["masters"])))}
    if missing := [m for m in params["masters"] if m not in found]:
        raise ArchiveError(f"{missing[0]}: no such item in the archive")
    pictures = bank_pictures([found[m] for m in params["masters"]], "all withdrawn since the job was queued")
    files = {it.id: archive.store.local_path(it.sha256) for it in pictures}
    if None in files.values():
        raise ArchiveError("the store is remote; a colour bank reads masters stored on this machine")
    return {"training": "colour-bank", "job_id": job_id, "name": params["name"], "archive": str(archive.path),
            "files": {k: str(v) for k, v in files.items()}, "per_photo": params.get("per_photo", PER_PHOTO[1]),
            "run_dir": str(run_dir(archive, job_id))}


def make(task: dict, progress) -> dict:
    """Worker side: make the bank in the run folder (a cancel that came while the bank was being measured is
    honoured here); what was made. The client installs it (`training.finish`) as it marks the job done."""
    from daguerre.archive.banks import bank_of_masters

    files = {k: Path(v) for k, v in task["files"].items()}
    card = bank_of_masters(files, task["archive"], task["name"], per_photo=task["per_photo"],
                           out=Path(task["run_dir"]) / "model",
                           progress=lambda done, total: progress(done, total, final=done == total))
    progress(len(files), len(files), final=True)  # JobCancelled if it was cancelled while the bank was measured
    return {"model": card.name, "photos": len(card.training["photos"])}
