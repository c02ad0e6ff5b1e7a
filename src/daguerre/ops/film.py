"""`film`: classical period looks that need no training, each a documented tone curve, matrix or noise.

Presets (`PRESETS`), applied to (3,H,W) RGB in [0,1] and mixed with the photo by `strength`:

- sepia: luminance toned brown: channel c = ``black_c + (white_c - black_c) * L**gamma_c`` with gammas
  (0.8, 1.0, 1.35) so R > G > B at every grey, each rising with L.
- cyanotype: the same toning to Prussian blue shadows and a pale paper white, gammas (1.25, 1.0, 0.7).
- daguerreotype: silvery cool grey at low contrast (L -> 0.1 + 0.75 L**1.1), softened, with a broad
  mirror-like sheen across the plate, a tarnished and vignetted edge.
- autochrome: muted, soft colour seen through a random mosaic of orange, green and violet starch grains
  (about 1.5 px, in clumps), dark gaps where grains meet.
- faded-1970s: a fading colour print: saturation 0.7, per-channel curves lifting blacks to magenta and
  turning highlights orange.
- bw-film: a film characteristic S-curve on luminance plus luminance-dependent grain; grey output.

Presets with randomness (grain, starch grains, sheen) take `seed`: the same seed gives the same picture.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import ndimage

from daguerre.imaging import Picture
from daguerre.imaging.aging import grain, luma, tone, vignette
from daguerre.imaging.colour import blend
from daguerre.ops.base import Operation, Progress, Provenance, register

Rng = np.random.Generator


def _unit(x: np.ndarray) -> float:
    return max(min(x.shape[-2:]) / 512, 0.5)


def sepia(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    return tone(luma(rgb), (0.8, 1.0, 1.35), (1.0, 0.97, 0.88), (0.06, 0.03, 0.02))


def cyanotype(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    return tone(luma(rgb), (1.25, 1.0, 0.7), (0.90, 0.95, 0.98), (0.02, 0.10, 0.28))


def daguerreotype(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    lum = ndimage.gaussian_filter(0.1 + 0.75 * luma(rgb) ** 1.1, 0.8 * _unit(rgb))
    out = tone(lum, (1.02, 1.0, 0.96), (0.95, 0.96, 0.98), (0.02, 0.02, 0.03))
    h, w = lum.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.deg2rad(rng.uniform(25, 65))
    u = ((xx / w - 0.5) * np.cos(a) + (yy / h - 0.5) * np.sin(a)) - rng.uniform(-0.2, 0.2)
    sheen = 0.3 * np.exp(-0.5 * (u / 0.18) ** 2)  # a broad reflection across the silvered plate
    out = out + sheen * (1 - out)
    edge = 1 - vignette(np.ones((1, h, w), np.float32), rng, amount=1.0, radius=0.75, centre=[0.5, 0.5])[0]
    out = out + 0.35 * edge * (np.array([0.45, 0.35, 0.55], np.float32)[:, None, None] - out)  # tarnish halo
    return vignette(out, rng, amount=0.6, radius=0.45, centre=[0.5, 0.5])


def autochrome(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    lum = luma(rgb)
    muted = lum + 0.65 * (rgb - lum)
    muted = ndimage.gaussian_filter(0.04 + 0.92 * muted, (0, 0.8 * _unit(rgb), 0.8 * _unit(rgb)))
    muted = muted * np.array([1.03, 1.0, 0.94], np.float32)[:, None, None]
    noise = rng.standard_normal((2, *rgb.shape)).astype(np.float32)
    fields = ndimage.gaussian_filter(noise[0], (0, 1.2, 1.2)) + 0.5 * ndimage.gaussian_filter(noise[1], (0, 5, 5))
    label = fields.argmax(0)
    top2 = np.sort(fields, 0)[-2:]
    filters = np.array([[1.0, 0.55, 0.35], [0.45, 0.85, 0.40], [0.50, 0.45, 1.0]], np.float32)
    screen = (filters / filters.mean(0))[label].transpose(2, 0, 1)  # averages to 1 in every channel
    gaps = np.clip((top2[1] - top2[0]) / 0.08, 0, 1) * 0.2 + 0.8  # carbon black where grains meet
    out = muted * (0.75 + 0.25 * screen) * gaps
    return ndimage.gaussian_filter(out, (0, 0.5, 0.5)) * 1.05


def faded_1970s(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    lum = luma(rgb)
    x = np.clip(lum + 0.7 * (rgb - lum), 0, 1)
    curves = (((0.10, 1.00), 0.9), ((0.07, 0.90), 1.0), ((0.11, 0.79), 1.1))  # (black, white), gamma per channel
    return np.stack([b + (w - b) * x[c] ** g for c, ((b, w), g) in enumerate(curves)])


def bw_film(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    lum = np.clip(luma(rgb), 0, 1)
    s = 1 / (1 + np.exp(-5 * (lum - 0.5)))
    lo, hi = 1 / (1 + np.exp(2.5)), 1 / (1 + np.exp(-2.5))
    curve = 0.5 * lum + 0.5 * (s - lo) / (hi - lo)  # toe and shoulder of a film's characteristic curve
    return grain(curve[None].astype(np.float32), rng, amount=0.05, size=0.7 * _unit(rgb), colour=0.0)


PRESETS: dict[str, Callable[[np.ndarray, Rng], np.ndarray]] = {
    "sepia": sepia, "cyanotype": cyanotype, "daguerreotype": daguerreotype, "autochrome": autochrome,
    "faded-1970s": faded_1970s, "bw-film": bw_film,
}


def repixel(picture: Picture, pixels: np.ndarray) -> Picture:
    """`picture.with_pixels`, dropping an ICC profile whose colour space (grey or RGB) no longer fits the channels."""
    out = picture.with_pixels(np.ascontiguousarray(pixels, np.float32))
    space = picture.icc_profile[16:20] if picture.icc_profile else None
    if space in (b"GRAY", b"RGB ") and (space == b"GRAY") != (out.channels == 1):
        out.icc_profile = None
    return out


def check_look(preset: str, strength: float) -> None:
    """A known preset at a strength between 0 and 1, else a ValueError saying which."""
    if preset not in PRESETS:
        raise ValueError(f"unknown film preset {preset!r} (use one of {', '.join(PRESETS)})")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")


def film(pixels: np.ndarray, preset: str, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Apply a preset to (C,H,W) pixels; strength 0 returns them unchanged, grey presets at 1 return (1,H,W)."""
    check_look(preset, strength)
    if strength == 0:
        return pixels.copy()
    rgb = np.repeat(pixels, 3, 0) if pixels.shape[0] == 1 else pixels
    y = np.clip(PRESETS[preset](rgb, np.random.default_rng(seed)), 0, 1).astype(np.float32)
    if y.shape[0] == 1 and (strength == 1 or pixels.shape[0] == 1):
        base = pixels if pixels.shape[0] == 1 else luma(pixels)[None]
        return blend(torch.from_numpy(base), torch.from_numpy(y), strength).numpy() if strength < 1 else y
    y = np.repeat(y, 3, 0) if y.shape[0] == 1 else y
    return blend(torch.from_numpy(rgb), torch.from_numpy(y), strength).numpy()


class Film(Operation):
    name = "film"
    version = "1"
    summary = "A classical period look (sepia, cyanotype, daguerreotype, autochrome, faded-1970s, bw-film)"

    def check(self, params: dict) -> None:
        super().check(params)
        check_look(params.get("preset", "sepia"), params.get("strength", 1.0))

    def run(self, picture: Picture, progress: Progress | None = None, *, preset: str = "sepia",
            strength: float = 1.0, seed: int = 0, **unknown: object) -> Picture:
        self.check({"preset": preset, "strength": strength, **unknown})
        out = repixel(picture, film(picture.pixels, preset, strength, seed))
        if progress:
            progress(1, 1)
        return out

    def provenance(self, **params: object) -> Provenance:
        # IPTC: algorithmic modification of a captured photo, no trained model, no generated content.
        return Provenance(self.name, self.version, dict(params), models=[],
                          digital_source_type="algorithmicallyEnhanced")


film_op = register(Film())
