"""Jobs: an operation applied to archive items, recorded in the catalogue and run by one runner.

    run_id = create_run(archive, "restore", {})
    submit(archive, ["a1b2c3d4"], "restore", {}, run_id=run_id)
    run_jobs(archive, run_id, workers=2)                      # or cluster="local" / "tcp://host:8786"

Re-exports only, loaded on first use so that ``daguerre --help`` does not import SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daguerre.jobs.runner import RunSummary, run_jobs, threads_per_worker
    from daguerre.jobs.table import (
        RunBusy,
        cancel,
        create_run,
        finish_queueing,
        get_job,
        get_run,
        list_jobs,
        list_runs,
        mark_interrupted,
        retry_failed,
        submit,
        submit_matching,
        take_lease,
    )

_WHERE = {"RunSummary": "runner", "run_jobs": "runner", "threads_per_worker": "runner", "cancel": "table",
          "create_run": "table", "finish_queueing": "table", "get_job": "table", "get_run": "table",
          "list_jobs": "table", "list_runs": "table", "mark_interrupted": "table", "submit": "table",
          "retry_failed": "table", "RunBusy": "table", "submit_matching": "table", "take_lease": "table"}
__all__ = ["RunBusy", "RunSummary", "cancel", "create_run", "finish_queueing", "get_job", "get_run", "list_jobs",
           "list_runs", "mark_interrupted", "retry_failed", "run_jobs", "submit", "submit_matching", "take_lease",
           "threads_per_worker"]


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(import_module(f"daguerre.jobs.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
