"""Never lose anything: concurrent processes, and processes killed with SIGKILL mid-ingest or mid-apply."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from daguerre.archive import Archive
from daguerre.archive.catalogue import Event, Intent, Item
from daguerre.archive.errors import CRASH_ENV
from daguerre.archive.events import verify

fork = mp.get_context("fork")


def _worker(path: Path, folder: Path, barrier, repeats: int) -> None:
    archive = Archive.open(path)
    barrier.wait()
    for _ in range(repeats):
        report = archive.ingest([folder])
        assert not report.failed, report.failed
        archive.apply("test-tint", [i.id for i in archive.items(kind="master")], {"amount": 0.2})
    archive.close()


def assert_consistent(archive: Archive) -> None:
    """Every row's file is there and whole, every stored file has a row, no write is left half-done."""
    with archive.session() as s:
        items = list(s.scalars(select(Item)))
        assert not list(s.scalars(select(Intent)))
        assert all(verify(archive.keys, e) for e in s.scalars(select(Event)))
    assert all(archive.store.hash(i.sha256) == i.sha256 for i in items)
    assert sorted(archive.store.objects()) == sorted(i.sha256 for i in items)
    assert not list(archive.store.fs.ls(f"{archive.store.root}/tmp"))


def test_two_processes_ingesting_and_applying_at_once(archive: Archive, photos: dict[str, Path]) -> None:
    barrier = fork.Barrier(2)
    procs = [fork.Process(target=_worker, args=(archive.path, photos["astronaut.jpg"].parent, barrier, 2))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    masters = archive.items(kind="master")
    assert len(masters) == 4 and len({m.sha256 for m in masters}) == 4
    assert len(archive.items(kind="derivative")) >= 8  # each process derived from every master it saw
    assert_consistent(archive)
    assert archive.fixity().ok


def _crash(path: Path, point: str, operation: str, target: str) -> None:
    os.environ[CRASH_ENV] = point
    archive = Archive.open(path)
    if operation == "ingest":
        archive.ingest([target])
    else:
        archive.apply("test-tint", [target], {"amount": 0.7})
    os._exit(3)  # not reached: the crash point kills the process


@pytest.mark.parametrize(("operation", "point", "leaves"), [
    ("ingest", "archive:intent", "unfinished write"),
    ("ingest", "store:tmp-written", "partial file"),
    ("ingest", "store:renamed", "orphaned file"),
    ("ingest", "archive:before-commit", "orphaned file"),
    ("apply", "derive:ran", None),
    ("apply", "derive:signed", None),
    ("apply", "store:renamed", "orphaned file"),
    ("apply", "archive:before-commit", "orphaned file"),
])
def test_sigkill_leaves_no_row_without_its_file(archive: Archive, photos: dict[str, Path], operation: str,
                                                point: str, leaves: str | None) -> None:
    [mid] = archive.ingest([photos["coffee.jpg"]]).added
    target = str(photos["chelsea.png"]) if operation == "ingest" else mid
    child = fork.Process(target=_crash, args=(archive.path, point, operation, target))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert [i.id for i in archive.items(include_withdrawn=True)] == [mid]  # nothing half-recorded

    again = Archive.open(archive.path)  # the next command cleans up, and says so
    if leaves:
        assert len(again.recovered) == 1 and leaves in again.recovered[0], again.recovered
    else:
        assert again.recovered == []
    assert_consistent(again)
    assert Archive.open(archive.path).recovered == []  # once
    if operation == "ingest":
        assert len(again.ingest([target]).added) == 1
    else:
        again.apply("test-tint", [mid], {"amount": 0.7})
    assert_consistent(again)
    again.close()
