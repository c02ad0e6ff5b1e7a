"""Export the archive: IIIF (manifests + level-0 tiles), a BagIt bag, or CSV / JSON metadata."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from daguerre.archive import bag, iiif
from daguerre.archive.catalogue import DUBLIN_CORE, Event, Item
from daguerre.archive.errors import ArchiveError

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

FORMATS = ("iiif", "bagit", "csv", "json")
COLUMNS = ("id", "filename", "kind", "parent_id", *DUBLIN_CORE, "operation", "models", "digital_source_type",
           "sha256", "media_type", "width", "height", "created", "withdrawn")
PAGE = 1000  # items a query when exporting metadata
Selection = tuple[str, dict]  # words and filters, as `archive search` and `archive batch --where` take them


def check_base_url(url: str) -> str:
    """`url` if an IIIF export can be served there (an absolute http(s) URL), else a one-line ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    return url


def export(archive: Archive, format: str, out: Path, base_url: str, include_withdrawn: bool,
           where: Selection | None = None) -> Path:
    """Write the export into ``out`` (which must be absent or empty); returns its main file or folder. An export
    that fails leaves ``out`` as it found it. ``where``: (words, filters) as `archive search` takes them: only
    the matching items (CSV, JSON; a bag also takes the items their derivations read, `bag.with_inputs`)."""
    if format not in FORMATS:
        raise ArchiveError(f"unknown export format {format!r} (use {', '.join(FORMATS)})")
    if where is not None and format == "iiif":
        raise ArchiveError("an IIIF export is of the whole archive: a selection is for bagit, csv or json")
    if format == "iiif":
        try:
            check_base_url(base_url)
        except ValueError as e:
            raise ArchiveError(f"base_url: {e}") from None
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArchiveError(f"{out}: exists and is not an empty folder")
    if where is not None and next(pages(archive, include_withdrawn, size=1, where=where), None) is None:
        said = "no bag made" if format == "bagit" else "nothing written"
        raise ArchiveError(f"nothing matches the selection: {said}")
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _write(archive, format, out, base_url, include_withdrawn, where)
    except BaseException:  # a half export would pass for a whole one, and block the next try into ``out``
        for child in [out] if made else list(out.iterdir()):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        raise


def _write(archive: Archive, format: str, out: Path, base_url: str, include_withdrawn: bool,
           where: Selection | None = None) -> Path:
    if format == "iiif":
        return iiif.export(archive, out, base_url, include_withdrawn)
    if format == "bagit":
        chosen = None if where is None else [it for items, _ in pages(archive, include_withdrawn, where=where)
                                             for it in items]
        return bag.export_bag(archive, out, include_withdrawn, items=chosen)
    if format == "json":
        path = out / "items.json"
        with open(path, "w", encoding="utf-8") as f:  # as json.dumps(records, indent=1), written a page at a time
            first = True
            for items, history in pages(archive, include_withdrawn, with_events=True, where=where):
                for it in items:
                    record = {**it.record(), "events": [e.record() for e in history.get(it.id, [])]}
                    f.write(("[\n " if first else ",\n ") + json.dumps(record, indent=1, ensure_ascii=False)
                            .replace("\n", "\n "))
                    first = False
            f.write("[]" if first else "\n]")
        return path
    path = out / "items.csv"  # usable again as `ingest --metadata items.csv`
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for items, _ in pages(archive, include_withdrawn, where=where):
            writer.writerows({k: getattr(it, k) for k in COLUMNS} for it in items)
    return path


def pages(archive: Archive, include_withdrawn: bool, with_events: bool = False, size: int = PAGE,
          where: Selection | None = None) -> Iterator[tuple[list[Item], dict[str, list[Event]]]]:
    """The catalogue's items in order (those matching ``where``, if given), ``size`` at a time, with (if asked)
    each page's events by item in one query: an export of a million items holds one page in memory and makes
    two queries a page, not one an item."""
    from sqlalchemy import select

    from daguerre.archive.search import matching

    last = 0
    while True:
        with archive.session() as s:
            if where is None:
                q = select(Item) if include_withdrawn else select(Item).where(Item.withdrawn.is_(False))
            else:
                q = matching(select(Item), s, where[0], **where[1], include_withdrawn=include_withdrawn)
            q = q.where(Item.pk > last).order_by(Item.pk).limit(size)
            items = list(s.scalars(q))
            if not items:
                return
            history: dict[str, list[Event]] = {}
            if with_events:
                found = s.scalars(select(Event).where(Event.object_id.in_([it.id for it in items]))
                                  .order_by(Event.pk))
                for e in found:
                    history.setdefault(e.object_id, []).append(e)
        yield items, history
        last = items[-1].pk
