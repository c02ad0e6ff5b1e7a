"""Fixity (re-hash every stored file) and verification of one item's label and history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from daguerre.archive import c2pa, events, xmp
from daguerre.archive.catalogue import Event, Intent, Item
from daguerre.archive.video import is_clip_item
from daguerre.archive.xmp import source_type_uri

if TYPE_CHECKING:
    from daguerre.archive.api import Archive, FileProgress

BATCH = 500


@dataclass
class FixityReport:
    checked: int = 0
    mismatched: list[str] = field(default_factory=list)  # item ids whose file changed
    missing: list[str] = field(default_factory=list)  # item ids whose file is gone
    unreferenced: list[str] = field(default_factory=list)  # stored hashes no item names

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.missing)


def fixity(archive: Archive, on_file: FileProgress | None = None) -> FixityReport:
    """Re-hash every stored file, record a "fixity check" event for each, and list problems."""
    report = FixityReport()
    with archive.session() as s:
        items = [(i.id, i.sha256, i.filename) for i in s.scalars(select(Item).order_by(Item.pk))]
    pending: list[Event] = []
    for n, (item_id, sha, filename) in enumerate(items):
        if on_file:
            on_file(Path(filename), n, len(items))
        actual = archive.store.hash(sha)
        if actual is None:
            report.missing.append(item_id)
        elif actual != sha:
            report.mismatched.append(item_id)
        outcome = "success" if actual == sha else "failure"
        pending.append(events.make(archive.keys, events.FIXITY, object_id=item_id, outcome=outcome,
                                   detail="SHA-256 re-computed",
                                   outcome_detail={"expected": sha, "actual": actual}))
        report.checked += 1
        if len(pending) >= BATCH or n == len(items) - 1:
            with archive.session.begin() as s:
                s.add_all(pending)
            pending = []
    with archive.session() as s:
        known = set(s.scalars(select(Item.sha256))) | set(s.scalars(select(Intent.sha256)))
    report.unreferenced = sorted(set(archive.store.objects()) - known)
    return report


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerifyReport:
    item_id: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def verify(archive: Archive, item: Item) -> VerifyReport:
    """Check the file's hash, its events' signatures and, for a derivative, its C2PA and XMP labels."""
    checks: list[Check] = []
    actual = archive.store.hash(item.sha256)
    checks.append(Check("fixity", actual == item.sha256,
                        "SHA-256 matches" if actual == item.sha256 else
                        "file is missing" if actual is None else f"file changed: SHA-256 is now {actual}"))
    history = archive.events_of(item.id)
    checks.append(_signatures(archive, history))
    if item.withdrawn:  # still kept and checked; said, as a reader of "ok" would otherwise take it for in use
        why = next((e for e in reversed(history) if e.type == events.DEACCESSION), None)
        checks.append(Check("withdrawn", True, f"hidden since {why.datetime[:10]}: {why.detail}" if why else "hidden"))
    if item.kind == "derivative":
        checks += _labels(archive, item)
    result = VerifyReport(item.id, checks)
    with archive.session.begin() as s:
        s.add(events.make(archive.keys, events.VALIDATION, object_id=item.id, detail="verify",
                          outcome="success" if result.ok else "failure",
                          outcome_detail={c.name: {"ok": c.ok, "detail": c.detail} for c in checks}))
    return result


def untrusted(fingerprints: Iterable[str]) -> str:
    return f"signed by an archive you do not trust (fingerprint {', '.join(sorted(set(fingerprints)))})"


def _signatures(archive: Archive, history: list[Event]) -> Check:
    """Every event must verify, and be signed by this archive or one it trusts."""
    known = archive.keys.known()
    trusted = archive.keys.signers()
    bad = [e.id for e in history if not events.signed_by(e, known)]
    foreign = [e.signer for e in history if e.id not in bad and e.signer not in trusted]
    problems = ([f"unverified events: {', '.join(bad)}"] if bad else []) + ([untrusted(foreign)] if foreign else [])
    return Check("event signatures", not problems, "; ".join(problems) or f"{len(history)} events signed")


def _c2pa_check(archive: Archive, found: dict) -> Check:
    if found["failures"] == ["signingCredential.untrusted"]:
        by = [fp for fp, c in archive.keys.known().items() if c.serial_number == found["signer_serial"]]
        return Check("C2PA manifest", False, f"untrusted: {untrusted(by or ['unknown'])}")
    ok = found["state"] in ("Trusted", "Valid") and not found["failures"]
    return Check("C2PA manifest", ok, found["error"] or
                 f"{found['state']}" + (f": {', '.join(found['failures'])}" if found["failures"] else ""))


def _labels(archive: Archive, item: Item) -> list[Check]:
    if not archive.store.exists(item.sha256):
        return [Check("labels", False, "file is missing")]
    with archive.session() as s:
        event = s.scalar(select(Event).where(Event.id == item.event_id))
        parent = s.scalar(select(Item).where(Item.id == item.parent_id))
    recipe = (event.outcome_detail or {}).get("recipe") if event else None
    checks = [Check("creation event", recipe is not None and event.source_id == item.parent_id,
                    "recorded" if recipe else "no creation event")]
    if recipe is None:
        return checks
    checks.append(Check("parent", parent is not None and parent.sha256 == recipe["parent_sha256"],
                        f"{item.parent_id} ({recipe['parent_sha256']})"))
    data = archive.store.read(item.sha256)
    if (reason := c2pa.unavailable()) is not None:
        checks.append(Check("C2PA manifest", item.extra.get("c2pa") != "embedded", f"not checked: {reason}"))
    else:
        found = c2pa.read(data, item.media_type, archive.keys.anchors_pem)
        checks.append(_c2pa_check(archive, found))
        same = c2pa.canonical(found["recipe"]) == c2pa.canonical(recipe)
        checks.append(Check("C2PA recipe matches catalogue", same, "identical" if same else "differs"))
    if is_clip_item(item):  # a clip has no XMP packet: its C2PA manifest is the label
        return checks
    try:
        with archive.store.as_file(item.sha256) as path:
            label = xmp.parse(xmp.read_xmp(path))
    except (OSError, ValueError, SyntaxError) as e:  # a damaged file: fixity has failed already; say it, go on
        return [*checks, Check("XMP label", False, f"unreadable: {' '.join(str(e).split())[:200]}")]
    expected = {"DigitalSourceType": source_type_uri(recipe["digital_source_type"]),
                "ParentSHA256": recipe["parent_sha256"], "Operation": recipe["operation"]}
    wrong = [k for k, v in expected.items() if label.get(k) != v]
    checks.append(Check("XMP label", not wrong, f"missing or different: {', '.join(wrong)}" if wrong else "matches"))
    return checks
