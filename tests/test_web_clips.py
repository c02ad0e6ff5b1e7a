"""A clip's frame-loop options (`consistency`, `key_every`) in the web app: the JSON job API takes them for a clip and
refuses bad ones, or any for a picture, before queueing a job."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
pytest.importorskip("imageio_ffmpeg")
pytest.importorskip("cv2")
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from daguerre.archive import Archive, users  # noqa: E402
from daguerre.imaging import Picture, load  # noqa: E402
from daguerre.video.clip import ClipWriter  # noqa: E402
from daguerre.video.synthetic import panned_frames  # noqa: E402
from daguerre.web.app import create_app  # noqa: E402

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
FRAMES = 6
STYLE = "rousseau-lion"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 frames, 64x48, of a pan over a bundled photo: a clip in a few kilobytes."""
    path = tmp_path_factory.mktemp("clip") / "pan.mp4"
    with ClipWriter(path, 25) as writer:
        for frame, _ in panned_frames(load(SAMPLES / "chelsea.jpg").rgb(), (64, 48), FRAMES):
            writer.write(Picture(frame))
    return path


@pytest.fixture
def site(tmp_path: Path, clip: Path):
    """An archive with the clip and a picture as masters, an editor and a viewer."""
    archive = Archive.init(tmp_path / "archive")
    clip_id, photo_id = archive.ingest([clip, SAMPLES / "coffee.jpg"]).added
    assert archive.get(clip_id).media_type == "video/mp4"
    users.add(archive, "eddie", "editor", "a long enough password")
    users.add(archive, "vera", "viewer", "a long enough password")
    yield archive, clip_id, photo_id
    archive.close()


def bearer(archive: Archive, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {users.new_token(archive, name)}"}


def rows(archive: Archive) -> tuple:
    """Every item, event and job row (what a job request could add)."""
    with archive.engine.connect() as conn:
        return tuple(tuple(map(tuple, conn.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all()))
                     for t in ("items", "events", "jobs"))


def finished(c: TestClient, job_id: str, headers: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def recipe(archive: Archive, item_id: str) -> dict:
    [event] = [e for e in archive.events_of(item_id) if e.type == "creation"]
    return event.outcome_detail["recipe"]["params"]


def test_the_api_takes_a_clips_frame_loop_options_and_refuses_bad_ones_before_queueing(site):
    """`key_every` for restore or film, out of 1..8 or not a whole number, used to be queued (202) and fail when the
    runner reached it (2.5 ran, and was recorded); a picture's `key_every` or `consistency` was dropped without a
    word. Each is now a 400 in one line naming the parameter, nothing queued; good ones land in the recipe."""
    archive, clip_id, photo_id = site
    headers = bearer(archive, "eddie")
    with TestClient(create_app(archive), follow_redirects=False) as c:
        before = rows(archive)
        for ref, operation, params, words in [
                (clip_id, "restore", {"key_every": 2}, "restore: key_every 2: a key every N frames is for colorize, "
                                                       "retro, stylize: restore keeps each frame's own detail"),
                (clip_id, "film", {"preset": "sepia", "key_every": 3}, "film: key_every 3: a key every N frames"),
                (clip_id, "stylize", {"model": STYLE, "key_every": 9}, "stylize: key_every must be a whole number "
                                                                        "from 1 to 8, got 9"),
                (clip_id, "stylize", {"model": STYLE, "key_every": 0}, "key_every must be a whole number"),
                (clip_id, "colorize", {"key_every": 2.5}, "colorize: key_every must be a whole number"),
                (clip_id, "colorize", {"key_every": "2"}, "from 1 to 8, got '2'"),
                (clip_id, "stylize", {"model": STYLE, "consistency": 1.5}, "stylize: consistency must be a number "
                                                                            "between 0 and 1, got 1.5"),
                (clip_id, "film", {"consistency": "0.7"}, "film: consistency must be a number between 0 and 1, "
                                                          "got '0.7'"),
                (photo_id, "stylize", {"model": STYLE, "key_every": 2},
                 f"key_every: for clips only (a clip's frame loop); {photo_id} is a picture"),
                (photo_id, "film", {"consistency": 0.7, "steady_local": True},
                 f"consistency, steady_local: for clips only (a clip's frame loop); {photo_id} is a picture")]:
            r = c.post(f"/api/items/{ref}/jobs", headers=headers, json={"operation": operation, "params": params})
            assert r.status_code == 400, (operation, params, r.text)
            detail = r.json()["detail"]
            assert words in detail and "\n" not in detail, (operation, params, detail)
        assert rows(archive) == before  # no job, no item, no event

        r = c.post(f"/api/items/{clip_id}/jobs", headers=headers,
                   json={"operation": "colorize", "params": {"key_every": 2, "consistency": 0.7}})
        assert r.status_code == 202, r.text
        job = finished(c, r.json()["id"], headers)
        assert job["status"] == "done", job
        made = archive.get(job["derivative_id"])
        assert (made.parent_id, made.media_type, made.operation) == (clip_id, "video/mp4", "colorize")
        assert {"key_every": 2, "consistency": 0.7}.items() <= recipe(archive, made.id).items()
    again = archive.rederive(made.id)  # the archive re-makes every frame from the recipe, keys and all
    assert again.ok and again.max_abs_diff <= 1 / 255, again
