"""Archive benchmarks: ingest throughput on scikit-image's bundled photos, and catalogue query latency
(search, show) at 100,000 items, on SQLite and on PostgreSQL (a throwaway server on 127.0.0.1).

    .venv/bin/python benchmarks/archive.py [--items 100000] [--photos 120] [--quick]

Ingest is the full path: hash, decode and check the image, Dublin Core from EXIF/IPTC/XMP, store write
(temp + fsync + rename), signed event, catalogue commit. The 100,000 items for the latency part are synthetic
rows (a third of them derivatives, one event each) bulk-inserted into the catalogue, then queried through the
same API the CLI uses.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image
from skimage import data
from sqlalchemy import insert, text

from daguerre.archive import Archive
from daguerre.archive.catalogue import Event, Item
from daguerre.archive.tempdb import TempPostgres, unavailable

PHOTOS = ("astronaut", "camera", "cat", "coffee", "coins", "moon", "page", "rocket", "text", "hubble_deep_field",
          "immunohistochemistry", "clock", "retina")
OPERATIONS = ("stylize", "film", "restore", "colorize")
MODELS = ("van-gogh-wheat-field", "monet-water-lilies", "hokusai-wave", "adain-vgg19")


def write_photos(folder: Path, count: int) -> tuple[int, int]:
    """``count`` distinct JPEGs (the bundled photos, each cropped a few pixels differently); (files, bytes)."""
    folder.mkdir(parents=True)
    arrays = [getattr(data, name)() for name in PHOTOS]
    total = 0
    for i in range(count):
        a = arrays[i % len(arrays)]
        k = i // len(arrays)
        path = folder / f"{PHOTOS[i % len(arrays)]}-{k:03d}.jpg"
        Image.fromarray(a[k:, k:]).save(path, quality=90)
        total += path.stat().st_size
    return count, total


def bench_ingest(archive: Archive, folder: Path, n: int, nbytes: int) -> tuple[float, float]:
    start = time.perf_counter()
    report = archive.ingest([folder])
    seconds = time.perf_counter() - start
    assert len(report.added) == n and not report.failed, report.failed
    return n / seconds, nbytes / seconds / 1e6


def populate(archive: Archive, n: int, seed: int = 0) -> list[str]:
    """Bulk-insert ``n`` synthetic items (two thirds masters) with one event each; returns the master ids."""
    rng = random.Random(seed)
    vocab = [f"{w}{i}" for w in ("river", "church", "harbour", "portrait", "market", "bridge", "mill", "street",
                                 "wedding", "school") for i in range(200)]  # 2,000 words, each in ~0.65% of items
    masters: list[str] = []
    batch_items, batch_events = [], []
    for i in range(n):
        sha = uuid.UUID(int=rng.getrandbits(128)).hex + uuid.UUID(int=rng.getrandbits(128)).hex
        derivative = masters and i % 3 == 2
        parent = rng.choice(masters) if derivative else None
        row = {"id": sha[:16], "kind": "derivative" if derivative else "master", "sha256": sha, "parent_id": parent,
               "root_id": parent or sha[:16], "filename": f"scan-{i:06d}.tif", "media_type": "image/tiff",
               "size": 10_000_000, "width": 4000, "height": 3000,
               "title": " ".join(rng.sample(vocab, 3)), "creator": f"Photographer {rng.randrange(500)}",
               "date": f"{rng.randrange(1850, 1960)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
               "description": " ".join(rng.sample(vocab, 8)), "subject": " ".join(rng.sample(vocab, 2)),
               "rights": rng.choice(["Public domain", "CC BY 4.0", "In copyright"]), "source": None,
               "identifier": sha[:16], "extra": {}, "operation": rng.choice(OPERATIONS) if derivative else None,
               "models": rng.choice(MODELS) if derivative else None, "digital_source_type": None,
               "event_id": None, "created": "2026-01-01T00:00:00+00:00", "withdrawn": False}
        row["search_text"] = " ".join(str(row[k]) for k in ("title", "creator", "date", "description", "subject",
                                                             "rights", "filename", "operation", "models") if row[k])
        if not derivative:
            masters.append(row["id"])
        batch_items.append(row)
        batch_events.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "type": "ingestion",
                             "datetime": "2026-01-01T00:00:00+00:00", "detail": "synthetic", "agent": "benchmark",
                             "outcome": "success", "outcome_detail": {"sha256": sha}, "object_id": row["id"],
                             "source_id": parent, "signer": None, "signature": None})
        if len(batch_items) == 10_000 or i == n - 1:
            with archive.session.begin() as s:
                s.execute(insert(Item), batch_items)
                s.execute(insert(Event), batch_events)
            batch_items, batch_events = [], []
    with archive.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return masters


def latency_ms(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm the caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def bench_queries(archive: Archive, masters: list[str], repeats: int) -> list[tuple[str, float, float]]:
    rng = random.Random(1)
    with_children = [m for m in rng.sample(masters, min(len(masters), 2000)) if archive.children(m)][:repeats]
    queries = {
        "search one word (~0.7% of items, first 100)": lambda: archive.search(f"church{rng.randrange(100, 200)}"),
        "search two words": lambda: archive.search(f"harbour{rng.randrange(100, 200)} mill"),
        "search word + operation + dates": lambda: archive.search(f"portrait{rng.randrange(100, 200)}",
                                                                  operation="stylize", date_from="1900",
                                                                  date_to="1920"),
        "search filters only (operation + dates)": lambda: archive.search(operation="film", date_from="1900",
                                                                          date_to="1920"),
        "show (item, events, derivatives)": lambda: archive.show(rng.choice(with_children)),
        "get by id prefix": lambda: archive.get(rng.choice(masters)[:8]),
    }
    return [(name, *latency_ms(fn, repeats)) for name, fn in queries.items()]


def bench_exports(archive: Archive, folder: Path) -> dict[str, tuple[float, float]]:
    """Seconds (untraced) and peak traced MB (a second, traced run) of `archive export -f json` and `-f csv`."""
    import tracemalloc

    out = {}
    for fmt in ("json", "csv"):
        start = time.perf_counter()
        archive.export(fmt, folder / fmt)
        seconds = time.perf_counter() - start
        tracemalloc.start()
        archive.export(fmt, folder / f"{fmt}-traced")
        out[fmt] = seconds, tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return out


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[f"{v:,.1f}" if isinstance(v, float) else str(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def fmt(vals: list[str]) -> str:
        pairs = enumerate(zip(vals, widths, strict=True))
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in pairs)

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, cells)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="catalogue size for the query latencies")
    parser.add_argument("--photos", type=int, default=120, help="distinct photos to ingest")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per query")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, figures mean nothing")
    args = parser.parse_args()
    if args.quick:
        args.items, args.photos, args.repeats = 2000, 10, 5
    print("# daguerre archive benchmark")
    print(f"machine : {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"command : {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    ingest_rows, query_rows, exports = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n, nbytes = write_photos(tmp / "photos", args.photos)
        backends = [("SQLite", None)]
        pg = None
        if (reason := unavailable()) is None:
            pg = TempPostgres().start()
            backends.append(("PostgreSQL", pg))
        else:
            print(f"PostgreSQL skipped: {reason}\n")
        try:
            for name, server in backends:
                url = server.create_database("ingest") if server else None
                with Archive.init(tmp / f"{name}-ingest", catalogue_url=url) as archive:
                    ingest_rows.append([name, n, nbytes / 1e6, *bench_ingest(archive, tmp / "photos", n, nbytes)])
                url = server.create_database("queries") if server else None
                with Archive.init(tmp / f"{name}-queries", catalogue_url=url) as archive:
                    start = time.perf_counter()
                    masters = populate(archive, args.items)
                    load = time.perf_counter() - start
                    query_rows[name] = (load, bench_queries(archive, masters, args.repeats))
                    exports[name] = bench_exports(archive, tmp / f"{name}-exports")
        finally:
            if pg:
                pg.stop()
    print(f"## ingest ({n} distinct JPEG photos from scikit-image, up to 1411x1411)")
    print(table(["catalogue", "images", "MB", "images/s", "MB/s"], ingest_rows), "\n")
    print(f"## catalogue queries at {args.items:,} items (median / p95 of {args.repeats} runs, ms)")
    names = list(query_rows)
    rows = []
    for i, (query, *_rest) in enumerate(next(iter(query_rows.values()))[1]):
        rows.append([query, *[v for b in names for v in query_rows[b][1][i][1:]]])
    headers = ["query", *[f"{b} {s}" for b in names for s in ("median", "p95")]]
    print(table(headers, rows))
    print("\nbulk load of the synthetic rows: " + ", ".join(f"{b} {query_rows[b][0]:.1f} s" for b in names))
    print(f"metadata exports at {args.items:,} items (s; peak of Python's allocations): " + "; ".join(
        f"{b} " + ", ".join(f"{fmt} {sec:.1f} s ({mb:.0f} MB)" for fmt, (sec, mb) in exports[b].items())
        for b in names))


if __name__ == "__main__":
    main()
