"""Video: clips and numbered-frame folders through the same Operations as pictures, frame by frame, streaming,
with a temporal-consistency step between consecutive outputs.

This package's face stays light (no ffmpeg, OpenCV or torch at import): `clip` reads and writes, `flow` and
`consistency` steady the frames, `run` ties them to an Operation, `live` stylizes a camera or a looping file.
"""

from __future__ import annotations

from pathlib import Path

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".gif"})
MAX_KEY_EVERY = 8  # `--key-every` at most: frames between keys wait in memory (`inbetween`); measured up to 3
DEFAULT_CONSISTENCY = 0.5  # measured (BENCHMARKS.md, "Video"): the warping error is a third or less
# parameters of a clip's frame loop, not of the Operation (`run.process_clip`): a still has no use for them
CLIP_PARAMS = frozenset({"consistency", "steady_inside", "steady_moving", "steady_local", "key_every"})


def is_video_path(path: str | Path) -> bool:
    """A clip by its name (.mp4, .mov, ...), or a numbered-frame pattern such as `frames/%05d.png`."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS or "%" in Path(path).name


__all__ = ["CLIP_PARAMS", "DEFAULT_CONSISTENCY", "MAX_KEY_EVERY", "VIDEO_EXTENSIONS", "is_video_path"]
