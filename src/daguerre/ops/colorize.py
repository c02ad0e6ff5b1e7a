"""`colorize`: colour for a black-and-white photograph, automatically, from reference images, or from hints.

The chroma (Lab ab) is predicted at a working size (`render_size`, the long side: larger is slower and more
detailed, smaller steadier) by a `ColorizeNet` over frozen ImageNet VGG16 features, and upsampled bilinearly to
the full picture. `reference`: colour pictures (files or `Picture`s) whose colours are carried over where they
match the photo (`nets.correspondence`); `hints`: ``"X,Y,#RRGGBB"`` points in the input's pixels. Without
either, the colour is the annealed mean of the predicted colour distribution (Zhang et al. 2016); with them, the
network's regressed colour, given them as inputs. The trained network under-uses them (BENCHMARKS.md, issue 17), so
the operation enforces them: a reference's carried colour replaces the network's where the match is confident
(`blend_reference`), and the hints' residuals against the network's colour are spread by a Gaussian in position
and lightness (`propagate_hints`): the hint's colour at a hint, the network's far from every hint. The picture's
own luminance is kept exactly at full resolution: the result's BT.601 luma is the input's (`Picture.luminance`),
so converting the result back to grey gives the original. Colour inputs are colorized from their luminance
(existing colour, such as sepia toning, is replaced). Grey, 16-bit and EXIF-rotated inputs keep their size and
bit depth.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.imaging import Picture, load
from daguerre.imaging.colour import downscale
from daguerre.imaging.guided import joint_bilateral_rows
from daguerre.imaging.lab import L_SCALE, lab_merge, lab_split, with_luma
from daguerre.ops.base import Operation, Progress, Provenance, register
from daguerre.ops.film import repixel
from daguerre.ops.task_models import model_record, task_model

BAND = 256  # rows composed at a time at full resolution, bounding the memory of the Lab conversion
REF_OWN = "regressed"  # the net's ab blended with the reference: "regressed" (given the reference) or "annealed"
RENDER_SIZE = 384  # the long side of a training photo (short side 256, recipes/colorize.toml)
HINT_SIZE = 3  # a hint colours a square of this many working pixels
SIGMA_XY, SIGMA_L = 0.15, 10.0  # hint propagation: Gaussian in position (of the long side) and lightness (L*)
HINT_PRIOR = 1.0  # the colour found without the hints: its weight against theirs away from them (old net)
UPSAMPLE_SIGMA_S, UPSAMPLE_SIGMA_R = 0.5, 0.05  # ab upsampling: Gaussians in distance (ab pixels) and in L (/100)
ANNEALED_T, CHROMA_GAIN = 0.38, 1.0  # automatic colour: the annealed mean's temperature and a gain on its chroma
# reference blending: the carried colour's weight is sigmoid(REF_SHARPNESS * (match similarity - REF_THRESHOLD))
REF_THRESHOLD, REF_SHARPNESS = 0.6, 10.0  # picked on 30 training photos, both reference kinds
HINT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*,\s*(\d+(?:\.\d*)?)\s*,\s*#?([0-9a-fA-F]{6})\s*$")


def parse_hint(hint: str | tuple) -> tuple[float, float, tuple[float, float, float]]:
    """``"X,Y,#RRGGBB"`` (or a tuple x, y, "#RRGGBB") -> x, y and the colour as RGB in [0, 1]."""
    m = HINT.match(hint if isinstance(hint, str) else ",".join(str(v) for v in hint))
    if not m:
        raise ValueError(f"hint {hint!r}: expected X,Y,#RRGGBB (pixels of the input, a hex colour)")
    rgb = bytes.fromhex(m.group(3))
    return float(m.group(1)), float(m.group(2)), (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255)


def _as_list(value: object) -> list:
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


def working(rgb: torch.Tensor, render_size: int) -> torch.Tensor:
    """(1,3,h,w) at long side `render_size` (never enlarged), h and w rounded to multiples of 8 (VGG's pooling)."""
    small = downscale(rgb, render_size)
    h, w = (max(8, round(s / 8) * 8) for s in small.shape[-2:])
    return F.interpolate(small, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def hint_channels(hints: list, full: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """(1,3,h,w): each hint's ab (`imaging.lab` units) on a small square at its place, and the hint mask."""
    out = torch.zeros(1, 3, *size)
    for hint in hints:
        x, y, colour = parse_hint(hint)
        if not (0 <= x < full[1] and 0 <= y < full[0]):
            raise ValueError(f"hint {hint!r}: outside the {full[1]}x{full[0]} picture")
        _, ab = lab_split(torch.tensor(colour).view(1, 3, 1, 1))
        cy, cx = int(y * size[0] / full[0]), int(x * size[1] / full[1])
        rows = slice(max(0, cy - HINT_SIZE // 2), cy + HINT_SIZE // 2 + 1)
        cols = slice(max(0, cx - HINT_SIZE // 2), cx + HINT_SIZE // 2 + 1)
        out[0, :2, rows, cols] = ab[0, :, :1, :1]
        out[0, 2, rows, cols] = 1
    return out


def propagate_hints(lightness: torch.Tensor, hints: list, full: tuple[int, int], base: torch.Tensor | None = None,
                    sigma_xy: float = SIGMA_XY, sigma_l: float = SIGMA_L, prior: float = HINT_PRIOR) -> torch.Tensor:
    """ab (1,2,h,w) from hints spread by a Gaussian in position and lightness (Levin-like edge-aware propagation).

    lightness (1,1,h,w) in `imaging.lab` units, of a picture whose full size is `full` (the hints' pixels).
    Without `base`: each hint's ab spread and normalised (the naive baseline of `benchmarks/colorize.py`). With
    `base` (1,2,h',w', any size, e.g. the net's ab): the base plus the hints' *residuals* (hint ab - base at the
    hint) spread the same way, so at a hint the colour is the hint's, and with `prior` > 0 it decays back to the
    base away from the hints (the prior vanishes where a hint's weight is 1).
    """
    h, w = lightness.shape[-2:]
    ell = lightness[0, 0] * L_SCALE
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    if base is not None:
        base = F.interpolate(base, size=(h, w), mode="bilinear", align_corners=False)
    num, den, top = torch.zeros(2, h, w), torch.full((h, w), 1e-8), torch.zeros(h, w)
    sigma = sigma_xy * max(h, w)
    for hint in hints:
        x, y, colour = parse_hint(hint)
        if not (0 <= x < full[1] and 0 <= y < full[0]):
            raise ValueError(f"hint {hint!r}: outside the {full[1]}x{full[0]} picture")
        cx, cy = min(int(x * w / full[1]), w - 1), min(int(y * h / full[0]), h - 1)
        ab = lab_split(torch.tensor(colour, dtype=torch.float32).view(1, 3, 1, 1))[1][0, :, 0, 0]
        if base is not None:
            ab = ab - base[0, :, cy, cx]
        wgt = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)
                        - (ell - ell[cy, cx]) ** 2 / (2 * sigma_l**2))
        num += wgt * ab[:, None, None]
        den += wgt
        top = torch.maximum(top, wgt)
    if base is None:
        return (num / den)[None]
    return base + (num / (den + prior * (1 - top)))[None]


def blend_reference(carried: torch.Tensor, confidence: torch.Tensor, own: torch.Tensor,
                    threshold: float = REF_THRESHOLD, sharpness: float = REF_SHARPNESS) -> torch.Tensor:
    """ab: the reference's carried ab where the match is confident, the net's own ab elsewhere (all (1,·,h,w))."""
    c = torch.sigmoid(sharpness * (confidence - threshold))
    return c * carried + (1 - c) * own


def reference_keys(reference: str | Path | Picture, render_size: int) -> tuple[torch.Tensor, ...]:
    """A reference's match descriptors, its ab and L at quarter working size (`nets.correspondence`)."""
    from daguerre.nets.correspondence import grey_features, match_keys

    picture = reference if isinstance(reference, Picture) else load(reference)
    lightness, ab = lab_split(working(torch.from_numpy(picture.rgb())[None], render_size))
    return match_keys(*grey_features(lightness)), F.avg_pool2d(ab, 4), F.avg_pool2d(lightness, 4)


def hint_points(hints: list, full: tuple[int, int], size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The hints' places (K,2: row, column) on a `size` grid over a picture of `full` pixels, and their ab (K,2)."""
    points, colours = [], []
    for hint in hints:
        x, y, colour = parse_hint(hint)
        if not (0 <= x < full[1] and 0 <= y < full[0]):
            raise ValueError(f"hint {hint!r}: outside the {full[1]}x{full[0]} picture")
        points.append([min(int(y * size[0] / full[0]), size[0] - 1), min(int(x * size[1] / full[1]), size[1] - 1)])
        colours.append(lab_split(torch.tensor(colour, dtype=torch.float32).view(1, 3, 1, 1))[1][0, :, 0, 0])
    return torch.tensor(points, dtype=torch.long).view(-1, 2), torch.stack(colours)


def predict_ab(net: torch.nn.Module, lightness: torch.Tensor, references: list, hints: list,
               full: tuple[int, int], render_size: int) -> torch.Tensor:
    """ab (1,2,h/4,w/4) of the working-size L (1,1,h,w) of a picture of `full` pixels: automatic, or following
    references and hints (``"X,Y,#RRGGBB"`` in the picture's pixels)."""
    from daguerre.nets import correspondence as cc
    from daguerre.nets.colorize_net import training_free

    relu3, relu4 = cc.grey_features(lightness)
    keys = cc.match_keys(relu3, relu4)
    quarter = F.avg_pool2d(lightness, 4)
    size = tuple(quarter.shape[-2:])
    ref = torch.zeros(1, 3, *size)
    if references:
        ref = cc.reference_colour(keys, size, [reference_keys(r, render_size) for r in references],
                                  cc.REF_TEMPERATURE, quarter, cc.REF_SIGMA_L)
    spread = torch.zeros(1, 3, *size)
    num = den = top = None
    if hints:
        points, colours = hint_points(hints, full, size)
        num, den, top = cc.spread_hints(quarter, keys, points, colours, cc.HINT_SIGMA_XY, cc.HINT_SIGMA_L,
                                        cc.HINT_TAU)
        spread = torch.cat([num / den.clamp_min(1e-12), top], 1)
    channels = hint_channels(hints, full, lightness.shape[-2:]) if hints else torch.zeros(1, 3, *lightness.shape[-2:])
    if getattr(net, "residual", False):
        base = training_free(ref, spread, bool(references))
        logits, regressed = net(relu3, relu4, lightness, channels, ref, spread, base)
        return regressed if references or hints else CHROMA_GAIN * net.annealed_mean(logits, ANNEALED_T)
    logits, regressed = net(relu3, relu4, lightness, channels, ref)
    auto = CHROMA_GAIN * net.annealed_mean(logits, ANNEALED_T)
    if not references and not hints:
        return auto
    own = regressed if REF_OWN == "regressed" else auto
    if references:  # the carried colour where the match is confident, the net's elsewhere
        own = blend_reference(ref[:, :2], ref[:, 2:], own)
    if hints:  # the hints' colour near them (in feature space), the colour found so far elsewhere
        rest = HINT_PRIOR * (1 - top)
        own = (num + rest * own) / (den + rest).clamp_min(1e-12)
    return own


class Colorize(Operation):
    name = "colorize"
    version = "2"
    summary = "Colorize a black-and-white photograph (automatically, from reference images or hints)"

    def run(self, picture: Picture, progress: Progress | None = None, *, model: str | None = None,
            render_size: int = RENDER_SIZE, reference: object = None, hints: object = None,
            **unknown: object) -> Picture:
        if unknown:
            raise TypeError(f"colorize: unknown parameter(s) {', '.join(unknown)}")
        if render_size < 16:
            raise ValueError(f"render_size must be at least 16 pixels, got {render_size}")
        card, net = task_model("colorize", model)
        if card.architecture != "ColorizeNet":
            raise ValueError(f"model {card.name!r} is a {card.architecture}, not a ColorizeNet: retrain it with "
                             "recipes/colorize.toml")
        rgb = torch.from_numpy(picture.rgb())[None]
        hint_list = _as_list(hints)
        with torch.inference_mode():
            lightness, _ = lab_split(working(rgb, render_size))
            full = tuple(rgb.shape[-2:])
            ab = predict_ab(net, lightness, _as_list(reference), hint_list, full, render_size)
            low_l = F.avg_pool2d(lightness, 4)  # the guide at ab's size: ab follows the full-size L's edges
            y = torch.from_numpy(picture.luminance())[None, None]
            out = np.empty((3, *full), np.float32)
            for r in range(0, full[0], BAND):
                rows = slice(r, r + BAND)
                full_l, _ = lab_split(rgb[..., rows, :])
                band_ab = joint_bilateral_rows(ab, low_l, full_l, rows, full, UPSAMPLE_SIGMA_S, UPSAMPLE_SIGMA_R)
                out[:, rows] = with_luma(lab_merge(full_l, band_ab), y[..., rows, :])[0].numpy()
        if progress:
            progress(1, 1)
        return repixel(picture, out)

    def provenance(self, **params: object) -> Provenance:
        from daguerre.models.card import sha256_of

        card, _ = task_model("colorize", params.get("model"))  # type: ignore[arg-type]
        recorded = dict(params)
        refs = [r for r in _as_list(params.get("reference")) if not isinstance(r, Picture)]
        if refs:
            recorded["reference"] = [str(r) for r in refs]
            recorded["reference_sha256"] = [sha256_of(Path(r)) for r in refs]
        if params.get("hints") is not None:
            recorded["hints"] = [h if isinstance(h, str) else ",".join(map(str, h)) for h in _as_list(params["hints"])]
        return Provenance(self.name, self.version, recorded, [model_record(card)])


colorize = register(Colorize())
