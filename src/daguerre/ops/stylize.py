"""`stylize`: a photograph in the style of a painting, three ways.

- fast: a trained one-style generator (`model=`), ONNX Runtime when the image runs whole. `precision="int8"`:
  its statically quantized ONNX file (`daguerre.models.onnx`), faster (BENCHMARKS.md); `precision="bf16"`: its
  fp32 file on OpenVINO in bfloat16, on CPUs that compute it natively. The default for clips and `live` is bf16
  where the CPU has it, else int8 for the models whose int8 file stays within `FAITHFUL_DB` of fp32; stills
  default to fp32.
- arbitrary: any painting (`style=`) in one pass of PaintingStyleNet: the painting's style code (from its VGG16
  statistics, in int8: `styles.STATISTICS_INT8_ERROR`; computed once, cached) sets the transformer's norms;
  several styles mix in code space (`style_weights=`) or are painted into regions (`masks=`); `strength` moves
  from the photo's own code to the painting's. With `palette` (default) the output's CIELAB mean and covariance
  are then moved most of the way (`PALETTE_SHARE`) to the painting's (a linear colour transfer), and with
  `texture` (default; with the palette only) the photo's grey detail is added back, each Lab band set to the
  painting's deviation there (`daguerre.imaging.texture`), and the painting's whole palette given.
- optimize: Gatys et al.'s optimisation on VGG19; slow, highest quality.
Every method takes `strength` (0..1: 0 is the photo itself, a blend with the photo; arbitrary first moves the code
and palette from the photo's own to the painting's by the same amount) and `preserve_colour` (luminance only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from daguerre.imaging import Picture, load
from daguerre.imaging.colour import blend, match_palette, palette_map, palette_matrix, preserve_colour
from daguerre.imaging.lab import in_parallel, lab_of_strip, row_strips, srgb_to_lab
from daguerre.imaging.texture import match_bands, mix_deviations, photo_detail
from daguerre.models.onnx import FAITHFUL_DB, bf16_available, check_precision
from daguerre.ops import styles
from daguerre.ops.base import Operation, Progress, Provenance, register
from daguerre.ops.feedforward import run_feedforward
from daguerre.ops.task_models import model_record

METHODS = ("fast", "arbitrary", "optimize")
PRECISIONS_OF = {"fast": ("fp32", "int8", "bf16"), "arbitrary": ("fp32", "bf16"), "optimize": ("fp32",)}
# how far the arbitrary output is moved towards the painting's palette (RGB blend of the network's output and its
# full colour transfer). Chosen on training paintings x validation photos, lowest content LPIPS with the colour
# distance at most 0.9x Magenta's (0.5 / 0.7 / 0.85 / 1: 4.59 / 3.50 / 2.88 / 2.65 against Magenta's 3.20); on
# held-out paintings, measured once, 0.85 against 1: Gram -18 %, content LPIPS -0.006, FID -2.8, colour 2.60
# (Magenta 3.28) against 2.35; by eye the same pictures (BENCHMARKS.md, "Any painting")
PALETTE_SHARE = 0.85
# `texture` (on by default): the photo's grey detail at this sigma (px) times this share added back, then each Lab
# band matched to the painting's deviation there (`imaging.texture`), then the painting's whole palette. Chosen on
# training paintings x validation photos among 5 variants (lowest ArtFID-like of those meeting the goals); on
# held-out paintings: content LPIPS 0.685 -> 0.613, KID -22, Gram -50 % (BENCHMARKS.md, "Any painting")
DETAIL, DETAIL_SIGMA = 0.75, 1.5


class Stylize(Operation):
    name = "stylize"
    # 3: the arbitrary palette moved PALETTE_SHARE of the way; 4: `texture` (on by default); 5: paintings encoded
    # in int8 (`styles.STATISTICS_INT8_ERROR`: arbitrary outputs 65-80 dB from version 4's); 6: a flat painting's
    # lightness deviation floored (`PaintingStyle.palette_cov`: no painting of the museum's changes)
    version = "6"
    summary = "Restyle a photograph as a painting (fast model, any painting, or optimisation)"

    def check(self, params: dict) -> None:
        if "anchor" in params:  # the clip path's moving noise for an anchored model, never a user's or a recipe's
            raise TypeError("stylize: anchor is not a parameter (a clip moves it along the scene by itself)")
        super().check(params)
        method = params.get("method", "fast")
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r} (use {', '.join(METHODS)})")
        if method == "fast" and not params.get("model"):
            raise ValueError("method 'fast' needs a model name (see `daguerre models`)")
        weights = params.get("style_weights")
        if weights is not None and (not isinstance(weights, list | tuple) or not weights
                                    or not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0
                                               for w in weights) or sum(weights) <= 0):
            raise ValueError(f"style_weights must be numbers >= 0 with a sum above 0, got {weights!r}")
        if (precision := check_precision(params.get("precision") or "fp32")) not in PRECISIONS_OF[method]:
            raise ValueError(f"precision {precision} is not for method {method!r} (fast style models take int8 "
                             "and bf16, any painting bf16)")

    def run(self, picture: Picture, progress: Progress | None = None, *, method: str = "fast",
            model: str | None = None, style: str | list[str] | None = None,
            style_weights: list[float] | None = None, masks: list[str] | None = None,
            strength: float = 1.0, preserve_colour: bool = False, palette: bool = True, texture: bool = True,
            engine: str = "auto",
            precision: str = "fp32", tile: int = 1024, style_size: int = styles.STYLE_SIZE, size: int = 512,
            steps: int = 200,
            optimizer: str = "lbfgs",
            arbitrary_model: str = styles.DEFAULT_ARBITRARY_MODEL, anchor: np.ndarray | None = None,
            **unknown: object) -> Picture:
        self.check({"method": method, "model": model, "precision": precision, "style_weights": style_weights,
                    "strength": strength, "palette": palette, "texture": texture, "preserve_colour": preserve_colour,
                    **unknown})
        x = torch.from_numpy(picture.rgb())[None]
        with torch.inference_mode(mode=method != "optimize"):
            if method == "fast":
                # a model trained with an anchor sees it (`anchor`: a clip's, moving with the scene)
                y = self._fast(_anchored(x, model, anchor), model, engine, precision, tile, progress)
            elif method == "arbitrary":
                paths = _style_list(style)
                y = self._arbitrary(x, paths, style_weights, masks, arbitrary_model, strength, palette, texture,
                                    style_size, engine, precision, tile, progress)
            elif method == "optimize":
                from daguerre.ops.gatys import optimize

                paths = _style_list(style)
                target = torch.from_numpy(load(paths[0]).rgb())[None]
                small, _ = optimize(x, target, size=size, steps=steps, optimizer=optimizer, progress=progress)
                y = _upscale_residual(x, small)
            if preserve_colour:
                y = preserve_colour_fn(x, y)
            if strength < 1.0:  # arbitrary: after moving in code space (the identity is not learned well enough)
                y = blend(x, y, strength)
        out = Picture.from_tensor(y.detach(), like=picture)
        if picture.is_grey and preserve_colour:
            out = out.with_pixels(out.luminance()[None])
        return out

    def _fast(self, x: torch.Tensor, model: str, engine: str, precision: str, tile: int,
              progress: Progress | None) -> torch.Tensor:
        _, net = styles.style_model(model)
        engine = _engine_for(precision, engine, x, tile)
        return run_feedforward(net, x, tile=tile, engine=engine,
                               onnx=lambda: styles.style_model_onnx(model, precision), progress=progress)

    def _arbitrary(self, x: torch.Tensor, paths: list[str], weights: list[float] | None, masks: list[str] | None,
                   model: str, strength: float, palette: bool, texture: bool, style_size: int, engine: str,
                   precision: str, tile: int, progress: Progress | None) -> torch.Tensor:
        _, net = styles.painting_style_model(model)
        engine = _engine_for(precision, engine, x, tile)
        chosen = [styles.painting_style(p, model, style_size) for p in paths]
        if strength < 1.0:  # from the photo's own style (strength 0) to the painting's (1)
            own = styles.image_style(x, model, style_size)
            chosen = [own.towards(c, strength) for c in chosen]

        side, with_texture = max(x.shape[-2:]), texture and palette

        def render(style: styles.PaintingStyle, bands: np.ndarray | None) -> torch.Tensor:
            code = style.code
            session = lambda: _WithCode(s, code) if (s := styles.painting_style_onnx(model, precision)) else None  # noqa: E731
            y = run_feedforward(_WithCode(net, code), x, tile=tile, engine=engine, onnx=session, progress=progress)
            if not palette:
                return y
            if bands is None:
                return torch.lerp(y, match_palette(y, style.lab_mean, style.palette_cov), PALETTE_SHARE)
            return _textured(x, y, bands, style)

        if not masks:
            weights = weights or [1.0] * len(paths)
            if len(weights) != len(paths):
                raise ValueError(f"{len(weights)} style weights given for {len(paths)} styles")
            bands = mix_deviations([styles.painting_bands(p, side) for p in paths], weights) if with_texture else None
            return render(styles.PaintingStyle.mix(chosen, weights), bands)
        if len(masks) != len(paths):
            raise ValueError(f"{len(masks)} masks given for {len(paths)} styles: give one mask per style")
        stack = torch.cat([_mask(m, x.shape[-2:]) for m in masks], 1)
        stack = stack / stack.sum(1, keepdim=True).clamp_min(1e-6)
        return sum(stack[:, i : i + 1] * render(c, styles.painting_bands(p, side) if with_texture else None)
                   for i, (c, p) in enumerate(zip(chosen, paths, strict=True)))

    def provenance(self, **params: object) -> Provenance:
        models: list[dict] = []
        method = params.get("method", "fast")
        if method == "fast" and params.get("model"):
            models.append(model_record(styles.style_model(str(params["model"]))[0]))
        elif method == "arbitrary":
            card, _ = styles.painting_style_model(str(params.get("arbitrary_model", styles.DEFAULT_ARBITRARY_MODEL)))
            models.append(model_record(card))
        return Provenance(self.name, self.version, dict(params), models)

    def with_defaults(self, params: dict, clip: bool) -> dict:
        """A fast style model runs bf16 on clips where this CPU computes it natively (`bf16_available`: faster than
        int8 there, and nearer fp32), else int8 where its int8 file is faithful (`FAITHFUL_DB` from fp32 on the
        training samples), else fp32, as on stills; written into the parameters so an archive recipe says which."""
        if params.get("method", "fast") == "fast" and params.get("precision") is None:
            if not clip:
                return {**params, "precision": "fp32"}
            model = params.get("model")
            fast = "bf16" if _bf16_runs(model) else "int8" if _faithful_int8(model) else "fp32"
            return {**params, "precision": fast}
        if params.get("method") == "arbitrary" and params.get("precision") is None and clip:  # stills stay fp32
            model = params.get("arbitrary_model", styles.DEFAULT_ARBITRARY_MODEL)
            return {**params, "precision": "bf16" if _bf16_runs(model, styles.painting_style_onnx) else "fp32"}
        return params


def steadied_precision(model: object = None) -> str:
    """The precision of a clip steadied inside the network (`--steady inside|moving|local`) when none is asked for:
    bf16 where the CPU has it (on the held-out pan and Megamind its local lock steadies as fp32's does,
    BENCHMARKS.md "bf16"), else fp32 (int8's misses the Megamind goal)."""
    return "bf16" if _bf16_runs(model) else "fp32"


def _bf16_runs(model: object, session: Callable[[str, str], object] | None = None) -> bool:
    """Whether a clip's default can be bf16: the CPU computes it natively and OpenVINO compiles `model` (its whole
    network, by `session(model, "bf16")`; the session is cached, so the clip reuses it). If OpenVINO cannot, the
    clip falls back to int8 or fp32 with a warning naming why, rather than failing on a precision nobody asked for."""
    if not bf16_available():
        return False
    if not isinstance(model, str):
        return True
    try:
        return (session or styles.style_model_onnx)(model, "bf16") is not None
    except (LookupError, ValueError):  # not a style model here: the Operation's own check names the file and why
        return True
    except RuntimeError as e:
        logging.getLogger("daguerre").warning("%s: %s; the clip runs without bf16", model, e)
        return False


def _faithful_int8(model: object) -> bool:
    if not isinstance(model, str):
        return False
    session = styles.style_model_onnx(model, "int8")
    return session is not None and session.agreement is not None and session.agreement >= FAITHFUL_DB


def _engine_for(precision: str, engine: str, x: torch.Tensor, tile: int) -> str:
    """The engine a network runs on at `precision`: int8 and bf16 run its ONNX file, whole pictures only."""
    if precision == "fp32":
        return engine
    if engine == "torch":
        raise ValueError(f"precision {precision} runs the model's ONNX file: use engine auto or onnx")
    if max(x.shape[-2:]) > tile:
        raise ValueError(f"precision {precision} runs whole pictures only: this one is {x.shape[-1]}x"
                         f"{x.shape[-2]}, give tile >= {max(x.shape[-2:])} or precision fp32")
    return "onnx"


class _WithCode:
    """A code-conditioned generator (or its ONNX session) seen as a plain image -> image one, for the tiler."""

    def __init__(self, net, code: torch.Tensor):
        self.net, self.code = net, code

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, code=self.code.expand(x.shape[0], -1))

    def global_statistics(self, whole: torch.Tensor):
        return self.net.global_statistics(whole, self.code)

    def for_inference(self) -> _WithCode:
        return _WithCode(self.net.for_inference(), self.code)


def _anchored(x: torch.Tensor, model: str, anchor: np.ndarray | None) -> torch.Tensor:
    """`x` with the anchor its model's card asks for (`training["anchor"]`, daguerre.video.anchor): `anchor` (H, W)
    if given (a clip's, moved with the scene), else a still's (the tile at identity coordinates). Unchanged for a
    model without it."""
    from daguerre.video.anchor import add_anchor, wanted

    want = wanted(styles.style_model(model)[0])
    if want is None:
        return x
    if anchor is None:
        from daguerre.video.anchor import still_anchor

        anchor = still_anchor(*x.shape[-2:], *want)
    return torch.from_numpy(add_anchor(x[0].numpy(), anchor))[None]


def _textured(x: torch.Tensor, y: torch.Tensor, bands: np.ndarray, style: styles.PaintingStyle) -> torch.Tensor:
    """The network's output `y` moved `PALETTE_SHARE` of the way to the painting's palette, the photo `x`'s detail
    added back (`DETAIL`), its Lab bands set to the painting's deviations `bands`, then the painting's whole
    palette (`imaging.texture`). The elementwise steps run in row strips on the cores (`imaging.lab.row_strips`)."""
    import cv2

    rgb = y[0].permute(1, 2, 0).numpy()
    own_lab = srgb_to_lab(rgb)
    towards = palette_matrix(own_lab, style.lab_mean, style.palette_cov)
    detail = DETAIL * photo_detail(x, DETAIL_SIGMA)
    lab = np.empty(rgb.shape, np.float32)

    def detailed(rows: slice) -> None:  # lerp(y, its palette transfer, share) + detail, clipped, to Lab
        own = np.array(rgb[rows], np.float32, order="C")  # not the channels-first strides of `y`
        moved = cv2.cvtColor(cv2.transform(own_lab[rows], towards), cv2.COLOR_Lab2RGB)
        own += np.float32(PALETTE_SHARE) * (moved - own)
        own += detail[rows, :, None]
        lab[rows] = lab_of_strip(np.clip(own, 0, 1, out=own))

    in_parallel(detailed, row_strips(lab.shape))
    matched = match_bands(lab, bands)

    def clipped(rows: slice) -> None:  # to RGB (OpenCV clips to [0, 1]) and back
        lab[rows] = lab_of_strip(cv2.cvtColor(matched[rows], cv2.COLOR_Lab2RGB))

    in_parallel(clipped, row_strips(lab.shape))
    return torch.from_numpy(palette_map(lab, style.lab_mean, style.palette_cov)).permute(2, 0, 1)[None].to(y.dtype)


def preserve_colour_fn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return preserve_colour(x, y)


def _style_list(style: str | list[str] | None) -> list[str]:
    if not style:
        raise ValueError("this method needs a style image (--style painting.jpg)")
    paths = [style] if isinstance(style, str | Path) else list(style)
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: style image not found")
    return [str(p) for p in paths]


def _mask(path: str, size: tuple[int, int]) -> torch.Tensor:
    m = torch.from_numpy(np.ascontiguousarray(load(path).luminance()))[None, None]
    return torch.nn.functional.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)


def _upscale_residual(full: torch.Tensor, small: torch.Tensor) -> torch.Tensor:
    """Bring a small result to full size, keeping the photo's fine detail: full + up(small - down(full))."""
    if small.shape[-2:] == full.shape[-2:]:
        return small
    interp = torch.nn.functional.interpolate
    down = interp(full, size=small.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
    up = interp(small - down, size=full.shape[-2:], mode="bicubic", align_corners=False)
    return (full + up).clamp(0, 1)


stylize = register(Stylize())
