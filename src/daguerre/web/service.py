"""What the pages and the API share: the calls into the archive core, the job runner and the operations,
shaped for a browser (no HTTP here, so that tests and the CLI can call the same things)."""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from daguerre.archive import ArchiveError
from daguerre.archive.api import PICTURE_PARAMS, Archive
from daguerre.archive.catalogue import EXTENSIONS, Event, Item
from daguerre.archive.store import STORE_FILE, stored_item
from daguerre.archive.users import Account
from daguerre.archive.video import is_clip_item
from daguerre.video import CLIP_PARAMS

PREVIEW = 256  # long side of the quick preview, pixels
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


MAX_OFFSET = 2**53  # past any catalogue, inside the databases' 64-bit integers
FACET_CACHE = 512  # facet counts kept per (archive, query, filters, catalogue version)
_facets: dict[tuple, dict] = {}


def reader_sessions(archive: Archive):
    """Read-only sessions of the archive's catalogue (readers side by side on SQLite; see catalogue)."""
    found = getattr(archive, "_web_readers", None)
    if found is None:
        from daguerre.archive.catalogue import read_sessions

        found = archive._web_readers = read_sessions(archive.engine)
    return found


def browse(archive: Archive, query: str, filters: dict[str, str], sort: str, offset: int, limit: int,
           facets: bool = True):
    """A page of the collection; its count and facet counts are cached until the catalogue changes (every change
    to an item is an event, so the newest event's number tells)."""
    from sqlalchemy import func, select

    from daguerre.archive.search import browse, facet_counts

    given = {k: v or None for k, v in filters.items() if k != "withdrawn"}
    withdrawn = filters.get("withdrawn") or "hide"
    offset = min(max(0, offset), MAX_OFFSET)  # a hand-edited ?page= past SQLite's integers: an empty page
    with reader_sessions(archive)() as s:
        version = s.scalar(select(func.max(Event.pk)))
        key = (id(archive), query.strip().lower(), tuple(sorted(given.items())), withdrawn, version)
        total, counts = _facets.get(key, (None, None))
        page = browse(s, query, **given, withdrawn=withdrawn, sort=sort, offset=offset, limit=limit, facets=False,
                      total=total)
        if facets and counts is None:
            counts = facet_counts(s, query, **given, withdrawn=withdrawn)
        if key not in _facets and len(_facets) >= FACET_CACHE:
            _facets.pop(next(iter(_facets)))
        _facets[key] = (page.total, counts)
        page.facets = counts or {}
    return page


def thumbnail(archive: Archive, item: Item, size: int = 320) -> bytes:
    from daguerre.archive.renditions import thumbnail

    return thumbnail(archive, item, size)


def tiles(archive: Archive, item: Item) -> Path:
    from daguerre.archive.renditions import tiles

    return tiles(archive, item, f"/iiif/{item.id}")


def manifest(archive: Archive, item: Item, base: str) -> Path:
    """Write the IIIF manifest of the item's master (tiles made once) into the archive's cache; its path."""
    import json

    from daguerre.archive.iiif import manifest

    out = archive.path / "cache" / "export"
    master = archive.get(item.root_id)
    m = manifest(archive, master, out, base, include_withdrawn=False)
    path = out / master.id / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(json.loads(m.json()), indent=1))
    tmp.replace(path)
    return path


def item_bag(archive: Archive, item: Item) -> Iterator[bytes]:
    """A BagIt bag of the item's family (its master and every derivative not withdrawn, with their events),
    made by the archive's bag export in a temporary folder and streamed as a zip with bounded memory."""
    import queue
    import shutil
    import tempfile
    import threading
    import zipfile

    from sqlalchemy import select

    from daguerre.archive.bag import export_bag

    with reader_sessions(archive)() as s:
        family = list(s.scalars(select(Item).where(Item.root_id == item.root_id, Item.withdrawn.is_(False))
                                .order_by(Item.pk)))
    tmp = Path(tempfile.mkdtemp(prefix="daguerre-bag-"))
    name = f"{item.root_id}-bag"
    try:
        export_bag(archive, tmp / name, include_withdrawn=False, items=family)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
    gone = threading.Event()  # the client went away: stop writing

    class Pipe:  # zipfile writes here; the response reads the chunks as they come
        def write(self, data: bytes) -> int:
            while True:
                try:
                    chunks.put(bytes(data), timeout=1)
                    return len(data)
                except queue.Full:
                    if gone.is_set():
                        raise OSError("the download was abandoned") from None

        def flush(self) -> None:
            pass

    def write_zip() -> None:
        try:
            with zipfile.ZipFile(Pipe(), "w", zipfile.ZIP_STORED) as z:  # pictures are compressed already
                for path in sorted((tmp / name).rglob("*")):
                    if path.is_file():
                        z.write(path, path.relative_to(tmp).as_posix())
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if not gone.is_set():
                chunks.put(None)

    threading.Thread(target=write_zip, name="daguerre-bag", daemon=True).start()
    try:
        while (chunk := chunks.get()) is not None:
            yield chunk
    finally:
        gone.set()


def download_name(item: Item) -> str:
    """A file name for a download: the item id and a tidy version of its stored name (never a path)."""
    stem = SAFE_NAME.sub("_", Path(item.filename).stem)[:60].strip("._") or "item"
    return f"{item.id}-{stem}{EXTENSIONS.get(item.media_type, '')}"


@dataclass
class Node:
    item: Item
    children: list[Node] = field(default_factory=list)


@dataclass
class ItemView:
    """Everything the item page shows, gathered in a few queries."""

    master: Item
    tree: Node
    family: list[Item]
    events: list[Event]
    before: Item
    after: Item
    run_by: dict[str, str]  # creation event id -> who submitted the job that made it


def item_view(archive: Archive, item: Item, a: str = "", b: str = "") -> ItemView:
    from sqlalchemy import select

    from daguerre.archive.catalogue import Job

    with reader_sessions(archive)() as s:
        family = list(s.scalars(select(Item).where(Item.root_id == item.root_id).order_by(Item.pk)))
        ids = [i.id for i in family]
        history = list(s.scalars(select(Event).where(Event.object_id.in_(ids)).order_by(Event.pk)))
        made = [e.id for e in history if e.type == "creation"]  # a job's derivative's event has the job's id
        run_by = dict(s.execute(select(Job.id, Job.created_by).where(Job.id.in_(made))).all())
    by_id = {i.id: Node(i) for i in family}
    master = next((i for i in family if i.kind == "master"), item)
    for it in family:
        if it.parent_id in by_id:
            by_id[it.parent_id].children.append(by_id[it.id])
    known = {i.id: i for i in family}
    before = known.get(a) or known.get(item.parent_id or "") or master
    after = known.get(b) or (item if item.id != before.id else (family[-1] if len(family) > 1 else item))
    return ItemView(master, by_id[master.id], family, history, before, after, run_by)


def preview(archive: Archive, item: Item, operation: str, form: dict,
            files: dict[str, str] | None = None) -> tuple[str, float]:
    """Run the operation on a copy at most PREVIEW px wide: a data URL of the PNG and the seconds it took.
    ``files``: a painting or painted damage uploaded for this preview only (`params_from_form`)."""
    import numpy as np
    from PIL import Image

    from daguerre.archive.renditions import picture_of
    from daguerre.imaging import Picture
    from daguerre.ops import get_operation
    from daguerre.web.forms import params_from_form

    params = params_from_form(archive, operation, form, clip=is_clip_item(item), files=files)  # a clip's checked too...
    params = {k: v for k, v in params.items() if k not in CLIP_PARAMS}  # ...but its poster frame is a still
    picture = picture_of(archive, item)  # a clip's poster frame
    rgb = Image.fromarray(np.rint(np.moveaxis(picture.rgb(), 0, -1) * 255).astype(np.uint8))
    rgb.thumbnail((PREVIEW, PREVIEW), Image.Resampling.LANCZOS)
    small = Picture(np.moveaxis(np.asarray(rgb, np.float32) / 255, -1, 0))
    if hints := params.get("hints"):  # picked on the picture's own pixels: where they fall on the small copy
        params["hints"] = [scaled_hint(h, picture.size, small.size) for h in hints]  # type: ignore[union-attr]
    start = time.perf_counter()
    try:
        out = get_operation(operation).run(small, **params)
    except (ValueError, TypeError, LookupError, ArchiveError) as e:
        raise ValueError(plain(str(e).strip("'\""), params)) from e
    seconds = time.perf_counter() - start
    png = io.BytesIO()
    Image.fromarray(np.rint(np.moveaxis(out.rgb(), 0, -1) * 255).astype(np.uint8)).save(png, "PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(), seconds


def scaled_hint(hint: str, full: tuple[int, int], small: tuple[int, int]) -> str:
    """An ``X,Y,#RRGGBB`` hint in a (w, h) picture's pixels, moved to a smaller copy of it."""
    x, y, colour = hint.split(",")
    return (f"{min(int(float(x) * small[0] / full[0]), small[0] - 1)},"
            f"{min(int(float(y) * small[1] / full[1]), small[1] - 1)},{colour}")


@dataclass
class UploadResult:
    name: str
    status: str  # added | duplicate | failed
    id: str | None = None
    message: str = ""
    row: str | None = None  # the metadata sheet's row it took


def unmatched_rows(sheet: dict[str, dict[str, str]] | None, results: list[UploadResult]) -> str | None:
    """A line naming the sheet's rows that no uploaded file took (a typo or a case lost their metadata), or None."""
    used = {r.row for r in results}
    missed = [f"{name} (line {sheet.lines[name]})" if hasattr(sheet, "lines") else name
              for name in sheet or {} if name not in used]
    if not missed:
        return None
    return f"metadata sheet: {len(missed)} row{'s' if len(missed) > 1 else ''} matched no uploaded file: " + \
        ", ".join(missed)


def read_sheet(archive: Archive, upload, folder: Path) -> dict[str, dict[str, str]]:
    """The rows of an uploaded metadata CSV (as `daguerre archive ingest --metadata` reads it)."""
    from daguerre.archive.metadata import read_sheet

    path = folder / "metadata.csv"
    path.write_bytes(upload.file.read())
    try:
        return read_sheet(path)
    except ArchiveError as e:
        raise ArchiveError(_named(str(e), path, upload.filename or "metadata.csv")) from None


def ingest_upload(archive: Archive, upload, folder: Path, fields: dict[str, str], user: Account,
                  sheet: dict[str, dict[str, str]] | None = None) -> UploadResult:
    """Store one uploaded file under a made-up safe name (the sent name is only metadata) and ingest it.

    ``sheet``: metadata CSV rows, matched by the sent path, the path inside an uploaded folder, or the file name.
    """
    relative = str(upload.filename or "upload").replace("\\", "/")
    sent = Path(relative).name or "upload"
    inside = relative.split("/", 1)[1] if "/" in relative else relative  # a folder upload's path below it
    rows = sheet or {}
    row = next((k for k in (relative, inside, sent) if k in rows), None)
    fields = {**fields, **(rows[row] if row else {})}
    suffix = Path(sent).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""
    stem = SAFE_NAME.sub("_", Path(sent).stem)[:80].strip("._") or "upload"
    path = folder / str(len(list(folder.iterdir()))) / f"{stem}{suffix}"  # ingest takes title and source from it
    path.parent.mkdir()
    with open(path, "wb") as out:
        while block := upload.file.read(1 << 20):
            out.write(block)
    try:
        report = archive.ingest([path], fields=fields, origin=f"{relative} (web upload by {user.name})")
    except ArchiveError as e:
        return UploadResult(sent, "failed", message=_named(str(e), path, sent))
    if report.failed:
        return UploadResult(sent, "failed", message=_named(report.failed[0], path, sent))
    if report.added:
        return UploadResult(sent, "added", report.added[0], row=row)
    return UploadResult(sent, "duplicate", report.duplicates[0], "already in the archive", row=row)


def _named(message: str, path: Path, sent: str) -> str:
    """An error message that names the file as the user sent it, not our temporary copy."""
    return message.replace(str(path), sent).replace(path.name, sent)


# -------------------------------------------------------------------------------------------------- jobs


def submit(archive: Archive, item: Item, operation: str, form: dict, user: Account, raw: bool = False) -> str:
    """Queue a background job (the job table and runner batch runs use too); its id.

    ``raw``: ``form`` is already the params dict (the JSON API), else a submitted Run form.
    """
    from daguerre import jobs
    from daguerre.ops import OPERATIONS
    from daguerre.web.forms import params_from_form

    if raw and operation not in OPERATIONS:
        raise ArchiveError(f"no operation named {operation!r} (available: {', '.join(sorted(OPERATIONS))})")
    if not isinstance(form, dict):
        raise ArchiveError("params must be a JSON object")
    clip = is_clip_item(item)
    if raw and not clip and (loop := sorted(set(form) & CLIP_PARAMS)):  # else dropped without a word (derive)
        raise ArchiveError(f"{', '.join(loop)}: for clips only (a clip's frame loop); {item.id} is a picture")
    params = api_params(archive, form) if raw else params_from_form(archive, operation, form, clip=clip)
    [job_id] = jobs.submit(archive, [item.id], operation, params, user=user.name)
    return job_id


ITEM_PARAMS = PICTURE_PARAMS  # parameters that name pictures: item ids over the web
SERVER_FILE_PARAMS = ("mask_output",)  # parameters that write files beside the derivative: never over the web


def plain(message: str, params: dict | None = None) -> str:
    """A message as a web user reads it: the stored files the pictures given by item id became are named by their
    parameter and item id again (``reference 94d6b50331b1d112``), never by a path on the server."""
    for key in ITEM_PARAMS:
        value = (params or {}).get(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and (found := STORE_FILE.fullmatch(v)):
                message = message.replace(v, f"{key} {found.group(1)[:16]}")
    return STORE_FILE.sub(lambda m: f"item {m.group(1)[:16]}", message)


def shown(record: dict) -> dict:
    """A job's record as the web shows it: its pictures and its error name item ids, not the store's paths."""
    params = record.get("params") or {}
    if record.get("error"):
        record["error"] = plain(record["error"], params)

    def item_id(v: object) -> object:
        return stored_item(v) or v

    record["params"] = {k: ([item_id(v) for v in value] if isinstance(value, list) else item_id(value))
                        if k in ITEM_PARAMS else value for k, value in params.items()}
    return record


def api_params(archive: Archive, params: dict) -> dict:
    """An API job's parameters: pictures given as item ids become stored files; no other path is accepted."""
    from daguerre.web.forms import FormError, item_path

    out = {}
    for key, value in params.items():
        if key in SERVER_FILE_PARAMS:
            raise ArchiveError(f"{key}: writes files on the server, and is not accepted over the web")
        if key in ITEM_PARAMS:
            try:
                out[key] = [item_path(archive, v) for v in value] if isinstance(value, list) else item_path(
                    archive, str(value))
            except FormError as e:
                raise ArchiveError(f"{key}: {e}") from None
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and ("/" in v or "\\" in v) and not v.startswith("#"):
                raise ArchiveError(f"{key}: file paths are not accepted over the web; give pictures as item ids")
        out[key] = value
    return out


def jobs(archive: Archive, limit: int = 100) -> list[dict]:
    """The newest jobs first."""
    from sqlalchemy import select

    from daguerre.archive.catalogue import Job

    with reader_sessions(archive)() as s:
        return [shown(j.record()) for j in s.scalars(select(Job).order_by(Job.pk.desc()).limit(limit))]


def cancel(archive: Archive, job_id: str, user: Account) -> bool:
    """Cancel a queued or running job (a running one stops at its next tile or step): its owner or an admin only.
    False if it had already ended."""
    from daguerre import jobs as core

    job = core.get_job(archive, job_id)
    if user.role != "admin" and job["created_by"] != user.name:
        raise PermissionError(f"job {job_id[:8]}: only its owner or an admin may cancel it")
    return core.cancel(archive, job_id)


def job(archive: Archive, job_id: str) -> dict | None:
    """A job as the API shows it: id, operation, item_id, params, status, progress, error, derivative_id..."""
    from sqlalchemy import select

    from daguerre.archive.catalogue import Job

    with reader_sessions(archive)() as s:  # polled often: never queue for the write lock a running job needs
        found = s.scalar(select(Job).where(Job.id == job_id))
    return shown(found.record()) if found else None


def batch(archive: Archive, query: str, filters: dict[str, str], operation: str, user: Account,
          limit: int = 100_000) -> tuple[str, int]:
    """One run of ``operation`` (its default parameters) over every item the collection view matches, as
    `daguerre archive batch` makes it; the run id and the number of jobs queued."""

    from daguerre import jobs
    from daguerre.archive.search import _filtered
    from daguerre.web.forms import operation_fields, params_from_form

    fields = operation_fields().get(operation)
    if fields is None:
        raise ArchiveError(f"{operation!r}: not an operation the web app runs")
    defaults = {f.name: f.default for f in fields if f.default not in (None, False)}
    params = params_from_form(archive, operation, defaults)
    given = {k: v or None for k, v in filters.items() if k != "withdrawn"}
    with reader_sessions(archive)() as s:
        q = _filtered(s, query, **given, withdrawn="hide").with_only_columns(Item.id).order_by(Item.pk)
        ids = list(s.scalars(q.limit(limit)))
    if not ids:
        raise ArchiveError("nothing matches: no job queued")
    run_id = jobs.create_run(archive, operation, params, query=query, backend="inline", user=user.name)
    jobs.submit(archive, ids, operation, params, user=user.name, run_id=run_id)
    return run_id, len(ids)


def submit_colour_bank(archive: Archive, query: str, filters: dict[str, str], name: str, user: Account,
                       per_photo: str | int | None = None) -> str:
    """Queue a colour bank (`jobs.colour_bank`) of the colour masters the collection view matches (its derivatives,
    withdrawn items and clips are left out: a bank learns from photographs) as a job; its id. The masters' ids are
    frozen into the job when it is queued."""
    from daguerre import jobs
    from daguerre.archive.banks import bank_pictures
    from daguerre.archive.search import _filtered
    from daguerre.archive.video import not_clip
    from daguerre.jobs import colour_bank

    name = colour_bank.check_name(name.strip())  # before the search
    limit = colour_bank.MAX_MASTERS
    given = {k: v or None for k, v in filters.items() if k not in ("withdrawn", "kind")}
    with reader_sessions(archive)() as s:
        # clips left out here, not after: they must not count against the limit
        matches = _filtered(s, query, **given, kind="master", withdrawn="hide")
        items = list(s.scalars(matches.where(not_clip()).order_by(Item.pk).limit(limit + 1)))
        only_clips = not items and s.scalars(matches.limit(1)).first() is not None
    what = f"search {query!r}" if query else "the whole collection"
    if not items:
        raise ArchiveError(f"no master pictures to make a colour bank from ({what}): only clips match, and a bank "
                           "learns from photographs" if only_clips
                           else f"no masters match ({what}): nothing to make a colour bank from")
    if len(items) > limit:
        raise ArchiveError(f"more than {limit} masters match: narrow the search, or use `daguerre archive "
                           "colour-bank` for a larger bank")
    masters = [it.id for it in bank_pictures(items, what)]
    params = {"name": name, "masters": masters, "query": query, "per_photo": per_photo}
    [job_id] = jobs.submit(archive, masters[:1], "train-colour-bank", params, user=user.name)
    return job_id


# ---------------------------------------------------------------------------------------------- training


def submit_training(archive: Archive, painting: Item, form: dict, user: Account) -> str:
    """Queue style training on ``painting`` (an archive item) as a job; its id. ``form``: name, content
    (``photos:train`` or ``search:WORDS``), steps, batch_size, crop."""
    from daguerre import jobs

    content = str(form.get("content") or "photos:train")
    if content == "search":
        words = str(form.get("query") or "").strip()
        if not words:
            raise ArchiveError("content: give the search words whose masters are the content photos")
        content = f"search:{words}"
    params = {k: form.get(k) for k in ("name", "steps", "batch_size", "crop")} | {"content": content}
    [job_id] = jobs.submit(archive, [painting.id], "train-style", params, user=user.name)
    return job_id


@dataclass
class TrainingView:
    """What the training page shows of one training job: its row, the last losses, the files, the card."""

    job: dict
    losses: dict[str, float]
    sample: str | None  # file name of the newest sample grid
    plot: int  # the loss plot's modification time in ns (its URL changes with it), 0 before the first
    card: object | None  # ModelCard once trained
    published: bool


def training_view(archive: Archive, job_id: str) -> TrainingView | None:
    from daguerre.jobs import training
    from daguerre.models.registry import list_models
    from daguerre.training.common import LossLog

    found = job(archive, job_id)
    if found is None or found["operation"] not in training.TRAINING:
        return None
    folder = training.run_dir(archive, found["id"])
    log = LossLog(folder / "losses.csv").read()
    last = {k: v[-1] for k, v in log.items()} if log else {}
    samples = sorted(folder.glob("samples_*.png"))
    card = training.trained_card(archive, found["id"]) if found["status"] == "done" else None
    published = card is not None and any(c.name == card.name and c.sha256 == card.sha256 for c in list_models())
    plot = folder / "losses.png"
    return TrainingView(found, last, samples[-1].name if samples else None,
                        plot.stat().st_mtime_ns if plot.is_file() else 0, card, published)


def training_jobs(archive: Archive, limit: int = 50) -> list[dict]:
    from sqlalchemy import select

    from daguerre.archive.catalogue import Job
    from daguerre.jobs.training import TRAINING

    with reader_sessions(archive)() as s:
        q = select(Job).where(Job.operation.in_(TRAINING)).order_by(Job.pk.desc()).limit(limit)
        return [j.record() for j in s.scalars(q)]


# ------------------------------------------------------------------------------------------- style gallery

GALLERY_PHOTO = "astronaut.jpg"  # the bundled photo each style model's gallery thumbnail is made from
GALLERY_SIZE = 192


def style_thumbnail(archive: Archive, name: str) -> bytes:
    """A style model's gallery picture: the bundled astronaut photo in its style (a JPEG made once, then read from
    the archive's cache, keyed by the weights' sha256 so that a retrained model gets a new one)."""
    import secrets

    import numpy as np
    from PIL import Image

    from daguerre.imaging import Picture
    from daguerre.models.registry import find_model
    from daguerre.ops import get_operation

    card = find_model(name)
    if card.task != "style":
        raise LookupError(f"{name}: not a style model")
    path = archive.path / "cache" / "gallery" / f"{card.name}-{card.sha256[:16]}.jpg"
    if path.is_file():
        return path.read_bytes()
    photo = Image.open(Path(__file__).parents[1] / "samples" / GALLERY_PHOTO).convert("RGB")
    photo.thumbnail((GALLERY_SIZE, GALLERY_SIZE), Image.Resampling.LANCZOS)
    small = Picture(np.moveaxis(np.asarray(photo, np.float32) / 255, -1, 0))
    out = get_operation("stylize").run(small, method="fast", model=card.name)
    buf = io.BytesIO()
    Image.fromarray(np.rint(np.moveaxis(out.rgb(), 0, -1) * 255).astype(np.uint8)).save(buf, "JPEG", quality=85)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return buf.getvalue()


def style_gallery() -> list:
    """The installed fast style models' cards, for the Run form's gallery."""
    from daguerre.web.forms import _installed

    return [c for c in _installed() if c.task == "style"]
