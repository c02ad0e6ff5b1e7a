"""``daguerre archive batch`` and ``daguerre archive runs``: an operation over a whole collection, resumable."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from daguerre.archive.cli import ArchiveOpt, _param, clip_only_note, console, fail, opened, out

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

FILTERS = ("date_from", "date_to", "operation", "model", "rights", "kind")


def parse_where(where: str, kind: str | None = "master") -> tuple[str, dict[str, str | None]]:
    """``archive search``'s language as one string: words, and key:value filters (date_from:1900, kind:any);
    ``kind``: the items taken when it names none (None: both kinds)."""
    words, filters = [], {"kind": kind or "any"}
    for token in where.split():
        key, sep, value = token.partition(":")
        name = key.lower().replace("-", "_")
        if sep and name in FILTERS:
            filters[name] = value
        elif sep and value and re.fullmatch(r"[a-z_]+", name):  # a misspelt filter matched nothing, silently
            raise ValueError(f"{key}: is not a filter (use {', '.join(f + ':' for f in FILTERS)})")
        else:
            words.append(token)
    if filters["kind"] == "any":
        filters["kind"] = None
    from daguerre.archive.search import check_filters

    check_filters(filters)
    return " ".join(words), filters


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@contextmanager
def stopped_while_queueing(archive: Archive, run_id: str) -> Iterator[None]:
    """Ctrl-C while a big selection is queued: give the run up and say how to go on (Click said 'Aborted!')."""
    from daguerre.jobs.table import release_lease

    try:
        yield
    except KeyboardInterrupt:
        release_lease(archive, run_id)
        out.print()
        fail(f"run {run_id} interrupted while its items were queued; continue it with --resume {run_id}", 130)


def batch(
    operation: Annotated[str, typer.Argument(help="restore, colorize, film, ... (`daguerre --help`).")],
    where: Annotated[str, typer.Option(help="Which items: words and key:value filters as in `archive search` "
                                            "(date_from: date_to: operation: model: rights: kind:master|derivative|any"
                                            "; default every master).")] = "",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value (JSON values allowed), "
                                                    "repeatable; seed=N sets the seed.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (0: in this process); with --cluster local, the "
                                              "LocalCluster's workers (at least 1); not used with a scheduler "
                                              "address.")] = 1,
    cluster: Annotated[str | None, typer.Option(help="Dask: 'local' (a LocalCluster on 127.0.0.1) or a scheduler "
                                                     "address tcp://HOST:8786.")] = None,
    resume: Annotated[str | None, typer.Option(help="Continue this run (id or prefix): nothing is done twice.")]
    = None,
    retry_failed: Annotated[bool, typer.Option(help="With --resume: queue the run's failed jobs again (their "
                                                    "errors are cleared; list them first with `archive runs "
                                                    "RUN`).")] = False,
    archive: ArchiveOpt = None,
) -> None:
    """Apply an operation to every matching item, on a local process pool or a Dask cluster; resumable."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from daguerre import jobs
    from daguerre.archive.errors import ArchiveError
    from daguerre.jobs.runner import ClusterUnreachable, check_cluster

    params = dict(_param(p) for p in param or [])
    if workers < 0:
        fail(f"--workers {workers}: give 0 (in this process) or more")
    try:
        check_cluster(cluster)
    except ArchiveError as e:
        fail(str(e))
    backend = ("local" if workers else "inline") if cluster is None else f"dask {cluster}"
    if retry_failed and not resume:
        fail("--retry-failed goes with --resume RUN: it queues that run's failed jobs again")
    with opened(archive) as a:
        if resume:
            run = jobs.get_run(a, resume)
            if run["operation"] != operation:
                fail(f"run {run['id']} is a {run['operation']} run, not {operation}")
            if where or params:
                fail(f"run {run['id']} goes on with its own items and parameters (where {run['query']!r}, "
                     f"{run['params']}): drop --where and --param, or start a new run")
            if run["running_in"]:
                fail(f"run {run['id']} is still running in {run['running_in']}: let it finish or stop it, "
                     "then resume")
            run_id, total = run["id"], sum(run["counts"].values())
            out.print(f"run {run_id}: resuming ({run['counts']['done']} of {total} done)")
            try:
                jobs.take_lease(a, run_id)  # before queueing what a client killed while queueing had not reached
            except jobs.RunBusy as e:
                fail(str(e))
            if retry_failed and (again := jobs.retry_failed(a, run_id)):
                out.print(f"run {run_id}: {again} failed job{'s' if again > 1 else ''} queued again")
            with stopped_while_queueing(a, run_id):
                more = jobs.finish_queueing(a, run_id)
            if more:
                out.print(f"run {run_id}: queued the {more} matching items its first client had not reached")
        else:
            try:
                query, filters = parse_where(where)
            except ValueError as e:
                fail(str(e))
            params = a.with_reference_files(operation, params, keep=False)  # an item, as with `apply`
            from daguerre.archive.search import search_keys

            with a.session() as s:
                if not search_keys(s, query, limit=1, **filters):
                    fail(f"nothing matches {where!r}: no run made" if where else "the archive has no masters")
            run_id = jobs.create_run(a, operation, params, where, backend, user=_user())
            jobs.take_lease(a, run_id)  # from the start: a resume while this client queues items is refused
            out.print(f"run {run_id}: {operation}", end="")
            with stopped_while_queueing(a, run_id):
                count = jobs.submit_matching(a, run_id, query, filters, user=_user())
            out.print(f" on {count} items")
            if note := clip_only_note(params, "any pictures in this run"):
                console.print(note, highlight=False, soft_wrap=True)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(operation, total=None, rate="")

            def on_progress(e: dict) -> None:
                finished = e["done"] + e["failed"]
                speed = bar.tasks[0].speed
                bar.update(task, total=e["total"], completed=finished,
                           rate=f"{speed * 60:.1f} images/min" if speed else "")

            try:
                summary = jobs.run_jobs(a, run_id, workers=workers, backend="local" if workers else "inline",
                                        cluster=cluster, on_progress=on_progress)
            except jobs.RunBusy as e:
                fail(str(e))
            except ClusterUnreachable as e:
                fail(f"{e}; run {run_id} is kept: continue it with --resume {run_id}")
            except KeyboardInterrupt as e:
                recorded = getattr(e, "recorded", 0)
                fail(f"run {run_id} interrupted" + (f" ({recorded} finished results recorded)" if recorded else "")
                     + f"; continue it with --resume {run_id}", 130)
        for item_id, message in summary.errors:  # an item's own error names it already
            said = message if message.startswith(f"{item_id}:") else f"{item_id}: {message}"
            console.print(f"[red]failed:[/red] {said}", highlight=False, soft_wrap=True)
        counts = jobs.get_run(a, run_id)["counts"]
    rate = summary.done / summary.seconds * 60 if summary.seconds else 0.0
    out.print(f"run {run_id}: {counts['done']} done, {counts['failed']} failed, "
              f"{counts['queued'] + counts['running']} pending; this session {summary.done} in "
              f"{summary.seconds:.1f} s ({rate:.1f} images/min)")
    if counts["failed"]:
        raise typer.Exit(1)


def runs(run_id: Annotated[str | None, typer.Argument(help="A run id: its state and its failures.")] = None,
         archive: ArchiveOpt = None) -> None:
    """Batch runs, one a line (id, operation, done / failed / pending, state), or one run's state and failures."""
    from daguerre import jobs

    with opened(archive) as a:
        if run_id is None:
            for r in jobs.list_runs(a):
                c = r["counts"]
                typer.echo(f"{r['id']}  {r['operation']:<10} done {c['done']}  failed {c['failed']}  "
                           f"pending {c['queued'] + c['running']}  {r['state']}  {r['created_at'][:19]}  "
                           f"{r['query']}")
            return
        r = jobs.get_run(a, run_id)
        c = r["counts"]
        out.print(f"run {r['id']}: {r['operation']} {r['params']} where {r['query']!r} by {r['created_by']} on "
                  f"{r['backend']}; done {c['done']}, failed {c['failed']}, pending {c['queued'] + c['running']}")
        go_on = f"`archive batch {r['operation']} --resume {r['id']}"
        said = {"running": f"running in {r['running_in']}",
                "finished": f"finished {(r['finished_at'] or '')[:19]}"
                            + (f"; {go_on} --retry-failed` runs its failed jobs again" if c["failed"] else ""),
                "interrupted": f"interrupted: continue it with {go_on}`"}
        out.print(f"run {r['id']}: {said[r['state']]}", highlight=False, soft_wrap=True)
        for j in jobs.list_jobs(a, status="failed", run_id=r["id"]):
            typer.echo(f"{j['item_id']}  {j['error']}")


__all__ = ["batch", "runs"]
