"""Web app benchmarks: server time of the collection and item pages (median, p95) at 100 and 100,000 items
on SQLite; the collection page under 20 concurrent readers while a job runs; a job's time through the web
(API submit -> done) against the same operation called as `daguerre archive apply` does, in the same run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/web.py [--items 100000] [--repeats 40] [--quick]

Catalogue rows are synthetic (benchmarks/archive.py `populate`), inserted directly; pages are requested through
FastAPI's in-process client (server time, no network), the concurrent part through uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from archive import populate
from daguerre.archive import Archive, users

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
PASSWORD = "benchmark password"


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return stats(out)


def logged_in(app, name: str = "bench"):
    import re

    from fastapi.testclient import TestClient

    c = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"name": name, "password": PASSWORD, "csrf": token}).status_code == 303
    return c


def page_latency(n: int, repeats: int, folder: Path) -> list[list[object]]:
    from daguerre.web.app import create_app

    archive = Archive.init(folder / f"a{n}")
    masters = populate(archive, n)
    users.add(archive, "bench", "viewer", PASSWORD)
    c = logged_in(create_app(archive))
    word = "river17"
    pages = {"baseline: login form (no catalogue query)": "/login",
             "collection, first page": "/", "collection, search one word": f"/?q={word}",
             "collection, search + facet + sort": f"/?q={word}&kind=master&sort=title",
             "collection, page 100": "/?page=100", "collection, decade facet": "/?decade=1900",
             "item page (master)": f"/items/{masters[len(masters) // 2]}"}
    users.add(archive, "bench-editor", "editor", PASSWORD)
    editor = logged_in(create_app(archive), "bench-editor")
    rows = []
    pages["item page as an editor (Run form, style gallery)"] = pages["item page (master)"]
    for label, url in pages.items():
        client = editor if "editor" in label else c

        def get(url=url, client=client):
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
        med, p95 = timed(get, repeats)
        rows.append([label, n, med, p95])
    archive.close()
    return rows


def concurrent_readers(folder: Path, readers: int, seconds: float) -> list[list[object]]:
    """Collection page (a search) latency over HTTP with ``readers`` clients, idle and while a restore job runs."""
    import httpx
    import uvicorn

    from daguerre.web.app import create_app

    archive = Archive.init(folder / "busy")
    populate(archive, 10_000)
    [master] = archive.ingest([SAMPLES / "coffee.jpg"]).added
    users.add(archive, "bench", "editor", PASSWORD)
    token = users.new_token(archive, "bench")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(archive), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}

    def load(until: float, out: list[float]) -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=60) as c:
            while time.perf_counter() < until:
                start = time.perf_counter()
                assert c.get("/", params={"q": "river17"}).status_code == 200
                out.append((time.perf_counter() - start) * 1000)

    def run_readers() -> list[float]:
        out: list[float] = []
        until = time.perf_counter() + seconds
        threads = [threading.Thread(target=load, args=(until, out)) for _ in range(readers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    idle = run_readers()
    with httpx.Client(base_url=base, headers=auth, timeout=60) as c:
        job = c.post(f"/api/items/{master}/jobs", json={"operation": "restore", "params": {}}).json()["id"]
        while c.get(f"/api/jobs/{job}").json()["status"] == "queued":
            time.sleep(0.05)
        busy = run_readers()
        status = c.get(f"/api/jobs/{job}").json()["status"]
    server.should_exit = True
    archive.close()
    rows = []
    for label, samples in (("idle", idle), (f"while a restore job runs (job {status} at the end)", busy)):
        med, p95 = stats(samples)
        rows.append([f"{readers} readers, {label}", len(samples), len(samples) / seconds, med, p95])
    return rows


def job_overhead(folder: Path, repeats: int) -> list[list[object]]:
    """The same restore on the same picture: `Archive.apply` (what the CLI calls) vs API submit -> the job's
    result archived (its ``finished_at``; the client polls every second, as the jobs page does)."""
    from fastapi.testclient import TestClient

    from daguerre.web.app import create_app

    archive = Archive.init(folder / "jobs")
    [master] = archive.ingest([SAMPLES / "astronaut.jpg"]).added
    users.add(archive, "bench", "editor", PASSWORD)
    auth = {"Authorization": f"Bearer {users.new_token(archive, 'bench')}"}
    direct, web = [], []
    with TestClient(create_app(archive)) as c:
        for i in range(repeats + 1):  # alternate, so that load changes hit both; the first pair warms up
            start = time.perf_counter()
            archive.apply("restore", [master], {"strength": 1.0 - i / 1000})
            d = time.perf_counter() - start
            start = time.time()
            job = c.post(f"/api/items/{master}/jobs", headers=auth,
                         json={"operation": "restore", "params": {"strength": 0.5 - i / 1000}}).json()["id"]
            while (state := c.get(f"/api/jobs/{job}", headers=auth).json())["status"] in ("queued", "running"):
                time.sleep(1.0)  # as the jobs page polls
            assert state["status"] == "done", state
            w = datetime.fromisoformat(state["finished_at"]).timestamp() - start  # until the result is archived
            if i:
                direct.append(d)
                web.append(w)
    archive.close()
    d, w = statistics.median(direct), statistics.median(web)
    return [["restore 512x512, Archive.apply (the CLI's call): median / min", f"{d:.2f} / {min(direct):.2f}"],
            ["restore 512x512, web API submit -> result archived: median / min", f"{w:.2f} / {min(web):.2f}"],
            ["overhead (median / min)", f"{(w / d - 1) * 100:+.1f} % / {(min(web) / min(direct) - 1) * 100:+.1f} %"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.items, args.repeats = 1000, 5
    import os

    import torch

    torch.set_num_threads(1)
    print(f"# web app — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, torch threads 1")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    with tempfile.TemporaryDirectory() as tmp:
        print("| page | items | median ms | p95 ms |\n|---|---:|---:|---:|")
        for n in (100, args.items):
            for row in page_latency(n, args.repeats, Path(tmp)):
                print(f"| {row[0]} | {row[1]:,} | {row[2]:.1f} | {row[3]:.1f} |", flush=True)
        print("\n| collection search page, 10,000 items, over HTTP | requests | per s | median ms | p95 ms |")
        print("|---|---:|---:|---:|---:|")
        for row in concurrent_readers(Path(tmp), args.readers, 3 if args.quick else 10):
            print(f"| {row[0]} | {row[1]} | {row[2]:.0f} | {row[3]:.1f} | {row[4]:.1f} |", flush=True)
        print("\n| job | seconds |\n|---|---:|")
        for label, value in job_overhead(Path(tmp), 2 if args.quick else 7):
            print(f"| {label} | {value} |", flush=True)


if __name__ == "__main__":
    main()
