"""Bag import at scale: the time to check a bag (`read` + `check`: BagIt validation, every field, signature, hash
and label) and to import it, and Python's peak allocations while checking, for a bag of N items.

    PYTHONPATH=src .venv/bin/python benchmarks/bag_import.py --items 3000 [--work /tmp/bagbench] [--import]

The bag holds N ingested 24 px PNGs (one ingestion event each), built once under --work and reused. Peak
allocations are Python's (`tracemalloc`, in a run of their own: tracing slows Python several times) and include
the `bagit` library's validation, which holds its manifests in memory; SQLite's page cache is not counted.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image

from _common import base_parser, format_table, print_header
from daguerre.archive import Archive, bag_import


def make_bag(work: Path, n: int) -> Path:
    """A bag of `n` ingested 24 px PNGs under `work` (made once)."""
    bag = work / f"n{n}" / "bag"
    if not bag.exists():
        photos = work / f"n{n}" / "src"
        photos.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (24, 24, 3), np.uint8)).save(photos / f"p{i:06d}.png")
        source = Archive.init(work / f"n{n}" / "archive")
        source.ingest(sorted(photos.iterdir()))
        source.export("bagit", bag)
    return bag


def checked(archive: Archive, bag: Path) -> int:
    with bag_import.read(bag) as parsed:
        return len(bag_import.check(archive, parsed))


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "daguerre-bag-bench")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--import", dest="full", action="store_true", help="also time the whole import")
    args = parser.parse_args()
    print_header("Bag import: check time and peak allocations", args)
    rows = []
    for n in [20] if args.quick else args.items:
        bag = make_bag(args.work, n)
        archive = Archive.init(Path(tempfile.mkdtemp()) / "importer")
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            problems = checked(archive, bag)
            seconds.append(time.perf_counter() - start)
        tracemalloc.start()
        checked(archive, bag)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        row = [n, " / ".join(f"{s:.2f}" for s in seconds), f"{peak:.1f}", problems]
        if args.full:
            start = time.perf_counter()
            added = len(archive.import_bag(bag, trust_signer=True).added)
            row.append(f"{time.perf_counter() - start:.1f} ({added} added)")
        rows.append(row)
    headers = ["items", "read + check s", "peak MB (checking)", "problems"] + (["import s"] if args.full else [])
    print(format_table(headers, rows))


if __name__ == "__main__":
    main()
