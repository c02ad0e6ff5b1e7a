"""The web server's background workers: run queued jobs through the runner batch runs use (`daguerre.jobs`).

Two lanes, one thread each: pictures (operations, one job after another) and training (style models and colour
banks, which take much longer), so that a training run does not hold up the restorations queued behind it.
"""

from __future__ import annotations

import logging
import threading

from daguerre.archive.api import Archive

log = logging.getLogger("daguerre.web")
LANES = ("pictures", "training")


class Runner:
    """One thread per lane that runs its queued jobs one after another; `wake` when a job is submitted."""

    def __init__(self, archive: Archive, poll: float = 2.0) -> None:
        self.archive, self.poll = archive, poll
        self.events = {lane: threading.Event() for lane in LANES}
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        from daguerre import jobs

        jobs.mark_interrupted(self.archive)  # what a previous server left running failed with it
        for lane in LANES:
            thread = threading.Thread(target=self._loop, args=(lane,), name=f"daguerre-{lane}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def wake(self) -> None:
        for event in self.events.values():
            event.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake()
        for thread in self.threads:
            thread.join(timeout=30)

    def _loop(self, lane: str) -> None:
        from daguerre import jobs
        from daguerre.jobs.training import TRAINING

        event = self.events[lane]
        while not self.stopping.is_set():
            event.wait(self.poll)
            event.clear()
            try:
                queued = [j["id"] for j in jobs.list_jobs(self.archive, status="queued")
                          if (j["operation"] in TRAINING) == (lane == "training")]
                if queued:
                    jobs.run_jobs(self.archive, job_ids=queued, backend="inline", workers=1,
                                  on_progress=_installed if lane == "training" else None)
            except Exception:  # the thread must outlive one bad job; the job row records its error
                log.exception("job runner (%s)", lane)


def _installed(event: dict) -> None:
    """A training job is done: a colour bank installs itself, so the Run form re-reads the models at once."""
    if event["status"] == "done":
        from daguerre.web import forms

        forms.forget_installed()
