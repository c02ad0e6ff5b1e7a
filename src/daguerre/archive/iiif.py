"""IIIF export: Presentation 3 manifests (iiif-prezi3) with the master and its derivatives as choices on
one canvas and their provenance in ``metadata``, a collection, and static Image API level-0 tiles.

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
    Choice,
    Collection,
    KeyValueString,
    Manifest,
    ServiceV3,
)
from PIL import Image

from daguerre.archive.catalogue import Item
from daguerre.imaging import load

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

TILE = 256


def _image(archive: Archive, item: Item) -> Image.Image:
    with archive.store.as_file(item.sha256) as path:
        picture = load(path)
    return Image.fromarray(np.rint(np.moveaxis(picture.rgb(), 0, -1) * 255).astype(np.uint8))


def write_tiles(im: Image.Image, folder: Path, service_id: str) -> None:
    """A level-0 image service in ``folder``: info.json, tiles of 256 px at each scale, whole-image sizes."""
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
        out = folder / region / f"{size[0]},{size[1]}" / "0" / "default.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        crop.resize(size, Image.Resampling.LANCZOS).save(out, quality=90)

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


def _kv(label: str, value: str) -> KeyValueString:
    return KeyValueString(label={"en": [label]}, value={"none": [value]})


def _provenance(archive: Archive, item: Item) -> str:
    event = next((e for e in archive.events_of(item.id) if e.id == item.event_id), None)
    if event is None:
        return "no creation event"
    r = event.outcome_detail["recipe"]
    models = "; ".join(f"{m.get('name')} (sha256 {m.get('sha256')}, {m.get('licence')})" for m in r["models"])
    return (f"{r['operation']} {r['operation_version']} on {item.parent_id}, params {json.dumps(r['params'])}, "
            f"seed {r['seed']}, models: {models or 'none'}, digital source type {r['digital_source_type']}, "
            f"made {event.datetime} by {event.agent}, event {event.id}, sha256 {item.sha256}")


def manifest(archive: Archive, master: Item, out: Path, base: str, include_withdrawn: bool) -> Manifest:
    """The manifest of one master: one canvas whose painting body is a Choice of master and derivatives."""
    family, todo = [master], [master]
    while todo:
        kids = archive.children(todo.pop(0).id, include_withdrawn)
        family += kids
        todo += kids
    choices, metadata = [], [_kv(k, v) for k, v in master.dublin_core().items()]
    metadata.append(_kv("sha256", master.sha256))
    for it in family:
        service = f"{base}/images/{it.id}"
        write_tiles(_image(archive, it), out / "images" / it.id, service)
        label = "Original (master)" if it.kind == "master" else f"{it.operation} (machine-made, {it.id})"
        choices.append(AnnotationBody(id=f"{service}/full/max/0/default.jpg", type="Image", format="image/jpeg",
                                      width=it.width, height=it.height, label={"en": [label]},
                                      service=[ServiceV3(id=service, type="ImageService3", profile="level0")]))
        if it.kind == "derivative":
            metadata.append(_kv(f"derivative {it.id}", _provenance(archive, it)))
    mid = f"{base}/{master.id}"
    canvas = Canvas(id=f"{mid}/canvas/1", width=master.width, height=master.height)
    body = Choice(items=choices, choiceHint="user") if len(choices) > 1 else choices[0]
    canvas.items = [AnnotationPage(id=f"{mid}/page/1", items=[
        Annotation(id=f"{mid}/annotation/1", motivation="painting", body=body, target=canvas.id)])]
    m = Manifest(id=f"{mid}/manifest.json", label={"none": [master.title or master.filename]}, metadata=metadata,
                 items=[canvas])
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


