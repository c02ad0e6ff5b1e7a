"""``daguerre archive ...``: the archive's command line (a thin face over ``daguerre.archive.api``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from daguerre.archive.errors import ApplyError, ArchiveError
from daguerre.verbosity import log_traceback

if TYPE_CHECKING:  # the archive's libraries load when a command runs, not for `daguerre --help`
    from rich.progress import Progress

    from daguerre.archive.api import Archive
    from daguerre.archive.catalogue import Item

archive_app = typer.Typer(help="A catalogue of masters and machine-made derivatives with a verifiable history.",
                          no_args_is_help=True, epilog="Example: daguerre archive ingest scans/ -A my-archive")
console = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

# -A and -a both: `serve` and `users` took -a, the archive's commands -A, and users mixed them up
ArchiveOpt = Annotated[Path | None, typer.Option("--archive", "-A", "-a", show_default=False,
                                                 help="The archive folder (default: $DAGUERRE_ARCHIVE, else here).")]


def fail(message: str, code: int = 1) -> None:
    log_traceback()
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def opened(path: Path | None) -> Iterator[Archive]:
    """Open the archive, say what crash recovery cleaned, turn archive errors into one-line messages."""
    from sqlalchemy.exc import DatabaseError

    from daguerre.archive.api import Archive
    from daguerre.archive.catalogue import corrupt
    from daguerre.imaging import ImageError

    try:
        archive = Archive.open(path)
    except ArchiveError as e:
        fail(str(e))
    for message in archive.recovered:
        console.print(f"[yellow]cleaned:[/yellow] {message}", highlight=False, soft_wrap=True)
    try:
        yield archive
    except (ArchiveError, ImageError) as e:
        fail(str(e))
    except DatabaseError as e:  # a catalogue damaged further in than its first page
        fail(str(corrupt(archive.engine, e) or e))
    finally:
        archive.close()


def bar() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def line(item: Item) -> str:
    flag = " [withdrawn]" if item.withdrawn else ""
    what = item.operation or "master"
    return f"{item.id}  {what:<10} {item.width}x{item.height}  {item.filename}  {item.title or ''}{flag}"


@archive_app.command(epilog="Example: daguerre archive init my-archive")
def init(
    path: Annotated[Path | None, typer.Argument(help="New archive folder (default: $DAGUERRE_ARCHIVE, else here).",
                                                show_default=False)] = None,
    catalog: Annotated[str | None, typer.Option(help="Catalogue URL, e.g. postgresql+psycopg://user@host/db "
                                                     "(default: a SQLite file in the folder).")] = None,
    store: Annotated[str | None, typer.Option(help="Store URL, any fsspec URL such as s3://bucket/archive "
                                                   "(default: the folder's store/).")] = None,
    archive_opt: Annotated[Path | None, typer.Option("--archive", "-A", "-a", show_default=False,
                                                     help="The new archive folder, as the other commands take it "
                                                          "(instead of PATH).")] = None,
) -> None:
    """Create an archive: catalogue, content-addressed store and signing key."""
    from daguerre.archive.api import Archive

    if path and archive_opt and path != archive_opt:
        fail(f"two folders given: {path} and --archive {archive_opt}; give one")
    path = path or archive_opt
    if store and store.lower().startswith("memory:"):
        fail(f"{store}: a memory store is gone when this command ends; give a folder or an s3:// URL")
    try:
        archive = Archive.init(path, catalog, store)
    except ArchiveError as e:
        fail(str(e))
    out.print(f"created archive {archive.path} (catalogue {archive.engine.url.render_as_string()}, "
              f"store {archive.store.url})")
    archive.close()


@archive_app.command(epilog="Example: daguerre archive ingest scans/ -A my-archive --metadata sheet.csv")
def ingest(
    inputs: Annotated[list[Path], typer.Argument(help="Picture or clip files, or folders (recursive).",
                                                 show_default=False)],
    metadata: Annotated[Path | None, typer.Option("--metadata", "-m", help="CSV sheet: a filename column and "
                                                  "Dublin Core columns that add or override fields.")] = None,
    archive: ArchiveOpt = None,
) -> None:
    """Add masters: deduplicated by SHA-256, resumable, Dublin Core from EXIF/IPTC/XMP (+ --metadata)."""
    with opened(archive) as a, bar() as progress:
        task = progress.add_task("ingest", total=None)

        def on_file(path: Path, i: int, n: int) -> None:
            progress.update(task, total=n, completed=i, description=f"ingest {path.name}")

        report = a.ingest(inputs, sheet=metadata, on_file=on_file)
    for message in report.failed:
        console.print(f"[red]failed:[/red] {message}", highlight=False, soft_wrap=True)
    if unmatched := report.unmatched:
        console.print(f"[yellow]warning:[/yellow] {metadata}: {len(unmatched)} row{'s' * (len(unmatched) > 1)} "
                      f"match{'es' * (len(unmatched) == 1)} no ingested file: {', '.join(unmatched)}", highlight=False,
                      soft_wrap=True)
    out.print(f"added {len(report.added)}, already there {len(report.duplicates)} "
              f"(metadata updated on {len(report.updated)}), failed {len(report.failed)}")
    if report.failed:
        raise typer.Exit(1)


def _param(text: str) -> tuple[str, object]:
    """(key, value) of key=value: the value read as JSON where it is (numbers, lists, true), else as text; a
    picture's name (`PICTURE_PARAMS`) stays text unless a list, so an item id such as 14e9 or 2024 is not read as
    a number."""
    from daguerre.archive.api import PICTURE_PARAMS

    key, sep, value = text.partition("=")
    if not sep or not key:
        fail(f"--param {text!r}: use key=value", 2)
    key = key.strip().replace("-", "_")
    if key in PICTURE_PARAMS and not value.lstrip().startswith("["):
        return key, value
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def clip_only_note(params: dict, pictures: str = "pictures") -> str | None:
    """A note when ``params`` hold a clip's frame-loop options (`consistency`, `steady_*`): pictures are derived
    without them, so a user who gave one for a picture learns it was not used."""
    from daguerre.video import CLIP_PARAMS

    if names := sorted(set(params) & CLIP_PARAMS):
        return f"note: {', '.join(names)} only applies to clips; {pictures} are derived without it"
    return None


@archive_app.command(epilog="Example: daguerre archive apply restore 3f2a -A my-archive -p strength=0.8")
def apply(
    operation: Annotated[str, typer.Argument(help="stylize, film, restore, ... (`daguerre --help`).")],
    items: Annotated[list[str], typer.Argument(help="Item ids (or unique prefixes).", show_default=False)],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value (JSON values allowed), "
                                                    "repeatable.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed, recorded with the derivative.")] = 0,
    lpips: Annotated[bool, typer.Option("--lpips", help="Also measure LPIPS against the parent (slower).")] = False,
    archive: ArchiveOpt = None,
) -> None:
    """Run an operation on items; store each result as a labelled derivative with its full recipe."""
    from daguerre.archive.video import is_clip_item

    params = dict(_param(p) for p in param or [])
    failed: list[str] = []
    pictures = 0
    with opened(archive) as a, bar() as progress:
        files = progress.add_task(operation, total=len(items))
        steps = progress.add_task("  steps", total=None, visible=False)
        for i, ref in enumerate(items):
            progress.update(files, completed=i, description=f"{operation} {ref}")

            def on_step(done: int, total: int) -> None:
                progress.update(steps, total=total, completed=done, visible=total > 1)

            try:
                [made] = a.apply(operation, [ref], params, seed=seed, lpips=lpips, progress=on_step)
            except ApplyError as e:  # this item failed: say so in one line, go on with the next
                failed += e.failed
                console.print(f"[red]error:[/red] {e.failed[0]}", highlight=False, soft_wrap=True)
                continue
            out.print(f"{made.id}  {operation} of {made.parent_id}  sha256 {made.sha256}")
            made_by = next(e for e in a.events_of(made.id) if e.id == made.event_id)
            for note in made_by.outcome_detail.get("notes", []):  # a colour master colorized
                console.print(f"[yellow]note:[/yellow] {made.parent_id}: {note}", highlight=False, soft_wrap=True)
            pictures += not is_clip_item(made)
    if pictures and (note := clip_only_note(params)):
        console.print(note, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@archive_app.command("colour-bank", epilog="Example: daguerre archive colour-bank town --search 'colour slide' "
                                           "-A my-archive  (then: daguerre colorize bw.jpg --bank town)")
def colour_bank(
    name: Annotated[str, typer.Argument(help="Name of the new colour bank.")],
    items: Annotated[list[str] | None, typer.Argument(help="Master ids (default: every master the search finds).",
                                                      show_default=False)] = None,
    search: Annotated[str | None, typer.Option(help="Masters whose metadata has these words.")] = None,
    per_photo: Annotated[int, typer.Option(min=1, help="Positions kept from each photo.")] = 400,
    replace: Annotated[bool, typer.Option(help="Remake your own bank of this name.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where the bank goes (default: your model "
                                                               "folder).")] = None,
    archive: ArchiveOpt = None,
) -> None:
    """A colour bank from the archive's colour masters (`daguerre train colour-bank`): colorize --bank NAME takes
    the automatic colour from them. Machine-made derivatives are refused: a bank learns from photographs."""
    from daguerre.archive.banks import make_colour_bank

    if items and search is not None:
        fail("give master ids or --search, not both")
    with opened(archive) as a, bar() as progress:
        chosen = [a.get(ref) for ref in items] if items else [
            it for it in a.search(search or "", limit=None) if it.kind == "master"]
        task = progress.add_task("reading masters", total=None)
        card = make_colour_bank(a, chosen, name, per_photo=per_photo, out=out_dir, replace=replace,
                                what=f"search {search!r}" if search else "",
                                progress=lambda done, total: progress.update(  # the card's measure follows
                                    task, completed=done, total=total, description="measuring it on its own photos"
                                    if done == total else "reading masters"))
    skipped = len(card.training["skipped_nearly_grey"])
    out.print(f"saved colour bank {card.name} ({len(card.training['photos'])} colour masters"
              + (f", {skipped} nearly grey skipped" if skipped else "") + f") to {card.weights_path()}; use it: "
              f"daguerre colorize bw.jpg --bank {card.name} -o colour.jpg")


@archive_app.command(epilog="Example: daguerre archive fixity -A my-archive")
def fixity(archive: ArchiveOpt = None) -> None:
    """Re-hash every stored file (a fixity-check event each); report changed and missing files."""
    with opened(archive) as a, bar() as progress:
        task = progress.add_task("fixity", total=None)
        report = a.fixity(lambda p, i, n: progress.update(task, total=n, completed=i, description=f"fixity {p.name}"))
    for item_id in report.mismatched:
        console.print(f"[red]changed:[/red] {item_id}: the stored file no longer matches its SHA-256", highlight=False)
    for item_id in report.missing:
        console.print(f"[red]missing:[/red] {item_id}: the stored file is gone", highlight=False)
    for sha in report.unreferenced:
        console.print(f"[yellow]unreferenced:[/yellow] {sha}: stored but in no catalogue row", highlight=False)
    out.print(f"checked {report.checked}: {len(report.mismatched)} changed, {len(report.missing)} missing")
    if not report.ok:
        raise typer.Exit(1)


@archive_app.command(epilog="Example: daguerre archive verify 3f2a -A my-archive")
def verify(items: Annotated[list[str], typer.Argument(help="Item ids.", show_default=False)],
           archive: ArchiveOpt = None) -> None:
    """Validate an item: fixity, signed events, and for a derivative its C2PA manifest and XMP label."""
    bad = False
    with opened(archive) as a:
        for ref in items:
            report = a.verify(ref)
            bad |= not report.ok
            out.print(f"{report.item_id}: {'ok' if report.ok else 'FAILED'}")
            for c in report.checks:
                out.print(f"  {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if bad:
        raise typer.Exit(1)


@archive_app.command(epilog="Example: daguerre archive rederive 3f2a -A my-archive")
def rederive(items: Annotated[list[str], typer.Argument(help="Derivative ids.", show_default=False)],
             tolerance: Annotated[float, typer.Option(help="Largest pixel difference accepted (0..1).",
                                                      show_default="1/255")] = 1 / 255,
             archive: ArchiveOpt = None) -> None:
    """Re-run the recorded recipe; report byte-identical, within tolerance, or different."""
    bad = False
    with opened(archive) as a:
        for ref in items:
            r = a.rederive(ref, tolerance)
            bad |= not r.ok
            verdict = ("byte-identical" if r.identical else
                       f"within tolerance (max difference {r.max_abs_diff:.2g} <= {r.tolerance:.2g}, PSNR {r.psnr})"
                       if r.within_tolerance else f"DIFFERENT (max difference {r.max_abs_diff:.2g}, PSNR {r.psnr})")
            out.print(f"{r.item_id}: {verdict}")
            for note in r.notes:
                out.print(f"  note: {note}")
    if bad:
        raise typer.Exit(1)


def _lines(node: dict, indent: str = "") -> Iterator[str]:
    """The item, its events and its derivatives as indented plain text (nothing cut: hashes in full)."""
    it = node["item"]
    yield f"{indent}{it['kind']} {it['id']}"
    for k, v in it.items():
        if v not in (None, "", {}) and k != "id":
            yield f"{indent}  {k}: {json.dumps(v) if isinstance(v, dict) else v}"
    yield f"{indent}  events:"
    for e in node["events"]:
        yield f"{indent}    {e['datetime']}  {e['type']}  {e['outcome']}  {e['detail']}  (event {e['id']})"
        if e["type"] == "creation":
            detail = e["outcome_detail"]
            yield f"{indent}      recipe: {json.dumps(detail['recipe'], sort_keys=True)}"
            yield f"{indent}      metrics: {json.dumps(detail['metrics'])}  duration {detail['duration_s']} s"
    for child in node["derivatives"]:
        yield from _lines(child, indent + "    ")


@archive_app.command(epilog="Example: daguerre archive show 3f2a -A my-archive --json")
def show(item: Annotated[str, typer.Argument(help="Item id.")],
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
         archive: ArchiveOpt = None) -> None:
    """An item's metadata and the tree of its derivatives with their events (hashes in full)."""
    with opened(archive) as a:
        node = a.show(item)
    if as_json:
        out.print_json(json.dumps(node))
        return
    for text in _lines(node):
        typer.echo(text)


@archive_app.command("list", epilog="Example: daguerre archive list --masters -A my-archive")
def list_items(include_withdrawn: Annotated[bool, typer.Option("--all", help="Withdrawn items too.")] = False,
               masters: Annotated[bool, typer.Option("--masters", help="Masters only.")] = False,
               archive: ArchiveOpt = None) -> None:
    """One item a line, its id first."""
    with opened(archive) as a:
        for it in a.items(include_withdrawn, kind="master" if masters else None):
            typer.echo(line(it))


@archive_app.command(epilog="Example: daguerre archive search harbour --date-from 1900 -A my-archive")
def search(
    query: Annotated[str, typer.Argument(help="Words to find in the metadata (all must match), and key:value "
                                             "filters (date_to:1920, operation:colorize, kind:master).")] = "",
    date_from: Annotated[str | None, typer.Option(help="Earliest date, e.g. 1900 or 1900-05-01.")] = None,
    date_to: Annotated[str | None, typer.Option(help="Latest date.")] = None,
    operation: Annotated[str | None, typer.Option(help="Derivatives made by this operation.")] = None,
    model: Annotated[str | None, typer.Option(help="Derivatives made with this model.")] = None,
    rights: Annotated[str | None, typer.Option(help="Rights statement contains this.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 100,
    archive: ArchiveOpt = None,
) -> None:
    """Full-text search over the metadata, with filters (as options, or as key:value words: date_to:1920)."""
    from daguerre.archive.search import check_filters
    from daguerre.jobs.cli import parse_where

    given = {"date_from": date_from, "date_to": date_to, "operation": operation, "model": model, "rights": rights}
    try:  # key:value words are `archive batch --where`'s filters: as words they matched nothing, silently
        words, filters = parse_where(query, kind=None)
        filters |= {k: v for k, v in given.items() if v is not None}
        check_filters(filters)
    except ValueError as e:
        fail(str(e))
    with opened(archive) as a:
        for it in a.search(words, **filters, limit=limit):
            typer.echo(line(it))


@archive_app.command(epilog="Example: daguerre archive export -o site/ --format iiif -A my-archive")
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="Empty or new folder.")],
    format: Annotated[str, typer.Option("--format", "-f", help="iiif | bagit | csv | json")] = "iiif",
    base_url: Annotated[str, typer.Option(help="Where the IIIF export will be served.")] = "http://localhost:8000",
    include_withdrawn: Annotated[bool, typer.Option("--all", help="Withdrawn items too.")] = False,
    where: Annotated[str | None, typer.Option(help="bagit, csv, json: only the items matching words and key:value "
                                                   "filters as in `archive batch --where` (masters and "
                                                   "derivatives unless kind: says).")] = None,
    archive: ArchiveOpt = None,
) -> None:
    """IIIF manifests + level-0 tiles, a BagIt bag (files, Dublin Core, PREMIS), or CSV/JSON metadata."""
    from daguerre.archive.export import check_base_url
    from daguerre.jobs.cli import parse_where

    try:
        selection = None if where is None else parse_where(where, kind=None)
    except ValueError as e:
        fail(str(e))
    if format == "iiif":
        try:
            check_base_url(base_url)
        except ValueError as e:
            fail(f"--base-url: {e}")
    with opened(archive) as a, console.status(f"exporting {format}"):
        path = a.export(format, output, base_url=base_url, include_withdrawn=include_withdrawn, where=selection)
    out.print(f"wrote {path}")


@archive_app.command("import-bag", epilog="Example: daguerre archive import-bag bag/ -A my-archive")
def import_bag(bag: Annotated[Path, typer.Argument(help="A bag made by `export --format bagit`.")],
               trust_signer: Annotated[bool, typer.Option("--trust-signer", help="Also trust the archive that "
                                                          "exported the bag (its fingerprint is printed).")] = False,
               archive: ArchiveOpt = None) -> None:
    """Restore items and their history from a bag; every signature, label and hash is checked first."""
    with opened(archive) as a, console.status("checking and importing"):
        report = a.import_bag(bag, trust_signer=trust_signer)
    out.print(f"imported {len(report.added)} items")
    if trust_signer:
        out.print(f"trusted signer {report.signer}")
    if report.untrusted:
        console.print(f"[yellow]untrusted:[/yellow] signed by an archive you do not trust (fingerprint "
                      f"{', '.join(report.untrusted)}); `daguerre archive trust add {bag}/data/metadata/signer.pem`"
                      " trusts the bag's signer", highlight=False, soft_wrap=True)


trust_app = typer.Typer(help="Which other archives' signatures and C2PA labels this archive accepts.",
                        no_args_is_help=True, epilog="Example: daguerre archive trust list -A my-archive")
archive_app.add_typer(trust_app, name="trust")


@trust_app.command("add", epilog="Example: daguerre archive trust add bag/data/metadata/signer.pem -A my-archive")
def trust_add(cert: Annotated[Path, typer.Argument(help="PEM with an archive's signing certificate and its CA, "
                                                   "e.g. a bag's data/metadata/signer.pem.")],
              yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
              archive: ArchiveOpt = None) -> None:
    """Trust another archive: shows its fingerprint and asks first."""
    from daguerre.archive.keys import read_chain

    with opened(archive) as a:
        chain = read_chain(cert)
        out.print(f"{chain.organisation}: signing certificate fingerprint {chain.fingerprint}")
        if not yes and not typer.confirm("Trust every event and label signed with it?", err=True):
            fail("not trusted; nothing changed")
        new = a.trust(chain)
    out.print(f"{'trusted' if new else 'already trusted'}: {chain.fingerprint}")


@trust_app.command("list", epilog="Example: daguerre archive trust list -A my-archive")
def trust_list(archive: ArchiveOpt = None) -> None:
    """The signers this archive trusts (its own first), then those seen in bags but not trusted."""
    with opened(archive) as a:
        trusted, foreign = a.trusted_signers(), a.untrusted_signers()
    for n, chain in enumerate(trusted):
        typer.echo(f"{chain.fingerprint}  trusted    {chain.organisation}{'  (this archive)' if n == 0 else ''}")
    for chain in foreign:
        typer.echo(f"{chain.fingerprint}  untrusted  {chain.organisation}  (from an imported bag)")


@trust_app.command("remove", epilog="Example: daguerre archive trust remove 3f2a9c1b -A my-archive")
def trust_remove(fingerprint: Annotated[str, typer.Argument(help="Fingerprint (or 8+ first characters).")],
                 archive: ArchiveOpt = None) -> None:
    """Stop trusting an archive; items it signed then verify as untrusted."""
    with opened(archive) as a:
        chain = a.distrust(fingerprint)
    out.print(f"no longer trusted: {chain.fingerprint} ({chain.organisation})")


@archive_app.command(epilog="Example: daguerre archive withdraw 3f2a --reason 'duplicate' -A my-archive")
def withdraw(item: Annotated[str, typer.Argument(help="Item id.")],
             reason: Annotated[str, typer.Option(help="Why, for the deaccession event.")] = "",
             force: Annotated[bool, typer.Option("--force", help="Allow withdrawing a master.")] = False,
             archive: ArchiveOpt = None) -> None:
    """Hide a derivative (and what was made from it) with a deaccession event; masters need --force."""
    with opened(archive) as a:
        for item_id in a.withdraw(item, reason, force):
            out.print(f"withdrew {item_id}")
