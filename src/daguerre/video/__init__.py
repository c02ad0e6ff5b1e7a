"""Video: clips and numbered-frame folders through the same Operations as pictures, frame by frame, streaming,
with a temporal-consistency step between consecutive outputs.

This package's face stays light (no ffmpeg, OpenCV or torch at import): `clip` reads and writes, `flow` and
`consistency` steady the frames, `run` ties them to an Operation, `live` stylizes a camera or a looping file.
"""

from __future__ import annotations

from pathlib import Path

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".gif"})
# clips read but not written: tape and disc transfers (DV, DVD, camcorder AVCHD, MXF), old phones and web video;
# their results go to Matroska, which takes any sound track as it is (`clip_result_name`)
READ_ONLY_VIDEO_EXTENSIONS = frozenset({".dv", ".vob", ".mts", ".m2ts", ".mxf", ".3gp", ".wmv", ".flv", ".ogv",
                                        ".m2v"})
READ_ONLY_RESULT = ".mkv"
MAX_KEY_EVERY = 8  # `--key-every` at most: frames between keys wait in memory (`inbetween`); measured up to 3
DEFAULT_CONSISTENCY = 0.5  # measured (BENCHMARKS.md, "Video"): the warping error is a third or less
# parameters of a clip's frame loop, not of the Operation (`run.process_clip`): a still has no use for them
CLIP_PARAMS = frozenset({"consistency", "steady_inside", "steady_moving", "steady_local", "key_every", "blend",
                         "fps"})
# how a clip written to a video file is steadied: in 8 bits ("bytes", since 2026-12-02) or in float ("float", as
# before, what archive recipes without `blend` re-derive with)
BLENDS = ("bytes", "float")


def is_video_path(path: str | Path) -> bool:
    """A clip daguerre writes, by its name (.mp4, .mov, ...), or a numbered-frame pattern such as `frames/%05d.png`."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS or "%" in Path(path).name


def is_clip_source(path: str | Path) -> bool:
    """A clip daguerre reads, by its name: one it writes, or a read-only one (.dv, .vob, .mts, ...)."""
    return is_video_path(path) or Path(path).suffix.lower() in READ_ONLY_VIDEO_EXTENSIONS


def clip_result_name(path: Path) -> Path:
    """The name a result of the clip `path` takes in a folder run: its own, or .mkv for a read-only format."""
    return path.with_suffix(READ_ONLY_RESULT) if path.suffix.lower() in READ_ONLY_VIDEO_EXTENSIONS else path


__all__ = ["BLENDS", "CLIP_PARAMS", "DEFAULT_CONSISTENCY", "MAX_KEY_EVERY", "READ_ONLY_VIDEO_EXTENSIONS",
           "VIDEO_EXTENSIONS", "clip_result_name", "is_clip_source", "is_video_path"]
