"""The web app through its HTTP interface (FastAPI's test client): pages, API, accounts and refusals."""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from daguerre.archive import Archive, users  # noqa: E402
from daguerre.web.app import create_app  # noqa: E402
from web_jobs import wait_for_job  # noqa: E402

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
PASSWORD = "correct horse battery"


@pytest.fixture
def site(tmp_path, photos, request):
    """An archive with the four test photos, one derivative, and an admin, an editor and a viewer; its catalogue
    on SQLite, or on the session's PostgreSQL server for tests parametrized with ``BOTH``."""
    url = None
    if getattr(request, "param", "sqlite") == "postgresql":
        import uuid

        url = request.getfixturevalue("postgres").create_database(f"t{uuid.uuid4().hex[:12]}")
    archive = Archive.init(tmp_path / "archive", catalogue_url=url)
    report = archive.ingest([photos["astronaut.jpg"].parent])
    assert len(report.added) == 4, report.failed
    master = archive.search("moon")[0]
    archive.apply("test-tint", [master.id], {"amount": 0.5})
    for name, role in (("ada", "admin"), ("eddie", "editor"), ("vera", "viewer")):
        users.add(archive, name, role, PASSWORD)
    yield archive, master
    archive.close()


BOTH = pytest.mark.parametrize("site", ["sqlite", "postgresql"], indirect=True)  # API and security tests


def client(archive, **kw) -> TestClient:
    return TestClient(create_app(archive, **kw), follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(c: TestClient, name: str) -> str:
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf": token, "next": "/"})
    assert r.status_code == 303, r.text
    return csrf_of(c.get("/").text)


def snapshot(archive) -> tuple:
    """Every row a write could change (a job queued included)."""
    with archive.engine.connect() as conn:
        return tuple(tuple(map(tuple, conn.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all()))
                     for t in ("items", "events", "users", "tokens", "jobs"))


@BOTH
def test_collection_needs_login_unless_public(site):
    archive, master = site
    assert client(archive).get("/").status_code == 303
    assert client(archive).get("/api/items").status_code == 401
    public = client(archive, public=True)
    page = public.get("/")
    assert page.status_code == 200 and "Man on the Moon" in page.text and "5 items" in page.text
    assert public.get("/api/items").json()["total"] == 5


def test_login_search_facets_and_thumbnails(site):
    archive, master = site
    c = client(archive)
    login(c, "vera")
    page = c.get("/", params={"q": "moon"})
    assert "Man on the Moon" in page.text and "Coffee cup" not in page.text
    assert c.get("/", params={"operation": "test-tint"}).text.count('href="/items/') == 1
    facets = c.get("/").text
    assert "test-tint" in facets and "derivative" in facets
    thumb = c.get(f"/items/{master.id}/thumb.jpg")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 320 or max(Image.open(io.BytesIO(thumb.content)).size) \
        == max(master.width, master.height)
    cached = list((Path(archive.store.root) / "thumbs").rglob("*.jpg"))
    assert len(cached) == 1 and c.get(f"/items/{master.id}/thumb.jpg").content == thumb.content


@BOTH
def test_wrong_password_and_rate_limit(site):
    archive, _ = site
    c = client(archive)
    token = csrf_of(c.get("/login").text)
    codes = [c.post("/login", data={"name": "ada", "password": "wrong password", "csrf": token}).status_code
             for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    # even the right password is refused while the name is blocked
    assert c.post("/login", data={"name": "ada", "password": PASSWORD, "csrf": token}).status_code == 429


def test_session_cookie_is_httponly_and_samesite(site):
    archive, _ = site
    c = client(archive)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_item_page_shows_tree_history_and_slider(site):
    archive, master = site
    c = client(archive)
    login(c, "vera")
    [derivative] = archive.children(master.id)
    page = c.get(f"/items/{derivative.id}").text
    assert "img-comparison-slider" in page and f"/iiif/{derivative.id}/info.json" in page
    assert master.id in page and "tint-net" in page and "ingestion" in page and "creation" in page
    assert "Save metadata" not in page and "Run an operation" not in page  # a viewer sees no forms
    info = c.get(f"/iiif/{derivative.id}/info.json").json()
    assert info["width"] == derivative.width and info["id"] == f"/iiif/{derivative.id}"
    w, h = derivative.width, derivative.height
    tile = c.get(f"/iiif/{derivative.id}/0,0,{w},{h}/{w},{h}/0/default.jpg")
    assert tile.status_code == 200 and Image.open(io.BytesIO(tile.content)).size == (w, h)
    assert c.get(f"/iiif/{derivative.id}/..%2F..%2Fkeys/x/0/default.jpg").status_code in (400, 404)
    for size in info["sizes"]:  # every listed size in each form clients ask for
        sw, sh = size["width"], size["height"]
        for form in (f"{sw},{sh}", f"{sw},", f",{sh}"):
            got = c.get(f"/iiif/{derivative.id}/full/{form}/0/default.jpg")
            assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).size == (sw, sh), form
    manifest = c.get(f"/items/{derivative.id}/manifest.json").json()
    assert [cv["label"]["en"][0] for cv in manifest["items"]][0] == "Original (master)" and len(manifest["items"]) == 2
    body = manifest["items"][1]["items"][0]["items"][0]["body"]
    image = c.get(body["id"].replace("http://testserver", ""))
    assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).size == (w, h)
    for sneaky in ("/export/../keys/signer.pem", "/export/%2E%2E/keys/signer.pem", "/export/..%2Fkeys%2Fsigner.pem"):
        assert c.get(sneaky).status_code == 404
    assert client(archive).get(body["id"].replace("http://testserver", "")).status_code == 303  # needs a login


@BOTH
def test_editor_edits_metadata_with_an_event(site):
    archive, master = site
    c = client(archive)
    token = login(c, "eddie")
    before = len(archive.events_of(master.id))
    r = c.post(f"/items/{master.id}/metadata", data={"csrf": token, "title": "Apollo 11", "creator": "Neil Armstrong"})
    assert r.status_code == 303
    assert archive.get(master.id).title == "Apollo 11"
    history = archive.events_of(master.id)
    assert len(history) == before + 1 and history[-1].type == "metadata modification"
    assert "eddie" in history[-1].detail
    assert '<p class="ok" role="status">Saved: title, creator.</p>' in c.get(r.headers["location"]).text
    assert "Saved:" not in c.get(f"/items/{master.id}").text  # once: a reload does not say it again
    r = c.post(f"/items/{master.id}/metadata", data={"csrf": token, "title": "Apollo 11", "creator": "Neil Armstrong"})
    assert "Nothing to save: no field changed." in c.get(r.headers["location"]).text
    assert len(archive.events_of(master.id)) == before + 1


def test_history_shows_a_metadata_edit_as_typed_and_its_markup_escaped(site):
    archive, master = site
    c = client(archive)
    token = login(c, "eddie")
    title = "Astronaut <script>alert(1)</script> «Eileen» 宇宙"
    assert c.post(f"/items/{master.id}/metadata", data={"csrf": token, "title": title}).status_code == 303
    page = c.get(f"/items/{master.id}").text
    history = page[page.index('id="history"'):]
    assert "«Eileen» 宇宙" in history and "\\u00ab" not in history and "\\u5b87" not in history
    assert "&#34;title&#34;: &#34;Astronaut &lt;script&gt;alert(1)&lt;/script&gt; «Eileen» 宇宙&#34;" in history
    assert "<script>alert(1)" not in page


def test_verify_now(site):
    archive, master = site
    c = client(archive)
    token = login(c, "eddie")
    [derivative] = archive.children(master.id)
    r = c.post(f"/items/{derivative.id}/verify", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and "fixity" in r.text and "success" in r.text


def test_upload_page_adds_reports_duplicates_and_refuses_non_images(site, tmp_path):
    archive, _ = site
    c = client(archive)
    token = login(c, "eddie")
    rocket = (SAMPLES / "rocket.jpg").read_bytes()
    r = c.post("/upload", data={"csrf": token, "creator": "Tester"},
               files=[("files", ("../../etc/rocket.jpg", rocket, "image/jpeg")),
                      ("files", ("notes.txt", b"not a picture", "text/plain"))])
    assert r.status_code == 200 and "added" in r.text and "notes.txt" in r.text and "failed" in r.text
    [item] = archive.search("rocket")
    assert item.creator == "Tester" and item.filename == "rocket.jpg"
    # its history says how it came, not where the server kept its copy for a moment
    [ingested] = archive.events_of(item.id)
    assert ingested.detail == "ingested ../../etc/rocket.jpg (web upload by eddie)"
    assert item.extra["original_path"] == ingested.outcome_detail["original_path"] == (
        "../../etc/rocket.jpg (web upload by eddie)")
    again = c.post("/upload", data={"csrf": token}, files=[("files", ("copy.jpg", rocket, "image/jpeg"))])
    assert "duplicate" in again.text and item.id in again.text


def test_upload_with_nothing_chosen_says_to_choose_a_file(site):
    archive, _ = site
    c = client(archive)
    token = login(c, "eddie")
    before = snapshot(archive)
    # what a browser sends when no file was chosen: an empty part with no file name
    r = c.post("/upload", data={"csrf": token, "title": "x"}, files=[("files", ("", b"", "application/octet-stream"))])
    assert r.status_code == 400 and '<p class="error">Choose at least one file' in r.text
    assert snapshot(archive) == before
    assert "Choose at least one file" not in c.get("/upload").text


def test_an_upload_error_names_the_file_once(site):
    archive, _ = site
    c = client(archive)
    token = login(c, "eddie")
    cut = (SAMPLES / "rocket.jpg").read_bytes()[:2000]
    r = c.post("/upload", data={"csrf": token}, files=[("files", ("corrupt.jpg", cut, "image/jpeg")),
                                                       ("files", ("notes.txt", b"not a picture", "text/plain"))])
    lines = re.findall(r'<li class="failed">(.*?)</li>', r.text)
    assert len(lines) == 2, r.text
    for name, line in zip(("corrupt.jpg", "notes.txt"), lines, strict=True):
        assert line.startswith(f"<strong>{name}</strong>: failed — ") and line.count(name) == 1, line


def _bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A valid little PNG whose header claims 1.6 gigapixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = zlib.compress(b"\x00" * (width // 8 + 1) * 8)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


@BOTH
def test_api_items(site):
    archive, master = site
    token = users.new_token(archive, "eddie")
    c = client(archive)
    auth = {"Authorization": f"Bearer {token}"}
    chelsea = (SAMPLES / "chelsea.jpg").read_bytes()
    r = c.post("/api/items", headers=auth, files={"file": ("cat.jpg", chelsea, "image/jpeg")},
               data={"title": "Chelsea the cat", "subject": "cats"})
    assert r.status_code == 201, r.text
    new_id = r.json()["id"]
    dup = c.post("/api/items", headers=auth, files={"file": ("again.jpg", chelsea, "image/jpeg")})
    assert dup.status_code == 200 and dup.json()["id"] == new_id
    found = c.get("/api/items", params={"q": "chelsea cat"}, headers=auth).json()
    assert [i["id"] for i in found["items"]] == [new_id]
    shown = c.get(f"/api/items/{master.id}", headers=auth).json()
    assert shown["item"]["id"] == master.id and len(shown["derivatives"]) == 1
    assert [e["type"] for e in shown["derivatives"][0]["events"]][0] == "creation"
    bad = c.post("/api/items", headers=auth, files={"file": ("x.jpg", b"GIF89a nonsense", "image/jpeg")})
    assert bad.status_code == 400 and "x.jpg" in bad.json()["detail"]
    bomb = c.post("/api/items", headers=auth, files={"file": ("bomb.png", _bomb_png(), "image/png")})
    assert bomb.status_code == 400 and "bomb.png" in bomb.json()["detail"]
    assert "pixels" in bomb.json()["detail"] or "megapixel" in bomb.json()["detail"].lower()
    assert c.get("/api/items/../../keys", headers=auth).status_code == 404
    assert c.get("/api/items/zzzz", headers=auth).status_code == 404
    assert "/api/items" in c.get("/openapi.json").json()["paths"]


def test_the_api_page_loads_nothing_from_another_site(site):
    """/docs is Swagger UI from the vendored swagger-ui-dist: FastAPI's default page loads it from a CDN."""
    archive, _ = site
    c = client(archive)
    page = c.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text and "/openapi.json" in page.text
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text), page.text
    assert re.search(r"validatorUrl\W+null", page.text)
    for url in re.findall(r"(?:src|href)=[\"']?(/[^\"' >]+)", page.text):
        r = c.get(url)
        assert r.status_code == 200 and len(r.content) > 500, url
    assert c.get("/redoc").status_code in (303, 404)  # not vendored: off


@BOTH
def test_upload_size_limit(site):
    archive, _ = site
    token = users.new_token(archive, "eddie")
    c = client(archive, max_upload_mb=0.05)
    before = snapshot(archive)
    r = c.post("/api/items", headers={"Authorization": f"Bearer {token}"},
               files={"file": ("big.jpg", (SAMPLES / "astronaut.jpg").read_bytes(), "image/jpeg")})
    assert r.status_code == 413 and "0.05 MB" in r.json()["detail"]
    assert snapshot(archive) == before


@BOTH
def test_bad_token_is_refused(site):
    archive, master = site
    c = client(archive, public=True)
    assert c.get("/api/items", headers={"Authorization": "Bearer dgr_nonsense"}).status_code == 401


@pytest.mark.parametrize("public", [False, True])
def test_an_api_call_without_a_token_is_told_to_send_one_not_to_fix_a_csrf_token(site, public):
    archive, master = site
    c = client(archive, public=public)
    before = snapshot(archive)
    rocket = (SAMPLES / "rocket.jpg").read_bytes()
    for path, kw in (("/api/items", {"files": {"file": ("rocket.jpg", rocket, "image/jpeg")}}),
                     (f"/api/items/{master.id}/jobs", {"json": {"operation": "film", "params": {}}})):
        r = c.post(path, **kw)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["detail"] == "log in first (send Authorization: Bearer TOKEN)"
    login(c, "eddie")  # a browser session still needs its CSRF token
    r = c.post(f"/api/items/{master.id}/jobs", json={"operation": "film", "params": {}})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert snapshot(archive) == before


def test_htmx_requests_after_the_session_ended_send_the_browser_to_the_login_form(site):
    """Polling /jobs, live search and a page's buttons: not a login page swapped into the table or the results."""
    archive, master = site
    c = client(archive)
    token = login(c, "eddie")
    c.post("/logout", data={"csrf": token})  # the session ends (logged out in another tab, or expired)
    base = "http://testserver"
    for method, path, page, kw in (
            ("get", "/jobs", "/jobs", {}),
            ("get", "/?q=moon", "/?q=moon", {"headers": {"HX-Target": "results"}}),
            ("post", f"/items/{master.id}/verify", f"/items/{master.id}", {"headers": {"X-CSRF-Token": token}})):
        headers = {"HX-Request": "true", "HX-Current-URL": base + page, **kw.get("headers", {})}
        r = getattr(c, method)(path, headers=headers)
        assert r.status_code == 401 and "<form" not in r.text, (path, r.status_code, r.text[:200])
        target = r.headers["HX-Redirect"]
        assert target.startswith("/login?next=")
        form = c.get(target).text
        assert f'name="next" value="{page}"' in form, form  # and back there once logged in
    # a plain browser GET still gets the redirect, and the API its JSON
    assert c.get("/jobs").headers["location"] == "/login?next=/jobs"
    assert c.get("/api/items", headers={"HX-Request": "true"}).status_code == 401


def _writes(master_id: str, derivative_id: str) -> list[tuple[str, str, dict]]:
    """Every route that writes: (method, path, request keyword arguments)."""
    import io

    from PIL import Image

    rocket = (SAMPLES / "rocket.jpg").read_bytes()
    mask = io.BytesIO()
    Image.new("L", (64, 48), 255).save(mask, "PNG")  # a damage mask painted on the item page: it would join
    painted = {"data": {"operation": "restore"}, "files": {"damage_mask_file": ("damage-mask.png", mask.getvalue(),
                                                                                 "image/png")}}
    return [
        ("post", f"/items/{master_id}/metadata", {"data": {"title": "vandalised"}}),
        ("post", f"/items/{master_id}/run", painted),
        ("post", f"/items/{master_id}/preview", painted),
        ("post", f"/items/{derivative_id}/verify", {}),
        ("post", f"/items/{master_id}/run", {"data": {"operation": "film", "preset": "sepia"}}),
        ("post", f"/items/{master_id}/preview", {"data": {"operation": "film", "preset": "sepia"}}),
        ("post", "/upload", {"files": [("files", ("rocket.jpg", rocket, "image/jpeg"))]}),
        ("post", "/jobs/0123456789abcdef/cancel", {}),
        ("post", "/batch", {"data": {"q": "moon", "run": "film"}}),
        ("post", "/colour-bank", {"data": {"q": "", "name": "sneaky"}}),
        ("post", "/api/colour-bank", {"json": {"q": "", "name": "sneaky"}}),
        ("post", "/api/items", {"files": {"file": ("rocket.jpg", rocket, "image/jpeg")}}),
        ("post", f"/api/items/{master_id}/jobs", {"json": {"operation": "film", "params": {"preset": "sepia"}}}),
        ("post", "/api/jobs/0123456789abcdef/cancel", {}),
        ("post", "/train", {"data": {"painting": master_id, "name": "sneaky", "steps": "2"}}),
        ("post", "/train/0123456789abcdef/publish", {}),
        ("post", "/api/training", {"json": {"painting": master_id, "name": "sneaky", "steps": 2}}),
        ("post", "/api/training/0123456789abcdef/publish", {}),
    ]


def test_the_refusal_list_names_every_route_that_writes():
    """A write route added to the app but not to `_writes` would go untested for refusal: this fails first."""
    from daguerre.web import api, pages

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    routes = {(m.lower(), shape(r.path)) for router in (api.router, pages.router) for r in router.routes
              for m in (getattr(r, "methods", None) or set()) - {"GET", "HEAD"}}
    listed = {(method, shape(re.sub(r"/(I\w+|0123456789abcdef)(?=/|$)", "/{}", path)))
              for method, path, _ in _writes("Imaster", "Iderivative")}
    assert routes - listed <= {("post", "/login"), ("post", "/logout")}, routes - listed


@BOTH
@pytest.mark.parametrize("who", ["anonymous", "visitor", "viewer", "viewer-token", "editor-without-csrf"])
def test_every_write_is_refused_without_the_right_role(site, who):
    archive, master = site
    [derivative] = archive.children(master.id)
    c = client(archive, public=who == "visitor")
    headers = {}
    token = None
    if who.startswith("viewer"):
        token = login(c, "vera")
    if who == "viewer-token":
        c = client(archive)
        headers = {"Authorization": f"Bearer {users.new_token(archive, 'vera')}"}
    if who == "editor-without-csrf":
        login(c, "eddie")
    before = snapshot(archive)
    for method, path, kw in _writes(master.id, derivative.id):
        kw = dict(kw)
        if token:
            if "data" in kw or "files" in kw:
                kw["data"] = {**kw.get("data", {}), "csrf": token}
            else:
                headers = {**headers, "X-CSRF-Token": token}
        r = getattr(c, method)(path, headers=headers, **kw)
        assert r.status_code in (401, 403), (who, path, r.status_code, r.text[:200])
    assert snapshot(archive) == before  # no job queued either (a colour bank's)
    from daguerre import jobs
    from daguerre.models.registry import list_models

    assert jobs.list_jobs(archive) == []
    assert "sneaky" not in [m.name for m in list_models()]  # no model made either


@BOTH
def test_api_job_runs_in_the_background_and_lands_in_the_archive(site):
    archive, master = site
    headers = {"Authorization": f"Bearer {users.new_token(archive, 'eddie')}"}
    with TestClient(create_app(archive), follow_redirects=False) as c:  # `with`: the job runner thread runs
        r = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                   json={"operation": "film", "params": {"preset": "cyanotype", "strength": 0.8}})
        assert r.status_code == 202, r.text
        job = wait_for_job(c, r.json()["id"], headers)
        assert job["status"] == "done" and job["progress"] == 1.0, job
        made = archive.get(job["derivative_id"])
        assert made.parent_id == master.id and made.operation == "film"
        assert archive.verify(made.id).ok
        page = c.get(f"/items/{made.id}", headers=headers).text
        assert "run on the web by <strong>eddie</strong>" in page and "cyanotype" in page
        bad = c.post(f"/api/items/{master.id}/jobs", headers=headers, json={"operation": "rm -rf", "params": {}})
        assert bad.status_code == 400 and "no operation" in bad.json()["detail"]
        assert c.get("/api/jobs/not-a-job", headers=headers).status_code == 404
        sneaky = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                        json={"operation": "stylize", "params": {"method": "arbitrary", "style": "/etc/passwd"}})
        assert sneaky.status_code == 400 and "style" in sneaky.json()["detail"]
        other = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                       json={"operation": "stylize", "params": {"model": "../../keys/signer"}})
        assert other.status_code == 400 and "paths" in other.json()["detail"]
        for operation in ("restore", "age"):  # a bare folder name would be written in the server's directory
            writes = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                            json={"operation": operation, "params": {"mask_output": "masks"}})
            assert writes.status_code == 400 and "mask_output" in writes.json()["detail"], writes.text
        assert not Path("masks").exists()


@BOTH
def test_api_refuses_parameters_the_operation_would_refuse_before_queueing_a_job(site):
    """A typo in a parameter's name, a malformed hint or an out-of-range value used to be queued (202) and fail
    only when the runner reached the job; now it is a 400 naming the problem, and no job is queued."""
    from daguerre import jobs

    archive, master = site
    headers = {"Authorization": f"Bearer {users.new_token(archive, 'eddie')}"}
    with TestClient(create_app(archive), follow_redirects=False) as c:
        before = len(jobs.list_jobs(archive))
        for operation, params, words in [
                ("restore", {"strenght": 0.5}, "unknown parameter(s) strenght (it takes model, strength"),
                ("restore", {"strength": 3}, "restore: strength must be a number between 0 and 1, got 3"),
                ("colorize", {"hints": ["10,10,green"]}, "hint '10,10,green': expected X,Y,#RRGGBB"),
                ("upscale", {"scale": 3}, "scale must be 2 or 4"),
                ("repair", {"colorize": True, "hints": ["x"]}, "hint 'x'"),
                ("repair", {"scale": 4, "tile": 256, "strengthh": 1}, "repair: unknown parameter(s) strengthh")]:
            r = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                       json={"operation": operation, "params": params})
            assert r.status_code == 400 and words in r.json()["detail"], (operation, r.text)
        assert len(jobs.list_jobs(archive)) == before
        fine = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                      json={"operation": "colorize", "params": {"hints": ["10,10,#00ff00"], "render_size": 64}})
        assert fine.status_code == 202, fine.text


@pytest.mark.parametrize("route", ["preview", "upload"])
def test_a_slow_preview_or_upload_does_not_hold_up_other_requests(site, monkeypatch, route):
    """The work of the async handlers (a preview that exports a model for the first time, a large upload) runs in
    the thread pool: while one is under way, another user's page still loads. Here the slow call waits until a
    page has been served; on the event loop it would wait out its timeout first."""
    import threading

    from daguerre.web import service

    archive, master = site
    served, saw_page = threading.Event(), []
    real = {"preview": service.preview, "upload": service.ingest_upload}[route]

    def slow(*args, **kwargs):
        saw_page.append(served.wait(timeout=15))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, {"preview": "preview", "upload": "ingest_upload"}[route], slow)
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        if route == "preview":
            call = lambda: c.post(f"/items/{master.id}/preview",  # noqa: E731
                                  data={"csrf": token, "operation": "film", "preset": "sepia"})
        else:
            jpeg = io.BytesIO()
            Image.new("RGB", (32, 24), (90, 120, 200)).save(jpeg, "JPEG")
            call = lambda: c.post("/upload", data={"csrf": token},  # noqa: E731
                                  files={"files": ("blue.jpg", jpeg.getvalue(), "image/jpeg")})
        answers = []
        worker = threading.Thread(target=lambda: answers.append(call()))
        worker.start()
        time.sleep(0.5)  # the slow request is under way
        page = c.get("/jobs")
        served.set()
        worker.join(30)
    assert page.status_code == 200 and saw_page == [True]
    assert answers and answers[0].status_code == 200, answers[0].text if answers else "no answer"


def test_run_form_preview_and_job_page(site):
    archive, master = site
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        form = {"csrf": token, "operation": "film", "preset": "sepia", "strength": "1"}
        preview = c.post(f"/items/{master.id}/preview", data=form)
        assert preview.status_code == 200 and "data:image/png;base64," in preview.text
        png = re.search(r'data:image/png;base64,([^"]+)"', preview.text).group(1)
        import base64

        small = Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")
        r, g, b = (sum(ch) / len(ch) for ch in zip(*small.getdata(), strict=True))
        assert r > g > b  # sepia: warm
        wrong = c.post(f"/items/{master.id}/preview", data={**form, "strength": "7"})
        assert wrong.status_code == 400 and "strength" in wrong.text
        run = c.post(f"/items/{master.id}/run", data=form)
        assert run.status_code == 303 and run.headers["location"].startswith("/jobs#job-")
        job_id = run.headers["location"].split("#job-")[1]
        job = wait_for_job(c, job_id, {})
        assert job["status"] == "done" and job["created_by"] == "eddie"
        jobs_page = c.get("/jobs").text
        assert job_id[:8] in jobs_page and job["derivative_id"] in jobs_page


def test_a_preview_keeps_nothing_and_puts_hints_where_they_were_picked(site, tmp_path):
    """A Quick preview with a painting uploaded or damage painted adds no item (each became a master for good, and a
    batch then stylized the mask), and colours a hint where it was picked on the picture, not at those pixels of
    its 256 px copy (a hint on its right half was refused as outside the copy)."""
    import base64

    import numpy as np

    archive, master = site
    grey = tmp_path / "grey.png"
    Image.open(SAMPLES / "chelsea.jpg").convert("L").resize((512, 340)).save(grey)
    [photo] = archive.ingest([grey]).added
    mask, painting = io.BytesIO(), io.BytesIO()
    Image.new("L", (128, 85)).save(mask, "PNG")
    Image.open(SAMPLES / "rocket.jpg").save(painting, "JPEG")
    before = snapshot(archive)
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        for operation, field, upload in (("restore", "damage_mask_file", mask), ("stylize", "style_file", painting)):
            answer = c.post(f"/items/{photo}/preview", data={"csrf": token, "operation": operation},
                            files={field: (f"{field}.png", upload.getvalue())})
            assert answer.status_code == 200 and "data:image/png;base64," in answer.text, answer.text
        assert snapshot(archive) == before
        answer = c.post(f"/items/{photo}/preview", data={"csrf": token, "operation": "colorize",
                                                         "hints": "460,300,#0000ff"})
        assert answer.status_code == 200, answer.text
    png = re.search(r'data:image/png;base64,([^"]+)"', answer.text).group(1)
    small = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"), np.float32)
    assert small.shape[:2] == (170, 256)
    blue = small[..., 2] - small[..., 0]
    assert blue[150, 230] > 20 and blue[150, 230] > blue[20, 20] + 20


@BOTH
def test_cancel_own_job_not_others(site):
    archive, master = site
    from daguerre import jobs

    [theirs] = jobs.submit(archive, [master.id], "film", {"preset": "sepia"}, user="ada")
    [mine] = jobs.submit(archive, [master.id], "film", {"preset": "sepia"}, user="eddie")
    c = client(archive)  # no `with`: the runner does not start, the jobs stay queued
    token = login(c, "eddie")
    assert c.post(f"/jobs/{theirs}/cancel", data={"csrf": token}).status_code == 403
    assert c.post(f"/jobs/{mine}/cancel", data={"csrf": token}).status_code == 303
    assert jobs.get_job(archive, mine)["status"] == "cancelled" and jobs.get_job(archive, theirs)["status"] == "queued"
    admin = client(archive)
    admin_token = login(admin, "ada")
    assert 'hx-trigger="every 1s"' in admin.get("/jobs").text  # a job is queued: the page follows it closely
    fragment = admin.post(f"/jobs/{theirs}/cancel", data={"csrf": admin_token}, headers={"HX-Request": "true"}).text
    assert jobs.get_job(archive, theirs)["status"] == "cancelled"
    assert fragment.count('id="jobs"') == 1 and 'hx-trigger="every 10s"' in fragment  # nothing left to follow
    assert 'hx-trigger="every 10s"' in admin.get("/jobs").text


def test_restart_marks_interrupted_jobs_failed(site):
    archive, master = site
    from daguerre import jobs
    from daguerre.archive.catalogue import Job

    [job_id] = jobs.submit(archive, [master.id], "film", {"preset": "sepia"}, user="eddie")
    with archive.session.begin() as s:  # as a server killed mid-job leaves it
        s.query(Job).filter(Job.id == job_id).update({"status": "running"})
    with TestClient(create_app(archive)):
        pass
    job = jobs.get_job(archive, job_id)
    assert job["status"] == "failed" and "interrupted" in job["error"] and job["item_id"] == master.id


def test_users_commands(tmp_path):
    from typer.testing import CliRunner

    from daguerre.cli import app

    runner = CliRunner()
    path = str(tmp_path / "a")
    Archive.init(path).close()
    added = runner.invoke(app, ["users", "add", "ada", "--role", "admin", "--password-stdin", "-a", path],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    short = runner.invoke(app, ["users", "add", "bob", "--password-stdin", "-a", path], input="short\n")
    assert short.exit_code == 1 and "8 characters" in short.output
    bad_role = runner.invoke(app, ["users", "add", "bob", "--role", "god", "--password-stdin", "-a", path],
                             input=PASSWORD + "\n")
    assert bad_role.exit_code == 1 and "role" in bad_role.output
    token = runner.invoke(app, ["users", "token", "ada", "-a", path]).output.strip()
    with Archive.open(path) as archive:
        assert users.check_token(archive, token).role == "admin"
        assert users.check_password(archive, "ada", PASSWORD).name == "ada"
        assert users.check_password(archive, "ada", "not it at all") is None
        from sqlalchemy import select

        from daguerre.archive.users import Token, User

        with archive.session() as s:  # only hashes are stored
            assert token not in {t.sha256 for t in s.scalars(select(Token))}
            assert s.scalar(select(User.password_hash)).startswith("$argon2")
    listed = runner.invoke(app, ["users", "list", "-a", path]).output
    assert "ada\tadmin\t1 token(s)" in listed
    # the archive's commands spell it -A: both spellings name the archive everywhere
    assert runner.invoke(app, ["users", "list", "-A", path]).output == listed
    assert runner.invoke(app, ["archive", "list", "-a", path]).exit_code == 0
    assert runner.invoke(app, ["users", "remove", "ada", "-a", path]).exit_code == 0
    with Archive.open(path) as archive:
        assert users.check_token(archive, token) is None and users.accounts(archive) == []


def test_serve_warns_on_all_interfaces_without_admin(tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from daguerre.cli import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    path = str(tmp_path / "a")
    Archive.init(path).close()
    runner = CliRunner()
    local = runner.invoke(app, ["serve", "-a", path])
    assert local.exit_code == 0 and "warning" not in local.output and calls[-1]["host"] == "127.0.0.1"
    everyone = runner.invoke(app, ["serve", "-a", path, "--host", "0.0.0.0", "--port", "8123"])
    assert "no admin account" in everyone.output and calls[-1] == {"host": "0.0.0.0", "port": 8123,
                                                                  "log_level": "info"}
    with Archive.open(path) as archive:
        users.add(archive, "ada", "admin", PASSWORD)
    assert "warning" not in runner.invoke(app, ["serve", "-a", path, "--host", "0.0.0.0"]).output


def test_upload_folder_with_a_metadata_sheet(site):
    archive, _ = site
    c = client(archive)
    token = login(c, "eddie")
    sheet = b"filename,title,creator\nscans/rocket.jpg,Launch pad,Cape staff\nchelsea.jpg,Chelsea,Unknown\n"
    r = c.post("/upload", data={"csrf": token}, files=[
        ("folder", ("scans/rocket.jpg", (SAMPLES / "rocket.jpg").read_bytes(), "image/jpeg")),
        ("folder", ("scans/chelsea.jpg", (SAMPLES / "chelsea.jpg").read_bytes(), "image/jpeg")),
        ("sheet", ("sheet.csv", sheet, "text/csv"))])
    assert r.status_code == 200 and r.text.count('class="added"') == 2
    assert "matched no uploaded file" not in r.text
    assert archive.search("launch")[0].creator == "Cape staff", [(i.title, i.creator) for i in archive.items()]
    missed = c.post("/upload", data={"csrf": token}, files=[  # a row whose name matches no file is said, not lost
        ("files", ("coffee.jpg", (SAMPLES / "coffee.jpg").read_bytes(), "image/jpeg")),
        ("sheet", ("sheet.csv", b"filename,title\nCoffee.JPG,Cup\ncoffee.jpg,Coffee cup\n", "text/csv"))])
    assert missed.status_code == 200
    assert "metadata sheet: 1 row matched no uploaded file: Coffee.JPG (line 2)" in missed.text
    assert archive.search("chelsea", kind="master")[-1].creator == "Unknown"
    bad = c.post("/upload", data={"csrf": token}, files=[
        ("files", ("x.jpg", (SAMPLES / "coffee.jpg").read_bytes(), "image/jpeg")),
        ("sheet", ("typo.csv", b"filename,titel\nx.jpg,Oops\n", "text/csv"))])
    assert bad.status_code == 400 and "typo.csv" in bad.text and "titel" in bad.text


def test_batch_over_a_search_result(site):
    archive, master = site
    from daguerre import jobs

    c = client(archive)
    token = login(c, "eddie")
    assert "Queue batch" in c.get("/", params={"q": "moon"}).text
    r = c.post("/batch", data={"csrf": token, "q": "moon", "kind": "master", "run": "film"})
    assert r.status_code == 303
    [job] = jobs.list_jobs(archive)
    assert job["item_id"] == master.id and job["params"] == {"preset": "sepia", "strength": 1.0}
    assert job["run_id"] and job["created_by"] == "eddie"
    assert c.post("/batch", data={"csrf": token, "q": "no-such-word", "run": "film"}).status_code == 400


@BOTH
def test_cancel_a_running_job_stops_it_between_steps(site):
    import time

    archive, master = site
    headers = {"Authorization": f"Bearer {users.new_token(archive, 'eddie')}"}
    painting = archive.search("chelsea")[0]
    with TestClient(create_app(archive), follow_redirects=False) as c:
        # far more optimisation steps than the test could wait for: only a cancel ends it in time
        params = {"method": "optimize", "style": painting.id, "steps": 100_000, "size": 64, "optimizer": "adam"}
        slow = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                      json={"operation": "stylize", "params": params}).json()["id"]
        after = c.post(f"/api/items/{master.id}/jobs", headers=headers,
                       json={"operation": "film", "params": {"preset": "sepia"}}).json()["id"]
        job = {"status": "queued", "progress": 0}
        for _ in range(600):
            job = c.get(f"/api/jobs/{slow}", headers=headers).json()
            if job["status"] == "running" and job["progress"] > 0:
                break
            time.sleep(0.2)
        assert job["status"] == "running" and job["progress"] > 0, job
        viewer = {"Authorization": f"Bearer {users.new_token(archive, 'vera')}"}
        assert c.post(f"/api/jobs/{slow}/cancel", headers=viewer).status_code == 403
        r = c.post(f"/api/jobs/{slow}/cancel", headers=headers)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        done = wait_for_job(c, after, headers)  # the single runner got past the stylize: it stopped
        assert done["status"] == "done"
        cancelled = c.get(f"/api/jobs/{slow}", headers=headers).json()
        assert cancelled["status"] == "cancelled" and cancelled["derivative_id"] is None
        assert [i.operation for i in archive.children(master.id)] == ["test-tint", "film"]
        for _ in range(50):  # the runner saw the worker stop and removed the cancel note
            if archive.store.read_note(f"cancel/{slow}") is None:
                break
            time.sleep(0.1)
        assert archive.store.read_note(f"cancel/{slow}") is None
        assert c.post(f"/api/jobs/{slow}/cancel", headers=headers).status_code == 409


def test_item_bag_download_is_a_valid_bag_another_archive_imports(site, tmp_path):
    import zipfile

    import bagit

    archive, master = site
    [derivative] = archive.children(master.id)
    c = client(archive)
    assert c.get(f"/items/{derivative.id}/bag.zip").status_code == 303  # anonymous: log in first
    login(c, "vera")  # a viewer may download, as the master itself
    assert 'href="/items/' + derivative.id + '/bag.zip"' in c.get(f"/items/{derivative.id}").text
    r = c.get(f"/items/{derivative.id}/bag.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert f'filename="{master.id}-bag.zip"' in r.headers["content-disposition"]
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(tmp_path / "unzipped")
    path = tmp_path / "unzipped" / f"{master.id}-bag"
    bagit.Bag(str(path)).validate()
    objects = sorted(p.name for p in (path / "data" / "objects").iterdir())
    assert objects == sorted(f"{i.sha256}.{'png' if i.kind == 'derivative' else 'jpg'}" for i in (master, derivative))
    other_photo = archive.search("coffee")[0]
    assert other_photo.sha256 not in " ".join(objects)  # only this item's family
    with Archive.init(tmp_path / "elsewhere") as elsewhere:
        elsewhere.import_bag(path, trust_signer=True)
        assert {i.id for i in elsewhere.items()} == {master.id, derivative.id}
        assert elsewhere.verify(derivative.id).ok


def test_train_a_style_model_watch_it_and_publish_it_to_the_gallery(site, tmp_path, monkeypatch):
    """Upload a Met painting, train a handful of steps on an archive search, watch, publish; cancel a second run."""
    import time

    from daguerre.data.sources import paintings
    from daguerre.models.registry import list_models, user_models_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    archive, master = site
    [painting] = [p for p in paintings("train") if p.name == "436535.jpg"] or paintings("train")[:1]
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        assert "Start training" in c.get("/train").text
        form = {"csrf": token, "name": "wheat-test", "content": "search", "query": "moon", "steps": "4",
                "batch_size": "1", "crop": "64"}
        bad = c.post("/train", data={**form, "name": "Bad Name!"},
                     files={"painting_file": ("wheat.jpg", painting.read_bytes(), "image/jpeg")})
        assert bad.status_code == 400 and "name" in bad.text
        assert len(archive.items()) == 5  # the refused painting was not stored
        r = c.post("/train", data=form, files={"painting_file": ("wheat.jpg", painting.read_bytes(), "image/jpeg")})
        assert r.status_code == 303, r.text
        job_id = r.headers["location"].rsplit("/", 1)[1]
        assert c.get(f"/train/{job_id}").status_code == 200
        job = wait_for_job(c, job_id, {}, timeout=600)
        assert job["status"] == "done", job
        assert archive.get(job["item_id"]).filename == "wheat.jpg"  # the uploaded painting is in the archive
        page = c.get(f"/train/{job_id}").text
        assert "wheat-test" in page and "Publish to the gallery" in page and "hx-trigger" not in page
        assert "masters of the archive matching" in page  # the card says what it learnt from
        plot = Image.open(io.BytesIO(c.get(f"/train/{job_id}/losses.png").content))
        sample = re.search(rf"/train/{job_id}/(samples_\d{{6}})\.png", page).group(1)
        grid = Image.open(io.BytesIO(c.get(f"/train/{job_id}/{sample}.png").content)).convert("RGB")
        assert plot.size[0] > 100 and grid.size[0] > 3 * 64
        assert c.get(f"/train/{job_id}/..%2F..%2Fkeys.png").status_code == 404
        # a viewer may watch but not publish
        viewer = client(archive)
        viewer_token = login(viewer, "vera")
        assert "Start training" not in viewer.get("/train").text
        assert viewer.post(f"/train/{job_id}/publish", data={"csrf": viewer_token}).status_code == 403
        assert "wheat-test" not in {m.name for m in list_models()}
        published = c.post(f"/train/{job_id}/publish", data={"csrf": token})
        assert published.status_code == 303 and published.headers["location"] == "/models#model-wheat-test"
        card = {m.name: m for m in list_models()}["wheat-test"]
        assert Path(card.path) == user_models_dir() and card.training["steps"] == 4
        assert 'id="model-wheat-test"' in c.get("/models").text
        assert 'value="wheat-test"' in c.get(f"/items/{master.id}").text  # in the Run form's gallery
        again = c.post("/train", data={**form, "painting": job["item_id"]})
        assert again.status_code == 400 and "already installed" in again.text
        auth = {"Authorization": f"Bearer {users.new_token(archive, 'eddie')}"}
        api = c.post("/api/training", headers=auth, json={"painting": job["item_id"], "name": "wheat-test"})
        assert api.status_code == 400 and "already installed" in api.json()["detail"]
        assert c.post(f"/api/training/{job_id}/publish", headers=auth).json()["name"] == "wheat-test"  # idempotent
        # a long run is cancelled between steps and the training lane goes on to the next run; pictures' jobs
        # have their own lane and do not wait for training
        r = c.post("/api/training", headers=auth, json={"painting": job["item_id"], "name": "too-long",
                                                         "content": "search:moon", "steps": 20000, "crop": 64})
        assert r.status_code == 202, r.text
        long_id = r.json()["id"]
        after_id = c.post("/api/training", headers=auth, json={"painting": job["item_id"], "name": "next-one",
                                                                "content": "search:moon", "steps": 1, "crop": 64,
                                                                "batch_size": 1}).json()["id"]
        film = c.post(f"/items/{master.id}/run", data={"csrf": token, "operation": "film", "preset": "sepia"})
        assert wait_for_job(c, film.headers["location"].split("#job-")[1], {})["status"] == "done"
        for _ in range(1500):
            running = c.get(f"/api/jobs/{long_id}").json()
            if running["status"] != "queued" and running["progress"] > 0:
                break
            time.sleep(0.2)
        assert running["status"] == "running", running
        assert c.post(f"/jobs/{long_id}/cancel", data={"csrf": token}).status_code == 303
        assert wait_for_job(c, after_id, {})["status"] == "done"
        assert c.get(f"/api/jobs/{long_id}").json()["status"] == "cancelled"
        stopped = c.get(f"/train/{long_id}").text
        assert "cancelled" in stopped and "The model" not in stopped and "hx-trigger" not in stopped
        assert not (archive.path / "cache" / "training" / long_id / "model").exists()


def test_stylize_gallery_thumbnails_and_an_uploaded_painting(site):
    import numpy as np

    archive, master = site
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        page = c.get(f"/items/{master.id}").text
        assert page.count('class="style-pick"') >= 12 and "Any painting" in page
        assert 'value="van-gogh-wheat-field"' in page and 'name="style_file"' in page
        thumb = c.get("/models/van-gogh-wheat-field/thumb.jpg")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        styled = np.asarray(Image.open(io.BytesIO(thumb.content)).convert("RGB"), np.float32)
        photo = Image.open(SAMPLES / "astronaut.jpg").convert("RGB")
        photo.thumbnail((192, 192))
        assert styled.shape[:2] == np.asarray(photo).shape[:2]
        assert np.abs(styled - np.asarray(photo, np.float32)).mean() > 10  # the style changed the photo
        [cached] = (archive.path / "cache" / "gallery").glob("van-gogh-wheat-field-*.jpg")
        assert cached.read_bytes() == c.get("/models/van-gogh-wheat-field/thumb.jpg").content
        assert c.get("/models/restore-photos/thumb.jpg").status_code == 404  # not a style model
        assert c.get("/models/..%2F..%2Fkeys/thumb.jpg").status_code == 404
        chosen = c.post(f"/items/{master.id}/preview", data={"csrf": token, "operation": "stylize",
                                                              "model": "van-gogh-wheat-field", "strength": "1"})
        assert chosen.status_code == 200 and "data:image/png" in chosen.text
        before = len(archive.items())
        painting = (SAMPLES / "chelsea.jpg").read_bytes()
        anyone = c.post(f"/items/{master.id}/preview", data={"csrf": token, "operation": "stylize", "model": "",
                                                             "strength": "1"},
                        files={"style_file": ("my painting.jpg", painting, "image/jpeg")})
        assert anyone.status_code == 200 and "data:image/png" in anyone.text, anyone.text
        assert len(archive.items()) == before  # a preview keeps nothing
        broken = c.post(f"/items/{master.id}/preview", data={"csrf": token, "operation": "stylize", "model": ""},
                        files={"style_file": ("p.jpg", b"not a picture", "image/jpeg")})
        assert broken.status_code == 400 and "p.jpg" in broken.text and "daguerre-preview" not in broken.text
        run = c.post(f"/items/{master.id}/run", data={"csrf": token, "operation": "stylize", "model": "",
                                                      "strength": "1"},
                     files={"style_file": ("my painting.jpg", painting, "image/jpeg")})
        assert run.status_code == 303 and len(archive.items()) == before + 1  # a run's painting joins the archive


def test_a_grey_reference_is_named_by_its_item_id_not_a_store_path(site):
    """The web turns a reference's item id into the stored file's path for the operation; its errors (a job's
    on the Jobs page and the API, a preview's) name the item again, never a path on the server."""
    archive, master = site
    [grey] = [i for i in archive.search("") if i.filename == "camera.png"]
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        form = {"csrf": token, "operation": "colorize", "reference": grey.id}
        preview = c.post(f"/items/{grey.id}/preview", data=form)
        assert preview.status_code == 400 and f"reference {grey.id}: the reference is grey" in preview.text
        assert "objects/" not in preview.text, preview.text
        run = c.post(f"/items/{grey.id}/run", data=form)
        job = wait_for_job(c, run.headers["location"].split("#job-")[1], {})
        assert job["status"] == "failed" and f"reference {grey.id}: the reference is grey" in job["error"], job
        assert job["params"]["reference"] == grey.id and "objects/" not in str(job)
        page = c.get("/jobs").text
        assert f"reference {grey.id}: the reference is grey" in page and "objects/" not in page


def test_repair_form_takes_a_reference_and_hints_for_its_colorize_step(site):
    """The repair fieldset has the colorize one's reference and hint fields; giving either colours the repair
    (colorize implied), and the job's recipe records them."""
    archive, master = site
    [grey] = [i for i in archive.search("") if i.filename == "camera.png"]
    from daguerre.web.forms import params_from_form

    params = params_from_form(archive, "repair", {"reference": master.id, "hints_list": ["10,10,#c02020"]})
    assert params["colorize"] is True and params["hints"] == ["10,10,#c02020"]
    assert params["reference"] == str(archive.store.local_path(master.sha256))
    assert params_from_form(archive, "repair", {}) == {}  # a plain restore stays one
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        page = c.get(f"/items/{grey.id}").text
        repair = page.split('<fieldset data-op="repair">')[1].split("</fieldset>")[0]
        assert 'name="reference"' in repair and 'class="hint-target"' in repair and 'name="colorize"' in repair
        run = c.post(f"/items/{grey.id}/run", data={"csrf": token, "operation": "repair", "reference": master.id,
                                                     "hints": "20,20,#d01010"})
        assert run.status_code == 303, run.text
        job = wait_for_job(c, run.headers["location"].split("#job-")[1], {})
        assert job["status"] == "done", job
        assert job["params"]["reference"] == master.id and job["params"]["hints"] == ["20,20,#d01010"]
        made = archive.get(job["derivative_id"])
        with archive.store.as_file(made.sha256) as path:
            rgb = Image.open(path).convert("RGB")
        r, g, b = rgb.getpixel((20, 20))
        assert r > g + 30 and r > b + 30, (r, g, b)  # the red hint's colour where it was put
        viewer = client(archive)
        vtoken = login(viewer, "vera")
        refused = viewer.post(f"/items/{grey.id}/run", data={"csrf": vtoken, "operation": "repair",
                                                              "reference": master.id})
        assert refused.status_code == 403


def test_the_item_pages_run_form_gets_its_error_as_a_fragment_and_its_job_as_a_redirect(site):
    """Sent by htmx, a refused run answers a one-line fragment for beside the form (which keeps its input) and a
    queued one a redirect to its job; a viewer is refused either way; without htmx, pages as before."""
    archive, master = site
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        hx = {"HX-Request": "true"}
        bad = c.post(f"/items/{master.id}/run", headers=hx,
                     data={"csrf": token, "operation": "colorize", "reference": "abcdef12"})
        assert bad.status_code == 400 and bad.text.startswith('<p class="error">abcdef12: no such item'), bad.text
        assert "<html" not in bad.text
        good = c.post(f"/items/{master.id}/run", headers=hx, data={"csrf": token, "operation": "film"})
        assert good.status_code == 204 and good.headers["HX-Redirect"].startswith("/jobs#job-")
        assert wait_for_job(c, good.headers["HX-Redirect"].split("#job-")[1], {})["status"] == "done"
        plain = c.post(f"/items/{master.id}/run",
                       data={"csrf": token, "operation": "colorize", "reference": "abcdef12"})
        assert plain.status_code == 400 and "<html" in plain.text
    viewer = client(archive)
    vtoken = login(viewer, "vera")
    before = snapshot(archive)
    refused = viewer.post(f"/items/{master.id}/run", headers={"HX-Request": "true"},
                          data={"csrf": vtoken, "operation": "film"})
    assert refused.status_code == 403 and "HX-Redirect" not in refused.headers
    assert snapshot(archive) == before


def test_a_recipes_reference_shows_as_its_item_not_a_store_path(site):
    """The item page's history shows the pictures a recipe took (a colorize's reference) as links to their items,
    not the stored files' paths on the server that the recipe records."""
    archive, master = site
    [grey] = [i for i in archive.search("") if i.filename == "camera.png"]
    reference = str(archive.store.local_path(master.sha256))
    [made] = [i.id for i in archive.apply("colorize", [grey.id], {"reference": reference})]
    c = client(archive)
    login(c, "vera")
    page = c.get(f"/items/{made}").text
    assert "objects/" not in page and f'<a href="/items/{master.id}">{master.id}</a>' in page
    assert reference in str(archive.events_of(made)[0].outcome_detail["recipe"]["params"]["reference"])  # kept so



def test_a_colour_master_colorized_shows_the_note_its_event_records(site):
    """Colorize replaces a colour master's colours: the derivative's history says so (`Operation.notes`)."""
    archive, master = site
    [colour] = [i for i in archive.search("") if i.filename == "chelsea.png"]
    [made] = [i.id for i in archive.apply("colorize", [colour.id])]
    c = client(archive)
    login(c, "vera")
    assert ("<dt>note</dt><dd>already in colour: colorize replaces its colours with new ones made from its grey "
            "levels</dd>") in c.get(f"/items/{made}").text

@BOTH
def test_a_page_or_offset_past_any_number_is_an_empty_page_not_a_server_error(site):
    """A hand-edited ?page= or ?offset= too large for the catalogue's 64-bit integers shows an
    empty page past the end, not a 500."""
    archive, master = site
    c = client(archive)
    login(c, "vera")
    for huge in ("99999999999999999999", str(2**63 // 48 + 1)):
        page = c.get(f"/?page={huge}")
        assert page.status_code == 200 and "5 items" in page.text, page.status_code
        api = c.get(f"/api/items?offset={huge}")
        assert api.status_code == 200 and api.json() == {"total": 5, "items": []}


def test_a_malformed_query_on_a_page_is_a_one_line_error_page_and_json_on_the_api(site):
    """?page=abc on the collection answers the site's error page naming the parameter, not FastAPI's JSON."""
    archive, master = site
    c = client(archive)
    login(c, "vera")
    page = c.get("/?page=abc")
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "page: &#39;abc&#39; is not a valid integer" in page.text and "Back to the collection" in page.text
    api = c.get("/api/items?offset=abc")
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "offset"]


def test_stylize_with_neither_a_style_nor_a_painting_says_so_in_the_forms_words(site):
    """'Any painting' picked and none given: the Run form says to pick a style or give a painting, before any job
    is queued (it answered the CLI's "method 'fast' needs a model name (see `daguerre models`)")."""
    archive, master = site
    from daguerre.web.forms import FormError, params_from_form

    with pytest.raises(FormError, match="pick a style in the gallery or give a painting"):
        params_from_form(archive, "stylize", {"model": "", "strength": "1"})
    c = client(archive)
    token = login(c, "eddie")
    form = {"csrf": token, "operation": "stylize", "model": "", "strength": "1"}
    preview = c.post(f"/items/{master.id}/preview", data=form)
    assert preview.status_code == 400 and "pick a style in the gallery or give a painting" in preview.text
    before = snapshot(archive)
    run = c.post(f"/items/{master.id}/run", data=form, headers={"HX-Request": "true"})
    assert run.status_code == 400 and "pick a style" in run.text and snapshot(archive) == before


def test_restore_form_takes_a_tone_reference_from_the_archive(site):
    """restore matches tone and colour to a reference (a clean print, a period photo): the Run form's restore
    fieldset takes one by item id, and the job's recipe records it with its sha256."""
    archive, master = site
    [grey] = [i for i in archive.search("") if i.filename == "camera.png"]
    from daguerre.web.forms import params_from_form

    assert params_from_form(archive, "restore", {"reference": master.id})["reference"] == str(
        archive.store.local_path(master.sha256))
    for operation in ("restore", "repair"):  # a mask of marked damage, also by item id
        assert params_from_form(archive, operation, {"damage_mask": master.id})["damage_mask"] == str(
            archive.store.local_path(master.sha256))
    with TestClient(create_app(archive), follow_redirects=False) as c:
        token = login(c, "eddie")
        page = c.get(f"/items/{grey.id}").text
        fieldset = page.split('<fieldset data-op="restore">')[1].split("</fieldset>")[0]
        assert 'name="reference"' in fieldset and 'name="damage_mask"' in fieldset
        run = c.post(f"/items/{grey.id}/run", data={"csrf": token, "operation": "restore", "reference": master.id})
        job = wait_for_job(c, run.headers["location"].split("#job-")[1], {})
        assert job["status"] == "done", job
        recipe = archive.events_of(job["derivative_id"])[0].outcome_detail["recipe"]
        assert recipe["input_files"] == {recipe["params"]["reference"]: master.sha256}


def test_an_editor_queues_a_colour_bank_of_the_masters_the_collection_shows_and_watches_it(site, tmp_path,
                                                                                           monkeypatch):
    """The collection view's colour-bank form queues a job in the training lane: the colour masters it shows (never
    the derivatives), frozen when queued, become a bank the Models page lists and colorize's Run form offers once
    the job is done; a bad name, a taken one, no match or too many masters are one-line 400s that queue nothing."""
    import html

    from daguerre import jobs
    from daguerre.jobs import colour_bank
    from daguerre.models.registry import list_models, user_models_dir
    from daguerre.web import forms

    archive, master = site
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    forms.forget_installed()
    masters = [i.id for i in archive.items(kind="master")]
    with client(archive) as c:
        token = login(c, "eddie")
        assert 'action="/colour-bank"' in c.get("/").text  # the Run form's models are read (and cached) here
        monkeypatch.setattr(colour_bank, "MAX_MASTERS", len(masters) - 1)
        for name, q, words in [("no spaces", "", "model name 'no spaces'"),
                               ("colour-bank", "", "'colour-bank' is already installed"),
                               ("empty", "no such words", "no masters match (search 'no such words')"),
                               ("many", "", f"more than {len(masters) - 1} masters match")]:
            bad = c.post("/colour-bank", data={"csrf": token, "q": q, "name": name})
            assert bad.status_code == 400 and words in html.unescape(bad.text), (name, bad.text[-500:])
        assert jobs.list_jobs(archive) == []
        monkeypatch.setattr(colour_bank, "MAX_MASTERS", len(masters))  # the limit itself is allowed

        made = c.post("/colour-bank", data={"csrf": token, "q": "", "name": "web-bank", "per_photo": "30"})
        assert made.status_code == 303 and made.headers["location"].startswith("/train/"), made.text[:300]
        job_id = made.headers["location"].rsplit("/", 1)[1]
        job = wait_for_job(c, job_id, {})
        assert job["status"] == "done" and job["operation"] == "train-colour-bank", job
        assert sorted(job["params"]["masters"]) == sorted(masters)  # frozen when queued: no derivative
        card = {m.name: m for m in list_models()}["web-bank"]
        assert Path(card.path) == user_models_dir() and sorted(card.training["items"]) == sorted(masters)
        assert len(card.training["photos"]) == 3  # the grey camera skipped
        page = c.get(f"/train/{job_id}").text
        assert 'href="/models#model-web-bank"' in page and "hx-trigger" not in page
        assert f"colour bank web-bank, {len(masters)} masters" in c.get("/train").text
        assert "colour bank web-bank" in c.get("/jobs").text
        assert "web-bank" in c.get("/models").text
        run_form = c.get(f"/items/{master.id}").text
        assert '<option value="web-bank"' in run_form or ">web-bank<" in run_form
        again = c.post("/colour-bank", data={"csrf": token, "q": "coffee", "name": "web-bank"})
        assert again.status_code == 400 and "already installed" in again.text

        auth = {"Authorization": f"Bearer {users.new_token(archive, 'eddie')}"}
        api = c.post("/api/colour-bank", headers=auth, json={"name": "cups", "q": "coffee", "per_photo": 5})
        assert api.status_code == 202, api.text
        assert wait_for_job(c, api.json()["id"], {})["params"]["masters"] == [archive.search("coffee")[0].id]
    forms.forget_installed()


def test_a_colour_bank_jobs_page_shows_its_photos_and_its_failure(site, tmp_path, monkeypatch):
    """While the job runs its page counts the photos; a master whose stored file is torn fails the job with a
    one-line error naming that master, and no bank is installed."""
    from sqlalchemy import update

    from daguerre import jobs
    from daguerre.archive.catalogue import Job
    from daguerre.models.registry import list_models

    archive, master = site
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    stored = archive.store.local_path(master.sha256)
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:300])
    c = client(archive)  # no `with`: the runner does not start until asked
    token = login(c, "eddie")
    made = c.post("/colour-bank", data={"csrf": token, "q": "", "name": "torn-bank", "per_photo": "5"})
    job_id = made.headers["location"].rsplit("/", 1)[1]
    with archive.session.begin() as s:  # as the runner shows it halfway
        s.execute(update(Job).where(Job.id == job_id).values(status="running", progress=0.5))
    halfway = c.get(f"/train/{job_id}").text
    assert re.search(r'photo <span class="step">2</span> of 4', halfway) and "Cancel" in halfway
    with archive.session.begin() as s:
        s.execute(update(Job).where(Job.id == job_id).values(status="queued", progress=0.0))
    assert jobs.run_jobs(archive, job_ids=[job_id], backend="inline").failed == 1
    job = c.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"].startswith(f"{master.id}: its stored file cannot be read")
    assert f"{master.id}: its stored file cannot be read" in c.get(f"/train/{job_id}").text
    assert "torn-bank" not in [m.name for m in list_models()]
