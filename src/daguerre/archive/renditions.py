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
    """The item's picture, or a clip's poster frame (`video.poster`): what thumbnails and previews show."""
    from daguerre.archive import video as clips
    from daguerre.imaging import load

    with archive.store.as_file(item.sha256) as path:
        return clips.poster(path) if clips.is_clip_item(item) else load(path)


def thumbnail(archive: Archive, item: Item, size: int = THUMB) -> bytes:
    """A JPEG of at most ``size`` px on the long side; made on first use, then read from the store's cache."""
    fs, key = archive.store.fs, f"{archive.store.root}/thumbs/{item.sha256[:2]}/{item.sha256}-{size}.jpg"
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
    fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
    tmp = f"{key}.{secrets.token_hex(4)}.tmp"
    with fs.open(tmp, "wb") as f:
        f.write(data)
    fs.mv(tmp, key)  # atomic on a local store: a reader never sees half a thumbnail
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
