"""Jobs: an operation applied to archive items, recorded in the catalogue and run by one runner.

    run_id = create_run(archive, "restore", {})
    submit(archive, ["a1b2c3d4"], "restore", {}, run_id=run_id)
    run_jobs(archive, run_id, workers=2)                      # or cluster="local" / "tcp://host:8786"
"""

from daguerre.jobs.runner import RunSummary, run_jobs, threads_per_worker
from daguerre.jobs.table import cancel, create_run, get_job, get_run, list_jobs, list_runs, mark_interrupted, submit

__all__ = ["RunSummary", "cancel", "create_run", "get_job", "get_run", "list_jobs", "list_runs",
           "mark_interrupted", "run_jobs", "submit", "threads_per_worker"]
