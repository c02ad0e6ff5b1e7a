"""The web app in a real browser: Debian's chromium driven by Playwright, against a server on 127.0.0.1.

`make test` installs chromium (scripts/ensure-chromium.sh); when it or Playwright is missing these tests fail
and say so: they never skip silently. Screenshots of the main pages go to docs/screenshots/ (README).
"""

from __future__ import annotations

import inspect
import io
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from daguerre.archive import Archive, users

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "src" / "daguerre" / "samples"
SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "correct horse battery"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed: run `make test` (scripts/ensure-chromium.sh) or "
                    "`apt-get install chromium`", pytrace=False)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`daguerre serve --public` on a free port of 127.0.0.1 over an archive of the bundled samples."""
    try:
        import uvicorn

        from daguerre.web.app import create_app
    except ImportError as e:
        pytest.fail(f"the web extra is not installed ({e}): pip install -e '.[web]'", pytrace=False)
    archive = Archive.init(tmp_path_factory.mktemp("browser") / "archive")
    archive.ingest([SAMPLES / "astronaut.jpg", SAMPLES / "coffee.jpg"])
    users.add(archive, "eddie", "editor", PASSWORD)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(archive, public=True), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", archive
    srv.should_exit = True
    thread.join(timeout=30)
    archive.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("PyPI playwright is not installed: pip install -e '.[web]'", pytrace=False)
    executable = chromium_path()
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh profile for every run
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=executable, args=ARGS,
                                                       headless=True, viewport={"width": 1100, "height": 760})
        yield context
        context.close()


def shoot(page, name: str) -> None:
    """A small PNG of the page for the README (palette-quantised)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_function("[...document.images].filter(i => i.getBoundingClientRect().top < innerHeight)"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
    im = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    im.quantize(colors=128).save(SHOTS / f"{name}.png", optimize=True)


def wait_for_job(page, base: str, timeout_ms: int = 240_000) -> str:
    """On the jobs page, wait (live htmx updates, no reload) until the newest job is done; its derivative id."""
    row = page.locator("table.jobs tbody tr").first
    row.locator("td:nth-child(5):text-matches('done|failed|cancelled')").wait_for(timeout=timeout_ms)
    status = row.locator("td:nth-child(5)").inner_text().strip()
    assert status == "done", row.inner_text()
    return row.locator("td:nth-child(7) a").inner_text().strip()


def test_visitor_browses_but_cannot_write(server, browser):
    base, archive = server
    page = browser.new_page()
    page.goto(base + "/")
    assert page.locator(".grid li").count() == 2
    assert page.get_by_role("link", name="Upload").count() == 0
    page.locator(".grid li a").first.click()
    assert page.locator("form[action$='/metadata']").count() == 0 and page.locator("#run").count() == 0
    before = len(archive.items())
    sample = (SAMPLES / "rocket.jpg").read_bytes()
    r = page.request.post(base + "/api/items", multipart={"file": {"name": "rocket.jpg", "mimeType": "image/jpeg",
                                                                  "buffer": sample}})
    assert r.status in (401, 403) and len(archive.items()) == before
    page.goto(base + "/upload")
    assert "/login" in page.url
    page.close()


def test_editor_uploads_runs_jobs_compares_zooms_and_reads_history(server, browser):
    base, archive = server
    page = browser.new_page()
    page.goto(base + "/login")
    page.fill("input[name=name]", "eddie")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button")
    page.wait_for_url(base + "/")

    page.goto(base + "/upload")
    page.set_input_files("input[type=file]", str(SAMPLES / "rocket.jpg"))
    page.click("form button:text('Upload')")
    page.locator(".report li.added").wait_for()
    shoot(page, "upload")
    page.locator(".report li.added a").click()
    item_url = page.url
    item_id = item_url.rsplit("/", 1)[1]
    assert archive.get(item_id).filename == "rocket.jpg"

    # stylize with the first installed style model, in the background
    page.select_option("#operation", "stylize")
    page.click("button:text('Quick preview')")
    page.locator("#preview img").wait_for(timeout=60_000)
    page.click("button:text('Run at full size')")
    page.wait_for_url("**/jobs*")
    styled = wait_for_job(page, base)
    shoot(page, "jobs")
    assert archive.get(styled).operation == "stylize" and archive.get(styled).parent_id == item_id

    # colorize with a colour hint picked on the picture
    from daguerre.ops import get_operation

    if "hints" not in inspect.signature(get_operation("colorize").run).parameters:
        pytest.xfail("colorize takes no `hints` yet (they come with the colorize branch); stylize passed")
    page.goto(item_url)
    page.select_option("#operation", "colorize")
    page.eval_on_selector("fieldset[data-op=colorize] .hint-colour", "el => el.value = '#2a7f3f'")
    page.locator("fieldset[data-op=colorize] .hint-target").click(position={"x": 40, "y": 40})
    assert page.locator("fieldset[data-op=colorize] .hint-list li").count() == 1
    page.click("button:text('Run at full size')")
    page.wait_for_url("**/jobs*")
    coloured = wait_for_job(page, base)
    assert archive.get(coloured).operation == "colorize"
    assert archive.events_of(coloured)[0].outcome_detail["recipe"]["params"]["hints"][0].endswith("#2a7f3f")


def test_item_page_slider_zoom_and_history(server, browser):
    base, archive = server
    master = archive.items(kind="master")[0]
    [derivative] = archive.apply("film", [master.id], {"preset": "sepia"})
    page = browser.new_page()
    page.goto(f"{base}/items/{derivative.id}")
    slider = page.locator("img-comparison-slider")
    slider.wait_for()
    start = page.eval_on_selector("img-comparison-slider", "el => el.value")
    box = slider.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.up()
    moved = page.eval_on_selector("img-comparison-slider", "el => el.value")
    assert float(moved) < float(start) - 10, (start, moved)

    page.wait_for_function("window.viewer && window.viewer.world.getItemCount() > 0", timeout=30_000)
    zoom = page.evaluate("window.viewer.viewport.getZoom(true)")
    page.locator("#zoom").scroll_into_view_if_needed()
    z = page.locator("#zoom").bounding_box()
    page.mouse.move(z["x"] + z["width"] / 2, z["y"] + z["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -300)
    page.wait_for_timeout(800)
    assert page.evaluate("window.viewer.viewport.getZoom(true)") > zoom * 1.2
    tiles = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                          ".filter(n => n.includes('/iiif/'))")
    assert any(t.endswith("/info.json") for t in tiles) and any(t.endswith("default.jpg") for t in tiles)

    history = page.locator("#history").inner_text()
    assert "ingestion" in history and "creation" in history and "sepia" in history
    page.locator("#history").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "item")
    page.goto(base + "/")
    shoot(page, "collection")
    page.goto(base + "/models")
    shoot(page, "models")


def test_editor_trains_a_style_watches_it_and_publishes_it(server, browser, monkeypatch, tmp_path):
    """The Train page: upload a painting, train a handful of steps on an archive search, watch the losses and the
    sample grid arrive without reloading, publish the model and find it in the Run form's gallery."""
    from daguerre.data.sources import paintings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))  # the server runs in this process
    base, archive = server
    painting = next((p for p in paintings("train") if p.name == "436535.jpg"), paintings("train")[0])
    page = browser.new_page()
    page.goto(base + "/login")
    page.fill("input[name=name]", "eddie")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button")  # the header's form is Log out when the profile has a session already
    page.wait_for_url(base + "/")
    page.goto(base + "/train")
    page.set_input_files("input[name=painting_file]", str(painting))
    page.check("input[name=content][value=search]")
    page.fill("input[name=query]", "astronaut")
    page.fill("input[name=name]", "browser-wheat")
    page.click("summary:text('Recipe')")
    page.fill("input[name=steps]", "6")
    page.fill("input[name=batch_size]", "1")
    page.fill("input[name=crop]", "64")
    page.click("button:text('Start training')")
    page.wait_for_url("**/train/*")
    page.locator("#training .status:text('done')").wait_for(timeout=600_000)  # htmx polling, no reload
    page.locator("#training img[alt='sample grid']").wait_for()
    assert page.locator("#training table.losses").count() == 1
    page.locator("#training button:text('Publish to the gallery')").wait_for()
    page.evaluate("document.querySelector('#training').scrollIntoView()")
    shoot(page, "train")
    page.click("button:text('Publish to the gallery')")
    page.wait_for_url("**/models#model-browser-wheat")
    assert page.locator("#model-browser-wheat").count() == 1
    master = archive.items(kind="master")[0]
    page.goto(f"{base}/items/{master.id}")
    page.select_option("#operation", "stylize")
    pick = page.locator("label.style-pick:has(input[value=browser-wheat])")
    pick.click()
    assert page.locator("input[name=model][value=browser-wheat]").is_checked()
    page.wait_for_function("[...document.querySelectorAll('.style-pick img')].every(i => i.complete && "
                           "i.naturalWidth > 0)", timeout=120_000)  # every gallery thumbnail was made
    page.locator("label.style-pick:has(input[value=van-gogh-wheat-field])").click()  # six steps learn little:
    page.click("button:text('Quick preview')")  # the README shows a shipped model's preview
    page.locator("#preview img").wait_for(timeout=60_000)
    page.evaluate("document.querySelector('#run').scrollIntoView()")
    shoot(page, "run")


def editor_page(browser, base: str):  # noqa: ANN201 - a playwright Page
    """A new page logged in as the editor (the browser may hold a session already: then /login goes home)."""
    page = browser.new_page()
    page.goto(base + "/login")
    if "/login" in page.url:
        page.fill("input[name=name]", "eddie")
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button")
        page.wait_for_url(base + "/")
    return page


def refused_colorize(page, item_url: str, button: str) -> str:  # noqa: ANN001 - a playwright Page
    """On the item page, colorize with a reference that is no item (abcdef12) and one hint picked, pressed with
    `button`: the error shown where the preview goes."""
    page.goto(item_url)
    page.select_option("#operation", "colorize")
    page.fill("fieldset[data-op=colorize] input[name=reference]", "abcdef12")
    page.locator("fieldset[data-op=colorize] .hint-target").click(position={"x": 30, "y": 30})
    page.click(f"button:text('{button}')")
    error = page.locator("#preview .error")
    error.wait_for(timeout=30_000)
    return error.inner_text()


def test_a_refused_preview_says_why_in_the_run_form(server, browser):
    """A Quick preview the server refuses (400: here a reference that is no item) shows its one-line error where
    the preview would be, the form as it was; htmx drops 4xx answers unless told otherwise."""
    base, archive = server
    master = archive.items(kind="master")[0]
    page = editor_page(browser, base)
    error = refused_colorize(page, f"{base}/items/{master.id}", "Quick preview")
    assert "abcdef12" in error and "no such item" in error
    assert page.input_value("fieldset[data-op=colorize] input[name=reference]") == "abcdef12"
    assert page.locator("fieldset[data-op=colorize] .hint-list li").count() == 1


def test_checkboxes_and_radios_sit_beside_their_words(server, browser):
    """A form's checkbox or radio is on the line of the words that name it, before them (the forms' labels stack
    a name over its field; a box above its words, centred, read as belonging to nothing)."""
    base, archive = server
    master = archive.items(kind="master")[0]
    page = editor_page(browser, base)
    beside = """box => { const label = box.closest('label');
        const words = [...label.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
        const range = document.createRange(); range.selectNode(words);
        const w = range.getBoundingClientRect(), b = box.getBoundingClientRect(), mid = (b.top + b.bottom) / 2;
        return mid > w.top && mid < w.bottom && b.right <= w.left; }"""
    page.goto(f"{base}/items/{master.id}")
    page.select_option("#operation", "repair")
    assert page.eval_on_selector("fieldset[data-op=repair] input[name=colorize]", beside)
    page.goto(f"{base}/train")
    for value in ("photos:train", "search"):
        assert page.eval_on_selector(f"input[name=content][value='{value}']", beside), value


def test_a_refused_run_keeps_the_form_and_a_good_one_goes_to_the_jobs(server, browser):
    """Run at full size refused (a reference that is no item) says why beside the form, keeping what was typed and
    the hints picked (a separate error page lost them: Back brought an empty form); fixed, it queues the job."""
    base, archive = server
    master, other = archive.items(kind="master")[:2]
    page = editor_page(browser, base)
    error = refused_colorize(page, f"{base}/items/{master.id}", "Run at full size")
    assert "abcdef12" in error and "no such item" in error
    assert page.url == f"{base}/items/{master.id}"
    assert page.locator("fieldset[data-op=colorize] .hint-list li").count() == 1
    page.fill("fieldset[data-op=colorize] input[name=reference]", other.id)
    page.click("button:text('Run at full size')")
    page.wait_for_url("**/jobs#job-*")
    job_id = page.url.split("#job-")[1]
    from daguerre import jobs

    params = jobs.get_job(archive, job_id)["params"]
    assert len(params["hints"]) == 1 and params["reference"].endswith(other.sha256)


def test_damage_painted_on_the_picture_is_repaired_and_kept_with_the_derivative(server, browser):
    """restore's fieldset: a stroke painted across the picture becomes a mask item (white where painted, the
    thumbnail's proportions); the job's recipe names it by its stored file and sha256, and the derivative differs
    from a plain restore along the stroke, not far from it."""
    import numpy as np

    from daguerre.imaging import load

    base, archive = server
    master = next(i for i in archive.items(kind="master") if i.filename == "coffee.jpg")
    page = editor_page(browser, base)
    page.goto(f"{base}/items/{master.id}")
    page.select_option("#operation", "restore")
    canvas = page.locator("fieldset[data-op=restore] .mask-canvas")
    page.wait_for_function("c => c.width > 0", arg=canvas.element_handle())
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()  # in the viewport, where the mouse moves
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 5, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(box["x"] + 5 + k * (box["width"] - 10) / 10, y)
    page.mouse.up()
    page.wait_for_function("f => f.files.length === 1", arg=page.locator(
        "fieldset[data-op=restore] .mask-file").element_handle())
    page.click("button:text('Run at full size')")
    page.wait_for_url("**/jobs*")
    restored = wait_for_job(page, base)
    recipe = archive.events_of(restored)[0].outcome_detail["recipe"]
    [mask] = [i for i in archive.items(kind="master") if i.sha256 == recipe["input_files"][recipe["params"]
                                                                                          ["damage_mask"]]]
    marks = load(Path(archive.store.local_path(mask.sha256))).luminance()
    rows = np.nonzero(marks.max(1) > 0.5)[0]
    assert len(rows) and abs(rows.mean() / marks.shape[0] - 0.5) < 0.05 and (marks > 0.5).mean() < 0.2
    w, h = load(SAMPLES / "coffee.jpg").size
    assert abs(marks.shape[1] / marks.shape[0] - w / h) < 0.02 * w / h
    [plain] = archive.apply("restore", [master.id], {})
    a, b = (load(Path(archive.store.local_path(archive.get(i).sha256))).rgb() for i in (plain.id, restored))
    band = slice(h // 2 - 8, h // 2 + 8)
    assert np.abs(a - b)[:, band].mean() > 10 * np.abs(a - b)[:, : h // 4].mean()


def test_the_batch_runs_the_operation_picked(server, browser):
    """Picking the batch's operation must not re-run the search: the search listened to every select on the page,
    re-drew the results and with them put the batch back on stylize, which then ran on every item found."""
    from daguerre.jobs.table import list_jobs

    base, archive = server
    page = editor_page(browser, base)
    page.goto(base + "/?q=coffee")
    before = len(list_jobs(archive))
    page.select_option("form.batch select[name=run]", "film")
    page.wait_for_timeout(1500)  # the live search answered within ~0.2 s
    assert page.input_value("form.batch select[name=run]") == "film"
    page.click("button:text('Queue batch')")
    page.wait_for_url("**/jobs*")
    queued = list_jobs(archive)[before:]
    assert queued and {j["operation"] for j in queued} == {"film"}
    page.goto(base + "/?q=coffee")
    page.select_option("#sort", "oldest")  # the search's own selects still search as they change
    page.wait_for_url("**sort=oldest**")


def test_a_refused_htmx_button_says_why_on_the_page(server, browser):
    """Verify now refused (403: a stale CSRF token) shows the server's line where the verification goes; a refused
    Cancel (404), whose answer would replace the whole jobs table, shows it in the page's flash area and the table
    stays. htmx swaps only 2xx answers: these changed nothing on the page, the error was in the console only."""
    base, archive = server
    master = archive.items(kind="master")[0]
    page = editor_page(browser, base)
    page.goto(f"{base}/items/{master.id}")
    page.evaluate("""document.body.setAttribute('hx-headers', '{"X-CSRF-Token": "stale"}')""")
    page.click("button:text('Verify now')")
    error = page.locator("#verify .error")
    error.wait_for(timeout=30_000)
    assert "CSRF token" in error.inner_text()
    page.goto(f"{base}/jobs")
    page.evaluate("""() => {  // a Cancel button of a job that no longer exists, as the jobs table makes them
        const b = document.createElement('button');
        b.textContent = 'Cancel gone';
        b.setAttribute('hx-post', '/jobs/0123456789abcdef/cancel');
        b.setAttribute('hx-target', '#jobs');
        b.setAttribute('hx-swap', 'outerHTML');
        document.querySelector('main').appendChild(b);  // outside the table, which polling replaces
        htmx.process(b); }""")
    page.click("button:text('Cancel gone')")
    flash = page.locator("#flash .error")
    flash.wait_for(timeout=30_000)
    assert "0123456789abcdef" in flash.inner_text() and "<" not in flash.inner_text()
    assert page.locator("#jobs table.jobs").count() == 1
    page.close()


def test_the_upload_forms_sheet_label_reads_as_one_sentence(server, browser):
    """The metadata sheet's label, with its <code> words, flows as text above its file field: the form's labels
    are grids, and each <code> was a grid row of its own, breaking the sentence into five lines."""
    base, _ = server
    page = editor_page(browser, base)
    page.goto(f"{base}/upload")
    lines = page.eval_on_selector("input[name=sheet]", """input => {
        const label = input.closest('label'), tops = new Set();
        const range = document.createRange(); range.selectNodeContents(label);
        for (const r of range.getClientRects()) if (r.width > 0 && r.bottom <= input.getBoundingClientRect().top)
            tops.add(Math.round(r.top / 4));
        return tops.size; }""")
    assert lines <= 2, lines  # one line at this width (two would be wrapping, not five)
    page.close()


def test_the_api_page_works_offline(server, browser):
    """The header's API link: Swagger UI from the vendored swagger-ui-dist lists the API's routes, and the page asks
    nothing of another host (FastAPI's default loads it from a CDN: a blank page offline, as in this browser)."""
    base, _ = server
    page = browser.new_page()
    asked, errors = [], []
    page.on("request", lambda r: asked.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")
    page.get_by_role("link", name="API").click()
    page.locator(".opblock-summary-path", has_text="/api/items").first.wait_for(timeout=30_000)
    assert page.locator(".opblock").count() >= 8 and not errors, errors
    assert [u for u in asked if not u.startswith((base, "data:"))] == []
    page.close()
