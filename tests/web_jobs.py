"""What the web app's tests share: waiting for a job the API queued (not a test module)."""

from __future__ import annotations

import time


def wait_for_job(c, job_id: str, headers: dict, timeout: float = 120) -> dict:
    """The job's JSON from `/api/jobs/{job_id}` once it is done, failed or cancelled (`c`: a TestClient)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
