"""The web server's background worker: runs queued jobs through the runner batch runs use (`daguerre.jobs`)."""

from __future__ import annotations

import logging
import threading

from daguerre.archive.api import Archive

log = logging.getLogger("daguerre.web")


class Runner:
    """One thread that runs the queued jobs one after another; `wake` when a job is submitted."""

    def __init__(self, archive: Archive, poll: float = 2.0) -> None:
        self.archive, self.poll = archive, poll
        self.event, self.stopping = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        from daguerre import jobs

        jobs.mark_interrupted(self.archive)  # what a previous server left running failed with it
        self.thread = threading.Thread(target=self._loop, name="daguerre-jobs", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        self.event.set()

    def stop(self) -> None:
        self.stopping.set()
        self.event.set()
        if self.thread:
            self.thread.join(timeout=30)

    def _loop(self) -> None:
        from daguerre import jobs

        while not self.stopping.is_set():
            self.event.wait(self.poll)
            self.event.clear()
            try:
                queued = [j["id"] for j in jobs.list_jobs(self.archive, status="queued")]
                if queued:
                    jobs.run_jobs(self.archive, job_ids=queued, backend="inline", workers=1)
            except Exception:  # the thread must outlive one bad job; the job row records its error
                log.exception("job runner")
