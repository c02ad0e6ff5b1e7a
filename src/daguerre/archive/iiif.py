"""IIIF export: Presentation 3 manifests (iiif-prezi3), one per master: the master is the first canvas's plain
painted image and every derivative has its own canvas (so simple clients and viewers read all of them), with
their provenance in ``metadata``; a collection; static Image API level-0 services (tiles and whole images).
A clip's canvas has a duration and is painted by a Video body: the clip itself, copied into ``media/``.

Serve the export folder at ``base_url`` (for instance ``python -m http.server`` in it) and open
``collection.json`` in any IIIF viewer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from iiif_prezi3 import (
    Annotation,
    AnnotationBody,
    AnnotationPage,
    Canvas,
    Collection,
    KeyValueString,
    Manifest,
    Resource,
    ServiceV3,
)
from PIL import Image

from daguerre.archive import video as clips
from daguerre.archive.catalogue import Item
from daguerre.archive.errors import naming
from daguerre.archive.renditions import picture_of
from daguerre.archive.store import stored_item

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

TILE = 256


def _image(archive: Archive, item: Item) -> Image.Image:
    picture = picture_of(archive, item)
    return Image.fromarray(np.rint(np.moveaxis(picture.rgb(), 0, -1) * 255).astype(np.uint8))


def size_forms(width: int, height: int) -> list[str]:
    """The ways clients ask for one size of a level-0 service: ``w,h`` (canonical in 3.0), ``w,`` and ``,h``."""
    return [f"{width},{height}", f"{width},", f",{height}"]


def write_tiles(im: Image.Image, folder: Path, service_id: str) -> None:
    """A level-0 image service in ``folder``: info.json, tiles of 256 px at each scale, whole-image sizes.

    Each listed size and tile is written under every size form of `size_forms`, and the whole image as
    ``full/max``, because level-0 clients build those URLs themselves and a static server cannot redirect.
    """
    w, h = im.size
    factors = [2**k for k in range(max(1, math.ceil(math.log2(max(w, h) / TILE)) + 1))]
    sizes = [(math.ceil(w / f), math.ceil(h / f)) for f in factors]
    info = {"@context": "http://iiif.io/api/image/3/context.json", "id": service_id, "type": "ImageService3",
            "protocol": "http://iiif.io/api/image", "profile": "level0", "width": w, "height": h,
            "sizes": [{"width": sw, "height": sh} for sw, sh in reversed(sizes)],
            "tiles": [{"width": TILE, "height": TILE, "scaleFactors": factors}]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "info.json").write_text(json.dumps(info, indent=1))

    def put(region: str, size: tuple[int, int], crop: Image.Image) -> None:
        forms = size_forms(*size)
        first = folder / region / forms[0] / "0" / "default.jpg"
        first.parent.mkdir(parents=True, exist_ok=True)
        crop.resize(size, Image.Resampling.LANCZOS).save(first, quality=90)
        for form in forms[1:]:
            (folder / region / form / "0").mkdir(parents=True, exist_ok=True)
            _link(first, folder / region / form / "0" / "default.jpg")

    for f in factors:
        step = TILE * f
        for y in range(0, h, step):
            for x in range(0, w, step):
                rw, rh = min(step, w - x), min(step, h - y)
                put(f"{x},{y},{rw},{rh}", (math.ceil(rw / f), math.ceil(rh / f)), im.crop((x, y, x + rw, y + rh)))
    for size in sizes:
        put("full", size, im)
    (folder / "full" / "max" / "0").mkdir(parents=True, exist_ok=True)
    im.save(folder / "full" / "max" / "0" / "default.jpg", quality=90)


def _written(folder: Path, service_id: str) -> bool:
    try:
        return json.loads((folder / "info.json").read_text())["id"] == service_id
    except (OSError, ValueError, KeyError):
        return False


def _link(existing: Path, new: Path) -> None:
    """The same bytes under another name: a hard link where the file system allows, else a copy."""
    import os
    import shutil

    try:
        os.link(existing, new)
    except OSError:
        shutil.copyfile(existing, new)


def _kv(label: str, value: str) -> KeyValueString:
    return KeyValueString(label={"en": [label]}, value={"none": [value]})


def _public(value: object) -> object:
    """A recipe's picture parameter as a public manifest names it: an item by its id, another file by its name (its
    sha256 is in the recipe), never by a path on the server."""
    if isinstance(value, list):
        return [_public(v) for v in value]
    if not isinstance(value, str):
        return value
    return f"item {found}" if (found := stored_item(value)) else Path(value).name


def _provenance(archive: Archive, item: Item) -> str:
    from daguerre.archive.api import PICTURE_PARAMS

    event = next((e for e in archive.events_of(item.id) if e.id == item.event_id), None)
    if event is None:
        return "no creation event"
    r = event.outcome_detail["recipe"]
    models = "; ".join(f"{m.get('name')} (sha256 {m.get('sha256')}, {m.get('licence')})" for m in r["models"])
    params = {k: _public(v) if k in PICTURE_PARAMS else v for k, v in r["params"].items()}
    software = event.agent.split(" (")[0]  # the user and host that ran it stay in the archive's own records
    return (f"{r['operation']} {r['operation_version']} on {item.parent_id}, params {json.dumps(params)}, "
            f"seed {r['seed']}, models: {models or 'none'}, digital source type {r['digital_source_type']}, "
            f"metrics {json.dumps(event.outcome_detail.get('metrics') or {})}, "
            f"made {event.datetime} by {software}, event {event.id}, sha256 {item.sha256}")


def _clip_canvas(archive: Archive, item: Item, out: Path, base: str, canvas_id: str,
                 label: str) -> tuple[Canvas, AnnotationBody]:
    """A clip's canvas: its duration (seconds) and the size players show it at (non-square pixels stretched),
    painted by a Video body (the clip file, copied into ``media/``, its stored size), with its first frame as
    thumbnail."""
    with archive.store.as_file(item.sha256) as path:
        shown = clips.shown_size(item, path)
        name, poster = clips.iiif_media(path, out / "media", item.id, shown, clips.suffix_for(item.media_type))
        duration = float((item.extra or {}).get("duration_s") or 0) or clips.describe(path)[3]["duration_s"]
    body = AnnotationBody(id=f"{base}/media/{name}", type="Video", format=item.media_type, width=item.width,
                          height=item.height, duration=duration)
    canvas = Canvas(id=canvas_id, label={"en": [label]}, width=shown[0], height=shown[1], duration=duration)
    canvas.thumbnail = [Resource(id=f"{base}/media/{poster}", type="Image", format="image/jpeg",
                                     width=shown[0], height=shown[1])]
    return canvas, body


def manifest(archive: Archive, master: Item, out: Path, base: str, include_withdrawn: bool) -> Manifest:
    """The manifest of one master: canvas 1 paints the master, then one canvas per derivative, oldest first."""
    family, todo = [master], [master]
    while todo:
        kids = archive.children(todo.pop(0).id, include_withdrawn)
        family += kids
        todo += kids
    metadata = [_kv(k, v) for k, v in master.dublin_core().items()]
    metadata.append(_kv("sha256", master.sha256))
    mid = f"{base}/{master.id}"
    canvases = []
    for n, it in enumerate(family, 1):
        label = "Original (master)" if it.kind == "master" else f"{it.operation} (machine-made, {it.id})"
        if clips.is_clip_item(it):
            with naming(it.id, it.filename):
                canvas, body = _clip_canvas(archive, it, out, base, f"{mid}/canvas/{n}", label)
        else:
            service = f"{base}/images/{it.id}"
            if not _written(out / "images" / it.id, service):  # ids are content hashes: tiles never go stale
                with naming(it.id, it.filename):
                    picture = _image(archive, it)
                write_tiles(picture, out / "images" / it.id, service)
            body = AnnotationBody(id=f"{service}/full/max/0/default.jpg", type="Image", format="image/jpeg",
                                  width=it.width, height=it.height,
                                  service=[ServiceV3(id=service, type="ImageService3", profile="level0")])
            canvas = Canvas(id=f"{mid}/canvas/{n}", label={"en": [label]}, width=it.width, height=it.height)
        canvas.items = [AnnotationPage(id=f"{mid}/page/{n}", items=[
            Annotation(id=f"{mid}/annotation/{n}", motivation="painting", body=body, target=canvas.id)])]
        if it.kind == "derivative":
            canvas.metadata = [_kv("provenance", _provenance(archive, it))]
            metadata.append(_kv(f"derivative {it.id}", _provenance(archive, it)))
        canvases.append(canvas)
    m = Manifest(id=f"{mid}/manifest.json", label={"none": [master.title or master.filename]}, metadata=metadata,
                 items=canvases)
    if master.rights:
        m.requiredStatement = _kv("rights", master.rights)
    return m


def export(archive: Archive, out: Path, base_url: str, include_withdrawn: bool) -> Path:
    base = base_url.rstrip("/")
    refs = []
    for master in archive.items(include_withdrawn, kind="master"):
        m = manifest(archive, master, out, base, include_withdrawn)
        (out / master.id).mkdir(parents=True, exist_ok=True)
        (out / master.id / "manifest.json").write_text(json.dumps(json.loads(m.json()), indent=1))
        refs.append(m.to_reference())
    collection = Collection(id=f"{base}/collection.json", label={"en": ["daguerre archive"]}, items=refs)
    path = out / "collection.json"
    path.write_text(json.dumps(json.loads(collection.json()), indent=1))
    return path


