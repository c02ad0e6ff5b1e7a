"""The runner: plans jobs, sends them to workers (in-process, a local process pool or Dask), records results.

This process (the client) is the only catalogue writer, and holds the run's lease while it runs it (a second
client refuses a live run and takes over a dead one). It claims jobs (queued -> running), plans them, and
records the workers' results (derivative rows + signed events + jobs done) several at a time: one transaction
per `RECORD_EVERY` results or per `RECORD_WAIT_S`, whichever comes first. A run killed at any moment resumes
with nothing done twice: a job whose derivative is recorded is done; a job whose worker left a result note and
file (results waiting for their transaction included) is recorded from them; others run again. Jobs are read
from the catalogue a page at a time, so a run of millions uses bounded memory.
"""

from __future__ import annotations

import os
import queue
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from daguerre.archive.catalogue import Item, Job, Run, now
from daguerre.archive.errors import ArchiveError, crashpoint
from daguerre.jobs import table, training
from daguerre.jobs.table import INTERRUPTED, cancel_note

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

MAX_ATTEMPTS = 3  # a job whose worker dies this many times fails
RECORD_EVERY = 64  # results written in one catalogue transaction at most...
RECORD_WAIT_S = 1.0  # ... and no result waits longer than this for its transaction
HEARTBEAT_S = 10.0  # how often the client renews its lease on the run (`table.LEASE_S` ends it)
PAGE = 1000  # jobs read from the catalogue at a time
Progress = Callable[[dict], None]


CANCELLED = "cancelled"  # what `record` says of a result whose job was cancelled meanwhile


@dataclass
class RunSummary:
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (item id, message)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run after ``recorded`` finished results were written to the catalogue."""

    def __init__(self, recorded: int) -> None:
        super().__init__(recorded)
        self.recorded = recorded


def _derived(made: dict, task: dict) -> bool:
    """A worker's answer that is a derivative to record (not an error, a cancellation or a training job)."""
    return "error" not in made and not made.get("cancelled") and "training" not in task


def threads_per_worker(workers: int) -> int:
    """Compute threads for each of ``workers`` processes so that together they use the cores once."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _selection(run_id: str | None, job_ids: list[str] | None):
    if run_id is not None:
        return (Job.run_id == run_id, or_(Job.status.in_(("queued", "running")),
                                          (Job.status == "failed") & Job.error.startswith(INTERRUPTED)))
    return (Job.status == "queued", *(() if job_ids is None else (Job.id.in_(job_ids),)))


def _count(archive: Archive, run_id: str | None, job_ids: list[str] | None) -> int:
    with archive.session() as s:
        return s.scalar(select(func.count()).select_from(Job).where(*_selection(run_id, job_ids)))


def _candidates(archive: Archive, run_id: str | None, job_ids: list[str] | None) -> Iterator[Row]:
    """The jobs to run, as light rows read a page at a time (keyset on the job key)."""
    after = 0
    while True:
        q = (select(Job.pk, Job.id, Job.item_id, Job.operation, Job.params, Job.status)
             .where(Job.pk > after, *_selection(run_id, job_ids)).order_by(Job.pk).limit(PAGE))
        with archive.session() as s:
            page = list(s.execute(q))
        if not page:
            return
        yield from page
        after = page[-1].pk


def _set(archive: Archive, job_id: str, only_if: tuple[str, ...] | None = None, **values: Any) -> bool:
    q = update(Job).where(Job.id == job_id)
    if only_if:
        q = q.where(Job.status.in_(only_if))
    with archive.session.begin() as s:
        return s.execute(q.values(**values)).rowcount == 1


def _claim(archive: Archive, job_list: list[Row]) -> list[Row]:
    """Mark queued jobs running, in one transaction; returns those claimed (others were cancelled or taken)."""
    if not job_list:
        return []
    q = update(Job).where(Job.id == bindparam("jid"), Job.status == "queued")
    started, claimed = now(), []
    with archive.session.begin() as s:
        for job in job_list:
            if s.execute(q.values(status="running", progress=0.0, started_at=started), {"jid": job.id}).rowcount:
                claimed.append(job)
    return claimed


def _progress(archive: Archive, fractions: dict[str, float]) -> None:
    q = update(Job).where(Job.id == bindparam("jid"), Job.status == "running").values(progress=bindparam("p"))
    with archive.session.begin() as s:
        s.connection().execute(q, [{"jid": j, "p": round(f, 4)} for j, f in fractions.items()])


def record(archive: Archive, results: list[tuple[Row, dict, dict]]) -> list[str | None]:
    """Write derivatives, their events and their jobs' ends, all in one transaction; per result, None, `CANCELLED`
    (the job was cancelled while its worker finished: nothing is recorded) or the error that kept it out (a batch
    with a clash is written again one result at a time to find it)."""
    from daguerre.archive import derive

    if not results:
        return []
    crashpoint("runner:before-record")
    with archive.session() as s:
        parents = {p.id: p for p in s.scalars(select(Item).where(Item.id.in_({j.item_id for j, _, _ in results})))}
    rows = [derive.rows(archive, parents[job.item_id], task, made) for job, task, made in results]
    done = update(Job).where(Job.id == bindparam("jid"), Job.status != "cancelled").values(
        status="done", progress=1.0, error=None, derivative_id=bindparam("did"), finished_at=now())
    outcome: list[str | None] = [None] * len(results)
    try:
        with archive.session.begin() as s:
            for i, ((job, _, _), (item, event)) in enumerate(zip(results, rows, strict=True)):
                if s.execute(done, {"jid": job.id, "did": item.id}).rowcount == 1:
                    s.add_all([item, event])
                else:
                    outcome[i] = CANCELLED
            s.flush()
    except IntegrityError:
        if len(results) == 1:
            return [f"{rows[0][0].id}: the same derivative is already stored"]
        return [e for r in results for e in record(archive, [r])]
    crashpoint("runner:recorded")
    for job, _, _ in results:
        archive.store.remove_note(f"jobs/{job.id}")
    return outcome


def _record(archive: Archive, job: Row, task: dict, made: dict) -> str:
    """Record one result on its own; returns the derivative id."""
    [error] = record(archive, [(job, task, made)])
    if error:
        raise ArchiveError(f"job {job.id[:8]} was cancelled" if error is CANCELLED else error)
    return made["sha256"][:16]


def _sweep_notes(archive: Archive) -> None:
    """Remove the result notes of jobs that have ended (a client killed between a transaction and removing
    the notes leaves them); notes of jobs still to run or record, interrupted ones included, stay for them."""
    names = archive.store.notes("jobs")
    for first in range(0, len(names), PAGE):
        chunk = {n.split("/", 1)[1]: n for n in names[first:first + PAGE]}
        with archive.session() as s:
            ended = s.scalars(select(Job.id).where(Job.id.in_(chunk), Job.status.in_(("done", "failed", "cancelled")),
                                                   ~((Job.status == "failed") & Job.error.startswith(INTERRUPTED))))
            for job_id in list(ended):
                archive.store.remove_note(chunk[job_id])


def _reconcile(archive: Archive, job: Row) -> str:
    """A job a dead runner had started: 'done' if its result is (now) recorded, else 'queued' to run again."""
    with archive.session() as s:
        made_id = s.scalar(select(Item.id).where(Item.event_id == job.id))
    if made_id is None:
        note = archive.store.read_note(f"jobs/{job.id}")
        if note is not None and archive.store.exists(note["made"]["sha256"]):
            try:
                _record(archive, job, note["task"], note["made"])
                return "done"
            except ArchiveError:
                pass
        _set(archive, job.id, status="queued", progress=0.0, error=None, started_at=None, finished_at=None)
        return "queued"
    _set(archive, job.id, status="done", progress=1.0, error=None, derivative_id=made_id, finished_at=now())
    archive.store.remove_note(f"jobs/{job.id}")
    return "done"


class _Executor:
    """A concurrent.futures executor for the backend, rebuilt if a local worker process dies."""

    def __init__(self, backend: str, workers: int, cluster: str | None, threads: int) -> None:
        self.backend, self.workers, self.cluster, self.threads = backend, workers, cluster, threads
        self.slots = max(1, workers)  # jobs that can run at once
        self.progress: Any = None
        self.client = self.pool = None
        self.start()

    def start(self) -> None:
        if self.backend == "inline":
            from concurrent.futures import ThreadPoolExecutor

            self.progress = queue.Queue()
            self.pool = ThreadPoolExecutor(1)
        elif self.backend == "local":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            from daguerre.jobs.worker import init_local

            ctx = multiprocessing.get_context("spawn")  # fork after torch has started threads can hang
            self.progress = ctx.Queue()
            self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=init_local,
                                            initargs=(self.threads, self.progress))
        elif self.backend == "dask":
            from distributed import Client, LocalCluster

            if self.cluster in (None, "local"):
                import dask

                # no statistical profiler: it samples the computing thread's stack every 10 ms, taking the GIL
                # (see BENCHMARKS.md "Batch runs"; `dask worker` takes DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED)
                with dask.config.set({"distributed.worker.profile.enabled": False}):
                    # at least one worker: `--workers 0 --cluster local` made a cluster nothing ran on, for ever
                    self.local_cluster = LocalCluster(n_workers=max(1, self.workers), threads_per_worker=1,
                                                      processes=True, host="127.0.0.1", dashboard_address=None)
                self.client = Client(self.local_cluster)
            else:
                try:
                    self.client = Client(self.cluster, timeout="20s")
                except OSError as e:  # distributed's timeout or a refused connection
                    raise ClusterUnreachable(f"cannot reach the Dask scheduler {self.cluster}: {e}") from None
            self.pool = self.client.get_executor(pure=False)
            self.slots = max(1, sum(self.client.nthreads().values()))  # every thread of the cluster busy
        else:
            raise ArchiveError(f"unknown backend {self.backend!r} (use inline, local or dask)")

    def submit(self, task: dict) -> Future:
        from daguerre.jobs.worker import run_job

        if self.backend == "inline":
            return self.pool.submit(run_job, task, self.progress)
        return self.pool.submit(run_job, task)

    def restart(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.start()

    def drain(self) -> dict[str, float]:
        """The latest progress reported per job since the last call."""
        out: dict[str, float] = {}
        if self.progress is None:
            return out
        while True:
            try:
                job_id, fraction = self.progress.get_nowait()
            except (queue.Empty, OSError, EOFError, ValueError):
                return out
            out[job_id] = fraction

    def close(self) -> None:
        if self.backend == "dask":
            self.client.close()
            if getattr(self, "local_cluster", None) is not None:
                self.local_cluster.close()
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)


class ClusterUnreachable(ArchiveError):
    """The Dask scheduler a run was to use did not answer; the run's jobs stay queued."""


SCHEDULER = re.compile(r"(?:[a-z]+://)?(?:\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+):\d{1,5}")


def check_cluster(cluster: str | None) -> None:
    """An ArchiveError unless ``cluster`` is None, "local" or a scheduler address such as tcp://HOST:8786: said
    before a run is made, not when its first job is sent."""
    if cluster not in (None, "local") and not SCHEDULER.fullmatch(cluster):
        raise ArchiveError(f"--cluster {cluster}: give 'local' or a Dask scheduler address such as "
                           "tcp://HOST:8786")


def run_jobs(archive: Archive, run_id: str | None = None, job_ids: list[str] | None = None, backend: str = "local",
             workers: int = 1, cluster: str | None = None, on_progress: Progress | None = None,
             threads: int | None = None) -> RunSummary:
    """Run the queued jobs of a run (resuming it), or the given queued jobs, or every queued job.

    ``backend``: "inline" (this process, one job at a time: the web app), "local" (``workers`` processes)
    or "dask" (``cluster`` "local" for a LocalCluster on 127.0.0.1, or a scheduler address tcp://host:8786).
    An archive on a memory:// store runs inline whatever is asked: no other process can see that store.
    ``threads``: compute threads per worker (default: the cores shared out among local workers, 1 on Dask).
    ``on_progress`` gets ``{"job_id", "item_id", "status", "progress", "error", "done", "failed", "total"}``.
    """
    if cluster is not None:
        backend = "dask"
    if archive.store.in_process:  # a worker process would see an empty memory:// store of its own
        backend, cluster = "inline", None
    if run_id is not None:
        table.take_lease(archive, run_id)  # refuses a run another live client is running
        _sweep_notes(archive)
    try:
        return _run(archive, run_id, job_ids, backend, workers, cluster, on_progress, threads)
    finally:
        if run_id is not None:
            table.release_lease(archive, run_id)


def _run(archive: Archive, run_id: str | None, job_ids: list[str] | None, backend: str, workers: int,
         cluster: str | None, on_progress: Progress | None, threads: int | None) -> RunSummary:
    from daguerre.archive import derive

    start = time.perf_counter()
    summary = RunSummary(total=_count(archive, run_id, job_ids))
    candidates = _candidates(archive, run_id, job_ids)
    again: deque[Row] = deque()  # queued jobs to hand out before reading more: retries after a worker died
    keys_dir = str((archive.path / "keys").resolve())
    threads = threads or (threads_per_worker(workers) if backend == "local" else 1)

    def next_jobs(n: int) -> list[Row]:
        """Up to ``n`` jobs to run; a job a dead runner had started is first recorded from its result, if any."""
        out = [again.popleft() for _ in range(min(n, len(again)))]
        while len(out) < n and (job := next(candidates, None)) is not None:
            if job.status != "queued" and _reconcile(archive, job) == "done":
                summary.total -= 1
                continue
            out.append(job)
        return out

    def tell(job: Row, status: str, progress: float, error: str | None = None) -> None:
        if on_progress:
            on_progress({"job_id": job.id, "item_id": job.item_id, "status": status, "progress": progress,
                         "error": error, "done": summary.done, "failed": summary.failed, "total": summary.total})

    def fail(job: Row, message: str) -> None:
        summary.failed += 1
        summary.errors.append((job.item_id, message))
        _set(archive, job.id, only_if=("running",), status="failed", error=message, finished_at=now())
        tell(job, "failed", 0.0, message)

    waiting: list[tuple[Row, dict, dict]] = []  # finished results not yet in the catalogue (their notes are)
    oldest = 0.0

    def cancelled(job: Row) -> None:
        summary.cancelled += 1
        archive.store.remove_note(cancel_note(job.id))
        archive.store.remove_note(f"jobs/{job.id}")  # a result that came too late
        tell(job, "cancelled", 0.0)

    def finish_training(job: Row, task: dict) -> None:
        """Done, its colour bank installed; or cancelled at that moment, and nothing installed."""
        try:
            installed = training.finish(archive, job.id, task)
        except ArchiveError as e:
            training.discard(archive, job.id, task)
            fail(job, str(e))
            return
        if _set(archive, job.id, only_if=("running",), status="done", progress=1.0, finished_at=now()):
            summary.done += 1
            tell(job, "done", 1.0)
        else:
            if installed is not None:
                training.withdraw(installed)
            training.discard(archive, job.id, task)
            cancelled(job)

    def write_waiting() -> None:
        errors = record(archive, waiting)
        for (job, _, _), error in zip(waiting, errors, strict=True):
            if error is CANCELLED:
                cancelled(job)
            elif error:
                fail(job, error)
            else:
                summary.done += 1
                tell(job, "done", 1.0)
        waiting.clear()

    executor: _Executor | None = None
    inflight: dict[Future, tuple[Row, dict]] = {}
    attempts: dict[str, int] = {}
    beat = time.monotonic()
    try:
        while True:
            if executor is None:
                again.extend(next_jobs(1))
                if not again:
                    break
                executor = _Executor(backend, workers, cluster, threads)
            room = 2 * executor.slots - len(inflight)  # a second job queued behind each running one
            wanted = next_jobs(room) if room > 0 else []
            claimed = _claim(archive, wanted)
            summary.total -= len(wanted) - len(claimed)  # cancelled, or taken by another runner
            for job in claimed:
                params = dict(job.params)
                seed = int(params.pop("seed", 0))
                try:
                    if job.operation in training.TRAINING:
                        task = training.plan(archive, job.id, job.item_id, params, job.operation)
                    else:
                        task = derive.plan(archive, job.operation, archive.get(job.item_id), params, seed, False,
                                           event_id=job.id)
                except ArchiveError as e:
                    fail(job, str(e))
                    continue
                task |= {"job_id": job.id, "store": archive.store.url, "keys": keys_dir, "threads": threads}
                inflight[executor.submit(task)] = (job, task)
                tell(job, "running", 0.0)
            if not inflight and not again and not wanted:
                break
            finished, _ = wait(list(inflight), timeout=1.0, return_when=FIRST_COMPLETED)
            by_id = {j.id: j for j, _ in inflight.values()}
            if fractions := {k: v for k, v in executor.drain().items() if k in by_id}:
                _progress(archive, fractions)
                for job_id, fraction in fractions.items():
                    tell(by_id[job_id], "running", fraction)
            broken = False
            for future in finished:
                job, task = inflight.pop(future)
                try:
                    made = future.result()
                except Exception as e:  # a worker died (BrokenProcessPool, KilledWorker) or the task crashed
                    name = type(e).__name__
                    if name == "BrokenProcessPool":
                        broken = True
                        attempts[job.id] = attempts.get(job.id, 0) + 1
                        if attempts[job.id] < MAX_ATTEMPTS:
                            again.appendleft(job)
                            _set(archive, job.id, only_if=("running",), status="queued", started_at=None)
                            continue
                    fail(job, f"{name}: {' '.join(str(e).split())}"[:500])
                    continue
                if "error" in made or made.get("cancelled"):
                    if "training" in task:
                        training.discard(archive, job.id, task)
                    if "error" in made:
                        fail(job, made["error"])
                    else:
                        cancelled(job)
                    continue
                if "training" in task:
                    finish_training(job, task)
                    continue
                if not waiting:
                    oldest = time.monotonic()
                waiting.append((job, task, made))
            if waiting and (len(waiting) >= RECORD_EVERY or time.monotonic() - oldest >= RECORD_WAIT_S
                            or not inflight):
                write_waiting()
            if broken:
                executor.restart()
            if run_id is not None and time.monotonic() - beat > HEARTBEAT_S:
                if not table.renew_lease(archive, run_id):
                    raise ArchiveError(f"run {run_id} was taken over by another client; this one stops")
                beat = time.monotonic()
        write_waiting()
    except KeyboardInterrupt as e:  # record what has finished (one transaction) before giving the run up
        waiting.extend((job, task, f.result()) for f, (job, task) in inflight.items()
                       if f.done() and not f.cancelled() and f.exception() is None and _derived(f.result(), task))
        with archive.session() as s:  # a Ctrl-C after a transaction had committed: its results are in already
            running = set(s.scalars(select(Job.id).where(Job.id.in_([j.id for j, _, _ in waiting]),
                                                         Job.status == "running")))
        waiting[:] = [w for w in waiting if w[0].id in running]
        before = summary.done
        write_waiting()
        raise Interrupted(summary.done - before) from e
    finally:
        if executor is not None:
            executor.close()
    if run_id is not None:
        with archive.session.begin() as s:
            left = s.scalar(select(Job.id).where(Job.run_id == run_id, Job.status.in_(("queued", "running")))
                            .limit(1))
            if left is None:
                s.execute(update(Run).where(Run.id == run_id).values(finished_at=now()))
    summary.seconds = time.perf_counter() - start
    return summary
