"""Clips in the archive: a video is an item like a picture. Its master is stored as it came (immutable, content
addressed); a derivative is the Operation run over every frame (`daguerre.video.run`), stored as H.264 MP4 with
a signed creation event holding the full recipe, and a C2PA manifest embedded in the MP4 when c2pa-python is
available (the MP4 is one of its formats; the parent clip is named as ingredient by hash, not embedded).

A clip derivative is re-derived like a picture's, its frames compared after decoding (`compare`: x264 output is
byte-reproducible on one machine, not promised across machines). The IIIF export paints a clip on a canvas with a
duration, as a Video body (`iiif_media`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.archive.errors import ArchiveError
from daguerre.imaging import ImageError, Picture
from daguerre.video import DEFAULT_CONSISTENCY, is_clip_source

if TYPE_CHECKING:
    from daguerre.archive.catalogue import Item
    from daguerre.video.clip import ClipInfo

MEDIA_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
               ".webm": "video/webm", ".avi": "video/x-msvideo", ".mpg": "video/mpeg", ".mpeg": "video/mpeg",
               ".ts": "video/mp2t", ".dv": "video/x-dv", ".vob": "video/mpeg", ".mts": "video/mp2t",
               ".m2ts": "video/mp2t", ".mxf": "application/mxf", ".3gp": "video/3gpp", ".wmv": "video/x-ms-wmv",
               ".flv": "video/x-flv", ".ogv": "video/ogg", ".m2v": "video/mpeg"}
DERIVATIVE_MEDIA_TYPE = "video/mp4"
EXTENSIONS: dict[str, str] = {}  # a clip's media type -> the extension its file takes outside the store (a bag)
for _suffix, _media_type in MEDIA_TYPES.items():
    EXTENSIONS.setdefault(_media_type, _suffix)


def is_clip(path: Path) -> bool:
    return is_clip_source(path) and path.is_file()


def is_clip_item(item: Item) -> bool:
    return (item.media_type or "").startswith("video/") or item.media_type in MEDIA_TYPES.values()


def not_clip():  # noqa: ANN201 - an SQLAlchemy condition
    """`is_clip_item`'s opposite as a query condition, so a search can leave clips out before it counts."""
    from sqlalchemy import and_, func, not_

    from daguerre.archive.catalogue import Item

    media_type = func.coalesce(Item.media_type, "")
    return and_(not_(media_type.startswith("video/")), media_type.not_in(sorted(set(MEDIA_TYPES.values()))))


def describe(path: Path) -> tuple[str, int, int, dict]:
    """(media type, width, height, extra catalogue fields) of a clip; ArchiveError naming it if unreadable."""
    from daguerre.video.clip import cut_short, open_clip

    try:
        info, frames = open_clip(path)
        frames.close()  # type: ignore[attr-defined]
    except (ImageError, RuntimeError) as e:
        raise ArchiveError(str(e)) from None
    if why := cut_short(path):  # a master must be whole: its catalogue would count frames it does not have
        raise ArchiveError(f"{path}: truncated video ({why}): ingest the whole file")
    return MEDIA_TYPES.get(path.suffix.lower(), "video/octet-stream"), info.size[0], info.size[1], facts(info)


def facts(info: ClipInfo) -> dict:
    """A clip's catalogue fields (`Item.extra`): frame rate, frames, duration, audio, pixel shape."""
    return {"fps": info.fps, "frames": info.frames, "duration_s": info.duration, "audio": info.audio,
            "pixel_aspect": f"{info.sar[0]}:{info.sar[1]}"}


def render(op: object, source: Path, params: dict, progress: Callable[[int, int], None] | None = None,
           label: str | None = None, measure: bool | None = None) -> tuple[bytes, tuple[int, int], dict, dict]:
    """The derivative clip's bytes, frame size, catalogue fields (`facts`, read from the file made) and metrics:
    `op` over every frame of `source`, audio kept; `progress` gets (frames done, frames expected). With `measure`
    (False: without LPIPS), the metrics against `source` (`video.measure.measure_clip`), else none. Errors name
    the clip as `label` (an item's id), else by its file name."""
    from daguerre.video.clip import open_clip
    from daguerre.video.run import process_clip

    params = dict(params)
    consistency = float(params.pop("consistency", DEFAULT_CONSISTENCY))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "derivative.mp4"
        try:
            process_clip(op, source, out, consistency, progress, **params)  # type: ignore[arg-type]
            made = open_clip(out)[0]
        except (ImageError, ValueError, TypeError, KeyError, LookupError, RuntimeError) as e:
            name = label or source.name
            said = " ".join(str(e).strip("'").split()).replace(str(source), name).removeprefix(f"{name}: ")
            raise ArchiveError(f"{name}: {getattr(op, 'name', op)} failed: {said}") from None
        measured = {} if measure is None else clip_metrics(out, source, measure)
        return out.read_bytes(), made.size, facts(made), measured


def clip_metrics(clip: Path, source: Path, lpips: bool) -> dict[str, float]:
    """A derivative clip's metrics against its parent, as a picture's are recorded (rounded to 6 places)."""
    from daguerre.video.measure import measure_clip

    return {k: round(float(v), 6) if isinstance(v, float) else v
            for k, v in measure_clip(clip, source, lpips=lpips).items()}


@dataclass
class FrameComparison:
    """Two clips compared frame by frame after decoding."""

    frames: tuple[int, int]  # frame counts (stored, re-derived)
    max_abs_diff: float  # over every pixel of every frame, [0, 1]; inf when the counts or sizes differ
    psnr: float | None  # over all frames; None when identical
    notes: list[str]


def compare(stored: Path, rederived: Path) -> FrameComparison:
    """Decode both clips frame by frame (never more than a frame of each in memory) and compare them."""
    import numpy as np

    from daguerre.video.clip import open_clip

    (a_info, a), (b_info, b) = open_clip(stored), open_clip(rederived)
    if a_info.size != b_info.size:
        return FrameComparison((0, 0), float("inf"), None, [f"size differs: stored {a_info.size}, re-derived "
                                                             f"{b_info.size}"])
    counts, diff, squared = [0, 0], 0.0, 0.0
    for x, y in zip_longest(a, b):
        counts = [counts[0] + (x is not None), counts[1] + (y is not None)]
        if x is not None and y is not None:
            d = np.abs(x.pixels - y.pixels)
            diff, squared = max(diff, float(d.max())), squared + float((d.astype(np.float64) ** 2).mean())
    notes = colour_notes(a_info, b_info)
    if counts[0] != counts[1]:
        notes.append(f"frame count differs: stored {counts[0]}, re-derived {counts[1]}")
        diff = float("inf")
    mse = squared / max(min(counts), 1)
    psnr = None if mse == 0 else round(10 * float(np.log10(1 / mse)), 3)
    return FrameComparison((counts[0], counts[1]), diff, psnr, notes)


def colour_notes(stored: ClipInfo, rederived: ClipInfo) -> list[str]:
    """Why a clip stored before daguerre named clips' colours (2026-12-02) re-derives different: it names no YUV
    matrix, and the re-made one does (`daguerre.video.colour`)."""
    from daguerre.video.colour import HD_LINES

    if stored.colour.matrix != "unknown" or rederived.colour.matrix == "unknown":
        return []
    if stored.size[1] > HD_LINES:
        return ["the stored clip was made before daguerre named clips' colours: its HD frames were written as "
                "BT.601 without saying so, which players show as BT.709, with shifted colours (and an HD source "
                "naming no matrix was read as BT.601); the re-derived clip is BT.709, named, as players show it"]
    return ["the stored clip was made before daguerre named clips' colours (BT.601 at this size, unnamed); the "
            "re-derived clip names them"]


POSTER_FRAMES, POSTER_DARK = 48, 0.04  # a poster is sought in the first 48 frames, past any nearly black ones


def poster(path: Path) -> Picture:
    """The frame that stands for a clip in thumbnails, previews and IIIF exports: the first of its first
    `POSTER_FRAMES` whose mean is above `POSTER_DARK` (past a fade from black), else its first frame."""
    from daguerre.video.clip import open_clip

    _, frames = open_clip(path)
    first = None
    try:
        for i, frame in enumerate(frames):
            first = first or frame
            if float(frame.pixels.mean()) > POSTER_DARK:
                return frame
            if i + 1 >= POSTER_FRAMES:
                break
    finally:
        frames.close()  # type: ignore[attr-defined]
    if first is None:
        raise ArchiveError(f"{path.name}: the clip has no frames")
    return first


def shown_size(item: Item, clip: Path) -> tuple[int, int]:
    """A clip item's size as players show it: its width stretched by its pixels' shape (720x576 DV at 16:15 is
    768x576). Items catalogued before the shape was recorded are asked of the file."""
    aspect = (item.extra or {}).get("pixel_aspect") or describe(clip)[3]["pixel_aspect"]
    across, down = (int(n) for n in str(aspect).split(":"))
    return round(item.width * across / down), item.height


def suffix_for(media_type: str | None) -> str:
    """A clip file's suffix for its media type (".mkv" for Matroska); ".mp4" where the type names none."""
    return next((suffix for suffix, kind in MEDIA_TYPES.items() if kind == media_type), ".mp4")


def iiif_media(clip: Path, folder: Path, name: str, shown: tuple[int, int] | None = None,
               suffix: str | None = None) -> tuple[str, str]:
    """The clip copied into an IIIF export's media `folder` as `name` + `suffix` (default its own), and a poster
    frame beside it as `name.jpg` (at the `shown` size, if given): (clip file name, poster file name). Already
    written files (names are content hashes) are kept."""
    import shutil

    from PIL import Image

    from daguerre.video.clip import to_rgb8

    folder.mkdir(parents=True, exist_ok=True)
    target, still = folder / f"{name}{suffix or clip.suffix.lower() or '.mp4'}", folder / f"{name}.jpg"
    if not target.is_file():
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(clip, partial)
        partial.replace(target)
    if not still.is_file():
        frame = Image.fromarray(to_rgb8(poster(clip)))
        frame = frame if shown is None or frame.size == shown else frame.resize(shown, Image.Resampling.LANCZOS)
        frame.save(still, quality=90)
    return target.name, still.name
