"""Clips in the archive: a video is an item like a picture. Its master is stored as it came (immutable, content
addressed); a derivative is the Operation run over every frame (`daguerre.video.run`), stored as H.264 MP4 with
a signed creation event holding the full recipe, and a C2PA manifest embedded in the MP4 when c2pa-python is
available (the MP4 is one of its formats; the parent clip is named as ingredient by hash, not embedded).

Not yet for clips: `rederive` (x264 output is not byte-reproducible across machines) and IIIF export.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.archive.errors import ArchiveError
from daguerre.imaging import ImageError
from daguerre.video import DEFAULT_CONSISTENCY, is_video_path

if TYPE_CHECKING:
    from daguerre.archive.catalogue import Item

MEDIA_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
               ".webm": "video/webm", ".avi": "video/x-msvideo", ".mpg": "video/mpeg", ".mpeg": "video/mpeg",
               ".ts": "video/mp2t"}
DERIVATIVE_MEDIA_TYPE = "video/mp4"


def is_clip(path: Path) -> bool:
    return is_video_path(path) and path.is_file()


def is_clip_item(item: Item) -> bool:
    return (item.media_type or "").startswith("video/")


def describe(path: Path) -> tuple[str, int, int, dict]:
    """(media type, width, height, extra catalogue fields) of a clip; ArchiveError naming it if unreadable."""
    from daguerre.video.clip import open_clip

    try:
        info, frames = open_clip(path)
        frames.close()  # type: ignore[attr-defined]
    except (ImageError, RuntimeError) as e:
        raise ArchiveError(str(e)) from None
    extra = {"fps": info.fps, "frames": info.frames, "duration_s": info.duration, "audio": info.audio}
    return MEDIA_TYPES.get(path.suffix.lower(), "video/octet-stream"), info.size[0], info.size[1], extra


def render(op: object, source: Path, params: dict) -> tuple[bytes, tuple[int, int]]:
    """The derivative clip's bytes and frame size: `op` over every frame of `source`, audio kept."""
    from daguerre.video.clip import open_clip
    from daguerre.video.run import process_clip

    params = dict(params)
    consistency = float(params.pop("consistency", DEFAULT_CONSISTENCY))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "derivative.mp4"
        try:
            process_clip(op, source, out, consistency, **params)  # type: ignore[arg-type]
            size = open_clip(out)[0].size
        except (ImageError, ValueError, TypeError, KeyError, LookupError, RuntimeError) as e:
            raise ArchiveError(f"{getattr(op, 'name', op)} failed on {source.name}: "
                               f"{' '.join(str(e).strip(chr(39)).split())}") from None
        return out.read_bytes(), size
