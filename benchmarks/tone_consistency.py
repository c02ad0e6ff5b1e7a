"""Chooses how restore's global tone correction resists LOCAL damage (issue 17), on training photos only.

    PYTHONPATH=src python benchmarks/tone_consistency.py [--n 24] [--size 256] --threads 1 [--schemes ...]

The ToneNet predicts one correction from a thumbnail of the whole picture, so a stain on one part reads as
fading of the whole. Global fading is the same on every part of a picture; a stain is not. Each scheme
("kind n part [agree]": n x n crops of `part` of the side, evenly placed; `SCHEMES`) measures the ToneNet on
the whole and on the crops and combines them: `agree` scales the whole's correction by clamp(median share /
agree, 0, 1) ("agree 3 0.333 0.6" is the tone_parts [3, 0.6] tried as a card setting: BENCHMARKS.md),
`median` / `medoid` take the crops' coordinate-wise median / most central correction, `shrink` the whole's
scaled to the crops' median size; "none" is no correction, "shipped" the whole's alone. The gate of the card
then applies as shipped.
The first --n photos of the training split at --size px, four sets:
`stain` (the aging model's own fade / yellowing / cast, through a soft blob on part of the picture), `toned`
(the same effects on the whole picture: what the ToneNet is for), `aged` (`age`, seed i) and `clean`. Each is
restored whole (`RestoreNet.restore`, the card's settings) with the scheme's correction. Prints PSNR, LPIPS
and the correction's mean change of the thumbnail per set and scheme, and the paired difference to the shipped
card. Held-out photos and the benchmark's unseen damage are never used. Writes results/tone_consistency.json.
"""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from _common import RESULTS, base_parser, print_header, set_threads
from restoration import AGING_STRENGTH, luma3, square_photo

TONE_EFFECTS = ["fade", "yellowing", "colour_cast"]


def blob(rng: np.random.Generator, size: int) -> np.ndarray:
    """A soft irregular blob (H,W) in [0,1] covering about 10-45% of the picture, anywhere (edges included)."""
    from scipy import ndimage

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c, r = rng.uniform(0.05, 0.95, 2), rng.uniform(0.2, 0.4)
    wobble = ndimage.gaussian_filter(rng.standard_normal((size, size)).astype(np.float32), size / 10)
    wobble /= np.abs(wobble).max() + 1e-6
    d = np.hypot(xx - c[0], yy - c[1]) / r + 0.35 * wobble
    return np.clip((1 - d) / 0.25 + 0.5, 0, 1).astype(np.float32)  # soft edge ~ a quarter of the radius


def training_sets(n: int, size: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(input, truth) per photo of each set."""
    from daguerre.data.pairs import is_monochrome
    from daguerre.data.sources import photos
    from daguerre.imaging.aging import age

    sets: dict[str, list] = {"stain": [], "toned": [], "aged": [], "clean": []}
    for i, path in enumerate(photos("train", graphics=False)[:n]):
        clean = square_photo(path, size)
        rng = np.random.default_rng(3000 + i)
        toned = age(clean, seed=3000 + i, strength=1.0, effects=TONE_EFFECTS).image
        m = np.zeros((1, size, size), np.float32)
        for _ in range(int(rng.integers(1, 3))):  # one or two stains
            m = np.maximum(m, blob(rng, size)[None])
        sets["stain"].append((clean * (1 - m) + toned * m, clean))
        sets["toned"].append((toned, clean))
        aged = age(clean, seed=i, strength=AGING_STRENGTH)
        truth = luma3(clean) if is_monochrome(aged.params) else clean
        sets["aged"].append((np.repeat(aged.image, 3 // aged.image.shape[0], 0), truth))
        sets["clean"].append((clean, clean))
    return sets


def thumbnails(x: torch.Tensor, grid: int, part: float) -> torch.Tensor:
    """(1 + grid^2, 3, 64, 64): the whole picture's thumbnail, then those of a grid x grid of crops of `part` of
    its side (overlapping where grid * part > 1), evenly placed from corner to corner."""
    from daguerre.nets.tone_net import THUMBNAIL

    def thumb(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(t, size=(THUMBNAIL, THUMBNAIL), mode="bilinear", antialias=True, align_corners=False)

    h, w = x.shape[-2:]
    ch, cw = round(h * part), round(w * part)
    out = [thumb(x)]
    for i in range(grid):
        for j in range(grid):
            top = round((h - ch) * i / max(grid - 1, 1))
            left = round((w - cw) * j / max(grid - 1, 1))
            out.append(thumb(x[..., top:top + ch, left:left + cw]))
    return torch.cat(out)


def raw_params(tone, thumbs: torch.Tensor) -> torch.Tensor:
    f = tone.features(thumbs)
    return tone.mlp(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))


def change(tone, thumb: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Mean absolute change of `thumb` (1,3,h,w) by each row of params (K, P): (K,)."""
    t = thumb.expand(params.shape[0], -1, -1, -1)
    return (tone.apply(t, params) - t).abs().mean((1, 2, 3))


def scheme_params(tone, x: torch.Tensor, scheme: str) -> torch.Tensor:
    """The (1, P) ungated correction of the whole picture x under `scheme`."""
    if scheme == "shipped":
        return raw_params(tone, thumbnails(x, 1, 1.0)[:1])
    if scheme == "none":  # no global correction at all
        return torch.zeros_like(raw_params(tone, thumbnails(x, 1, 1.0)[:1]))
    kind, grid, part, *tolerance = scheme.split()
    grid, part, tol = int(grid), float(part), float(tolerance[0]) if tolerance else 1.0
    thumbs = thumbnails(x, grid, part)
    p = raw_params(tone, thumbs)
    whole, parts = p[:1], p[1:]
    if kind == "median":  # coordinate-wise median over the parts
        return parts.median(0, keepdim=True).values if grid * grid % 2 else parts.quantile(0.5, 0, keepdim=True)
    if kind == "median+whole":
        return p.quantile(0.5, 0, keepdim=True)
    if kind == "shrink":  # the whole's correction scaled to the parts' median size (on the whole's thumbnail)
        d = change(tone, thumbs[:1], p)
        return whole * (d[1:].median() / d[0].clamp(min=1e-6)).clamp(max=1)
    if kind == "medoid":  # the part (or whole) whose correction of the thumbnail is nearest all the others'
        t = thumbs[:1].expand(p.shape[0], -1, -1, -1)
        y = tone.apply(t, p).flatten(1)
        cost = torch.cdist(y, y, p=1).sum(1)
        return p[cost.argmin()][None]
    if kind == "agree":  # the whole's correction scaled by how much the parts' corrections of it agree with it
        # (the median share, over `tol`: a share of tol or more counts as agreement)
        t = thumbs[:1].expand(p.shape[0], -1, -1, -1)
        delta = (tone.apply(t, p) - t).flatten(1)
        along = (delta[1:] @ delta[0]) / (delta[0] @ delta[0]).clamp(min=1e-12)  # each part's share of it
        return whole * (along.median() / tol).clamp(0, 1)
    raise ValueError(scheme)


SCHEMES = ["shipped", "none", "agree 3 0.5", "agree 3 0.333", "agree 4 0.25", "median 3 0.5", "medoid 3 0.5",
           "agree 3 0.333 0.6", "agree 3 0.333 0.75", "agree 4 0.25 0.6", "agree 3 0.5 0.75"]  # the two runs


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="training photos per set (default 24)")
    parser.add_argument("--size", type=int, default=256, help="photos' side in px (default 256)")
    parser.add_argument("--schemes", nargs="*", default=SCHEMES)
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("restore tone: the global correction against local damage", args)
    from daguerre.metrics import lpips, psnr
    from daguerre.ops.task_models import task_model

    card, net = task_model("restore", None)
    tone = net.tone
    print(f"model: {card.name} (sha256 {card.sha256[:12]}), tone gate {list(tone.gate)}")
    scores: dict = {}
    sets = training_sets(args.n, args.size)
    path = RESULTS / "tone_consistency.json"
    for k in range(args.n):
        for name, cases in sets.items():
            x, truth = cases[k]
            xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
            done: dict[bytes, tuple[np.ndarray, float]] = {}  # the same correction, the same restoration
            for scheme in args.schemes:
                with torch.inference_mode():
                    def params(t: torch.Tensor, scheme: str = scheme) -> torch.Tensor:
                        p = scheme_params(tone, t, scheme)
                        thumb = thumbnails(t, 1, 1.0)[:1]
                        return p * tone.confidence(thumb, p)[:, None] if tone.gate else p
                    t = net.denoised(xt)
                    p = params(t)
                    key = p.numpy().tobytes()
                    if key not in done:
                        net.tone_params = lambda _, p=p: p
                        done[key] = (net.restore(xt)[0].numpy(), float(change(tone, thumbnails(t, 1, 1.0)[:1], p)[0]))
                    out, d = done[key]
                s = scores.setdefault(scheme, {}).setdefault(name, {})
                s.setdefault("psnr", []).append(psnr(out, truth))
                s.setdefault("lpips", []).append(lpips(out, truth))
                s.setdefault("change", []).append(d)
        print(f"  photo {k + 1}/{args.n}", flush=True)
        means = {g: {s: {m: float(np.mean(v)) for m, v in ms.items()} for s, ms in r.items()}
                 for g, r in scores.items()}
        path.write_text(json.dumps({"machine": info, "model": card.sha256, "n": k + 1, "size": args.size,
                                    "mean": means, "per_photo": scores}, indent=2, default=float) + "\n")
    base = scores["shipped"]
    print("scheme | " + " | ".join(f"{s}: PSNR (paired +- s.e.) / LPIPS (paired) / change" for s in base))
    for g, r in scores.items():
        cells = []
        for s, m in r.items():
            dp = np.array(m["psnr"]) - np.array(base[s]["psnr"])
            dl = np.array(m["lpips"]) - np.array(base[s]["lpips"])
            se = lambda a: a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else 0.0  # noqa: E731
            cells.append(f"{np.mean(m['psnr']):.2f} ({dp.mean():+.2f}+-{se(dp):.2f}) / {np.mean(m['lpips']):.4f} "
                         f"({dl.mean():+.4f}+-{se(dl):.4f}) / {np.mean(m['change']):.3f}")
        print(f"{g:>20} | " + " | ".join(cells))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
