"""The command line's video pieces: the `--consistency` option every image command takes, a frames-per-second
column for the progress bar, and `daguerre live`. Light at import: no ffmpeg, OpenCV or torch."""

from __future__ import annotations

from typing import Annotated

import typer

from daguerre.video import DEFAULT_CONSISTENCY, MAX_KEY_EVERY

Consistency = Annotated[float, typer.Option(
    min=0.0, max=1.0, help="Videos: how strongly each frame follows the previous output along the motion "
                           "(0: frames processed independently, may flicker).")]
CONSISTENCY = DEFAULT_CONSISTENCY
FrameRate = Annotated[float | None, typer.Option(
    "--fps", min=0.1, max=1000.0, show_default=False,
    help="A folder of numbered frames: its frame rate (default 24; e.g. 16 or 18 for silent film scans). A video "
         "file keeps its own.")]
KeyEvery = Annotated[int, typer.Option(
    min=1, max=MAX_KEY_EVERY,
    help="Videos (stylize, retro, colorize): run the model on every Nth frame only; the frames between are made from "
         "those outputs moved along the motion (faster, and steady: --consistency then sets how evenly they blend "
         "the two outputs around them). 1: every frame.")]


def rate_column() -> object:
    """A progress-bar column: items (frames, tiles) per second, once known. (rich.progress loads only here.)"""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed:.1f}/s" if task.speed else "", style="progress.data.speed")

    return RateColumn()


def live(
    model: Annotated[str, typer.Option("--model", "-m", help="Fast style model (`daguerre models`).")],
    source: Annotated[str, typer.Option(help="Camera index (0, 1, ...) or a video file, played in a loop.")] = "0",
    frames: Annotated[int | None, typer.Option(min=1, help="Stop after this many frames (default: until q or "
                                                           "Ctrl-C).")] = None,
    size: Annotated[int, typer.Option(min=64, help="Long side the frames are stylized at.")] = 480,
    precision: Annotated[str | None, typer.Option(help="int8 | bf16 (faster, slightly different; bf16 on CPUs "
                                                      "with AMX or AVX512-BF16) | fp32 (default: bf16 where the "
                                                      "CPU has it, else int8 where the model's int8 file is "
                                                      "faithful to fp32).")] = None,
    consistency: Consistency = CONSISTENCY,
    key_every: KeyEvery = 1,
    window: Annotated[bool | None, typer.Option(help="Show a window (default: when a display exists).")] = None,
) -> None:
    """Stylize a camera or a looping video file in real time; shows or prints the frame rate."""
    from rich.console import Console

    from daguerre.imaging import ImageError
    from daguerre.video.live import run_live

    console = Console(stderr=True)
    try:
        run_live(model, source if not source.isdigit() else int(source), frames=frames, size=size, precision=precision,
                 consistency=consistency, key_every=key_every, window=window,
                 log=lambda m: console.print(m, highlight=False))
    except (ImageError, LookupError, ValueError, RuntimeError) as e:
        console.print(f"[red]error:[/red] {str(e).strip(chr(39))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


__all__ = ["CONSISTENCY", "Consistency", "KeyEvery", "live", "rate_column"]
