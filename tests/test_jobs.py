"""The job table and runner on real photos, on SQLite and PostgreSQL: submit, run, cancel, resume."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from daguerre import jobs
from daguerre.archive import Archive, ArchiveError
from daguerre.archive.catalogue import Item, Job
from daguerre.imaging import load


@pytest.fixture
def filled(archive: Archive, photos) -> tuple[Archive, list[str]]:
    report = archive.ingest([photos["astronaut.jpg"].parent])
    assert len(report.added) == 4
    return archive, report.added


def derivatives(archive: Archive) -> list[Item]:
    with archive.session() as s:
        return list(s.scalars(select(Item).where(Item.kind == "derivative")))


def test_inline_jobs_make_one_labelled_derivative_each(filled):
    archive, ids = filled
    run_id = jobs.create_run(archive, "film", {"preset": "sepia"}, user="ana")
    job_ids = jobs.submit(archive, [i[:8] for i in ids], "film", {"preset": "sepia"}, user="ana", run_id=run_id)
    assert [j["status"] for j in jobs.list_jobs(archive, run_id=run_id)] == ["queued"] * 4
    seen = []
    summary = jobs.run_jobs(archive, run_id=run_id, backend="inline", on_progress=seen.append)
    assert (summary.done, summary.failed, summary.total) == (4, 0, 4)
    made = derivatives(archive)
    assert sorted(d.parent_id for d in made) == sorted(ids)
    for job_id in job_ids:
        job = jobs.get_job(archive, job_id)
        assert job["status"] == "done" and job["progress"] == 1.0 and job["created_by"] == "ana"
        assert archive.verify(job["derivative_id"]).ok
        assert archive.get(job["derivative_id"]).event_id == job_id
    assert {e["status"] for e in seen} == {"running", "done"}
    run = jobs.get_run(archive, run_id[:6])
    assert run["counts"]["done"] == 4 and run["finished_at"]
    picture = load(archive.store.local_path(made[0].sha256))
    assert picture.size == (made[0].width, made[0].height)


def test_a_failing_item_is_recorded_and_the_run_goes_on(filled):
    archive, ids = filled
    archive.withdraw(ids[0], force=True)
    run_id = jobs.create_run(archive, "film", {})
    jobs.submit(archive, ids, "film", {}, run_id=run_id)
    summary = jobs.run_jobs(archive, run_id=run_id, backend="inline")
    assert (summary.done, summary.failed) == (3, 1)
    [failed] = jobs.list_jobs(archive, status="failed", run_id=run_id)
    assert failed["item_id"] == ids[0] and "withdrawn" in failed["error"]


def test_bad_operation_and_items_are_refused(filled):
    archive, ids = filled
    with pytest.raises(ArchiveError, match="nosuchop"):
        jobs.submit(archive, ids, "nosuchop", {})
    with pytest.raises(ArchiveError, match="ffff0000"):
        jobs.submit(archive, ["ffff0000"], "film", {})
    with pytest.raises(ArchiveError, match="no such run"):
        jobs.get_run(archive, "abcdef")


def test_a_refused_value_is_quoted_whole(filled):
    """The refusal's one line used to strip every quote at its ends, so a value given as text lost its closing one
    ("got '0.7")."""
    archive, ids = filled
    with pytest.raises(ArchiveError, match=r"^film: consistency must be a number between 0 and 1, got '0\.7'$"):
        jobs.submit(archive, ids, "film", {"consistency": "0.7"})


@pytest.mark.parametrize(("operation", "params", "words"), [
    ("restore", {"key_every": 2}, "restore: key_every 2: a key every N frames is for colorize, retro, stylize: "
                                  "restore keeps each frame's own detail"),
    ("stylize", {"model": "rousseau-lion", "key_every": 9}, "key_every must be a whole number from 1 to 8, got 9"),
    ("stylize", {"model": "rousseau-lion", "key_every": 0}, "from 1 to 8, got 0"),
    ("stylize", {"model": "rousseau-lion", "key_every": 2.5}, "from 1 to 8, got 2.5"),
    ("stylize", {"model": "rousseau-lion", "key_every": "2"}, "from 1 to 8, got '2'"),
    ("colorize", {"key_every": True}, "from 1 to 8, got True"),
    ("stylize", {"model": "rousseau-lion", "key_every": 2, "steady_local": True}, "key_every 2: a key every N "
                                                                                  "frames steadies with the pixel"),
    ("stylize", {"model": "no-such-model", "key_every": 2}, "stylize: no model named 'no-such-model'")])
def test_a_clips_key_every_is_checked_when_its_job_is_asked_for(filled, operation, params, words):
    """`key_every` out of 1..8, not a whole number, or for an operation that cannot make frames between keys used
    to be queued and fail when a worker reached it (a fractional one ran, and was recorded); now it is refused
    when asked for, in one line, and nothing is queued."""
    archive, ids = filled
    with pytest.raises(ArchiveError, match=re.escape(words)):
        jobs.submit(archive, ids, operation, params)
    assert jobs.list_jobs(archive) == []
    assert jobs.submit(archive, ids[:1], "restore", {"key_every": 1})  # every frame: the default, for any operation


def test_cancelled_jobs_are_not_run(filled):
    archive, ids = filled
    first, second = jobs.submit(archive, ids[:2], "film", {}, user="bo")
    assert jobs.cancel(archive, first)
    summary = jobs.run_jobs(archive, job_ids=[first, second], backend="inline")
    assert summary.done == 1
    assert jobs.get_job(archive, first)["status"] == "cancelled"
    assert not jobs.cancel(archive, second)  # done already
    assert [j["id"] for j in jobs.list_jobs(archive, user="bo", status="done")] == [second]


def test_resume_records_a_result_its_worker_stored_and_derives_nothing_twice(filled):
    """A client killed after its worker stored a file: on resume the job is recorded from the note, not re-run."""
    from daguerre.archive import derive
    from daguerre.jobs.worker import run_job

    archive, ids = filled
    run_id = jobs.create_run(archive, "film", {})
    job_ids = jobs.submit(archive, ids[:2], "film", {}, run_id=run_id)
    task = derive.plan(archive, "film", archive.get(ids[0]), {}, 0, False, event_id=job_ids[0])
    task |= {"job_id": job_ids[0], "store": archive.store.url, "keys": str(archive.path / "keys")}
    made = run_job(task)  # the worker finished; the client died before recording it
    with archive.session.begin() as s:
        s.execute(update(Job).values(status="running"))
    assert jobs.mark_interrupted(archive) == 2
    objects = set(archive.store.objects())
    summary = jobs.run_jobs(archive, run_id=run_id, backend="inline")
    assert summary.done == 1  # only the second job ran
    first = jobs.get_job(archive, job_ids[0])
    assert first["status"] == "done" and first["derivative_id"] == made["sha256"][:16]
    assert len(derivatives(archive)) == 2
    assert len(set(archive.store.objects()) - objects) == 1
    assert archive.store.read_note(f"jobs/{job_ids[0]}") is None


def test_local_pool_of_two_workers(filled):
    archive, ids = filled
    run_id = jobs.create_run(archive, "film", {"preset": "sepia"})
    jobs.submit(archive, ids, "film", {"preset": "sepia"}, run_id=run_id)
    summary = jobs.run_jobs(archive, run_id=run_id, workers=2)
    assert (summary.done, summary.failed) == (4, 0)
    assert {d.parent_id for d in derivatives(archive)} == set(ids)
    assert jobs.threads_per_worker(2) >= 1


def test_an_item_that_kills_its_local_worker_fails_after_retries(filled, monkeypatch):
    archive, ids = filled
    monkeypatch.setenv("DAGUERRE_ARCHIVE_CRASH_AT", "derive:signed")  # workers (not this client) die there
    [job_id] = jobs.submit(archive, ids[:1], "film", {})
    summary = jobs.run_jobs(archive, job_ids=[job_id], workers=1)
    assert (summary.done, summary.failed) == (0, 1)
    job = jobs.get_job(archive, job_id)
    assert job["status"] == "failed" and "BrokenProcessPool" in job["error"]
    assert not derivatives(archive) and len(set(archive.store.objects())) == 4


def test_a_running_job_on_a_worker_process_is_cancelled_between_steps(filled):
    """The cancel note reaches a worker in another process: its optimisation stops, nothing is recorded and the
    run ends with the job cancelled (without the cancel it could not end before the test's timeout)."""
    import threading
    import time

    archive, ids = filled
    painting = archive.get(ids[2])
    params = {"method": "optimize", "style": str(archive.store.local_path(painting.sha256)), "steps": 100_000,
              "size": 64, "optimizer": "adam"}
    [job_id] = jobs.submit(archive, [ids[0]], "stylize", params, user="ana")
    seen: list[dict] = []
    summary = []
    runner = threading.Thread(target=lambda: summary.append(jobs.run_jobs(
        archive, job_ids=[job_id], backend="local", workers=1, threads=1, on_progress=seen.append)))
    runner.start()
    deadline = time.monotonic() + 600
    while not any(e["progress"] > 0 for e in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert jobs.get_job(archive, job_id)["status"] == "running", seen[-1:]
    assert jobs.cancel(archive, job_id)
    runner.join(timeout=300)
    assert not runner.is_alive()
    assert summary[0].cancelled == 1 and summary[0].done == 0
    assert jobs.get_job(archive, job_id)["status"] == "cancelled" and derivatives(archive) == []
    assert seen[-1]["status"] == "cancelled" and archive.store.read_note(f"cancel/{job_id}") is None
    assert not jobs.cancel(archive, job_id)  # it has ended


def test_a_run_held_by_a_live_client_is_refused_and_a_stale_one_taken_over(filled):
    """The lease: another host's client that renewed it lately keeps the run; one silent for longer than
    LEASE_S has died (the network or the machine) and the run is taken over."""
    import time

    from daguerre.archive.catalogue import Run
    from daguerre.jobs import table

    archive, ids = filled
    run_id = jobs.create_run(archive, "film", {})
    jobs.submit(archive, ids, "film", {}, run_id=run_id)
    with archive.session.begin() as s:
        s.execute(update(Run).values(owner="elsewhere:4242:abcd", heartbeat=time.time() - 5))
        s.execute(update(Job).where(Job.item_id == ids[0]).values(status="running"))
    assert jobs.get_run(archive, run_id)["running_in"] == "process 4242 on elsewhere"
    with pytest.raises(jobs.RunBusy, match=f"run {run_id} is still running in process 4242 on elsewhere"):
        jobs.run_jobs(archive, run_id, backend="inline")
    assert jobs.mark_interrupted(archive) == 0  # a web server starting leaves the live run's jobs alone
    assert {j["status"] for j in jobs.list_jobs(archive, run_id=run_id)} == {"queued", "running"}
    with archive.session.begin() as s:
        s.execute(update(Run).values(heartbeat=time.time() - table.LEASE_S - 1))
    assert jobs.get_run(archive, run_id)["running_in"] is None
    summary = jobs.run_jobs(archive, run_id, backend="inline")
    assert (summary.done, summary.failed) == (4, 0)
    run = jobs.get_run(archive, run_id)
    assert run["counts"]["done"] == 4 and run["finished_at"]
    with archive.session() as s:
        assert s.scalar(select(Run.owner)) is None  # released at the end


def test_a_batch_queues_every_match_page_by_page(filled):
    """`submit_matching` reads the matches in keyset pages: a page size of 3 over 4 masters queues each once."""
    archive, ids = filled
    run_id = jobs.create_run(archive, "film", {})
    assert jobs.submit_matching(archive, run_id, "", {"kind": "master"}, page=3) == 4
    assert sorted(j["item_id"] for j in jobs.list_jobs(archive, run_id=run_id)) == sorted(ids)
    other = jobs.create_run(archive, "film", {})
    assert jobs.submit_matching(archive, other, "astronaut", {"kind": "master"}, page=1) == 1


def test_results_are_recorded_together_and_a_clash_keeps_out_only_its_own(filled):
    """`record` writes several results in one transaction; a result whose derivative is already stored is
    reported, and the others are still recorded."""
    from types import SimpleNamespace

    from daguerre.archive import derive
    from daguerre.jobs.runner import record
    from daguerre.jobs.worker import run_job

    archive, ids = filled
    items = [ids[0], ids[1], ids[2]]
    job_ids = jobs.submit(archive, items, "film", {"preset": "sepia"})
    results = []
    for job_id, item_id in zip(job_ids, items, strict=True):
        task = derive.plan(archive, "film", archive.get(item_id), {"preset": "sepia"}, 0, False, event_id=job_id)
        task |= {"job_id": job_id, "store": archive.store.url, "keys": str(archive.path / "keys")}
        results.append((SimpleNamespace(id=job_id, item_id=item_id), task, run_job(task)))
    results[2] = (results[2][0], results[2][1], results[0][2])  # the third claims the first one's file
    errors = record(archive, results)
    assert errors[:2] == [None, None] and "already stored" in errors[2]
    assert sorted(d.parent_id for d in derivatives(archive)) == sorted(ids[:2])
    assert [jobs.get_job(archive, j)["status"] for j in job_ids] == ["done", "done", "queued"]
    assert archive.store.notes("jobs") == [f"jobs/{job_ids[2]}"]  # kept: its own file may still be recorded


def test_a_run_on_a_memory_store_runs_in_this_process(tmp_path, photos):
    """A worker process sees a memory:// store of its own, empty: every job of a run with workers failed with
    'object ... is missing from the store memory://...'. Such a run is run in this process instead."""
    import uuid

    with Archive.init(tmp_path / "m", store_url=f"memory://jobs-{uuid.uuid4().hex}") as archive:
        ids = archive.ingest([photos["astronaut.jpg"], photos["coffee.jpg"]]).added
        run_id = jobs.create_run(archive, "film", {})
        jobs.submit(archive, ids, "film", {}, run_id=run_id)
        summary = jobs.run_jobs(archive, run_id, workers=1)
        assert (summary.done, summary.failed) == (2, 0), summary.errors
        made = [it for it in archive.items(kind="derivative") if it.operation == "film"]
        assert sorted(it.parent_id for it in made) == sorted(ids) and archive.fixity().ok


def test_a_damaged_stored_file_is_named_by_its_item_not_by_a_temporary_copy(filled):
    """A master whose stored file was damaged failed with '/tmp/tmpab12cd/x.png: truncated or corrupt image
    data': a temporary copy's path (and `archive apply` named no item at all)."""
    archive, ids = filled
    path = archive.store.local_path(archive.get(ids[0]).sha256)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ArchiveError) as refused:
        archive.apply("film", [ids[0]], {})
    assert f"failed: {ids[0]}: its stored file cannot be read: truncated or corrupt" in str(refused.value)
    run_id = jobs.create_run(archive, "film", {})
    jobs.submit(archive, ids[:2], "film", {}, run_id=run_id)
    summary = jobs.run_jobs(archive, run_id, workers=1)
    assert summary.done == 1 and [(i, m.split(":")[0]) for i, m in summary.errors] == [(ids[0], ids[0])]
    assert "/tmp" not in summary.errors[0][1]
