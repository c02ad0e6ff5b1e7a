"""Importing a bag: every signature, label and hash in it is checked before anything is stored.

A bag vouches for nothing by itself. Its events must verify against the certificates it carries (or that this
archive knows), every derivative's C2PA manifest against those certificates' CAs, every object against its
record, and every record against the signed event that ingested or made it. One problem refuses the whole
bag, with one line per problem, and nothing is stored. The exporting archive is trusted only when asked
(``trust_signer``); otherwise its chain is kept as foreign and the imported items verify as "signed by an
archive you do not trust" until someone runs ``archive trust add``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import bagit
from sqlalchemy import Table, select

from daguerre.archive import c2pa, events
from daguerre.archive.bag import object_name
from daguerre.archive.catalogue import Event, Item
from daguerre.archive.errors import ArchiveError
from daguerre.archive.keys import Chain, chains
from daguerre.models.card import sha256_of

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

ITEM_ID = re.compile(r"[0-9a-f]{16}")
SHA256 = re.compile(r"[0-9a-f]{64}")
OBJECT = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,5})?")
VOUCHING = (events.INGESTION, events.CREATION, events.REPLICATION)  # events whose outcome names the file's hash


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
    path: Path
    records: list[dict]
    history: list[dict]
    exporter: Chain  # data/metadata/signer.pem
    chains: dict[str, Chain]  # the exporter's and the other signers' (signers.pem), by fingerprint

    def object(self, record: dict) -> Path:
        return self.path / "data" / "objects" / object_name(record["sha256"], record["media_type"])


def read(path: Path) -> Bag:
    """The bag's records, events and certificates, after BagIt validation and a check of every field."""
    try:
        bagit.Bag(str(path)).validate()
    except (bagit.BagError, bagit.BagValidationError) as e:
        raise ArchiveError(f"{path}: not a valid bag ({' '.join(str(e).split())[:300]})") from None
    meta = path / "data" / "metadata"
    try:
        records = json.loads((meta / "items.json").read_text())
        history = json.loads((meta / "events.json").read_text())
        pem = (meta / "signer.pem").read_bytes()
        others = (meta / "signers.pem").read_bytes() if (meta / "signers.pem").exists() else b""
    except (OSError, ValueError) as e:
        raise ArchiveError(f"{path}: not a daguerre bag ({' '.join(str(e).split())})") from None
    exporter, *more = chains(pem, f"{path}: signer.pem")
    if more:
        raise ArchiveError(f"{path}: signer.pem holds {len(more) + 1} signing certificates; a bag has one exporter")
    found = chains(others, f"{path}: signers.pem") if others.strip() else []
    fields = _fields(Item.__table__, records, "items.json") + _fields(Event.__table__, history, "events.json")
    problems = fields + _object_names(path / "data" / "objects") + ([] if fields else _values(records))
    if problems:
        raise BagRefused(path, problems)
    return Bag(path, records, history, exporter, {c.fingerprint: c for c in [*found, exporter]})


def _fields(table: Table, rows: object, name: str) -> list[str]:
    """One line per record whose fields are not exactly the table's columns with values of the right type."""
    columns = {c.name: c for c in table.columns if c.name not in ("pk", "search_text")}
    if not isinstance(rows, list):
        return [f"{name}: not a list of records"]
    problems = []
    for n, r in enumerate(rows, 1):
        where = f"{name} record {n}"
        if not isinstance(r, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        if isinstance(r.get("id"), str):
            where += f" (id {r['id'][:40]})"
        unknown, missing = sorted(set(r) - set(columns)), sorted(set(columns) - set(r))
        wrong = [k for k, col in columns.items() if k in r and not _fits(r[k], col)]
        for what, names in (("unknown field(s)", unknown), ("missing field(s)", missing),
                            ("wrong type or too long", wrong)):
            if names:
                problems.append(f"{where}: {what}: {', '.join(n[:40] for n in names[:10])}")
    return problems


def _fits(value: object, column) -> bool:
    if value is None:
        return bool(column.nullable)
    kind = column.type.python_type
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is str and getattr(column.type, "length", None):
        return isinstance(value, str) and len(value) <= column.type.length
    return isinstance(value, kind)


def _values(records: list[dict]) -> list[str]:
    """Hashes and ids must be plain hexadecimal names: they become file and catalogue names."""
    problems = []
    for n, r in enumerate(records, 1):
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
    history = [Event(**e) for e in bag.history]
    by_object = defaultdict(list)  # each record's events, found once: a scan per record was quadratic
    for e in history:
        by_object[e.object_id].append(e)
    problems = [f"event {e.id} ({e.type} of {e.object_id}): " +
                ("its signature does not verify (edited after it was signed?)" if e.signer in certs else
                 f"signed by {e.signer}, whose certificate is neither in the bag nor known here")
                for e in history if not events.signed_by(e, certs)]
    problems += _duplicates_and_cycles(bag)
    ids = {r["id"] for r in bag.records}
    wanted = ids | {r["parent_id"] for r in bag.records if r["parent_id"]}
    with archive.session() as s:
        have = {i.id: i.sha256 for i in s.scalars(select(Item).where(Item.id.in_(wanted)))}
    anchors = b"".join(c.ca_pem() for c in [*archive.keys.known_chains().values(), *bag.chains.values()])
    for r in bag.records:
        where = f"item {r['id']}"
        obj = bag.object(r)
        if not obj.is_file() or sha256_of(obj) != r["sha256"]:
            problems.append(f"{where}: object {obj.name} is missing or does not match its record")
            continue
        problems += _origin(r, by_object[r["id"]])
        if r["id"] in have and have[r["id"]] != r["sha256"]:
            problems.append(f"{where}: this archive has another file under the same id")
        if r["parent_id"] and r["parent_id"] not in ids and r["parent_id"] not in have:
            problems.append(f"{where}: its parent {r['parent_id']} is neither in the bag nor in this archive")
        if r["kind"] == "derivative":
            problems += _label(r, obj, anchors, by_object[r["id"]])
    return problems


def _origin(record: dict, mine: list[Event]) -> list[str]:
    """The record must agree with the signed event that ingested or made its file (among ``mine``, the
    record's events): hash, parent, event id."""
    where, derivative = f"item {record['id']}", record["kind"] == "derivative"
    origin = [e for e in mine if e.type == (events.CREATION if derivative else events.INGESTION)]
    named = [e.outcome_detail.get("sha256") for e in mine if e.type in VOUCHING and e.outcome_detail.get("sha256")]
    made = "made" if derivative else "ingested"
    if not origin:
        return [f"{where}: no signed event in the bag {made} it"]
    if any(sha != record["sha256"] for sha in named):
        return [f"{where}: its SHA-256 is not the one recorded by the signed event that {made} it"]
    if derivative and (origin[0].id != record["event_id"] or origin[0].source_id != record["parent_id"]):
        return [f"{where}: its parent or event id differ from its signed creation event"]
    if not derivative and record["parent_id"] is not None:
        return [f"{where}: a master with a parent"]
    return []


def _duplicates_and_cycles(bag: Bag) -> list[str]:
    problems = []
    for name, values in (("item id", [r["id"] for r in bag.records]), ("sha256", [r["sha256"] for r in bag.records]),
                         ("event id", [e["id"] for e in bag.history])):
        problems += [f"{name} {v}: appears more than once" for v, n in sorted(Counter(values).items()) if n > 1]
    by_id = {r["id"]: r for r in bag.records}
    for r in bag.records:
        chain, parent = {r["id"]}, r["parent_id"]
        while parent in by_id:
            if parent in chain:
                problems.append(f"item {r['id']}: its parents form a loop")
                break
            chain.add(parent)
            parent = by_id[parent]["parent_id"]
    return problems


def _label(record: dict, obj: Path, anchors: bytes, mine: list[Event]) -> list[str]:
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
    made = next((e for e in mine if e.id == record["event_id"] and e.type == events.CREATION), None)
    recipe = (made.outcome_detail or {}).get("recipe") if made else None
    if c2pa.canonical(found["recipe"]) != c2pa.canonical(recipe):
        return [f"{where}: its C2PA recipe differs from its signed creation event"]
    return []


def import_bag(archive: Archive, path: Path, trust_signer: bool = False) -> BagImport:
    """Check the whole bag, then add its new items with their original events and a replication event each."""
    bag = read(path)
    if problems := check(archive, bag):
        raise BagRefused(path, problems)
    for chain in bag.chains.values():
        archive.keys.remember(chain)
    if trust_signer:
        archive.keys.trust(bag.exporter)
    with archive.session() as s:
        have = set(s.scalars(select(Item.sha256)))
        have_events = set(s.scalars(select(Event.id)))
    added, signers = [], set()
    by_id = {r["id"]: r for r in bag.records}
    by_object = defaultdict(list)
    for e in bag.history:
        by_object[e["object_id"]].append(e)
    for r in _parents_first(bag.records, by_id):
        if r["sha256"] in have:
            continue
        item = Item(**r)
        item.search_text = item.text()
        kept = [e for e in by_object[r["id"]] if e["id"] not in have_events]
        rows = [item, *(Event(**e) for e in kept)]
        rows.append(events.make(archive.keys, events.REPLICATION, object_id=r["id"], detail=f"imported from bag {path}",
                                outcome_detail={"sha256": r["sha256"], "bag": str(path.resolve()),
                                                "exported_by": bag.exporter.fingerprint}))
        obj = bag.object(r)
        if archive.store_and_record(r["sha256"], lambda obj=obj, r=r: archive.store.put_file(obj, expect=r["sha256"]),
                                    rows):
            added.append(r["id"])
            signers |= {e["signer"] for e in kept}
    trusted = archive.keys.signers()
    exporter = bag.exporter.fingerprint
    return BagImport(added, exporter, exporter in trusted, sorted(signers - set(trusted)))


def _parents_first(records: list[dict], by_id: dict[str, dict]) -> list[dict]:
    def depth(r: dict) -> int:
        n = 0
        while r.get("parent_id") and r["parent_id"] in by_id:
            r, n = by_id[r["parent_id"]], n + 1
        return n

    return sorted(records, key=depth)
