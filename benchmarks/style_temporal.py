"""Temporal stability of fast style networks on a pan over TRAINING-split photos: for tuning a temporal loss.

The held-out pan of benchmarks/video.py gives the final figures; this one may be looked at while choosing weights.
Shipped van-gogh-irises and seurat-grande-jatte against the same styles cut from training checkpoints of
recipes/met-styles-temporal.toml: warping error (true flow) and Gram style distance at consistency 0 and 0.5,
relative to the shipped model's frame-by-frame output, and at 0.5 relative to the model's own.

    PYTHONPATH=src .venv/bin/python benchmarks/style_temporal.py runs/met-styles-temporal/checkpoint.pt [...]
    PYTHONPATH=src .venv/bin/python benchmarks/style_temporal.py --inside   # steadied inside the network
    PYTHONPATH=src .venv/bin/python benchmarks/style_temporal.py --one-style run/ckpt-0300.pt [...] [--png DIR]

`--one-style`: checkpoints of a ONE-style recipe (recipes/<name>-temporal.toml), each with the pixel blend at every
consistency of ONE_STYLE_STRENGTHS, warping error and style distance relative to the SHIPPED model's
frame-by-frame output on the same pan; then on VALIDATION-split photos the card's style-distance ratio (output's
distance to the painting / the photo's, as training/card_metrics.py) and the colour distance to the painting
(as style_colour.py), against the shipped model's. The ship rule on training/validation (written before the runs):
a checkpoint PASSES if some consistency c gives warping <= x0.5 of the shipped frame-by-frame at a style distance
within +-5 % of it, AND its validation style-distance ratio and colour distance are each <= x1.05 the shipped
model's; of the passing checkpoints and strengths the lowest c is chosen (then the earliest step). `--png DIR`
writes shipped | checkpoint side by side (a pan frame and two validation photos) to look at texture.
`--blur S` / `--dark F`: the same pan blurred by a Gaussian of S px / its frames times F (proxies, on training
photos, for a held-out clip's flat or dark areas: `--blur 3` reproduced the Megamind failure, `--dark 0.3` did not).
`--anchor A[,A...] [--anchor-sigma S]` (issue 14, "an anchor that moves with the scene"): a fixed smooth noise
field (white noise Gaussian-filtered by S px, default 1.5, normalised to std 1, times A, the same on R, G and B) added
to the pan's SOURCE canvas before the frames are cut, so it moves with the scene exactly and the true flow is
unchanged (with `--blur`, the canvas is blurred first and the noise added after). Alone: the SHIPPED models on the
anchored pan at each A, against their frame-by-frame output on the same pan without noise (`--png DIR`: crops of
frame 3, no noise | each A). With `--one-style` (one A): the checkpoints see the anchored pan, the shipped model
the pan without noise; the validation photos and `--png` stills get the anchor field at identity coordinates.
The ship rule for checkpoints trained with the anchor (recipes/<name>-anchor.toml; written before their runs were
measured): measured at the trained A, both `--one-style --anchor A` (plain pan) and `--one-style --anchor A --blur 3`
must PASS at a common c (warping <= x0.5 of the shipped model's frame-by-frame output WITHOUT noise, at style within
+-5 % of it, on each pan), with the validation card/colour rule above; the lowest such c, then the earliest step.
On the pictures (`--png`, shipped | checkpoint, blurred pan and validation photos) flat areas must keep strokes.
`--cards FOLDER` (DAGUERRE_MODELS unset): the HELD-OUT card metrics (training/card_metrics.py, as
scripts/ship_models.py writes them) of the style models exported to FOLDER, beside the shipped cards' (for the one
final measurement).
"""

from __future__ import annotations

import json
import sys
import tempfile
from itertools import islice
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import video  # noqa: E402
from _common import load_rgb, painting_path  # noqa: E402
from daguerre.data.sources import photos  # noqa: E402
from daguerre.imaging import load  # noqa: E402
from daguerre.models.registry import build, find_model  # noqa: E402
from daguerre.nets.style_net import StyleNet  # noqa: E402
from daguerre.training import common  # noqa: E402

STYLES = ("van-gogh-irises", "seurat-grande-jatte")
ONE_STYLE_STRENGTHS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
WARP_GOAL, STYLE_BAND, CARD_BAND = 0.5, 0.05, 1.05  # the ship rule (module doc), fixed before the runs
VALIDATION_PHOTOS = 6
DARK: float | None = None  # --dark F: the pan's frames times F
BLUR: float | None = None  # --blur S: the pan's frames blurred by a Gaussian of S px
ANCHOR: tuple[float, ...] = ()  # --anchor A[,A...]: smooth noise of std A added to the pan's source canvas
ANCHOR_SIGMA = 1.5  # --anchor-sigma S: its Gaussian filter (px of the canvas, which is at the frames' scale)


def _flat(frame: np.ndarray) -> np.ndarray:
    import cv2

    if not BLUR:
        return frame
    return np.ascontiguousarray(cv2.GaussianBlur(frame.transpose(1, 2, 0), (0, 0), BLUR).transpose(2, 0, 1))


def training_pan(shots: int = 2, frames: int = 8, size: tuple[int, int] = (640, 360),
                 canvas: object = None) -> list[tuple]:
    """A pan over training-split photos at least 1000 px wide (skipping the first 5); `canvas`: applied to each
    scaled photo before its frames are cut (video.panned_frames)."""
    wide = (p.rgb() for p in (load(f) for f in photos("train", graphics=False)[5:]) if p.size[0] >= 1000)
    return [pair for photo in islice(wide, shots) for pair in video.panned_frames(photo, size, frames, canvas=canvas)]


def smooth_noise(h: int, w: int, sigma: float, seed: int = 0) -> np.ndarray:
    """(h, w) float32: white noise Gaussian-filtered by `sigma` px, normalised to std 1 (the anchor's field)."""
    import cv2

    white = np.random.default_rng(seed).standard_normal((h, w)).astype(np.float32)
    field = cv2.GaussianBlur(white, (0, 0), sigma)
    return (field - field.mean()) / field.std()


def anchored_canvas(amount: float):
    """The canvas hook of the anchored pan: blurred by BLUR (if set), then the anchor field times `amount` added."""
    import cv2

    def canvas(img: np.ndarray) -> np.ndarray:
        if BLUR:
            img = cv2.GaussianBlur(img, (0, 0), BLUR)
        if amount:
            img = img + amount * smooth_noise(*img.shape[:2], ANCHOR_SIGMA)[..., None]
        return img

    return canvas


def anchored_pan(amount: float) -> list[tuple]:
    """The training pan (darkened by DARK, blurred by BLUR on its canvas) with the anchor at `amount`."""
    return [(f * np.float32(DARK or 1), flow) for f, flow in training_pan(canvas=anchored_canvas(amount))]


def anchored_shipped(clean: list[tuple], png: Path | None) -> None:
    """The shipped models on the pan with the anchor at each A of ANCHOR, against their output without it."""
    from PIL import Image

    for name in STYLES:
        net = build(find_model(name)).eval()
        painting = load_rgb(painting_path(find_model(name)), 640)[0].numpy()
        base = None
        crops = []
        for amount in (0.0, *ANCHOR):
            frames = clean if not amount else anchored_pan(amount)
            with torch.inference_mode():
                outputs = [net(torch.from_numpy(f)[None])[0].numpy() for f, _ in frames]
            rows = video.stability(frames, outputs, (0.0, 0.5), False, painting)
            base = base or rows[0]
            err, style = base["warping_error_true_flow"], base["style_distance"]
            print(f"{name:20s} anchor {amount:<5} sigma {ANCHOR_SIGMA}: " + " ".join(
                f"c{r['consistency']}: warp x{r['warping_error_true_flow'] / err:.3f} "
                f"style {r['style_distance'] / style - 1:+.1%} sharpness {r['sharpness_ratio']:.2f}" for r in rows)
                + f" | warping {rows[0]['warping_error_true_flow'] * 1e4:.2f}e-4 style {rows[0]['style_distance']:.0f}",
                flush=True)
            crops.append(np.concatenate([frames[3][0][:, :192, :256], outputs[3][:, :192, :256]], 1))
        if png:
            png.mkdir(parents=True, exist_ok=True)
            grid = np.clip(np.concatenate(crops, 2), 0, 1).transpose(1, 2, 0)
            Image.fromarray((grid * 255 + 0.5).astype(np.uint8)).save(
                png / f"anchor-{name}{'-blur' + str(BLUR) if BLUR else ''}.png")


def inside(frames: list[tuple]) -> None:
    """The shipped models steadied inside the network (`SteadyStyle`) at several strengths, on the training pan."""
    for name in STYLES:
        net = build(find_model(name))
        with torch.inference_mode():
            outputs = [net(torch.from_numpy(f)[None])[0].numpy() for f, _ in frames]
        painting = load_rgb(painting_path(find_model(name)), 640)[0].numpy()
        rows = video.stability(frames, outputs, (0.0, 0.3, 0.5, 0.7), False, painting, inside=net)
        for r in rows[1:]:
            print(f"{name:20s} inside {r['consistency']}: warp x"
                  f"{r['warping_error_true_flow'] / rows[0]['warping_error_true_flow']:.2f} style "
                  f"{r['style_distance'] / rows[0]['style_distance'] - 1:+.1%} sharpness {r['sharpness_ratio']:.2f}")


def validation_figures(net: torch.nn.Module, name: str) -> dict[str, float]:
    """Card style-distance ratio (256 px, card_metrics) and colour distance (384 px, style_colour) on validation."""
    from daguerre.metrics import colour_distance
    from daguerre.training.card_metrics import SIZE, style_metrics

    files = photos("validation")
    files = [files[i * len(files) // VALIDATION_PHOTOS] for i in range(VALIDATION_PHOTOS)]
    card = find_model(name)
    small = [load_rgb(f, SIZE) for f in files]
    ratio = style_metrics(card, net, load_rgb(painting_path(card), SIZE), small, "validation")
    painting = load_rgb(painting_path(card), 512)[0]
    colour = []
    with torch.inference_mode():
        for f in files:
            x = load_rgb(f, 384)
            colour.append(colour_distance(net(x)[0], painting))
    return {"style_ratio": ratio["validation_style_distance_ratio"], "colour": float(np.mean(colour))}


def side_by_side(nets: list[torch.nn.Module], frame: np.ndarray, path: Path) -> None:
    """Crops of the nets' outputs of `frame` side by side, at full resolution."""
    from PIL import Image

    x = torch.from_numpy(frame)[None]
    with torch.inference_mode():
        tiles = [net(x)[0, :, :256, :320].numpy() for net in nets]
    grid = np.concatenate(tiles, axis=2).transpose(1, 2, 0)
    Image.fromarray((np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)


class Anchored(torch.nn.Module):
    """`net` fed its input plus the anchor field at identity coordinates (a still's anchor): `amount` times
    smooth_noise of the input's size, clamped to [0, 1]."""

    def __init__(self, net: torch.nn.Module, amount: float):
        super().__init__()
        self.net, self.amount = net, amount

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.from_numpy(smooth_noise(*x.shape[-2:], ANCHOR_SIGMA))
        return self.net((x + self.amount * noise).clamp(0, 1))


def one_style(checkpoints: list[str], frames: list[tuple], png: Path | None,
              anchored: list[tuple] | None = None) -> None:
    """The ship rule's figures (module doc) for one-style checkpoints, each against the shipped model; `anchored`:
    the same pan with the anchor, which the checkpoints see (the shipped model sees `frames`)."""
    x = torch.from_numpy(np.stack([f for f, _ in frames]))
    xa = x if anchored is None else torch.from_numpy(np.stack([f for f, _ in anchored]))
    shipped: dict[str, tuple] = {}
    for checkpoint in checkpoints:
        state = common.load_checkpoint(Path(checkpoint))
        recipe = state["recipe"]
        if len(recipe["styles"]) != 1:
            raise SystemExit(f"{checkpoint}: {len(recipe['styles'])} styles, --one-style wants one")
        name = recipe["styles"][0]["name"]
        net = StyleNet(1, tuple(recipe["widths"]), recipe["n_residual"])
        net.load_state_dict(state["generator"])
        net = net.single_style(0).eval()
        still = Anchored(net, ANCHOR[0]).eval() if ANCHOR else net  # validation photos, pictures
        painting = load_rgb(painting_path(find_model(name)), 640)[0].numpy()
        if name not in shipped:
            ref = build(find_model(name)).eval()
            variant = f"{DARK or ''}{'b' + str(BLUR) if BLUR else ''}{'c' if ANCHOR else ''}"  # another pan
            cache = Path(tempfile.gettempdir()) / f"style_temporal-{find_model(name).sha256[:16]}{variant}.json"
            if cache.is_file():  # the shipped model's figures are deterministic: measured once per model
                rows, ref_val = json.loads(cache.read_text())
            else:
                with torch.inference_mode():
                    outputs = [ref(x[i : i + 1])[0].numpy() for i in range(len(x))]
                rows = video.stability(frames, outputs, ONE_STYLE_STRENGTHS, False, painting)
                ref_val = validation_figures(ref, name)
                cache.write_text(json.dumps([rows, ref_val]))
            shipped[name] = (ref, rows[0], ref_val)
            base = rows[0]
            print(f"{'shipped':28s} {name:20s} " + " ".join(
                f"c{r['consistency']}: x{r['warping_error_true_flow'] / base['warping_error_true_flow']:.2f}"
                f"/{r['style_distance'] / base['style_distance'] - 1:+.1%}" for r in rows)
                + f" | validation style ratio {shipped[name][2]['style_ratio']:.4f} colour "
                  f"{shipped[name][2]['colour']:.3f}", flush=True)
        ref, base, ref_val = shipped[name]
        with torch.inference_mode():
            outputs = [net(xa[i : i + 1])[0].numpy() for i in range(len(xa))]
        rows = video.stability(anchored or frames, outputs, ONE_STYLE_STRENGTHS, False, painting)
        val = validation_figures(still, name)
        err, style = base["warping_error_true_flow"], base["style_distance"]
        ok = [r["consistency"] for r in rows if r["warping_error_true_flow"] / err <= WARP_GOAL
              and abs(r["style_distance"] / style - 1) <= STYLE_BAND]
        card_ok = (val["style_ratio"] <= CARD_BAND * ref_val["style_ratio"]
                   and val["colour"] <= CARD_BAND * ref_val["colour"])
        verdict = f"PASS at c={min(ok)} (passing c: {ok})" if ok and card_ok else (
            "fails: " + ("" if ok else "no c meets warp/style; ") + ("" if card_ok else "validation card/colour"))
        tag = f"{Path(checkpoint).name}@{state['step']}"
        print(f"{tag:28s} {name:20s} " + " ".join(
            f"c{r['consistency']}: x{r['warping_error_true_flow'] / err:.2f}/{r['style_distance'] / style - 1:+.1%}"
            for r in rows) + f" | validation style ratio x{val['style_ratio'] / ref_val['style_ratio']:.3f} "
            f"colour x{val['colour'] / ref_val['colour']:.3f} | {verdict}", flush=True)
        if png:
            png.mkdir(parents=True, exist_ok=True)
            files = photos("validation")
            for i, frame in enumerate([frames[3][0], *(load_rgb(files[k * len(files) // 3], 640)[0].numpy()
                                                       for k in (0, 1))]):
                side_by_side([ref, still], frame, png / f"{name}-{state['step']:04d}-{i}.png")


def cards(folder: Path) -> None:
    """Held-out card metrics of the models in `folder` against the shipped cards' figures."""
    from daguerre.models.card import ModelCard
    from daguerre.training import card_metrics
    from daguerre.video.anchor import anchored_net

    held = card_metrics.heldout_photos()
    for card_file in sorted(folder.glob("*.json")):
        card = ModelCard.load(card_file)
        painting = load_rgb(painting_path(card), card_metrics.SIZE)
        new = card_metrics.style_metrics(card, anchored_net(card, build(card)), painting, held)  # as stills run
        old = find_model(card.name).metrics
        print(f"{card.name:20s} held-out style distance ratio {new['heldout_style_distance_ratio']:.4f} "
              f"(shipped card {old['heldout_style_distance_ratio']:.4f}, "
              f"x{new['heldout_style_distance_ratio'] / old['heldout_style_distance_ratio']:.3f}) content LPIPS "
              f"{new['heldout_content_lpips']:.4f} (shipped {old['heldout_content_lpips']:.4f}) | {json.dumps(new)}")


def main() -> None:
    torch.set_num_threads(1)
    if sys.argv[1:2] == ["--cards"]:
        cards(Path(sys.argv[2]))
        return
    global DARK
    if "--dark" in sys.argv:  # the same pan darkened (a night scene's proxy on training photos)
        k = sys.argv.index("--dark")
        DARK, sys.argv[k : k + 2] = float(sys.argv[k + 1]), []
    global BLUR
    if "--blur" in sys.argv:  # the same pan blurred (flat, untextured areas: a cartoon's proxy on training photos)
        k = sys.argv.index("--blur")
        BLUR, sys.argv[k : k + 2] = float(sys.argv[k + 1]), []
    global ANCHOR, ANCHOR_SIGMA
    if "--anchor-sigma" in sys.argv:
        k = sys.argv.index("--anchor-sigma")
        ANCHOR_SIGMA, sys.argv[k : k + 2] = float(sys.argv[k + 1]), []
    if "--anchor" in sys.argv:  # smooth noise on the pan's source canvas, moving with the scene
        k = sys.argv.index("--anchor")
        ANCHOR, sys.argv[k : k + 2] = tuple(float(a) for a in sys.argv[k + 1].split(",")), []
    global ONE_STYLE_STRENGTHS
    if "--strengths" in sys.argv:  # --one-style's consistency strengths, comma-separated (e.g. 0: the net alone)
        k = sys.argv.index("--strengths")
        ONE_STYLE_STRENGTHS, sys.argv[k : k + 2] = tuple(float(c) for c in sys.argv[k + 1].split(",")), []
    png = None
    if "--png" in sys.argv:
        k = sys.argv.index("--png")
        png, sys.argv[k : k + 2] = Path(sys.argv[k + 1]), []
    if ANCHOR:  # the blur on the canvas, so that the noise added after it is not blurred
        frames = anchored_pan(0.0)
    else:
        frames = [(_flat(f) * np.float32(DARK or 1), flow) for f, flow in training_pan()]
    if sys.argv[1:2] == ["--one-style"]:
        anchored = None
        if ANCHOR:
            if len(ANCHOR) != 1:
                raise SystemExit("--one-style takes one --anchor A")
            anchored = anchored_pan(ANCHOR[0])
        one_style(sys.argv[2:], frames, png, anchored)
        return
    if ANCHOR and len(sys.argv) == 1:
        anchored_shipped(frames, png)
        return
    if sys.argv[1:] == ["--inside"]:
        inside(frames)
        return
    x = torch.from_numpy(np.stack([f for f, _ in frames]))
    nets = {("shipped", name): build(find_model(name)) for name in STYLES}
    for checkpoint in sys.argv[1:]:
        state = common.load_checkpoint(Path(checkpoint))
        recipe = state["recipe"]
        net = StyleNet(len(recipe["styles"]), tuple(recipe["widths"]), recipe["n_residual"])
        net.load_state_dict(state["generator"])
        names = [s["name"] for s in recipe["styles"]]
        for name in STYLES:
            nets[(f"{checkpoint}@{state['step']}", name)] = net.single_style(names.index(name)).eval()
    rows = {}
    for (tag, name), net in nets.items():
        with torch.inference_mode():
            outputs = [net(x[i : i + 1])[0].numpy() for i in range(len(x))]
        painting = load_rgb(painting_path(find_model(name)), 640)[0].numpy()
        rows[tag, name] = video.stability(frames, outputs, (0.0, 0.5), False, painting)
    for (tag, name), (still, steady) in rows.items():
        base = rows["shipped", name][0]
        err, style = base["warping_error_true_flow"], base["style_distance"]
        print(f"{tag:40s} {name:20s} consistency 0: warp x{still['warping_error_true_flow'] / err:.2f} "
              f"style {still['style_distance'] / style - 1:+.1%} | "
              f"0.5: warp x{steady['warping_error_true_flow'] / err:.2f} "
              f"style {steady['style_distance'] / still['style_distance'] - 1:+.1%} of its own")


if __name__ == "__main__":
    main()
