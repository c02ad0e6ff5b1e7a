"""Video: frames per second through the whole pipeline, and how much the temporal-consistency step steadies it.

1. Speed: a clip panning over a held-out photo (written as H.264), run through `daguerre.video.process_clip`:
   decode + Operation + consistency + encode as threaded stages, at 480p (854x480) and 720p (1280x720), beside
   the same work done serially and the Operation alone on a frame in memory (same run); the fast style model
   in fp32 and in int8 (`--precision int8`). "decode + encode only"
   is the pipeline with an Operation that returns its input. Then the fast style model on batches of 1, 2, 4
   frames (torch, and ONNX Runtime with a batch-dynamic export).
2. Stability, on a clip synthesised from held-out photos with a known camera pan and zoom (one shot per photo,
   so the shots are separated by scene cuts): the warping error of Lai et al. 2018 (mean squared difference
   between each output frame and the previous output warped onto it, on non-occluded pixels; pairs across a cut
   left out), measured with the true flow of the synthetic camera and with the flow DIS estimates on the input
   (Lai et al.'s protocol), at several `--consistency` strengths. For style models also the Gram style distance
   to the painting (VGG19, every 5th frame at the clip's size) and the sharpness (mean gradient magnitude)
   relative to frame-by-frame output: what the steadying costs.
   Fast style models in fp32 also steadied inside the network (`daguerre.video.steady_style`), same measures.
3. The same warping error (estimated flow) on a real clip from a Debian package: opencv-doc's Megamind.avi.
4. `--breakdown` (alone): each stage's CPU per 480p frame and the fps, fp32 and int8, before this round's speed
   changes (`video_before.py`) and now, with the fps two idle cores would give.
5. `--local-speed` (alone): `daguerre stylize CLIP --model van-gogh-irises --precision int8` at 480p (the clip of
   the speed table, `--frames` frames) with the default pixel blend, with `--steady local` and with `--steady
   local` in fp32 (its default), alternated
   `--repeats` times in one process (`daguerre.api.run_clip`, as the command line runs a clip): fps, and the CPU
   time a frame (this process's threads and its ffmpeg children, user + sys), which is what decides the fps
   on quiet cores when the machine is shared.

    .venv/bin/python benchmarks/video.py [--threads 1] [--quick]
        [--skip-speed | --skip-stability | --breakdown | --local-speed]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, base_parser, format_table, load_rgb, painting_path, print_header, set_threads  # noqa: E402
from daguerre.data.sources import photos  # noqa: E402
from daguerre.imaging import Picture, load  # noqa: E402
from daguerre.metrics import style_distance, warping_error  # noqa: E402
from daguerre.models.onnx import bf16_available  # noqa: E402
from daguerre.ops import Operation, get_operation  # noqa: E402
from daguerre.video import DEFAULT_CONSISTENCY  # noqa: E402
from daguerre.video.clip import ClipWriter, open_clip  # noqa: E402
from daguerre.video.consistency import TemporalConsistency  # noqa: E402
from daguerre.video.flow import FlowEstimator, confidence, grey8, resize_flow, warp  # noqa: E402
from daguerre.video.inbetween import Inbetween  # noqa: E402
from daguerre.video.run import CHROMA_OPERATIONS, process_clip  # noqa: E402
from daguerre.video.steady_local import LET_GO_RAMP, SteadyLocal  # noqa: E402
from daguerre.video.steady_moving import MOVING_RAMP, SteadyMoving  # noqa: E402
from daguerre.video.steady_style import SteadyStyle, onnx_halves  # noqa: E402
from daguerre.video.synthetic import panned_frames  # noqa: E402

STYLE_MODEL = "van-gogh-irises"
REAL_CLIP = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")  # Debian opencv-doc
CASES = {  # name: (operation, params)
    "stylize (fast, van-gogh-irises)": ("stylize", {"method": "fast", "model": STYLE_MODEL, "tile": 1024,
                                                    "precision": "fp32"}),
    "stylize (fast, van-gogh-irises), int8": ("stylize", {"method": "fast", "model": STYLE_MODEL, "tile": 1024,
                                                          "precision": "int8"}),
    "stylize (fast, seurat-grande-jatte)": ("stylize", {"method": "fast", "model": "seurat-grande-jatte",
                                                        "tile": 1024}),
    "restore (restore-photos)": ("restore", {"tile": 1024}),
    "colorize (colorize-photos), grey input": ("colorize", {}),
}
if bf16_available():  # the clips' default on a CPU with native bf16
    CASES["stylize (fast, van-gogh-irises), bf16"] = ("stylize", {"method": "fast", "model": STYLE_MODEL,
                                                                  "tile": 1024, "precision": "bf16"})
# the any-painting network with a held-out painting (`--cases arbitrary`; not in the default cases)
ARBITRARY_PRECISIONS = ("fp32", "bf16") if bf16_available() else ("fp32",)
for _precision in ARBITRARY_PRECISIONS:
    CASES[f"stylize (arbitrary, unseen painting), {_precision}"] = ("stylize", {"method": "arbitrary",
                                                                               "precision": _precision})


class Copy(Operation):
    """Returns its input: the pipeline's own cost."""

    name = "copy"

    def run(self, picture: Picture, progress: object = None, **params: object) -> Picture:
        return picture


def shot_photos(n: int) -> list[np.ndarray]:
    """The first `n` held-out photos (no wallpapers) at least 1000 px wide, as (3, H, W)."""
    chosen = []
    for p in photos("heldout", graphics=False):
        picture = load(p)
        if picture.size[0] >= 1000:
            chosen.append(picture.rgb())
        if len(chosen) == n:
            return chosen
    raise SystemExit(f"needs {n} held-out photos at least 1000 px wide")


def pan_clip(path: Path, size: tuple[int, int], frames: int) -> Path:
    """An H.264 clip at 24 fps of one held-out photo panned and zoomed (`synthetic`'s first shot)."""
    with ClipWriter(path, 24) as writer:
        for frame, _ in synthetic(size, 1, frames):
            writer.write(Picture(frame))
    return path


def synthetic(size: tuple[int, int], shots: int, frames: int, grey: bool = False) -> list[tuple]:
    """[(frame (3, H, W), true backward flow or None at a shot's first frame)] over `shots` held-out photos."""
    out = []
    for photo in shot_photos(shots):
        for frame, flow in panned_frames(photo, size, frames):
            if grey:
                frame = np.repeat(grey8(frame)[None].astype(np.float32) / 255, 3, 0)
            out.append((frame, flow))
    return out


def speed(args: object) -> list[dict]:
    """fps of the Operation alone (frames in memory) and of the whole pipeline, threaded and serial, same run."""
    rows = []
    n = 6 if args.quick else args.frames
    cases = {k: v for k, v in CASES.items() if "seurat" not in k and any(c in k for c in args.speed_cases)
             and ("arbitrary" not in k or "arbitrary" in args.speed_cases)}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in (("480p", (854, 480)), ("720p", (1280, 720)))[: 1 if args.only_480p else 2]:
            clip = pan_clip(Path(tmp) / f"{label}.mp4", size, n)

            def row(case: str, consistency: float | None, frames: int, seconds: float, pipeline: str,
                    label: str = label) -> None:
                rows.append({"size": label, "case": case, "pipeline": pipeline, "consistency": consistency,
                             "frames": frames, "fps": frames / seconds, "ms_per_frame": 1e3 * seconds / frames})
                print(f"  {label} {case} {pipeline} c={consistency}: {rows[-1]['fps']:.2f} fps", flush=True)

            for c in (0.0, DEFAULT_CONSISTENCY):
                for runner, pipeline in ((process_clip, "threaded"), (serial_clip, "serial")):
                    start = time.perf_counter()
                    runner(Copy(), clip, Path(tmp) / "out.mp4", consistency=c)
                    row("decode + encode (+ consistency) only", c, n, time.perf_counter() - start, pipeline)
            for name, (op_name, params) in cases.items():
                op = get_operation(op_name)
                frames = n if "restore" not in name else max(2, n // 4)
                source = clip if frames == n else _first_frames(clip, frames, Path(tmp) / f"{label}-short.mp4")
                frame = next(open_clip(clip)[1])
                warm = {**params, "tile": 1920} if "tile" in params else params  # as process_clip runs frames
                op.run(frame, **warm)  # model load and warm-up, not timed
                k = min(frames, 2 if "restore" in name else 8)
                start = time.perf_counter()
                for _ in range(k):
                    op.run(frame, **warm)
                row(f"{name}: the operation alone", None, k, time.perf_counter() - start, "-")
                for c in (0.0, DEFAULT_CONSISTENCY):
                    for runner, pipeline in ((process_clip, "threaded"), (serial_clip, "serial")):
                        if pipeline == "serial" and c == 0:
                            continue
                        start = time.perf_counter()
                        runner(op, source, Path(tmp) / "out.mp4", consistency=c, **params)
                        row(name, c, frames, time.perf_counter() - start, pipeline)
    return rows


def breakdown(args: object) -> list[dict]:
    """Where a 480p frame's CPU goes, and the fps, through `process_clip` with the fast style model: the pipeline
    before the issue-14 speed round (`video_before.settings_before`, spinning ONNX threads), the pipeline now with
    the model exported as trained ("trained form": nearest upsampling then conv) and now (the export of
    `for_inference`: `SubPixelConv`, the same output), fp32 and int8,
    the model on 1 and 2 ONNX Runtime threads, consistency 0 and 0.5, all in this run. OpenCV runs on 1 thread so
    each stage's CPU is its own thread's (bf16: the fp32 file on OpenVINO; "before" is only ONNX Runtime's
    spinning threads for it): decode (ffmpeg's pipe to float frames), steady (flow and blend), encode
    (frames to uint8, the pipe to ffmpeg), model (the process's CPU less those threads: the model's threads and
    the Picture conversions), ffmpeg (its decoding and encoding processes)."""
    import os

    import cv2

    from daguerre.models.onnx import _bf16_session, _session, export, quantize
    from daguerre.ops import styles
    from video_before import settings_before

    cv2.setNumThreads(1)
    n = 8 if args.quick else args.frames
    op = get_operation("stylize")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = pan_clip(Path(tmp) / "480p.mp4", (854, 480), n)
        trained = {"fp32": export(styles.style_model(STYLE_MODEL)[1], Path(tmp) / "trained.onnx", inference_form=False)}
        trained["int8"] = quantize(trained["fp32"], Path(tmp) / "trained-int8.onnx")
        trained["bf16"] = trained["fp32"]  # run by OpenVINO in bf16
        for precision in args.precisions:
            model = styles.style_model_onnx(STYLE_MODEL, precision)
            for threads in args.model_threads:
                for version in args.versions:
                    path = model.path if version == "now" else trained[precision]
                    model.session = (_bf16_session(str(path), threads) if precision == "bf16"
                                     else _session(str(path), threads, spinning=version == "before"))
                    params = {"method": "fast", "model": STYLE_MODEL, "tile": 1024, "precision": precision}
                    op.run(next(open_clip(clip)[1]), **{**params, "tile": 1920})  # warm-up, not timed
                    for c in (0.0, DEFAULT_CONSISTENCY):
                        cpu: dict[str, float] = {}
                        t0, wall = os.times(), time.perf_counter()
                        with settings_before() if version == "before" else contextlib.nullcontext():
                            process_clip(op, clip, Path(tmp) / "out.mp4", consistency=c, stage_cpu=cpu, **params)
                        wall, t1 = time.perf_counter() - wall, os.times()
                        ms = {k: 1e3 * v / n for k, v in cpu.items()}
                        ms["model"] = 1e3 * (t1.user + t1.system - t0.user - t0.system) / n - sum(
                            v for k, v in ms.items() if k != "model")
                        ms["ffmpeg"] = 1e3 * (t1.children_user + t1.children_system - t0.children_user
                                              - t0.children_system) / n
                        total = sum(ms.values())
                        # on 2 idle cores: all the CPU shared by both, and no stage slower than its own thread(s)
                        critical = max(ms["model"] / threads, ms["decode"], ms["steady"], ms["encode"])
                        quiet = min(2000 / total, 1000 / critical)
                        rows.append({"version": version, "precision": precision, "model_threads": threads,
                                     "consistency": c, "frames": n, "fps": n / wall, "cpu_ms": ms,
                                     "cpu_ms_total": total, "fps_2_idle_cores": quiet})
                        print(f"  {version} {precision} threads {threads} c={c}: {n / wall:.2f} fps, "
                              f"{total:.0f} ms CPU a frame, ~{quiet:.1f} fps on 2 idle cores", flush=True)
    return rows


def breakdown_table(rows: list[dict]) -> str:
    stages = ("decode", "model", "steady", "encode", "ffmpeg")
    out = []
    for r in rows:
        before = next((b for b in rows if b["version"] == "before" and all(
            b[k] == r[k] for k in ("precision", "model_threads", "consistency"))), None)
        out.append([r["version"], r["precision"], r["model_threads"], r["consistency"], r["fps"],
                    r["fps"] / before["fps"] if before else None, *(r["cpu_ms"][s] for s in stages), r["cpu_ms_total"],
                    r["fps_2_idle_cores"]])
    return format_table(["pipeline", "model", "model threads", "consistency", "fps (this run)", "x before",
                         *(f"{s} ms" for s in stages), "CPU ms/frame", "est. fps, 2 idle cores"], out)


def serial_clip(op: Operation, source: Path, target: Path, consistency: float, **params: object) -> None:
    """The pipeline without threads (each frame decoded, run, steadied and encoded before the next is read)."""
    info, frames = open_clip(source)
    if "tile" in params:
        params["tile"] = max(int(params["tile"]), max(info.size))
    steady = TemporalConsistency(consistency, chroma_only=op.name in CHROMA_OPERATIONS)
    with ClipWriter(target, info.fps) as writer:
        for frame in frames:
            result = op.run(frame, **params)
            writer.write(result.with_pixels(steady(frame.pixels, result.pixels)))


def batching(args: object) -> list[dict]:
    """ms per 480p frame of the fast style model run on batches of 1, 2 and 4 frames (torch, and ONNX Runtime
    with a batch-dynamic export of the same network)."""
    import onnx
    import onnxruntime as ort

    from daguerre.models.onnx import export
    from daguerre.ops import styles

    _, net = styles.style_model(STYLE_MODEL)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = onnx.load(str(export(net, Path(tmp) / "net.onnx")))
        for v in (*model.graph.input, *model.graph.output):
            v.type.tensor_type.shape.dim[0].dim_param = "batch"
        onnx.save(model, str(Path(tmp) / "batch.onnx"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = args.threads, 1
        session = ort.InferenceSession(str(Path(tmp) / "batch.onnx"), opts, providers=["CPUExecutionProvider"])
        for b in (1, 2, 4):
            x = torch.rand(b, 3, 480, 854)
            for engine, run in (("onnxruntime", lambda x=x: session.run(None, {"image": x.numpy()})),
                                ("torch", lambda x=x: net(x))):
                with torch.inference_mode():
                    run()
                    reps = 1 if args.quick else max(1, 8 // b)
                    start = time.perf_counter()
                    for _ in range(reps):
                        run()
                ms = 1e3 * (time.perf_counter() - start) / (reps * b)
                rows.append({"engine": engine, "batch": b, "ms_per_frame": ms})
                print(f"  {engine} batch {b}: {ms:.1f} ms/frame", flush=True)
    return rows


def _first_frames(clip: Path, n: int, target: Path) -> Path:
    info, frames = open_clip(clip)
    with ClipWriter(target, info.fps) as writer:
        for i, frame in enumerate(frames):
            if i == n:
                break
            writer.write(frame)
    return target


def stability(frames: list[tuple], outputs: list[np.ndarray], strengths: tuple[float, ...], chroma: bool,
              painting: torch.Tensor | None, inside: torch.nn.Module | None = None,
              moving: bool = False, local: bool = False, let_go: float = 0.0,
              ramp: tuple[float, float] = LET_GO_RAMP, halves: tuple | None = None, key_every: int = 1,
              inbetween: dict | None = None, blend: str = "bytes") -> list[dict]:
    """Warping errors (true and estimated flow), style distance and sharpness at each strength; `inside`: the
    fast style network, steadied inside (`SteadyStyle`) rather than on its output pixels (strength 0: `outputs`);
    with `moving`, also pixel-blended at the same strength where figures move on their own (`SteadyMoving`);
    with `local`, its grid locked to the smoothed flow (`SteadyLocal`, its pixels blended by `let_go` where the lock
    lets go, over `ramp`; `halves`: the local lock's network halves, e.g. int8's, default torch's); `key_every` N > 1:
    `outputs` used on every Nth frame only, the frames between made from them (`Inbetween`, lean = 1 - strength, as
    `process_clip` sets it; the rows then also give `model_share`: the frames the model ran on, of all);
    `inbetween`: its options (lean, interpolation). `blend`: the pixel blend as a clip's encoder gets it, in 8 bits
    (`bytes`, `TemporalConsistency.rgb8`), or as `TemporalConsistency.__call__`'s float pictures (`float`)."""
    flow_est = FlowEstimator()
    estimated = []  # per pair: (flow at full size, trusted mask) from the input frames, as Lai et al.
    for (prev, _), (cur, true_flow) in zip(frames, frames[1:], strict=False):
        if true_flow is None:
            estimated.append(None)
            continue
        g, gp = flow_est.small(grey8(cur)), flow_est.small(grey8(prev))
        back = flow_est(g, gp)
        trust = confidence(back, flow_est(gp, g))
        h, w = cur.shape[1:]
        import cv2

        estimated.append((resize_flow(back, (w, h)),
                          cv2.resize(trust, (w, h), interpolation=cv2.INTER_NEAREST).astype(np.float32)))
    rows = []
    base_sharpness = None
    for c in strengths:
        model_share = 1.0
        if key_every > 1:
            steady = TemporalConsistency(0.0)  # no cuts counted: the keys are not blended
            between = Inbetween(key_every, chroma_only=chroma, **{"lean": 1 - c, **(inbetween or {})})
            steadied = made_between(between, frames, outputs)
            model_share = 1 - between.made / len(frames)
        elif inside is not None and c > 0:
            steady = (SteadyLocal(inside, c, let_go=let_go, let_go_ramp=ramp, halves=halves) if local else
                      SteadyMoving(inside, c, c) if moving else SteadyStyle(inside, c))
            steadied = [steady(f) for f, _ in frames]
        else:
            steady = TemporalConsistency(c, chroma_only=chroma)
            steadied = [steady(f, o) if blend == "float" else
                        steady.rgb8(f, o).transpose(2, 0, 1).astype(np.float32) * np.float32(1 / 255)
                        for (f, _), o in zip(frames, outputs, strict=True)]
        measured = [_colour(s) for s in steadied] if chroma else steadied  # colorize: the colour is what moves
        true_err, est_err = [], []
        for t in range(1, len(frames)):
            true_flow = frames[t][1]
            if true_flow is None:
                continue
            prev = np.ascontiguousarray(measured[t - 1].transpose(1, 2, 0))
            pair = np.stack([measured[t - 1], measured[t]])
            true_err.append(warping_error(pair, warp(prev, true_flow).transpose(2, 0, 1)[None],
                                          _inside(true_flow)[None, None]))
            flow, trust = estimated[t - 1]
            est_err.append(warping_error(pair, warp(prev, flow).transpose(2, 0, 1)[None], trust[None, None]))
        sharp = float(np.mean([_sharpness(s) for s in steadied[::5]]))
        base_sharpness = base_sharpness or sharp
        row = {"consistency": c, "warping_error_true_flow": float(np.mean(true_err)),
               "warping_error_estimated_flow": float(np.mean(est_err)), "sharpness_ratio": sharp / base_sharpness,
               "cuts_detected": steady.cuts, "model_share": model_share}
        if painting is not None:
            row["style_distance"] = float(np.mean(style_distance(np.stack(steadied[::5]), painting)))
        rows.append(row)
    return rows


def made_between(between: Inbetween, frames: list[tuple], outputs: list[np.ndarray]) -> list[np.ndarray]:
    """Every frame's output through `between`: `outputs` (each frame's own, made beforehand) given on its keys and
    as its model for the frames it runs the model on after all."""
    pictures = [Picture(f) for f, _ in frames]
    index = {id(p): i for i, p in enumerate(pictures)}
    keyed = [(p, Picture(o) if between.is_key(i) else None)
             for i, (p, o) in enumerate(zip(pictures, outputs, strict=True))]
    return [p.pixels for p in between.frames(keyed, lambda p: Picture(outputs[index[id(p)]]))]


def _colour(x: np.ndarray) -> np.ndarray:
    """(2, H, W): the Cr, Cb planes of an RGB frame."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(x.transpose(1, 2, 0)), cv2.COLOR_RGB2YCrCb)[..., 1:].transpose(2, 0, 1)


def _inside(flow: np.ndarray, border: int = 2) -> np.ndarray:
    """1 where the pixel's source lies inside the previous frame (the pan's only occlusion is the frame edge)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    sx, sy = gx + flow[..., 0], gy + flow[..., 1]
    return ((sx >= border) & (sx <= w - 1 - border) & (sy >= border) & (sy <= h - 1 - border)).astype(np.float32)


def _sharpness(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x, axis=2)).mean() + np.abs(np.diff(x, axis=1)).mean())


def real_clip(args: object, strengths: tuple[float, ...]) -> list[dict]:
    """Estimated-flow warping error of the style model on the first frames of a real clip."""
    if not args.real_frames:
        return []
    if not REAL_CLIP.is_file():
        print(f"  skipped: {REAL_CLIP} not installed (Debian package opencv-doc)")
        return []
    frames = real_frames(8 if args.quick else args.real_frames)
    op = get_operation("stylize")
    params = {**CASES["stylize (fast, van-gogh-irises)"][1], "precision": args.real_precision}
    from daguerre.models.registry import find_model

    path = painting_path(find_model(STYLE_MODEL))
    if args.real_arbitrary:  # the any-painting network with a held-out painting instead
        from daguerre.demo import unseen_paintings

        path = unseen_paintings()[0]
        params = {"method": "arbitrary", "style": [str(path)], "precision": args.real_precision}
    outputs = stylized(op, frames, params)
    painting = load_rgb(path, max(frames[0][0].shape[1:]))[0].numpy()
    rows = stability(frames, outputs, strengths, False, painting, blend=args.blend)
    if args.inside:
        from daguerre.ops import styles

        net = styles.style_model(STYLE_MODEL)[1]
        inside = stability(frames, outputs, strengths, False, painting, inside=net)
        rows += [{**r, "steadied": "inside the network"} for r in inside if r["consistency"] > 0]
    if args.moving:
        from daguerre.ops import styles

        moving = stability(frames, outputs, strengths, False, painting, inside=styles.style_model(STYLE_MODEL)[1],
                           moving=True)
        rows += [{**r, "steadied": "inside + moving figures"} for r in moving if r["consistency"] > 0]
    if args.local:
        from daguerre.ops import styles

        local = stability(frames, outputs, strengths, False, painting, inside=styles.style_model(STYLE_MODEL)[1],
                          local=True, let_go=args.let_go, ramp=tuple(args.let_go_ramp),
                          halves=local_halves(args, STYLE_MODEL))
        label = f"local, let go {let_go_name(args)}" if args.let_go else "local lock"
        label += f", {args.local_precision}" if args.local_precision != "fp32" else ""
        rows += [{**r, "steadied": label} for r in local if r["consistency"] > 0]
    for r in rows:
        del r["warping_error_true_flow"]  # there is no true flow for a real clip
    return rows


def real_frames(n: int = 48) -> list[tuple]:
    """The first `n` frames of the real clip as (pixels, flow) pairs, as `synthetic` gives them: the flow is None at
    a cut the consistency step finds (pairs across it are left out), else zeros (unknown: only the estimated flow
    is measured)."""
    _, stream = open_clip(REAL_CLIP)
    frames, cuts = [], TemporalConsistency(1.0)
    for i, f in enumerate(stream):
        if i == n:
            break
        seen = cuts.cuts
        cuts(f.pixels, f.pixels)
        new_shot = i == 0 or cuts.cuts > seen
        frames.append((f.pixels, None if new_shot else np.zeros((*f.pixels.shape[1:], 2), np.float32)))
    return frames


def stylized(op: Operation, frames: list[tuple], params: dict) -> list[np.ndarray]:
    """Each frame's output, frame by frame, as the clip path makes it: a style model whose card asks for an anchor
    (`daguerre.video.anchor`) sees it moved along the estimated flow of the input frames (`process_clip`)."""
    from daguerre.video.run import clip_anchor

    mover = clip_anchor(op, params)
    if mover is None:
        return [op.run(Picture(f), **params).pixels for f, _ in frames]
    motion = TemporalConsistency(0.0)
    outputs = []
    for f, _ in frames:
        picture = Picture(f)
        outputs.append(op.run(picture, anchor=mover.next(picture.size, motion.motion(f)), **params).pixels)
    return outputs


def save_grid(frames: list[tuple], outputs: list[np.ndarray], path: Path, strengths: tuple[float, ...]) -> None:
    """One crop of a steadied frame per strength, beside its difference with the previous output (x4)."""
    from PIL import Image

    t = 5  # inside the first shot
    tiles = []
    for c in strengths:
        steady = TemporalConsistency(c)
        steadied = [steady(f, o) for (f, _), o in zip(frames[: t + 1], outputs[: t + 1], strict=True)]
        prev = warp(np.ascontiguousarray(steadied[t - 1].transpose(1, 2, 0)), frames[t][1]).transpose(2, 0, 1)
        crop = (slice(None), slice(100, 356), slice(300, 556))
        diff = np.clip(np.abs(steadied[t] - prev) * 4, 0, 1)
        tiles.append(np.concatenate([steadied[t][crop], diff[crop]], axis=2))
    grid = np.concatenate(tiles, axis=1).transpose(1, 2, 0)
    Image.fromarray((grid * 255 + 0.5).astype(np.uint8)).save(path, quality=90)


def local_halves(args: object, model: str) -> tuple | None:
    """`--local-precision int8` or bf16: the network's two halves in it for the local lock; fp32: None (torch's
    halves, as every fp32 figure of the local lock was measured)."""
    if args.local_precision == "fp32":
        return None
    from daguerre.ops import styles

    card, net = styles.style_model(model)
    return onnx_halves(card, net, args.local_precision)


def let_go_name(args: object) -> str:
    """`--let-go` for the tables' labels, with its ramp when not the default."""
    ramp = tuple(args.let_go_ramp)
    return f"{args.let_go}" + ("" if ramp == tuple(LET_GO_RAMP) else f" (ramp {ramp[0]:g}-{ramp[1]:g} px)")


LOCAL_SPEED_RUNS = ("pixels:int8", "local:int8", "local:fp32")  # the default before bf16; the lock in int8, fp32


def local_speed(args: object) -> list[dict]:
    """fps and CPU ms a frame of a 480p clip through `run_clip` (van-gogh-irises), `args.runs` (steady:precision:
    the pixel blend or the local lock, in int8, bf16 or fp32) alternated; the first run of each (model and halves
    loaded) is a warm-up, not counted. Each is run on the clip's first quarter too: the difference is the frames'
    own cost ("marginal"), without what a run costs whatever its length (ffmpeg's start and the encoder's flush:
    ~2 s at 480p, measured)."""
    import os
    import resource

    from daguerre.api import run_clip

    def cpu() -> float:  # this process and its waited-for children (ffmpeg), user + sys
        own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        short = max(4, args.frames // 4)
        clips = {n: Path(tmp) / f"480p-{n}.mp4" for n in (short, args.frames)}
        frames = [f for f, _ in synthetic((854, 480), 1, args.frames)]
        for n, clip in clips.items():
            with ClipWriter(clip, 24) as writer:
                for frame in frames[:n]:
                    writer.write(Picture(frame))
        for rep in range(args.repeats + 1):
            for steady, precision, *key in (run.split(":") for run in args.runs):
                load = os.getloadavg()[0]
                spent = {}
                for n, clip in clips.items():
                    start, start_cpu = time.perf_counter(), cpu()
                    run_clip("stylize", clip, Path(tmp) / "out.mp4", steady=steady, model=STYLE_MODEL,
                             precision=precision, key_every=int(key[0]) if key else 1)
                    spent[n] = time.perf_counter() - start, cpu() - start_cpu
                (t0, c0), (t1, c1) = spent[short], spent[args.frames]
                if rep:
                    n = args.frames - short
                    if key:
                        precision += f", a key every {key[0]}"
                    rows.append({"run": rep, "steady": steady, "precision": precision, "frames": args.frames,
                                 "fps": args.frames / t1, "cpu_ms_per_frame": 1e3 * c1 / args.frames,
                                 "marginal_fps": n / (t1 - t0), "marginal_cpu_ms": 1e3 * (c1 - c0) / n,
                                 "load": load})
                    print(f"  run {rep} {steady} {precision}: {rows[-1]['fps']:.2f} fps, CPU "
                          f"{rows[-1]['cpu_ms_per_frame']:.1f} ms a frame; marginal {rows[-1]['marginal_fps']:.2f} "
                          f"fps, {rows[-1]['marginal_cpu_ms']:.1f} ms (load {load:.2f})", flush=True)
    return rows


def inside_cost(args: object) -> None:
    """ms per 854x480 frame of a pan, medians of interleaved runs, fp32 van-gogh-irises on this process's threads:
    the network alone (ONNX Runtime, as clips run it; torch), with the pixel blend, and steadied inside."""
    import cv2

    from daguerre.ops import styles

    cv2.setNumThreads(args.threads)  # OpenCV's own pool would otherwise take the other cores when they are idle
    frames = [f for f, _ in synthetic((854, 480), 1, 8 if args.quick else 24)]
    op, params = get_operation("stylize"), {**CASES["stylize (fast, van-gogh-irises)"][1], "tile": 1920}
    net = styles.style_model(STYLE_MODEL)[1]

    def onnx(f: np.ndarray) -> np.ndarray:
        return op.run(Picture(f), **params).pixels

    def torch_alone(f: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.nn.functional.pad(torch.from_numpy(f)[None], (0, 2, 0, 0), mode="reflect"))[0].numpy()

    pixel = TemporalConsistency(DEFAULT_CONSISTENCY)
    card = styles.style_model(STYLE_MODEL)[0]
    steady, steady_torch = SteadyStyle(net, halves=onnx_halves(card, net)), SteadyStyle(net)
    moving = SteadyMoving(net, halves=onnx_halves(card, net))
    local = SteadyLocal(net, halves=onnx_halves(card, net))
    runs = {"network alone, ONNX Runtime": onnx, "network alone, torch": torch_alone,
            "ONNX + pixel blend 0.5": lambda f: pixel(f, onnx(f)),
            "steadied inside 0.5, ONNX Runtime halves": steady, "steadied inside 0.5, torch": steady_torch,
            "inside 0.5 + moving figures 0.5, ONNX Runtime halves": moving,
            "local lock 0.5, ONNX Runtime halves": local,
            **{f"local lock 0.5 + let go {args.let_go} (ramp {lo:g}-{hi:g} px), ONNX Runtime halves":
               SteadyLocal(net, let_go=args.let_go, let_go_ramp=(lo, hi), halves=onnx_halves(card, net))
               for lo, hi in dict.fromkeys([tuple(args.let_go_ramp), tuple(MOVING_RAMP)]) if args.let_go},
            "  of which motion (flow, grid shift)": None,
            "  of which the local lock's motion (flow, maps, frame resampled in)": SteadyLocal(net).motion}
    times: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}  # this process's CPU time: steadier than wall time under load
    motion = SteadyStyle(net, DEFAULT_CONSISTENCY)
    for f in frames:
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            motion.motion(f) if run is None else run(f)
            times[name].append(1e3 * (time.perf_counter() - start))
            cpu[name].append(1e3 * (time.process_time() - start_cpu))
    base = float(np.median(times["network alone, ONNX Runtime"][1:]))
    fastest = min(times["network alone, ONNX Runtime"][1:])  # under load the fastest frames are the steadier measure
    base_cpu = float(np.median(cpu["network alone, ONNX Runtime"][1:]))
    print(format_table(["854x480, fp32", "ms/frame (median)", "x ONNX alone", "fastest frame, x ONNX alone's",
                        "CPU ms (median)", "CPU x ONNX alone"],
                       [[k, float(np.median(v[1:])), float(np.median(v[1:])) / base, min(v[1:]) / fastest,
                         float(np.median(cpu[k][1:])), float(np.median(cpu[k][1:])) / base_cpu]
                        for k, v in times.items()]))


def save_strip(frames: list[tuple], outputs: list[np.ndarray], net: torch.nn.Module, path: Path) -> None:
    """Frame 5 of the first shot (a crop) frame by frame, pixel blend 0.5, steadied inside the network
    0.5 (columns), over its difference with the previous output warped by the true flow (x4)."""
    from PIL import Image

    t, crop = 5, (slice(None), slice(60, 220), slice(200, 440))
    columns = []
    for inside in (None, False, True):
        if inside is None:
            steadied = outputs[: t + 1]
        elif inside:
            steady_net = SteadyStyle(net, DEFAULT_CONSISTENCY)
            steadied = [steady_net(f) for f, _ in frames[: t + 1]]
        else:
            steady = TemporalConsistency(DEFAULT_CONSISTENCY)
            steadied = [steady(f, o) for (f, _), o in zip(frames[: t + 1], outputs[: t + 1], strict=True)]
        prev = warp(np.ascontiguousarray(steadied[t - 1].transpose(1, 2, 0)), frames[t][1]).transpose(2, 0, 1)
        diff = np.clip(np.abs(steadied[t] - prev) * 4, 0, 1)
        columns.append(np.concatenate([steadied[t][crop], diff[crop]], axis=1))
    strip = np.concatenate(columns, axis=2).transpose(1, 2, 0)
    Image.fromarray((np.clip(strip, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path, quality=90)


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=48, help="frames per clip for the speed table")
    parser.add_argument("--shot-frames", type=int, default=16, help="frames per shot of the synthetic clip")
    parser.add_argument("--real-frames", type=int, default=48, help="frames of the real clip")
    parser.add_argument("--real-arbitrary", action="store_true", help="the real clip styled by the any-painting "
                        "network with a held-out painting (`demo.unseen_paintings()[0]`) instead of " + STYLE_MODEL)
    parser.add_argument("--json", action="store_true", help="also write benchmarks/results/video.json")
    parser.add_argument("--skip-speed", action="store_true", help="only the stability tables")
    parser.add_argument("--size", default="854x480", help="frame size of the synthetic clip for stability")
    parser.add_argument("--only-480p", action="store_true", help="speed at 480p only")
    parser.add_argument("--speed-cases", nargs="+", default=["stylize", "restore", "colorize"],
                        help="operations in the speed table")
    parser.add_argument("--cases", nargs="+", default=["stylize", "restore", "colorize"],
                        help="operations in the stability table")
    parser.add_argument("--inside", action=argparse.BooleanOptionalAction, default=True,
                        help="also steady fp32 fast style models inside the network (SteadyStyle)")
    parser.add_argument("--moving", action="store_true",
                        help="also steady fast style models inside the network and blend their pixels where figures "
                             "move on their own (SteadyMoving, `--steady moving`)")
    parser.add_argument("--local", action="store_true",
                        help="also steady fast style models with the grid locked to the smoothed flow (SteadyLocal, "
                             "`--steady local`)")
    parser.add_argument("--local-precision", default="fp32", choices=["fp32", "int8", "bf16"],
                        help="--local: the network's precision inside the local lock (int8: its ONNX halves); the "
                             "ratios stay against the fp32 frame-by-frame output")
    parser.add_argument("--let-go", type=float, default=0.0,
                        help="with --local: SteadyLocal's pixel blend where the lock lets go (let_go); "
                             "with --inside-cost: a row with it")
    parser.add_argument("--let-go-ramp", type=float, nargs=2, default=LET_GO_RAMP, metavar=("LO", "HI"),
                        help="with --let-go: the motion left in the lock (px a frame) where its blend starts, and full")
    parser.add_argument("--local-speed", action="store_true",
                        help="alone: 480p fps and CPU a frame of --runs alternated")
    parser.add_argument("--repeats", type=int, default=3, help="--local-speed: runs of each, alternated")
    parser.add_argument("--runs", nargs="+", default=LOCAL_SPEED_RUNS,
                        help="--local-speed: the runs alternated, as steady:precision[:key every] (the first is the "
                             "ratios' base)")
    parser.add_argument("--inside-cost", action="store_true",
                        help="only the ms per 480p frame of steadying inside the network, against the pixel blend")
    parser.add_argument("--real-precision", default="fp32", choices=["fp32", "int8", "bf16"],
                        help="precision of the style model's frames on the real clip (pixel blend rows)")
    parser.add_argument("--skip-stability", action="store_true", help="only the speed and batching tables")
    parser.add_argument("--breakdown", action="store_true",
                        help="only the 480p CPU breakdown and fps of the fast style model, before/now, fp32/int8")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "int8"], help="model precisions in the breakdown")
    parser.add_argument("--versions", nargs="+", default=["before", "trained form", "now"],
                        help="pipelines in the breakdown (\"x before\" needs before)")
    parser.add_argument("--model-threads", type=int, nargs="+", default=[1, 2],
                        help="ONNX Runtime threads of the model in the breakdown")
    parser.add_argument("--blend", default="bytes", choices=["bytes", "float"],
                        help="the pixel blend in 8 bits, as clips are written (bytes), or in float (numbered frames)")
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.25, 0.4, DEFAULT_CONSISTENCY, 0.75],
                        help="consistency strengths in the stability tables (0 first: the baseline)")
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("Video: speed and temporal consistency", args)
    strengths = tuple(sorted({0.0, *args.strengths}))
    if args.local_speed:
        print(f"## 480p, {STYLE_MODEL}, {args.frames} frames: {', '.join(args.runs)} alternated", flush=True)
        rows = local_speed(args)
        table = []
        for row in rows:
            pixel = next(p for p in rows if p["run"] == row["run"])
            table.append([row["run"], f"{row['steady']} {row['precision']}", row["fps"], row["cpu_ms_per_frame"],
                          row["marginal_fps"], row["marginal_fps"] / pixel["marginal_fps"], row["marginal_cpu_ms"],
                          row["marginal_cpu_ms"] / pixel["marginal_cpu_ms"], f"{row['load']:.2f}"])
        print(format_table(["run", "steady, precision", "fps (whole run)", "CPU ms/frame (whole run)",
                            "marginal fps", "x the first's", "marginal CPU ms/frame", "x the first's",
                            "load"], table))
        return
    if args.inside_cost:
        print("## Cost of steadying inside the network, 480p", flush=True)
        inside_cost(args)
        return
    if args.breakdown:
        print("## 480p: CPU per frame by stage (ms) and fps, decode + model + consistency + encode", flush=True)
        rows = breakdown(args)
        print(breakdown_table(rows))
        if args.json and not args.quick:
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / "video_breakdown.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=1))
        return

    print("## Speed (frames per second, decode + operation + consistency + encode)", flush=True)
    speed_rows = [] if args.skip_speed else speed(args)
    alone = {r["size"]: r["fps"] for r in speed_rows  # the fp32 fast style model alone: the baseline column
             if "stylize" in r["case"] and not any(p in r["case"] for p in ("int8", "bf16")) and r["pipeline"] == "-"}
    print(format_table(["size", "case", "pipeline", "consistency", "frames", "fps", "ms/frame",
                        "x stylize fp32 alone"],
                       [[r["size"], r["case"], r["pipeline"], r["consistency"], r["frames"], r["fps"],
                         r["ms_per_frame"], r["fps"] / alone[r["size"]] if r["size"] in alone else None]
                        for r in speed_rows]))
    print("\n## Batching frames through the fast style model (480p)", flush=True)
    batch_rows = [] if args.skip_speed else batching(args)
    print(format_table(["engine", "batch", "ms/frame"], [[r["engine"], r["batch"], r["ms_per_frame"]]
                                                        for r in batch_rows]))
    if args.skip_stability:
        if args.json and not args.quick:
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / "video_speed.json").write_text(json.dumps({"machine": info, "speed": speed_rows,
                                                                  "batching": batch_rows}, indent=1))
        return

    w, h = map(int, args.size.split("x"))
    size, shots, per_shot = ((427, 240), 2, 6) if args.quick else ((w, h), 3, args.shot_frames)
    print(f"\n## Stability: synthetic pan + zoom, {shots} shots x {per_shot} frames at {size[0]}x{size[1]}",
          flush=True)
    stab_rows = []
    for name, (op_name, params) in CASES.items():
        if not any(c in name for c in args.cases) or ("arbitrary" in name and "arbitrary" not in args.cases):
            continue
        frames = synthetic(size, shots, per_shot, grey=op_name == "colorize")
        op = get_operation(op_name)
        if params.get("method") == "arbitrary":
            from daguerre.demo import unseen_paintings

            params = {**params, "style": [str(unseen_paintings()[0])]}
        outputs = stylized(op, frames, params)
        painting = None
        if op_name == "stylize":
            from daguerre.models.registry import find_model

            path = params["style"][0] if "style" in params else painting_path(find_model(params["model"]))
            painting = load_rgb(path, max(size))[0].numpy()
            if name.startswith("stylize (fast, van-gogh"):
                save_grid(frames, outputs, RESULTS / "video_consistency_grid.jpg", strengths)
        for r in stability(frames, outputs, strengths, op_name in CHROMA_OPERATIONS, painting,
                           blend=args.blend):
            stab_rows.append({"case": name, **r})
        if op_name == "stylize" and args.inside and params.get("precision", "fp32") == "fp32":
            from daguerre.ops import styles

            net = styles.style_model(params["model"])[1]
            for r in stability(frames, outputs, strengths, False, painting, inside=net):
                stab_rows.append({"case": f"{name}, steadied inside the network", **r})
            if name.startswith("stylize (fast, van-gogh"):
                save_strip(frames, outputs, net, RESULTS / "video_steady_inside_strip.jpg")
        if op_name == "stylize" and args.moving and params.get("precision", "fp32") == "fp32":
            from daguerre.ops import styles

            net = styles.style_model(params["model"])[1]
            for r in stability(frames, outputs, strengths, False, painting, inside=net, moving=True):
                stab_rows.append({"case": f"{name}, inside + moving figures", **r})
        if op_name == "stylize" and args.local and params.get("precision", "fp32") == "fp32":
            from daguerre.ops import styles

            net = styles.style_model(params["model"])[1]
            for r in stability(frames, outputs, strengths, False, painting, inside=net, local=True, let_go=args.let_go,
                               ramp=tuple(args.let_go_ramp), halves=local_halves(args, params["model"])):
                let_go = f" + let go {let_go_name(args)}" if args.let_go else ""
                let_go += f", {args.local_precision} halves" if args.local_precision != "fp32" else ""
                stab_rows.append({"case": f"{name}, local lock{let_go}", **r})
        print(f"  {name} done", flush=True)
    headers = ["case", "consistency", "warp err (true flow)", "x frame-by-frame", "warp err (DIS flow)",
               "style dist", "sharpness", "cuts found"]
    table = []
    for r in stab_rows:
        base = next(b for b in stab_rows if b["case"] == r["case"] and b["consistency"] == 0)
        table.append([r["case"], r["consistency"], 1e4 * r["warping_error_true_flow"],
                      r["warping_error_true_flow"] / base["warping_error_true_flow"],
                      1e4 * r["warping_error_estimated_flow"], r.get("style_distance"), r["sharpness_ratio"],
                      f"{r['cuts_detected']} of {shots - 1}"])
    print("(warping errors x 1e4, of the colour planes Cr, Cb only for colorize; style distance to the model's "
          "painting; sharpness relative to consistency 0)")
    print(format_table(headers, table))

    styled = "any painting (held-out 1st)" if args.real_arbitrary else STYLE_MODEL
    print(f"\n## Stability on a real clip: {REAL_CLIP.name}, stylize {styled} {args.real_precision}", flush=True)
    real_rows = real_clip(args, strengths)
    if real_rows:
        base = real_rows[0]["warping_error_estimated_flow"]
        print(format_table(["steadied", "consistency", "warp err (DIS flow) x1e4", "x frame-by-frame",
                            "style dist", "sharpness", "cuts"],
                           [[r.get("steadied", "pixels"), r["consistency"], 1e4 * r["warping_error_estimated_flow"],
                             r["warping_error_estimated_flow"] / base, r["style_distance"], r["sharpness_ratio"],
                             r["cuts_detected"]]
                            for r in real_rows]))
    if args.json and not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "video.json").write_text(json.dumps({"machine": info, "speed": speed_rows, "batching": batch_rows,
                                                        "stability": stab_rows, "real_clip": real_rows}, indent=1))


if __name__ == "__main__":
    main()
