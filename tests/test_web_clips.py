"""A clip's frame-loop options (`consistency`, `key_every`) in the web app: its Run form offers them (a picture's
does not), the Run form and the JSON job API take them for a clip and refuse bad ones, or the API any for a
picture, before queueing a job; the derivative's recipe records them; no writes without an editor."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
pytest.importorskip("imageio_ffmpeg")
pytest.importorskip("cv2")
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from daguerre import jobs  # noqa: E402
from daguerre.archive import Archive, users  # noqa: E402
from daguerre.imaging import Picture, load  # noqa: E402
from daguerre.video.clip import ClipWriter  # noqa: E402
from daguerre.video.synthetic import panned_frames  # noqa: E402
from daguerre.web.app import create_app  # noqa: E402
from web_jobs import wait_for_job  # noqa: E402

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
        job = wait_for_job(c, r.json()["id"], headers)
        assert job["status"] == "done", job
        made = archive.get(job["derivative_id"])
        assert (made.parent_id, made.media_type, made.operation) == (clip_id, "video/mp4", "colorize")
        assert {"key_every": 2, "consistency": 0.7}.items() <= recipe(archive, made.id).items()
    again = archive.rederive(made.id)  # the archive re-makes every frame from the recipe, keys and all
    assert again.ok and again.max_abs_diff <= 1 / 255, again


def login(c: TestClient, name: str) -> str:
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"name": name, "password": "a long enough password", "csrf": token, "next": "/"})
    assert r.status_code == 303, r.text
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)


def fieldsets(page: str) -> dict[str, str]:
    """The Run form's fieldset of each operation."""
    return {part.split('"', 1)[0]: part.split("</fieldset>", 1)[0] for part in page.split('<fieldset data-op="')[1:]}


def test_the_run_page_offers_a_clips_steadiness_and_keys_and_a_pictures_neither(site):
    """A web user got the frame loop's defaults only; a clip's Run form now has steadiness (`consistency`) for every
    operation and the model on every Nth frame (`key_every`) for those that make frames between keys."""
    archive, clip_id, photo_id = site
    c = TestClient(create_app(archive), follow_redirects=False)
    login(c, "eddie")
    on_clip = fieldsets(c.get(f"/items/{clip_id}").text)
    assert set(on_clip) == {"stylize", "restore", "colorize", "upscale", "film", "repair"}
    for op, fields in on_clip.items():
        assert 'name="consistency" type="number" step="0.05" min="0" max="1" value="0.5"' in fields, op
        assert "steadiness" in fields and "towards the previous output along the motion" in fields, op
        assert ('name="key_every"' in fields) == (op in ("stylize", "colorize")), op
    keys = on_clip["colorize"].split('name="key_every"')[1].split("</select>")[0]
    assert keys.split("<option")[1:] == [" selected>1</option>", " >2</option>", " >3</option>"]
    assert "model on every Nth frame" in on_clip["stylize"] and "1.6x faster" in on_clip["stylize"]
    on_picture = c.get(f"/items/{photo_id}").text
    assert set(fieldsets(on_picture)) == set(on_clip)  # the same Run form...
    assert not any(word in on_picture for word in ('name="consistency"', 'name="key_every"', "steadiness"))  # ...less


def test_a_master_browsers_cannot_play_is_offered_for_download(site, tmp_path: Path):
    from daguerre.video.clip import ffmpeg

    archive, clip_id, _ = site
    tape = tmp_path / "tape.dv"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25", "-t", "0.2",
                    "-c:v", "dvvideo", "-pix_fmt", "yuv420p", str(tape)], check=True)
    [tape_id] = archive.ingest([tape]).added
    c = TestClient(create_app(archive), follow_redirects=False)
    login(c, "vera")
    page = c.get(f"/items/{tape_id}").text
    assert f'browsers do not play video/x-dv: <a href="/items/{tape_id}/file" download>' in page
    assert "browsers do not play" not in c.get(f"/items/{clip_id}").text  # an MP4 plays in the page
    assert c.get(f"/items/{tape_id}/file").content == tape.read_bytes()


def test_a_form_job_on_a_clip_runs_the_model_on_the_keys_and_records_them(site, monkeypatch):
    """Run from the item page with the model on every 2nd frame and steadiness 0.7: the model runs on fewer frames
    than the clip has, every frame is kept, and the recipe holds both, so the archive re-derives it."""
    from daguerre.ops import get_operation
    from daguerre.video.clip import open_clip

    archive, clip_id, _ = site
    op = get_operation("stylize")
    runs: list[int] = []
    real = type(op).run
    monkeypatch.setattr(type(op), "run", lambda self, *a, **k: runs.append(1) or real(self, *a, **k))
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        form = {"csrf": token, "operation": "stylize", "model": STYLE, "strength": "1", "consistency": "0.7",
                "key_every": "2"}
        preview = c.post(f"/items/{clip_id}/preview", data=form)  # on the poster frame: a still, without them
        assert preview.status_code == 200 and "data:image/png;base64," in preview.text, preview.text
        runs.clear()
        r = c.post(f"/items/{clip_id}/run", data=form)
        assert r.status_code == 303, r.text
        job = wait_for_job(c, r.headers["location"].split("#job-")[1], {})
        assert job["status"] == "done", job
    made = archive.get(job["derivative_id"])
    params = recipe(archive, made.id)
    assert (params["key_every"], params["consistency"], params["model"]) == (2, 0.7, STYLE)
    with archive.store.as_file(made.sha256) as path:
        assert sum(1 for _ in open_clip(path)[1]) == FRAMES
    assert 0 < len(runs) < FRAMES  # the keys, not every frame
    again = archive.rederive(made.id)
    assert again.ok and again.max_abs_diff <= 1 / 255, again


def test_the_run_form_refuses_bad_frame_loop_options_in_one_line_and_a_picture_never_reads_them(site):
    from markupsafe import escape

    from daguerre.web.forms import params_from_form

    archive, clip_id, photo_id = site
    assert params_from_form(archive, "film", {"consistency": "0.7", "key_every": "2"}) == {}  # a picture's form
    assert params_from_form(archive, "film", {"consistency": "0.7", "key_every": "2"}, clip=True) == {
        "consistency": 0.7}  # film makes no frames between keys: not one of its fields
    assert params_from_form(archive, "colorize", {"consistency": "0", "key_every": "1"}, clip=True) == {
        "consistency": 0.0}  # every frame: the default, left out of the recipe
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        before = rows(archive)
        hx = {"HX-Request": "true"}
        for form, words in [({"operation": "film", "consistency": "1.5"}, "consistency (steadiness): 1.5 is outside "
                                                                           "0..1"),
                            ({"operation": "film", "consistency": "steady"}, "consistency (steadiness): 'steady' is "
                                                                              "not a number"),
                            ({"operation": "colorize", "key_every": "8"}, "key_every (model on every Nth frame): '8' "
                                                                           "is not one of 1, 2, 3")]:
            for route in ("run", "preview"):
                r = c.post(f"/items/{clip_id}/{route}", headers=hx, data={"csrf": token, **form})
                assert r.status_code == 400, (route, form, r.text)
                assert r.text == f'<p class="error">{escape(words)}</p>', (route, r.text)
        assert rows(archive) == before
        # a picture's form has no such fields: any sent are not read, and the job runs as the form shows it
        r = c.post(f"/items/{photo_id}/run", data={"csrf": token, "operation": "film", "consistency": "7",
                                                   "key_every": "2"})
        assert r.status_code == 303, r.text
        job = wait_for_job(c, r.headers["location"].split("#job-")[1], {})
        assert job["status"] == "done" and job["params"] == {}, job


def test_a_clip_job_is_refused_without_an_editor(site):
    """The clip's Run form and its API job, with its frame-loop options: no writes for a viewer (session or token)
    or an anonymous visitor."""
    archive, clip_id, _ = site
    before = rows(archive)
    viewer = TestClient(create_app(archive, public=True), follow_redirects=False)
    token = login(viewer, "vera")
    form = {"csrf": token, "operation": "colorize", "consistency": "0.7", "key_every": "2"}
    assert viewer.post(f"/items/{clip_id}/run", data=form).status_code == 403
    assert "steadiness" not in viewer.get(f"/items/{clip_id}").text  # no Run form for a viewer
    body = {"operation": "colorize", "params": {"consistency": 0.7, "key_every": 2}}
    anonymous = TestClient(create_app(archive, public=True), follow_redirects=False)
    for c, headers in ((viewer, {"X-CSRF-Token": token}), (anonymous, {}), (anonymous, bearer(archive, "vera"))):
        r = c.post(f"/api/items/{clip_id}/jobs", headers=headers, json=body)
        assert r.status_code in (401, 403), (headers, r.status_code, r.text)
    assert rows(archive) == before


def test_a_colour_bank_job_leaves_clips_out_before_it_counts_the_masters(site, monkeypatch):
    """A clip among the masters used to count against the job's limit (and be dropped after): with a limit of one,
    the clip and the photo were "more than 1 masters". Now the photo alone is queued, and a search that finds only
    clips says so."""
    from daguerre.jobs import colour_bank

    archive, clip_id, photo_id = site
    monkeypatch.setattr(colour_bank, "MAX_MASTERS", 1)
    c = TestClient(create_app(archive), follow_redirects=False)  # no runner: the job stays queued
    r = c.post("/api/colour-bank", headers=bearer(archive, "eddie"), json={"name": "harbour"})
    assert r.status_code == 202, r.text
    [job] = [j for j in jobs.list_jobs(archive) if j["id"] == r.json()["id"]]
    assert job["params"]["masters"] == [photo_id]
    title = archive.get(clip_id).title
    r = c.post("/api/colour-bank", headers=bearer(archive, "eddie"), json={"name": "quay", "q": title})
    assert r.status_code == 400 and "only clips match" in r.json()["detail"], (title, r.text)
