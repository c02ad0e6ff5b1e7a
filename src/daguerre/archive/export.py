"""Export the archive: IIIF (manifests + level-0 tiles), a BagIt bag, or CSV / JSON metadata."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.archive import bag, iiif
from daguerre.archive.catalogue import DUBLIN_CORE
from daguerre.archive.errors import ArchiveError

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

FORMATS = ("iiif", "bagit", "csv", "json")
COLUMNS = ("id", "filename", "kind", "parent_id", *DUBLIN_CORE, "operation", "models", "digital_source_type",
           "sha256", "media_type", "width", "height", "created", "withdrawn")


def export(archive: Archive, format: str, out: Path, base_url: str, include_withdrawn: bool) -> Path:
    """Write the export into ``out`` (which must be absent or empty); returns its main file or folder. An export
    that fails leaves ``out`` as it found it."""
    if format not in FORMATS:
        raise ArchiveError(f"unknown export format {format!r} (use {', '.join(FORMATS)})")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArchiveError(f"{out}: exists and is not an empty folder")
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _write(archive, format, out, base_url, include_withdrawn)
    except BaseException:  # a half export would pass for a whole one, and block the next try into ``out``
        for child in [out] if made else list(out.iterdir()):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        raise


def _write(archive: Archive, format: str, out: Path, base_url: str, include_withdrawn: bool) -> Path:
    if format == "iiif":
        return iiif.export(archive, out, base_url, include_withdrawn)
    if format == "bagit":
        return bag.export_bag(archive, out, include_withdrawn)
    items = archive.items(include_withdrawn)
    if format == "json":
        path = out / "items.json"
        records = [{**it.record(), "events": [e.record() for e in archive.events_of(it.id)]} for it in items]
        path.write_text(json.dumps(records, indent=1, ensure_ascii=False))
        return path
    path = out / "items.csv"  # usable again as `ingest --metadata items.csv`
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows({k: getattr(it, k) for k in COLUMNS} for it in items)
    return path
