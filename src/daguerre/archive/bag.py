"""BagIt export (the ``bagit`` package), with Dublin Core, PREMIS XML and signed events inside.

A bag holds ``data/objects/<sha256>.<ext>`` for every file, ``data/metadata/`` with ``items.json``,
``events.json``, ``dublin_core.csv`` and ``dublin_core.xml`` (``oai_dc`` records), ``premis.xml``, the exporting
archive's signer chain (``signer.pem``) and the chains of the other archives that signed exported events
(``signers.pem``), and SHA-256 and SHA-512 manifests. ``bag_import`` reads one back, checking everything in it first.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

import bagit
from sqlalchemy import select

from daguerre.archive import events
from daguerre.archive.catalogue import DUBLIN_CORE, EXTENSIONS, Event, Item
from daguerre.archive.errors import naming
from daguerre.archive.video import EXTENSIONS as CLIP_EXTENSIONS

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

PREMIS = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC, DC = "http://www.openarchives.org/OAI/2.0/oai_dc/", "http://purl.org/dc/elements/1.1/"
EVENT_PAGE = 5000  # events a query when a bag's history is written
IN_BATCH = 1000  # ids a query when a selection's items and events are looked up


def object_name(sha256: str, media_type: str) -> str:
    """An object's file name in a bag: its SHA-256 and the extension of its media type (a clip's too: bags made
    before 2026-12-02 named clips `.bin`, `bag_import` still reads them)."""
    return f"{sha256}{EXTENSIONS.get(media_type) or CLIP_EXTENSIONS.get(media_type, '.bin')}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{PREMIS}}}{tag}", attrib)
    if text is not None:
        el.text = text
    return el


def _identifier(parent: ET.Element, tag: str, kind: str, value: str) -> None:
    ident = _sub(parent, tag)  # e.g. objectIdentifier > objectIdentifierType, objectIdentifierValue
    _sub(ident, f"{tag}Type", kind)
    _sub(ident, f"{tag}Value", value)


def premis_object(it: Item) -> ET.Element:
    """A PREMIS 3 file object: identifier, fixity, size, format, original name, derivation."""
    obj = ET.Element(f"{{{PREMIS}}}object", {f"{{{XSI}}}type": "premis:file"})
    _identifier(obj, "objectIdentifier", "daguerre-id", it.id)
    chars = _sub(obj, "objectCharacteristics")
    _sub(chars, "compositionLevel", "0")
    fixity = _sub(chars, "fixity")
    _sub(fixity, "messageDigestAlgorithm", "SHA-256")
    _sub(fixity, "messageDigest", it.sha256)
    _sub(chars, "size", str(it.size))
    designation = _sub(_sub(chars, "format"), "formatDesignation")
    _sub(designation, "formatName", it.media_type)
    _sub(obj, "originalName", it.filename)
    if it.parent_id:
        rel = _sub(obj, "relationship")
        _sub(rel, "relationshipType", "derivation")
        _sub(rel, "relationshipSubType", "has source")
        _identifier(rel, "relatedObjectIdentifier", "daguerre-id", it.parent_id)
    return obj


def premis_event(ev: Event) -> ET.Element:
    """A PREMIS 3 event: type, time, detail, outcome, agent, linked objects (source, outcome)."""
    el = ET.Element(f"{{{PREMIS}}}event")
    _identifier(el, "eventIdentifier", "UUID", ev.id)
    _sub(el, "eventType", ev.type)
    _sub(el, "eventDateTime", ev.datetime)
    _sub(_sub(el, "eventDetailInformation"), "eventDetail", ev.detail)
    info = _sub(el, "eventOutcomeInformation")
    _sub(info, "eventOutcome", ev.outcome)
    note = json.dumps(ev.outcome_detail, sort_keys=True)
    _sub(_sub(info, "eventOutcomeDetail"), "eventOutcomeDetailNote", note)
    agent = _sub(el, "linkingAgentIdentifier")
    _sub(agent, "linkingAgentIdentifierType", "software")
    _sub(agent, "linkingAgentIdentifierValue", ev.agent)
    for role, oid in (("source", ev.source_id), ("outcome", ev.object_id)):
        if oid:
            link = _sub(el, "linkingObjectIdentifier")
            _sub(link, "linkingObjectIdentifierType", "daguerre-id")
            _sub(link, "linkingObjectIdentifierValue", oid)
            _sub(link, "linkingObjectRole", role)
    return el


class XmlWriter:
    """An XML file written an element at a time under its root, as ElementTree would write the whole tree
    indented: a bag of a million items never holds a tree in memory."""

    def __init__(self, f: BinaryIO, root: str, namespaces: dict[str, str], attributes: str = "") -> None:
        for prefix, uri in namespaces.items():
            ET.register_namespace(prefix, uri)
        self.f, self.root, self.empty = f, root, True
        self.declarations = [f' xmlns:{prefix}="{uri}"' for prefix, uri in namespaces.items()]
        f.write(f"<?xml version='1.0' encoding='utf-8'?>\n<{root}{''.join(self.declarations)}{attributes}>".encode())

    def add(self, el: ET.Element) -> None:
        ET.indent(el, level=1)
        text = ET.tostring(el, encoding="unicode")
        end = text.index(">")  # the declarations ElementTree puts on each element go once, on the root
        head = text[:end]
        for declaration in self.declarations:
            head = head.replace(declaration, "")
        self.f.write(("\n  " + head + text[end:]).encode())
        self.empty = False

    def close(self) -> None:
        self.f.write(f"{'' if self.empty else chr(10)}</{self.root}>".encode())


def premis_writer(f: BinaryIO) -> XmlWriter:
    """premis.xml: PREMIS 3 objects, then events."""
    return XmlWriter(f, "premis:premis", {"premis": PREMIS, "xsi": XSI}, ' version="3.0"')


def dublin_core_writer(f: BinaryIO) -> XmlWriter:
    """dublin_core.xml: an ``oai_dc:dc`` record per item (`dublin_core_record`)."""
    return XmlWriter(f, "metadata", {"oai_dc": OAI_DC, "dc": DC})


def dublin_core_record(it: Item) -> ET.Element:
    """An item's simple Dublin Core record (the OAI-PMH ``oai_dc`` form archives exchange): its fields, format
    and type, and for a derivative its parent and what made it, AI label included."""
    record = ET.Element(f"{{{OAI_DC}}}dc")

    def dc(tag: str, text: object) -> None:
        if text not in (None, ""):
            ET.SubElement(record, f"{{{DC}}}{tag}").text = str(text)

    dc("identifier", it.id)
    dc("identifier", f"urn:sha256:{it.sha256}")
    for field in ("title", "creator", "date", "description"):
        dc(field, getattr(it, field))
    for subject in (it.subject or "").split(";"):
        dc("subject", subject.strip())
    dc("rights", it.rights)
    dc("source", it.source)
    dc("format", it.media_type)
    dc("type", "MovingImage" if (it.media_type or "").startswith("video/") else "StillImage")
    if it.parent_id:
        dc("relation", f"isVersionOf {it.parent_id}")
        dc("description", f"machine-made by {it.operation}" + (f" with {it.models}" if it.models else "")
           + f" (IPTC digital source type: {it.digital_source_type})")
    return record


class JsonList:
    """A JSON list written an element at a time, as ``json.dumps(elements, indent=1)`` writes the whole list."""

    def __init__(self, f: TextIO) -> None:
        self.f, self.empty = f, True

    def add(self, element: object) -> None:
        self.f.write(("[\n " if self.empty else ",\n ") + json.dumps(element, indent=1).replace("\n", "\n "))
        self.empty = False

    def close(self) -> None:
        self.f.write("[]" if self.empty else "\n]")


def with_inputs(archive: Archive, items: list[Item]) -> list[Item]:
    """``items``, their ancestors, and every item their derivations read (a reference, a painting: the recipe's
    input files, by sha256) with its ancestors, so that a bag of a selection re-derives in the archive it is
    imported into. Withdrawn items are not added."""
    chosen: dict[str, Item] = {}
    with archive.session() as s:

        def where_in(query, column, values) -> list:  # a query per `IN_BATCH` values (bind-parameter limits)
            values = list(values)
            return [r for i in range(0, len(values), IN_BATCH)
                    for r in s.scalars(query.where(column.in_(values[i:i + IN_BATCH])))]

        found = list(items)
        while found:
            while parents := {it.parent_id for it in found if it.parent_id} - chosen.keys() - {f.id for f in found}:
                found += where_in(select(Item), Item.id, parents)
            todo = [it.id for it in found if it.id not in chosen]
            chosen.update((it.id, it) for it in found)
            made = where_in(select(Event).where(Event.type == events.CREATION), Event.object_id, todo)
            wanted = {sha for e in made for sha in ((e.outcome_detail or {}).get("recipe") or {})
                      .get("input_files", {}).values()}
            found = [it for it in where_in(select(Item).where(Item.withdrawn.is_(False)), Item.sha256, wanted)
                     if it.id not in chosen]
    return sorted(chosen.values(), key=lambda it: it.pk)


def export_bag(archive: Archive, out: Path, include_withdrawn: bool, items: list[Item] | None = None) -> Path:
    """Write a bag of the whole archive, or of ``items`` only (then with their own events only, and with the
    items their derivations read: `with_inputs`). The whole archive's metadata is read a page at a time and
    written as it comes (items.json, events.json, dublin_core.csv, premis.xml)."""
    from daguerre.archive.export import pages

    whole = items is None
    item_pages = (page for page, _ in pages(archive, include_withdrawn)) if whole else [with_inputs(archive, items)]
    (out / "objects").mkdir(parents=True)
    meta = out / "metadata"
    meta.mkdir()
    ids: set[str] = set()
    signers: set[str] = set()
    with (open(meta / "items.json", "w") as items_file, open(meta / "events.json", "w") as events_file,
          open(meta / "dublin_core.csv", "w", newline="") as dc_file, open(meta / "premis.xml", "wb") as xml_file,
          open(meta / "dublin_core.xml", "wb") as dc_xml_file):
        items_json, events_json, premis = JsonList(items_file), JsonList(events_file), premis_writer(xml_file)
        dc_xml = dublin_core_writer(dc_xml_file)
        writer = csv.DictWriter(dc_file, ["id", "sha256", "filename", "kind", "parent_id", *DUBLIN_CORE, "operation",
                                          "models", "digital_source_type"])  # what made it, and whether by AI
        writer.writeheader()
        for page in item_pages:
            for it in page:
                with naming(it.id, it.filename):
                    archive.store.copy_to(it.sha256, out / "objects" / object_name(it.sha256, it.media_type))
                items_json.add(it.record())
                writer.writerow({k: getattr(it, k) for k in writer.fieldnames})
                premis.add(premis_object(it))
                dc_xml.add(dublin_core_record(it))
                ids.add(it.id)
        for ev in _history(archive, ids, whole):
            events_json.add(ev.record())
            premis.add(premis_event(ev))
            signers.add(ev.signer)
        items_json.close()
        events_json.close()
        premis.close()
        dc_xml.close()
    (meta / "signer.pem").write_bytes(archive.keys.chain_pem)
    known = archive.keys.known_chains()
    others = sorted({fp for fp in signers if fp in known} - {archive.keys.fingerprint})
    if others:
        (meta / "signers.pem").write_bytes(b"".join(known[fp].pem() for fp in others))
    bagit.make_bag(str(out), {"Source-Organization": f"daguerre archive {archive.config['id']}",
                              "External-Description": "Masters, machine-made derivatives and their PREMIS history",
                              "Bag-Software-Agent": events.agent()}, checksums=["sha256", "sha512"])
    return out


def _history(archive: Archive, ids: set[str], whole: bool) -> Iterator[Event]:
    """The events of the items ``ids`` in order; for the whole archive also those of no object (key events), read
    a page at a time. A selection's events are fetched `IN_BATCH` items a query (PostgreSQL takes at most 65,535
    parameters a statement, SQLite 250,000 here), then put in order."""
    if not whole:
        chosen = sorted(ids)
        with archive.session() as s:
            found = [e for i in range(0, len(chosen), IN_BATCH)
                     for e in s.scalars(select(Event).where(Event.object_id.in_(chosen[i:i + IN_BATCH])))]
        yield from sorted(found, key=lambda e: e.pk)
        return
    last = 0
    while True:
        with archive.session() as s:
            found = list(s.scalars(select(Event).where(Event.pk > last).order_by(Event.pk).limit(EVENT_PAGE)))
        if not found:
            return
        yield from (e for e in found if e.object_id in ids or not e.object_id)
        last = found[-1].pk
