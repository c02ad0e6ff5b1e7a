"""The `daguerre` command line: `daguerre OP INPUT... -o OUTPUT [options]`.

START-UP RULE (keep it when merging): `daguerre --help`, `daguerre CMD --help` and `daguerre models` must start
in < 0.5 s. So nothing heavy (torch, numpy, PIL, onnxruntime, sqlalchemy, cv2, fastapi, the archive's internals,
daguerre.ops/imaging/api...) is imported at module level here or in a module this file imports at module level
(archive/cli.py, models/cli.py, ...): import it inside the command function that does the work.
tests/test_cli_startup.py checks this; benchmarks/startup.py measures it. Every command's help ends with one
example (`epilog="Example: ..."`).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from daguerre.archive.cli import archive_app
from daguerre.jobs.cli import batch, runs
from daguerre.models.cli import models_app
from daguerre.verbosity import log_traceback, set_verbose
from daguerre.video.cli import CONSISTENCY, Consistency, FrameRate, KeyEvery, live, rate_column
from daguerre.web.cli import SERVE_EXAMPLE, serve, users_app

app = typer.Typer(help="daguerre: restore, colourize, upscale and restyle historical photographs.",
                  no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,  # plain help: rich help costs ~0.15 s of start-up (benchmarks/startup.py)
                  epilog="Example: daguerre restore scans/ -o restored/   (then: daguerre COMMAND --help)")
train_app = typer.Typer(help="Train your own models on your own folders.", no_args_is_help=True,
                        epilog="Example: daguerre train recipe recipes/colorize.toml --steps 200")
app.add_typer(train_app, name="train")
app.add_typer(archive_app, name="archive")
app.add_typer(models_app, name="models")
app.command(epilog="Example: daguerre live -m rousseau-lion --source clip.mp4 --frames 200")(live)
app.add_typer(users_app, name="users")
app.command(epilog=SERVE_EXAMPLE)(serve)
archive_app.command(epilog='Example: daguerre archive batch restore --where "kind:master date_to:1920"')(batch)
archive_app.command(epilog="Example: daguerre archive runs 3f2a9c1e07b4")(runs)
console = Console(stderr=True)

Inputs = Annotated[list[Path], typer.Argument(help="Image files or folders, video files (a folder of numbered "
                                                   "frames with -o clip.mp4).", show_default=False)]
Output = Annotated[Path, typer.Option("-o", "--output", help="Output file, or folder for several inputs.")]
# the image commands' output, kept as typed: a trailing "/" (a folder for one input) does not survive Path()
Target = Annotated[str, typer.Option("-o", "--output", metavar="<path>",
                                     help="Output file, or folder: for several inputs, or a name ending in /.")]


@app.callback()
def options(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print the traceback of an error, "
                                                                        "for a bug report.")] = False) -> None:
    set_verbose(verbose)


def fail(message: str, code: int = 1) -> None:
    log_traceback()
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


DamageMask = Annotated[Path | None, typer.Option(help="Damage you have marked: a grey picture, white where the photo "
                                                    "is damaged (as --mask-output writes it), any size with the "
                                                    "photo's proportions; repaired with what the model finds. For "
                                                    "one photo or clip.")]


MaskOutput = Annotated[Path | None, typer.Option(help="Folder for the damage masks (<input name>.png, white = "
                                                    "damaged, as --damage-mask reads them).")]


def mask_folder(mask_output: Path | None) -> dict[str, str]:
    """The `mask_output` parameter of age, restore and repair: where each photo's damage mask is written (refused
    before any work when it names a file)."""
    if mask_output is not None and mask_output.exists() and not mask_output.is_dir():
        fail(f"--mask-output {mask_output}: is a file, not a folder", 2)
    return {} if mask_output is None else {"mask_output": str(mask_output)}


def marked_damage(inputs: list[Path], damage_mask: Path | None) -> dict[str, str]:
    """The `damage_mask` parameter of restore and repair: one mask marks one photo's (or clip's) damage."""
    if damage_mask is None:
        return {}
    if len(inputs) > 1 or inputs[0].is_dir():
        fail(f"--damage-mask {damage_mask}: a mask marks one photo's damage; give one photo or clip, not "
             f"{'a folder' if inputs[0].is_dir() else f'{len(inputs)} inputs'}")
    return {"damage_mask": str(damage_mask)}


def run_operation(op_name: str, inputs: list[Path], output: str, **params: object) -> None:
    """Shared by every image command: progress per file and per tile, bad files listed, exit 1 if any."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from daguerre.batch.files import process
    from daguerre.imaging import ImageError
    from daguerre.ops import get_operation
    from daguerre.video import CLIP_PARAMS, is_clip_source

    op = get_operation(op_name)
    if params.get("fps") is not None and not any(i.is_dir() for i in inputs):
        fail("--fps is the frame rate of a folder of numbered frames: a video file keeps its own", 2)
    given = params.get("reference")
    for ref in given if isinstance(given, list) else [given] if given else []:
        if not Path(str(ref)).is_file():  # once, before any model loads, and named as the reference it is
            fail(f"reference {ref}: " + ("a folder, not a picture" if Path(str(ref)).is_dir() else "file not found"))
    try:  # options the operation refuses (a hint, a scale, a precision): once, not per file after loading models
        op.check({k: v for k, v in params.items() if k not in CLIP_PARAMS})
    except (TypeError, ValueError, RuntimeError) as e:
        fail(str(e))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), rate_column(), TimeElapsedColumn(),
               TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
            files = bar.add_task("images", total=None)
            tiles = bar.add_task("  steps", total=None, visible=False)

            def on_file(path: Path, i: int, n: int) -> None:
                bar.update(files, total=n, completed=i, description=f"{op_name} {path.name}")
                bar.reset(tiles, visible=False, description="  frames" if is_clip_source(path) or path.is_dir()
                          else "  steps")

            def on_tile(done: int, total: int) -> None:
                bar.update(tiles, total=total, completed=done, visible=total > 1)

            report = process(op, list(inputs), output, on_file=on_file, tile_progress=on_tile, **params)
            bar.update(files, completed=len(report.written) + len(report.failed))
    except (ImageError, ValueError, FileNotFoundError, KeyError, LookupError) as e:
        fail(str(e).strip("'\""))
    for path in report.written:
        console.print(f"wrote {path}", highlight=False)
    for _, message in report.notes:
        console.print(f"[yellow]note:[/yellow] {message}", highlight=False, soft_wrap=True)
    for _, message in report.failed:
        console.print(f"[red]failed:[/red] {message}", highlight=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


@app.command(epilog="Example: daguerre stylize photos/ -m van-gogh-wheat-field -o styled/")
def stylize(
    inputs: Inputs,
    output: Target,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Fast style model (`daguerre models`).")] = None,
    style: Annotated[list[Path] | None, typer.Option("--style", "-s", help="Painting(s) to copy.")] = None,
    method: Annotated[str | None, typer.Option(help="fast | arbitrary | optimize (default: fast with --model, "
                                                    "else arbitrary).")] = None,
    strength: Annotated[float, typer.Option(min=0.0, max=1.0, help="0 keeps the photo, 1 the full style.")] = 1.0,
    preserve_color: Annotated[bool, typer.Option("--preserve-color", help="Style the luminance only.")] = False,
    style_weight: Annotated[list[float] | None, typer.Option(help="Mix several --style images (arbitrary).")] = None,
    mask: Annotated[list[Path] | None, typer.Option(help="One grey mask per --style: where it applies.")] = None,
    engine: Annotated[str, typer.Option(help="auto | onnx | torch (fast and arbitrary).")] = "auto",
    precision: Annotated[str | None, typer.Option(help="fast: fp32 | int8 | bf16 (faster, slightly different; bf16 "
                                                       "on CPUs with AMX or AVX512-BF16, with OpenVINO; default "
                                                       "for videos: bf16 where the CPU has it, else int8 where "
                                                       "faithful to fp32, else fp32); arbitrary: fp32 | bf16 "
                                                       "(videos: bf16 where the CPU has it).")] = None,
    tile: Annotated[int, typer.Option(help="Tile size in pixels for large images.")] = 1024,
    size: Annotated[int, typer.Option(help="optimize: working size (long side) before detail-preserving "
                                           "upscaling to the input size.")] = 512,
    steps: Annotated[int, typer.Option(help="optimize: steps per scale.")] = 200,
    optimizer: Annotated[str, typer.Option(help="optimize: lbfgs | adam.")] = "lbfgs",
    consistency: Consistency = CONSISTENCY,
    fps: FrameRate = None,
    steady: Annotated[str, typer.Option(help="clips, fast models: how --consistency steadies them: pixels (blend "
                                             "the outputs along the motion) | inside (keep the scene on the "
                                             "network's grid and blend its features: keeps more of the style on "
                                             "camera pans, less steady with moving figures; bf16 where the "
                                             "CPU has it, else fp32, unless --precision) | moving "
                                             "(inside, locked to the fraction of a pixel, and the pixels "
                                             "blended where figures move on their own) | local (inside, locked "
                                             "to the smoothed flow: figures, zooms and turns held too; the "
                                             "steadiest at the least style cost, ~1.8x the time).")] = "pixels",
    key_every: KeyEvery = 1,
) -> None:
    """Restyle photographs as paintings: a trained model, any painting, or optimisation."""
    method = method or ("fast" if model else "arbitrary")
    if method in ("arbitrary", "optimize") and not style:
        fail("give a painting to copy (--style painting.jpg) or a fast style model (-m NAME; `daguerre models`)", 2)
    for painting in (style or []) if method in ("arbitrary", "optimize") else []:
        if not painting.is_file():
            fail(f"style {painting}: " + ("a folder, not a picture" if painting.is_dir() else "file not found"))
    if steady not in ("pixels", "inside", "moving", "local"):
        fail(f"unknown --steady {steady!r} (use pixels, inside, moving or local)", 2)
    if steady != "pixels" and (method != "fast" or preserve_color or strength < 1):
        fail(f"--steady {steady} is for fast style models (--model), at strength 1, without --preserve-color", 2)
    if steady != "pixels" and key_every > 1:
        fail(f"--key-every steadies with the pixel blend: not with --steady {steady}", 2)
    if steady != "pixels":
        from daguerre.ops.stylize import steadied_precision

        precision = precision or steadied_precision(model)  # bf16 where the CPU has it, else fp32; int8 when asked for
    params: dict[str, object] = {"method": method, "strength": strength, "preserve_colour": preserve_color,
                                 "tile": tile}
    if precision is not None and precision not in ("fp32", "int8", "bf16"):
        fail(f"unknown precision {precision!r} (use fp32, int8 or bf16)", 2)
    if method == "fast":
        params |= {"model": model, "engine": engine} | ({"precision": precision} if precision else {})
    elif precision == "int8" or (precision == "bf16" and method != "arbitrary"):
        fail(f"--precision {precision} is for fast style models (--model)"
             f"{' and any painting (--style)' if precision == 'bf16' else ''} only", 2)
    elif method == "arbitrary":
        params |= {"style": [str(s) for s in style or []], "style_weights": style_weight,
                   "masks": [str(m) for m in mask] if mask else None, "engine": engine}
        params |= {"precision": precision} if precision else {}
    elif method == "optimize":
        params |= {"style": [str(s) for s in style or []], "size": size, "steps": steps, "optimizer": optimizer}
    else:
        fail(f"unknown method {method!r} (use fast, arbitrary or optimize)", 2)
    run_operation("stylize", inputs, output, **params, consistency=consistency, fps=fps,
                  steady_inside=steady == "inside", steady_moving=steady == "moving", steady_local=steady == "local",
                  key_every=key_every)


@app.command("export-onnx", epilog="Example: daguerre export-onnx restore-photos -o restore.onnx")
def export_onnx(model: str, output: Output) -> None:
    """Export a model (style, restore, upscale, retro) to ONNX: runs with onnxruntime anywhere."""
    from daguerre.models.onnx import export
    from daguerre.models.registry import build, find_model

    try:
        card = find_model(model)
    except (LookupError, ValueError) as e:
        fail(str(e).strip("'\""))
    if card.task not in ONNX_TASKS:
        fail(f"model {model!r} is a {card.task} model: only {', '.join(ONNX_TASKS)} models export to ONNX (the "
             "colorize net needs the VGG encoder around it)")
    import torch

    extra = {"code": torch.zeros(1, card.config["code_dim"])} if "code_dim" in card.config else None  # style code
    console.print(f"wrote {export(build(card), output, channels=card.config.get('in_channels', 3), extra=extra)}")


ONNX_TASKS = ("style", "arbitrary-style", "restore", "upscale", "retro")


@app.command(epilog="Example: daguerre evaluate styled.jpg -r photo.jpg --style painting.jpg   (clips: "
                     "daguerre evaluate styled.mp4 -r film.mp4)")
def evaluate(
    results: Annotated[list[Path], typer.Argument(help="Result images, or clips.")],
    reference: Annotated[Path, typer.Option("--reference", "-r", help="The original photo or clip (content).")],
    style: Annotated[Path | None, typer.Option(help="The style image, for style distance.")] = None,
) -> None:
    """Measure results against their original: PSNR, SSIM, LPIPS, and style distance to a painting. Clips: means
    over their frames, and how steady they are (warping error: the change along the original's motion, beside the
    original's own)."""
    from rich.table import Column, Table

    from daguerre.api import evaluate as evaluate_api
    from daguerre.imaging import ImageError

    rows = []
    for r in results:
        try:
            with warnings.catch_warnings(record=True) as notes:  # a picture too small for SSIM, LPIPS
                warnings.simplefilter("always", UserWarning)
                rows.append((r, evaluate_api(r, reference, style=style)))
        except (ImageError, ValueError) as e:
            fail(str(e))
        for note in notes:
            console.print(f"[yellow]note:[/yellow] {note.message}", highlight=False, soft_wrap=True)
    clips = any("warping_error" in m for _, m in rows)
    table = Table(Column("image", overflow="fold"), "PSNR", "SSIM", "LPIPS", "style distance",
                  *(("frames", "warping error", "original's") if clips else ()), box=None)
    for r, m in rows:
        table.add_row(str(r), f"{m['psnr']:.2f}", f"{m['ssim']:.3f}" if "ssim" in m else "-",
                      f"{m['lpips']:.3f}" if "lpips" in m else "-",
                      f"{m['style_distance']:.4g}" if "style_distance" in m else "-",
                      *((str(m.get("frames", "-")), f"{m['warping_error']:.3g}" if "warping_error" in m else "-",
                         f"{m['original_warping_error']:.3g}" if "original_warping_error" in m else "-")
                        if clips else ()))
    Console().print(table)


@train_app.command("style", epilog="Example: daguerre train style --style art.jpg --content photos/ --name my-style")
def train_style(
    style: Annotated[Path, typer.Option(help="The painting to learn.")],
    content: Annotated[Path, typer.Option(help="Folder of content photos.")],
    name: Annotated[str, typer.Option(help="Name of the new model.")],
    steps: Annotated[int, typer.Option(min=1, help="Training steps.")] = 2000,
    batch_size: Annotated[int, typer.Option(help="Images per step.")] = 4,
    crop: Annotated[int, typer.Option(help="Training crop size.")] = 128,
    style_weight: Annotated[float, typer.Option(help="Style loss weight.")] = 1e5,
    adversarial_weight: Annotated[float, typer.Option(help="PatchGAN loss weight.")] = 1.0,
    run_dir: Annotated[Path | None, typer.Option(help="Checkpoints, samples, loss plot (resumes if present).")] = None,
    out: Annotated[Path | None, typer.Option(help="Where the model goes (default: your model folder).")] = None,
) -> None:
    """Train a fast style model for one painting (resumable; writes samples and a loss plot)."""
    from daguerre.api import train_style as train
    from daguerre.imaging import ImageError

    try:
        card = train(style, content, name, steps=steps, batch_size=batch_size, crop=crop,
                     style_weight=style_weight, adversarial_weight=adversarial_weight, run_dir=run_dir, out=out)
    except (ImageError, ValueError, FileNotFoundError) as e:
        fail(str(e))
    console.print(f"saved model {card.name} to {card.weights_path()}")


@train_app.command("recipe", epilog="Example: daguerre train recipe recipes/restore.toml --init-from restore-photos")
def train_recipe(
    recipe: Annotated[Path, typer.Argument(help="A recipe file from recipes/.")],
    out: Annotated[Path | None, typer.Option(help="Where the models go (default: your model folder).")] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Checkpoints and samples (resumes if present).")] = None,
    steps: Annotated[int | None, typer.Option(help="Override the recipe's step count.")] = None,
    init_from: Annotated[str | None, typer.Option(
        help="Continue this model (name or card file) of the recipe's task: e.g. fine-tune a shipped model on "
             "your photos.")] = None,
    nproc: Annotated[int, typer.Option(min=1, help="Train on this many processes of this machine (data parallel, "
                                                   "gloo); for several machines use torchrun.")] = 1,
) -> None:
    """Train the models a recipe describes (how the shipped models were made)."""
    if not recipe.is_file():
        fail(f"{recipe}: no such recipe file")
    if nproc > 1 and "WORLD_SIZE" not in os.environ:
        from daguerre.training.distributed import launch

        argv = ["train", "recipe", str(recipe), *(["--out", str(out)] if out else []),
                *(["--run-dir", str(run_dir)] if run_dir else []), *(["--steps", str(steps)] if steps else []),
                *(["--init-from", init_from] if init_from else [])]
        raise typer.Exit(launch(argv, nproc))
    from daguerre.api import train_recipe as train
    from daguerre.imaging import ImageError
    from daguerre.models.registry import ModelNotFoundError

    try:
        cards = train(recipe, out=out, run_dir=run_dir, steps=steps, init_from=init_from)
    except (ModelNotFoundError, ValueError, ImageError) as e:  # a wrong --init-from or recipe, a broken picture
        fail(str(e))
    for card in cards:
        console.print(f"saved model {card.name} to {card.weights_path()}")


@train_app.command("retro", epilog="Example: daguerre train retro --period old-scans/ --modern photos/ --name my-look")
def train_retro(
    period: Annotated[Path, typer.Option(help="Folder of period photographs: the look to learn.")],
    modern: Annotated[Path, typer.Option(help="Folder of modern photographs (any scenes, unpaired).")],
    name: Annotated[str | None, typer.Option(help="Name of the new model (default: retro-<period folder>).")] = None,
    steps: Annotated[int, typer.Option(min=1, help="Training steps.")] = 3000,
    run_dir: Annotated[Path | None, typer.Option(help="Checkpoints, samples, loss plot (resumes if present).")] = None,
    out: Annotated[Path | None, typer.Option(help="Where the model goes (default: your model folder).")] = None,
) -> None:
    """Learn the look of your own period photographs: an unpaired CycleGAN (resumable; samples and a loss plot)."""
    from daguerre.api import train_retro as train
    from daguerre.imaging import ImageError

    try:
        card = train(period, modern, name=name, steps=steps, run_dir=run_dir, out=out)
    except (ValueError, FileNotFoundError, ImageError) as e:
        fail(str(e))
    console.print(f"saved model {card.name} to {card.weights_path()}")


@train_app.command("colour-bank",
                   epilog="Example: daguerre train colour-bank town-1950s/ --name town  (then: daguerre colorize "
                          "bw.jpg --bank town -o colour.jpg)")
def train_colour_bank(
    photos: Annotated[list[Path], typer.Argument(help="Your colour photographs: files or folders.")],
    name: Annotated[str, typer.Option(help="Name of the new colour bank.")],
    per_photo: Annotated[int, typer.Option(min=1, help="Positions kept from each photo.")] = 400,
    base: Annotated[str | None, typer.Option(help="The bank to extend (default: the shipped colour-bank).")] = None,
    replace: Annotated[bool, typer.Option(help="Remake your own bank of this name.")] = False,
    out: Annotated[Path | None, typer.Option(help="Where the bank goes (default: your model folder).")] = None,
) -> None:
    """Colour from your own colour photographs: a colour bank for colorize's automatic mode (no training)."""
    from rich.progress import Progress

    from daguerre.api import train_colour_bank as make
    from daguerre.imaging import ImageError
    from daguerre.models.registry import ModelNotFoundError

    try:
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("reading photos", total=None)
            card = make(photos, name, base=base, per_photo=per_photo, out=out, replace=replace,
                        progress=lambda done, total: bar.update(  # the card's measure follows the last photo
                            task, completed=done, total=total,
                            description="measuring it on its own photos" if done == total else "reading photos"))
    except (ImageError, ValueError, FileNotFoundError, ModelNotFoundError) as e:
        fail(str(e))
    training = card.training
    skipped = f", {len(training['skipped_nearly_grey'])} nearly grey skipped" if training["skipped_nearly_grey"] \
        else ""
    console.print(f"saved colour bank {card.name} ({len(training['photos'])} colour photos{skipped}) to "
                  f"{card.weights_path()}; use it: daguerre colorize bw.jpg --bank {card.name} -o colour.jpg")
    if m := card.metrics:
        console.print(f"on {m['collection_photos_measured']} of its photos, each coloured without its own entries: "
                      f"chroma error {m['collection_leave_one_out_chroma_error_of_grey']:.2f} of grey's (the shipped "
                      f"bank alone: {m['collection_leave_one_out_shipped_bank_chroma_error_of_grey']:.2f})")


@app.command(epilog="Example: daguerre demo -o demo-output")
def demo(output: Output = Path("demo-output")) -> None:
    """Stylize the bundled sample photos with the shipped models; writes OUTPUT/index.html."""
    from daguerre.demo import build_demo

    index = build_demo(output, log=lambda m: console.print(m, highlight=False))
    console.print(f"open {index}")


@app.command(epilog="Example: daguerre age photo.jpg -o aged.jpg --seed 3 -e dust -e scratches")
def age(
    inputs: Inputs,
    output: Target,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same aging (effects and their parameters).")] = 0,
    strength: Annotated[float, typer.Option(min=0.0, max=1.0, help="0 keeps the photo, 1 the full aging.")] = 1.0,
    effect: Annotated[list[str] | None, typer.Option("--effect", "-e", help="Only these effects (repeatable): "
                                                     "blur, grey, grain, halftone, fade, colour_cast, yellowing, "
                                                     "vignette, paper, stains (water stains, foxing), silvering "
                                                     "(silver mirroring), creases, tears, dust, scratches, faint, "
                                                     "taper (hairlines fading in and out), lowres, scan, jpeg, noise. "
                                                     "Default: a random choice (of all but stains, silvering and "
                                                     "taper, which apply only when named).")] = None,
    mask_output: MaskOutput = None,
    fps: FrameRate = None,
) -> None:
    """Make photographs look old: fading, yellowing, stains, silvering, grain, dust, scratches, creases, tears, blur,
    scan artefacts."""
    run_operation("age", inputs, output, seed=seed, strength=strength, effects=effect or None, fps=fps,
                  **mask_folder(mask_output))


@app.command(epilog="Example: daguerre film photos/ -o sepia/ --preset sepia")
def film(
    inputs: Inputs,
    output: Target,
    preset: Annotated[str, typer.Option(help="sepia | cyanotype | daguerreotype | autochrome | faded-1970s | "
                                             "bw-film.")] = "sepia",
    strength: Annotated[float, typer.Option(min=0.0, max=1.0, help="0 keeps the photo, 1 the full look.")] = 1.0,
    seed: Annotated[int, typer.Option(min=0, help="Grain and starch-grain pattern (same seed, same result).")] = 0,
    consistency: Consistency = CONSISTENCY,
    fps: FrameRate = None,
) -> None:
    """Give photographs a classical period look (no trained model)."""
    run_operation("film", inputs, output, preset=preset, strength=strength, seed=seed, consistency=consistency, fps=fps)


@app.command(epilog="Example: daguerre retro photo.jpg -o old.jpg --preset daguerreotype")
def retro(
    inputs: Inputs,
    output: Target,
    preset: Annotated[str | None, typer.Option(help="sepia | cyanotype | daguerreotype | autochrome | faded-1970s | "
                                                    "bw-film (default: sepia, unless --model).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="A retro model trained on your own collection "
                                                                     "(`daguerre train retro`).")] = None,
    strength: Annotated[float, typer.Option(min=0.0, max=1.0, help="0 keeps the photo, 1 the full look.")] = 1.0,
    seed: Annotated[int, typer.Option(min=0, help="Presets: the grain pattern (same seed, same result).")] = 0,
    tile: Annotated[int, typer.Option(help="Models: tile size in pixels for large images.")] = 1024,
    engine: Annotated[str, typer.Option(help="Models: auto | onnx | torch.")] = "auto",
    consistency: Consistency = CONSISTENCY,
    fps: FrameRate = None,
    key_every: KeyEvery = 1,
) -> None:
    """Give modern photographs a period look: a classical preset, or a model trained on your own collection."""
    if preset and model:
        fail("give --preset or --model, not both", 2)
    params: dict[str, object] = {"strength": strength}
    if model:
        params |= {"model": model, "tile": tile, "engine": engine}
    else:
        params |= {"preset": preset or "sepia", "seed": seed}
    run_operation("retro", inputs, output, **params, consistency=consistency, fps=fps, key_every=key_every)


@app.command(epilog="Example: daguerre restore scans/ -o restored/ --strength 0.9")
def restore(
    inputs: Inputs,
    output: Target,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Restore model (default: the first "
                                                                     "installed; `daguerre models`).")] = None,
    strength: Annotated[float, typer.Option(min=0.0, max=1.0, help="0 keeps the photo, 1 the full repair.")] = 1.0,
    tile: Annotated[int, typer.Option(help="Tile size in pixels for large images.")] = 1024,
    engine: Annotated[str, typer.Option(help="auto | onnx | torch.")] = "auto",
    consistency: Consistency = CONSISTENCY,
    fps: FrameRate = None,
    reference: Annotated[list[Path] | None, typer.Option("--reference", "-r", help="A clean print or reference "
                                                          "image whose tone and colour guide the correction "
                                                          "(repeatable: pooled; a grey one guides the tone only)."
                                                          )] = None,
    damage_mask: DamageMask = None,
    mask_output: MaskOutput = None,
    precision: Annotated[str | None, typer.Option(help="fp32 | bf16: the networks' (bf16: ~1.9x faster on a CPU "
                                                       "that computes it natively, 62 dB from fp32; clips default "
                                                       "to it there).")] = None,
) -> None:
    """Restore old photographs: remove scratches, dust and creases, undo fading, casts, grain and blur."""
    given = [str(r) for r in reference or []]
    extra = ({"reference": given if len(given) > 1 else given[0]} if given else {}) | (
        {"precision": precision} if precision else {})
    run_operation("restore", inputs, output, model=model, strength=strength, tile=tile, engine=engine,
                  consistency=consistency, fps=fps, **extra, **marked_damage(inputs, damage_mask),
                  **mask_folder(mask_output))


@app.command(epilog="Example: daguerre colorize bw.jpg -o colour.jpg --render-size 512")
def colorize(
    inputs: Inputs,
    output: Target,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Colorize model (default: the first "
                                                                     "installed; `daguerre models`).")] = None,
    render_size: Annotated[int, typer.Option(min=16, help="Long side at which colour is predicted (larger: more "
                                                          "detail, slower; smaller: steadier).")] = 384,
    reference: Annotated[list[Path] | None, typer.Option("--reference", "-r", help="A colour picture whose "
                                                          "colours to carry over (repeatable).")] = None,
    hint: Annotated[list[str] | None, typer.Option(help="X,Y,#RRGGBB: this colour at pixel X,Y and over the part "
                                                        "of the picture like it; elsewhere the reference's or the "
                                                        "automatic colour (repeatable).")] = None,
    consistency: Consistency = CONSISTENCY,
    fps: FrameRate = None,
    key_every: KeyEvery = 1,
    precision: Annotated[str | None, typer.Option(help="fp32 | bf16: the ImageNet encoder's (bf16: ~1.6x faster "
                                                       "on a CPU that computes it natively, colours within 0.0005 "
                                                       "of fp32's; clips default to it there).")] = None,
    bank: Annotated[str | None, typer.Option(help="A colour bank made from your own colour photos (`daguerre "
                                                  "train colour-bank`): the automatic colour comes from them where "
                                                  "they show such scenes.")] = None,
) -> None:
    """Colorize black-and-white photographs; their luminance is kept exactly at full resolution."""
    run_operation("colorize", inputs, output, model=model, render_size=render_size, consistency=consistency, fps=fps,
                  key_every=key_every, reference=[str(r) for r in reference or []] or None, hints=hint or None,
                  **({"precision": precision} if precision else {}), **({"bank": bank} if bank else {}))


@app.command(epilog="Example: daguerre upscale small.jpg -o large.jpg --scale 4")
def upscale(
    inputs: Inputs,
    output: Target,
    scale: Annotated[int, typer.Option(help="2 or 4.")] = 4,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Upscale model (default: the first "
                                                                     "installed; `daguerre models`).")] = None,
    tile: Annotated[int, typer.Option(help="Tile size in input pixels for large images.")] = 256,
    engine: Annotated[str, typer.Option(help="auto | onnx | torch.")] = "auto",
    consistency: Consistency = CONSISTENCY,
    fps: FrameRate = None,
    precision: Annotated[str | None, typer.Option(help="fp32 | bf16: the model's (bf16: ~3x faster on a CPU that "
                                                       "computes it natively, 59 dB from fp32; clips default to it "
                                                       "there).")] = None,
) -> None:
    """Upscale small or soft photographs x2 or x4 with a GAN super-resolution model."""
    run_operation("upscale", inputs, output, model=model, scale=scale, tile=tile, engine=engine,
                  consistency=consistency, fps=fps, **({"precision": precision} if precision else {}))


@app.command(epilog="Example: daguerre repair scan.tif -o repaired.tif --colorize --scale 2")
def repair(
    inputs: Inputs,
    output: Target,
    colorize: Annotated[bool, typer.Option("--colorize", help="Colorize after restoring.")] = False,
    scale: Annotated[int, typer.Option(help="Upscale last: 1 (no), 2 or 4.")] = 1,
    strength: Annotated[float, typer.Option(min=0.0, max=1.0, help="Restoration strength.")] = 1.0,
    restore_model: Annotated[str | None, typer.Option(help="Restore model (default: the first installed).")] = None,
    colorize_model: Annotated[str | None, typer.Option(help="Colorize model.")] = None,
    upscale_model: Annotated[str | None, typer.Option(help="Upscale model.")] = None,
    tile: Annotated[int, typer.Option(help="Tile size in pixels for large images.")] = 1024,
    reference: Annotated[list[Path] | None, typer.Option("--reference", "-r", help="With --colorize: a colour "
                                                          "picture whose colours to carry over (repeatable).")] = None,
    hint: Annotated[list[str] | None, typer.Option(help="With --colorize: X,Y,#RRGGBB, this colour at pixel X,Y "
                                                        "(repeatable).")] = None,
    bank: Annotated[str | None, typer.Option(help="With --colorize: a colour bank of your own colour photos "
                                                  "(`daguerre train colour-bank`).")] = None,
    consistency: Consistency = CONSISTENCY,
    fps: FrameRate = None,
    damage_mask: DamageMask = None,
    mask_output: MaskOutput = None,
    precision: Annotated[str | None, typer.Option(help="fp32 | bf16: every step's networks (bf16: faster on a CPU "
                                                       "that computes it natively; clips default to it there).")
                         ] = None,
) -> None:
    """Repair old photographs in one go: remove damage and restore, then optionally colorize and upscale."""
    run_operation("repair", inputs, output, colorize=colorize, scale=scale, strength=strength,
                  restore_model=restore_model, colorize_model=colorize_model, upscale_model=upscale_model, tile=tile,
                  reference=[str(r) for r in reference or []] or None, hints=hint or None, consistency=consistency,
                  **marked_damage(inputs, damage_mask), **mask_folder(mask_output),
                  **({"precision": precision} if precision else {}), **({"bank": bank} if bank else {}))


def main() -> None:
    try:
        app()
    except Exception as e:  # a bug: still one line, the traceback with --verbose
        log_traceback()
        console.print(f"[red]error:[/red] {type(e).__name__}: {e} (run with --verbose for the traceback)",
                      highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
