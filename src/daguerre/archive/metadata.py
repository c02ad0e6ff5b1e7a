"""Dublin Core for a master from its EXIF, IPTC-IIM and XMP, and a CSV sheet that adds or overrides fields."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image, IptcImagePlugin

from daguerre.archive.catalogue import DUBLIN_CORE
from daguerre.archive.errors import ArchiveError
from daguerre.archive.xmp import descriptions

# Columns of `daguerre archive export --format csv` that a sheet may carry but ingest does not set.
IGNORED_COLUMNS = ("filename", "id", "kind", "parent_id", "operation", "models", "digital_source_type", "sha256",
                   "media_type", "width", "height", "created", "withdrawn")
_EXIF = {270: "description", 315: "creator", 33432: "rights", 306: "date"}
_EXIF_DATE_ORIGINAL = 36867
_IPTC = {(2, 5): "title", (2, 80): "creator", (2, 120): "description", (2, 25): "subject", (2, 116): "rights",
         (2, 55): "date", (2, 115): "source"}
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_XMP_DATES = ("{http://ns.adobe.com/photoshop/1.0/}DateCreated", "{http://ns.adobe.com/xap/1.0/}CreateDate")


def dublin_core(path: Path, exif: bytes | None, xmp: bytes | None) -> dict[str, str]:
    """Fields found in the file; XMP wins over IPTC, which wins over EXIF (the usual precedence)."""
    fields: dict[str, str] = {}
    fields.update(_from_exif(exif))
    fields.update(_from_iptc(path))
    fields.update(_from_xmp(xmp))
    return {k: v for k, v in fields.items() if v}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).replace("\x00", " ").split())


def _exif_date(value: str) -> str:
    """EXIF "YYYY:MM:DD HH:MM:SS" as ISO 8601."""
    date, _, time = value.partition(" ")
    return date.replace(":", "-") + (f"T{time}" if time else "")


def _from_exif(exif: bytes | None) -> dict[str, str]:
    if not exif:
        return {}
    parsed = Image.Exif()
    try:
        parsed.load(exif)
        sub = parsed.get_ifd(0x8769)
    except Exception:  # a broken EXIF block gives no fields, not a failed ingest
        return {}
    out = {name: _text(parsed[tag]) for tag, name in _EXIF.items() if tag in parsed}
    if original := sub.get(_EXIF_DATE_ORIGINAL):
        out["date"] = _text(original)
    if "date" in out:
        out["date"] = _exif_date(out["date"])
    return out


def _from_iptc(path: Path) -> dict[str, str]:
    try:
        with Image.open(path) as im:
            info = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:
        return {}
    out: dict[str, str] = {}
    for key, name in _IPTC.items():
        value = info.get(key)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        out[name] = "; ".join(_text(v) for v in values)
    if "date" in out and len(out["date"]) == 8 and out["date"].isdigit():
        d = out["date"]
        out["date"] = f"{d[:4]}-{d[4:6]}-{d[6:]}"
    return out


def _from_xmp(xmp: bytes | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for desc in descriptions(xmp):
        for name in DUBLIN_CORE:
            for el in desc.iter(f"{_DC}{name}"):
                items = [_text(li.text) for li in el.iter(f"{_RDF}li") if li.text]
                value = "; ".join(items) if items else _text(el.text or "")
                if value:
                    out[name] = value
        for key in _XMP_DATES:
            if key in desc.attrib:
                out["date"] = desc.attrib[key]
            elif (el := desc.find(key)) is not None and el.text:
                out["date"] = el.text.strip()
    return out


class Sheet(dict):
    """A metadata sheet's rows, ``{filename: {field: value}}``, with each row's line in the file (`lines`)."""

    lines: dict[str, int]


def read_sheet(sheet: Path) -> Sheet:
    """``{filename: {field: value}}`` from a CSV with a ``filename`` column and Dublin Core columns.

    Empty cells leave a field as the file has it. Unknown columns are an error, so a typo changes nothing.
    """
    try:
        with open(sheet, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            if "filename" not in columns:
                raise ArchiveError(f"{sheet}: no 'filename' column (columns: {', '.join(columns) or 'none'})")
            unknown = [c for c in columns if c not in DUBLIN_CORE and c not in IGNORED_COLUMNS]
            if unknown:
                raise ArchiveError(f"{sheet}: unknown column(s) {', '.join(unknown)} "
                                   f"(Dublin Core: {', '.join(DUBLIN_CORE)})")
            rows = Sheet()
            rows.lines = {}
            for n, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                if not row.get("filename"):
                    raise ArchiveError(f"{sheet}: line {n} has no filename")
                rows[row["filename"]] = {k: v for k, v in row.items() if k in DUBLIN_CORE and v}
                rows.lines[row["filename"]] = n
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ArchiveError(f"{sheet}: cannot read the CSV sheet ({e})") from None


def sheet_row(rows: dict[str, dict[str, str]], path: Path, root: Path | None) -> str | None:
    """The sheet's row (its filename) for ``path``: matched by path relative to the ingested folder, else by file
    name; None if it has none."""
    if root is not None and root.is_dir() and (rel := path.relative_to(root).as_posix()) in rows:
        return rel
    return path.name if path.name in rows else None
