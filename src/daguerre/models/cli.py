"""`daguerre models`: one line per installed model; `daguerre models show NAME`: the whole card."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

WIDTH = 80
models_app = typer.Typer(help="The installed models: shipped and your own.", invoke_without_command=True,
                         epilog="Example: daguerre models --task style")


@models_app.callback()
def models(
    ctx: typer.Context,
    task: Annotated[str | None, typer.Option(help="Only this task, e.g. style, restore, colorize.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Every card as JSON, for scripts.")] = False,
) -> None:
    """List the installed models: name, task, size and the figure that matters for the task."""
    from daguerre.models.registry import list_models
    from daguerre.models.summary import headline, size_text

    if ctx.invoked_subcommand:
        return
    cards = list_models(task)
    if as_json:
        rows = [{**asdict(c), "headline": headline(c)} for c in cards]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not cards:
        typer.echo(f"no {task} models installed" if task else "no models installed", err=True)
        raise typer.Exit(1)
    nw = max(4, *(len(c.name) for c in cards))
    tw = max(4, *(len(c.task) for c in cards))
    typer.echo(f"{'name':<{nw}}  {'task':<{tw}}  {'size':>7}  figure on held-out photos")
    for c in cards:
        line = f"{c.name:<{nw}}  {c.task:<{tw}}  {size_text(c):>7}  {headline(c) or '-'}"
        typer.echo(line if len(line) <= WIDTH else line[: WIDTH - 1] + "…")
    typer.echo("daguerre models show NAME: the whole card, every metric explained", err=True)


@models_app.command(epilog="Example: daguerre models show van-gogh-wheat-field")
def show(name: Annotated[str, typer.Argument(help="A model name from `daguerre models`.")]) -> None:
    """The whole model card: source, licence, painting or data, recipe, training, every metric explained."""
    from daguerre.models.registry import ModelNotFoundError, find_model
    from daguerre.models.summary import describe

    try:
        card = find_model(name)
    except ModelNotFoundError as e:
        typer.echo(f"error: {str(e).strip(chr(34) + chr(39))}", err=True)
        raise typer.Exit(1) from None
    typer.echo("\n".join(describe(card)))
