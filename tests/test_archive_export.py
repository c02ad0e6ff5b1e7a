"""Exports: IIIF Presentation 3 + level-0 tiles, BagIt with PREMIS (and import back), CSV and JSON."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import bagit
import pytest

from daguerre.archive import Archive, ArchiveError


@pytest.fixture
def filled(archive: Archive, photos: dict[str, Path]) -> tuple[Archive, str, str]:
    ids = archive.ingest([photos["astronaut.jpg"], photos["coffee.jpg"]]).added
    [d] = archive.apply("test-tint", [ids[0]], {"amount": 0.5}, seed=2)
    return archive, ids[0], d.id


def test_iiif_manifest_structure_and_static_tiles(filled, tmp_path: Path) -> None:
    archive, mid, did = filled
    out = tmp_path / "iiif"
    collection = json.loads(archive.export("iiif", out, base_url="https://example.org/iiif/").read_text())
    assert collection["type"] == "Collection" and collection["@context"].endswith("presentation/3/context.json")
    assert [m["id"] for m in collection["items"]] == [f"https://example.org/iiif/{m}/manifest.json"
                                                      for m in (mid, archive.items()[1].id)]
    manifest = json.loads((out / mid / "manifest.json").read_text())
    assert manifest["type"] == "Manifest" and manifest["label"] == {"none": ["Man on the Moon"]}
    master_canvas, derivative_canvas = manifest["items"]  # the master plain on canvas 1, one canvas per derivative
    assert master_canvas["type"] == "Canvas" and (master_canvas["width"], master_canvas["height"]) == (86, 86)
    assert master_canvas["label"] == {"en": ["Original (master)"]}
    assert "machine-made" in derivative_canvas["label"]["en"][0]
    bodies = []
    for canvas in manifest["items"]:
        annotation = canvas["items"][0]["items"][0]
        assert annotation["motivation"] == "painting" and annotation["target"] == canvas["id"]
        assert annotation["body"]["type"] == "Image"
        bodies.append(annotation["body"])
    meta = {m["label"]["en"][0]: m["value"]["none"][0] for m in manifest["metadata"]}
    assert meta["creator"] == "NASA" and meta["sha256"] == archive.get(mid).sha256
    assert "test-tint 1" in meta[f"derivative {did}"] and "tint-net" in meta[f"derivative {did}"]
    assert manifest["requiredStatement"]["value"] == {"none": ["Public domain"]}
    for body in bodies:
        service = body["service"][0]
        assert service["profile"] == "level0"
        folder = out / "images" / service["id"].rsplit("/", 1)[1]
        info = json.loads((folder / "info.json").read_text())
        assert info["profile"] == "level0" and info["id"] == service["id"] and info["width"] == 86
        assert (folder / "full" / "max" / "0" / "default.jpg").is_file()
        for size in ("86,86", "86,", ",86"):  # every form a client may ask for a listed size
            assert (folder / "0,0,86,86" / size / "0" / "default.jpg").is_file()
            assert (folder / "full" / size / "0" / "default.jpg").is_file()


def test_a_public_manifest_names_references_by_item_and_gives_metrics_but_no_server_paths(filled, tmp_path: Path,
                                                                                         monkeypatch) -> None:
    """A derivative's provenance in the IIIF manifest names its reference by item id, whether taken from the
    archive or given as a file (which joins the archive): it gave the store's path and the file's path on the
    server. It gives the metrics measured on it, and the software without the user and host that ran it."""
    from PIL import Image

    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)  # the shipped colorize model
    archive, mid, did = filled
    coffee = next(i for i in archive.items() if i.filename == "coffee.jpg")
    outside = tmp_path / "print.png"
    with archive.store.as_file(archive.get(mid).sha256) as path:
        Image.open(path).save(outside)
    [by_item] = archive.apply("colorize", [coffee.id], {"reference": mid})
    [by_file] = archive.apply("colorize", [coffee.id], {"reference": str(outside)})
    [print_id] = [i.id for i in archive.items() if i.filename == "print.png"]
    out = tmp_path / "iiif"
    archive.export("iiif", out, base_url="https://example.org/iiif/")
    meta = {m["label"]["en"][0]: m["value"]["none"][0]
            for m in json.loads((out / coffee.id / "manifest.json").read_text())["metadata"]}
    item_prov, file_prov = meta[f"derivative {by_item.id}"], meta[f"derivative {by_file.id}"]
    assert f'"reference": ["item {mid}"]' in item_prov and f'"reference": ["item {print_id}"]' in file_prov
    for provenance in (item_prov, file_prov):
        assert "objects/" not in provenance and str(tmp_path) not in provenance and "@" not in provenance
        assert '"ssim": ' in provenance and "made " in provenance


def test_bagit_bag_validates_and_imports_back(filled, make_archive, tmp_path: Path) -> None:
    archive, mid, did = filled
    bag_dir = archive.export("bagit", tmp_path / "bag")
    bag = bagit.Bag(str(bag_dir))
    assert bag.is_valid() and {"sha256", "sha512"} <= set(bag.algorithms)
    premis = ET.parse(bag_dir / "data" / "metadata" / "premis.xml").getroot()
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert len(premis.findall("p:object", ns)) == 3
    types = [e.text for e in premis.findall("p:event/p:eventType", ns)]
    assert types.count("ingestion") == 2 and types.count("creation") == 1
    rel = premis.find("p:object/p:relationship/p:relatedObjectIdentifier/p:relatedObjectIdentifierValue", ns)
    assert rel.text == mid
    with open(bag_dir / "data" / "metadata" / "dublin_core.csv") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert rows[mid]["creator"] == "NASA" and rows[mid]["digital_source_type"] == ""
    assert (rows[did]["operation"], rows[did]["models"], rows[did]["digital_source_type"]) == (
        "test-tint", "tint-net", "trainedAlgorithmicMedia")
    dc = {"oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/", "dc": "http://purl.org/dc/elements/1.1/"}
    records = ET.parse(bag_dir / "data" / "metadata" / "dublin_core.xml").getroot().findall("oai_dc:dc", dc)
    fields = {r.find("dc:identifier", dc).text: [(e.tag.split("}")[1], e.text) for e in r] for r in records}
    assert set(fields) == {mid, did, archive.items()[1].id}
    assert ("creator", "NASA") in fields[mid] and ("type", "StillImage") in fields[mid]
    assert ("relation", f"isVersionOf {mid}") in fields[did] and ("format", "image/png") in fields[did]
    assert ("description", "machine-made by test-tint with tint-net (IPTC digital source type: "
                           "trainedAlgorithmicMedia)") in fields[did]

    copy = make_archive("restored")
    imported = copy.import_bag(bag_dir, trust_signer=True)
    assert sorted(imported.added) == sorted(i.id for i in archive.items())
    assert imported.signer == archive.keys.fingerprint and imported.trusted and imported.untrusted == []
    assert [i.record() for i in copy.items()] == [i.record() for i in archive.items()]
    report = copy.verify(did)
    assert report.ok, report.checks  # the C2PA label is trusted through the signer chain trusted on import
    assert [e.type for e in copy.events_of(did)][-2:] == ["replication", "validation"]
    assert copy.fixity().ok and copy.rederive(did).identical
    assert copy.import_bag(bag_dir).added == []  # already there

    (bag_dir / "data" / "objects" / f"{archive.get(mid).sha256}.jpg").write_bytes(b"tampered")
    empty = make_archive("empty")
    with pytest.raises(ArchiveError, match="not a valid bag"):
        empty.import_bag(bag_dir)
    assert empty.items(include_withdrawn=True) == [] and list(empty.store.objects()) == []


def test_csv_and_json_exports(filled, tmp_path: Path) -> None:
    archive, mid, did = filled
    with open(archive.export("csv", tmp_path / "csv")) as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert rows[mid]["title"] == "Man on the Moon" and rows[did]["parent_id"] == mid
    assert rows[did]["operation"] == "test-tint" and rows[did]["sha256"] == archive.get(did).sha256
    records = json.loads(archive.export("json", tmp_path / "json").read_text())
    assert {r["id"] for r in records} == set(rows)
    assert [e["type"] for r in records if r["id"] == did for e in r["events"]] == ["creation"]
    # the CSV goes back in as a metadata sheet
    report = archive.ingest([archive.store.local_path(archive.get(mid).sha256)], sheet=tmp_path / "csv" / "items.csv")
    assert report.duplicates == [mid]


def test_iiif_export_reads_in_a_third_party_client(filled, tmp_path: Path, monkeypatch) -> None:
    """PyPI `iiif-download` fetches every canvas's image from the exported, statically served folder."""
    monkeypatch.chdir(tmp_path)  # the client writes its log/ folder into the current one
    iiif_download = pytest.importorskip("iiif_download", reason="the web extra (iiif-download) is not installed")
    import functools
    import http.server
    import threading

    from PIL import Image

    archive, mid, did = filled
    out = tmp_path / "iiif"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        archive.export("iiif", out, base_url=base)
        saved = tmp_path / "downloaded"
        iiif_download.IIIFManifest(f"{base}/{mid}/manifest.json", is_logged=False).download(save_dir=saved)
    finally:
        server.shutdown()
    files = sorted(p for p in saved.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert len(files) == 2, sorted(saved.rglob("*"))
    for f, ref in zip(files, (mid, did), strict=True):
        item = archive.get(ref)
        assert Image.open(f).size == (item.width, item.height)



@pytest.mark.parametrize(("format", "harm"), [("iiif", "missing"), ("bagit", "missing"), ("iiif", "damaged")])
def test_an_export_names_the_item_whose_file_is_missing_or_damaged(filled, tmp_path: Path, format: str,
                                                                   harm: str) -> None:
    """The error named a store object (`object <64 hex> is missing from the store /path/store`) or a damaged
    file by its store path: nothing an archivist can look up. It names the item and its file name first."""
    archive, mid, _ = filled
    sha = archive.get(mid).sha256
    if harm == "missing":
        archive.store.remove(sha)
    else:
        path = archive.store.local_path(sha)
        path.chmod(0o644)
        path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ArchiveError) as failed:
        archive.export(format, tmp_path / "out", base_url="https://example.org")
    message = str(failed.value)
    assert message.startswith(f"{mid} (astronaut.jpg): "), message
    assert "is missing from the store" in message if harm == "missing" else sha not in message  # not its path
    assert not (tmp_path / "out").exists()  # no half export left to pass for a whole one or block the next


def test_metadata_exports_are_written_a_page_at_a_time_with_the_same_bytes(filled, tmp_path: Path,
                                                                           monkeypatch) -> None:
    """The JSON export read every item's events with a query of its own and held the whole file in memory (a
    million items: a million queries, gigabytes). Pages of items with one events query each give the same file."""
    from daguerre.archive import export

    archive, mid, did = filled
    archive.withdraw(did, reason="test")  # left out unless asked for, across page boundaries too
    records = [{**it.record(), "events": [e.record() for e in archive.events_of(it.id)]}
               for it in archive.items(include_withdrawn=True)]
    monkeypatch.setattr(export, "PAGE", 2)
    for withdrawn, expected in ((True, records), (False, [r for r in records if r["id"] != did])):
        out = tmp_path / f"json-{withdrawn}"
        written = archive.export("json", out, include_withdrawn=withdrawn).read_text(encoding="utf-8")
        assert written == json.dumps(expected, indent=1, ensure_ascii=False) and len(expected) >= 2
    empty = Archive.init(tmp_path / "empty")
    assert empty.export("json", tmp_path / "json-empty").read_text() == "[]"


def test_an_export_of_a_selection(filled, tmp_path: Path) -> None:
    """`archive export` wrote the whole archive or nothing; an archivist exporting a search (a photographer, a
    decade, one operation's derivatives) had to filter the CSV by hand. `--where` takes `archive batch`'s words
    and filters: CSV and JSON hold the matching items; a bag also the items their derivations need."""
    from typer.testing import CliRunner

    from daguerre.archive.cli import archive_app

    archive, mid, did = filled
    env = {"DAGUERRE_ARCHIVE": str(archive.path)}

    def export(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(archive_app, ["export", *args], env=env)
        assert result.exit_code == code, result.output
        return result.output

    export("-f", "csv", "-o", str(tmp_path / "moon"), "--where", "moon")
    with open(tmp_path / "moon" / "items.csv") as f:
        assert [r["id"] for r in csv.DictReader(f)] == [mid, did]  # the words match the derivative's title too
    export("-f", "json", "-o", str(tmp_path / "made"), "--where", "operation:test-tint")
    assert [r["id"] for r in json.loads((tmp_path / "made" / "items.json").read_text())] == [did]
    export("-f", "csv", "-o", str(tmp_path / "masters"), "--where", "kind:master")
    with open(tmp_path / "masters" / "items.csv") as f:
        assert len([r for r in csv.DictReader(f)]) == 2
    export("-f", "bagit", "-o", str(tmp_path / "bag"), "--where", "operation:test-tint")
    bag = bagit.Bag(str(tmp_path / "bag"))
    bag.validate()
    assert {r["id"] for r in json.loads((tmp_path / "bag" / "data" / "metadata" / "items.json").read_text())} == {
        did, mid}  # the derivative with its parent, so that it re-derives where the bag is imported
    assert "no bag made" in export("-f", "bagit", "-o", str(tmp_path / "none"), "--where", "zeppelin", code=1)
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").iterdir())
    assert "nothing written" in export("-f", "csv", "-o", str(tmp_path / "no-csv"), "--where", "zeppelin", code=1)
    assert not (tmp_path / "no-csv").exists()  # an empty CSV would pass for an export of something
    refused = export("-f", "iiif", "-o", str(tmp_path / "iiif"), "--where", "moon", code=1)
    assert refused.count("\n") == 1 and "a selection is for bagit, csv or json" in refused
    assert "not a filter" in export("-f", "csv", "-o", str(tmp_path / "bad"), "--where", "decade:1900", code=1)


def test_a_bag_is_written_a_page_at_a_time(filled, tmp_path: Path, monkeypatch) -> None:
    """A bag of the whole archive built its items, events and PREMIS tree in memory (a million items: tens of
    millions of XML elements). Read and written a page at a time, its metadata is what the whole lists give."""
    from daguerre.archive import bag, export

    archive, mid, did = filled
    monkeypatch.setattr(export, "PAGE", 2)
    monkeypatch.setattr(bag, "EVENT_PAGE", 2)
    items = archive.items()
    history = [e for it in items for e in archive.events_of(it.id)]
    with archive.session() as s:  # the key events (no object) go in a bag of the whole archive too
        from sqlalchemy import select

        from daguerre.archive.catalogue import Event

        history += s.scalars(select(Event).where(Event.object_id.is_(None)))
    history.sort(key=lambda e: e.pk)
    archive.export("bagit", tmp_path / "bag")
    bagit.Bag(str(tmp_path / "bag")).validate()
    meta = tmp_path / "bag" / "data" / "metadata"
    assert (meta / "items.json").read_text() == json.dumps([it.record() for it in items], indent=1)
    assert (meta / "events.json").read_text() == json.dumps([e.record() for e in history], indent=1)
    premis = ET.parse(meta / "premis.xml").getroot()
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert [o.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=ns)
            for o in premis.findall("p:object", ns)] == [it.id for it in items]
    assert len(premis.findall("p:event", ns)) == len(history) == 3  # two pages of events, as of items
    assert (meta / "premis.xml").read_text().count("xmlns:premis") == 1


def test_a_bag_of_a_selection_looks_items_up_in_batches(filled, tmp_path: Path, monkeypatch) -> None:
    """A selection's items and events were looked up in one `IN (...)` of all their ids: PostgreSQL refuses more
    than 65,535 parameters a statement, so a bag of a large `--where` selection failed there. A query per batch
    of ids gives the same bag."""
    from daguerre.archive import bag

    archive, mid, did = filled
    selection = ("", {"operation": "test-tint"})
    archive.export("bagit", tmp_path / "one-query", where=selection)
    monkeypatch.setattr(bag, "IN_BATCH", 1)
    archive.export("bagit", tmp_path / "batched", where=selection)
    for name in ("items.json", "events.json", "premis.xml"):
        one, batched = (tmp_path / b / "data" / "metadata" / name for b in ("one-query", "batched"))
        assert one.read_bytes() == batched.read_bytes(), name
    assert {r["id"] for r in json.loads((tmp_path / "batched" / "data" / "metadata" / "items.json").read_text())} == {
        mid, did}
