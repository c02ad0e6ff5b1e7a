"""Importing a bag: every signature, label and hash in it is checked before anything is stored.

A bag vouches for nothing by itself. Its events must verify against the certificates it carries (or that this
archive knows), every derivative's C2PA manifest against those certificates' CAs, every object against its
record, and every record against the signed event that ingested or made it. One problem refuses the whole
bag, with one line per problem, and nothing is stored. The exporting archive is trusted only when asked
(``trust_signer``); otherwise its chain is kept as foreign and the imported items verify as "signed by an
archive you do not trust" until someone runs ``archive trust add``.

A bag may hold a million items: its ``items.json`` and ``events.json`` are read a record at a time into a scratch
SQLite file (`Bag`), checked and imported from there `BATCH` records at a time, never held whole in memory (the
`bagit` library's validation still holds its manifests: about 1.6 KB an item).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import bagit
from sqlalchemy import Table, select

from daguerre.archive import c2pa, events
from daguerre.archive.bag import IN_BATCH, object_name
from daguerre.archive.catalogue import DUBLIN_CORE, Event, Item
from daguerre.archive.errors import ArchiveError
from daguerre.archive.keys import Chain, chains
from daguerre.models.card import sha256_of

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

ITEM_ID = re.compile(r"[0-9a-f]{16}")
SHA256 = re.compile(r"[0-9a-f]{64}")
OBJECT = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,5})?")
VOUCHING = (events.INGESTION, events.CREATION, events.REPLICATION)  # events whose outcome names the file's hash
BATCH = 500  # records checked, and looked up in the archive, at a time
MAX_RECORD = 16 << 20  # characters: the longest record or event a bag may hold
MAX_PROBLEMS = 1000  # lines a refusal lists (and a count of the others)


class BagRefused(ArchiveError):
    """A bag that failed its checks: ``problems`` has one line each; nothing was stored."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        super().__init__(f"{path}: bag refused, nothing imported ({count}):\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class BagImport:
    added: list[str]  # new item ids
    signer: str  # fingerprint of the exporting archive's signing certificate
    trusted: bool  # whether this archive trusts that signer now
    untrusted: list[str]  # signers of the imported events this archive does not trust


@dataclass
class Bag:
    """A bag being imported. Its records and events are held in a scratch SQLite file (deleted on `close`), a row
    each, not in memory: a bag of a million items is checked and imported in bounded memory."""

    path: Path
    db: sqlite3.Connection  # tables records (n, id, parent_id, sha256, depth, body) and events (n, id, object_id, body)
    exporter: Chain  # data/metadata/signer.pem
    chains: dict[str, Chain]  # the exporter's and the other signers' (signers.pem), by fingerprint

    def object(self, record: dict) -> Path:
        path = self.path / "data" / "objects" / object_name(record["sha256"], record["media_type"])
        legacy = path.with_name(f"{record['sha256']}.bin")  # a clip in a bag made before clips had their extension
        return legacy if not path.exists() and legacy.is_file() and not legacy.is_symlink() else path

    def records(self, parents_first: bool = False) -> Iterator[list[dict]]:
        """The records, `BATCH` at a time, in the bag's order (`parents_first`: each after its parent, once `check`
        has set their depths)."""
        order = "depth, n" if parents_first else "n"
        rows = self.db.execute(f"SELECT body FROM records ORDER BY {order}")
        while batch := rows.fetchmany(BATCH):
            yield [json.loads(body) for (body,) in batch]

    def events(self, object_id: str | None = None) -> Iterator[dict]:
        """The events in the bag's order (of one item with `object_id`)."""
        rows = (self.db.execute("SELECT body FROM events ORDER BY n") if object_id is None else
                self.db.execute("SELECT body FROM events WHERE object_id = ? ORDER BY n", (object_id,)))
        return (json.loads(body) for (body,) in rows)

    def holds(self, ids: set[str]) -> set[str]:
        """Which of `ids` are items in the bag."""
        found: set[str] = set()
        values = sorted(ids)
        for i in range(0, len(values), IN_BATCH):
            part = values[i:i + IN_BATCH]
            found |= {r[0] for r in self.db.execute(
                f"SELECT id FROM records WHERE id IN ({','.join('?' * len(part))})", part)}
        return found

    def roots(self, ids: set[str]) -> dict[str, str]:
        """The root ids of the items of `ids` that are in the bag."""
        found: dict[str, str] = {}
        values = sorted(ids)
        for i in range(0, len(values), IN_BATCH):
            part = values[i:i + IN_BATCH]
            found |= {r[0]: json.loads(r[1])["root_id"] for r in self.db.execute(
                f"SELECT id, body FROM records WHERE id IN ({','.join('?' * len(part))})", part)}
        return found

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Bag:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read(path: Path) -> Bag:
    """The bag's records, events and certificates, after BagIt validation and a check of every field. Records and
    events are read one at a time into the bag's scratch file (`Bag`); close it (or use the bag in a `with`)."""
    try:
        bagit.Bag(str(path)).validate()
    except (bagit.BagError, bagit.BagValidationError) as e:
        raise ArchiveError(f"{path}: not a valid bag ({' '.join(str(e).split())[:300]})") from None
    meta = path / "data" / "metadata"
    try:
        pem = (meta / "signer.pem").read_bytes()
        others = (meta / "signers.pem").read_bytes() if (meta / "signers.pem").exists() else b""
    except OSError as e:
        raise ArchiveError(f"{path}: not a daguerre bag ({' '.join(str(e).split())})") from None
    exporter, *more = chains(pem, f"{path}: signer.pem")
    if more:
        raise ArchiveError(f"{path}: signer.pem holds {len(more) + 1} signing certificates; a bag has one exporter")
    found = chains(others, f"{path}: signers.pem") if others.strip() else []
    db = sqlite3.connect("")  # a private temporary file, deleted when closed
    try:
        try:
            problems, names = _load(db, meta)
        except (OSError, ValueError) as e:
            raise ArchiveError(f"{path}: not a daguerre bag ({' '.join(str(e).split())[:300]})") from None
        problems += _object_names(path / "data" / "objects") + ([] if problems else names)
        if problems:
            raise BagRefused(path, problems.lines())
    except BaseException:
        db.close()
        raise
    return Bag(path, db, exporter, {c.fingerprint: c for c in [*found, exporter]})


def _load(db: sqlite3.Connection, meta: Path) -> tuple[Problems, Problems]:
    """items.json and events.json into `db`, a record at a time; (a line per record whose fields are wrong, a line
    per item whose ids or hash are not plain names). Records with problems are not loaded."""
    db.executescript("""
        PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
        CREATE TABLE records (n INTEGER PRIMARY KEY, id TEXT, parent_id TEXT, sha256 TEXT, depth INTEGER,
                              body TEXT NOT NULL);
        CREATE TABLE events (n INTEGER PRIMARY KEY, id TEXT, object_id TEXT, body TEXT NOT NULL);""")
    problems, names = Problems(), Problems()
    items = _checked(json_list(meta / "items.json", "items.json"), Item.__table__, "items.json", problems, names)
    db.executemany("INSERT INTO records (id, parent_id, sha256, body) VALUES (?, ?, ?, ?)",
                   ((r["id"], r["parent_id"], r["sha256"], json.dumps(r)) for r in items))
    history = _checked(json_list(meta / "events.json", "events.json"), Event.__table__, "events.json", problems,
                       names)
    db.executemany("INSERT INTO events (id, object_id, body) VALUES (?, ?, ?)",
                   ((e["id"], e["object_id"], json.dumps(e)) for e in history))
    db.executescript("""
        CREATE INDEX records_id ON records (id); CREATE INDEX records_parent ON records (parent_id);
        CREATE INDEX records_sha256 ON records (sha256);
        CREATE INDEX events_object ON events (object_id); CREATE INDEX events_id ON events (id);""")
    return problems, names


def json_list(path: Path, name: str, chunk: int = 1 << 20) -> Iterator[object]:
    """The elements of the JSON list in the file at `path`, one at a time: the file is read `chunk` characters at a
    time, never whole. A ValueError naming the file (`name`) if it is not a JSON list or holds an element that is
    not valid JSON or is longer than `MAX_RECORD` characters; OSError if it cannot be read."""
    decoder = json.JSONDecoder()
    f = open(path, encoding="utf-8")  # noqa: SIM115 (closed in the `finally` below, which covers every yield)
    text, at, count = "", 0, 0

    def more() -> bool:  # read on: False at the end of the file
        nonlocal text, at
        piece = f.read(chunk)
        text, at = text[at:] + piece, 0
        return bool(piece)

    def next_character() -> str:  # the next non-blank character, not consumed ("" at the end of the file)
        nonlocal at
        while True:
            while at < len(text) and text[at] in " \t\n\r":
                at += 1
            if at < len(text) or not more():
                return text[at:at + 1]

    try:
        if next_character() != "[":
            raise ValueError(f"{name}: not a JSON list")
        at += 1
        if next_character() == "]":
            at += 1
        else:
            while True:
                while True:  # one element, reading on until it is whole
                    try:
                        element, end = decoder.raw_decode(text, at)
                    except json.JSONDecodeError as e:
                        if len(text) - at <= MAX_RECORD and more():
                            continue
                        raise ValueError(f"{name}: element {count + 1} is not valid JSON, or is longer than "
                                           f"{MAX_RECORD:,} characters ({e.msg})") from None
                    except RecursionError:
                        raise ValueError(f"{name}: element {count + 1} is nested too deeply") from None
                    if end < len(text) or not more():  # (a number ending the text may go on in the next chunk)
                        break
                at, count = end, count + 1
                yield element
                c = next_character()
                at += 1
                if c == "]":
                    break
                if c != ",":
                    raise ValueError(f"{name}: not a JSON list ({c or 'the end of the file'!r} after element "
                                       f"{count})")
                next_character()
        if next_character():
            raise ValueError(f"{name}: more after the end of its JSON list")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not UTF-8 text") from None
    finally:
        f.close()


class Problems(list):
    """The lines that refuse a bag, at most `MAX_PROBLEMS` of them kept (and a count of the others)."""

    more = 0

    def append(self, line: str) -> None:
        if len(self) < MAX_PROBLEMS:
            super().append(line)
        else:
            self.more += 1

    def __iadd__(self, lines):  # type: ignore[override]
        for line in lines:
            self.append(line)
        return self

    def lines(self) -> list[str]:
        return [*self, *([f"... and {self.more:,} more problems"] if self.more else [])]


def _checked(rows: Iterator[object], table: Table, name: str, fields: Problems, names: Problems) -> Iterator[dict]:
    """The records of `rows` whose fields are exactly the table's columns with values of the right type (a line in
    `fields` for each other one) and, for items, whose ids and hash are plain hexadecimal names (a line in `names`
    for each other one)."""
    columns = {c.name: c for c in table.columns if c.name not in ("pk", "search_text")}
    for n, r in enumerate(rows, 1):
        if found := _fields(r, n, columns, name):
            fields += found
        elif table is Item.__table__ and (found := _values(r, n)):  # type: ignore[arg-type]
            names += found
        else:
            yield r  # type: ignore[misc]


def _fields(r: object, n: int, columns: dict, name: str) -> list[str]:
    """Record `n`'s problems if its fields are not exactly the table's `columns` with values of the right type."""
    where = f"{name} record {n}"
    if not isinstance(r, dict):
        return [f"{where}: not a JSON object"]
    if isinstance(r.get("id"), str):
        where += f" (id {r['id'][:40]})"
    unknown, missing = sorted(set(r) - set(columns)), sorted(set(columns) - set(r))
    wrong = [k for k, col in columns.items() if k in r and not _fits(r[k], col)]
    return [f"{where}: {what}: {', '.join(n[:40] for n in names[:10])}" for what, names in
            (("unknown field(s)", unknown), ("missing field(s)", missing), ("wrong type or too long", wrong)) if names]


def _fits(value: object, column) -> bool:
    if value is None:
        return bool(column.nullable)
    kind = column.type.python_type
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is str and getattr(column.type, "length", None):
        return isinstance(value, str) and len(value) <= column.type.length
    return isinstance(value, kind)


def _values(r: dict, n: int) -> list[str]:
    """Hashes and ids must be plain hexadecimal names: they become file and catalogue names."""
    problems = []
    where = f"items.json record {n} (id {r['id'][:40]})"
    if not SHA256.fullmatch(r["sha256"]):
        problems.append(f"{where}: sha256 {r['sha256'][:80]!r} is not a plain SHA-256 name")
    if r["kind"] not in ("master", "derivative"):
        problems.append(f"{where}: kind {r['kind'][:40]!r} is neither master nor derivative")
    bad = [k for k in ("id", "root_id", "parent_id") if r[k] is not None and not ITEM_ID.fullmatch(r[k])]
    if bad:
        problems.append(f"{where}: {', '.join(bad)} not 16 hexadecimal characters")
    return problems


def _object_names(folder: Path) -> list[str]:
    if not folder.is_dir():
        return ["data/objects: missing"]
    return [f"data/objects/{p.relative_to(folder)}: not a plain SHA-256 name" for p in sorted(folder.rglob("*"))
            if p.parent != folder or p.is_symlink() or not p.is_file() or not OBJECT.fullmatch(p.name)]


def check(archive: Archive, bag: Bag) -> list[str]:
    """Every problem that refuses the bag, one line each: signatures, hashes, labels, parents, clashes."""
    certs = {**archive.keys.known(), **{fp: c.signer for fp, c in bag.chains.items()}}
    problems = Problems()
    for e in (Event(**record) for record in bag.events()):
        if not events.signed_by(e, certs):
            problems.append(f"event {e.id} ({e.type} of {e.object_id}): " +
                            ("its signature does not verify (edited after it was signed?)" if e.signer in certs else
                             f"signed by {e.signer}, whose certificate is neither in the bag nor known here"))
    problems += _duplicates_and_cycles(bag)
    anchors = b"".join(c.ca_pem() for c in [*archive.keys.known_chains().values(), *bag.chains.values()])
    for batch in bag.records():
        parents = {r["parent_id"] for r in batch if r["parent_id"]}
        have = _in_archive(archive, Item.id, {r["id"] for r in batch} | parents, Item.sha256)
        in_bag = bag.holds(parents)
        roots = {**_in_archive(archive, Item.id, parents, Item.root_id), **bag.roots(parents)}
        for r in batch:
            where = f"item {r['id']}"
            obj = bag.object(r)
            if not obj.is_file() or sha256_of(obj) != r["sha256"]:
                problems.append(f"{where}: object {obj.name} is missing or does not match its record")
                continue
            mine = list(bag.events(r["id"]))
            if found := _origin(r, mine):
                problems += found
            else:
                problems += _vouched(r, mine, obj, roots.get(r["parent_id"]))
            if r["id"] in have and have[r["id"]] != r["sha256"]:
                problems.append(f"{where}: this archive has another file under the same id")
            if r["parent_id"] and r["parent_id"] not in in_bag and r["parent_id"] not in have:
                problems.append(f"{where}: its parent {r['parent_id']} is neither in the bag nor in this archive")
            if r["kind"] == "derivative":
                problems += _label(r, obj, anchors, mine)
    return problems.lines()


def _in_archive(archive: Archive, column, values: set[str], value=None) -> dict[str, object]:
    """The archive's rows whose `column` is one of `values` ({column value: `value` column's}), `IN_BATCH` values
    a query (PostgreSQL takes at most 65,535 parameters a statement)."""
    found: dict[str, object] = {}
    values_ = sorted(values)
    with archive.session() as s:
        for i in range(0, len(values_), IN_BATCH):
            part = values_[i:i + IN_BATCH]
            found.update(s.execute(select(column, column if value is None else value).where(column.in_(part))).all())
    return found


def _origin(record: dict, mine: list[dict]) -> list[str]:
    """The record must agree with the signed event that ingested or made its file (among ``mine``, the
    record's events, as the bag holds them): hash, parent, event id."""
    where, derivative = f"item {record['id']}", record["kind"] == "derivative"
    origin = [e for e in mine if e["type"] == (events.CREATION if derivative else events.INGESTION)]
    named = [sha for e in mine if e["type"] in VOUCHING and (sha := (e["outcome_detail"] or {}).get("sha256"))]
    made = "made" if derivative else "ingested"
    if not origin:
        return [f"{where}: no signed event in the bag {made} it"]
    if any(sha != record["sha256"] for sha in named):
        return [f"{where}: its SHA-256 is not the one recorded by the signed event that {made} it"]
    if derivative and (origin[0]["id"] != record["event_id"] or origin[0]["source_id"] != record["parent_id"]):
        return [f"{where}: its parent or event id differ from its signed creation event"]
    if not derivative and record["parent_id"] is not None:
        return [f"{where}: a master with a parent"]
    return []


def _vouched(record: dict, mine: list[dict], obj: Path, parent_root: object) -> list[str]:
    """The record's fields that signed events fix must be theirs, or an edited bag could pass a machine-made picture
    off as an original, change its rights or bring back a withdrawn item: the operation, models and AI label (its
    creation's recipe), the Dublin Core (as ingested or made, then each signed modification in turn; a derivative
    made before its creation event recorded them: its description and identifier), withdrawal (a deaccession
    event), size (the object's) and family (its parent's)."""
    derivative = record["kind"] == "derivative"
    origin = next(e for e in mine if e["type"] == (events.CREATION if derivative else events.INGESTION)
                  and (not derivative or e["id"] == record["event_id"]))
    detail, recipe = origin["outcome_detail"] or {}, {}
    expected: dict[str, object] = {"withdrawn": any(e["type"] == events.DEACCESSION for e in mine),
                                   "size": obj.stat().st_size, "root_id": parent_root if derivative else record["id"]}
    if derivative:
        recipe = detail.get("recipe") or {}
        expected |= {"operation": recipe.get("operation"), "digital_source_type": recipe.get("digital_source_type"),
                     "models": " ".join(m.get("name", "") for m in recipe.get("models", [])) or None}
    described = detail.get("dublin_core")
    if described is None and derivative:  # made before 2026-12-04
        described = {"description": f"Machine-made derivative ({recipe.get('operation')} "
                                    f"{recipe.get('operation_version')}) of {record['parent_id']}",
                     "identifier": record["sha256"][:16]}
    elif described is not None:
        described = {k: described.get(k) for k in DUBLIN_CORE}
    for e in sorted((e for e in mine if e["type"] == events.METADATA and described is not None),
                    key=lambda e: e["datetime"]):  # an ingestion that did not record them: nothing to check
        described |= {k: v for k, v in ((e["outcome_detail"] or {}).get("after") or {}).items() if k in described}
    expected |= described or {}
    differ = [k for k, v in expected.items() if (record[k] or None) != (v or None)]
    if not differ:
        return []
    return [f"item {record['id']}: {', '.join(differ)} not as its signed events record (edited after export?)"]


def _duplicates_and_cycles(bag: Bag) -> list[str]:
    """Ids, hashes and event ids that appear more than once, and records whose parents form a loop. Each record's
    depth (its ancestors in the bag) is set on the way: the import stores parents first."""
    problems = []
    for name, table, column in (("item id", "records", "id"), ("sha256", "records", "sha256"),
                                ("event id", "events", "id")):
        rows = bag.db.execute(f"SELECT {column} FROM {table} GROUP BY {column} HAVING count(*) > 1 ORDER BY {column}")
        problems += [f"{name} {v}: appears more than once" for (v,) in rows]
    bag.db.executescript("""
        DROP TABLE IF EXISTS placed;
        CREATE TEMP TABLE placed AS WITH RECURSIVE place (n, id, depth) AS (
            SELECT n, id, 0 FROM records
                WHERE parent_id IS NULL OR parent_id NOT IN (SELECT id FROM records WHERE id IS NOT NULL)
            UNION
            SELECT r.n, r.id, p.depth + 1 FROM records r JOIN place p ON r.parent_id = p.id
                WHERE p.depth < (SELECT count(*) FROM records))
        SELECT n, min(depth) AS depth FROM place GROUP BY n;
        CREATE INDEX placed_n ON placed (n);
        UPDATE records SET depth = (SELECT depth FROM placed WHERE placed.n = records.n);""")
    rows = bag.db.execute("SELECT id FROM records WHERE depth IS NULL ORDER BY n")  # never reached from a root
    return problems + [f"item {i}: its parents form a loop" for (i,) in rows]


def _label(record: dict, obj: Path, anchors: bytes, mine: list[dict]) -> list[str]:
    """The derivative's C2PA manifest must be signed by a chain in the bag (or known here) and match its event
    (among ``mine``, the record's events)."""
    where = f"item {record['id']}"
    if (reason := c2pa.unavailable()) is not None:
        return [f"{where}: its C2PA manifest cannot be checked here ({reason})"]
    found = c2pa.read(obj.read_bytes(), record["media_type"], anchors)
    if found["state"] is None and record["extra"].get("c2pa") != "embedded":
        return []  # made where C2PA signing was unavailable: the signed event's hash vouches for the file
    if found["state"] != "Trusted" or found["failures"]:
        detail = found["error"] or f"{found['state']}: {', '.join(found['failures'])}"
        return [f"{where}: its C2PA manifest does not verify against the bag's certificates ({detail})"]
    made = next((e for e in mine if e["id"] == record["event_id"] and e["type"] == events.CREATION), None)
    recipe = (made["outcome_detail"] or {}).get("recipe") if made else None
    if c2pa.canonical(found["recipe"]) != c2pa.canonical(recipe):
        return [f"{where}: its C2PA recipe differs from its signed creation event"]
    return []


def import_bag(archive: Archive, path: Path, trust_signer: bool = False) -> BagImport:
    """Check the whole bag, then add its new items with their original events and a replication event each."""
    with read(path) as bag:
        if problems := check(archive, bag):
            raise BagRefused(path, problems)
        for chain in bag.chains.values():
            archive.keys.remember(chain)
        if trust_signer:
            archive.keys.trust(bag.exporter)
        added, signers = [], set()
        for batch in bag.records(parents_first=True):
            mine = {r["id"]: list(bag.events(r["id"])) for r in batch}
            have = _in_archive(archive, Item.sha256, {r["sha256"] for r in batch})
            have_events = _in_archive(archive, Event.id, {e["id"] for found in mine.values() for e in found})
            for r in batch:
                if r["sha256"] in have:
                    continue
                item = Item(**r)
                item.search_text = item.text()
                kept = [e for e in mine[r["id"]] if e["id"] not in have_events]
                rows = [item, *(Event(**e) for e in kept)]
                rows.append(events.make(archive.keys, events.REPLICATION, object_id=r["id"],
                                        detail=f"imported from bag {path}",
                                        outcome_detail={"sha256": r["sha256"], "bag": str(path.resolve()),
                                                        "exported_by": bag.exporter.fingerprint}))
                obj = bag.object(r)
                if archive.store_and_record(r["sha256"],
                                            lambda obj=obj, r=r: archive.store.put_file(obj, expect=r["sha256"]), rows):
                    added.append(r["id"])
                    signers |= {e["signer"] for e in kept}
        exporter = bag.exporter.fingerprint
    trusted = archive.keys.signers()
    return BagImport(added, exporter, exporter in trusted, sorted(signers - set(trusted)))
