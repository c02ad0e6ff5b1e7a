"""An Operation over a clip, streaming: frames are decoded, run, steadied and encoded in four stages that overlap
(`daguerre.video.pipeline`), each a few frames ahead of the next at most.

Frames go through the model one at a time: batching them was measured slower (BENCHMARKS.md, "Video"), since
one 480p frame already fills a core with the convolutions' work."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.imaging import Picture
from daguerre.ops.base import Operation
from daguerre.video import BLENDS, DEFAULT_CONSISTENCY
from daguerre.video.clip import ClipWriter, open_clip, takes_rgb8, writes_deep
from daguerre.video.pipeline import in_thread

if TYPE_CHECKING:
    import numpy as np

    from daguerre.video.anchor import MovingAnchor
    from daguerre.video.consistency import FrameMotion
    from daguerre.video.steady_style import Motion, SteadyStyle

CHROMA_OPERATIONS = frozenset({"colorize"})  # operations whose result keeps the input's luminance: carry colour only
WHOLE_FRAME_OPERATIONS = frozenset({"stylize", "retro", "restore"})  # whole-picture networks, ONNX when untiled
WHOLE_FRAME = 1920  # frames up to full HD run untiled: tiling is for large scans, and costs 5-10x per frame

FrameProgress = Callable[[int, int], None]  # frames done, total (the estimate, or frames done if past it)


def _prepend(first: Picture, rest: Iterator[Picture]) -> Iterator[Picture]:
    """`first`, then `rest`; closing it closes `rest` (a video reader's ffmpeg process)."""
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()


def steady_inside_refusal(op: Operation, params: dict, size: tuple[int, int]) -> str | None:
    """Why a clip cannot be steadied inside the network (None: it can)."""
    if op.name != "stylize" or params.get("method", "fast") != "fast" or not isinstance(params.get("model"), str):
        return "is for stylize with a fast style model (--model)"
    if params.get("precision", "fp32") not in ("fp32", "int8", "bf16"):
        return f"runs fp32, int8 or bf16, not {params.get('precision')}"
    if params.get("precision") in ("int8", "bf16") and params.get("engine", "auto") == "torch":
        return f"runs {params['precision']} on its ONNX file only: use engine auto or onnx"
    if params.get("preserve_colour") or float(params.get("strength", 1.0)) < 1:  # type: ignore[arg-type]
        return "paints the network's own output: not with preserve-colour or a strength below 1"
    if max(size) > WHOLE_FRAME:
        return f"runs frames whole, up to {WHOLE_FRAME} px: this clip is {size[0]}x{size[1]}"
    return None


def steady_style(op: Operation, params: dict, consistency: float, size: tuple[int, int],
                 moving: bool = False, local: bool = False) -> SteadyStyle | None:
    """The fast style model steadied inside the network (`daguerre.video.steady_style`: the grid locked to the
    scene, its features blended), for stylize with a fast model (fp32, or int8: its int8 graph in two halves),
    frames run whole (`WHOLE_FRAME`) and
    nothing done after the network; its two halves on ONNX Runtime unless the engine is torch. None with
    consistency 0 (nothing to steady); a ValueError naming why for a clip it cannot steady (the caller asked for
    it: falling back to the pixel blend unasked would hide that). `moving`: the grid locked to the fraction of a pixel,
    and the output's pixels blended where figures move on their own (`daguerre.video.steady_moving`). `local`: the
    grid locked to the smoothed flow, per region (`daguerre.video.steady_local`)."""
    from daguerre.models.onnx import onnx_available
    from daguerre.nets.style_net import StyleNet
    from daguerre.ops import styles
    from daguerre.video.steady_local import SteadyLocal
    from daguerre.video.steady_moving import SteadyMoving
    from daguerre.video.steady_style import SteadyStyle, onnx_halves

    if consistency == 0:
        return None
    reason = steady_inside_refusal(op, params, size)
    if reason:
        raise ValueError(f"steadying inside the network {reason}")
    card, net = styles.style_model(params["model"])
    if not isinstance(net, StyleNet):
        raise ValueError(f"steadying inside the network needs a StyleNet, and {card.name} is a {card.architecture}")
    if params.get("engine", "auto") == "onnx" and not onnx_available():
        raise RuntimeError("engine 'onnx' asked for but onnxruntime is not installed")
    precision = str(params.get("precision", "fp32"))
    if precision in ("int8", "bf16") and not onnx_available():
        raise RuntimeError(f"precision {precision} runs an ONNX file, and onnxruntime is not installed")
    halves = (onnx_halves(card, net, precision) if params.get("engine", "auto") != "torch" and onnx_available()
              else None)
    if local:
        return SteadyLocal(net, consistency, halves=halves)
    if moving:
        return SteadyMoving(net, consistency, consistency, halves=halves)
    return SteadyStyle(net, consistency, halves=halves)


def check_key_every(op: Operation, params: dict, steady_inside: bool) -> None:
    """A ValueError naming why frames cannot be made between keys for this Operation (see `video.inbetween`)."""
    from daguerre.video.inbetween import INBETWEEN_OPERATIONS

    if op.name not in INBETWEEN_OPERATIONS:
        raise ValueError(f"a key every N frames is for {', '.join(sorted(INBETWEEN_OPERATIONS))}: {op.name} keeps "
                         "each frame's own detail")
    if steady_inside:
        raise ValueError("a key every N frames steadies with the pixel blend (--steady pixels), not inside the network")
    if clip_anchor(op, params) is not None:
        raise ValueError(f"a key every N frames is not for {params.get('model')}: its moving anchor needs every frame")


def clip_anchor(op: Operation, params: dict) -> MovingAnchor | None:
    """The moving anchor (`daguerre.video.anchor`) of a clip stylized with a fast model whose card asks for one;
    None otherwise (every other model and Operation runs as before)."""
    if op.name != "stylize" or params.get("method", "fast") != "fast" or not isinstance(params.get("model"), str):
        return None
    from daguerre.ops import styles
    from daguerre.video.anchor import MovingAnchor, wanted

    want = wanted(styles.style_model(params["model"])[0])
    return None if want is None else MovingAnchor(*want)


def process_clip(op: Operation, source: str | Path, target: str | Path, consistency: float = DEFAULT_CONSISTENCY,
                 progress: FrameProgress | None = None, stage_cpu: dict[str, float] | None = None,
                 steady_inside: bool = False, steady_moving: bool = False, steady_local: bool = False,
                 key_every: int = 1, blend: str = "bytes", fps: float | None = None, notes: list[str] | None = None,
                 **params: object) -> Path:
    """Run `op` on every frame of `source` (a video file or a folder of numbered frames) into `target` (a video
    file, or a pattern such as `frames/%05d.png`), keeping the frame rate, size ratio and audio track.

    `consistency` (0..1) is how strongly each frame is pulled towards the previous output along the motion;
    0 processes frames independently. `stage_cpu`, when given, receives the CPU seconds of each stage's thread
    (decode, model, steady, encode; not ffmpeg's own processes nor ONNX Runtime's pool threads).
    `steady_inside`: a fast style model (fp32, int8 or bf16) is steadied inside the network (`steady_style`) instead
    of on its pixels: steadier at less style cost on camera pans, but less steady than the pixel blend at the same
    style cost on a real clip with moving figures (BENCHMARKS.md, "Video"), so not the default. `steady_moving`:
    steadied inside with the grid locked to the fraction of a pixel, and the output's pixels blended where figures
    move on their own (`SteadyMoving`). `steady_local`: steadied inside with the grid locked to the smoothed flow,
    so figures moving on their own, zooms and turns are held too (`SteadyLocal`). `key_every` N > 1: the model runs
    on every Nth frame only and the frames between are made from those outputs along the motion
    (`daguerre.video.inbetween`): faster, and steadier; `consistency` is then how evenly a frame between blends the
    keys on either side (1: by nearness; 0: the earlier key wherever its flow is trusted). `blend`: a video file's
    frames steadied in 8 bits (`bytes`) or, as before 2026-12-02, in float (`float`: older archive recipes). `fps`:
    the frame rate of a folder of numbered frames (else `SEQUENCE_FPS`). `notes`, when given, receives the
    operation's notes on the first frame (`Operation.notes`: a colour clip given to colorize)."""
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {blend!r}")
    from daguerre.video.consistency import TemporalConsistency

    info, frames = open_clip(source, fps)
    first = next(frames, None)
    if first is not None:  # what must not change from frame to frame, from the first (restore: screen, noise)
        if notes is not None:
            notes += op.notes(first, params)
        params = op.for_clip(first, params)
        frames = _prepend(first, frames)
    # frames run whole up to full HD; beyond, tiled, but for int8 and bf16, which run whole pictures only (a 4K
    # frame in bf16: 1.2 GB at most, measured)
    whole = max(info.size) <= WHOLE_FRAME or params.get("precision") in ("int8", "bf16")
    if op.name in WHOLE_FRAME_OPERATIONS and isinstance(params.get("tile"), int) and whole:
        params["tile"] = max(int(params["tile"]), max(info.size))  # type: ignore[call-overload]
    if key_every > 1:
        check_key_every(op, params, steady_inside or steady_moving or steady_local)
    decoded = in_thread(frames, name="decode", cpu=stage_cpu)
    style = (steady_style(op, params, consistency, info.size, steady_moving, steady_local)
             if steady_inside or steady_moving or steady_local else None)
    if style is not None:  # flow first (it sets each frame's grid shift), then the network steadied inside
        def moved(frame: Picture) -> tuple[Picture, Motion]:
            return frame, style.motion(frame.rgb())

        def rendered(pair: tuple[Picture, Motion]) -> Picture:
            frame, motion = pair
            return frame.with_pixels(style.render(frame.rgb(), motion))

        stages = in_thread(in_thread(decoded, moved, name="steady", cpu=stage_cpu), rendered, name="model",
                           cpu=stage_cpu)
    elif (mover := clip_anchor(op, params)) is not None:  # flow first: it moves the anchor the model sees
        steady = TemporalConsistency(consistency)

        def anchored(frame: Picture) -> tuple[Picture, FrameMotion, np.ndarray]:
            motion = steady.motion(frame.pixels)
            return frame, motion, mover.next(frame.size, motion)

        def run_anchored(item: tuple[Picture, FrameMotion, np.ndarray]) -> tuple[Picture, Picture, FrameMotion]:
            frame, motion, anchor = item
            return frame, op.run(frame, anchor=anchor, **params), motion

        def steadied_moved(item: tuple[Picture, Picture, FrameMotion]) -> Picture:
            frame, result, motion = item
            return result.with_pixels(steady(frame.pixels, result.pixels, motion))

        stages = in_thread(in_thread(in_thread(decoded, anchored, name="steady", cpu=stage_cpu), run_anchored,
                                     name="model", cpu=stage_cpu), steadied_moved, name="steady", cpu=stage_cpu)
    elif key_every > 1:  # the model on the keys only, in its stage; the frames between made in the steady stage
        from daguerre.video.inbetween import Inbetween

        chroma = op.name in CHROMA_OPERATIONS  # colour: the pixel blend after too (steadier, and no style to lose)
        between = Inbetween(key_every, chroma_only=chroma, lean=1 - consistency,
                            steady=TemporalConsistency(consistency, chroma_only=True) if chroma else None)
        count = itertools.count()

        def run_key(frame: Picture) -> tuple[Picture, Picture | None]:
            return frame, op.run(frame, **params) if between.is_key(next(count)) else None

        keyed = in_thread(decoded, run_key, name="model", cpu=stage_cpu)
        stages = in_thread(between.frames(keyed, lambda frame: op.run(frame, **params)), name="steady",
                           cpu=stage_cpu)
    else:
        steady = TemporalConsistency(consistency, chroma_only=op.name in CHROMA_OPERATIONS,
                                     eight_bit=blend == "bytes")

        def run(frame: Picture) -> tuple[Picture, Picture]:
            return frame, op.run(frame, **params)

        rgb8 = takes_rgb8(target) and not (info.colour.deep and writes_deep(target))  # else 16-bit Pictures

        def steadied(pair: tuple[Picture, Picture]) -> Picture | np.ndarray:
            frame, result = pair
            if rgb8:  # a video file: the encoder's (H, W, 3) uint8 made straight from the step's own layout
                return steady.rgb8(frame.pixels, result.pixels)
            return result.with_pixels(steady(frame.pixels, result.pixels))

        stages = in_thread(in_thread(decoded, run, name="model", cpu=stage_cpu), steadied, name="steady",
                           cpu=stage_cpu)
    start = time.thread_time()
    with ClipWriter(target, info.fps, audio_from=info, sar=info.sar) as writer, closing(stages):
        for i, out in enumerate(stages, 1):
            writer.write(out)
            if progress:
                progress(i, max(info.frames or 0, i))
    if stage_cpu is not None:
        stage_cpu["encode"] = stage_cpu.get("encode", 0.0) + time.thread_time() - start
    return Path(target)
