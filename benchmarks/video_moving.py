"""Temporal stability on clips with figures moving on their own, built from TRAINING-split photos only: for
tuning how moving figures are steadied (`benchmarks/video.py` measures the held-out pan and the real clip).

Each clip: a camera pan and zoom over one training photo, with three elliptical cut-outs of other training
photos moving independently across it (one rotating, one growing), plus film grain; the true flow and the
occlusions are known. Warping error (true flow, valid pixels) and Gram style distance (every 3rd frame) of the
steadied output, relative to frame-by-frame output.

    PYTHONPATH=src .venv/bin/python benchmarks/video_moving.py [--clips 2] [--frames 8]

`--actors`: fast actors over dark flat backgrounds (`actors_clip`). The rule that chooses `SteadyLocal`'s
`let_go` setting on them, written before the runs that apply it: each local method is placed against the local
lock's strength curve (the "local:0.3" and "local:0.5" rows, linear in warping ratio): how many points of style
distance it saves against the strength that reaches its warping ratio ("under the curve"). The setting furthest
under the curve on the actors clips is chosen, within 0.5 point the cheaper one (the higher ramp: fewer pixels
blended), provided that on the layered, fast and zoom-pan clips it is no worse than local 0.3 + let_go 0.3 (ramp
0.5-2 px) by more than 0.01 in warping ratio and 0.5 point of style. (Its runs, before `let_go_ramp` was split
from `ramp`, which then set both: "let_go=0.3:ramp=1,3" there is "let_go=0.3:let_go_ramp=1,3" now.)

`--precision int8`: the steadied-inside methods run the int8 network's two halves (`onnx_halves`), the ratios
still against the fp32 network's frame-by-frame output (as every figure before), and also against the int8
network's own (after "int8:"). The rule for `--steady local --precision int8` with the cheaper step, written
before its runs: local 0.3 (let_go 0.3, ramp 1-3 px: the defaults) within 0.01 of warping ratio and 0.5 point of
style distance of the fp32 figures recorded for it on the layered, the fast and the zoom-pan clips (x0.34 /
+4.1 %, x0.58 / +12.0 %, x0.19 / +3.2 %), each; the fp32 run of the same code in the same session beside it.
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import load_rgb, painting_path  # noqa: E402
from daguerre.data.sources import photos  # noqa: E402
from daguerre.imaging import load  # noqa: E402
from daguerre.metrics import style_distance, warping_error  # noqa: E402
from daguerre.models.registry import build, find_model  # noqa: E402
from daguerre.video.consistency import TemporalConsistency  # noqa: E402
from daguerre.video.flow import warp  # noqa: E402
from daguerre.video.steady_local import SteadyLocal  # noqa: E402
from daguerre.video.steady_moving import MOVING_RAMP, SteadyMoving  # noqa: E402
from daguerre.video.steady_style import SteadyStyle  # noqa: E402
from daguerre.video.synthetic import CameraMove, Figure, moving_frames  # noqa: E402


def training_photos(n: int, skip: int = 5) -> list[np.ndarray]:
    """`n` training-split photos at least 1000 px wide (after the first `skip`), as (3, H, W)."""
    wide = (p.rgb() for p in (load(f) for f in photos("train", graphics=False)[skip:]) if p.size[0] >= 1000)
    return list(islice(wide, n))


def moving_clip(pictures: list[np.ndarray], size: tuple[int, int], frames: int, seed: int,
                grain: float = 0.02, count: int = 3, camera: CameraMove | None = None) -> list[tuple]:
    """[(frame, true flow or None, valid mask or None)]: a pan over pictures[0], three figures cut from the others."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    figures = []
    for i, photo in enumerate(pictures[1:4]):
        if i >= count:
            rng.uniform(size=6)  # the same draws, so the camera is the same without the figures
            continue
        rgb = np.ascontiguousarray(photo.transpose(1, 2, 0))
        small = cv2.resize(rgb, (400, round(400 * photo.shape[1] / photo.shape[2])), interpolation=cv2.INTER_AREA)
        small = small.transpose(2, 0, 1)
        speed = rng.uniform(3, 9) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        start = (rng.uniform(0.25, 0.75) * w - speed[0] * frames / 2, rng.uniform(0.3, 0.7) * h - speed[1] * frames / 2)
        figures.append(Figure(small, (rng.uniform(45, 80), rng.uniform(35, 60)), start, tuple(speed),
                              spin=0.03 if i == 0 else 0.0, grow=0.015 if i == 1 else 0.0))
    move = CameraMove(pan=(rng.uniform(-4, 4), rng.uniform(-1.5, 1.5)), zoom=rng.uniform(0, 0.005))
    move = camera or move
    return list(moving_frames(pictures[0], figures, size, frames, move, grain=grain, seed=seed))


def layered_clip(pictures: list[np.ndarray], size: tuple[int, int], frames: int, seed: int,
                 grain: float = 0.005, dark: float = 2.0) -> list[tuple]:
    """[(frame, true flow or None, valid mask or None)] like a shot of a film with actors: a slow camera (under a
    pixel a frame, with a slight zoom in or out and roll) over pictures[0], two large figures from the others
    moving slowly on their own and deforming (a head turning), one in front of the other; darkened (each
    photo to the power `dark`) and lightly grained."""
    import cv2

    rng = np.random.default_rng(1000 + seed)
    w, h = size
    pictures = [np.power(p, dark, dtype=np.float32) for p in pictures]
    figures = []
    for i, photo in enumerate(pictures[1:3]):
        rgb = np.ascontiguousarray(photo.transpose(1, 2, 0))
        small = cv2.resize(rgb, (480, round(480 * photo.shape[1] / photo.shape[2])), interpolation=cv2.INTER_AREA)
        speed = rng.uniform(0.3, 2.0) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        radius = (rng.uniform(70, 110), rng.uniform(90, 150)) if i == 0 else (rng.uniform(50, 80), rng.uniform(50, 80))
        start = (rng.uniform(0.3, 0.7) * w, rng.uniform(0.4, 0.7) * h)
        figures.append(Figure(small.transpose(2, 0, 1), radius, start, tuple(speed), spin=rng.uniform(-0.01, 0.01),
                              grow=rng.uniform(-0.005, 0.005), wobble=rng.uniform(1, 3)))
    move = CameraMove(pan=(rng.uniform(-1, 1), rng.uniform(-0.5, 0.5)), zoom=rng.uniform(-0.003, 0.003),
                      turn=rng.uniform(-0.002, 0.002))
    return list(moving_frames(pictures[0], figures, size, frames, move, grain=grain, seed=seed))


def actors_clip(pictures: list[np.ndarray], size: tuple[int, int], frames: int, seed: int,
                grain: float = 0.002) -> list[tuple]:
    """[(frame, true flow or None, valid mask or None)] like a cartoon shot with fast actors: a dark, nearly flat
    background (a dark colour with a faint, much blurred shade of pictures[0]; grain σ 0.002, frames in 8 bits)
    under a still or slowly panning camera, and one (even seeds) or two textured figures cut from the others
    crossing it 3-8 px a frame, turning, growing or shrinking and deforming (a head turning), so they uncover
    flat background as they go."""
    import cv2

    rng = np.random.default_rng(2000 + seed)
    w, h = size
    shade = cv2.GaussianBlur(np.ascontiguousarray(pictures[0].transpose(1, 2, 0)), (0, 0), 25)
    base = rng.uniform(0.03, 0.15, 3).astype(np.float32)
    background = (base + 0.08 * (shade - shade.mean((0, 1)))).clip(0, 1).transpose(2, 0, 1)
    figures = []
    for i, photo in enumerate(pictures[1 : 2 + seed % 2]):
        rgb = np.ascontiguousarray(photo.transpose(1, 2, 0))
        small = cv2.resize(rgb, (480, round(480 * photo.shape[1] / photo.shape[2])), interpolation=cv2.INTER_AREA)
        speed = rng.uniform(3, 8) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a) * 0.5])
        radius = ((rng.uniform(55, 90), rng.uniform(75, 130)) if i == 0 else
                  (rng.uniform(40, 65), rng.uniform(45, 75)))
        start = (rng.uniform(0.35, 0.65) * w - speed[0] * frames / 2,
                 rng.uniform(0.4, 0.65) * h - speed[1] * frames / 2)
        figures.append(Figure(small.transpose(2, 0, 1), radius, start, tuple(speed), spin=rng.uniform(-0.02, 0.02),
                              grow=rng.uniform(-0.01, 0.01), wobble=rng.uniform(1, 3)))
    still = rng.uniform() < 0.5
    move = CameraMove(pan=(0.0, 0.0) if still else (rng.uniform(-0.8, 0.8), rng.uniform(-0.3, 0.3)), zoom=0.0)
    return [(np.round(f * 255) / np.float32(255), flow, valid)  # 8-bit frames, as a decoded clip's
            for f, flow, valid in moving_frames(background, figures, size, frames, move, grain=grain, seed=seed)]


def steadier(method: str, net: torch.nn.Module, halves: tuple | None = None) -> object:
    """A method by name: "pixels:S" (`TemporalConsistency`), "inside:S" (`SteadyStyle`),
    "moving:S:M[:STILL[:LO:HI]]" (`SteadyMoving`; "whole:..." without the sub-pixel lock) or
    "local:S:M[:STILL[:SMOOTH[:LEAK[:INTERPOLATION[:FLOW_SIZE[:REACH[:COARSE[:LET_GO]]]]]]]]" (`SteadyLocal`; any
    of them also as NAME=VALUE, e.g. "local:0.3:let_go=0.3:let_go_ramp=1,3")."""
    kind, *values = method.split(":")
    if kind == "local":
        names = ("strength", "moving", "still", "smooth", "leak", "interpolation", "flow_size", "reach", "coarse",
                 "let_go")
        named = dict(v.split("=", 1) for v in values if "=" in v)  # or NAME=VALUE, e.g. local:0.3:let_go=0.3
        kw = {k: x if k == "interpolation" else int(x) if k in ("flow_size", "coarse") else
              tuple(map(float, x.split(","))) if k.endswith("ramp") else float(x)
              for k, x in [*zip(names, [v for v in values if "=" not in v], strict=False), *named.items()]}
        return SteadyLocal(net, **kw, halves=halves)
    v = [float(x) for x in values]
    if kind == "pixels":
        return TemporalConsistency(v[0])
    if kind == "inside":
        return SteadyStyle(net, v[0], halves=halves)
    if kind in ("moving", "whole"):  # whole: the grid locked in whole pixels only, as SteadyStyle
        ramp = (v[3], v[4]) if len(v) > 4 else MOVING_RAMP
        return SteadyMoving(net, v[0], v[1], v[2] if len(v) > 2 else 0.0, ramp, halves=halves,
                            subpixel=kind == "moving")
    raise ValueError(f"unknown method {method!r}")


def measure(clip: list[tuple], steadied: list[np.ndarray], painting: np.ndarray | None,
            ) -> tuple[float, float, float, float]:
    """(mean warping error with the true flow on valid pixels, mean style distance of every 3rd frame, and the
    warping error on the figures and on the scene: pixels whose flow departs from the median by more or less
    than 1 px)."""
    errors, parts = [], []
    for t in range(1, len(clip)):
        _, flow, valid = clip[t]
        if flow is None or valid is None:
            continue
        prev = np.ascontiguousarray(steadied[t - 1].transpose(1, 2, 0))
        pair = np.stack([steadied[t - 1], steadied[t]])
        warped = warp(prev, flow).transpose(2, 0, 1)[None]
        errors.append(warping_error(pair, warped, valid[None, None]))
        own = np.sqrt(np.square(flow - np.median(flow.reshape(-1, 2), axis=0)).sum(-1)) > 1
        parts.append([warping_error(pair, warped, (valid * m)[None, None]) if (valid * m).any() else np.nan
                      for m in (own, ~own)])
    style = float(np.mean(style_distance(np.stack(steadied[1::3]), painting))) if painting is not None else 0.0
    figures, scene = np.mean(parts, axis=0)
    return float(np.mean(errors)), style, float(figures), float(scene)


def under_curve(means: dict[str, np.ndarray], method: str) -> str:
    """For a local method measured after "local:0.3" and "local:0.5": the points of style distance it lies under
    the line through them (warping ratio against style change), as the module's choice rule reads it."""
    if not method.startswith("local:") or method in ("local:0.3", "local:0.5") or not {
            "local:0.3", "local:0.5"} <= means.keys():
        return ""
    (w3, s3), (w5, s5), (w, s) = means["local:0.3"][:2], means["local:0.5"][:2], means[method][:2]
    curve = s3 + (s5 - s3) * (w - w3) / (w5 - w3)  # the strength curve's style change at this warping ratio
    return f"  under the curve {100 * (curve - s):+.1f} points"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--models", nargs="+", default=["van-gogh-irises"])
    parser.add_argument("--methods", nargs="+", default=["pixels:0.25", "pixels:0.5", "inside:0.5"])
    parser.add_argument("--grain", type=float, default=0.02, help="film grain std added to each frame")
    parser.add_argument("--figures", type=int, default=3, help="figures per clip (0: the camera's pan alone)")
    parser.add_argument("--layered", action="store_true",
                        help="clips like a film shot with actors (`layered_clip`) instead of fast cut-outs")
    parser.add_argument("--actors", action="store_true",
                        help="clips of fast actors over dark flat backgrounds (`actors_clip`)")
    parser.add_argument("--camera", type=float, nargs=3, help="pan x, pan y (px/frame), zoom: instead of random")
    parser.add_argument("--save", help="write frame 4 of the first clip (inputs and outputs) under this folder")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8"],
                        help="int8: the steadied-inside methods run the int8 network's halves (ONNX Runtime)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    w, h = map(int, args.size.split("x"))
    pictures = training_photos(4 * args.clips)
    camera = CameraMove(tuple(args.camera[:2]), args.camera[2]) if args.camera else None
    if args.actors:
        clips = [actors_clip(pictures[4 * i : 4 * i + 3], (w, h), args.frames, i) for i in range(args.clips)]
    elif args.layered:
        clips = [layered_clip(pictures[4 * i : 4 * i + 3], (w, h), args.frames, i) for i in range(args.clips)]
    else:
        clips = [moving_clip(pictures[4 * i : 4 * i + 4], (w, h), args.frames, i, args.grain, args.figures, camera)
                 for i in range(args.clips)]
    if args.save:
        from PIL import Image

        Path(args.save).mkdir(parents=True, exist_ok=True)
        for i, clip in enumerate(clips):
            strip = np.concatenate([clip[3][0], clip[4][0], np.repeat(clip[4][2][None], 3, 0)], axis=2)
            Image.fromarray((strip.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)).save(f"{args.save}/clip{i}.png")
    for name in args.models:
        net = build(find_model(name))
        painting = load_rgb(painting_path(find_model(name)), max(w, h))[0].numpy()
        with torch.inference_mode():
            outputs = [[net(torch.from_numpy(f)[None])[0].numpy() for f, _, _ in clip] for clip in clips]
        base = [measure(c, o, painting) for c, o in zip(clips, outputs, strict=True)]
        halves, base8 = None, None
        if args.precision == "int8":
            from daguerre.ops import styles
            from daguerre.video.steady_style import onnx_halves

            halves = onnx_halves(find_model(name), net, "int8")
            whole = styles.style_model_onnx(name, "int8")
            with torch.inference_mode():
                own = [[whole(torch.from_numpy(f)[None])[0].numpy() for f, _, _ in clip] for clip in clips]
            base8 = [measure(c, o, painting) for c, o in zip(clips, own, strict=True)]
        means: dict[str, np.ndarray] = {}
        for method in args.methods:
            rows, own_rows = [], []
            for i, (clip, out, (err0, style0, fig0, scene0)) in enumerate(zip(clips, outputs, base, strict=True)):
                steady = steadier(method, net, halves)
                if isinstance(steady, TemporalConsistency):
                    steadied = [steady(f, o) for (f, _, _), o in zip(clip, out, strict=True)]
                else:
                    steadied = [steady(f) for f, _, _ in clip]
                err, style, fig, scene = measure(clip, steadied, painting)
                rows.append((err / err0, style / style0 - 1, fig / fig0, scene / scene0))
                if base8 is not None:
                    own_rows.append((err / base8[i][0], style / base8[i][1] - 1))
            per = "  ".join(f"x{e:.2f}/{s:+.1%}" for e, s, _, _ in rows)
            mean = np.mean(rows, axis=0)
            means[method] = mean
            own = "  int8: x{:.3f} / {:+.2%} of int8's own".format(*np.mean(own_rows, axis=0)) if own_rows else ""
            print(f"{name:20s} {method:28s} warp x{mean[0]:.3f} style {mean[1]:+.2%} figures x{mean[2]:.2f} "
                  f"scene x{mean[3]:.2f}  ({per}){under_curve(means, method)}{own}", flush=True)
        if args.save:
            from PIL import Image

            Image.fromarray((outputs[0][4].transpose(1, 2, 0).clip(0, 1) * 255 + 0.5).astype(np.uint8)).save(
                f"{args.save}/{name}-frame4.png")


if __name__ == "__main__":
    main()
