"""The job table: runs and jobs in the catalogue, shared by batch runs and the web app."""

from __future__ import annotations

import os
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, or_, select, update

from daguerre.archive.catalogue import Item, Job, Run, now
from daguerre.archive.errors import ArchiveError, crashpoint
from daguerre.archive.store import pid_alive

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

STATUSES = ("queued", "running", "done", "failed", "cancelled")
INTERRUPTED = "interrupted: "  # error prefix of jobs whose runner died; a resumed run does them again
CHUNK = 1000
# a run whose client has not renewed its lease for this long is taken over (its host or network died, or it hangs)
LEASE_S = float(os.environ.get("DAGUERRE_RUN_LEASE_S", "60"))
_TOKEN = secrets.token_hex(4)  # tells this process from an earlier one that had the same pid


class RunBusy(ArchiveError):
    """The run is being run by another client that is still alive."""


def client_tag() -> str:
    """Who holds a run's lease: ``host:pid:token`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"


def lease_holder(owner: str | None, heartbeat: float | None) -> str | None:
    """The live client other than this one holding a lease, as ``process PID on HOST``, or None.

    A lease is live while it is renewed (within `LEASE_S`); on this host its process must also still exist,
    so that a client killed with SIGKILL can be resumed at once.
    """
    if not owner or owner == client_tag() or heartbeat is None or time.time() - heartbeat > LEASE_S:
        return None
    host, pid, _ = owner.rsplit(":", 2)
    if host == socket.gethostname() and not pid_alive(int(pid)):
        return None
    return f"process {pid} on {host}"


def take_lease(archive: Archive, run_id: str) -> None:
    """Make this process the run's only client; raises `RunBusy` if another live client has it."""
    with archive.session.begin() as s:
        run = s.scalar(select(Run).where(Run.id == run_id).with_for_update())
        if run is None:
            raise ArchiveError(f"{run_id}: no such run")
        if holder := lease_holder(run.owner, run.heartbeat):
            raise RunBusy(f"run {run_id} is still running in {holder} (lease renewed "
                          f"{time.time() - run.heartbeat:.0f} s ago): let it finish or stop it, then resume")
        run.owner, run.heartbeat = client_tag(), time.time()


def renew_lease(archive: Archive, run_id: str) -> bool:
    """Renew this process's lease; False if another client has taken the run over."""
    with archive.session.begin() as s:
        return s.execute(update(Run).where(Run.id == run_id, Run.owner == client_tag())
                         .values(heartbeat=time.time())).rowcount == 1


def release_lease(archive: Archive, run_id: str) -> None:
    with archive.session.begin() as s:
        s.execute(update(Run).where(Run.id == run_id, Run.owner == client_tag()).values(owner=None, heartbeat=None))


def create_run(archive: Archive, operation: str, params: dict, query: str = "", backend: str = "local", *,
               user: str | None = None) -> str:
    """A new run (one operation, one set of parameters); returns its id, 12 hexadecimal digits."""
    from daguerre.archive.derive import checked_operation

    checked_operation(operation, params)
    run_id = uuid.uuid4().hex[:12]
    with archive.session.begin() as s:
        s.add(Run(id=run_id, operation=operation, params=params, query=query, backend=backend, created_by=user,
                  created_at=now()))
    return run_id


def submit(archive: Archive, item_refs: Iterable[str], operation: str, params: dict, *, user: str | None = None,
           run_id: str | None = None) -> list[str]:
    """Queue ``operation`` on each item (ids, unique prefixes or SHA-256); returns the job ids in order."""
    from daguerre.archive.derive import checked_operation
    from daguerre.jobs.training import TRAINING, check_params

    if operation in TRAINING:
        params = check_params(params, operation)
    else:
        checked_operation(operation, params)
    refs = [r.strip().lower() for r in item_refs]
    with archive.session() as s:  # full ids are checked in bulk (a batch run submits millions), others one by one
        item_ids = [r if len(r) == 16 else archive.get(r, s).id for r in refs]
        full = sorted({r for r in item_ids})
        for start in range(0, len(full), CHUNK):
            chunk = full[start:start + CHUNK]
            known = set(s.scalars(select(Item.id).where(Item.id.in_(chunk))))
            if missing := [r for r in chunk if r not in known]:
                raise ArchiveError(f"{missing[0]}: no such item in the archive")
    if run_id is not None:
        get_run(archive, run_id)
    ids = [str(uuid.uuid4()) for _ in item_ids]
    created = now()
    rows = [{"id": j, "run_id": run_id, "item_id": i, "operation": operation, "params": params, "status": "queued",
             "progress": 0.0, "created_by": user, "created_at": created} for j, i in zip(ids, item_ids, strict=True)]
    with archive.session.begin() as s:
        for start in range(0, len(rows), CHUNK):
            s.execute(insert(Job), rows[start:start + CHUNK])
    return ids


def submit_matching(archive: Archive, run_id: str, query: str, filters: dict, *, user: str | None = None,
                    page: int = CHUNK) -> int:
    """Queue the run's operation on every item ``archive search`` finds for ``query`` and ``filters``, a page
    at a time (keyset pagination on the item key, one transaction per page), so that memory stays bounded
    however many items match. Returns how many jobs were queued.

    A note in the store marks the run as being queued until the last page is in: a client killed meanwhile
    leaves it, and `finish_queueing` (``--resume``) queues the rest instead of running a part of the selection.
    """
    run = get_run(archive, run_id)
    archive.store.write_note(queueing_note(run["id"]), {"query": query, "filters": filters, "user": user})
    return _queue_matching(archive, run, query, filters, user, 0, page)


def finish_queueing(archive: Archive, run_id: str, page: int = CHUNK) -> int:
    """Queue the items a run's client had not reached when it died while queueing; 0 for a run fully queued."""
    run = get_run(archive, run_id)
    note = archive.store.read_note(queueing_note(run["id"]))
    if note is None:
        return 0
    with archive.session() as s:  # pages are queued in item-key order, one transaction each
        after = s.scalar(select(func.max(Item.pk)).join(Job, Job.item_id == Item.id)
                         .where(Job.run_id == run["id"])) or 0
    return _queue_matching(archive, run, note["query"], note["filters"], note.get("user"), after, page)


def queueing_note(run_id: str) -> str:
    """The store note present while a run's items are being queued."""
    return f"queueing/{run_id}"


def _queue_matching(archive: Archive, run: dict, query: str, filters: dict, user: str | None, after: int,
                    page: int) -> int:
    from daguerre.archive.search import search_keys

    count = 0
    while True:
        with archive.session() as s:
            keys = search_keys(s, query, after=after, limit=page, **filters)
        if not keys:
            archive.store.remove_note(queueing_note(run["id"]))
            return count
        created = now()
        rows = [{"id": str(uuid.uuid4()), "run_id": run["id"], "item_id": item_id, "operation": run["operation"],
                 "params": run["params"], "status": "queued", "progress": 0.0, "created_by": user,
                 "created_at": created} for _, item_id in keys]
        with archive.session.begin() as s:
            s.execute(insert(Job), rows)
            s.execute(update(Run).where(Run.id == run["id"], Run.owner == client_tag())
                      .values(heartbeat=time.time()))  # queueing millions takes minutes: the lease stays live
        crashpoint("jobs:queued-page")
        after, count = keys[-1][0], count + len(keys)


def retry_failed(archive: Archive, run_id: str) -> int:
    """Queue a run's failed jobs again (their errors are cleared; done jobs are left alone) and mark the run
    unfinished; returns how many. Interrupted jobs are left to the resume, which records their stored results.
    The caller holds the run's lease."""
    with archive.session.begin() as s:
        n = s.execute(update(Job).where(Job.run_id == run_id, Job.status == "failed",
                                        or_(Job.error.is_(None), ~Job.error.startswith(INTERRUPTED)))
                      .values(status="queued", progress=0.0, error=None, started_at=None, finished_at=None)).rowcount
        if n:
            s.execute(update(Run).where(Run.id == run_id).values(finished_at=None))
    return n


def get_run(archive: Archive, run_id: str) -> dict:
    """The run with this id (or unique prefix), with its job counts by status."""
    with archive.session() as s:
        found = s.scalars(select(Run).where(Run.id.startswith(run_id.strip(), autoescape=True)).limit(2)).all()
        if len(found) != 1:
            raise ArchiveError(f"{run_id}: {'no such run' if not found else 'ambiguous run id'}")
        run = found[0]
        holder = lease_holder(run.owner, run.heartbeat)
        counts = dict(s.execute(select(Job.status, func.count()).where(Job.run_id == run.id)
                                .group_by(Job.status)).all())
    return {"id": run.id, "operation": run.operation, "params": run.params, "query": run.query,
            "backend": run.backend, "created_by": run.created_by, "created_at": run.created_at,
            "finished_at": run.finished_at, "counts": {k: counts.get(k, 0) for k in STATUSES},
            "running_in": holder, "state": run_state(holder, run.finished_at)}


def run_state(running_in: str | None, finished_at: str | None) -> str:
    """'running' while a live client holds the lease (a finished run being resumed too), else 'finished' once no
    job is left to run, else 'interrupted' (its client stopped or died: ``--resume`` goes on)."""
    return "running" if running_in else "finished" if finished_at else "interrupted"


def list_runs(archive: Archive) -> list[dict]:
    """Every run, oldest first, with its job counts."""
    with archive.session() as s:
        ids = s.scalars(select(Run.id).order_by(Run.pk)).all()
    return [get_run(archive, i) for i in ids]


def get_job(archive: Archive, job_id: str) -> dict:
    with archive.session() as s:
        job = s.scalar(select(Job).where(Job.id == job_id))
    if job is None:
        raise ArchiveError(f"{job_id}: no such job")
    return job.record()


def list_jobs(archive: Archive, status: str | None = None, user: str | None = None,
              run_id: str | None = None, limit: int | None = None) -> list[dict]:
    """Jobs, oldest first, filtered by status, creator and run."""
    q = select(Job).order_by(Job.pk)
    if status:
        q = q.where(Job.status == status)
    if user:
        q = q.where(Job.created_by == user)
    if run_id:
        q = q.where(Job.run_id == run_id)
    with archive.session() as s:
        return [j.record() for j in s.scalars(q.limit(limit))]


def cancel(archive: Archive, job_id: str) -> bool:
    """Cancel a queued or running job; False if it had already ended.

    A running job is marked cancelled at once and a cancel note is left in the store: its worker stops at its
    next tile or training step, and the runner records nothing it made.
    """
    get_job(archive, job_id)
    for status in ("queued", "running"):
        with archive.session.begin() as s:
            n = s.execute(update(Job).where(Job.id == job_id, Job.status == status)
                          .values(status="cancelled", finished_at=now())).rowcount
        if n == 1:
            if status == "running":
                archive.store.write_note(cancel_note(job_id), {"cancelled_at": now()})
            return True
    return False


def cancel_note(job_id: str) -> str:
    """The store note whose presence tells a job's worker to stop (workers never read the catalogue)."""
    return f"cancel/{job_id}"


def mark_interrupted(archive: Archive, run_id: str | None = None) -> int:
    """Mark running jobs (of one run, or all) failed as interrupted: their runner died. Returns how many.
    Jobs of a run whose client is alive (a batch run in another process) are left alone."""
    q = update(Job).where(Job.status == "running")
    if run_id:
        q = q.where(Job.run_id == run_id)
    with archive.session() as s:
        live = [r.id for r in s.execute(select(Run.id, Run.owner, Run.heartbeat).where(Run.owner.is_not(None)))
                if lease_holder(r.owner, r.heartbeat)]
    if live:
        q = q.where(Job.run_id.is_(None) | Job.run_id.not_in(live))
    with archive.session.begin() as s:
        return s.execute(q.values(status="failed", error=INTERRUPTED + "the runner stopped before it finished",
                                  finished_at=now())).rowcount
