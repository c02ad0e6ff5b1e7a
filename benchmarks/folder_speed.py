"""Folder mode speed: `daguerre stylize FOLDER -m MODEL` against the fast model's own ONNX time, same run.

    .venv/bin/python benchmarks/folder_speed.py [--threads 2] [--files 16] [--rounds 3] [--quick]

Folders of 512x512 and 2048x2048 JPEGs (crops of the bundled samples, resized; quality 90). For each:
- model: the ONNX session alone on each picture already in memory (what the model costs);
- sequential: load -> operation -> save one file after the other (the folder loop before this change);
- process: `daguerre.batch.files.process`, what `daguerre stylize FOLDER` runs (decode and encode in threads).
Rounds alternate the three so load on the shared machine falls on all of them alike; medians of the rounds.
2048² pictures with the default --tile 1024 go through PyTorch tile by tile (tiles share whole-picture
statistics, which the ONNX export cannot), so they are also run with --tile 2048: one ONNX pass, like the model row.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from _common import base_parser, print_header, set_threads
from daguerre.batch.files import process
from daguerre.imaging import load, save
from daguerre.ops import get_operation, styles

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
MODEL = "van-gogh-wheat-field"


def make_folder(folder: Path, side: int, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    photos = [Image.open(p).convert("RGB") for p in sorted(SAMPLES.glob("*.jpg"))]
    files = []
    for i in range(count):
        im = photos[i % len(photos)]
        s = min(im.size) - (i // len(photos)) * 8  # each file a slightly different square crop
        im = im.crop((0, 0, s, s)).resize((side, side), Image.Resampling.LANCZOS)
        files.append(folder / f"{i:03d}.jpg")
        im.save(files[-1], quality=90)
    return files


def model_alone(files: list[Path]) -> float:
    session = styles.style_model_onnx(MODEL)
    tensors = [torch.from_numpy(load(f).rgb())[None] for f in files]
    t0 = time.perf_counter()
    for x in tensors:
        session(x)
    return time.perf_counter() - t0


def sequential(files: list[Path], out: Path, tile: int) -> float:
    op = get_operation("stylize")
    out.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    for f in files:
        save(op.run(load(f), method="fast", model=MODEL, tile=tile), out / f.name)
    return time.perf_counter() - t0


def folder(files: list[Path], out: Path, tile: int) -> float:
    t0 = time.perf_counter()
    report = process(get_operation("stylize"), [files[0].parent], out, method="fast", model=MODEL, tile=tile)
    elapsed = time.perf_counter() - t0
    assert len(report.written) == len(files) and not report.failed, report.failed
    return elapsed


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=16, help="512² files (the 2048² folder has a quarter)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.files, args.rounds = 4, 1
    set_threads(args.threads)
    print_header("Folder mode: images per second against the model's own ONNX time", args)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = ((512, args.files, 1024, args.rounds), (2048, max(2, args.files // 4), 2048, args.rounds),
                 (2048, 2, 1024, 1))  # the default tile: PyTorch tiles, ~10x slower, so measured once
        for side, count, tile, rounds in cases:
            files = make_folder(root / f"in-{side}-{tile}", side, count)
            model_alone(files[:1])  # warm-up: session, model, page cache
            sequential(files[:1], root / "warm", tile)
            times: dict[str, list[float]] = {"model": [], "sequential": [], "process": []}
            for r in range(rounds):
                times["model"].append(model_alone(files))
                times["sequential"].append(sequential(files, root / f"seq-{side}-{tile}-{r}", tile))
                times["process"].append(folder(files, root / f"out-{side}-{tile}-{r}", tile))
            med = {k: statistics.median(v) for k, v in times.items()}
            for how in ("model", "sequential", "process"):
                rows.append((f"{side}² x{count}, tile {tile}", how, count / med[how], med[how] / count * 1000,
                             med[how] / med["model"]))
    print(f"{'folder':<22} {'what':<11} {'images/s':>9} {'ms/image':>9} {'x model':>8}")
    for folder_name, how, ips, ms, ratio in rows:
        print(f"{folder_name:<22} {how:<11} {ips:9.2f} {ms:9.1f} {ratio:8.2f}")


if __name__ == "__main__":
    main()
