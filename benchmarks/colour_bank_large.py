"""A large collection's colour bank: the shortlist search (`ColourBank.shortlisted`) against the exact one.

The collection: the other halves of the split's photos (the *same scenes* of `colorize_collection.py`: which half
goes with which target is not given) among several hundred other colour photos (the training photos whole and
their four quarters, each a photo of its own), about ten times the photos of the shipped bank. Each target, its
half given grey, is coloured automatically from that bank: searched whole, and on the shortlisted photos with the
settings given. The banks are made once through `api.train_colour_bank` (the other photos first, then the halves
added on top: the same entries as one bank of both) and kept in `--work` for a later run or the speed script.
Rows: grey, the shipped bank, the halves alone (a small collection), the large bank exact and shortlisted, truth;
colourfulness, chroma error (and as a fraction of grey's), LPIPS, and the CPU time of the bank's lookup.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/colour_bank_large.py --split validation [--shortlists 64:4 32:4]
Writes benchmarks/results/colour_bank_large_<split>.json (and a grid with --grid-rows). `--others-per-photo 100`:
the other photos with fewer entries than the halves (a collection of unequal photos; `_<split>-100.json`).

`--speed K...` (after a run has made the banks): the CPU time of colorize at 1 MP (coffee's grey) with the shipped
bank, the large bank and stand-ins of K times its collection (its photos' entries repeated with a little noise as
new photos), each searched whole and shortlisted, alternating in one process; the median of three rounds after a
warm-up, with the lookup's own share.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

import colorize as bench
from _common import RESULTS, base_parser, format_table, print_header, set_threads

EXACT = {"BANK_SHORTLIST_FROM": 10**9}


def save(x: np.ndarray, path: Path) -> None:
    Image.fromarray((x.transpose(1, 2, 0).clip(0, 1) * 255 + 0.5).astype(np.uint8)).save(path)


def other_photos(folder: Path, size: int) -> int:
    """The training photos whole and their four quarters, as PNG files in `folder` (made once); their count."""
    from daguerre.data.folder import load_rgb
    from daguerre.data.sources import photos

    if not folder.exists():
        tmp = folder.with_suffix(".part")
        tmp.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(photos("train", graphics=False)):
            whole = load_rgb(path, 2 * size).float().numpy() / 255
            save(whole, tmp / f"{i:03d}.png")
            h, w = whole.shape[1:]
            for q, (y, x) in enumerate(((0, 0), (0, w // 2), (h // 2, 0), (h // 2, w // 2))):
                save(whole[:, y : y + h // 2, x : x + w // 2], tmp / f"{i:03d}-{q}.png")
        tmp.rename(folder)
    return len(list(folder.glob("*.png")))


def stand_in(bank, times: int, first: int, seed: int = 0):
    """`bank` with its collection (photos from `first`) repeated `times` times, each copy's keys moved by a little
    noise and given new photo indices: a stand-in for a collection `times` as large."""
    import torch
    import torch.nn.functional as F

    from daguerre.nets.colour_bank import ColourBank

    state = bank.state_dict()
    mine = state["photo"] >= first
    n = int(state["photo"].max()) + 1 - first
    g = torch.Generator().manual_seed(seed)
    extra = {k: [v] for k, v in state.items()}
    for r in range(1, times):
        keys = state["keys"][mine].float()
        extra["keys"].append(F.normalize(keys + 0.05 * torch.randn(keys.shape, generator=g), dim=1).half())
        extra["photo"].append(state["photo"][mine] + r * n)
        for k in ("ab", "lightness", "source"):
            extra[k].append(state[k][mine])
    out = {k: torch.cat(v) if k in ("keys", "ab", "lightness", "photo", "source") else state[k]
           for k, v in extra.items()}
    copy = ColourBank(**{**bank.config, "entries": len(out["keys"])})
    copy.load_state_dict(out)
    return copy.eval()


def speed(args, times: list[int]) -> None:
    """CPU s of colorize at 1 MP: shipped, the large bank and its stand-ins, exact and shortlisted."""
    import torch
    import torch.nn.functional as F

    from daguerre.data.folder import load_rgb
    from daguerre.imaging import Picture
    from daguerre.ops import colorize as ops
    from daguerre.ops import get_operation

    shipped = ops.colour_bank()[1]
    large = ops.colour_bank(None, f"large-{args.split}")[1]
    first = int(shipped.photo.max()) + 1
    banks = {"shipped": shipped, **{f"x{t}": large if t == 1 else stand_in(large, t, first) for t in times}}
    coffee = load_rgb(Path(__file__).parents[1] / "src/daguerre/samples/coffee.jpg", 1000).float()[None] / 255
    x = F.interpolate(coffee, size=(1000, 1000), mode="area")[0].numpy()
    grey = Picture(np.repeat(Picture(x).luminance()[None], 3, 0))
    op = get_operation("colorize")
    modes = ("exact", "shortlist", *(f"shortlist:{n}" for n in args.speed_per_photo or []))
    runs = [(name, mode) for name in banks for mode in (modes if name != "shipped" else ("-",))]
    total: dict = {r: [] for r in runs}
    lookup: dict = {r: [] for r in runs}
    original, find, per_photo = ops.bank_distribution, ops.colour_bank, ops.BANK_SHORTLIST_PER_PHOTO
    for rep in range(4):
        for name, mode in runs:
            bank = banks[name]
            ops.colour_bank = lambda card=None, wanted=None, bank=bank: (None, bank)
            ops.BANK_SHORTLIST_FROM = 10**9 if mode == "exact" else 150
            ops.BANK_SHORTLIST_PER_PHOTO = int(mode.split(":")[1]) if ":" in mode else per_photo
            spent = []

            def distribution(*a, spent=spent):
                t = time.process_time()
                out = original(*a)
                spent.append(time.process_time() - t)
                return out

            ops.bank_distribution = distribution
            t = time.process_time()
            with torch.inference_mode():
                op.run(grey)
            if rep:
                total[(name, mode)].append(time.process_time() - t)
                lookup[(name, mode)].append(sum(spent))
    ops.bank_distribution, ops.colour_bank, ops.BANK_SHORTLIST_PER_PHOTO = original, find, per_photo
    table = [[name, int(banks[name].photo.max()) + 1, len(banks[name].keys), mode,
              float(np.median(total[(name, mode)])), float(np.median(lookup[(name, mode)]))] for name, mode in runs]
    print(format_table(["bank", "photos", "entries", "search", "CPU s at 1 MP", "of which the lookup"], table))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "colour_bank_large_speed.json").write_text(json.dumps(
        {"rows": [dict(zip(["bank", "photos", "entries", "search", "cpu_s", "lookup_s"], r, strict=True))
                  for r in table]}, indent=1))


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--split", default="validation", help="validation (to choose) or heldout (to report)")
    parser.add_argument("--n", type=int, help="photos of the split (default all)")
    parser.add_argument("--size", type=int, default=256, help="photos' short side in px (default 256)")
    parser.add_argument("--shortlists", nargs="*", default=["64:4"],
                        help="PHOTOS:EVERY[:PER_PHOTO] settings to measure (PER_PHOTO: entries of each photo the "
                             "first pass searches, 0 all)")
    parser.add_argument("--speed-per-photo", type=int, nargs="*",
                        help="--speed: also time the shortlist with these entries a photo in its first pass")
    parser.add_argument("--others-per-photo", type=int, default=400,
                        help="entries of each other photo (default 400, as the halves'; fewer: a collection whose "
                             "photos have unequal numbers of entries)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/daguerre-large-bank"),
                        help="folder the other photos and the banks are kept in")
    parser.add_argument("--grid-rows", type=int, default=0)
    parser.add_argument("--speed", type=int, nargs="*", help="time colorize at 1 MP with the large bank repeated "
                        "this many times (1: as made) instead")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("A large collection's colour bank: shortlist against exact search", args)
    os.environ["DAGUERRE_MODELS"] = str(args.work / "models")
    from daguerre import api
    from daguerre.models.registry import ModelNotFoundError, find_model
    from daguerre.ops import colorize as ops

    if args.speed:
        return speed(args, args.speed)
    data, skipped = bench.cases(args)
    others = other_photos(args.work / "others", args.size)
    halves = args.work / f"halves-{args.split}"
    halves.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(data):
        save(case.disjoint, halves / f"{i:02d}.png")
    built = {}
    sparse = f"-{args.others_per_photo}" if args.others_per_photo != 400 else ""  # the other photos' entries
    large_name = f"large-{args.split}{sparse}"
    for name, folder, base, per_photo in (
            (f"others{sparse}", args.work / "others", None, args.others_per_photo),
            (f"halves-{args.split}", halves, None, 400), (large_name, halves, f"others{sparse}", 400)):
        try:
            find_model(name)
        except ModelNotFoundError:
            start = time.perf_counter()
            api.train_colour_bank(folder, name, base=base, per_photo=per_photo, out=args.work / "models", measure=0)
            built[name] = round(time.perf_counter() - start, 1)
    large = ops.colour_bank(None, large_name)[1]
    photos = int(large.photo.max()) + 1
    print(f"large bank: {photos} photos ({others} others), {len(large.keys)} entries; built {built}", flush=True)
    lookup: dict[str, list[float]] = {}
    original = ops.bank_distribution

    def timed(name: str, run):  # the bank lookup's CPU time within each row's run
        def go(case):
            def distribution(*a):
                t = time.process_time()
                out = original(*a)
                lookup.setdefault(name, []).append(time.process_time() - t)
                return out

            ops.bank_distribution = distribution
            try:
                return run(case)
            finally:
                ops.bank_distribution = original
        return bench.Row(name, go)

    rows = [bench.Row("grey", lambda c: c.grey),
            timed("shipped bank", bench.ours(None)),
            timed("halves alone (small collection)", bench.ours(None, bank=f"halves-{args.split}")),
            timed("large, exact", bench.ours(None, settings=EXACT, bank=large_name))]
    for setting in args.shortlists:
        kept, every, per_photo = ([int(v) for v in setting.split(":")] + [0])[:3]
        rows.append(timed(f"large, shortlist {kept} photos, every {every}"
                          + (f", {per_photo} entries a photo" if per_photo else ""), bench.ours(
            None, settings={"BANK_SHORTLIST_FROM": 0, "BANK_SHORTLIST": kept, "BANK_SHORTLIST_EVERY": every,
                            "BANK_SHORTLIST_PER_PHOTO": per_photo}, bank=large_name)))
    rows.append(bench.Row("truth", lambda c: c.truth))
    bench.score(rows, data, args.grid_rows)
    grey = rows[0].mean("chroma_error")
    truth_cf = rows[-1].mean("colourfulness")
    table = [[r.name, r.mean("colourfulness") / truth_cf, r.mean("chroma_error"), r.mean("chroma_error") / grey,
              r.mean("lpips"), float(np.median(lookup[r.name])) if r.name in lookup else float("nan")]
             for r in rows]
    print()
    print(format_table(["method", "colourfulness / truth's", "chroma err", "/ grey's", "LPIPS",
                        "lookup CPU s (median)"], table))
    print(f"{len(data)} photos of {args.split} ({', '.join(skipped) or 'none'} skipped as nearly grey); "
          f"large bank {photos} photos, {len(large.keys)} entries")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"colour_bank_large_{args.split}{sparse}.json").write_text(json.dumps(
        {"machine": info, "photos": len(data), "bank_photos": photos, "bank_entries": len(large.keys),
         "built_seconds": built, "lookup_seconds": lookup,
         "rows": [{"method": r.name, "mean": {k: r.mean(k) for k in r.scores}, "per_photo": r.scores}
                  for r in rows]}, indent=1))
    if args.grid_rows:
        m = {r.name: r for r in rows}
        bench.grid(args.out / f"colour_bank_large_{args.split}{sparse}_grid.jpg", data[: args.grid_rows], m,
                   [r.name for r in rows])


if __name__ == "__main__":
    main()
