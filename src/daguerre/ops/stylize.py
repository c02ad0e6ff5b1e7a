"""`stylize`: a photograph in the style of a painting, three ways.

- fast: a trained one-style generator (`model=`), ONNX Runtime when the image runs whole.
- arbitrary: any painting (`style=`) in one pass through the AdaIN encoder-decoder; several styles
  can be mixed (`style_weights=`) or painted into regions (`masks=`).
- optimize: Gatys et al.'s optimisation on VGG19; slow, highest quality.
Every method takes `strength` (0..1, a blend with the photo: 0 is the photo itself) and `preserve_colour`
(style the luminance only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from daguerre.imaging import Picture, load, pad_to_fit, run_tiled
from daguerre.imaging.colour import blend, downscale, preserve_colour
from daguerre.nets.adain import mean_std
from daguerre.ops import styles
from daguerre.ops.base import Operation, Progress, Provenance, register
from daguerre.ops.feedforward import STATS_SIZE, TILE_OVERLAP, run_feedforward
from daguerre.ops.task_models import model_record

METHODS = ("fast", "arbitrary", "optimize")


class Stylize(Operation):
    name = "stylize"
    version = "1"
    summary = "Restyle a photograph as a painting (fast model, any painting, or optimisation)"

    def run(self, picture: Picture, progress: Progress | None = None, *, method: str = "fast",
            model: str | None = None, style: str | list[str] | None = None,
            style_weights: list[float] | None = None, masks: list[str] | None = None,
            strength: float = 1.0, preserve_colour: bool = False, engine: str = "auto", tile: int = 1024,
            style_size: int = 512, size: int = 512, steps: int = 200, optimizer: str = "lbfgs",
            arbitrary_model: str = styles.DEFAULT_ARBITRARY_MODEL, **unknown: object) -> Picture:
        if unknown:
            raise TypeError(f"stylize: unknown parameter(s) {', '.join(unknown)}")
        x = torch.from_numpy(picture.rgb())[None]
        with torch.inference_mode(mode=method != "optimize"):
            if method == "fast":
                if not model:
                    raise ValueError("method 'fast' needs a model name (see `daguerre models`)")
                y = self._fast(x, model, engine, tile, progress)
            elif method == "arbitrary":
                paths = _style_list(style)
                y = self._arbitrary(x, paths, style_weights, masks, arbitrary_model, style_size, tile, progress)
            elif method == "optimize":
                from daguerre.ops.gatys import optimize

                paths = _style_list(style)
                target = torch.from_numpy(load(paths[0]).rgb())[None]
                small, _ = optimize(x, target, size=size, steps=steps, optimizer=optimizer, progress=progress)
                y = _upscale_residual(x, small)
            else:
                raise ValueError(f"unknown method {method!r} (use {', '.join(METHODS)})")
            if preserve_colour:
                y = preserve_colour_fn(x, y)
            if strength < 1.0:
                y = blend(x, y, strength)
        out = Picture.from_tensor(y.detach(), like=picture)
        if picture.is_grey and preserve_colour:
            out = out.with_pixels(out.luminance()[None])
        return out

    def _fast(self, x: torch.Tensor, model: str, engine: str, tile: int, progress: Progress | None) -> torch.Tensor:
        _, net = styles.style_model(model)
        return run_feedforward(net, x, tile=tile, engine=engine, onnx=lambda: styles.style_model_onnx(model),
                               progress=progress)

    def _arbitrary(self, x: torch.Tensor, paths: list[str], weights: list[float] | None, masks: list[str] | None,
                   model: str, style_size: int, tile: int, progress: Progress | None) -> torch.Tensor:
        encoder = styles.adain_encoder()
        _, decoder = styles.adain_decoder(model)
        stats = [styles.style_statistics(str(p), style_size) for p in paths]
        h, w = x.shape[-2:]
        whole = max(h, w) <= min(tile, STATS_SIZE)
        if whole:  # encode once, padded exactly as the tiler pads a single tile
            padded = pad_to_fit(x)
            features = encoder(padded)["relu4_1"]
        else:
            features = encoder(pad_to_fit(downscale(x, STATS_SIZE)))["relu4_1"]
        c_mean, c_std = mean_std(features)
        if masks:
            if len(masks) != len(paths):
                raise ValueError(f"{len(masks)} masks given for {len(paths)} styles: give one mask per style")
            mask_stack = torch.cat([_mask(m, x.shape[-2:]) for m in masks], 1)
            mask_stack = mask_stack / mask_stack.sum(1, keepdim=True).clamp_min(1e-6)
        else:
            weights = weights or [1.0] * len(paths)
            if len(weights) != len(paths):
                raise ValueError(f"{len(weights)} style weights given for {len(paths)} styles")
            total = sum(weights)
            s_mean = sum(w / total * m for w, (m, _) in zip(weights, stats, strict=True))
            s_std = sum(w / total * s for w, (_, s) in zip(weights, stats, strict=True))
            stats, mask_stack = [(s_mean, s_std)], None

        def render(tile_x: torch.Tensor) -> torch.Tensor:
            rgb = tile_x[:, :3]
            f = features if whole and rgb.shape == padded.shape else encoder(rgb)["relu4_1"]
            normed = (f - c_mean) / c_std
            if mask_stack is None:
                t = normed * stats[0][1] + stats[0][0]
            else:
                m = torch.nn.functional.interpolate(tile_x[:, 3:], size=f.shape[-2:], mode="area")
                t = sum(m[:, i : i + 1] * (normed * sd + mu) for i, (mu, sd) in enumerate(stats))
            return decoder(t)

        inp = x if mask_stack is None else torch.cat([x, mask_stack], 1)
        y = run_tiled(render, inp, tile=tile, overlap=TILE_OVERLAP, progress=progress)
        return y[:, :3]

    def provenance(self, **params: object) -> Provenance:
        models: list[dict] = []
        method = params.get("method", "fast")
        if method == "fast" and params.get("model"):
            models.append(model_record(styles.style_model(str(params["model"]))[0]))
        elif method == "arbitrary":
            card, _ = styles.adain_decoder(str(params.get("arbitrary_model", styles.DEFAULT_ARBITRARY_MODEL)))
            models.append(model_record(card))
        return Provenance(self.name, self.version, dict(params), models)


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
