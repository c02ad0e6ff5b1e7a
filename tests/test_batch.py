"""`daguerre archive batch` end to end: a client killed with SIGKILL and resumed, a real Dask scheduler with two
workers (one killed mid-run), and a LocalCluster; every item ends with exactly one derivative of the run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

import daguerre
from daguerre import jobs
from daguerre.archive import Archive
from daguerre.archive.catalogue import Item

SRC = str(Path(daguerre.__file__).parents[1])
BIN = Path(sys.executable).parent


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", **extra}


def cli(archive: Archive, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "daguerre"), "archive", *args, "-A", str(archive.path)], env=env(**extra),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(params=["sqlite"])
def catalogue_url(request: pytest.FixtureRequest) -> None:
    """These end-to-end tests run on SQLite (test_jobs.py runs the runner on both); one below on PostgreSQL."""
    return None


@pytest.fixture
def filled(archive: Archive, photos) -> Archive:
    archive.ingest([photos["astronaut.jpg"].parent])
    return archive


def check_run(archive: Archive, run_id: str) -> None:
    """Every master has exactly one derivative from the run, and the store holds nothing unrecorded."""
    run_jobs = jobs.list_jobs(archive, run_id=run_id)
    assert {j["status"] for j in run_jobs} == {"done"}
    with archive.session() as s:
        masters = set(s.scalars(select(Item.id).where(Item.kind == "master")))
        made = list(s.scalars(select(Item).where(Item.event_id.in_([j["id"] for j in run_jobs]))))
        stored = list(s.scalars(select(Item.sha256)))
    assert sorted(m.parent_id for m in made) == sorted(masters)
    assert set(archive.store.objects()) == set(stored)
    assert archive.store.notes("jobs") == []  # every worker's result note removed once recorded
    assert archive.fixity().ok


def kill_and_resume(archive: Archive, crash_at: str) -> None:
    killed = cli(archive, "batch", "film", "--param", "preset=sepia", "--workers", "1",
                 DAGUERRE_ARCHIVE_CRASH_AT=crash_at)
    assert killed.returncode == -signal.SIGKILL
    run_id = killed.stdout.split()[1].rstrip(":")
    listed = cli(archive, "runs")
    done, pending = (int(listed.stdout.split(word)[1].split()[0]) for word in ("done", "pending"))
    assert listed.stdout.startswith(run_id) and done + pending == 4  # results are recorded several at a time
    assert "  interrupted  " in listed.stdout  # `runs RUN` did not say whether the run was running or not
    assert f"run {run_id}: interrupted: continue it with `archive batch film --resume {run_id}`" in \
        cli(archive, "runs", run_id).stdout
    resumed = cli(archive, "batch", "film", "--resume", run_id[:8], "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "4 done, 0 failed, 0 pending" in resumed.stdout
    assert "  finished  " in cli(archive, "runs").stdout and f"run {run_id}: finished 20" in \
        cli(archive, "runs", run_id).stdout
    check_run(archive, run_id)


@pytest.mark.parametrize("crash_at", ["runner:before-record", "runner:recorded"])
def test_client_killed_then_resumed_loses_nothing_and_does_nothing_twice(filled, crash_at):
    kill_and_resume(filled, crash_at)


def test_client_killed_then_resumed_on_postgresql(postgres, tmp_path: Path, photos):
    archive = Archive.init(tmp_path / "pg", catalogue_url=postgres.create_database(f"t{uuid.uuid4().hex[:12]}"))
    archive.ingest([photos["astronaut.jpg"].parent])
    try:
        kill_and_resume(archive, "runner:recorded")
    finally:
        archive.close()


def test_a_client_killed_while_queueing_is_resumed_over_the_whole_selection(filled):
    """Items are queued a page at a time; a client killed between pages left a run of the first pages only, and
    `--resume` ran those and called the run finished: the rest of the selection was never derived."""
    code = ("import sys; from daguerre.archive import Archive; from daguerre import jobs; "
            "a = Archive.open(sys.argv[1]); r = jobs.create_run(a, 'film', {}); print(r, flush=True); "
            "jobs.take_lease(a, r); jobs.submit_matching(a, r, '', {'kind': 'master'}, page=1)")
    killed = subprocess.run([sys.executable, "-c", code, str(filled.path)], capture_output=True, text=True,
                            env=env(DAGUERRE_ARCHIVE_CRASH_AT="jobs:queued-page"), timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_id = killed.stdout.strip()
    assert len(jobs.list_jobs(filled, run_id=run_id)) == 1  # killed after its first page
    resumed = cli(filled, "batch", "film", "--resume", run_id, "--workers", "0")
    assert resumed.returncode == 0, resumed.stderr
    assert "queued the 3 matching items" in resumed.stdout and "4 done, 0 failed, 0 pending" in resumed.stdout
    check_run(filled, run_id)
    assert filled.store.notes("queueing") == []


def test_ctrl_c_while_queueing_says_how_to_resume(filled, monkeypatch):
    """Ctrl-C while items were queued ended with Click's bare 'Aborted!': no word of the run or of --resume."""
    from typer.testing import CliRunner

    from daguerre.cli import app
    from daguerre.jobs import table

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(table, "_queue_matching", interrupted)
    stopped = CliRunner().invoke(app, ["archive", "batch", "film", "--workers", "0", "-A", str(filled.path)])
    run_id = stopped.output.split()[1].rstrip(":")
    assert stopped.exit_code == 130, stopped.output
    assert f"run {run_id} interrupted while its items were queued; continue it with --resume {run_id}" in \
        " ".join(stopped.output.split())
    monkeypatch.undo()
    resumed = cli(filled, "batch", "film", "--resume", run_id, "--workers", "0")
    assert "4 done, 0 failed, 0 pending" in resumed.stdout, resumed.stderr


def test_ctrl_c_while_running_records_what_had_finished(filled, monkeypatch):
    """Results waiting for their transaction (their notes in the store) stayed unrecorded after Ctrl-C, so
    `archive runs` said 0 done until --resume. Here Ctrl-C comes once two results are waiting."""
    from typer.testing import CliRunner

    from daguerre.cli import app
    from daguerre.jobs import runner

    finished = []

    def wait_then_ctrl_c(futures, **kwargs):
        if len(finished) >= 2:
            raise KeyboardInterrupt
        done, pending = real_wait(futures, **kwargs)
        finished.extend(done)
        return done, pending

    real_wait = runner.wait
    monkeypatch.setattr(runner, "wait", wait_then_ctrl_c)
    monkeypatch.setattr(runner, "RECORD_WAIT_S", 3600.0)  # nothing is recorded before the end of the run
    stopped = CliRunner().invoke(app, ["archive", "batch", "film", "--workers", "0", "-A", str(filled.path)])
    monkeypatch.undo()
    assert stopped.exit_code == 130, stopped.output
    run_id = stopped.output.split()[1].rstrip(":")
    counts = jobs.get_run(filled, run_id)["counts"]
    assert counts["done"] >= 2 and counts["done"] + counts["queued"] + counts["running"] == 4
    assert f"run {run_id} interrupted ({counts['done']} finished results recorded); continue it with --resume " \
           f"{run_id}" in " ".join(stopped.output.split())
    resumed = cli(filled, "batch", "film", "--resume", run_id, "--workers", "0")
    assert "4 done, 0 failed, 0 pending" in resumed.stdout, resumed.stderr  # the rest recorded or run, once
    check_run(filled, run_id)


def stop_between_writes(process: subprocess.Popen, catalogue: Path) -> None:
    """SIGSTOP `process` outside a write to the SQLite `catalogue`: stopped inside one it would hold the lock
    and every other client wait on it (as after Ctrl-Z at that moment), which is not what the test is about."""
    import sqlite3

    for _ in range(200):
        os.kill(process.pid, signal.SIGSTOP)
        db = sqlite3.connect(catalogue, timeout=0.5, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:  # locked by the stopped process: let it finish the write
            os.kill(process.pid, signal.SIGCONT)
            time.sleep(0.02)
        finally:
            db.close()
    raise AssertionError("the first client never left the catalogue unlocked")


def test_resume_refuses_a_live_run_and_takes_over_a_killed_one(filled):
    """A second client may not run a run whose client is alive (here stopped, not dead: a lease of an hour keeps
    it live however slow this machine is); once that client is killed, the run is taken over at once and
    finished, every item once."""
    hour = {"DAGUERRE_RUN_LEASE_S": "3600"}
    first = subprocess.Popen([str(BIN / "daguerre"), "archive", "batch", "film", "--workers", "1", "-A",
                              str(filled.path)], env=env(**hour), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    try:
        run_id = first.stdout.readline().split()[1].rstrip(":")  # printed once the run has its lease
        stop_between_writes(first, filled.path / "catalogue.sqlite")
        assert "  running  " in cli(filled, "runs", **hour).stdout
        assert f"run {run_id}: running in process {first.pid} on " in cli(filled, "runs", run_id, **hour).stdout
        refused = cli(filled, "batch", "film", "--resume", run_id, **hour)
        assert refused.returncode == 1 and "0 done" not in refused.stdout
        [message] = [line for line in refused.stderr.splitlines() if line.strip()]
        assert f"run {run_id} is still running in process {first.pid}" in message
    finally:
        first.kill()
        first.wait(30)
    taken = cli(filled, "batch", "film", "--resume", run_id)
    assert taken.returncode == 0, taken.stderr
    assert "4 done, 0 failed, 0 pending" in taken.stdout
    check_run(filled, run_id)


def test_failures_are_listed_and_resume_refuses_another_operation(filled):
    unknown = cli(filled, "batch", "film", "--param", "preset=nosuch", "--workers", "0")
    assert unknown.returncode == 1 and "unknown film preset 'nosuch'" in unknown.stderr
    assert "run " not in unknown.stdout and cli(filled, "runs").stdout.strip() == ""  # refused before a run
    grey = next(i for i in filled.items() if i.filename == "camera.png")
    bad = cli(filled, "batch", "colorize", "--param", f"reference={grey.id}", "--param", "render_size=64",
              "--workers", "0", "--where", "astronaut")  # a grey reference: refused when the job runs
    assert bad.returncode == 1
    run_id = bad.stdout.split()[1].rstrip(":")
    assert "0 done, 1 failed" in bad.stdout and "grey" in bad.stderr
    failures = cli(filled, "runs", run_id)
    assert "the reference is grey: it has no colour to carry over" in failures.stdout
    assert f"--resume {run_id} --retry-failed` runs its failed jobs again" in failures.stdout
    wrong = cli(filled, "batch", "restore", "--resume", run_id)
    assert wrong.returncode == 1 and "is a colorize run" in wrong.stderr
    for other in (("--param", "render_size=96"), ("--where", "moon")):  # were ignored without a word
        refused = cli(filled, "batch", "colorize", "--resume", run_id, *other)
        assert refused.returncode == 1 and "drop --where and --param" in refused.stderr, refused.stderr
        assert "resuming" not in refused.stdout


def test_retry_failed_runs_the_failed_jobs_again_and_nothing_done(filled):
    """A store hiccup failed an item; `--resume` ran only queued jobs, so the run could never be finished."""
    master = filled.search("moon")[0]
    stored = filled.store.local_path(master.sha256)
    aside = stored.with_name("aside")
    stored.rename(aside)  # the hiccup: the master's file is unreadable for this run
    first = cli(filled, "batch", "film", "--workers", "0")
    assert first.returncode == 1 and "3 done, 1 failed, 0 pending" in first.stdout, first.stderr
    run_id = first.stdout.split()[1].rstrip(":")
    done_before = {j["id"]: j for j in jobs.list_jobs(filled, status="done", run_id=run_id)}
    assert "  finished  " in cli(filled, "runs").stdout
    alone = cli(filled, "batch", "film", "--retry-failed")
    assert alone.returncode == 1 and "--retry-failed goes with --resume RUN" in alone.stderr
    aside.rename(stored)
    plain = cli(filled, "batch", "film", "--resume", run_id, "--workers", "0")
    assert "3 done, 1 failed, 0 pending" in plain.stdout, plain.stderr  # a plain resume leaves failures alone
    retried = cli(filled, "batch", "film", "--resume", run_id, "--retry-failed", "--workers", "0")
    assert retried.returncode == 0, retried.stderr
    assert f"run {run_id}: 1 failed job queued again" in retried.stdout
    assert "4 done, 0 failed, 0 pending; this session 1 in" in retried.stdout
    check_run(filled, run_id)
    assert all(jobs.get_job(filled, i) == j for i, j in done_before.items())  # nothing done was redone
    [again] = [j for j in jobs.list_jobs(filled, run_id=run_id) if j["item_id"] == master.id]
    assert again["error"] is None and "  finished  " in cli(filled, "runs").stdout


def test_an_item_withdrawn_while_queued_fails_in_one_line_naming_it_once(filled):
    """`failed: ID: ID: is withdrawn` named the item twice."""
    master = filled.search("moon")[0]
    run_id = jobs.create_run(filled, "film", {})
    jobs.submit(filled, [master.id], "film", {}, run_id=run_id)
    filled.withdraw(master.id, "a duplicate", force=True)
    resumed = cli(filled, "batch", "film", "--resume", run_id, "--workers", "0")
    assert resumed.returncode == 1
    assert f"failed: {master.id}: is withdrawn; nothing is derived from withdrawn items" in resumed.stderr
    assert resumed.stderr.count(master.id) == 1


def test_a_batch_reference_may_be_an_item_as_with_apply(filled):
    """`archive batch colorize -p reference=ITEM`: the item's stored file is the reference (its sha256 in the
    derivative's recipe); an unknown item is refused in one line before any run is made."""
    items = {i.filename: i for i in filled.items()}
    colour = items["coffee.jpg"]
    done = cli(filled, "batch", "colorize", "--param", f"reference={colour.id[:6]}", "--param", "render_size=64",
               "--workers", "0", "--where", "astronaut")
    assert done.returncode == 0, done.stderr
    [job] = jobs.list_jobs(filled, run_id=done.stdout.split()[1].rstrip(":"))
    [made] = [i for i in filled.items(kind="derivative") if i.event_id == job["id"]]
    [event] = [e for e in filled.events_of(made.id) if e.type == "creation"]
    assert colour.sha256 in event.outcome_detail["recipe"]["input_files"].values()
    refused = cli(filled, "batch", "colorize", "--param", "reference=beef", "--workers", "0")
    assert refused.returncode == 1 and "beef: no such item" in refused.stderr and "run " not in refused.stdout
    for where, said in (("date_from:banana", "date_from 'banana': give a year"), ("kind:banana", "kind 'banana'"),
                        ("date_too:1900", "date_too: is not a filter (use date_from:"),  # ran on 0 items
                        ("creator:Studio", "creator: is not a filter")):
        refused = cli(filled, "batch", "film", "--where", where, "--workers", "0")
        assert refused.returncode == 1 and said in refused.stderr and "run " not in refused.stdout, refused.stderr


def test_a_selection_that_matches_nothing_makes_no_run(filled):
    """A --where that matched nothing made a run 'on 0 items' that stayed in `archive runs` for good."""
    refused = cli(filled, "batch", "film", "--where", "zeppelin", "--workers", "0")
    assert refused.returncode == 1 and "nothing matches 'zeppelin': no run made" in refused.stderr, refused.stderr
    assert jobs.list_runs(filled) == [] and "run " not in refused.stdout


def test_bad_workers_or_cluster_make_no_run_and_an_unreachable_scheduler_says_how_to_resume(filled):
    """`--workers -1` and `--cluster bogus` made a run, then stopped on a Python ValueError; a scheduler that did
    not answer gave an OSError. Each is now one line: the first two before any run is made, the last naming the
    run kept and how to continue it."""
    for args, words in ((["--workers", "-1"], "--workers -1: give 0 (in this process) or more"),
                        (["--cluster", "bogus"], "--cluster bogus: give 'local' or a Dask scheduler address")):
        refused = cli(filled, "batch", "film", *args)
        assert refused.returncode == 1 and words in refused.stderr, refused.stderr
        assert refused.stderr.strip().count("\n") == 0 and "Error" not in refused.stderr
    assert jobs.list_runs(filled) == []
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    refused = cli(filled, "batch", "film", "--cluster", address)
    [run] = jobs.list_runs(filled)
    assert refused.returncode == 1 and f"cannot reach the Dask scheduler {address}" in refused.stderr, refused.stderr
    assert f"continue it with --resume {run['id']}" in refused.stderr and "OSError" not in refused.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path: Path):
    """A real `dask scheduler` and two `dask worker` processes on loopback; the second dies at its first job."""
    pytest.importorskip("distributed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env(), cwd=tmp_path, stderr=subprocess.DEVNULL)]
    common = ["--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "60"]
    procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, *common], env=env(), cwd=tmp_path,
                                  stderr=subprocess.DEVNULL))
    procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, *common, "--no-nanny"], cwd=tmp_path,
                                  env=env(DAGUERRE_ARCHIVE_CRASH_AT="derive:signed"), stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    yield address, procs[2]
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            p.wait(30)


def test_dask_scheduler_with_a_worker_killed_mid_run(filled, dask_cluster, photos):
    address, doomed = dask_cluster
    filled.ingest([Path(daguerre.__file__).parent / "samples"])  # 8 masters: both workers get some
    done = cli(filled, "batch", "film", "--param", "preset=cyanotype", "--cluster", address)
    assert done.returncode == 0, done.stderr
    assert doomed.poll() == -signal.SIGKILL  # the worker died during a job; the scheduler gave it to the other
    run_id = done.stdout.split()[1].rstrip(":")
    assert "8 done, 0 failed, 0 pending" in done.stdout
    check_run(filled, run_id)


def test_dask_local_cluster(filled):
    pytest.importorskip("distributed")
    run_id = jobs.create_run(filled, "film", {})
    jobs.submit(filled, [it.id for it in filled.items()], "film", {}, run_id=run_id)
    start = time.perf_counter()
    summary = jobs.run_jobs(filled, run_id, cluster="local", workers=2)
    assert (summary.done, summary.failed) == (4, 0) and summary.seconds <= time.perf_counter() - start
    check_run(filled, run_id)


def test_dask_local_cluster_with_workers_0_still_runs(filled):
    """`--workers 0` means "in this process" without a cluster; with `--cluster local` it made a LocalCluster of
    no workers and the run waited for ever. It gets one worker."""
    pytest.importorskip("distributed")
    try:
        done = subprocess.run([str(BIN / "daguerre"), "archive", "batch", "film", "--where", "moon", "--workers",
                               "0", "--cluster", "local", "-A", str(filled.path)], env=env(), capture_output=True,
                              text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("the run never ended")
    assert done.returncode == 0 and "1 done, 0 failed, 0 pending" in done.stdout, done.stderr
    shown = " ".join(cli(filled, "batch", "--help").stdout.split())
    assert "Worker processes (0: in this process); with --cluster local, the LocalCluster's workers" in shown
