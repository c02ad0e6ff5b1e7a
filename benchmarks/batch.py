"""Batch runs: images per minute restoring 1024 px photos with 1 and 2 local workers and a 2-worker Dask
LocalCluster (the same items each time, one compute thread per worker), and the catalogue's write rate.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/batch.py [--images 8] [--size 1024] [--quick]

Each configuration gets a fresh archive (SQLite) holding the same masters. "wall" is the whole run as a user
sees it (worker start, model load, planning, recording); "steady" leaves out the start: completions after each
worker's first, over the time since then. The write rate is the client's share of a job (claim, plan, then item
+ signed event + job update), measured without compute on SQLite and, if available, PostgreSQL, with one job per
transaction (as before batching) and with the runner's `RECORD_EVERY` jobs per transaction.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, base_parser, format_table, print_header, set_threads  # noqa: E402
from daguerre import jobs  # noqa: E402
from daguerre.archive import Archive  # noqa: E402
from daguerre.archive.tempdb import TempPostgres, unavailable  # noqa: E402

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def write_photos(folder: Path, count: int, size: int) -> None:
    """``count`` distinct photos, long side ``size``: the bundled samples, resized, mirrored and rotated."""
    folder.mkdir(parents=True)
    sources = sorted(SAMPLES.glob("*.jpg"))
    for i in range(count):
        im = Image.open(sources[i % len(sources)]).convert("RGB")
        im = im.resize((size, round(size * im.height / im.width)), Image.Resampling.LANCZOS)
        for _ in range(i // len(sources)):
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).rotate(180)
        im.save(folder / f"photo-{i:03d}.jpg", quality=92)


def run_once(root: Path, photos: Path, name: str, **how) -> dict:
    with Archive.init(root / name) as archive:
        ids = archive.ingest([photos]).added
        run_id = jobs.create_run(archive, "restore", {})
        jobs.submit(archive, ids, "restore", {}, run_id=run_id)
        finished: list[float] = []
        start = time.perf_counter()
        summary = jobs.run_jobs(archive, run_id, threads=1, **how,
                                on_progress=lambda e: finished.append(time.perf_counter())
                                if e["status"] == "done" else None)
        wall = time.perf_counter() - start
        assert summary.done == len(ids), summary.errors
        workers = how.get("workers", 1)
        steady = (len(finished) - workers) / (finished[-1] - finished[workers - 1]) * 60 if len(finished) > workers \
            else float("nan")
        with archive.session() as s:
            from daguerre.archive.catalogue import Event

            per_image = [e.outcome_detail["duration_s"] for e in s.query(Event).filter(Event.type == "creation")]
    return {"config": name, "images": len(ids), "wall_s": round(wall, 1),
            "wall_per_min": round(len(ids) / wall * 60, 2),
            "steady_per_min": round(steady, 2), "op_s_median": round(sorted(per_image)[len(per_image) // 2], 2)}


def write_rate(archive: Archive, n: int, every: int) -> float:
    """Jobs per second the client records (claim, plan, then item + signed event + job update), no compute:
    ``every`` results per transaction (1: one transaction per job, as before batching)."""
    from daguerre.archive import derive
    from daguerre.jobs.runner import _claim, record

    [master] = archive.ingest([SAMPLES / "astronaut.jpg"]).added
    ids = jobs.submit(archive, [master] * n, "film", {})
    parent = archive.get(master)
    start = time.perf_counter()
    for first in range(0, n, every):
        batch = [type("J", (), {"id": job_id, "item_id": master})() for job_id in ids[first:first + every]]
        results = []
        for job in _claim(archive, batch):
            task = derive.plan(archive, "film", parent, {}, 0, False, event_id=job.id)
            sha = secrets.token_hex(32)
            recipe = {**task["recipe"], "rendition_sha256": sha, "output": {"media_type": "image/png", "bit_depth": 8}}
            made = {"recipe": recipe, "sha256": sha, "size": 1, "width": 1, "height": 1, "metrics": {}, "started": "",
                    "duration_s": 0.0, "c2pa": "embedded"}
            results.append((job, task, made))
        assert not any(record(archive, results))
    return n / (time.perf_counter() - start)


def write_rates(root: Path, n: int) -> dict[str, dict[str, float]]:
    """Jobs/s recorded on SQLite and (if available) PostgreSQL, one job per transaction and `RECORD_EVERY`."""
    from daguerre.jobs.runner import RECORD_EVERY

    out: dict[str, dict[str, float]] = {"sqlite": {}}
    for every in (1, RECORD_EVERY):
        out["sqlite"][f"{every} per transaction"] = write_rate(Archive.init(root / f"w-sqlite-{every}"), n, every)
    if unavailable() is None:
        out["postgresql"] = {}
        with TempPostgres() as pg:
            for every in (1, RECORD_EVERY):
                url = pg.create_database(f"w{every}")
                out["postgresql"][f"{every} per transaction"] = write_rate(
                    Archive.init(root / f"w-pg-{every}", catalogue_url=url), n, every)
    return out


def queue_memory(root: Path, n: int) -> dict[str, dict[str, float]]:
    """Peak Python memory (tracemalloc) of the client queueing a run over the masters of ``n`` synthetic items and
    reading its jobs back: the whole list at once (as before) against keyset pages (now)."""
    import tracemalloc

    from sqlalchemy import select

    from archive import populate
    from daguerre.archive.catalogue import Job
    from daguerre.jobs.runner import _candidates

    a = Archive.init(root / "queue")
    populate(a, n)

    def whole(run_id: str) -> int:
        ids = jobs.submit(a, [it.id for it in a.search("", limit=None, kind="master")], "film", {}, run_id=run_id)
        with a.session() as s:
            rows = list(s.execute(select(Job.id, Job.item_id, Job.operation, Job.params, Job.status)
                                  .where(Job.run_id == run_id).order_by(Job.pk)))
        return min(len(ids), len(rows))

    def paged(run_id: str) -> int:
        queued = jobs.submit_matching(a, run_id, "", {"kind": "master"})
        return min(queued, sum(1 for _ in _candidates(a, run_id, None)))

    out = {}
    for name, queue in (("whole list (before)", whole), ("keyset pages (now)", paged)):
        run_id = jobs.create_run(a, "film", {})
        tracemalloc.start()
        start = time.perf_counter()
        count = queue(run_id)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[name] = {"jobs": count, "peak_MB": round(peak / 1e6, 1), "seconds": round(seconds, 1)}
    return out


def restore_cpu(path: str) -> dict[str, float]:
    """Restore one photo where this runs (a worker): wall seconds, CPU seconds of the computing thread and of
    the whole worker process (its other threads: Dask's profiler, event loop and monitors)."""
    import torch

    from daguerre.imaging import load
    from daguerre.ops import get_operation

    torch.set_num_threads(1)
    picture = load(path)
    wall, process, thread = time.perf_counter(), time.process_time(), time.thread_time()
    get_operation("restore").run(picture)
    return {"wall_s": round(time.perf_counter() - wall, 2), "thread_cpu_s": round(time.thread_time() - thread, 2),
            "process_cpu_s": round(time.process_time() - process, 2)}


def worker_overhead(root: Path, size: int, repeats: int = 3) -> dict[str, list[dict[str, float]]]:
    """The same restore in a process-pool worker, a Dask worker, and a Dask worker without the statistical
    profiler, one worker each, taking turns (so that the machine's load falls on all three alike)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import dask
    from distributed import Client, LocalCluster

    write_photos(root / "one", 1, size)
    path = str(root / "one" / "photo-000.jpg")
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    clusters = {}
    for name, profile in (("Dask worker", True), ("Dask worker, no profiler", False)):
        with dask.config.set({"distributed.worker.profile.enabled": profile}):
            cluster = LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)
        clusters[name] = (cluster, Client(cluster))
    runs = {"pool worker": lambda: pool.submit(restore_cpu, path).result()}
    for name, (_, client) in clusters.items():
        runs[name] = lambda client=client: client.submit(restore_cpu, path, pure=False).result()
    out: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for i in range(repeats + 1):  # the first loads the model: left out
        for name, run in runs.items():
            if (row := run()) and i:
                out[name].append(row)
    for cluster, client in clusters.values():
        client.close()
        cluster.close()
    pool.shutdown()
    return out


def per_image_cost(size: int) -> dict[str, float]:
    """Wall and CPU seconds per photo of long side ``size`` for restore and colorize, one thread, in this process
    (the second of two calls: the first loads the model). CPU seconds hardly depend on what else the machine runs."""
    from daguerre.imaging import load
    from daguerre.ops import get_operation

    with tempfile.TemporaryDirectory() as tmp:
        write_photos(Path(tmp) / "p", 1, size)
        picture = load(Path(tmp) / "p" / "photo-000.jpg")
    out = {}
    for name in ("restore", "colorize"):
        op = get_operation(name)
        for _ in range(2):
            start, cpu = time.perf_counter(), time.process_time()
            op.run(picture)
            out[name] = {"wall_s": round(time.perf_counter() - start, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    return out


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--writes", type=int, default=300, help="jobs recorded for the write rate")
    parser.add_argument("--writes-only", action="store_true", help="only the catalogue write rate")
    parser.add_argument("--worker-overhead", action="store_true", help="only: CPU seconds per restore in a pool "
                        "worker and a Dask worker (with and without its profiler)")
    parser.add_argument("--queue-items", type=int, default=0, help="only: the client's peak memory queueing and "
                        "reading a run over this many synthetic catalogue items")
    parser.add_argument("--cost-at", type=int, default=0, help="only: seconds per photo of this long side for "
                        "restore and colorize (1 thread), for the estimate in BENCHMARKS.md")
    args = parser.parse_args()
    args.threads = 1
    if args.quick:
        args.images, args.size, args.writes = 4, 256, 20
    set_threads(1)
    info = print_header("Batch runs: restore over a collection; catalogue write rate", args)
    if args.worker_overhead:
        with tempfile.TemporaryDirectory() as tmp:
            for name, rows in worker_overhead(Path(tmp), args.size).items():
                mean = {k: round(sum(r[k] for r in rows) / len(rows), 2) for k in rows[0]}
                print(f"  {name}: mean of {len(rows)} {mean}; each {rows}")
        return
    if args.queue_items:
        with tempfile.TemporaryDirectory() as tmp:
            for name, row in queue_memory(Path(tmp), args.queue_items).items():
                print(f"  {name}: {row}")
        return
    if args.cost_at:
        print(f"seconds per {args.cost_at} px photo, 1 thread: {per_image_cost(args.cost_at)}")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_photos(root / "photos", args.images, args.size)
        configs = (("local, 1 worker", {"workers": 1}), ("local, 2 workers", {"workers": 2}),
                   ("Dask LocalCluster, 2 workers", {"workers": 2, "cluster": "local"}))
        for name, how in () if args.writes_only else configs:
            folder = name.replace(" ", "").replace(",", "-")
            rows.append(run_once(root, root / "photos", folder, **how) | {"config": name})
            print(f"  {name}: {rows[-1]}", flush=True)
        writes = write_rates(root, args.writes)
    print()
    for k, v in writes.items():
        print(f"catalogue writes ({k}): " + ", ".join(f"{rate:.0f} jobs/s with {label}" for label, rate in v.items()))
    if args.writes_only:
        return
    print(format_table(["configuration", "images", "wall s", "images/min (wall)", "images/min (steady)",
                        "restore s/image (median)"],
                       [[r[k] for k in ("config", "images", "wall_s", "wall_per_min", "steady_per_min", "op_s_median")]
                        for r in rows]))
    ratio_wall = rows[1]["wall_per_min"] / rows[0]["wall_per_min"]
    ratio_steady = rows[1]["steady_per_min"] / rows[0]["steady_per_min"]
    print(f"\n2 vs 1 local workers: x{ratio_wall:.2f} wall, x{ratio_steady:.2f} steady (goal >= 1.8)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batch.json").write_text(json.dumps({"machine": info, "runs": rows, "ratio_wall": ratio_wall,
                                                    "ratio_steady": ratio_steady, "jobs_recorded_per_s": writes},
                                                   indent=1))


if __name__ == "__main__":
    main()
