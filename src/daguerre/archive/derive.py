"""Derivatives: run an Operation on a stored item, label the result, store it with its full recipe; re-run it.

The recipe (operation, version, parameters, seed, models with weights SHA-256 and licence, software versions,
parent and master hashes) goes into the XMP label, the C2PA manifest and the signed "creation" event. The
bytes before the C2PA manifest is embedded (the *rendition*) depend on the recipe alone, so ``rederive``
can compare them byte for byte.
"""

from __future__ import annotations

import hashlib
import inspect
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from sqlalchemy import select

from daguerre.archive import c2pa, catalogue, events, xmp
from daguerre.archive import video as clips
from daguerre.archive.catalogue import EXTENSIONS, Event, Item
from daguerre.archive.errors import ArchiveError, crashpoint
from daguerre.imaging import ImageError, Picture, load, save
from daguerre.models.card import sha256_of
from daguerre.video import BLENDS, CLIP_PARAMS, MAX_KEY_EVERY

if TYPE_CHECKING:
    from daguerre.archive.api import Archive
    from daguerre.archive.keys import Keys
    from daguerre.archive.store import Store

MEDIA_TYPE = "image/png"  # derivatives are lossless PNG, 16-bit when the parent is
AI_MADE = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")  # IPTC types a descendant keeps


def sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class RederiveReport:
    item_id: str
    identical: bool  # byte-identical rendition
    within_tolerance: bool
    max_abs_diff: float  # on [0,1] pixels
    psnr: float | None
    tolerance: float
    notes: list[str]

    @property
    def ok(self) -> bool:
        return self.identical or self.within_tolerance


def _operation(name: str):
    from daguerre.ops import get_operation

    try:
        return get_operation(name)
    except ValueError as e:
        raise ArchiveError(str(e)) from None


def checked_operation(name: str, params: dict):
    """The operation, once it has accepted ``params`` (names and values; no work done): a queued job or a batch
    run is refused when it is asked for, not when a worker reaches it."""
    op = _operation(name)
    try:
        _check(op, params)
    except (ValueError, TypeError, LookupError) as e:  # LookupError: a model `key_every` looks up is unknown
        raise ArchiveError(refusal(name, e)) from None
    return op


def _check(op, params: dict) -> None:
    """The operation's own check of its parameters, a clip's `consistency` in [0, 1], and its `key_every`: a
    whole number 1 to `MAX_KEY_EVERY`, above 1 only where frames can be made between keys (else the clip's frame
    loop refused it once a worker reached the job, and a fractional one was run and recorded)."""
    op.check(operation_params(params))
    if "fps" in params:  # the CLI's, for numbered frames; a clip in the archive is a file with its own rate
        raise ValueError("fps is the frame rate of a folder of numbered frames: an archive's clips keep their own")
    consistency = params.get("consistency", 0)
    if not isinstance(consistency, int | float) or not 0 <= consistency <= 1:
        raise ValueError(f"consistency must be a number between 0 and 1, got {consistency!r}")
    if params.get("blend", "bytes") not in BLENDS:
        raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {params['blend']!r}")
    key_every = params.get("key_every", 1)
    if isinstance(key_every, bool) or not isinstance(key_every, int) or not 1 <= key_every <= MAX_KEY_EVERY:
        raise ValueError(f"key_every must be a whole number from 1 to {MAX_KEY_EVERY}, got {key_every!r}")
    if key_every > 1:
        from daguerre.video.run import check_key_every

        try:
            check_key_every(op, params, any(params.get(f"steady_{s}") for s in ("inside", "moving", "local")))
        except ValueError as e:
            raise ValueError(f"key_every {key_every}: {e}") from None


def operation_params(params: dict) -> dict:
    """``params`` without those of a clip's frame loop (`video.CLIP_PARAMS`), which a still does not take."""
    return {k: v for k, v in params.items() if k not in CLIP_PARAMS}


def refusal(name: str, error: Exception) -> str:
    """An operation's refusal of its parameters as one line that names it once (a KeyError's message without the
    quotes its str adds; any other message as it is: a quoted value at its end keeps its closing quote)."""
    said = error.args[0] if isinstance(error, KeyError) and error.args else error
    text = " ".join(str(said).split())
    return text if text.startswith(f"{name}:") else f"{name}: {text}"


def _input_files(params: dict) -> dict[str, str]:
    """SHA-256 of every parameter that names an existing file (style paintings, masks), to detect changes."""
    out = {}
    for value in params.values():
        for v in value if isinstance(value, list | tuple) else [value]:
            if isinstance(v, str) and len(v) < 4096 and Path(v).is_file():
                out[v] = sha256_of(Path(v))
    return out


def render(op, picture: Picture, recipe: dict, title: str, progress: Callable[[int, int], None] | None = None,
           params: dict | None = None) -> tuple[bytes, Picture, float]:
    """Run the recipe on ``picture``: the labelled PNG rendition, the result, and the run time in seconds.
    `params`: the recipe's parameters as run here, if not as recorded (its input files found elsewhere)."""
    seed = int(recipe["seed"])
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    start = time.perf_counter()
    try:
        result = op.run(picture, progress=progress, **(recipe["params"] if params is None else params))
    except (ImageError, ValueError, TypeError, KeyError, LookupError, FileNotFoundError, RuntimeError) as e:
        raise ArchiveError(f"{recipe['parent_sha256'][:16]}: {recipe['operation']} failed: "
                           f"{' '.join(str(e).strip(chr(39)).split())}") from None
    seconds = time.perf_counter() - start
    crashpoint("derive:ran")
    result.xmp = xmp.label(recipe, title)
    with tempfile.TemporaryDirectory() as tmp:
        out = save(result, Path(tmp) / "rendition.png", bit_depth=recipe["output"]["bit_depth"])
        return out.read_bytes(), result, seconds


def metrics(parent: Picture, result: Picture, lpips: bool) -> dict[str, float]:
    """The result's own measures and, at the parent's size, its distance to the parent; a measure the picture is
    too small for (SSIM under 11 px a side, LPIPS under 16) is left out, as those of a resized result are."""
    from daguerre import metrics as m

    out = {"colourfulness": m.colourfulness(result.rgb()), "sharpness": m.sharpness(result.rgb())}
    if parent.pixels.shape[1:] == result.pixels.shape[1:]:
        a, b = parent.rgb(), result.rgb()
        small = m.too_small(a.shape)
        out["psnr"] = m.psnr(a, b)
        if "ssim" not in small:
            out["ssim"] = m.ssim(a, b)
        if lpips and "lpips" not in small:
            out["lpips"] = m.lpips(a, b)
    return {k: round(float(v), 6) for k, v in out.items()}


def _checked(name: str, parent: Item, params: dict, seed: int):
    """The operation, its parameters (with the archive's seed where it takes one) and its provenance."""
    if parent.withdrawn:
        raise ArchiveError(f"{parent.id}: is withdrawn; nothing is derived from withdrawn items")
    op = _operation(name)
    if "seed" in inspect.signature(op.run).parameters and "seed" not in params:
        params = {**params, "seed": seed}  # operations with their own seed parameter get the archive's
    clip = clips.is_clip_item(parent)
    if not clip:  # a batch over pictures and clips asks every item for the clips' consistency
        params = operation_params(params)
    if clip:  # the recipe says how its frames were steadied, so later code re-derives them the same way
        params = {**params, "blend": params.get("blend", "bytes")}
    try:
        params = op.with_defaults(params, clip=clip)
        _check(op, params)
        prov = op.provenance(**params)
    except (ValueError, TypeError, KeyError, LookupError, FileNotFoundError) as e:
        raise ArchiveError(refusal(name, e)) from None
    if parent.digital_source_type in AI_MADE and prov.digital_source_type not in AI_MADE:
        # a sepia look over a stylized picture is still a machine-made picture: its label must not say less
        prov = replace(prov, digital_source_type=parent.digital_source_type)
    return op, params, prov


def plan(archive: Archive, name: str, parent: Item, params: dict, seed: int, lpips: bool,
         event_id: str | None = None) -> dict:
    """What a worker needs to derive from ``parent`` (client side: checks the item and the parameters).
    A clip's plan (``clip``) makes an MP4 of every frame; a picture's a PNG."""
    op, params, prov = _checked(name, parent, params, seed)
    clip = clips.is_clip_item(parent)
    master_sha = parent.sha256 if parent.root_id == parent.id else archive.get(parent.root_id).sha256
    recipe = events.clean({
        "event_id": event_id or str(uuid.uuid4()), "operation": op.name, "operation_version": op.version,
        "params": params, "seed": seed, "models": prov.models, "digital_source_type": prov.digital_source_type,
        "parent_sha256": parent.sha256, "master_sha256": master_sha, "input_files": _input_files(params),
        "software": events.software(), "output": {"media_type": clips.DERIVATIVE_MEDIA_TYPE if clip else MEDIA_TYPE},
    })
    return {"recipe": recipe, "title": f"{parent.title or Path(parent.filename).stem} ({op.name})",
            "parent_media_type": parent.media_type, "lpips": lpips, "clip": clip}


def make(store: Store, keys: Keys, task: dict,
         progress: Callable[[int, int], None] | None = None) -> tuple[bytes, dict]:
    """Run a planned derivation (worker side): the labelled, signed file and what the catalogue records of it."""
    if task.get("clip"):
        return _make_clip(store, keys, task, progress)
    recipe = dict(task["recipe"])
    op = _operation(recipe["operation"])
    parent_bytes = store.read(recipe["parent_sha256"])
    try:
        picture = load_bytes(parent_bytes, suffix=EXTENSIONS.get(task["parent_media_type"], ""))
    except ImageError as e:  # its message names a temporary copy: the item is what the archivist can look up
        raise ArchiveError(f"{recipe['parent_sha256'][:16]}: its stored file cannot be read: {e.problem}") from None
    recipe["output"] = {**recipe["output"], "bit_depth": picture.bit_depth}
    notes = op.notes(picture, recipe["params"])  # a colour master colorized: recorded with the event
    started = catalogue.now()
    rendition, result, seconds = render(op, picture, recipe, task["title"], progress)
    recipe["rendition_sha256"] = sha256_of_bytes(rendition)
    if c2pa.unavailable() is None:
        data = c2pa.sign(rendition, MEDIA_TYPE, parent_bytes, task["parent_media_type"], recipe, task["title"], keys)
    else:
        data = rendition
    crashpoint("derive:signed")
    sha = sha256_of_bytes(data)
    return data, {"recipe": recipe, "sha256": sha, "size": len(data), "width": result.size[0],
                  "height": result.size[1], "metrics": metrics(picture, result, task["lpips"]), "started": started,
                  "duration_s": round(seconds, 4), "c2pa": c2pa.unavailable() or "embedded",
                  **({"notes": notes} if notes else {})}


def _make_clip(store: Store, keys: Keys, task: dict,
               progress: Callable[[int, int], None] | None) -> tuple[bytes, dict]:
    """`make` for a clip: every frame through the Operation into an H.264 MP4, its C2PA manifest embedded (the
    parent clip named by its hash, not embedded: it can be hours long)."""
    recipe = dict(task["recipe"])
    op = _operation(recipe["operation"])
    started, start = catalogue.now(), time.perf_counter()
    torch.manual_seed(int(recipe["seed"]))
    with store.as_file(recipe["parent_sha256"]) as path:
        rendition, (width, height), facts, measured = clips.render(op, path, recipe["params"], progress,
                                                                   recipe["parent_sha256"][:16], task["lpips"])
    seconds = time.perf_counter() - start  # its metrics' measuring included (~`video.measure.SAMPLED` frames')
    recipe["rendition_sha256"] = sha256_of_bytes(rendition)
    data = rendition
    if c2pa.unavailable() is None:
        data = c2pa.sign(rendition, clips.DERIVATIVE_MEDIA_TYPE, rendition, clips.DERIVATIVE_MEDIA_TYPE, recipe,
                         task["title"], keys)
    crashpoint("derive:signed")
    return data, {"recipe": recipe, "sha256": sha256_of_bytes(data), "size": len(data), "width": width,
                  "height": height, "metrics": measured, "started": started, "duration_s": round(seconds, 4),
                  "c2pa": c2pa.unavailable() or "embedded", "clip": facts}


def rows(archive: Archive, parent: Item, task: dict, made: dict) -> tuple[Item, Event]:
    """The derivative's catalogue row and its signed creation event (client side)."""
    recipe, sha = made["recipe"], made["sha256"]
    op_name, version = recipe["operation"], recipe["operation_version"]
    models = " ".join(m.get("name", "") for m in recipe["models"]) or None
    clip = task.get("clip", False)  # a clip's frame rate, frame count, duration and audio, read from its own file
    extra = {k: v for k, v in (parent.extra or {}).items() if k != "original_path"} if clip else {}
    extra |= made.get("clip") or {}
    item = Item(id=sha[:16], kind="derivative", sha256=sha, rendition_sha256=recipe["rendition_sha256"],
                parent_id=parent.id, root_id=parent.root_id,
                filename=f"{Path(parent.filename).stem}.{op_name}.{'mp4' if clip else 'png'}",
                media_type=recipe["output"]["media_type"], size=made["size"], width=made["width"],
                height=made["height"], title=task["title"], creator=parent.creator, date=parent.date,
                description=f"Machine-made derivative ({op_name} {version}) of {parent.id}",
                subject=parent.subject, rights=parent.rights, source=parent.sha256, identifier=sha[:16],
                extra={**extra, "c2pa": made["c2pa"]}, operation=op_name, models=models,
                digital_source_type=recipe["digital_source_type"], event_id=recipe["event_id"],
                created=catalogue.now(), withdrawn=False)
    item.search_text = item.text()
    detail = {"recipe": recipe, "metrics": made["metrics"], "started": made["started"],
              "duration_s": made["duration_s"], "sha256": sha, "dublin_core": item.dublin_core(),
              **{k: made[k] for k in ("notes",) if k in made}}
    event = events.make(archive.keys, events.CREATION, object_id=item.id, source_id=parent.id,
                        detail=f"{op_name} {version} on {parent.id}", outcome_detail=detail, id=recipe["event_id"])
    return item, event


def apply(archive: Archive, name: str, parent: Item, params: dict, seed: int, lpips: bool,
          progress: Callable[[int, int], None] | None) -> Item:
    """Derive from ``parent`` with operation ``name`` and store the result; returns the new item."""
    task = plan(archive, name, parent, params, seed, lpips)
    data, made = make(archive.store, archive.keys, task, progress)
    item, event = rows(archive, parent, task, made)
    if not archive.store_and_record(made["sha256"], lambda: archive.store.put_bytes(data), [item, event]):
        raise ArchiveError(f"{item.id}: the same derivative is already stored")
    return item


def within_tolerance(diff: float, tolerance: float) -> bool:
    """Whether a largest pixel difference is within `tolerance`. Pixels are compared as float32 in [0, 1], where one
    8-bit level (1/255) reads up to 3e-8 more for some levels: a millionth of slack, far below a 16-bit level."""
    return diff <= tolerance + 1e-6


def rederive(archive: Archive, item: Item, tolerance: float) -> RederiveReport:
    """Re-run the recorded recipe from the stored parent and compare with the stored rendition."""
    if item.kind != "derivative":
        raise ArchiveError(f"{item.id}: is a master; only derivatives can be re-derived")
    with archive.session() as s:
        event = s.scalar(select(Event).where(Event.id == item.event_id))
    if event is None or not events.verify(archive.keys, event):
        if event is not None and events.signed_by(event, archive.keys.known()):
            raise ArchiveError(f"{item.id}: its creation event is signed by an archive you do not trust "
                               f"(fingerprint {event.signer}); `archive trust add` it first")
        raise ArchiveError(f"{item.id}: its creation event is missing or its signature does not verify")
    recipe = dict(event.outcome_detail["recipe"])
    recipe.pop("rendition_sha256", None)
    notes = []
    op = _operation(recipe["operation"])
    if op.version != recipe["operation_version"]:
        notes.append(f"operation {op.name} is version {op.version} now, {recipe['operation_version']} then")
    params = _inputs_found(archive, recipe, notes)
    notes += _models_changed(recipe)
    parent = archive.get(item.parent_id)
    if clips.is_clip_item(item):
        identical, diff, psnr = _rederive_clip(archive, op, parent, item, recipe, params, notes)
    else:
        identical, diff, psnr = _rederive_picture(archive, op, parent, item, recipe, params, notes)
    report = RederiveReport(item.id, identical, within_tolerance(diff, tolerance), diff, psnr, tolerance, notes)
    outcome = "success" if report.ok else "failure"
    with archive.session.begin() as s:
        s.add(events.make(archive.keys, events.VALIDATION, object_id=item.id, detail="rederive", outcome=outcome,
                          outcome_detail={"identical": identical, "max_abs_diff": diff, "psnr": psnr,
                                          "tolerance": tolerance, "notes": notes}))
    return report


def _models_changed(recipe: dict) -> list[str]:
    """Notes on the recipe's installed models whose weights are not those it recorded (a bank or model remade under
    its name): the reason a re-derivation differs. (A model not installed fails the run itself.)"""
    from daguerre.models.registry import ModelNotFoundError, find_model

    notes = []
    for model in recipe.get("models", []):
        name, sha = model.get("name"), model.get("sha256")
        if not name or not sha:
            continue
        try:
            now = find_model(name).sha256
        except ModelNotFoundError:
            continue
        if now != sha:
            notes.append(f"model {name}'s weights are sha256 {now[:12]} now, {sha[:12]} then")
    return notes


def _inputs_found(archive: Archive, recipe: dict, notes: list[str]) -> dict:
    """The recipe's parameters, each recorded input file (a reference, a painting) that is gone from its path or
    changed there read instead from this archive's store when it holds the same bytes (sha256): a bag imported
    into another archive, or an archive moved, re-derives from its own copy. What is found nowhere is noted."""
    found = {}
    for path, sha in recipe.get("input_files", {}).items():
        if Path(path).is_file() and sha256_of(Path(path)) == sha:
            continue
        local = archive.store.local_path(sha) if archive.store.exists(sha) else None
        if local is not None:
            found[path] = str(local)
            notes.append(f"input file {path} read from this archive's store (the same sha256)")
        else:
            notes.append(f"input file {path} is missing or changed since the derivation")

    def swap(value: object) -> object:
        if isinstance(value, list | tuple):
            return [swap(v) for v in value]
        return found.get(value, value) if isinstance(value, str) else value

    return {k: swap(v) for k, v in recipe["params"].items()}


def _rederive_picture(archive: Archive, op, parent: Item, item: Item, recipe: dict, params: dict,
                      notes: list[str]) -> tuple[bool, float, float | None]:
    """(byte-identical, max pixel difference, PSNR) of a picture derivative re-made from its recipe."""
    with archive.store.as_file(parent.sha256) as path:
        picture = load(path)
    rendition, result, _ = render(op, picture, recipe, item.title or "", params=params)
    identical = sha256_of_bytes(rendition) == item.rendition_sha256
    with archive.store.as_file(item.sha256) as path:
        stored = load(path)
    if stored.pixels.shape != result.pixels.shape:
        notes.append(f"size differs: stored {stored.size}, re-derived {result.size}")
        return identical, float("inf"), None
    quantised = load_bytes(rendition)
    diff = float(np.abs(stored.pixels - quantised.pixels).max())
    mse = float(np.mean((stored.pixels - quantised.pixels) ** 2))
    return identical, diff, None if mse == 0 else round(10 * np.log10(1 / mse), 3)


def _rederive_clip(archive: Archive, op, parent: Item, item: Item, recipe: dict, params: dict,
                   notes: list[str]) -> tuple[bool, float, float | None]:
    """The same for a clip: every frame re-made, then both clips decoded and compared frame by frame."""
    torch.manual_seed(int(recipe["seed"]))
    params = {"blend": "float", **params}  # recorded since 2026-12-02; clips made before were steadied in float
    with archive.store.as_file(parent.sha256) as path:
        rendition, *_ = clips.render(op, path, params, label=parent.id)
    identical = sha256_of_bytes(rendition) == item.rendition_sha256
    with tempfile.TemporaryDirectory() as tmp, archive.store.as_file(item.sha256) as stored:
        again = Path(tmp) / "rederived.mp4"
        again.write_bytes(rendition)
        comparison = clips.compare(stored, again)
    notes += comparison.notes
    return identical, comparison.max_abs_diff, comparison.psnr


def load_bytes(data: bytes, suffix: str = ".png") -> Picture:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{suffix}"
        path.write_bytes(data)
        return load(path)
