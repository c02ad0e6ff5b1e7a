"""The HTML pages: collection, item, upload, jobs, models, login. Thin: every action calls the archive core.

Plain handlers run in the server's thread pool. The few that read a posted form are async, and hand their archive
work (an upload, a preview, queueing jobs) to that pool with `run_in_threadpool`: on the event loop it would hold
up every other request until it finished."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from daguerre.archive import ArchiveError
from daguerre.archive.catalogue import DUBLIN_CORE, Item
from daguerre.archive.store import stored_item
from daguerre.archive.users import Account, check_password
from daguerre.archive.video import is_clip_item
from daguerre.imaging import ImageError
from daguerre.jobs.training import label as training_label
from daguerre.web import service
from daguerre.web.security import check_csrf, csrf_token, editor, reader, safe_next, who

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def _qs(state: dict, key: str | None = None, value: object = None) -> str:
    """The query string of a collection view with one parameter changed (empty ones left out)."""
    from urllib.parse import urlencode

    changed = {**state, **({key: value} if key else {})}
    if key != "page":
        changed.pop("page", None)
    return urlencode({k: v for k, v in changed.items() if v not in ("", None)})


templates.env.globals["qs"] = _qs


def _by_item_id(params: dict | None) -> dict:
    """A recipe's parameters as the item page shows them: the pictures it took (store files) as item ids, and
    those ids by parameter (for links)."""
    shown = service.shown({"params": dict(params or {})})["params"]
    pictures = {}
    for key in service.ITEM_PARAMS:
        given = (params or {}).get(key)
        files = given if isinstance(given, list) else [given]
        if found := [i for f in files if (i := stored_item(f))]:
            pictures[key] = found
    return {"params": shown, "pictures": pictures}


templates.env.filters["by_item_id"] = _by_item_id


def _json_text(value: object) -> str:
    """JSON as typed (« », accents, CJK as themselves, not \\u00ab escapes), sorted like ``tojson``: a plain
    string, so autoescape escapes its markup (``tojson`` writes \\u003c for ``<`` instead, unreadable too)."""
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


templates.env.filters["json_text"] = _json_text
templates.env.globals["training_label"] = training_label  # "training run NAME", "colour bank NAME, N masters"
templates.env.globals["is_clip"] = is_clip_item  # played, not zoomed; its Run form has its frame loop's options
# what a <video> element plays in current browsers; a DV, MXF or MPEG-2 master is offered for download instead
templates.env.globals["browser_video"] = ("video/mp4", "video/webm", "video/ogg", "video/quicktime")
router = APIRouter(include_in_schema=False)
Reader = Annotated[Account, Depends(reader)]
Editor = Annotated[Account, Depends(editor)]
CSRF = Depends(check_csrf)
PER_PAGE = 48
IIIF_PART = re.compile(r"(full|\d+,\d+,\d+,\d+)/(max|\d+,\d*|,\d+)/0/default\.jpg")  # sizes: w,h  w,  ,h


def render(request: Request, name: str, status: int = 200, **context: object) -> HTMLResponse:
    user = getattr(request.state, "account", None) or _quiet_who(request)
    return templates.TemplateResponse(request, name, {"user": user, "csrf": csrf_token(request),
                                                      "public": request.app.state.public, **context},
                                      status_code=status)


def _quiet_who(request: Request) -> Account | None:
    try:
        return who(request)
    except HTTPException:
        return None


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status, status_code=status, message=message)


def _archive(request: Request):
    return request.app.state.archive


def _item(request: Request, ref: str) -> Item:
    try:
        with service.reader_sessions(_archive(request))() as s:
            return _archive(request).get(ref, s)
    except ArchiveError as e:
        raise HTTPException(404, str(e)) from None


# ------------------------------------------------------------------------------------------------ login


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login", dependencies=[CSRF])
def login(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/") -> Response:
    limiter = request.app.state.limiter
    keys = (f"ip:{request.client.host if request.client else '?'}", f"name:{name}")
    if limiter.blocked(*keys):
        return render(request, "login.html", 429, next=safe_next(next),
                      error="Too many failed logins: wait a minute and try again.")
    account = check_password(_archive(request), name, password)
    if account is None:
        limiter.failed(*keys)
        return render(request, "login.html", 401, next=safe_next(next), error="Wrong name or password.")
    request.session.clear()
    request.session["user"] = account.name
    csrf_token(request)  # a new token with the new session
    return RedirectResponse(safe_next(next), 303)


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", 303)


# ------------------------------------------------------------------------------------------- collection


@router.get("/")
def collection(request: Request, user: Reader, q: str = "", kind: str = "", operation: str = "", decade: str = "",
               creator: str = "", withdrawn: str = "hide", sort: str = "newest", page: int = 1) -> HTMLResponse:
    page = max(1, page)
    filters = {"kind": kind, "operation": operation, "decade": decade, "creator": creator, "withdrawn": withdrawn}
    found = service.browse(_archive(request), q, filters, sort, (page - 1) * PER_PAGE, PER_PAGE)
    pages = max(1, -(-found.total // PER_PAGE))
    template = "_grid.html" if request.headers.get("hx-request") and request.headers.get(
        "hx-target") == "results" else "collection.html"
    state = {**filters, "q": q, "sort": sort, "page": page}
    from daguerre.web.forms import operation_fields

    return render(request, template, found=found, q=q, filters=filters, sort=sort, page=page, pages=pages,
                  state=state, operations=operation_fields(), can_edit=user.role in ("editor", "admin"))


@router.post("/batch", dependencies=[CSRF])
async def batch(request: Request, user: Editor) -> Response:
    """Queue one operation over every item the collection view shows (all pages): a batch run."""
    form = await request.form()
    filters = {k: str(form.get(k) or "") for k in ("kind", "operation", "decade", "creator")}
    try:
        await run_in_threadpool(service.batch, _archive(request), str(form.get("q") or ""), filters,
                                str(form.get("run") or ""), user)
    except (ArchiveError, ValueError) as e:
        return error_page(request, 400, str(e))
    request.app.state.runner.wake()
    return RedirectResponse("/jobs", 303)


@router.post("/colour-bank", dependencies=[CSRF])
async def colour_bank(request: Request, user: Editor) -> Response:
    """Queue a colour bank of the colour masters the collection view shows (all pages) as a background job; its
    page follows it, and colorize's Run form offers the bank once it is done."""
    form = await request.form()
    filters = {k: str(form.get(k) or "") for k in ("operation", "decade", "creator")}
    try:
        job_id = await run_in_threadpool(service.submit_colour_bank, _archive(request), str(form.get("q") or ""),
                                         filters, str(form.get("name") or ""), user, form.get("per_photo"))
    except ArchiveError as e:
        return error_page(request, 400, str(e))
    request.app.state.runner.wake()
    return RedirectResponse(f"/train/{job_id}", 303)


@router.get("/items/{ref}/thumb.jpg")
def thumbnail(request: Request, ref: str, user: Reader, size: int = 320) -> Response:
    if size not in (320, 1024):
        raise HTTPException(400, "size is 320 or 1024")
    data = service.thumbnail(_archive(request), _item(request, ref), size)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@router.get("/items/{ref}/file")
def download(request: Request, ref: str, user: Reader) -> Response:
    item = _item(request, ref)
    path = _archive(request).store.local_path(item.sha256)
    name = service.download_name(item)
    if path is None:
        return Response(_archive(request).store.read(item.sha256), media_type=item.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return FileResponse(path, media_type=item.media_type, filename=name)


@router.get("/items/{ref}/bag.zip")
def download_bag(request: Request, ref: str, user: Reader) -> Response:
    """The item's family (master, derivatives, events, PREMIS, signer) as a BagIt bag in a zip, streamed."""
    from fastapi.responses import StreamingResponse

    item = _item(request, ref)
    return StreamingResponse(service.item_bag(_archive(request), item), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{item.root_id}-bag.zip"'})


# ------------------------------------------------------------------------------------------------- item


@router.get("/items/{ref}")
def item_page(request: Request, ref: str, user: Reader, a: str = "", b: str = "") -> HTMLResponse:
    archive = _archive(request)
    item = _item(request, ref)
    view = service.item_view(archive, item, a, b)
    from daguerre.web.forms import operation_fields

    saved = request.session.pop("saved", None)  # once, after Save metadata's redirect (a reload has none)
    return render(request, "item.html", item=item, view=view, dublin_core=DUBLIN_CORE,
                  operations=operation_fields(clip=is_clip_item(item)), gallery=service.style_gallery(),
                  can_edit=user.role in ("editor", "admin"),
                  saved=saved["message"] if saved and saved.get("item") == item.id else None)


@router.post("/items/{ref}/metadata", dependencies=[CSRF])
async def edit_metadata(request: Request, ref: str, user: Editor) -> Response:
    item = _item(request, ref)
    form = await request.form()
    fields = {k: str(form[k]).strip() for k in DUBLIN_CORE if k in form}
    changed = {k: v for k, v in fields.items() if v != (getattr(item, k) or "")}
    if changed:
        await run_in_threadpool(_archive(request).update_metadata, item.id, changed,
                                detail=f"edited on the web by {user.name}")
    message = f"Saved: {', '.join(changed)}." if changed else "Nothing to save: no field changed."
    request.session["saved"] = {"item": item.id, "message": message}
    return RedirectResponse(f"/items/{item.id}#metadata", 303)


@router.post("/items/{ref}/verify", dependencies=[CSRF])
def verify_now(request: Request, ref: str, user: Editor) -> HTMLResponse:
    report = _archive(request).verify(_item(request, ref).id)
    return render(request, "_verify.html", report=report)


@router.post("/items/{ref}/preview", dependencies=[CSRF])
async def preview(request: Request, ref: str, user: Editor) -> HTMLResponse:
    item = _item(request, ref)
    form = dict(await request.form())
    form["hints_list"] = (await request.form()).getlist("hints")

    def work(folder: Path) -> tuple[str, float]:
        files = _preview_files(form, folder)
        try:
            return service.preview(_archive(request), item, str(form.get("operation", "")), form, files)
        except (ValueError, TypeError, KeyError, LookupError, ArchiveError, ImageError) as e:  # its file by name
            raise ValueError(str(e).strip("'\"").replace(f"{folder}{os.sep}", "")) from e

    try:
        with tempfile.TemporaryDirectory(prefix="daguerre-preview-") as folder:
            url, seconds = await run_in_threadpool(work, Path(folder))
    except (ValueError, TypeError, KeyError, LookupError, ArchiveError) as e:
        return HTMLResponse(f'<p class="error">{_esc(e)}</p>', 400)
    return HTMLResponse(f'<figure><img src="{url}" alt="preview"><figcaption>preview on a small copy, '
                        f'{seconds:.1f} s</figcaption></figure>')


@router.post("/items/{ref}/run", dependencies=[CSRF])
async def run(request: Request, ref: str, user: Editor) -> Response:
    item = _item(request, ref)
    form = await request.form()
    values = dict(form)
    values["hints_list"] = form.getlist("hints")
    htmx = bool(request.headers.get("hx-request"))  # the item page's form: errors beside it, which keeps its input

    def work() -> str:
        _uploaded_painting(request, values, user)
        _painted_mask(request, item, values, user)
        return service.submit(_archive(request), item, str(values.get("operation", "")), values, user)

    try:
        job_id = await run_in_threadpool(work)
    except (ValueError, ArchiveError) as e:
        return HTMLResponse(f'<p class="error">{_esc(e)}</p>', 400) if htmx else error_page(request, 400, str(e))
    request.app.state.runner.wake()
    if htmx:
        return Response(status_code=204, headers={"HX-Redirect": f"/jobs#job-{job_id}"})
    return RedirectResponse(f"/jobs#job-{job_id}", 303)


def _preview_files(form: dict, folder: Path) -> dict[str, str]:
    """A painting uploaded or damage painted for a Quick preview, as files in ``folder`` named as uploaded: a
    preview keeps nothing, so neither joins the archive (Run at full size adds them, for the recipe to name)."""
    files = {}
    for field, param, operations in (("style_file", "style", ("stylize",)),
                                     ("damage_mask_file", "damage_mask", ("restore", "repair"))):
        upload = form.pop(field, None)
        if getattr(upload, "filename", "") and form.get("operation") in operations:
            path = folder / (service.SAFE_NAME.sub("_", Path(upload.filename).name)[-80:] or param)
            path.write_bytes(upload.file.read())
            files[param] = str(path)
    return files


def _uploaded_painting(request: Request, form: dict, user: Account) -> None:
    """A painting uploaded with the Run form (for the any-painting model) joins the archive; ``style`` names it."""
    upload = form.pop("style_file", None)
    if not getattr(upload, "filename", "") or form.get("operation") != "stylize":
        return
    with tempfile.TemporaryDirectory(prefix="daguerre-upload-") as tmp:
        added = service.ingest_upload(_archive(request), upload, Path(tmp), {}, user)
    if added.status == "failed":
        raise ArchiveError(f"style_file: {added.message}")
    form["style"] = added.id


def _painted_mask(request: Request, item: Item, form: dict, user: Account) -> None:
    """A damage mask painted on the item page (restore, repair) joins the archive, as a painting does:
    ``damage_mask`` names it, so the derivative's recipe records its sha256 and a re-derivation finds it."""
    upload = form.pop("damage_mask_file", None)
    if not getattr(upload, "filename", "") or form.get("operation") not in ("restore", "repair"):
        return
    with tempfile.TemporaryDirectory(prefix="daguerre-upload-") as tmp:
        added = service.ingest_upload(_archive(request), upload, Path(tmp),
                                      {"title": f"damage marked on {item.title or item.id}"}, user)
    if added.status == "failed":
        raise ArchiveError(f"damage mask: {added.message}")
    form["damage_mask"] = added.id


def _esc(e: object) -> str:
    from markupsafe import escape

    return str(escape(str(e).strip("'\"")))


# ------------------------------------------------------------------------------------------------- IIIF


@router.get("/iiif/{ref}/info.json")
def iiif_info(request: Request, ref: str, user: Reader) -> Response:
    item = _item(request, ref)
    if is_clip_item(item):
        raise HTTPException(404, f"{item.id} is a clip: no image service (its IIIF manifest paints it as video)")
    folder = service.tiles(_archive(request), item)
    return FileResponse(folder / "info.json", media_type="application/json")


@router.get("/iiif/{ref}/{region}/{size}/0/default.jpg")
def iiif_tile(request: Request, ref: str, region: str, size: str, user: Reader) -> Response:
    if not IIIF_PART.fullmatch(f"{region}/{size}/0/default.jpg"):
        raise HTTPException(400, "not a IIIF region/size this level-0 service has")
    item = _item(request, ref)
    if is_clip_item(item):
        raise HTTPException(404, "no such tile")
    folder = service.tiles(_archive(request), item)
    path = folder / region / size / "0" / "default.jpg"
    if not path.is_file():
        raise HTTPException(404, "no such tile")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@router.get("/items/{ref}/manifest.json")
def iiif_manifest(request: Request, ref: str, user: Reader) -> Response:
    """The IIIF manifest of the item's master (all its derivatives as canvases), over /export/ files."""
    item = _item(request, ref)
    path = service.manifest(_archive(request), item, str(request.base_url).rstrip("/") + "/export")
    return FileResponse(path, media_type="application/ld+json")


@router.get("/export/{path:path}")
def export_file(request: Request, path: str, user: Reader) -> Response:
    root = (_archive(request).path / "cache" / "export").resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(target)


# ----------------------------------------------------------------------------------------------- upload


@router.get("/upload")
def upload_form(request: Request, user: Editor) -> HTMLResponse:
    return render(request, "upload.html", report=None, dublin_core=DUBLIN_CORE)


@router.post("/upload", dependencies=[CSRF])
async def upload(request: Request, user: Editor) -> HTMLResponse:
    form = await request.form()
    return await run_in_threadpool(_upload, request, form, user)


def _upload(request: Request, form: FormData, user: Account) -> HTMLResponse:
    fields = {k: str(form[k]).strip() for k in DUBLIN_CORE if str(form.get(k) or "").strip()}
    files = [f for f in form.getlist("files") + form.getlist("folder") if getattr(f, "filename", "")]
    if not files:  # the browser sends an empty file part when nothing was chosen: say so, not a silent reload
        return render(request, "upload.html", 400, report=None, dublin_core=DUBLIN_CORE,
                      error="Choose at least one file (pictures, clips or a folder) to upload.")
    sheet_file = form.get("sheet")
    results = []
    with tempfile.TemporaryDirectory(prefix="daguerre-upload-") as tmp:
        sheet = None
        if getattr(sheet_file, "filename", ""):
            try:
                sheet = service.read_sheet(_archive(request), sheet_file, Path(tmp))
            except ArchiveError as e:
                return render(request, "upload.html", 400, report=[service.UploadResult(
                    sheet_file.filename, "failed", message=str(e))], dublin_core=DUBLIN_CORE)
        for f in files:
            results.append(service.ingest_upload(_archive(request), f, Path(tmp), fields, user, sheet))
    status = 400 if results and all(r.status == "failed" for r in results) else 200
    return render(request, "upload.html", status, report=results, dublin_core=DUBLIN_CORE,
                  note=service.unmatched_rows(sheet, results))


# ------------------------------------------------------------------------------------------ jobs, models


@router.get("/jobs")
def jobs_page(request: Request, user: Reader) -> HTMLResponse:
    template = "_jobs.html" if request.headers.get("hx-request") else "jobs.html"
    return render(request, template, jobs=service.jobs(_archive(request)))


@router.post("/jobs/{job_id}/cancel", dependencies=[CSRF])
def cancel_job(request: Request, job_id: str, user: Editor) -> Response:
    try:
        service.cancel(_archive(request), job_id, user)
    except ArchiveError as e:
        raise HTTPException(404, str(e)) from None
    except PermissionError as e:
        raise HTTPException(403, str(e)) from None
    if request.headers.get("hx-request"):
        return render(request, "_jobs.html", jobs=service.jobs(_archive(request)))
    return RedirectResponse("/jobs", 303)


@router.get("/models")
def models_page(request: Request, user: Reader) -> HTMLResponse:
    from daguerre.models.registry import list_models

    return render(request, "models.html", models=list_models())


# ------------------------------------------------------------------------------------------------ train


@router.get("/train")
def train_page(request: Request, user: Reader, painting: str = "") -> HTMLResponse:
    return render(request, "train.html", runs=service.training_jobs(_archive(request)), painting=painting,
                  can_edit=user.role in ("editor", "admin"), error=None)


@router.post("/train", dependencies=[CSRF])
async def start_training(request: Request, user: Editor) -> Response:
    """Start style training on a painting from the archive (by id) or uploaded here (ingested first)."""
    form = await request.form()
    return await run_in_threadpool(_start_training, request, form, user)


def _start_training(request: Request, form: FormData, user: Account) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("painting_file")
    try:
        from daguerre.jobs.training import check_params

        check_params({k: values.get(k) for k in ("name", "steps", "batch_size", "crop")})  # before storing anything
        if getattr(upload, "filename", ""):
            with tempfile.TemporaryDirectory(prefix="daguerre-upload-") as tmp:
                added = service.ingest_upload(_archive(request), upload, Path(tmp), {}, user)
            if added.status == "failed":
                raise ArchiveError(added.message)
            painting = _archive(request).get(added.id)
        else:
            painting = _archive(request).get(values.get("painting", "").strip() or "-")
        job_id = service.submit_training(_archive(request), painting, values, user)
    except ArchiveError as e:
        return render(request, "train.html", 400, runs=service.training_jobs(_archive(request)),
                      painting=values.get("painting", ""), can_edit=True, error=str(e))
    request.app.state.runner.wake()
    return RedirectResponse(f"/train/{job_id}", 303)


def _training(request: Request, job_id: str) -> service.TrainingView:
    view = service.training_view(_archive(request), job_id)
    if view is None:
        raise HTTPException(404, f"{job_id}: no such training job")
    return view


@router.get("/train/{job_id}")
def training_page(request: Request, job_id: str, user: Reader) -> HTMLResponse:
    template = "_training.html" if request.headers.get("hx-request") else "training.html"
    return render(request, template, run=_training(request, job_id), can_edit=user.role in ("editor", "admin"))


@router.get("/train/{job_id}/{name}.png")
def training_picture(request: Request, job_id: str, name: str, user: Reader) -> Response:
    """A training run's loss plot (``losses``) or one of its sample grids (``samples_NNNNNN``)."""
    from daguerre.jobs.training import run_dir

    run = _training(request, job_id)
    if not re.fullmatch(r"losses|samples_\d{6}", name):
        raise HTTPException(404, "no such picture")
    path = run_dir(_archive(request), run.job["id"]) / f"{name}.png"
    if not path.is_file():
        raise HTTPException(404, "no such picture yet")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.post("/train/{job_id}/publish", dependencies=[CSRF])
def publish_model(request: Request, job_id: str, user: Editor) -> Response:
    """Install the trained model: it joins the gallery of the Run form and the Models page."""
    from daguerre.jobs.training import publish

    run = _training(request, job_id)
    try:
        card = publish(_archive(request), run.job["id"])
    except ArchiveError as e:
        return error_page(request, 400, str(e))
    from daguerre.web import forms

    forms.forget_installed()
    return RedirectResponse(f"/models#model-{card.name}", 303)


@router.get("/models/{name}/thumb.jpg")
def style_thumbnail(request: Request, name: str, user: Reader) -> Response:
    """A style model's gallery picture (a bundled photo in its style, made once and cached)."""
    try:
        data = service.style_thumbnail(_archive(request), name)
    except LookupError as e:
        raise HTTPException(404, str(e)) from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
