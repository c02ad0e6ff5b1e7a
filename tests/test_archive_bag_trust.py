"""Trust on bag import: a forged bag is refused whole before anything is stored, and a foreign archive is
trusted only by an explicit act (``archive trust add`` or ``import-bag --trust-signer``)."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from daguerre.archive import Archive, ArchiveError, c2pa
from daguerre.archive.bag_import import BagRefused
from daguerre.archive.catalogue import Event, Item
from daguerre.archive.keys import Keys, read_chain

runner = CliRunner()


def contents(archive: Archive) -> tuple[list, list, list, list]:
    """Item ids, event ids, stored objects and certificate files: what an import may change."""
    with archive.session() as s:
        items, evs = sorted(s.scalars(select(Item.id))), sorted(s.scalars(select(Event.id)))
    pems = sorted(str(p.relative_to(archive.path)) for p in (archive.path / "keys").rglob("*.pem"))
    return items, evs, sorted(archive.store.objects()), pems


def rebag(bag: Path) -> None:
    """Re-make the bag's manifests after an edit, as a forger would, so that BagIt validation passes."""
    bagit.Bag(str(bag)).save(manifests=True)
    assert bagit.Bag(str(bag)).is_valid()


def edit_json(bag: Path, name: str, change) -> None:
    path = bag / "data" / "metadata" / name
    records = json.loads(path.read_text())
    change(records)
    path.write_text(json.dumps(records, indent=1))
    rebag(bag)


def refused(archive: Archive, bag: Path) -> list[str]:
    """Import the bag, expect it refused, check nothing changed; returns its problem lines."""
    before = contents(archive)
    with pytest.raises(BagRefused) as info:
        archive.import_bag(bag)
    assert contents(archive) == before
    assert str(info.value).splitlines()[0].startswith(f"{bag}: bag refused, nothing imported")
    assert str(info.value).splitlines()[1:] == [f"  {p}" for p in info.value.problems]
    return info.value.problems


@pytest.fixture
def source(make_archive, photos: dict[str, Path]) -> tuple[Archive, str, str]:
    """Archive B (another institution): a master and a derivative made from it."""
    b = make_archive("b")
    [mid] = b.ingest([photos["astronaut.jpg"]]).added
    [d] = b.apply("test-tint", [mid], {"amount": 0.5}, seed=1)
    return b, mid, d.id


@pytest.fixture
def bag(source, tmp_path: Path) -> Path:
    return source[0].export("bagit", tmp_path / "bag")


def test_forged_event_refuses_the_whole_bag(source, bag: Path, make_archive) -> None:
    b, mid, did = source
    creation = next(e.id for e in b.events_of(did) if e.type == "creation")

    def forge(history: list[dict]) -> None:
        next(e for e in history if e["id"] == creation)["detail"] = "hand-coloured by the photographer"

    edit_json(bag, "events.json", forge)
    a = make_archive("a")
    [problem] = refused(a, bag)
    assert problem.startswith(f"event {creation} (creation of {did}): its signature does not verify")
    assert a.items(include_withdrawn=True) == [] and list(a.store.objects()) == []


def test_forged_c2pa_manifest_refuses_the_bag(make_archive, photos: dict[str, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Archive B signs its events but labels its derivative with another key (E): the label vouches for nothing."""
    b = make_archive("b")
    stranger = Keys.load(make_archive("e").path / "keys")
    sign = c2pa.sign
    monkeypatch.setattr(c2pa, "sign", lambda *args: sign(*args[:-1], stranger))
    [mid] = b.ingest([photos["coffee.jpg"]]).added
    [d] = b.apply("test-tint", [mid], {"amount": 0.4})
    monkeypatch.setattr(c2pa, "sign", sign)
    bag = b.export("bagit", tmp_path / "bag")
    a = make_archive("a")
    [problem] = refused(a, bag)
    assert problem.startswith(f"item {d.id}: its C2PA manifest does not verify against the bag's certificates")
    assert "signingCredential.untrusted" in problem
    assert a.items(include_withdrawn=True) == []


def test_swapped_object_refuses_the_bag(source, bag: Path, make_archive, photos: dict[str, Path]) -> None:
    b, mid, did = source
    a = make_archive("a")
    master = b.get(mid)
    obj = bag / "data" / "objects" / f"{master.sha256}.jpg"
    obj.write_bytes(photos["coffee.jpg"].read_bytes())  # same name, other picture
    rebag(bag)
    assert refused(a, bag) == [f"item {mid}: object {obj.name} is missing or does not match its record"]

    # the forger renames the file to its hash and edits the record to match: the signed ingestion event disagrees
    from daguerre.models.card import sha256_of

    sha = sha256_of(obj)
    obj.rename(obj.with_name(f"{sha}.jpg"))

    def swap(records: list[dict]) -> None:
        next(r for r in records if r["id"] == mid)["sha256"] = sha

    edit_json(bag, "items.json", swap)
    assert refused(a, bag) == [f"item {mid}: its SHA-256 is not the one recorded by the signed event that ingested it"]
    assert a.items(include_withdrawn=True) == [] and list(a.store.objects()) == []


def test_records_that_disagree_with_their_signed_events_are_refused(source, bag: Path, make_archive) -> None:
    b, mid, did = source
    a = make_archive("a")
    record = next(r for r in json.loads((bag / "data" / "metadata" / "items.json").read_text()) if r["id"] == did)

    def as_master(records: list[dict]) -> None:  # pass the machine-made picture off as an original
        next(r for r in records if r["id"] == did).update(kind="master", parent_id=None, event_id=None)

    edit_json(bag, "items.json", as_master)
    assert refused(a, bag) == [f"item {did}: no signed event in the bag ingested it"]

    def other_parent(records: list[dict]) -> None:
        records[:] = [r for r in records if r["id"] != did] + [{**record, "parent_id": did}]

    edit_json(bag, "items.json", other_parent)
    assert refused(a, bag) == [f"item {did}: its parents form a loop",
                               f"item {did}: its parent or event id differ from its signed creation event"]


def test_fields_that_signed_events_fix_cannot_be_edited_in_the_bag(source, make_archive, tmp_path: Path) -> None:
    """An edited items.json cannot take a derivative's AI label, operation or model away, rewrite a master's
    title or rights, nor bring a withdrawn item back: each is what the item's signed events say. Fields changed
    by a signed metadata modification import as changed."""
    b, mid, did = source
    b.update_metadata(mid, {"title": "Astronaut, 1984", "rights": "Public domain"})
    [withdrawn] = b.apply("test-tint", [mid], {"amount": 0.2}, seed=2)
    b.withdraw(withdrawn.id, "a bad tint")
    bag = b.export("bagit", tmp_path / "bag", include_withdrawn=True)
    kept = (bag / "data" / "metadata" / "items.json").read_text()
    a = make_archive("a")
    forgeries = {
        did: {"operation": None, "digital_source_type": None, "models": None, "description": "Original photograph"},
        mid: {"title": "Forged title", "rights": "All rights reserved"},
        withdrawn.id: {"withdrawn": False},
    }
    for item_id, fields in forgeries.items():
        edit_json(bag, "items.json", lambda records, i=item_id, f=fields: next(
            r for r in records if r["id"] == i).update(f))
        assert refused(a, bag) == [f"item {item_id}: {', '.join(fields)} not as its signed events record "
                                   "(edited after export?)"]
        (bag / "data" / "metadata" / "items.json").write_text(kept)
        rebag(bag)
    edit_json(bag, "items.json", lambda records: next(r for r in records if r["id"] == did).update(root_id=did))
    assert refused(a, bag) == [f"item {did}: root_id not as its signed events record (edited after export?)"]
    (bag / "data" / "metadata" / "items.json").write_text(kept)
    rebag(bag)
    a.import_bag(bag)
    assert a.get(mid).title == "Astronaut, 1984" and a.get(withdrawn.id).withdrawn
    assert a.get(did).digital_source_type == b.get(did).digital_source_type and a.get(did).operation == "test-tint"


def test_a_derivative_made_before_its_creation_recorded_its_description_keeps_the_machine_made_one(
        make_archive, photos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Creation events before 2026-12-04 did not record the derivative's Dublin Core: its description ("Machine-made
    derivative (...) of ...") still follows from the recipe, so a bag cannot call it an original photograph."""
    from daguerre.archive import events

    make = events.make

    def as_before(keys, type, **kwargs):  # noqa: ANN001, ANN202
        if type in (events.CREATION, events.INGESTION):
            kwargs["outcome_detail"] = {k: v for k, v in kwargs["outcome_detail"].items() if k != "dublin_core"}
        return make(keys, type, **kwargs)

    monkeypatch.setattr(events, "make", as_before)
    b = make_archive("b")
    [mid] = b.ingest([photos["coffee.jpg"]]).added
    [d] = b.apply("test-tint", [mid], {"amount": 0.3})
    monkeypatch.setattr(events, "make", make)
    b.update_metadata(mid, {"title": "Coffee, 1952"})  # over an ingestion that did not record its fields either
    bag = b.export("bagit", tmp_path / "bag")
    kept = (bag / "data" / "metadata" / "items.json").read_text()
    edit_json(bag, "items.json", lambda records: next(r for r in records if r["id"] == d.id).update(
        description="Original photograph"))
    a = make_archive("a")
    assert refused(a, bag) == [f"item {d.id}: description not as its signed events record (edited after export?)"]
    (bag / "data" / "metadata" / "items.json").write_text(kept)
    rebag(bag)
    assert sorted(a.import_bag(bag).added) == sorted([mid, d.id]) and a.get(mid).title == "Coffee, 1952"

def test_bag_from_an_unknown_archive_is_imported_untrusted_until_trusted(source, bag: Path, make_archive) -> None:
    b, mid, did = source
    a = make_archive("a")
    report = a.import_bag(bag)
    assert sorted(report.added) == sorted([mid, did])
    assert report.signer == b.keys.fingerprint and not report.trusted and report.untrusted == [b.keys.fingerprint]
    assert [c.fingerprint for c in a.trusted_signers()] == [a.keys.fingerprint]
    assert [c.fingerprint for c in a.untrusted_signers()] == [b.keys.fingerprint]

    history = a.events_of(did)  # original events keep their signer; the replication is signed here
    assert [(e.type, e.signer) for e in history] == [("creation", b.keys.fingerprint),
                                                     ("replication", a.keys.fingerprint)]
    assert [e.record() for e in history[:1]] == [e.record() for e in b.events_of(did)]

    checks = {c.name: c for c in a.verify(did).checks}
    untrusted = f"signed by an archive you do not trust (fingerprint {b.keys.fingerprint})"
    assert not checks["event signatures"].ok and checks["event signatures"].detail == untrusted
    assert not checks["C2PA manifest"].ok and checks["C2PA manifest"].detail == f"untrusted: {untrusted}"
    assert checks["fixity"].ok and checks["XMP label"].ok and checks["C2PA recipe matches catalogue"].ok
    with pytest.raises(ArchiveError, match="signed by an archive you do not trust"):
        a.rederive(did)

    assert a.trust(read_chain(bag / "data" / "metadata" / "signer.pem"))
    assert [c.fingerprint for c in a.trusted_signers()] == [a.keys.fingerprint, b.keys.fingerprint]
    assert a.untrusted_signers() == []
    report = a.verify(did)
    assert report.ok, report.checks
    assert {c.name: c.detail for c in report.checks}["C2PA manifest"] == "Trusted"
    assert a.verify(mid).ok and a.rederive(did).identical

    assert a.distrust(b.keys.fingerprint[:12]).fingerprint == b.keys.fingerprint
    assert not a.verify(did).ok and [c.fingerprint for c in a.untrusted_signers()] == [b.keys.fingerprint]


def test_events_signed_by_a_third_archive_travel_with_their_certificate(source, bag: Path, make_archive,
                                                                       tmp_path: Path) -> None:
    """B's items imported into C and exported again: C's bag carries B's chain so A can check B's signatures."""
    b, mid, did = source
    c = make_archive("c")
    c.import_bag(bag)  # C does not trust B, but knows its certificate
    again = c.export("bagit", tmp_path / "again")
    assert read_chain(again / "data" / "metadata" / "signers.pem").fingerprint == b.keys.fingerprint
    a = make_archive("a")
    report = a.import_bag(again, trust_signer=True)
    assert report.signer == c.keys.fingerprint and report.trusted and report.untrusted == [b.keys.fingerprint]
    assert [e.signer for e in a.events_of(did)] == [b.keys.fingerprint, c.keys.fingerprint, a.keys.fingerprint]
    detail = {ch.name: ch.detail for ch in a.verify(did).checks}["event signatures"]
    assert detail == f"signed by an archive you do not trust (fingerprint {b.keys.fingerprint})"


def test_records_with_unknown_or_missing_fields_are_refused(source, bag: Path, make_archive) -> None:
    b, mid, did = source

    def extra_and_missing(records: list[dict]) -> None:
        records[0]["colour"] = "sepia"
        del records[1]["width"]
        records[1]["height"] = "tall"

    edit_json(bag, "items.json", extra_and_missing)
    edit_json(bag, "events.json", lambda history: history[0].pop("signer"))
    a = make_archive("a")
    ids = [r["id"] for r in json.loads((bag / "data" / "metadata" / "items.json").read_text())]
    event = json.loads((bag / "data" / "metadata" / "events.json").read_text())[0]["id"]
    assert refused(a, bag) == [f"items.json record 1 (id {ids[0]}): unknown field(s): colour",
                               f"items.json record 2 (id {ids[1]}): missing field(s): width",
                               f"items.json record 2 (id {ids[1]}): wrong type or too long: height",
                               f"events.json record 1 (id {event}): missing field(s): signer"]


def test_object_names_that_are_not_plain_hashes_are_refused(source, bag: Path, make_archive, tmp_path: Path) -> None:
    b, mid, did = source
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"not here")

    def traverse(records: list[dict]) -> None:
        next(r for r in records if r["id"] == mid)["sha256"] = "../../../outside"

    (bag / "data" / "objects" / "notes.txt").write_text("a file that is no object")
    edit_json(bag, "items.json", traverse)
    a = make_archive("a")
    assert refused(a, bag) == ["data/objects/notes.txt: not a plain SHA-256 name",
                               f"items.json record 1 (id {mid}): sha256 '../../../outside' is not a plain SHA-256 name"]
    assert a.items(include_withdrawn=True) == [] and list(a.store.objects()) == []


# ------------------------------------------------------------------------------------------------ the CLI

def run(*args: object, code: int = 0, input: str | None = None):
    from daguerre.archive.cli import archive_app

    result = runner.invoke(archive_app, [str(a) for a in args], input=input)
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_trust_commands(source, bag: Path, make_archive, tmp_path: Path) -> None:
    b, mid, did = source
    a = make_archive("a")
    pem, fp = bag / "data" / "metadata" / "signer.pem", b.keys.fingerprint
    before = contents(a)

    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    for wrong, message in ((bad, "not a PEM file of X.509 certificates"),
                           (b.path / "keys" / "ca.pem", "holds no signing certificate"),
                           (tmp_path / "none.pem", "No such file")):
        out = run("trust", "add", wrong, "--yes", "-A", a.path, code=1).output
        assert out.count("\n") == 1 and out.startswith(f"error: {wrong}:") and message in out
    assert "nothing changed" in run("trust", "add", pem, "-A", a.path, code=1, input="n\n").output
    assert "always trusted" in run("trust", "remove", a.keys.fingerprint, "-A", a.path, code=1).output
    assert "no trusted signer" in run("trust", "remove", fp, "-A", a.path, code=1).output
    assert "at least 8" in run("trust", "remove", "abc", "-A", a.path, code=1).output
    assert contents(a) == before

    asked = run("trust", "add", pem, "-A", a.path, input="y\n").output
    assert f"fingerprint {fp}" in asked and f"trusted: {fp}" in asked
    listed = run("trust", "list", "-A", a.path).output.splitlines()
    assert [line.split()[:2] for line in listed] == [[a.keys.fingerprint, "trusted"], [fp, "trusted"]]
    assert "already trusted" in run("trust", "add", pem, "--yes", "-A", a.path).output
    assert f"no longer trusted: {fp}" in run("trust", "remove", fp[:10], "-A", a.path).output
    assert run("trust", "list", "-A", a.path).output.splitlines()[1].split()[:2] == [fp, "untrusted"]


def test_import_bag_command(source, bag: Path, make_archive) -> None:
    b, mid, did = source
    a, c = make_archive("a"), make_archive("c")
    untrusted = run("import-bag", bag, "-A", a.path).output
    assert "imported 2 items" in untrusted and f"do not trust (fingerprint {b.keys.fingerprint})" in untrusted
    assert f"signed by an archive you do not trust (fingerprint {b.keys.fingerprint})" in \
        run("verify", did, "-A", a.path, code=1).output

    trusted = run("import-bag", bag, "--trust-signer", "-A", c.path).output
    assert f"trusted signer {b.keys.fingerprint}" in trusted and "do not trust" not in trusted
    assert "C2PA manifest: Trusted" in run("verify", did, "-A", c.path).output

    edit_json(bag, "items.json", lambda records: records[0].update(colour="sepia"))
    d = make_archive("d")
    out = run("import-bag", bag, "--trust-signer", "-A", d.path, code=1).output
    assert out.splitlines() == [f"error: {bag}: bag refused, nothing imported (1 problem):",
                                f"  items.json record 1 (id {mid}): unknown field(s): colour"]
    assert contents(d)[0] == [] and [c.fingerprint for c in d.trusted_signers()] == [d.keys.fingerprint]


def rederived_elsewhere(make_archive, b: Archive, bag: Path, item_id: str) -> tuple[Archive, object]:
    """Import ``bag`` into a new archive, delete the first one's store, re-derive ``item_id`` there."""
    import shutil

    a = make_archive("a")
    a.import_bag(bag, trust_signer=True)
    b.close()
    shutil.rmtree(b.path / "store")
    return a, a.rederive(item_id)


def test_a_reference_is_read_from_the_importers_store_once_its_first_path_is_gone(make_archive, photos, tmp_path):
    """A derivative coloured from a reference item records that item's stored file (a path in the first archive).
    Imported into another archive and re-derived after the first is gone, the reference is read from the
    importer's own copy (the same sha256): byte-identical, with a note; it used to fail on the missing path."""
    b = make_archive("b")
    [grey, colour] = b.ingest([photos["sub/camera.png"], photos["coffee.jpg"]]).added
    [d] = b.apply("colorize", [grey], {"reference": colour, "render_size": 64})
    _, report = rederived_elsewhere(make_archive, b, b.export("bagit", tmp_path / "bag"), d.id)
    assert report.identical, report.notes
    assert any("read from this archive's store" in note for note in report.notes)


def test_a_reference_file_from_outside_joins_the_archive_and_travels_in_its_bag(make_archive, photos, tmp_path):
    """A reference given as a file (not an item) was recorded by its path only: once the file moved, or in another
    archive, the derivative could not be re-derived. It now joins the archive as a master first (once: a file
    already stored is that item, its metadata untouched), so the recipe names a stored file and bags carry it."""
    import shutil

    from PIL import Image

    from daguerre.archive.errors import ApplyError

    b = make_archive("b")
    [grey] = b.ingest([photos["sub/camera.png"]]).added
    outside = tmp_path / "colour print.jpg"
    shutil.copy(photos["coffee.jpg"], outside)
    [d] = b.apply("colorize", [grey], {"reference": str(outside), "render_size": 64})
    [kept] = [i for i in b.items(kind="master") if i.id != grey]
    assert kept.filename == "colour print.jpg"
    assert b.events_of(d.id)[0].outcome_detail["recipe"]["input_files"] == {
        str(b.store.local_path(kept.sha256)): kept.sha256}
    b.apply("colorize", [grey], {"reference": str(outside), "render_size": 32})
    assert len(b.items(kind="master")) == 2 and b.get(kept.id).record() == kept.record()
    other = tmp_path / "refused.png"
    Image.open(photos["astronaut.jpg"]).save(other)
    with pytest.raises(ApplyError, match="render_size"):  # refused parameters: the file does not join
        b.apply("colorize", [grey], {"reference": str(other), "render_size": 4})
    assert len(b.items(kind="master")) == 2
    outside.unlink()
    assert b.rederive(d.id).identical
    _, report = rederived_elsewhere(make_archive, b, b.export("bagit", tmp_path / "bag"), d.id)
    assert report.identical, report.notes

def test_a_familys_bag_carries_the_reference_it_was_coloured_from(make_archive, photos, tmp_path):
    """The web's bag of one picture's family used to leave out a reference item from another family: imported
    elsewhere, the derivative could not be re-derived once the first archive was gone. The bag now carries every
    item the family's derivations read, with that item's own parent (here a derivative used as the reference)."""
    from daguerre.archive.bag import export_bag

    b = make_archive("b")
    [grey, colour, other] = b.ingest([photos["sub/camera.png"], photos["coffee.jpg"], photos["astronaut.jpg"]]).added
    [brighter] = b.apply("test-tint", [colour], {"amount": 0.2}, seed=1)
    [d] = b.apply("colorize", [grey], {"reference": brighter.id, "render_size": 64})
    family = [it for it in b.items(False) if it.root_id == grey]
    assert {it.id for it in family} == {grey, d.id}
    bag = export_bag(b, tmp_path / "bag", include_withdrawn=False, items=family)
    carried = {r["id"] for r in json.loads((bag / "data" / "metadata" / "items.json").read_text())}
    assert carried == {grey, d.id, brighter.id, colour}  # not the unrelated astronaut
    a, report = rederived_elsewhere(make_archive, b, bag, d.id)
    assert report.identical, report.notes
    assert other not in {it.id for it in a.items(False)}


# ------------------------------------------------------------------------------------------------ large bags

def test_a_bag_is_read_a_record_at_a_time_whatever_its_layout(tmp_path: Path) -> None:
    """`json_list` reads items.json and events.json a chunk at a time (a bag of a million items is not held in
    memory) and gives what `json.loads` gives, wherever the chunks end: inside a string, an escape, a number."""
    from daguerre.archive.bag_import import json_list

    records = [{"id": "ab" * 8, "title": "Caf\u00e9 \"Zur Post\", 1920 \U0001f4f7", "size": 1234567890,
                "ratio": -0.125e-3, "extra": {"c2pa": None, "tags": [1, [2, 3], {}]}, "ok": True}, 17, [], "x"]
    for layout in (json.dumps(records), json.dumps(records, indent=1), " \n[ " + ",\n\t".join(map(json.dumps, records))
                   + " ]\r\n", "[]", " [ ] "):
        path = tmp_path / "list.json"
        path.write_text(layout)
        for chunk in (1, 2, 3, 7, 64, 1 << 20):
            assert list(json_list(path, "list.json", chunk)) == json.loads(layout), (layout[:30], chunk)


@pytest.mark.parametrize("text, problem", [
    ('{"id": 1}', "not a JSON list"),
    ("[1, 2,]", "element 3 is not valid JSON"),
    ("[1 2]", "not a JSON list ('2' after element 1)"),
    ('[{"a": 1}', "not a JSON list ('the end of the file' after element 1)"),
    ('[{"a": "unterminated', "element 1 is not valid JSON"),
    ("[1] [2]", "more after the end of its JSON list"),
    ("", "not a JSON list"),
    ("[" + "[" * 100_000 + "]" * 100_000 + "]", "element 1 is nested too deeply"),
])
def test_a_list_that_is_not_json_is_refused_with_its_problem(tmp_path: Path, text: str, problem: str) -> None:
    from daguerre.archive.bag_import import json_list

    path = tmp_path / "items.json"
    path.write_text(text)
    for chunk in (1, 4, 1 << 20):
        with pytest.raises(ValueError) as info:
            list(json_list(path, "items.json", chunk))
        assert str(info.value).startswith(f"items.json: {problem}"), (chunk, str(info.value))


def test_a_record_longer_than_the_limit_is_refused_not_read_on(tmp_path: Path, monkeypatch) -> None:
    from daguerre.archive import bag_import

    monkeypatch.setattr(bag_import, "MAX_RECORD", 100)
    path = tmp_path / "items.json"
    path.write_text(json.dumps([{"title": "short"}, {"title": "x" * 1000}]))
    rows = bag_import.json_list(path, "items.json", chunk=16)
    assert next(rows) == {"title": "short"}
    with pytest.raises(ValueError, match="element 2 is not valid JSON, or is longer than 100 characters"):
        next(rows)


def test_a_bag_that_is_not_json_names_the_bag_and_file_and_stores_nothing(source, bag: Path, make_archive) -> None:
    path = bag / "data" / "metadata" / "events.json"
    path.write_text(path.read_text()[:-40])
    rebag(bag)
    a = make_archive("a")
    before = contents(a)
    with pytest.raises(ArchiveError) as info:
        a.import_bag(bag)
    assert str(info.value).startswith(f"{bag}: not a daguerre bag (events.json: ")
    assert "\n" not in str(info.value) and contents(a) == before


def test_a_bag_is_checked_and_imported_in_batches_parents_first(source, bag: Path, make_archive, monkeypatch) -> None:
    """Records are checked and looked up in the archive `BATCH` at a time (PostgreSQL takes at most 65,535 values
    in one statement, and the ids of a large bag went in one), and stored each after its parent, wherever the bag
    lists it: the same import, one record a batch and one id a query, as all at once."""
    from daguerre.archive import bag_import

    b, mid, did = source
    [d2] = b.apply("test-tint", [did], {"amount": 0.25}, seed=2)
    bag = b.export("bagit", bag.parent / "bag3")
    edit_json(bag, "items.json", lambda records: records.reverse())  # grandchild, child, master
    at_once = make_archive("whole")
    whole = at_once.import_bag(bag, trust_signer=True)
    monkeypatch.setattr(bag_import, "BATCH", 1)
    monkeypatch.setattr(bag_import, "IN_BATCH", 1)
    a = make_archive("a")
    batched = a.import_bag(bag, trust_signer=True)
    assert batched.added == whole.added == [mid, did, d2.id]
    assert [i.record() for i in a.items()] == [i.record() for i in at_once.items()] == [
        i.record() for i in b.items()]
    for ref in (mid, did, d2.id):
        assert [e.id for e in a.events_of(ref)][:-1] == [e.id for e in b.events_of(ref)]  # and a replication
        assert a.verify(ref).ok
    assert a.import_bag(bag).added == []


def test_a_refusal_lists_the_first_problems_and_counts_the_rest(source, bag: Path, make_archive, monkeypatch) -> None:
    from daguerre.archive import bag_import

    monkeypatch.setattr(bag_import, "MAX_PROBLEMS", 2)
    edit_json(bag, "items.json", lambda records: [r.update(colour="sepia", mood="calm") for r in records])
    edit_json(bag, "events.json", lambda history: [e.pop("signer") for e in history])
    problems = refused(make_archive("a"), bag)
    n = len(json.loads((bag / "data" / "metadata" / "items.json").read_text()))
    n += len(json.loads((bag / "data" / "metadata" / "events.json").read_text()))
    assert len(problems) == 3 and problems[0].startswith("items.json record 1 ")
    assert problems[2] == f"... and {n - 2:,} more problems"
