"""The archive on real photos, against SQLite and PostgreSQL: ingest, metadata, fixity, derivatives, labels."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from daguerre.archive import Archive, ArchiveError
from daguerre.archive.catalogue import Event, Item
from daguerre.archive.xmp import parse, read_xmp


def ids(items: list[Item]) -> list[str]:
    return [i.id for i in items]


def snapshot(archive: Archive) -> tuple:
    """Everything stored: item records, event count, store objects."""
    with archive.session() as s:
        items = sorted((i.record() for i in s.scalars(select(Item))), key=lambda r: r["id"])
        n_events = s.scalar(select(func.count()).select_from(Event))
    return items, n_events, sorted(archive.store.objects())


def test_ingest_dedupes_and_resumes(archive: Archive, photos: dict[str, Path]) -> None:
    folder = photos["astronaut.jpg"].parent
    first = archive.ingest([photos["astronaut.jpg"], photos["chelsea.png"]])  # an ingest cut short...
    assert len(first.added) == 2 and not first.failed
    (folder / "bad.jpg").write_bytes(photos["coffee.jpg"].read_bytes()[:300])  # truncated
    (folder / "copy.png").write_bytes(photos["chelsea.png"].read_bytes())  # same content, other name
    again = archive.ingest([folder])  # ...resumed on the whole folder
    assert sorted(again.duplicates) == sorted(first.added + [first.added[1]])
    assert len(again.added) == 2  # coffee and sub/camera
    assert len(again.failed) == 1 and "bad.jpg" in again.failed[0] and "\n" not in again.failed[0]
    assert len(archive.items()) == 4 and len(set(archive.store.objects())) == 4
    assert archive.ingest([folder]).added == []


def test_dublin_core_from_exif_iptc_xmp_and_sheet(archive: Archive, photos: dict[str, Path], tmp_path: Path) -> None:
    report = archive.ingest([photos["astronaut.jpg"].parent])
    by_name = {i.filename: i for i in archive.items()}
    moon = by_name["astronaut.jpg"]
    assert moon.title == "Man on the Moon" and moon.subject == "space; NASA"  # XMP
    assert moon.creator == "NASA" and moon.rights == "Public domain"  # EXIF
    assert moon.date == "1969-07-20"  # XMP wins over EXIF's 1969-07-21
    coffee = by_name["coffee.jpg"]
    assert (coffee.title, coffee.creator, coffee.subject, coffee.rights, coffee.date) == (
        "Coffee cup", "Rachel Michetti", "coffee", "CC0", "2010-01-01")  # IPTC
    assert by_name["chelsea.png"].title == "chelsea" and by_name["chelsea.png"].identifier in report.added

    sheet = tmp_path / "sheet.csv"
    sheet.write_text("filename,title,rights\nsub/camera.png,Cameraman,CC BY 4.0\ncoffee.jpg,,Public domain\n")
    again = archive.ingest([photos["astronaut.jpg"].parent], sheet=sheet)
    assert len(again.updated) == 2
    by_name = {i.filename: i for i in archive.items()}
    assert by_name["camera.png"].title == "Cameraman" and by_name["camera.png"].rights == "CC BY 4.0"
    assert by_name["coffee.jpg"].title == "Coffee cup" and by_name["coffee.jpg"].rights == "Public domain"
    assert [e.type for e in archive.events_of(by_name["coffee.jpg"].id)] == ["ingestion", "metadata modification"]

    before = snapshot(archive)
    bad = tmp_path / "bad.csv"
    bad.write_text("filename,titel\ncoffee.jpg,Typo\n")
    with pytest.raises(ArchiveError, match="unknown column.*titel"):
        archive.ingest([photos["astronaut.jpg"].parent], sheet=bad)
    assert snapshot(archive) == before


def test_masters_are_read_only_and_never_change(archive: Archive, photos: dict[str, Path]) -> None:
    [mid] = archive.ingest([photos["coffee.jpg"]]).added
    master = archive.get(mid)
    path = archive.store.local_path(master.sha256)
    assert path.name == master.sha256 and path.read_bytes() == photos["coffee.jpg"].read_bytes()
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    mtime = os.stat(path).st_mtime_ns
    archive.apply("test-tint", [mid], {"amount": 0.5})
    archive.ingest([photos["coffee.jpg"]])
    assert os.stat(path).st_mtime_ns == mtime and archive.store.hash(master.sha256) == master.sha256


def test_fixity_detects_modified_and_missing_files(archive: Archive, photos: dict[str, Path]) -> None:
    ids = archive.ingest([photos["astronaut.jpg"].parent]).added
    assert archive.fixity().ok
    changed, gone = archive.get(ids[0]), archive.get(ids[1])
    path = archive.store.local_path(changed.sha256)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    path.write_bytes(bytes(data))
    archive.store.local_path(gone.sha256).unlink()
    report = archive.fixity()
    assert not report.ok and report.checked == 4
    assert report.mismatched == [changed.id] and report.missing == [gone.id]
    failed = [e for e in archive.events_of(changed.id) if e.type == "fixity check" and e.outcome == "failure"]
    assert failed and failed[0].outcome_detail["expected"] == changed.sha256


def test_a_master_with_alpha_is_catalogued_with_its_channels_as_stored(archive: Archive, tmp_path: Path) -> None:
    """An RGBA PNG was catalogued as 3 channels (alpha is kept beside the pixels): archivists plan format
    migrations on these figures."""
    import numpy as np
    from PIL import Image

    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, np.linspace(0, 255, 30, dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut-out.png")
    Image.fromarray(rgba[..., :3]).save(tmp_path / "plain.png")
    Image.fromarray(rgba[..., ::3], "LA").save(tmp_path / "grey-alpha.png")
    ids = archive.ingest([tmp_path / n for n in ("cut-out.png", "plain.png", "grey-alpha.png")]).added
    assert [(archive.get(i).extra["channels"], archive.get(i).extra["alpha"]) for i in ids] == [
        (4, True), (3, False), (2, True)]

def test_apply_records_a_full_event_and_parent_link(archive: Archive, photos: dict[str, Path]) -> None:
    [mid] = archive.ingest([photos["astronaut.jpg"]]).added
    [d1] = archive.apply("test-tint", [mid], {"amount": 0.4, "noise": 0.1}, seed=7)
    [d2] = archive.apply("test-tint", [d1.id], {"amount": 0.2})  # a derivative of a derivative
    assert (d1.parent_id, d1.root_id, d1.kind) == (mid, mid, "derivative")
    assert (d2.parent_id, d2.root_id) == (d1.id, mid)
    [event] = [e for e in archive.events_of(d1.id) if e.type == "creation"]
    assert (event.source_id, event.object_id, event.outcome, event.id) == (mid, d1.id, "success", d1.event_id)
    assert event.agent.startswith("daguerre ") and event.datetime.endswith("+00:00")
    detail = event.outcome_detail
    recipe = detail["recipe"]
    assert (recipe["operation"], recipe["operation_version"], recipe["seed"]) == ("test-tint", "1", 7)
    assert recipe["params"] == {"amount": 0.4, "noise": 0.1}
    assert recipe["models"][0] == {"name": "tint-net", "task": "test", "sha256": "ab" * 32, "licence": "CC0-1.0",
                                   "source": "tests", "architecture": "none"}
    assert recipe["parent_sha256"] == archive.get(mid).sha256 == recipe["master_sha256"]
    assert {"daguerre", "torch", "numpy", "python", "c2pa-python"} <= set(recipe["software"])
    assert set(detail["metrics"]) == {"psnr", "ssim", "colourfulness", "sharpness"}
    assert 0 < detail["metrics"]["ssim"] < 1 and detail["duration_s"] >= 0 and detail["started"]
    tree = archive.show(mid)
    assert tree["derivatives"][0]["item"]["id"] == d1.id
    assert tree["derivatives"][0]["derivatives"][0]["item"]["sha256"] == d2.sha256


def test_labels_verify_and_tampering_is_detected(archive: Archive, photos: dict[str, Path]) -> None:
    [mid] = archive.ingest([photos["chelsea.png"]]).added
    [d] = archive.apply("test-tint", [mid], {"amount": 0.3}, seed=1)
    report = archive.verify(d.id)
    assert report.ok, report.checks
    names = {c.name: c.detail for c in report.checks}
    assert names["C2PA manifest"] == "Trusted" and names["XMP label"] == "matches"
    label = parse(read_xmp(archive.store.local_path(d.sha256)))
    assert label["DigitalSourceType"].endswith("/trainedAlgorithmicMedia") and label["Operation"] == "test-tint"
    assert archive.verify(mid).ok

    with archive.session.begin() as s:  # someone edits the recorded parameters
        event = s.scalar(select(Event).where(Event.id == d.event_id))
        s.execute(update(Event).where(Event.pk == event.pk).values(
            outcome_detail={**event.outcome_detail, "recipe": {**event.outcome_detail["recipe"],
                                                               "params": {"amount": 0.9}}}))
    checks = {c.name: c.ok for c in archive.verify(d.id).checks}
    assert not checks["event signatures"] and not checks["C2PA recipe matches catalogue"] and checks["fixity"]

    path = archive.store.local_path(d.sha256)  # ...and someone edits the pixels
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    idat = data.find(b"IDAT")
    data[idat + 40] ^= 0xFF
    path.write_bytes(bytes(data))
    checks = {c.name: (c.ok, c.detail) for c in archive.verify(d.id).checks}
    assert not checks["fixity"][0] and not checks["C2PA manifest"][0]
    assert "mismatch" in checks["C2PA manifest"][1]



def test_verify_reports_a_derivative_damaged_past_reading_and_records_it(archive: Archive,
                                                                         photos: dict[str, Path]) -> None:
    """A byte overwritten in the PNG signature leaves no picture to read a label from: verify reports it (it
    crashed with Pillow's "cannot identify image file") and records the failure."""
    [mid] = archive.ingest([photos["chelsea.png"]]).added
    [d] = archive.apply("test-tint", [mid], {"amount": 0.3})
    path = archive.store.local_path(d.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b"X" + path.read_bytes()[1:])
    report = archive.verify(d.id)
    checks = {c.name: (c.ok, c.detail) for c in report.checks}
    assert not report.ok and not checks["fixity"][0] and checks["fixity"][1].startswith("file changed")
    assert checks["XMP label"][0] is False and checks["XMP label"][1].startswith("unreadable")
    assert archive.events_of(d.id)[-1].type == "validation" and archive.events_of(d.id)[-1].outcome == "failure"

def test_rederive_is_byte_identical(archive: Archive, photos: dict[str, Path]) -> None:
    [mid] = archive.ingest([photos["astronaut.jpg"]]).added
    [d] = archive.apply("test-tint", [mid], {"amount": 0.4, "noise": 0.2}, seed=11)
    report = archive.rederive(d.id)
    assert report.identical and report.ok and report.max_abs_diff == 0 and not report.notes
    [other] = archive.apply("test-tint", [mid], {"amount": 0.4, "noise": 0.2}, seed=12)
    assert other.rendition_sha256 != d.rendition_sha256  # the seed matters, and is recorded
    assert archive.events_of(d.id)[-1].type == "validation"
    with pytest.raises(ArchiveError, match="is a master"):
        archive.rederive(mid)


def test_a_one_level_difference_is_within_the_default_tolerance() -> None:
    """A derivative re-made one 8-bit level off (another thread count rounds a pixel the other way) is within the
    default tolerance of 1/255 at every level; in float32 eight of the 255 steps read a little over 1/255 and were
    reported DIFFERENT."""
    import numpy as np

    from daguerre.archive.derive import within_tolerance

    levels = np.arange(256, dtype=np.float32) / np.float32(255)
    steps = np.abs(np.diff(levels)).astype(np.float64)
    assert (steps > 1 / 255).sum() > 0 and all(within_tolerance(float(d), 1 / 255) for d in steps)
    assert not within_tolerance(float(2 * steps.min()), 1 / 255)


def test_film_preset_gets_the_seed_and_rederives(archive: Archive, photos: dict[str, Path]) -> None:
    [mid] = archive.ingest([photos["astronaut.jpg"]]).added
    [d] = archive.apply("film", [mid], {"preset": "autochrome"}, seed=4)
    recipe = archive.events_of(d.id)[0].outcome_detail["recipe"]
    assert recipe["params"] == {"preset": "autochrome", "seed": 4} and recipe["models"] == []
    assert d.digital_source_type == "algorithmicallyEnhanced" and archive.verify(d.id).ok
    assert archive.rederive(d.id).identical



def test_a_plain_look_over_a_machine_made_picture_keeps_its_ai_label(archive: Archive, photos: dict[str, Path]) -> None:
    """A sepia look over a GAN-made derivative is still machine-made: catalogue, recipe and the file's own label say
    so (they said "algorithmically enhanced", as for a look over a photograph)."""
    from daguerre.archive import xmp

    [mid] = archive.ingest([photos["astronaut.jpg"]]).added
    [made] = archive.apply("test-tint", [mid], {})
    [look] = archive.apply("film", [made.id], {"preset": "sepia"})
    assert made.digital_source_type == look.digital_source_type == "trainedAlgorithmicMedia"
    assert archive.events_of(look.id)[0].outcome_detail["recipe"]["digital_source_type"] == "trainedAlgorithmicMedia"
    with archive.store.as_file(look.sha256) as path:
        assert xmp.parse(xmp.read_xmp(path))["DigitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert archive.verify(look.id).ok and archive.rederive(look.id).identical


def test_masters_too_small_for_ssim_or_lpips_are_derived_without_them(archive: Archive, tmp_path: Path) -> None:
    """A master under 11 px a side (SSIM's window) or 16 (LPIPS's poolings) could not be derived from: the
    metrics raised and apply failed. The derivative is stored with those measures left out, as a resized one's."""
    import numpy as np

    from daguerre.imaging import Picture, save

    rng = np.random.default_rng(0)
    sizes = {"one": (1, 1), "eight": (8, 8), "strip": (600, 1), "twelve": (12, 12)}
    for name, (w, h) in sizes.items():
        save(Picture(rng.random((3, h, w), dtype=np.float32)), tmp_path / f"{name}.png")
    added = archive.ingest([tmp_path / f"{name}.png" for name in sizes]).added
    made = archive.apply("film", added, {"preset": "sepia"}, lpips=True)
    keys = [set(archive.events_of(d.id)[0].outcome_detail["metrics"]) for d in made]
    plain = {"psnr", "colourfulness", "sharpness"}
    assert keys == [plain, plain, plain, plain | {"ssim"}]
    assert all(archive.rederive(d.id).identical for d in made)

def test_withdraw_and_force(archive: Archive, photos: dict[str, Path]) -> None:
    [mid] = archive.ingest([photos["coffee.jpg"]]).added
    [d] = archive.apply("test-tint", [mid], {})
    [dd] = archive.apply("test-tint", [d.id], {})
    assert archive.withdraw(d.id, reason="wrong colours") == [d.id, dd.id]
    assert [i.id for i in archive.items()] == [mid] and ids(archive.search("coffee")) == [mid]
    assert archive.get(dd.id).withdrawn and archive.store.exists(d.sha256)  # hidden, not destroyed
    assert archive.events_of(d.id)[-1].detail == "wrong colours"
    checks = {c.name: c for c in archive.verify(d.id).checks}  # verify says so, as a plain "ok" would mislead
    assert checks["withdrawn"].ok and checks["withdrawn"].detail.endswith(": wrong colours")
    assert "withdrawn" not in {c.name for c in archive.verify(mid).checks}
    with pytest.raises(ArchiveError, match="already withdrawn"):
        archive.withdraw(d.id)
    with pytest.raises(ArchiveError, match="unless you pass --force"):
        archive.withdraw(mid)
    with pytest.raises(ArchiveError, match="withdrawn"):
        archive.apply("test-tint", [d.id], {})
    assert archive.withdraw(mid, force=True) == [mid]
    last = archive.events_of(mid)[-1]
    assert last.type == "deaccession" and last.outcome_detail["forced"] is True
    assert archive.items() == [] and len(archive.items(include_withdrawn=True)) == 3


def test_search_full_text_and_filters(archive: Archive, photos: dict[str, Path]) -> None:
    archive.ingest([photos["astronaut.jpg"].parent])
    moon = archive.search("moon")[0]
    [d] = archive.apply("test-tint", [moon.id], {})
    assert [i.id for i in archive.search("moon")] == [moon.id, d.id]
    assert [i.id for i in archive.search("Mo NAS")] == [moon.id, d.id]  # every word, as a prefix
    assert ids(archive.search("moon", operation="test-tint")) == [d.id]
    assert [i.id for i in archive.search(model="tint-net")] == [d.id]
    assert {i.filename for i in archive.search(date_from="1960", date_to="1970")} == {"astronaut.jpg",
                                                                                     "astronaut.test-tint.png"}
    assert [i.filename for i in archive.search(date_from="2000")] == ["coffee.jpg"]
    assert [i.filename for i in archive.search(rights="public", kind="master")] == ["astronaut.jpg"]
    assert ids(archive.search('moon" *(')) == ids(archive.search("moon"))  # no query syntax leaks through
    assert archive.search("zebra") == []


def test_bad_input_changes_nothing(archive: Archive, photos: dict[str, Path], tmp_path: Path) -> None:
    [mid] = archive.ingest([photos["coffee.jpg"]]).added
    before = snapshot(archive)
    with pytest.raises(ArchiveError, match="file not found"):
        archive.ingest([tmp_path / "nope.jpg"])
    with pytest.raises(ArchiveError, match="no operation named 'nope'"):
        archive.apply("nope", [mid])
    with pytest.raises(ArchiveError, match="amount must be in"):
        archive.apply("test-tint", [mid], {"amount": 3})
    with pytest.raises(ArchiveError, match=r"test-tint: unknown parameter\(s\) colour \(it takes amount, noise\)$"):
        archive.apply("test-tint", [mid], {"colour": "red"})
    with pytest.raises(ArchiveError, match="no such item"):
        archive.apply("test-tint", ["ffffffff"])
    with pytest.raises(ArchiveError, match="not a valid bag"):
        archive.import_bag(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ArchiveError, match="not an empty folder"):
        archive.export("csv", tmp_path)
    with pytest.raises(ArchiveError, match="already an archive"):
        Archive.init(archive.path)
    assert snapshot(archive) == before


def test_any_fsspec_store(tmp_path: Path, catalogue_url: str | None, photos: dict[str, Path]) -> None:
    """The non-local store path (what s3:// takes): fsspec's in-memory filesystem."""
    import uuid

    url = f"memory://archive-{uuid.uuid4().hex}"
    with Archive.init(tmp_path / "remote", catalogue_url=catalogue_url, store_url=url) as archive:
        assert not archive.store.local and archive.store.local_path("0" * 64) is None
        [mid] = archive.ingest([photos["coffee.jpg"]]).added
        [d] = archive.apply("test-tint", [mid], {"noise": 0.1}, seed=3)
        assert archive.verify(d.id).ok and archive.rederive(d.id).identical and archive.fixity().ok
        assert archive.store.read(archive.get(mid).sha256) == photos["coffee.jpg"].read_bytes()
    assert Archive.open(tmp_path / "remote").store.url == url
