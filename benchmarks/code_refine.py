"""Oracle style codes (issue 12): does the arbitrary model render a painting better from a refined code?

    PYTHONPATH=src .venv/bin/python benchmarks/code_refine.py --threads 1 --steps 25 50 100 --lr 0.05 --json
    PYTHONPATH=src .venv/bin/python benchmarks/code_refine.py --threads 1 --fast --paintings 3 --steps 25 100 --norms
    PYTHONPATH=src .venv/bin/python benchmarks/code_refine.py --quick

TUNING ONLY: training-split paintings (`paintings("train")`, evenly spaced picks) and validation photos
(`photos("validation")`), never held-out ones. For each painting, its predicted code (what `stylize` uses) is
refined by `daguerre.training.code_refine.refine_code` (the network frozen; training photos as contents), and with
`--norms` the norms' scales and shifts themselves (`refine_norms`, the transformer's upper bound). Every code is
scored as `benchmarks/style_quality.py` scores stylize's output (the net, then the palette transfer), on every
validation photo x painting pair at --long-side: colour distance, content LPIPS, Gram distance (VGG19).
`--fast`: the training-split paintings of the fast style models instead, each also run by its own fast model (the
same transformer shape, norms trained for that painting alone on a trunk trained on 12 paintings): what the trunk
shape can reach when its convolutions were trained for the painting.

Ship rule, written before the runs: the refinement setting (steps, lr, content weight, crop) chosen for the held-out
run is the one with the lowest mean Gram distance whose content LPIPS is within +0.01 of the predicted code's and
whose colour distance is within +0.10 of it. If no refined setting lowers the Gram distance by 10 % or more under
those limits, refinement does not help and the transformer is the bottleneck.
Held-out rule, written before the held-out run (2026-12-01 04:30 UTC, after the training-painting run): the chosen
setting is run once by `style_quality.py --paintings unseen ... --refine-steps N`. A `refine` option for stylize is
built only if that row's Gram distance is within 10 % of Magenta's (or below) at content LPIPS <= 0.644 and the grid
shows each painting's texture; otherwise the predictor is not the bottleneck and nothing is shipped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from _common import RESULTS, base_parser, format_table, load_rgb, print_header, set_threads, to_pil


def render(net, code: torch.Tensor, photo: torch.Tensor, style) -> torch.Tensor:
    """As stylize's arbitrary path renders a code: the net (torch), then the palette transfer."""
    from daguerre.imaging.colour import match_palette
    from daguerre.ops.feedforward import run_feedforward
    from daguerre.ops.stylize import _WithCode

    with torch.inference_mode():
        y = run_feedforward(_WithCode(net, code), photo, tile=4096, engine="torch")
        return match_palette(y, style.lab_mean, style.lab_cov).clamp(0, 1)


def fast_model(name: str, photo: torch.Tensor) -> torch.Tensor:
    from daguerre.ops import styles
    from daguerre.ops.feedforward import run_feedforward

    with torch.inference_mode():
        return run_feedforward(styles.style_model(name)[1], photo, tile=4096, engine="torch").clamp(0, 1)


def score(outputs: torch.Tensor, photos: torch.Tensor, painting: torch.Tensor) -> dict[str, np.ndarray]:
    from daguerre.metrics import colour_distance, lpips, style_distance

    return {"colour": np.atleast_1d(colour_distance(outputs, painting.expand(len(outputs), -1, -1, -1))),
            "lpips": np.atleast_1d(lpips(outputs, photos)),
            "gram": np.atleast_1d(style_distance(outputs, painting))}


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--paintings", type=int, default=6, help="training paintings (evenly spaced picks)")
    parser.add_argument("--contents", type=int, default=6, help="validation photos (evenly spaced picks)")
    parser.add_argument("--long-side", type=int, default=320)
    parser.add_argument("--steps", type=int, nargs="+", default=[25, 50, 100], help="scored after these steps")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--content-weight", type=float, default=1.0)
    parser.add_argument("--crop", type=int, default=128, help="photo crop side")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--norms", action="store_true", help="also refine the norms' scales and shifts")
    parser.add_argument("--fast", action="store_true", help="the paintings of the fast style models whose painting "
                        "is in the training split, with a row for each painting's own fast model (the same trunk "
                        "shape, its norms trained 4800 steps for that painting alone)")
    parser.add_argument("--magenta", action="store_true", help="also Magenta's arbitrary model (the peer, as "
                        "style_quality.py runs it) on the same pairs")
    parser.add_argument("--json", nargs="?", const=True, help="write results (default path from the settings)")
    parser.add_argument("--grid", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.paintings, args.contents, args.long_side, args.steps = 1, 1, 128, [2]
    set_threads(args.threads)
    info = print_header("code_refine: oracle codes on training paintings x validation photos", args)

    from daguerre.data import sources
    from daguerre.data.folder import CropSampler
    from daguerre.data.folder import load_rgb as load_short
    from daguerre.nets.vgg16 import load_vgg16
    from daguerre.ops import styles
    from daguerre.training.code_refine import Refinement, refine_code, refine_norms
    from daguerre.training.painting_style import VGG_LAYERS

    tag = (f"{'fast_' if args.fast else ''}{'magenta_' if args.magenta else ''}"
           f"lr{args.lr:g}_cw{args.content_weight:g}_crop{args.crop}_bs{args.batch_size}")
    fast_models: dict[Path, str] = {}
    if args.fast:
        from _common import painting_path, style_models

        fast_models = {painting_path(c): c.name for c in style_models()}
        fast_models = {f: n for f, n in fast_models.items() if not sources.is_held_out(f)}
        paintings = list(fast_models)
        paintings = [paintings[i * len(paintings) // args.paintings] for i in range(min(args.paintings,
                                                                                            len(paintings)))]
    else:
        paintings = sources.paintings("train")
        paintings = [paintings[i * len(paintings) // args.paintings] for i in range(args.paintings)]
    held = sources.photos("validation")
    picks = [held[i * len(held) // args.contents] for i in range(args.contents)]
    print(f"paintings: {', '.join(p.stem for p in paintings)}")
    print(f"photos   : {', '.join(sources.group_of(p) for p in picks)}")
    photos = [load_rgb(p, args.long_side) for p in picks]
    content = CropSampler(sources.photos("train"), 256, max(args.crop, 128), progress=False)
    _, net = styles.painting_style_model()
    vgg = load_vgg16(VGG_LAYERS)
    settings = Refinement(steps=max(args.steps), lr=args.lr, batch_size=args.batch_size, crop=args.crop,
                          content_weight=args.content_weight)
    print(f"settings : {settings}")

    if args.magenta:
        from _common import MagentaArbitrary

        magenta = MagentaArbitrary(args.threads)
    scores: dict[str, dict[str, list[float]]] = {}
    seconds: dict[str, list[float]] = {"code": [], "norms": []}
    grid_rows = []

    def add(name: str, outputs: list[torch.Tensor], painting: torch.Tensor) -> None:
        row = scores.setdefault(name, {"colour": [], "lpips": [], "gram": []})
        for photo, y in zip(photos, outputs, strict=True):
            for k, v in score(y, photo, painting).items():
                row[k] += [float(x) for x in v]

    for i, path in enumerate(paintings):
        style = styles.painting_style(path)
        painting = load_rgb(path, args.long_side)
        source = load_short(path, settings.style_short_side).float()[None] / 255
        cells = [photos[i % len(photos)], painting]
        predicted = [render(net, style.code, x, style) for x in photos]
        add("predicted code", predicted, painting)
        cells.append(predicted[i % len(photos)])
        if args.magenta:
            full = load_rgb(path, 1024)  # the package crops and resizes the painting file itself
            with torch.inference_mode():
                add("peer Magenta arbitrary", [magenta.stylize(x, full).float().clamp(0, 1) for x in photos], painting)
        if path in fast_models:
            own = [fast_model(fast_models[path], x) for x in photos]
            add("the painting's own fast model", own, painting)
        snaps: dict[int, object] = dict.fromkeys(args.steps)
        history: list[float] = []
        start = time.process_time()
        refine_code(net, vgg, source, content, settings, code=style.code, history=history, snapshots=snaps)
        seconds["code"].append(time.process_time() - start)
        print(f"  {path.stem}: code loss {np.mean(history[:10]):.3f} -> {np.mean(history[-10:]):.3f}, "
              f"|code - predicted| {float((snaps[max(args.steps)] - style.code).norm()):.2f}, "
              f"{seconds['code'][-1]:.0f} CPU s", flush=True)
        for n in args.steps:
            outs = [render(net, snaps[n], x, style) for x in photos]
            add(f"refined code, {n} steps", outs, painting)
        cells.append(outs[i % len(photos)])
        if args.norms:
            nets: dict[int, object] = dict.fromkeys(args.steps)
            history = []
            start = time.process_time()
            refine_norms(net, vgg, source, content, settings, code=style.code, history=history, snapshots=nets)
            seconds["norms"].append(time.process_time() - start)
            print(f"  {path.stem}: norms loss {np.mean(history[:10]):.3f} -> {np.mean(history[-10:]):.3f}, "
                  f"{seconds['norms'][-1]:.0f} CPU s", flush=True)
            for n in args.steps:
                outs = [render(nets[n], style.code, x, style) for x in photos]
                add(f"refined norms, {n} steps", outs, painting)
            cells.append(outs[i % len(photos)])
        grid_rows.append(cells)

    base = {k: float(np.mean(v)) for k, v in scores["predicted code"].items()}
    records, rows = [], []
    for name, row in scores.items():
        means = {k: float(np.mean(v)) for k, v in row.items()}
        records.append({"method": name, **means})
        rows.append([name, means["colour"], means["lpips"], means["gram"],
                     f"{100 * (means['gram'] / base['gram'] - 1):+.1f} %"])
    print()
    print(format_table(["codes", "colour dist", "content LPIPS", "style dist", "vs predicted"], rows))
    per_step = {k: float(np.mean(v)) / max(args.steps) for k, v in seconds.items() if v}
    print(f"CPU seconds a refinement step ({args.threads} thread(s), batch {args.batch_size}): {per_step}")
    print(f"Means over {len(paintings)} training paintings x {len(photos)} validation photos, long side "
          f"{args.long_side}; the palette transfer applied as stylize does.")
    name = f"{'quick_' if args.quick else ''}code_refine_{tag}{'_norms' if args.norms else ''}"
    grid = args.grid or RESULTS / f"{name}_grid.png"
    write_grid(grid_rows, grid, ["photo", "painting", "predicted", f"code {max(args.steps)}",
                                 *([f"norms {max(args.steps)}"] if args.norms else [])])
    print(f"wrote {grid}")
    if args.json:
        path = RESULTS / f"{name}.json" if args.json is True else Path(args.json)
        path.write_text(json.dumps({"machine": info, "settings": vars(settings) | {"steps_scored": args.steps},
                                    "paintings": [p.stem for p in paintings], "cpu_s_per_step": per_step,
                                    "methods": records}, indent=2, default=str) + "\n")
        print(f"wrote {path}")


def write_grid(rows: list[list[torch.Tensor]], path: Path, headers: list[str], cell: int = 192) -> None:
    from PIL import Image, ImageDraw

    top = 20
    sheet = Image.new("RGB", (cell * len(headers), top + cell * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, h in enumerate(headers):
        draw.text((c * cell + 4, 4), h, fill="black")
    for r, cells in enumerate(rows):
        for c, image in enumerate(cells):
            thumb = to_pil(image)
            thumb.thumbnail((cell - 4, cell - 4))
            sheet.paste(thumb, (c * cell + (cell - thumb.width) // 2, top + r * cell + 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


if __name__ == "__main__":
    main()
