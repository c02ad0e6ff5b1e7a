"""The runner: plans jobs, sends them to workers (in-process, a local process pool or Dask), records results.

This process (the client) is the only catalogue writer: per job it claims it (queued -> running), plans it,
and records the worker's result (derivative row + signed event + job done) in one transaction. Workers only
compute and store files. A run killed at any moment resumes with nothing done twice: a job whose derivative
is recorded is done; a job whose worker left a result note and file is recorded from them; others run again.
"""

from __future__ import annotations

import os
import queue
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, or_, select, update
from sqlalchemy.exc import IntegrityError

from daguerre.archive.catalogue import Item, Job, Run, now
from daguerre.archive.errors import ArchiveError, crashpoint
from daguerre.jobs import training
from daguerre.jobs.table import INTERRUPTED, cancel_note

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

MAX_ATTEMPTS = 3  # a job whose worker dies this many times fails
Progress = Callable[[dict], None]


class _Cancelled(Exception):
    pass


@dataclass
class RunSummary:
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (item id, message)


def threads_per_worker(workers: int) -> int:
    """Compute threads for each of ``workers`` processes so that together they use the cores once."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _candidates(archive: Archive, run_id: str | None, job_ids: list[str] | None) -> list[Row]:
    """The jobs to run, as light rows (a million ORM objects would not fit a small client)."""
    q = select(Job.id, Job.item_id, Job.operation, Job.params, Job.status).order_by(Job.pk)
    if run_id is not None:
        q = q.where(Job.run_id == run_id, or_(Job.status.in_(("queued", "running")),
                                              (Job.status == "failed") & Job.error.startswith(INTERRUPTED)))
    else:
        q = q.where(Job.status == "queued")
        if job_ids is not None:
            q = q.where(Job.id.in_(job_ids))
    with archive.session() as s:
        return list(s.execute(q))


def _set(archive: Archive, job_id: str, only_if: tuple[str, ...] | None = None, **values: Any) -> bool:
    q = update(Job).where(Job.id == job_id)
    if only_if:
        q = q.where(Job.status.in_(only_if))
    with archive.session.begin() as s:
        return s.execute(q.values(**values)).rowcount == 1


def _record(archive: Archive, job: Row, task: dict, made: dict) -> str:
    """Write the derivative, its event and the job's end in one transaction; returns the derivative id."""
    from daguerre.archive import derive

    crashpoint("runner:before-record")
    parent = archive.get(job.item_id)
    item, event = derive.rows(archive, parent, task, made)
    try:
        with archive.session.begin() as s:
            ended = s.execute(update(Job).where(Job.id == job.id, Job.status != "cancelled").values(
                status="done", progress=1.0, error=None, derivative_id=item.id, finished_at=now())).rowcount
            if ended != 1:  # cancelled while its worker finished: nothing is recorded
                raise _Cancelled(job.id)
            s.add_all([item, event])
            s.flush()
    except IntegrityError:
        raise ArchiveError(f"{item.id}: the same derivative is already stored") from None
    crashpoint("runner:recorded")
    archive.store.remove_note(f"jobs/{job.id}")
    return item.id


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
                self.local_cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                                  host="127.0.0.1", dashboard_address=None)
                self.client = Client(self.local_cluster)
            else:
                self.client = Client(self.cluster, timeout="20s")
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


def run_jobs(archive: Archive, run_id: str | None = None, job_ids: list[str] | None = None, backend: str = "local",
             workers: int = 1, cluster: str | None = None, on_progress: Progress | None = None,
             threads: int | None = None) -> RunSummary:
    """Run the queued jobs of a run (resuming it), or the given queued jobs, or every queued job.

    ``backend``: "inline" (this process, one job at a time: the web app), "local" (``workers`` processes)
    or "dask" (``cluster`` "local" for a LocalCluster on 127.0.0.1, or a scheduler address tcp://host:8786).
    ``threads``: compute threads per worker (default: the cores shared out among local workers, 1 on Dask).
    ``on_progress`` gets ``{"job_id", "item_id", "status", "progress", "error", "done", "failed", "total"}``.
    """
    from daguerre.archive import derive

    if cluster is not None:
        backend = "dask"
    start = time.perf_counter()
    summary = RunSummary()
    todo: deque[Row] = deque()
    for job in _candidates(archive, run_id, job_ids):
        if job.status != "queued" and _reconcile(archive, job) == "done":
            continue
        todo.append(job)
    summary.total = len(todo)
    keys_dir = str((archive.path / "keys").resolve())
    threads = threads or (threads_per_worker(workers) if backend == "local" else 1)

    def tell(job: Row, status: str, progress: float, error: str | None = None) -> None:
        if on_progress:
            on_progress({"job_id": job.id, "item_id": job.item_id, "status": status, "progress": progress,
                         "error": error, "done": summary.done, "failed": summary.failed, "total": summary.total})

    def fail(job: Row, message: str) -> None:
        summary.failed += 1
        summary.errors.append((job.item_id, message))
        _set(archive, job.id, only_if=("running",), status="failed", error=message, finished_at=now())
        tell(job, "failed", 0.0, message)

    executor = _Executor(backend, workers, cluster, threads) if todo else None
    inflight: dict[Future, tuple[Row, dict]] = {}
    attempts: dict[str, int] = {}
    try:
        while todo or inflight:
            while todo and len(inflight) < 2 * executor.slots:  # a second job queued behind each running one
                job = todo.popleft()
                if not _set(archive, job.id, only_if=("queued",), status="running", progress=0.0,
                            started_at=now()):
                    summary.total -= 1  # cancelled, or taken by another runner
                    continue
                params = dict(job.params)
                seed = int(params.pop("seed", 0))
                try:
                    if job.operation in training.TRAINING:
                        task = training.plan(archive, job.id, job.item_id, params)
                    else:
                        task = derive.plan(archive, job.operation, archive.get(job.item_id), params, seed, False,
                                           event_id=job.id)
                except ArchiveError as e:
                    fail(job, str(e))
                    continue
                task |= {"job_id": job.id, "store": archive.store.url, "keys": keys_dir, "threads": threads}
                inflight[executor.submit(task)] = (job, task)
                tell(job, "running", 0.0)
            finished, _ = wait(list(inflight), timeout=1.0, return_when=FIRST_COMPLETED)
            by_id = {j.id: j for j, _ in inflight.values()}
            for job_id, fraction in executor.drain().items():
                if job_id in by_id:
                    _set(archive, job_id, only_if=("running",), progress=round(fraction, 4))
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
                            todo.appendleft(job)
                            _set(archive, job.id, only_if=("running",), status="queued", started_at=None)
                            continue
                    fail(job, f"{name}: {' '.join(str(e).split())}"[:500])
                    continue
                if "error" in made:
                    fail(job, made["error"])
                    continue
                try:
                    if made.get("cancelled"):
                        raise _Cancelled(job.id)
                    if "training" in task:
                        if not _set(archive, job.id, only_if=("running",), status="done", progress=1.0,
                                    finished_at=now()):
                            raise _Cancelled(job.id)
                    else:
                        _record(archive, job, task, made)
                except ArchiveError as e:
                    fail(job, str(e))
                    continue
                except _Cancelled:
                    summary.cancelled += 1
                    archive.store.remove_note(cancel_note(job.id))
                    archive.store.remove_note(f"jobs/{job.id}")  # a result that came too late
                    tell(job, "cancelled", 0.0)
                    continue
                summary.done += 1
                tell(job, "done", 1.0)
            if broken:
                executor.restart()
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
