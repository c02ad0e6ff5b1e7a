"""Over several items, the archive reports an unexpected error in one of them in one line and does the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from daguerre.archive import Archive
from daguerre.archive.errors import ApplyError
from daguerre.ops import get_operation


def test_ingest_goes_on_after_an_unexpected_error(archive: Archive, photos: dict[str, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ingest_one = Archive._ingest_one

    def buggy(self: Archive, path: Path, *args: object) -> None:  # a bug only coffee.jpg reaches
        if path.name == "coffee.jpg":
            raise KeyError("exif")
        ingest_one(self, path, *args)

    monkeypatch.setattr(Archive, "_ingest_one", buggy)
    report = archive.ingest([photos["coffee.jpg"].parent])
    assert report.failed == [f"{photos['coffee.jpg']}: KeyError: 'exif'"]
    assert len(report.added) == len(photos) - 1
    assert "coffee.jpg" not in {item.filename for item in archive.items()}


def test_apply_over_several_items_derives_the_others(archive: Archive, photos: dict[str, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ids = archive.ingest([photos["coffee.jpg"].parent]).added
    tint = get_operation("test-tint")
    run, calls = tint.run, []

    def buggy(picture, **params):  # the second item hits a bug
        calls.append(1)
        if len(calls) == 2:
            raise ZeroDivisionError("division by zero")
        return run(picture, **params)

    monkeypatch.setattr(tint, "run", buggy)
    with pytest.raises(ApplyError) as refused:
        archive.apply("test-tint", ids, {"amount": 0.2})
    error = refused.value
    assert len(error.made) == len(ids) - 1 and len(error.failed) == 1
    assert error.failed[0].startswith(ids[1]) and "ZeroDivisionError" in error.failed[0]
    assert "\n" not in str(error) and f"1 of {len(ids)} items failed" in str(error)
    assert {d.parent_id for d in error.made} == set(ids) - {ids[1]}  # the others were derived and stored
    assert all(archive.get(d.id).kind == "derivative" for d in error.made)


def test_ingest_names_the_files_of_a_folder_it_cannot_read(archive: Archive, photos: dict[str, Path]) -> None:
    """A GIF or HEIC scan in an ingested folder was passed over without a word (`daguerre restore scans/ -o out/`
    named it); now it is one failure line naming it and the rest still goes in."""
    folder = photos["coffee.jpg"].parent
    (folder / "scan.heic").write_bytes(b"\\x00\\x00\\x00\\x18ftypheic")
    report = archive.ingest([folder])
    assert len(report.added) == len(photos)
    [message] = report.failed
    assert message.startswith(f"{folder / 'scan.heic'}: HEIC is not a format daguerre reads")
