"""`colorize`: colour for a black-and-white photograph, automatically, from reference images, or from hints.

The chroma (Lab ab) is predicted at a quarter of a working size (`render_size`, the long side: larger is slower
and more detailed, smaller steadier) by a `ColorizeNet` over frozen ImageNet VGG16 features, and brought to the
full picture by joint bilateral upsampling guided by its lightness (`imaging.guided`). Without references or
hints, the colour comes from the installed colour bank (`nets.colour_bank`, `AUTO_SOURCE`): the training photos'
positions most like the photo's in VGG feature space give a colour distribution (`BANK_VOTE` would weigh the
bank photos most of its positions match more: tried, off), smoothed over the picture, made one within regions
of its lightness (`BANK_REGION`: one colour on a table, not blotches) and read out by its annealed mean, times
`BANK_GAIN`. `bank` names another bank, one made from the user's own colour photos (`daguerre train
colour-bank`: the shipped entries and theirs), read out with its own gain and photo vote (`readout`); a user's
bank is never used unless named. Without a bank (or with `AUTO_SOURCE = "net"`), it is the
annealed mean of the net's predicted colour distribution (Zhang et al. 2016), smoothed (`AUTO_BLUR`: single
positions' guesses are noisy, and wrong specks cost more than they give). `reference`:
colour pictures (files or `Picture`s) whose colours are carried over where they match the photo in VGG feature
space (`nets.correspondence`); `hints`: ``"X,Y,#RRGGBB"`` points in the input's pixels, spread over the picture
by a Gaussian in position and lightness times their similarity in VGG feature space, fading behind edges of
lightness, then smoothed within edges (`spread_hints`, `edge_aware_smooth`). With
either, the colour is that training-free one: the carried colour (or the automatic colour without a reference),
with the hints' colour where their weight outweighs `HINT_PRIOR_REF` (`HINT_PRIOR` over the automatic colour), so
a hint recolours its own part of the picture and the reference or the automatic colour holds elsewhere (a
residual net's learned correction of it is `NET_CORRECTS`: 0, as it made validation photos worse, BENCHMARKS.md).
The picture's
own luminance is kept exactly at full resolution: the result's BT.601 luma is the input's (`Picture.luminance`),
so converting the result back to grey gives the original. Colour inputs are colorized from their luminance
(existing colour, such as sepia toning, is replaced; a colour photo's is noted: `notes`). Grey, 16-bit and
EXIF-rotated inputs keep their size and bit depth.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.imaging import Picture, load
from daguerre.imaging.colour import TONED, colour_beyond_tone, downscale
from daguerre.imaging.guided import joint_bilateral_rows
from daguerre.imaging.lab import AB_SCALE, colour_with_luma, lab_split, srgb_lightness
from daguerre.models.onnx import bf16_available, check_precision
from daguerre.models.registry import list_models
from daguerre.ops.base import Operation, Progress, Provenance, register
from daguerre.ops.film import repixel
from daguerre.ops.task_models import model_record, task_model

BAND = 64  # rows composed at a time at full resolution: bounds memory, keeps the temporaries near cache
RENDER_SIZE = 384  # the long side of a training photo (short side 256, recipes/colorize.toml)
HINT_SIZE = 3  # a hint colours a square of this many working pixels
SIGMA_XY, SIGMA_L = 0.15, 10.0  # hint propagation: Gaussian in position (of the long side) and lightness (L*)
HINT_PRIOR = 1e-4  # the automatic colour's weight against the hints' (0: the hints' colour everywhere)
HINT_PRIOR_REF = 0.01  # a reference's carried colour's weight against the hints' (0: the hints' colour everywhere)
UPSAMPLE_SIGMA_S, UPSAMPLE_SIGMA_R = 0.5, 0.05  # ab upsampling: Gaussians in distance (ab pixels) and in L (/100)
NET_CORRECTS = 0.0  # how much of a residual net's correction of references and hints is used (0: training-free)
ANNEALED_T, CHROMA_GAIN = 0.6, 1.0  # automatic: annealed-mean temperature, chroma gain (see BENCHMARKS.md)
AUTO_BLUR = 4.0  # automatic: the colour smoothed by a Gaussian of this many quarter-size pixels (0: none)
# automatic colour from the colour bank (`nets.colour_bank`, when one is installed): "bank" (its colour alone),
# "bank-ref" (its colour given to the net as a reference), "blend" (its distribution and the net's, BANK_WEIGHT
# the bank's share) or "net" (the net alone)
AUTO_SOURCE = "bank"
BANK_K, BANK_T, BANK_SIGMA_L = 16, 0.02, None  # nearest entries, softmax temperature, lightness term (L*)
BANK_ANNEALED_T, BANK_BLUR, BANK_WEIGHT = 0.4, 4.0, 0.5  # its distribution: annealed mean, smoothing (px), share
BANK_STRIDE = 2  # the bank searched at every 2nd quarter-size position (then interpolated)
BANK_REBALANCE, BANK_GAIN = 0.0, 2.5  # the distribution over the bank's prior to this power; the chroma's gain
# its distribution made one within regions of the lightness: a guided filter (He et al. 2010) of this radius
# (quarter-size px; 0: none) and regularisation (L in [0, 1], squared)
BANK_REGION, BANK_REGION_EPS = 8, 1e-2
# photo-coherent lookup (`nets.colour_bank`): each entry's logit + BANK_VOTE x log(its photo's share of the
# picture's matches), the share taken over the whole picture (BANK_VOTE_WINDOW 0) or over a window of this many
# quarter-size px around each position; 0: no vote (and none with a bank made without photo indices)
BANK_VOTE, BANK_VOTE_WINDOW = 0.0, 0  # off: tried, worse held-out (BENCHMARKS.md)
# a bank of more than BANK_SHORTLIST_FROM photos (a large collection's) is searched on the BANK_SHORTLIST photos
# with the largest share of the matches of every BANK_SHORTLIST_EVERY-th position (`ColourBank.shortlisted`)
BANK_SHORTLIST_FROM, BANK_SHORTLIST, BANK_SHORTLIST_EVERY = 150, 32, 4  # chosen on validation (BENCHMARKS.md)
BANK_SHORTLIST_PER_PHOTO = 50  # its first pass looks at about this many entries of each photo (0: all; BENCHMARKS.md)
# a bank with painting entries (`scripts/build_colour_bank.py --paintings`): their logits lowered by this much
BANK_PAINTING = 0.0
DEFAULT_BANK = "colour-bank"  # the shipped bank: the automatic colour unless a run names another
GREY_CHROMA = 2.0  # a reference whose every position's chroma (Lab, quarter working size) is below this is grey
HINT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*,\s*(\d+(?:\.\d*)?)\s*,\s*#?([0-9a-fA-F]{6})\s*$")


def parse_hint(hint: str | tuple) -> tuple[float, float, tuple[float, float, float]]:
    """``"X,Y,#RRGGBB"`` (or a tuple x, y, "#RRGGBB") -> x, y and the colour as RGB in [0, 1]."""
    m = HINT.match(hint if isinstance(hint, str) else ",".join(str(v) for v in hint))
    if not m:
        if re.match(r"^\s*-\d+(\.\d*)?\s*,|^\s*-?\d+(\.\d*)?\s*,\s*-\d", hint if isinstance(hint, str) else ""):
            raise ValueError(f"hint {hint!r}: outside the picture (X and Y count pixels from its top left corner, "
                             "from 0)")
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


def propagate_hints(lightness: torch.Tensor, hints: list, full: tuple[int, int], sigma_xy: float = SIGMA_XY,
                    sigma_l: float = SIGMA_L) -> torch.Tensor:
    """ab (1,2,h,w): each hint's ab spread by a Gaussian in position and lightness, normalised (the naive baseline
    of `benchmarks/colorize.py`; the operation spreads hints in feature space, `nets.correspondence`).

    lightness (1,1,h,w) in `imaging.lab` units, of a picture whose full size is `full` (the hints' pixels).
    """
    from daguerre.nets.correspondence import spread_hints

    points, colours = hint_points(hints, full, tuple(lightness.shape[-2:]))
    num, den, _ = spread_hints(lightness, None, points, colours, sigma_xy, sigma_l, None)
    return num / den.clamp_min(1e-30)


def reference_keys(reference: str | Path | Picture, render_size: int, precision: str = "fp32"
                   ) -> tuple[torch.Tensor, ...]:
    """A reference's match descriptors, its ab and L at quarter working size (`nets.correspondence`); a file's
    are kept for the next calls (one reference colouring a batch of photos pays its VGG16 pass once). A grey
    reference is an error: it has no colour to carry over (the result would be grey)."""
    if isinstance(reference, Picture) or not Path(reference).is_file():  # (load's one-line error if missing)
        keys = _reference_keys(reference if isinstance(reference, Picture) else load(reference), render_size,
                               precision)
    else:
        stat = Path(reference).stat()
        keys = _file_reference_keys(str(Path(reference).resolve()), stat.st_mtime_ns, stat.st_size, render_size,
                                    precision)
    if float(keys[1].norm(dim=1).amax()) * AB_SCALE < GREY_CHROMA:
        name = "a reference picture" if isinstance(reference, Picture) else str(reference)
        raise ValueError(f"{name}: the reference is grey: it has no colour to carry over")
    return keys


@lru_cache(maxsize=8)
def _file_reference_keys(path: str, mtime_ns: int, size: int, render_size: int, precision: str = "fp32"
                         ) -> tuple[torch.Tensor, ...]:
    return _reference_keys(load(path), render_size, precision)


def _reference_keys(picture: Picture, render_size: int, precision: str = "fp32") -> tuple[torch.Tensor, ...]:
    from daguerre.nets.correspondence import grey_features, match_keys

    lightness, ab = lab_split(working(torch.from_numpy(picture.rgb())[None], render_size))
    return match_keys(*grey_features(lightness, precision)), F.avg_pool2d(ab, 4), F.avg_pool2d(lightness, 4)


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


def automatic_ab(net: torch.nn.Module, logits: torch.Tensor) -> torch.Tensor:
    """The automatic colour (1,2,h,w): the annealed mean of the net's colour distribution, smoothed by a Gaussian
    of `AUTO_BLUR` quarter-size pixels (single positions' guesses are noisy; the joint bilateral upsampling puts
    the edges back), times `CHROMA_GAIN`."""
    mean = net.annealed_mean(logits, ANNEALED_T)
    if AUTO_BLUR:
        from kornia.filters import gaussian_blur2d

        k = 2 * round(3 * AUTO_BLUR) + 1
        mean = gaussian_blur2d(mean, (k, k), (AUTO_BLUR, AUTO_BLUR), border_type="replicate")
    return CHROMA_GAIN * mean


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """x (1,C,h,w) smoothed by a Gaussian of `sigma` pixels (0: unchanged), edges replicated."""
    if not sigma:
        return x
    from kornia.filters import gaussian_blur2d

    k = 2 * round(3 * sigma) + 1
    return gaussian_blur2d(x, (k, k), (sigma, sigma), border_type="replicate")


def colour_bank(card: object = None, name: str | None = None) -> tuple[object, torch.nn.Module] | None:
    """The colour bank's card and module: the bank `name` (one made from the user's own colour photos by `daguerre
    train colour-bank`), else the shipped one (`DEFAULT_BANK`, or the first installed), or None: also None, when
    no bank is named, if the colorize model `card` is one of the user's own (not shipped), which then colours
    automatically by itself."""
    from daguerre.models.registry import SHIPPED, ModelNotFoundError

    if name:
        return task_model("colorize-bank", name)
    if AUTO_SOURCE == "net":
        return None
    if card is not None and Path(getattr(card, "path", "") or SHIPPED).resolve() != SHIPPED.resolve():
        return None
    for wanted in (DEFAULT_BANK, None):  # a user's bank is used when named, never in the shipped one's place
        try:
            return task_model("colorize-bank", wanted)
        except ModelNotFoundError:
            continue
    return None


def check_bank(name: object, references: list) -> None:
    """Refuse a `bank` that is not an installed colour bank, or one that would not be used (with a reference, the
    colour is the reference's)."""
    from daguerre.models.registry import ModelNotFoundError, find_model

    if name is None:
        return
    if references:
        raise ValueError("bank: a colour bank gives the automatic colour; with a reference it would not be used")
    try:
        card = find_model(str(name))
    except ModelNotFoundError:
        banks = ", ".join(c.name for c in list_models("colorize-bank")) or "none"
        raise ValueError(f"bank: no colour bank named {name!r} (installed: {banks}; make one from your colour "
                         "photos with `daguerre train colour-bank`)") from None
    if card.task != "colorize-bank":
        raise ValueError(f"bank: {name!r} is a {card.task} model, not a colour bank")


def bank_distribution(bank: torch.nn.Module, keys: torch.Tensor, quarter: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The bank's colour distribution (1,Q,h,w) at the quarter-size positions (smoothed by `BANK_BLUR`, then
    by a guided filter of the lightness `quarter` (1,1,h,w) over `BANK_REGION` px) and the
    best match's similarity (1,1,h,w). The bank is searched at every `BANK_STRIDE`-th position (descriptors
    averaged), its distributions then smoothed and brought back by bilinear interpolation: the smoothing would
    have mixed them anyway, and the search costs `BANK_STRIDE`^2 less."""
    h, w = quarter.shape[-2:]
    s = BANK_STRIDE
    if s > 1:  # sides padded (edge) to a multiple of the stride, so every cell is whole and the grid stays aligned
        pad = (0, -w % s, 0, -h % s)
        keys = F.pad(keys.view(1, -1, h, w), pad, mode="replicate")
        keys = F.normalize(F.avg_pool2d(keys, s).flatten(2), dim=1)
        quarter = F.avg_pool2d(F.pad(quarter, pad, mode="replicate"), s)
    window = 2 * max(1, round(BANK_VOTE_WINDOW / (2 * s))) + 1 if BANK_VOTE_WINDOW else 0
    large = int(bank.photo.max()) + 1 > BANK_SHORTLIST_FROM
    hist, best = bank.histogram(keys, tuple(quarter.shape[-2:]), BANK_K, BANK_T, quarter, BANK_SIGMA_L,
                                readout(bank)[1], window, painting_penalty=BANK_PAINTING,
                                shortlist=BANK_SHORTLIST if large else 0, shortlist_every=BANK_SHORTLIST_EVERY,
                                shortlist_per_photo=BANK_SHORTLIST_PER_PHOTO)
    hist = blur(hist, BANK_BLUR / s)
    if BANK_REGION:  # one distribution within regions of the lightness: its most likely colour, not blotches
        from kornia.filters import guided_blur

        k = 2 * max(1, round(BANK_REGION / s)) + 1
        hist = guided_blur(quarter, hist, (k, k), BANK_REGION_EPS, border_type="replicate").clamp_min(0)
    if s > 1:
        hist, best = (F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)[..., :h, :w]
                      for x in (hist, best))
    return hist, best


def readout(bank: torch.nn.Module) -> tuple[float, float]:
    """(gain, vote) of a bank's readout: a bank of the user's own photos carries its own (`nets.colour_bank`), the
    shipped one the constants `BANK_GAIN`, `BANK_VOTE`."""
    return bank.config.get("gain", BANK_GAIN), bank.config.get("vote", BANK_VOTE)


def uses_bank(references: list, hints: list) -> bool:
    """Whether the automatic colour (the bank's) is used: alone, or under hints when `HINT_PRIOR` gives it a share."""
    return not references and (not hints or bool(HINT_PRIOR))


def predict_ab(net: torch.nn.Module, lightness: torch.Tensor, references: list, hints: list,
               full: tuple[int, int], render_size: int, bank: torch.nn.Module | None = None,
               precision: str = "fp32") -> torch.Tensor:
    """ab (1,2,h/4,w/4) of the working-size L (1,1,h,w) of a picture of `full` pixels: automatic (from the net,
    or the colour `bank` as `AUTO_SOURCE` says), or following references and hints (``"X,Y,#RRGGBB"`` in the
    picture's pixels)."""
    from daguerre.nets import correspondence as cc
    from daguerre.nets.colorize_net import training_free

    relu3, relu4 = cc.grey_features(lightness, precision)
    keys = cc.match_keys(relu3, relu4)
    quarter = F.avg_pool2d(lightness, 4)
    size = tuple(quarter.shape[-2:])
    ref = torch.zeros(1, 3, *size)
    automatic = bank is not None and not references and AUTO_SOURCE != "net"
    if automatic:  # (with hints: the colour they are spread over)
        hist, best = bank_distribution(bank, keys, quarter)
        bank_ab = readout(bank)[0] * bank.annealed_mean(hist, BANK_ANNEALED_T, BANK_REBALANCE)
        if AUTO_SOURCE == "bank" and not hints:
            return bank_ab
        if AUTO_SOURCE == "bank-ref":  # the bank's colour as the reference the net was trained to take
            ref = torch.cat([bank_ab, best], 1)
    if references:
        ref = cc.reference_colour(keys, size, [reference_keys(r, render_size, precision) for r in references],
                                  cc.REF_TEMPERATURE, quarter, cc.REF_SIGMA_L)
    spread = torch.zeros(1, 3, *size)
    num = den = top = None
    if hints:
        points, colours = hint_points(hints, full, size)
        num, den, top = cc.spread_hints(quarter, keys, points, colours, cc.HINT_SIGMA_XY, cc.HINT_SIGMA_L,
                                        cc.HINT_TAU, cc.HINT_FLOOR, cc.HINT_EDGE)
        spread = torch.cat([num / den.clamp_min(1e-12), top], 1)
    channels = hint_channels(hints, full, lightness.shape[-2:]) if hints else torch.zeros(1, 3, *lightness.shape[-2:])
    given = (spread, training_free(ref, spread, bool(references))) if getattr(net, "residual", False) else ()

    def run_net() -> tuple[torch.Tensor, torch.Tensor]:  # only when its output is used
        return net(relu3, relu4, lightness, channels, ref, *given)

    if not references and not hints:
        logits = run_net()[0]
        if automatic and AUTO_SOURCE == "blend":  # both distributions (the same ab bins), the bank's share
            p = BANK_WEIGHT * hist + (1 - BANK_WEIGHT) * blur(torch.softmax(logits, 1), BANK_BLUR)
            return readout(bank)[0] * bank.annealed_mean(p, BANK_ANNEALED_T, BANK_REBALANCE)
        return automatic_ab(net, logits)
    if given and NET_CORRECTS:  # the residual net's correction of the training-free colour
        return given[1] + NET_CORRECTS * (run_net()[1] - given[1])
    if references:  # the reference's carried colour
        colour, prior = ref[:, :2], HINT_PRIOR_REF
    else:  # the automatic one (the bank's, or the net's), if the hints leave it a share
        prior = HINT_PRIOR
        colour = torch.zeros(1, 2, *size) if not prior else bank_ab if automatic else automatic_ab(net, run_net()[0])
    if hints:  # the hints' colour where they reach (in feature space), that colour elsewhere
        rest = prior * (1 - top)
        colour = (num + rest * colour) / (den + rest).clamp_min(1e-12)
        if cc.HINT_SMOOTH is not None:
            colour = cc.edge_aware_smooth(colour, quarter, cc.HINT_SMOOTH)
    return colour


def _encoder_bf16_runs() -> bool:
    """Whether a clip's encoder can default to bf16: the CPU computes it natively and OpenVINO runs the trunk (made
    and cached now). If OpenVINO cannot, the clip runs fp32 with a warning naming why, rather than failing on a
    precision nobody asked for."""
    if not bf16_available():
        return False
    from daguerre.nets.correspondence import bf16_encoder

    try:
        bf16_encoder()
    except RuntimeError as e:
        import logging

        logging.getLogger("daguerre").warning("colorize's encoder runs fp32 on this clip: %s", e)
        return False
    return True


class Colorize(Operation):
    name = "colorize"
    version = "2"
    summary = "Colorize a black-and-white photograph (automatically, from reference images or hints)"

    def check(self, params: dict) -> None:
        super().check(params)
        if (render_size := params.get("render_size", RENDER_SIZE)) < 16:
            raise ValueError(f"render_size must be at least 16 pixels, got {render_size}")
        for hint in _as_list(params.get("hints")):
            parse_hint(hint)
        if (precision := params.get("precision", "fp32")) not in ("fp32", "bf16"):
            raise ValueError(f"colorize runs its ImageNet encoder in fp32 or bf16, not {precision!r}")
        if precision == "bf16":
            check_precision("bf16")
        check_bank(params.get("bank"), _as_list(params.get("reference")))

    def notes(self, picture: Picture, params: dict) -> list[str]:
        """A colour photo (not a toned print: `colour_beyond_tone`) is colorized from its luminance all the same,
        its colours replaced: said, as a user who picked the wrong file would want to know."""
        if picture.is_grey or colour_beyond_tone(torch.from_numpy(picture.pixels)[None]) <= TONED:
            return []
        return ["already in colour: colorize replaces its colours with new ones made from its grey levels"]

    def with_defaults(self, params: dict, clip: bool) -> dict:
        """A clip's ImageNet encoder runs bf16 where the CPU computes it natively and OpenVINO compiles it (its
        colours within ~0.1 of a level of fp32's on held-out photos, the goals' figures unchanged: BENCHMARKS.md,
        "Colorize's encoder in bf16"), else fp32; written into the parameters so an archive recipe says which.
        Stills stay fp32 unless asked."""
        if not clip or params.get("precision") is not None:
            return params
        return {**params, "precision": "bf16" if _encoder_bf16_runs() else "fp32"}

    def run(self, picture: Picture, progress: Progress | None = None, *, model: str | None = None,
            render_size: int = RENDER_SIZE, reference: object = None, hints: object = None,
            precision: str = "fp32", bank: str | None = None, **unknown: object) -> Picture:
        """`bank`: the automatic colour from this colour bank (`daguerre train colour-bank`: the shipped one and the
        user's own colour photos), not the shipped one alone."""
        self.check({"render_size": render_size, "hints": hints, "precision": precision, "bank": bank,
                    "reference": reference, **unknown})
        card, net = task_model("colorize", model)
        if card.architecture != "ColorizeNet":
            raise ValueError(f"model {card.name!r} is a {card.architecture}, not a ColorizeNet: retrain it with "
                             "recipes/colorize.toml")
        pixels = picture.pixels[0] if picture.is_grey else picture.pixels  # (H,W) grey or (3,H,W) RGB
        full = tuple(pixels.shape[-2:])
        hint_list = _as_list(hints)
        references = _as_list(reference)
        bank = colour_bank(card, bank) if uses_bank(references, hint_list) else None
        with torch.inference_mode():
            small = working(torch.from_numpy(pixels).view(1, -1, *full), render_size)  # grey: one channel
            lightness, _ = lab_split(small.expand(-1, 3, -1, -1))
            ab = predict_ab(net, lightness, references, hint_list, full, render_size, bank and bank[1], precision)
            # the guide at ab's size (a quarter of the working size, or the working size with hints)
            low_l = lightness if ab.shape[-2:] == lightness.shape[-2:] else F.avg_pool2d(lightness, 4)
            y = picture.luminance()
            out = np.empty((3, *full), np.float32)
            for r in range(0, full[0], BAND):
                rows = slice(r, r + BAND)
                full_l = srgb_lightness(pixels[..., rows, :])
                band_ab = joint_bilateral_rows(ab, low_l, torch.from_numpy(full_l)[None, None], rows, full,
                                               UPSAMPLE_SIGMA_S, UPSAMPLE_SIGMA_R)
                out[:, rows] = colour_with_luma(full_l, band_ab[0].numpy(), y[rows])
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
        bank = colour_bank(card, params.get("bank")) if uses_bank(  # type: ignore[arg-type]
            _as_list(params.get("reference")), _as_list(params.get("hints"))) else None
        return Provenance(self.name, self.version, recorded, [model_record(card)] + ([model_record(bank[0])]
                                                                                     if bank else []))


colorize = register(Colorize())
