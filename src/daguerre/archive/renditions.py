"""Pictures made for looking, not keeping: thumbnails (cached in the store beside the objects, made once)
and the IIIF level-0 tiles of one item (cached in the archive folder), for the web app and exports."""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.archive.catalogue import Item

if TYPE_CHECKING:
    from daguerre.archive.api import Archive
    from daguerre.imaging import Picture

THUMB = 320  # long side in pixels


def picture_of(archive: Archive, item: Item) -> Picture:
    """The item's picture, or a clip's poster frame (`video.poster`): what thumbnails and previews show. The
    poster is decoded once (up to `video.POSTER_FRAMES` frames), then read from the store's cache as a PNG."""
    import numpy as np
    from PIL import Image

    from daguerre.archive import video as clips
    from daguerre.imaging import Picture, load

    if not clips.is_clip_item(item):
        with archive.store.as_file(item.sha256) as path:
            return load(path)
    fs, key = archive.store.fs, _cached(archive, item, "poster.png")
    try:
        rgb = np.asarray(Image.open(io.BytesIO(fs.cat_file(key))).convert("RGB"), np.float32)
        return Picture(np.ascontiguousarray(rgb.transpose(2, 0, 1)) / np.float32(255))
    except FileNotFoundError:
        pass
    from daguerre.video.clip import to_rgb8

    with archive.store.as_file(item.sha256) as path:
        poster = clips.poster(path)
    buf = io.BytesIO()
    Image.fromarray(to_rgb8(poster)).save(buf, "PNG")
    _write(archive, key, buf.getvalue())
    return poster


def _cached(archive: Archive, item: Item, name: str) -> str:
    """Where the store caches a rendition of ``item`` (beside its objects, keyed by its hash)."""
    return f"{archive.store.root}/thumbs/{item.sha256[:2]}/{item.sha256}-{name}"


def _write(archive: Archive, key: str, data: bytes) -> None:
    fs = archive.store.fs
    fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
    tmp = f"{key}.{secrets.token_hex(4)}.tmp"
    with fs.open(tmp, "wb") as f:
        f.write(data)
    fs.mv(tmp, key)  # atomic on a local store: a reader never sees half a file


def thumbnail(archive: Archive, item: Item, size: int = THUMB) -> bytes:
    """A JPEG of at most ``size`` px on the long side; made on first use, then read from the store's cache."""
    fs, key = archive.store.fs, _cached(archive, item, f"{size}.jpg")
    try:
        return fs.cat_file(key)
    except FileNotFoundError:
        pass
    from daguerre.archive.iiif import _image

    im = _image(archive, item)
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=82)
    data = buf.getvalue()
    _write(archive, key, data)
    return data


def tiles(archive: Archive, item: Item, service_id: str) -> Path:
    """The folder of the item's IIIF level-0 image service (info.json names ``service_id``); made once."""
    from daguerre.archive.iiif import _image, write_tiles

    folder = archive.path / "cache" / "iiif" / item.id
    if not (folder / "info.json").exists():
        tmp = folder.with_name(f".{item.id}.{secrets.token_hex(4)}")
        write_tiles(_image(archive, item), tmp, service_id)
        try:
            tmp.rename(folder)
        except OSError:  # another request made it first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return folder
