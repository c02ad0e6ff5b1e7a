"""Run an operation over files and folders: folder in -> folder out, bad files reported, the rest done.

Decoding and encoding stay off the model's critical path: a reader thread decodes the next picture while the
operation runs on this one, and a writer thread encodes and saves the previous result (both libraries release
the GIL). Any error in one file, expected (a broken file) or not (a bug), is reported in one line naming the
file, its traceback logged for `--verbose`, and the run goes on.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from daguerre.imaging import ImageError, Picture, load, output_path_for, save, scan
from daguerre.imaging.io import SAVE_FORMATS
from daguerre.ops.base import Operation
from daguerre.verbosity import one_line as failure
from daguerre.video import (
    DEFAULT_CONSISTENCY,
    READ_ONLY_VIDEO_EXTENSIONS,
    VIDEO_EXTENSIONS,
    is_clip_source,
    is_video_path,
)
from daguerre.video.run import process_clip

MAX_PENDING_WRITES = 2  # results waiting for the writer: bounds memory when encoding is slower than the model


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[tuple[Path, str]] = field(default_factory=list)  # `Operation.notes` of pictures that ran


def plan(inputs: list[str | Path], output: str | Path,
         unread: list[tuple[Path, str]] | None = None) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs for the `OP INPUT... -o OUTPUT` convention; the pictures in the input
    folders whose format daguerre does not read are added to ``unread`` (file, reason), from the same walk."""
    pairs: list[tuple[Path, Path]] = []
    if len(inputs) == 1 and Path(inputs[0]).is_dir() and is_video_path(output):  # numbered frames -> one clip
        if unread is not None:
            unread += scan(inputs)[1]
        return [(Path(inputs[0]), Path(output))]
    several = len(inputs) > 1 or any(Path(i).is_dir() for i in inputs)
    out = Path(output)
    if several and out.suffix and not out.is_dir():
        raise ValueError(f"{output}: several inputs need an output folder, not a file name")
    if not several and not out.is_dir() and not str(output).endswith(("/", os.sep)) and not (
            out.suffix.lower() in SAVE_FORMATS or is_video_path(out)):  # refused before the work, not after it
        if out.suffix.lower() in READ_ONLY_VIDEO_EXTENSIONS:
            raise ValueError(f"{output}: {out.suffix} clips are read, not written: write .mp4, .mkv, .mov, .webm, "
                             ".avi or .gif")
        raise ValueError(f"{output}: " + (f"unknown extension {out.suffix!r}" if out.suffix else "no extension")
                         + f": name a picture ({', '.join(sorted(SAVE_FORMATS))}), a clip "
                         f"({', '.join(sorted(VIDEO_EXTENSIONS))}) or a folder (ending in /)")
    for item in inputs:
        item = Path(item)
        root = item if item.is_dir() else None
        files, skipped = scan([item], clips=True)
        if unread is not None:
            unread += skipped
        for f in files:
            target = output_path_for(f, root, output if not several or root else str(out) + "/")
            pairs.append((f, target))
    return pairs


def is_clip(src: Path, dst: Path) -> bool:
    """``src`` goes through `process_clip`: a clip or a folder of frames; a GIF only when written to a clip name
    (a GIF of one frame written to a picture name is a picture; an animated one is refused there)."""
    if src.suffix.lower() == ".gif" and not is_video_path(dst):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(src) as gif:
                frames = getattr(gif, "n_frames", 1)
        except (OSError, UnidentifiedImageError):  # empty, truncated, not a GIF: `load` names the problem
            return False
        if frames > 1:
            raise ImageError(src, f"an animated GIF ({frames} frames): write it to a clip name (.gif, .mp4, ...), "
                                  f"not {dst.name}")
        return False
    return is_clip_source(src) or src.is_dir()


def _read(src: Path, dst: Path) -> Picture | None:
    """The picture at ``src``; None for a clip or a folder of frames, which `process_clip` streams itself."""
    return None if is_clip(src, dst) else load(src)


def _write(result: Picture, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    return save(result, dst)


def process(op: Operation, inputs: list[str | Path], output: str | Path,
            on_file: Callable[[Path, int, int], None] | None = None,
            tile_progress: Callable[[int, int], None] | None = None, consistency: float = DEFAULT_CONSISTENCY,
            steady_inside: bool = False, steady_moving: bool = False, steady_local: bool = False,
            key_every: int = 1, fps: float | None = None, **params: object) -> BatchReport:
    """Apply `op` to every input image or clip; a file that fails is reported and the others still run.

    Clips (and a folder of numbered frames written to a clip) go through `daguerre.video`, with `consistency`
    (and `steady_inside`, `steady_moving`, `steady_local`, `key_every`, `fps`: see `process_clip`)."""
    report = BatchReport()
    pairs = plan(inputs, output, unread=report.failed)  # a GIF or SVG in a scanned folder: named, not passed over
    writes: deque[tuple[Path, Future[Path]]] = deque()

    def finish_write() -> None:
        src, future = writes.popleft()
        try:
            report.written.append(future.result())
        except Exception as e:
            report.failed.append((src, failure(src, e)))

    with ThreadPoolExecutor(1, "daguerre-read") as reader, ThreadPoolExecutor(1, "daguerre-write") as writer:
        upcoming = reader.submit(_read, *pairs[0]) if pairs else None
        for i, (src, dst) in enumerate(pairs):
            decoded, upcoming = upcoming, reader.submit(_read, *pairs[i + 1]) if i + 1 < len(pairs) else None
            if on_file:
                on_file(src, i, len(pairs))
            if dst.exists() and dst.resolve() == src.resolve():  # a master must never be overwritten by its result
                report.failed.append((src, str(ImageError(src, "the output would replace this input: give another "
                                                               "-o (the input is kept as it was)"))))
                continue
            try:
                clip = is_clip(src, dst)
            except Exception as e:
                report.failed.append((src, failure(src, e)))
                continue
            if clip:  # a clip, or numbered frames going to one: streamed
                try:
                    clip_params, notes = op.with_defaults(params, clip=True), []
                    report.written.append(process_clip(op, src, dst, consistency, tile_progress,
                                                       steady_inside=steady_inside, steady_moving=steady_moving,
                                                       steady_local=steady_local, key_every=key_every,
                                                       fps=fps, notes=notes, **clip_params))
                    report.notes += [(src, f"{src}: {note}") for note in notes]
                except Exception as e:
                    report.failed.append((src, failure(src, e)))
                continue
            try:
                picture = decoded.result()
                report.notes += [(src, f"{src}: {note}") for note in op.notes(picture, params)]
                result = op.run(picture, progress=tile_progress, **params)
            except Exception as e:  # one file's failure, whatever it is, must not stop the run
                report.failed.append((src, failure(src, e)))
                continue
            writes.append((src, writer.submit(_write, result, dst)))
            while len(writes) > MAX_PENDING_WRITES:
                finish_write()
        while writes:
            finish_write()
    return report
