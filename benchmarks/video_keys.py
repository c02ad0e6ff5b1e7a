"""Video, a key every N frames (`--key-every`, `daguerre.video.inbetween`): the model on every Nth frame, the frames
between made from the keys' outputs along the motion. Both video goals of issue 14 on one setting:

1. Stability (as `video.py`'s tables): the warping error (true and estimated flow) and the Gram style distance to
   the painting, frame by frame, with the default pixel blend (consistency 0.5) and with keys every 2 and 3
   frames (consistency 0.5 and 1: `SETTINGS`), on the held-out pan (3 shots) and on the real clip (Megamind),
   van-gogh-irises int8 (what clips run); the share of frames the model ran on.
2. Speed: `process_clip` on a 480p H.264 clip panning over a held-out photo, the default and `--key-every 2`,
   alternated `--repeats` times in one process, 1 and 2 ONNX Runtime threads: fps and CPU ms a frame.
3. A strip of consecutive Megamind frames (frame by frame | pixel blend | keys every 2 at the default
   consistency), to look at.
4. `--colorize` (alone): colorize on a grey held-out pan, warping error of its colour planes, and its fps.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/video_keys.py [--skip-speed] [--skip-stability] [--quick]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, base_parser, format_table, load_rgb, painting_path, print_header, set_threads  # noqa: E402
from daguerre.metrics import colourfulness  # noqa: E402
from daguerre.ops import get_operation  # noqa: E402
from daguerre.video import DEFAULT_CONSISTENCY, inbetween  # noqa: E402
from daguerre.video.consistency import TemporalConsistency  # noqa: E402
from daguerre.video.inbetween import Inbetween  # noqa: E402
from daguerre.video.run import process_clip  # noqa: E402
from video import STYLE_MODEL, made_between, pan_clip, real_frames, stability, stylized, synthetic  # noqa: E402

SPEED_CASES = [(1, "linear"), (2, "cubic")]  # (key every, the earlier key's resampling)
PARAMS = {"method": "fast", "model": STYLE_MODEL, "tile": 1024, "precision": "int8"}
SETTINGS = [(1, DEFAULT_CONSISTENCY), (2, DEFAULT_CONSISTENCY), (2, 1.0), (3, DEFAULT_CONSISTENCY)]
VARIANTS = [(1, DEFAULT_CONSISTENCY)] + [(2, 0.0, {"lean": lean, "interpolation": i})
                                         for lean, i in ((0.0, "linear"), (0.0, "cubic"), (0.5, "linear"),
                                                         (0.5, "cubic"), (1.0, "linear"), (1.0, "cubic"))]
# (the earlier key resampled as named; the later one linear when lean > 0, as `Inbetween` does)


def steadiness(name: str, frames: list[tuple], painting: np.ndarray, settings: list[tuple]) -> list[dict]:
    """Rows of `stability` for frame by frame (the baseline) and each (key every, consistency[, Inbetween
    options])."""
    outputs = stylized(get_operation("stylize"), frames, PARAMS)
    rows = [{"clip": name, "key_every": 1, **stability(frames, outputs, (0.0,), False, painting)[0]}]
    for every, c, *options in settings:
        extra = options[0] if options else {}
        row = stability(frames, outputs, (c,), False, painting, key_every=every, inbetween=extra)[0]
        label = ", ".join(f"{k} {v}" for k, v in extra.items())
        rows.append({"clip": name, "key_every": every, "options": label, **row})
        print(f"  {name}: key every {every}, consistency {c} {label} done", flush=True)
    return rows


def steadiness_table(rows: list[dict]) -> str:
    table = []
    for r in rows:
        base = next(b for b in rows if b["clip"] == r["clip"] and b["key_every"] == 1 and b["consistency"] == 0)
        true = r["warping_error_true_flow"] / base["warping_error_true_flow"] if r["clip"] != "Megamind" else None
        table.append([r["clip"], r["key_every"], r.get("options", ""), r["consistency"], r["model_share"], true,
                      r["warping_error_estimated_flow"] / base["warping_error_estimated_flow"],
                      100 * (r["style_distance"] / base["style_distance"] - 1), r["sharpness_ratio"]])
    return format_table(["clip", "key every", "in between", "consistency", "model ran on",
                         "warp err x frame-by-frame (true flow)", "x frame-by-frame (DIS flow)", "style dist %",
                         "sharpness"], table)


def speed(args: object) -> list[dict]:
    """fps and CPU a frame of the default pipeline and of keys every 2, alternated in one process."""
    from daguerre.models.onnx import _session
    from daguerre.ops import styles

    n = 12 if args.quick else args.frames
    op = get_operation("stylize")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = pan_clip(Path(tmp) / "480p.mp4", (854, 480), n)
        model = styles.style_model_onnx(STYLE_MODEL, "int8")
        for threads in args.model_threads:
            model.session = _session(str(model.path), threads)
            process_clip(op, clip, Path(tmp) / "warm.mp4", **PARAMS)  # warm-up, not timed
            for repeat in range(args.repeats):
                for every, resampling in SPEED_CASES:
                    inbetween.INTERPOLATION = resampling
                    t0, wall = os.times(), time.perf_counter()
                    process_clip(op, clip, Path(tmp) / "out.mp4", key_every=every, **PARAMS)
                    wall, t1 = time.perf_counter() - wall, os.times()
                    cpu = (t1.user + t1.system + t1.children_user + t1.children_system
                           - t0.user - t0.system - t0.children_user - t0.children_system)
                    rows.append({"model_threads": threads, "repeat": repeat, "key_every": every,
                                 "resampling": resampling if every > 1 else "-", "frames": n,
                                 "fps": n / wall, "cpu_ms_per_frame": 1e3 * cpu / n,
                                 "load": os.getloadavg()[0]})
                    print(f"  threads {threads} run {repeat} key every {every} {resampling}: {n / wall:.2f} fps, "
                          f"{1e3 * cpu / n:.0f} ms CPU a frame", flush=True)
    return rows


def speed_table(rows: list[dict]) -> str:
    table = []
    for r in rows:
        base = next(b for b in rows if b["model_threads"] == r["model_threads"] and b["repeat"] == r["repeat"]
                    and b["key_every"] == 1)
        table.append([r["model_threads"], r["repeat"], r["key_every"], r["resampling"], r["fps"],
                      r["fps"] / base["fps"], r["cpu_ms_per_frame"], r["cpu_ms_per_frame"] / base["cpu_ms_per_frame"],
                      f"{r['load']:.2f}"])
    return format_table(["model threads", "run", "key every", "resampling", "fps", "x default", "CPU ms/frame",
                         "x default", "load"], table)


def save_strip(frames: list[tuple], path: Path, start: int = 20, count: int = 4) -> None:
    """Consecutive frames, one row each: frame by frame | pixel blend 0.5 | keys every 2 (consistency 0.5)."""
    from PIL import Image

    part = frames[start - 1: start + count]
    outputs = stylized(get_operation("stylize"), part, PARAMS)
    steady = TemporalConsistency(DEFAULT_CONSISTENCY)
    blended = [steady(f, o) for (f, _), o in zip(part, outputs, strict=True)]
    keys = made_between(Inbetween(2, lean=1 - DEFAULT_CONSISTENCY), part, outputs)
    rows = [np.concatenate([outputs[i], blended[i], keys[i]], axis=2) for i in range(1, len(part))]
    grid = np.concatenate(rows, axis=1).transpose(1, 2, 0)
    image = Image.fromarray((np.clip(grid, 0, 1) * 255).round().astype(np.uint8))
    image.resize((image.width // 2, image.height // 2), Image.LANCZOS).save(path, quality=85)


def colorize(args: object) -> dict:
    """colorize on grey clips: the warping error of the colour planes (Cr, Cb) on a grey held-out pan, frame by
    frame, with the pixel blend 0.5 and with keys every 2; and the fps of a 480p clip, default and keys every 2,
    alternated."""
    op = get_operation("colorize")
    frames = synthetic((427, 240), 2, 4, grey=True) if args.quick else synthetic((854, 480), 2, 12, grey=True)
    outputs = stylized(op, frames, {})
    rows = [{"setting": "frame by frame", **stability(frames, outputs, (0.0,), True, None)[0]},
            {"setting": "pixel blend 0.5", **stability(frames, outputs, (DEFAULT_CONSISTENCY,), True, None)[0]},
            {"setting": "key every 2, 0.5, no pixel blend after",
             **stability(frames, outputs, (DEFAULT_CONSISTENCY,), True, None, key_every=2)[0]}]
    made = made_between(Inbetween(2, chroma_only=True, lean=1 - DEFAULT_CONSISTENCY), frames, outputs)
    share = rows[-1]["model_share"]
    rows.append({"setting": "key every 2, then the pixel blend 0.5 (process_clip)",
                 **stability(frames, made, (DEFAULT_CONSISTENCY,), True, None)[0], "model_share": share})
    def blended(pictures: list[np.ndarray]) -> list[np.ndarray]:
        steady = TemporalConsistency(DEFAULT_CONSISTENCY, chroma_only=True)
        return [steady(f, p) for (f, _), p in zip(frames, pictures, strict=True)]

    for row, seen in zip(rows, (outputs, blended(outputs), made, blended(made)), strict=True):  # colour kept?
        row["colourfulness"] = float(np.mean([colourfulness(x) for x in seen]))
    speed_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        n = 6 if args.quick else 24
        clip = pan_clip(Path(tmp) / "480p.mp4", (854, 480), n)
        process_clip(op, clip, Path(tmp) / "warm.mp4")  # model load, not timed
        for repeat in range(args.repeats):
            for every in (1, 2):
                t0, wall = os.times(), time.perf_counter()
                process_clip(op, clip, Path(tmp) / "out.mp4", key_every=every)
                wall, t1 = time.perf_counter() - wall, os.times()
                cpu = t1.user + t1.system + t1.children_user + t1.children_system - sum(t0[:4])
                speed_rows.append({"repeat": repeat, "key_every": every, "fps": n / wall,
                                   "cpu_ms_per_frame": 1e3 * cpu / n})
                print(f"  colorize run {repeat} key every {every}: {n / wall:.2f} fps", flush=True)
    base = rows[0]
    print(format_table(["colorize, grey pan", "model ran on", "warp err of Cr, Cb x frame-by-frame (true flow)",
                        "(DIS flow)", "colourfulness"],
                       [[r["setting"], r["model_share"],
                         r["warping_error_true_flow"] / base["warping_error_true_flow"],
                         r["warping_error_estimated_flow"] / base["warping_error_estimated_flow"], r["colourfulness"]]
                        for r in rows]))
    print(format_table(["run", "key every", "fps", "CPU ms/frame"],
                       [[r["repeat"], r["key_every"], r["fps"], r["cpu_ms_per_frame"]] for r in speed_rows]))
    return {"stability": rows, "speed": speed_rows}


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--frames", type=int, default=96, help="frames of the speed clip")
    parser.add_argument("--shot-frames", type=int, default=16, help="frames per shot of the held-out pan")
    parser.add_argument("--real-frames", type=int, default=48, help="frames of the real clip")
    parser.add_argument("--repeats", type=int, default=3, help="speed: runs of each, alternated")
    parser.add_argument("--model-threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-stability", action="store_true")
    parser.add_argument("--variants", action="store_true", help="stability of the in-between options (`VARIANTS`)")
    parser.add_argument("--colorize", action="store_true", help="only colorize's stability and speed (`colorize`)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and the strip")
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("Video: a key every N frames", args)
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict = {"machine": info}
    if args.colorize:
        result["colorize"] = colorize(args)
        (args.out / "video_keys_colorize.json").write_text(json.dumps(result, indent=1))
        return
    if not args.skip_stability:
        from daguerre.models.registry import find_model

        pan = synthetic((427, 240), 2, 6) if args.quick else synthetic((854, 480), 3, args.shot_frames)
        real = real_frames(8 if args.quick else args.real_frames)
        rows = []
        for name, frames in (("held-out pan", pan), ("Megamind", real)):
            painting = load_rgb(painting_path(find_model(STYLE_MODEL)), max(frames[0][0].shape[1:]))[0].numpy()
            rows += steadiness(name, frames, painting, VARIANTS if args.variants else SETTINGS[:3] if args.quick
                               else SETTINGS)
        print("\n## Stability (int8 van-gogh-irises; ratios to frame by frame in the same run)")
        print(steadiness_table(rows))
        result["stability"] = rows
        if not args.quick and not args.variants:
            save_strip(real, args.out / "video_keys_strip.jpg")
    if not args.skip_speed:
        print("\n## Speed: 480p clip through process_clip, int8, consistency 0.5", flush=True)
        rows = speed(args)
        print(speed_table(rows))
        result["speed"] = rows
    (args.out / "video_keys.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
