"""Run an operation over files and folders: folder in -> folder out, bad files reported, the rest done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from daguerre.imaging import ImageError, iter_images, load, output_path_for, save
from daguerre.ops.base import Operation


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def plan(inputs: list[str | Path], output: str | Path) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs for the `OP INPUT... -o OUTPUT` convention."""
    pairs: list[tuple[Path, Path]] = []
    several = len(inputs) > 1 or any(Path(i).is_dir() for i in inputs)
    out = Path(output)
    if several and out.suffix and not out.is_dir():
        raise ValueError(f"{output}: several inputs need an output folder, not a file name")
    for item in inputs:
        item = Path(item)
        root = item if item.is_dir() else None
        for f in iter_images([item]):
            target = output_path_for(f, root, output if not several or root else str(out) + "/")
            pairs.append((f, target))
    return pairs


def process(op: Operation, inputs: list[str | Path], output: str | Path,
            on_file: Callable[[Path, int, int], None] | None = None,
            tile_progress: Callable[[int, int], None] | None = None, **params: object) -> BatchReport:
    """Apply `op` to every input image; a file that fails is reported and the others still run."""
    report = BatchReport()
    pairs = plan(inputs, output)
    for i, (src, dst) in enumerate(pairs):
        if on_file:
            on_file(src, i, len(pairs))
        try:
            picture = load(src)
            result = op.run(picture, progress=tile_progress, **params)
            dst.parent.mkdir(parents=True, exist_ok=True)
            save(result, dst)
            report.written.append(dst)
        except ImageError as e:
            report.failed.append((src, str(e)))
        except (ValueError, RuntimeError, MemoryError) as e:
            report.failed.append((src, f"{src}: {e}"))
    return report
