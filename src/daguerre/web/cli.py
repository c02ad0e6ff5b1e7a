"""`daguerre serve` and `daguerre users ...` (light at import: the web stack loads only when serving)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from daguerre.archive.cli import ArchiveOpt

users_app = typer.Typer(help="Accounts of the web app and the API (kept in the archive's catalogue).",
                        no_args_is_help=True, epilog="Example: daguerre users add ada --role editor")
SERVE_EXAMPLE = "Example: daguerre serve --archive my-archive --public"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _open(path: Path | None):
    from daguerre.archive import Archive, ArchiveError

    try:
        return Archive.open(path)
    except ArchiveError as e:
        _fail(str(e))


@users_app.command("add", epilog="Example: daguerre users add ada --role admin   (or pipe it: --password-stdin)")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="viewer | editor | admin")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from "
                                                 "standard input instead of a prompt.")] = False,
    archive: ArchiveOpt = None,
) -> None:
    """Add an account; the password is asked twice (or read from standard input)."""
    from daguerre.archive import ArchiveError, users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _open(archive) as a:
        try:
            users.add(a, name, role, password)
        except ArchiveError as e:
            _fail(str(e))
    typer.echo(f"added {name} ({role})")


@users_app.command("token", epilog="Example: daguerre users token ada")
def users_token(name: str, archive: ArchiveOpt = None) -> None:
    """Print a new API token for NAME (shown this once; use it as `Authorization: Bearer TOKEN`)."""
    from daguerre.archive import ArchiveError, users

    with _open(archive) as a:
        try:
            typer.echo(users.new_token(a, name))
        except ArchiveError as e:
            _fail(str(e))


@users_app.command("list", epilog="Example: daguerre users list --archive my-archive")
def users_list(archive: ArchiveOpt = None) -> None:
    """The accounts, their roles and how many API tokens each has."""
    from daguerre.archive import users

    with _open(archive) as a:
        for account, tokens in users.accounts(a):
            typer.echo(f"{account.name}\t{account.role}\t{tokens} token(s)")


@users_app.command("remove", epilog="Example: daguerre users remove ada")
def users_remove(name: str, archive: ArchiveOpt = None) -> None:
    """Remove an account and its API tokens."""
    from daguerre.archive import ArchiveError, users

    with _open(archive) as a:
        try:
            users.remove(a, name)
        except ArchiveError as e:
            _fail(str(e))
    typer.echo(f"removed {name}")


def serve(
    archive: ArchiveOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    public: Annotated[bool, typer.Option("--public", help="Read-only visitors may browse without logging in.")]
    = False,
    max_upload_mb: Annotated[float, typer.Option(help="Largest upload accepted (413 beyond it).")] = 200.0,
) -> None:
    """Serve the web app and the JSON API (/api, documented at /docs) over an archive."""
    import uvicorn

    from daguerre.archive import users
    from daguerre.web.app import create_app

    a = _open(archive)
    if host not in ("127.0.0.1", "localhost", "::1") and not users.has_admin(a):
        typer.echo(f"warning: listening on {host} with no admin account yet; add one with "
                   "`daguerre users add NAME --role admin`", err=True)
    app = create_app(a, public=public, max_upload_mb=max_upload_mb)
    uvicorn.run(app, host=host, port=port, log_level="info")
