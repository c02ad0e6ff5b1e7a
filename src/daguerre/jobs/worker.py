"""The worker side of a job: compute a derivative and store its file; never touches the catalogue.

Each worker process keeps its store, signing key and models (``ops.task_models``) for every job it runs.
The job's result is written as a note in the store *before* the file, so a client that dies after the
worker finished finds the result on resume instead of deriving the item again.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

_CACHE: dict[tuple, Any] = {}
CANCEL_CHECK = 0.25  # seconds between looks for a cancel note


class JobCancelled(Exception):
    """Raised from a progress callback when the job was cancelled: the work stops at the next tile or step."""
_PROGRESS: Any = None  # a multiprocessing queue of (job id, fraction) from the local pool


def init_local(threads: int, progress_queue: Any = None) -> None:
    """Process-pool initializer: ``threads`` compute threads for this worker, and the progress queue."""
    global _PROGRESS
    _PROGRESS = progress_queue
    _threads(threads)
    threading.Thread(target=_exit_with_parent, daemon=True).start()


def _exit_with_parent() -> None:
    """A pool worker whose client was killed (kill -9) stops instead of lingering."""
    import multiprocessing.connection

    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)


def _threads(threads: int) -> None:
    if _CACHE.get(("threads",)) == threads:
        return
    import torch

    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    _CACHE[("threads",)] = threads


def _context(store_url: str, keys_dir: str):
    from daguerre.archive.keys import Keys
    from daguerre.archive.store import Store

    key = ("archive", store_url, keys_dir)
    if key not in _CACHE:
        _CACHE[key] = (Store(store_url), Keys.load(Path(keys_dir)))
    return _CACHE[key]


def progress_reporter(store, job_id: str, queue: Any):
    """A ``progress(done, total)`` callback: sends the fraction to the runner (at most twice a second) and raises
    `JobCancelled` once the job's cancel note appears in the store (looked for at most four times a second);
    ``final=True``: both at once, whenever it came last (a job's last word before it commits its result)."""
    from daguerre.jobs.table import cancel_note

    last = {"sent": 0.0, "checked": 0.0}

    def progress(done: int, total: int, final: bool = False) -> None:
        now = time.monotonic()
        if queue is not None and total and (now - last["sent"] > 0.5 or final):
            last["sent"] = now
            queue.put((job_id, done / total))
        if now - last["checked"] > CANCEL_CHECK or final:
            last["checked"] = now
            if store.read_note(cancel_note(job_id)) is not None:
                raise JobCancelled(job_id)

    return progress


def run_job(task: dict, progress_queue: Any = None) -> dict:
    """Derive one planned job; returns what the client records (or ``{"error": ...}``).

    A job whose result note and file are both in the store already (its earlier worker died before
    answering) is not derived again.
    """
    from daguerre.archive import derive
    from daguerre.archive.errors import ArchiveError
    from daguerre.imaging import ImageError

    if task.get("threads"):
        _threads(task["threads"])
    store, keys = _context(task["store"], task["keys"])
    job_id = task["job_id"]
    queue = progress_queue or _PROGRESS
    progress = progress_reporter(store, job_id, queue)
    if task.get("training"):
        return _train(task, progress)
    note = store.read_note(f"jobs/{job_id}")
    if note is not None and store.exists(note["made"]["sha256"]):
        return note["made"]
    try:
        data, made = derive.make(store, keys, task, progress)
    except JobCancelled:
        return {"cancelled": True}
    except (ArchiveError, ImageError, OSError) as e:
        return {"error": " ".join(str(e).split())}
    made["worker"] = os.getpid()
    store.write_note(f"jobs/{job_id}", {"task": task, "made": made})
    store.put_bytes(data)
    return made


def _train(task: dict, progress) -> dict:
    """A training job (``daguerre.jobs.training``): the model it made, or ``{"error"}`` / ``{"cancelled"}``."""
    from daguerre.archive.errors import ArchiveError
    from daguerre.imaging import ImageError
    from daguerre.jobs import training

    try:
        return training.train(task, progress)
    except JobCancelled:
        return {"cancelled": True}
    except (ArchiveError, ImageError, OSError, ValueError, RuntimeError) as e:
        return {"error": " ".join(str(e).split())}
