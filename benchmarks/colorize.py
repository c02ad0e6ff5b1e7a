"""Colorize benchmark (issue 17): automatic, reference and hint colorization on held-out photographs.

Photos: `daguerre.data.sources.photos("heldout", graphics=False)` with colour (mean Lab chroma >= 8, as training),
never trained or tuned on, read at short side --size (256, as training). Each photo is cut in two halves along its
long side: the *target* is the first half, given as its BT.601 luma (grey); the truth is its colour.
- automatic: grey (no colour); the old `colorize-photos` model (a U-Net conditional GAN, from git commit
  OLD_COMMIT); ours without reference or hints.
- reference, overlapping: the reference is a crop of the same size shifted by a quarter of the photo (it shares
  half the target's pixels); disjoint: the reference is the other half (no shared pixel). Training-free baseline:
  VGG16 relu3_3 + relu4_3 matching with softmax attention carrying the reference's ab over (`nets.correspondence`,
  the same matching ours is given), no network; ours: `colorize(reference=...)`.
- 10 hints: points drawn uniformly (seeded per photo), each with the truth's mean colour over 3 x 3 px as
  #RRGGBB. Naive baseline: each hint's ab spread by a Gaussian in position (sigma 15% of the long side) and
  lightness (sigma 10 L*), normalised (`ops.colorize.propagate_hints`); ours: `colorize(hints=...)` (the same
  kernel times the hints' similarity in VGG feature space, edge-aware, at a quarter of the working size).
Metrics: colourfulness (Hasler & Suesstrunk 2003), chroma error (mean |ab - ab_true|, CIELAB), LPIPS (VGG), the
chroma error as a fraction of grey's (ratio of the means); FID / KID (Inception-v3 pool features) of the automatic
rows against the colour targets (few photos: read them as a ranking, not as absolute figures).
Speed: `colorize` at 1 MP and 24 MP (grey), each in a fresh process at --threads threads; seconds (wall and the
process's CPU time, which a shared machine's load does not inflate as much) per output MP and peak RSS (VmHWM).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/colorize.py [--quick] [--models DIR]
Writes benchmarks/results/colorize.json and colorize_grid.jpg (quick_ prefixed with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from _common import RESULTS, base_parser, format_table, print_header, set_threads

OLD_COMMIT = "96fab54"  # the last commit shipping the U-Net colorize-photos model
MIN_CHROMA = 8.0
HINTS = 10
Image = np.ndarray  # (3,H,W) float32 in [0,1]
BANK_BEFORE = {"BANK_REGION": 0, "BANK_ANNEALED_T": 0.6, "BANK_GAIN": 1.8}  # the bank's readout until 2026-11-30
# the photo vote, tried (grid colorize_vote_grid.jpg): `--set BANK_VOTE=4 BANK_ANNEALED_T=0.35 BANK_GAIN=2`


@dataclass
class Case:
    name: str
    truth: Image
    grey: Image  # (3,H,W) luma on three channels
    overlap: Image  # reference sharing half the pixels
    disjoint: Image  # reference sharing none
    hints: list[str] = field(default_factory=list)


@dataclass
class Row:
    name: str
    run: Callable[[Case], Image]
    scores: dict[str, list[float]] = field(default_factory=dict)
    outputs: list[Image] = field(default_factory=list)

    def mean(self, key: str) -> float:
        return float(np.mean(self.scores[key]))


def t(x: Image) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]


def luma3(x: Image) -> Image:
    from daguerre.imaging import Picture

    return np.repeat(Picture(x).luminance()[None], 3, 0)


def chroma(x: Image) -> float:
    from daguerre.imaging.lab import AB_SCALE, lab_split

    return float(lab_split(t(x))[1].norm(dim=1).mean()) * AB_SCALE


def hex_hints(truth: Image, rng: np.random.Generator) -> list[str]:
    _, h, w = truth.shape
    out = []
    for _ in range(HINTS):
        y, x = int(rng.integers(1, h - 1)), int(rng.integers(1, w - 1))
        r, g, b = (truth[:, y - 1 : y + 2, x - 1 : x + 2].mean((1, 2)) * 255 + 0.5).astype(int)
        out.append(f"{x},{y},#{r:02x}{g:02x}{b:02x}")
    return out


def cases(args: argparse.Namespace) -> tuple[list[Case], list[str]]:
    from daguerre.data.folder import load_rgb
    from daguerre.data.sources import group_of, photos, require_photo_sources

    require_photo_sources("benchmarks/colorize.py")
    out, skipped = [], []
    for i, path in enumerate(photos(getattr(args, "split", "heldout"), graphics=False)[: args.n]):
        x = load_rgb(path, args.size).float().numpy() / 255
        if chroma(x) < MIN_CHROMA:
            skipped.append(group_of(path))
            continue
        wide = x.shape[2] >= x.shape[1]
        y = x if wide else x.transpose(0, 2, 1)
        half = y.shape[2] // 2
        parts = [y[:, :, :half], y[:, :, half // 2 : half // 2 + half], y[:, :, half : 2 * half]]
        truth, overlap, disjoint = (np.ascontiguousarray(p if wide else p.transpose(0, 2, 1)) for p in parts)
        case = Case(group_of(path), truth, luma3(truth), overlap, disjoint)
        case.hints = hex_hints(truth, np.random.default_rng(i))
        out.append(case)
    return out, skipped


def compose(grey: Image, ab: torch.Tensor) -> Image:
    """The grey's luma under chroma ab (1,2,h,w), upsampled to the grey's size."""
    from daguerre.imaging.lab import lab_merge, lab_split, with_luma

    g = t(grey)
    ab = F.interpolate(ab, size=g.shape[-2:], mode="bilinear", align_corners=False)
    return with_luma(lab_merge(lab_split(g)[0], ab), g[:, :1])[0].numpy()


def old_model(folder: Path) -> Callable[[Case], Image]:
    """The U-Net colorize-photos model of OLD_COMMIT, run as its operation did (L at 384 px -> ab)."""
    from daguerre.imaging import run_tiled
    from daguerre.imaging.colour import downscale
    from daguerre.imaging.lab import lab_split
    from daguerre.models.card import ModelCard
    from daguerre.models.registry import build

    root = Path(__file__).parents[1]
    for ext in ("json", "safetensors"):
        blob = subprocess.run(["git", "-C", str(root), "show", f"{OLD_COMMIT}:src/daguerre/models/weights/"
                               f"colorize-photos.{ext}"], capture_output=True, check=True).stdout
        (folder / f"colorize-photos.{ext}").write_bytes(blob)
    card = ModelCard.load(folder / "colorize-photos.json")
    net = build(card)

    def run(case: Case) -> Image:
        lightness, _ = lab_split(downscale(t(case.grey), 384))
        overlap = min(4 * net.receptive_radius, 1024 // 3 // net.multiple * net.multiple)
        return compose(case.grey, run_tiled(net, lightness, tile=1024, overlap=overlap, multiple=net.multiple))

    return run


def ours(model: str | None, source: str | None = None, settings: dict | None = None,
         **params: object) -> Callable[[Case], Image]:
    """`colorize` as shipped, or with its automatic colour from `source` (`ops.colorize.AUTO_SOURCE`), or with
    other `settings` of `ops.colorize` (name: value)."""
    from daguerre.imaging import Picture
    from daguerre.ops import colorize as ops
    from daguerre.ops import get_operation

    op = get_operation("colorize")
    changes = {**({"AUTO_SOURCE": source} if source else {}), **(settings or {})}

    def run(case: Case) -> Image:
        shipped = {name: getattr(ops, name) for name in changes}
        try:
            for name, value in changes.items():
                setattr(ops, name, value)
            return run_as_shipped(case)
        finally:
            for name, value in shipped.items():
                setattr(ops, name, value)

    def run_as_shipped(case: Case) -> Image:
        extra = {"model": model, **params}
        if "reference" in extra:
            extra["reference"] = [Picture(getattr(case, str(extra["reference"])))]
        if extra.pop("hints", False):
            extra["hints"] = case.hints
        return op.run(Picture(case.grey), **extra).rgb()

    return run


def first_hints(run: Callable[[Case], Image], k: int) -> Callable[[Case], Image]:
    """`run` given only the first k of each photo's hints."""
    return lambda case: run(replace(case, hints=case.hints[:k]))


def matching_baseline(which: str) -> Callable[[Case], Image]:
    """VGG feature matching + softmax carrying the reference's ab over; no network."""
    from daguerre.imaging import Picture
    from daguerre.imaging.lab import lab_split
    from daguerre.nets.correspondence import grey_features, match_keys, reference_colour
    from daguerre.ops.colorize import RENDER_SIZE, reference_keys, working

    def run(case: Case) -> Image:
        lightness, _ = lab_split(working(t(case.grey), RENDER_SIZE))
        size = (lightness.shape[-2] // 4, lightness.shape[-1] // 4)
        ref = reference_colour(match_keys(*grey_features(lightness)), size,
                               [reference_keys(Picture(getattr(case, which)), RENDER_SIZE)])
        return compose(case.grey, ref[:, :2])

    return run


def naive_hints(case: Case) -> Image:
    """Each hint's ab spread by a Gaussian in position and lightness, normalised (`ops.colorize.propagate_hints`),
    at the photo's full size."""
    from daguerre.imaging.lab import lab_split
    from daguerre.ops.colorize import propagate_hints

    g = t(case.grey)
    return compose(case.grey, propagate_hints(lab_split(g)[0], case.hints, g.shape[-2:]))


def score(rows: list[Row], data: list[Case], grid_rows: int) -> None:
    from daguerre.metrics import chroma_error, colourfulness, lpips

    for k, case in enumerate(data):
        for row in rows:
            with torch.inference_mode():
                out = np.clip(row.run(case), 0, 1).astype(np.float32)
            for key, value in (("colourfulness", colourfulness(out)), ("chroma_error", chroma_error(out, case.truth)),
                               ("lpips", lpips(out, case.truth))):
                row.scores.setdefault(key, []).append(float(value))
            if k < grid_rows or row.name in ("grey", "old colorize-photos", "truth") or "automatic" in row.name:
                row.outputs.append(out)
        print(f"  {k + 1}/{len(data)} {case.name}", flush=True)


def distribution(rows: list[Row], truth: list[Image]) -> dict[str, dict[str, float]]:
    from daguerre.metrics import fid, kid
    from daguerre.nets.inception import inception_features

    def feats(images: list[Image]) -> np.ndarray:
        side = min(min(x.shape[1:]) for x in images)
        crops = torch.stack([torch.from_numpy(x[:, :side, :side]) for x in images])
        return inception_features(crops)

    real = feats(truth)
    return {r.name: {"fid": float(fid(feats(r.outputs), real)), "kid": float(kid(feats(r.outputs), real))}
            for r in rows}


SPEED = r"""
import json, sys, time, torch
spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
from daguerre.imaging import Picture
from daguerre.ops import get_operation
from daguerre.data.folder import load_rgb
import numpy as np, torch.nn.functional as F
x = load_rgb(spec["photo"], 256).float()[None] / 255
grey = F.interpolate(x.mean(1, keepdim=True), size=tuple(spec["size"]), mode="bilinear")[0].numpy()
params = {"model": spec["model"], **({"reference": [spec["photo"]]} if spec["reference"] else {})}
if spec.get("source"):
    import daguerre.ops.colorize as ops
    ops.AUTO_SOURCE = spec["source"]
op = get_operation("colorize")
op.run(Picture(grey[:, :64, :64]), **params)  # build the model and VGG once
start, cpu = time.perf_counter(), time.process_time()
op.run(Picture(grey), **params)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0] / 1024
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak}))
"""


def speed(args: argparse.Namespace, photo: Path) -> list[dict]:
    """Each case in a fresh process; with --baseline-src, the code under that folder (e.g. `git archive` of an
    older commit) times the same case just before, so both see the same machine load."""
    cases_ = [((1000, 1000), False, None), ((1000, 1000), True, None), ((2000, 2000), False, None),
              ((4000, 6000), False, None)]
    if args.sources:  # the automatic colour from each source, at 1 MP
        cases_ = [((1000, 1000), False, source) for source in args.sources]
    codes = [("baseline", str(args.baseline_src.resolve()))] if args.baseline_src else []
    codes.append(("this", str(Path(__file__).parents[1] / "src")))
    out = []
    for size, reference, source in cases_:
        for code, src in codes:
            spec = {"model": args.model, "size": size, "reference": reference, "threads": args.threads,
                    "photo": str(photo), "source": source}
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
                   "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
            done = subprocess.run([sys.executable, "-c", SPEED, json.dumps(spec)], capture_output=True, text=True,
                                  env=env)
            if done.returncode:
                raise RuntimeError(done.stderr[-2000:])
            r = json.loads(done.stdout.strip().splitlines()[-1])
            mp = size[0] * size[1] / 1e6
            case = f"{size[1]}x{size[0]}{' + reference' if reference else ''}{f' ({source})' if source else ''}"
            out.append({"code": code, "case": case,
                        "megapixels": mp, "seconds": r["seconds"], "s_per_mp": r["seconds"] / mp,
                        "cpu_s_per_mp": r["cpu_seconds"] / mp, "peak_mb": r["peak_mb"],
                        "load_average": os.getloadavg()[0]})
            print(f"  {out[-1]}", flush=True)
    return out


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, help="held-out photos (default all; 4 with --quick)")
    parser.add_argument("--size", type=int, default=256, help="photos' short side in px (default 256)")
    parser.add_argument("--grid-rows", type=int, default=6)
    parser.add_argument("--models", type=Path, help="folder of models put first in DAGUERRE_MODELS")
    parser.add_argument("--model", help="colorize model to measure (default: the first installed)")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="only the speed rows (written to "
                        "colorize_speed_<threads>t.json)")
    parser.add_argument("--baseline-src", type=Path, help="a src folder of older code timed alongside (speed)")
    parser.add_argument("--automatic-only", action="store_true", help="only grey, old, ours automatic and truth "
                        "(no goals, grid or JSON: to compare two models' automatic colour)")
    parser.add_argument("--guided-only", action="store_true", help="only the reference and hint rows, alone and "
                        "together (no goals or grid; results/colorize_guided.json)")
    parser.add_argument("--sources", nargs="*", help="with --speed-only: time the automatic colour from these "
                        "sources (`ops.colorize.AUTO_SOURCE`: net, bank, ...) at 1 MP instead")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--set", nargs="*", default=[], help="`ops.colorize` constants for this run, e.g. "
                        "BANK_GAIN=2.8 (a bank from --models read out at its own tuned gain)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.grid_rows = args.n or 4, min(args.grid_rows, 2)
    if args.models:
        os.environ["DAGUERRE_MODELS"] = os.pathsep.join([str(args.models), os.environ.get("DAGUERRE_MODELS", "")])
    set_threads(args.threads)
    info = print_header("Colorize benchmark (issue 17)", args)
    from daguerre.ops import colorize as ops
    from daguerre.ops.task_models import task_model

    for item in args.set:
        name, value = item.split("=")
        setattr(ops, name, type(getattr(ops, name))(value))
    card, _ = task_model("colorize", args.model)
    print(f"ours: {card.name} ({card.path}, sha256 {card.sha256[:16]}, {card.training.get('steps')} steps)\n")
    if args.speed_only:
        args.model = card.name
        timing = speed(args, Path(__file__).parents[1] / "src/daguerre/samples/coffee.jpg")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"colorize_speed_{args.threads}t.json").write_text(json.dumps({"machine": info, "speed": timing},
                                                                                   indent=1))
        return
    data, skipped = cases(args)
    with tempfile.TemporaryDirectory() as tmp:
        old = old_model(Path(tmp))
        rows = [Row("grey", lambda c: c.grey), Row("old colorize-photos", old), Row("ours automatic", ours(card.name)),
                Row("automatic: net alone", ours(card.name, source="net")),
                Row("automatic: colour bank before", ours(card.name, source="bank", settings=BANK_BEFORE)),
                Row("automatic: colour bank", ours(card.name, source="bank")),
                Row("overlap: matching baseline", matching_baseline("overlap")),
                Row("overlap: ours", ours(card.name, reference="overlap")),
                Row("disjoint: matching baseline", matching_baseline("disjoint")),
                Row("disjoint: ours", ours(card.name, reference="disjoint")),
                Row(f"{HINTS} hints: naive propagation", naive_hints),
                Row(f"{HINTS} hints: ours", ours(card.name, hints=True)),
                Row(f"overlap + {HINTS} hints: ours", ours(card.name, reference="overlap", hints=True)),
                Row(f"disjoint + {HINTS} hints: ours", ours(card.name, reference="disjoint", hints=True)),
                Row("1 hint: ours", first_hints(ours(card.name, hints=True), 1)),
                Row("3 hints: ours", first_hints(ours(card.name, hints=True), 3)),
                Row("truth", lambda c: c.truth)]
        if args.automatic_only:
            rows = [r for r in rows if r.name in ("grey", "old colorize-photos", "ours automatic", "truth")
                    or r.name.startswith("automatic:")]
        elif args.guided_only:
            rows = [r for r in rows if r.name in ("grey", "truth") or "hint" in r.name or r.name.endswith(": ours")]
        score(rows, data, args.grid_rows)
        dist = distribution([r for r in rows if "automatic" in r.name or r.name in ("grey", "old colorize-photos")],
                            [c.truth for c in data])
    grey_err = rows[0].mean("chroma_error")
    table = [[r.name, r.mean("colourfulness"), r.mean("chroma_error"), r.mean("chroma_error") / grey_err,
              r.mean("lpips"), dist.get(r.name, {}).get("fid"), dist.get(r.name, {}).get("kid")] for r in rows]
    print()
    print(format_table(["method", "colourfulness", "chroma err", "/ grey's", "LPIPS", "FID", "KID"], table))
    print(f"{len(data)} held-out colour photos ({', '.join(skipped) or 'none'} skipped as nearly grey)")
    m = {r.name: r for r in rows}
    if args.guided_only:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "colorize_guided.json").write_text(json.dumps(
            {"machine": info, "photos": len(data), "rows": [{"method": r.name, "mean": {k: r.mean(k) for k in r.scores},
                                                             "per_photo": r.scores} for r in rows]}, indent=1))
        return
    if args.automatic_only:
        args.out.mkdir(parents=True, exist_ok=True)
        grid(args.out / "colorize_automatic_grid.jpg", data, m,
             ["grey", *(r.name for r in rows if r.name.startswith("automatic:")), "truth"])
        return
    def err(name: str) -> float:
        return m[name].mean("chroma_error")

    hints = f"{HINTS} hints"
    goals = {
        "automatic colourfulness >= 70% of truth's": m["ours automatic"].mean("colourfulness")
        >= 0.7 * m["truth"].mean("colourfulness"),
        "automatic chroma error below grey's": err("ours automatic") < grey_err,
        "automatic LPIPS below grey's": m["ours automatic"].mean("lpips") < rows[0].mean("lpips"),
        "overlap <= 25% of grey's and beats baseline": err("overlap: ours") <= 0.25 * grey_err
        and err("overlap: ours") < err("overlap: matching baseline"),
        "disjoint <= 45% of grey's and beats baseline": err("disjoint: ours") <= 0.45 * grey_err
        and err("disjoint: ours") < err("disjoint: matching baseline"),
        "10 hints <= 35% of grey's and beats naive": err(f"{hints}: ours") <= 0.35 * grey_err
        and err(f"{hints}: ours") < err(f"{hints}: naive propagation"),
    }
    for goal, ok in goals.items():
        print(f"  {'met    ' if ok else 'NOT met'}  {goal}")
    args.model = card.name
    timing = [] if args.no_speed or args.quick else speed(args, Path(__file__).parents[1] / "src/daguerre/samples"
                                                                / "coffee.jpg")
    prefix = "quick_" if args.quick else ""
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"machine": info, "model": {"name": card.name, "sha256": card.sha256, "steps": card.training.get("steps")},
              "photos": len(data), "skipped_grey": skipped, "distribution": dist, "goals": goals, "speed": timing,
              "rows": [{"method": r.name, "mean": {k: r.mean(k) for k in r.scores}, "per_photo": r.scores}
                       for r in rows]}
    (args.out / f"{prefix}colorize.json").write_text(json.dumps(record, indent=1))
    grid(args.out / f"{prefix}colorize_grid.jpg", data[: args.grid_rows], m)


def grid(path: Path, data: list[Case], m: dict[str, Row], names: list[str] | None = None) -> None:
    """grey | old | automatic | overlap reference | ours | disjoint reference | ours | hints (dots) | truth, or the
    rows `names`."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    from daguerre.ops.colorize import parse_hint

    names = names or ["grey", "old colorize-photos", "ours automatic", "(overlap reference)", "overlap: ours",
                      "(disjoint reference)", "disjoint: ours", f"{HINTS} hints: ours", "truth"]
    cell = 8 + max(max(c.truth.shape[1:]) for c in data)
    sheet = PILImage.new("RGB", (cell * len(names), 18 + cell * len(data)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, name in enumerate(names):
        draw.text((j * cell + 4, 4), name.replace(" colorize-photos", ""), fill="black")
    for i, case in enumerate(data):
        for j, name in enumerate(names):
            x = case.overlap if name.startswith("(overlap") else case.disjoint if name.startswith("(disjoint") \
                else m[name].outputs[i]
            tile = PILImage.fromarray((x.transpose(1, 2, 0).clip(0, 1) * 255 + 0.5).astype(np.uint8))
            if "hints" in name:
                d = ImageDraw.Draw(tile)
                for hint in case.hints:
                    hx, hy, colour = parse_hint(hint)
                    fill = tuple(int(v * 255 + 0.5) for v in colour)
                    d.ellipse((hx - 3, hy - 3, hx + 3, hy + 3), fill=fill, outline="white")
            sheet.paste(tile, (j * cell + 4, 18 + i * cell))
    sheet.save(path, quality=80, optimize=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
