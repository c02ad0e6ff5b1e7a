"""BagIt export (the ``bagit`` package), with Dublin Core, PREMIS XML and signed events inside.

A bag holds ``data/objects/<sha256>.<ext>`` for every file, ``data/metadata/`` with ``items.json``,
``events.json``, ``dublin_core.csv``, ``premis.xml``, the exporting archive's signer chain (``signer.pem``)
and the chains of the other archives that signed exported events (``signers.pem``), and SHA-256 and SHA-512
manifests. ``bag_import`` reads one back, checking everything in it first.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import bagit
from sqlalchemy import select

from daguerre.archive import events
from daguerre.archive.catalogue import DUBLIN_CORE, EXTENSIONS, Event, Item
from daguerre.archive.errors import naming

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

PREMIS = "http://www.loc.gov/premis/v3"


def object_name(sha256: str, media_type: str) -> str:
    """An object's file name in a bag: its SHA-256 and the extension of its media type."""
    return f"{sha256}{EXTENSIONS.get(media_type, '.bin')}"


def premis_xml(items: list[Item], history: list[Event]) -> bytes:
    """PREMIS 3 objects (fixity, size, format, derivation) and events (type, time, outcome, agents, links)."""
    ET.register_namespace("premis", PREMIS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{PREMIS}}}{tag}", attrib)
        if text is not None:
            el.text = text
        return el

    def identifier(parent: ET.Element, tag: str, kind: str, value: str) -> None:
        ident = sub(parent, tag)  # e.g. objectIdentifier > objectIdentifierType, objectIdentifierValue
        sub(ident, f"{tag}Type", kind)
        sub(ident, f"{tag}Value", value)

    root = ET.Element(f"{{{PREMIS}}}premis", {"version": "3.0"})
    for it in items:
        obj = sub(root, "object", **{"{http://www.w3.org/2001/XMLSchema-instance}type": "premis:file"})
        identifier(obj, "objectIdentifier", "daguerre-id", it.id)
        chars = sub(obj, "objectCharacteristics")
        sub(chars, "compositionLevel", "0")
        fixity = sub(chars, "fixity")
        sub(fixity, "messageDigestAlgorithm", "SHA-256")
        sub(fixity, "messageDigest", it.sha256)
        sub(chars, "size", str(it.size))
        designation = sub(sub(chars, "format"), "formatDesignation")
        sub(designation, "formatName", it.media_type)
        sub(obj, "originalName", it.filename)
        if it.parent_id:
            rel = sub(obj, "relationship")
            sub(rel, "relationshipType", "derivation")
            sub(rel, "relationshipSubType", "has source")
            identifier(rel, "relatedObjectIdentifier", "daguerre-id", it.parent_id)
    for ev in history:
        el = sub(root, "event")
        identifier(el, "eventIdentifier", "UUID", ev.id)
        sub(el, "eventType", ev.type)
        sub(el, "eventDateTime", ev.datetime)
        sub(sub(el, "eventDetailInformation"), "eventDetail", ev.detail)
        info = sub(el, "eventOutcomeInformation")
        sub(info, "eventOutcome", ev.outcome)
        note = json.dumps(ev.outcome_detail, sort_keys=True)
        sub(sub(info, "eventOutcomeDetail"), "eventOutcomeDetailNote", note)
        agent = sub(el, "linkingAgentIdentifier")
        sub(agent, "linkingAgentIdentifierType", "software")
        sub(agent, "linkingAgentIdentifierValue", ev.agent)
        for role, oid in (("source", ev.source_id), ("outcome", ev.object_id)):
            if oid:
                link = sub(el, "linkingObjectIdentifier")
                sub(link, "linkingObjectIdentifierType", "daguerre-id")
                sub(link, "linkingObjectIdentifierValue", oid)
                sub(link, "linkingObjectRole", role)
    ET.indent(root)
    return ET.tostring(root, xml_declaration=True, encoding="utf-8")


def with_inputs(archive: Archive, items: list[Item]) -> list[Item]:
    """``items``, their ancestors, and every item their derivations read (a reference, a painting: the recipe's
    input files, by sha256) with its ancestors, so that a bag of a selection re-derives in the archive it is
    imported into. Withdrawn items are not added."""
    chosen: dict[str, Item] = {}
    with archive.session() as s:
        found = list(items)
        while found:
            while parents := {it.parent_id for it in found if it.parent_id} - chosen.keys() - {f.id for f in found}:
                found += s.scalars(select(Item).where(Item.id.in_(parents)))
            todo = [it.id for it in found if it.id not in chosen]
            chosen.update((it.id, it) for it in found)
            made = s.scalars(select(Event).where(Event.object_id.in_(todo), Event.type == events.CREATION))
            wanted = {sha for e in made for sha in ((e.outcome_detail or {}).get("recipe") or {})
                      .get("input_files", {}).values()}
            found = [it for it in s.scalars(select(Item).where(Item.sha256.in_(wanted), Item.withdrawn.is_(False)))
                     if it.id not in chosen]
    return sorted(chosen.values(), key=lambda it: it.pk)


def export_bag(archive: Archive, out: Path, include_withdrawn: bool, items: list[Item] | None = None) -> Path:
    """Write a bag of the whole archive, or of ``items`` only (then with their own events only, and with the
    items their derivations read: `with_inputs`)."""
    whole = items is None
    items = archive.items(include_withdrawn) if items is None else with_inputs(archive, items)
    ids = {it.id for it in items}
    with archive.session() as s:
        if whole:
            history = [e for e in s.scalars(select(Event).order_by(Event.pk)) if e.object_id in ids or not e.object_id]
        else:
            history = list(s.scalars(select(Event).where(Event.object_id.in_(ids)).order_by(Event.pk)))
    (out / "objects").mkdir(parents=True)
    meta = out / "metadata"
    meta.mkdir()
    for it in items:
        with naming(it.id, it.filename):
            archive.store.copy_to(it.sha256, out / "objects" / object_name(it.sha256, it.media_type))
    (meta / "items.json").write_text(json.dumps([it.record() for it in items], indent=1))
    (meta / "events.json").write_text(json.dumps([e.record() for e in history], indent=1))
    with open(meta / "dublin_core.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["id", "sha256", "filename", "kind", "parent_id", *DUBLIN_CORE])
        writer.writeheader()
        writer.writerows({k: getattr(it, k) for k in writer.fieldnames} for it in items)
    (meta / "premis.xml").write_bytes(premis_xml(items, history))
    (meta / "signer.pem").write_bytes(archive.keys.chain_pem)
    known = archive.keys.known_chains()
    others = sorted({e.signer for e in history if e.signer in known} - {archive.keys.fingerprint})
    if others:
        (meta / "signers.pem").write_bytes(b"".join(known[fp].pem() for fp in others))
    bagit.make_bag(str(out), {"Source-Organization": f"daguerre archive {archive.config['id']}",
                              "External-Description": "Masters, machine-made derivatives and their PREMIS history",
                              "Bag-Software-Agent": events.agent()}, checksums=["sha256", "sha512"])
    return out
