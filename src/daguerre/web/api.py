"""The JSON API under /api (OpenAPI at /docs). Tokens: `Authorization: Bearer TOKEN` (`daguerre users token`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from daguerre.archive import ArchiveError
from daguerre.archive.users import Account
from daguerre.web import service
from daguerre.web.security import check_csrf, editor, reader

router = APIRouter(prefix="/api", tags=["api"])
Reader = Annotated[Account, Depends(reader)]
Editor = Annotated[Account, Depends(editor)]
Text = Annotated[str | None, Form()]


class JobRequest(BaseModel):
    operation: str = Field(examples=["restore"])
    params: dict = Field(default_factory=dict, examples=[{"strength": 0.8}])


def _item(request: Request, ref: str):
    try:
        with service.reader_sessions(request.app.state.archive)() as s:
            return request.app.state.archive.get(ref, s)
    except ArchiveError as e:
        raise HTTPException(404, str(e)) from None


@router.post("/items", status_code=201, dependencies=[Depends(check_csrf)],
             responses={200: {"description": "already in the archive: the existing id"}, 400: {}, 413: {}})
def add_item(request: Request, user: Editor, file: Annotated[UploadFile, File()], title: Text = None,
             creator: Text = None, date: Text = None, description: Text = None, subject: Text = None,
             rights: Text = None, source: Text = None, identifier: Text = None):
    """Ingest one picture as a master (Dublin Core fields optional); 201 with its id, 200 for a duplicate."""
    given = {"title": title, "creator": creator, "date": date, "description": description, "subject": subject,
             "rights": rights, "source": source, "identifier": identifier}
    with tempfile.TemporaryDirectory(prefix="daguerre-upload-") as tmp:
        result = service.ingest_upload(request.app.state.archive, file, Path(tmp),
                                       {k: v for k, v in given.items() if v}, user)
    if result.status == "failed":
        raise HTTPException(400, result.message)
    return JSONResponse({"id": result.id, "status": result.status}, 201 if result.status == "added" else 200)


@router.get("/items")
def search_items(request: Request, user: Reader, q: str = "", kind: str = "", operation: str = "",
                 sort: str = "newest", offset: int = 0, limit: int = 50):
    """Items matching every word of ``q`` (prefixes too), newest first."""
    found = service.browse(request.app.state.archive, q, {"kind": kind, "operation": operation}, sort,
                           max(0, offset), min(max(1, limit), 500), facets=False)
    return {"total": found.total, "items": [i.record() for i in found.items]}


@router.get("/items/{ref}")
def get_item(request: Request, ref: str, user: Reader):
    """The item, the tree of its derivatives and every event of each."""
    return request.app.state.archive.show(_item(request, ref).id)


@router.post("/items/{ref}/jobs", status_code=202, dependencies=[Depends(check_csrf)])
def add_job(request: Request, ref: str, body: JobRequest, user: Editor):
    """Queue an operation on the item as a background job; 202 with the job's id. A clip also takes its frame
    loop's ``consistency`` (0..1, default 0.5) and ``key_every`` (1..8: the model on every Nth frame, the frames
    between made along the motion; stylize, retro, colorize); a picture is refused them (400)."""
    item = _item(request, ref)
    try:
        job_id = service.submit(request.app.state.archive, item, body.operation, body.params, user, raw=True)
    except ArchiveError as e:
        raise HTTPException(400, str(e)) from None
    request.app.state.runner.wake()
    return {"id": job_id}


@router.get("/jobs/{job_id}")
def get_job(request: Request, job_id: str, user: Reader):
    """A job's status (queued, running, done, failed, cancelled), progress and, when done, the derivative."""
    job = service.job(request.app.state.archive, job_id)
    if job is None:
        raise HTTPException(404, f"{job_id}: no such job")
    return job


@router.post("/jobs/{job_id}/cancel", dependencies=[Depends(check_csrf)])
def cancel_job(request: Request, job_id: str, user: Editor):
    """Cancel a queued or running job (yours; admins: any); a running one stops at its next tile or step."""
    try:
        cancelled = service.cancel(request.app.state.archive, job_id, user)
    except ArchiveError as e:
        raise HTTPException(404, str(e)) from None
    except PermissionError as e:
        raise HTTPException(403, str(e)) from None
    if not cancelled:
        raise HTTPException(409, f"job {job_id[:8]} has already ended")
    return service.job(request.app.state.archive, job_id)


class TrainingRequest(BaseModel):
    painting: str = Field(examples=["a1b2c3d4e5f60718"], description="the painting's item id")
    name: str = Field(examples=["my-painting"], description="the new model's name")
    content: str = Field("photos:train", examples=["photos:train", "search:harbour boats"],
                         description="content photos: the registry training photos, or an archive search")
    steps: int | None = Field(None, examples=[2000])
    batch_size: int | None = None
    crop: int | None = None


@router.post("/training", status_code=202, dependencies=[Depends(check_csrf)])
def start_training(request: Request, body: TrainingRequest, user: Editor):
    """Queue style training on a painting of the archive as a background job; 202 with the job's id."""
    painting = _item(request, body.painting)
    form = body.model_dump()
    if form["content"].startswith("search:"):
        form["query"], form["content"] = form["content"][7:], "search"
    try:
        job_id = service.submit_training(request.app.state.archive, painting, form, user)
    except ArchiveError as e:
        raise HTTPException(400, str(e)) from None
    request.app.state.runner.wake()
    return {"id": job_id}


class ColourBankRequest(BaseModel):
    name: str = Field(examples=["harbour"], description="the new colour bank's name")
    q: str = Field("", examples=["harbour colour"], description="search words, as in the collection view")
    decade: str = ""
    creator: str = ""
    per_photo: int | None = Field(None, description="positions kept from each photo (1..400, default 400)")


@router.post("/colour-bank", status_code=202, dependencies=[Depends(check_csrf)])
def make_colour_bank(request: Request, body: ColourBankRequest, user: Editor):
    """Queue a colour bank of the colour masters a search finds (derivatives, clips and withdrawn items left out)
    as a background job; 202 with the job's id. Done, it is installed: colorize's ``bank`` takes its name."""
    filters = {"decade": body.decade, "creator": body.creator}
    try:
        job_id = service.submit_colour_bank(request.app.state.archive, body.q, filters, body.name, user,
                                            body.per_photo)
    except ArchiveError as e:
        raise HTTPException(400, str(e)) from None
    request.app.state.runner.wake()
    return {"id": job_id}


@router.post("/training/{job_id}/publish", dependencies=[Depends(check_csrf)])
def publish_model(request: Request, job_id: str, user: Editor):
    """Install a finished training job's model (it joins the style gallery); its card."""
    from dataclasses import asdict

    from daguerre.jobs.training import TRAINING, publish

    job = service.job(request.app.state.archive, job_id)
    if job is None or job["operation"] not in TRAINING:
        raise HTTPException(404, f"{job_id}: no such training job")
    try:
        card = publish(request.app.state.archive, job["id"])
    except ArchiveError as e:
        raise HTTPException(409, str(e)) from None
    from daguerre.web import forms

    forms.forget_installed()
    return {k: v for k, v in asdict(card).items() if k != "path"}


@router.get("/models")
def models(user: Reader):
    """The installed models' cards."""
    from dataclasses import asdict

    from daguerre.models.registry import list_models

    return [{k: v for k, v in asdict(c).items() if k != "path"} for c in list_models()]
