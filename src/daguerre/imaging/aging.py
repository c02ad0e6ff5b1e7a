"""Synthetic aging: a seedable degradation model of old prints and negatives, with the damage mask.

Every effect is a pure function on float32 pixels laid out like `Picture.pixels`: (C,H,W) in [0,1], C = 1 or 3.
Each takes an explicit `numpy.random.Generator` (for the randomness of where things fall) and keyword
parameters (how strong, how big). Effects that replace content (dust, scratches, creases, tears) return
``(pixels, mask)`` with a (H,W) mask in [0,1]: the pixels an inpainter should fill. Sizes are in pixels of a
512-pixel image (`_unit`) and scale with the picture, so a 4000-pixel scan ages like a 512-pixel one. Water
stains, foxing and silver mirroring (`stains`, `silvering`) change the paper's and the silver's tone, not the
picture's content: they are not masked (a restorer corrects them; it does not paint over them).

`age(image, seed)` samples which effects apply and their parameters from the seed, in a physical order
(camera -> print -> aging of the print -> damage -> scan -> sensor noise of a digital copy), and records them
in `AgedResult.params`.
Each effect draws from its own generator `default_rng([seed, crc32(name)])`, so the same seed gives the same
scratches whether or not other effects are chosen.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from scipy import ndimage, signal

from daguerre.imaging.picture import LUMA_WEIGHTS, Picture

Rng = np.random.Generator
PAPER_DIRS = ("/usr/share/gimp/*/patterns", "/usr/share/mypaint/backgrounds", "/usr/share/mypaint-data/*/backgrounds")


# ---- helpers -------------------------------------------------------------------------------------------------

def _unit(x: np.ndarray) -> float:
    """Pixels per pixel-of-a-512-image (at least 0.5): effect sizes scale with the picture."""
    return max(min(x.shape[-2:]) / 512, 0.5)


def luma(x: np.ndarray) -> np.ndarray:
    """(H,W) BT.601 luma of (C,H,W) pixels."""
    return x[0] if x.shape[0] == 1 else np.tensordot(LUMA_WEIGHTS, x, axes=1)


def _rgb(x: np.ndarray) -> np.ndarray:
    return np.repeat(x, 3, axis=0) if x.shape[0] == 1 else x


def _colour(x: np.ndarray, rgb: list[float] | tuple[float, ...]) -> np.ndarray:
    """A (C,1,1) fill colour for pixels with C channels (grey pictures get the colour's luma)."""
    c = np.asarray(rgb, np.float32)
    return (c if x.shape[0] == 3 else np.array([LUMA_WEIGHTS @ c], np.float32))[:, None, None]


def _over(x: np.ndarray, alpha: np.ndarray, rgb: list[float] | tuple[float, ...]) -> np.ndarray:
    return x * (1 - alpha) + _colour(x, rgb) * alpha


def _smooth_noise(rng: Rng, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian noise low-passed at `sigma` pixels, rescaled to zero mean and unit deviation."""
    n = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    return (n - n.mean()) / max(float(n.std()), 1e-8)


def _walk(rng: Rng, start: np.ndarray, angle: float, length: float, curvature: float, step: float = 0.5) -> np.ndarray:
    """(N,2) x,y points of a random-walk curve: the heading drifts by `curvature` radians per pixel (smoothed)."""
    n = max(2, int(length / step))
    turn = ndimage.gaussian_filter1d(rng.standard_normal(n), 20) * curvature * step * 20
    heading = angle + np.cumsum(turn)
    return start + np.cumsum(step * np.stack([np.cos(heading), np.sin(heading)], 1), 0)


def draw_curve(canvas: np.ndarray, points: np.ndarray, width: float, weights: np.ndarray | None = None,
               step: float = 0.5) -> None:
    """Max-composite an antialiased curve into the (H,W) alpha `canvas`, in place.

    Points (x,y), `step` pixels apart, are splatted bilinearly and blurred by a Gaussian of FWHM `width`; the
    result is normalised so the line's core has alpha `weights` (default 1), with a soft antialiased edge.
    """
    h, w = canvas.shape
    sigma = max(width / 2.355, 0.4)
    pad = int(4 * sigma) + 2
    wts = np.ones(len(points), np.float32) if weights is None else weights.astype(np.float32)
    keep = (points[:, 0] > -pad) & (points[:, 0] < w + pad) & (points[:, 1] > -pad) & (points[:, 1] < h + pad)
    pts, wts = points[keep], wts[keep]
    if len(pts) == 0:
        return
    x0, y0 = int(np.floor(pts[:, 0].min())) - pad, int(np.floor(pts[:, 1].min())) - pad
    x1, y1 = int(np.ceil(pts[:, 0].max())) + pad, int(np.ceil(pts[:, 1].max())) + pad
    local = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.float32)
    fx, fy = pts[:, 0] - x0, pts[:, 1] - y0
    ix, iy = np.floor(fx).astype(int), np.floor(fy).astype(int)
    ax, ay = fx - ix, fy - iy
    for dy, dx, wgt in ((0, 0, (1 - ax) * (1 - ay)), (0, 1, ax * (1 - ay)), (1, 0, (1 - ax) * ay), (1, 1, ax * ay)):
        np.add.at(local, (iy + dy, ix + dx), wts * wgt)
    local = ndimage.gaussian_filter(local, sigma) * (step * np.sqrt(2 * np.pi) * sigma)
    local = np.clip(1.5 * local, 0, 1)
    cy0, cx0, cy1, cx1 = max(y0, 0), max(x0, 0), min(y0 + local.shape[0], h), min(x0 + local.shape[1], w)
    if cy1 > cy0 and cx1 > cx0:
        region = canvas[cy0:cy1, cx0:cx1]
        np.maximum(region, local[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0], out=region)


# ---- tone and colour -----------------------------------------------------------------------------------------

def fade(x: np.ndarray, rng: Rng, *, black: float, white: float, gamma: float, saturation: float) -> np.ndarray:
    """Fading and contrast loss: ``black + (white - black) * x**gamma``, chroma scaled by `saturation`."""
    y = black + (white - black) * np.power(x, gamma)
    lum = luma(y)
    return (lum + saturation * (y - lum)).astype(np.float32)


def tone(lum: np.ndarray, gammas: tuple[float, float, float], white: tuple[float, float, float],
         black: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Toning of a (H,W) luminance into (3,H,W) RGB: channel c is ``black_c + (white_c - black_c) * lum**gamma_c``.

    Every channel rises with luminance (monotone); gammas R < G < B give warm (sepia) tones, B < R gives cool.
    """
    lum = np.clip(lum, 0, 1)
    return np.stack([b + (w - b) * lum ** g for g, w, b in zip(gammas, white, black, strict=True)]).astype(np.float32)


def yellowing(x: np.ndarray, rng: Rng, *, sepia: float, paper: list[float]) -> np.ndarray:
    """Sepia toning mixed in by `sepia`, then yellowed paper: highlights multiplied by the `paper` RGB colour."""
    rgb = _rgb(x)
    y = rgb + sepia * (tone(luma(rgb), (0.85, 1.0, 1.3), (1.0, 0.96, 0.86)) - rgb)
    return (y * (1 - luma(y) * (1 - np.asarray(paper, np.float32)[:, None, None]))).astype(np.float32)


def colour_cast(x: np.ndarray, rng: Rng, *, gains: list[float], offsets: list[float]) -> np.ndarray:
    """Dye fading and colour casts: per-channel ``x * gain + offset`` (RGB; grey pictures become colour)."""
    g, o = np.asarray(gains, np.float32)[:, None, None], np.asarray(offsets, np.float32)[:, None, None]
    return np.clip(_rgb(x) * g + o, 0, 1)


def grey(x: np.ndarray, rng: Rng) -> np.ndarray:
    """Black-and-white film: the (1,H,W) luma."""
    return luma(x)[None].astype(np.float32)


def vignette(x: np.ndarray, rng: Rng, *, amount: float, radius: float, centre: list[float]) -> np.ndarray:
    """Darkened edges: multiply by ``1 - amount * t**2``, t rising from 0 at `radius` to 1 at the far corner.

    Distances are normalised by the half-width and half-height, so the fall-off is elliptical.
    """
    h, w = x.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx + 0.5) / w - centre[0], (yy + 0.5) / h - centre[1]) * 2
    t = np.clip((r - radius) / max(float(r.max()) - radius, 1e-6), 0, 1)
    return (x * (1 - amount * t**2)).astype(np.float32)


# ---- grain, optics and print ---------------------------------------------------------------------------------

def grain(x: np.ndarray, rng: Rng, *, amount: float, size: float, colour: float) -> np.ndarray:
    """Film grain: noise of `size` pixels, deviation ``amount * (0.3 + 0.7 * sqrt(4 L (1 - L)))`` (L = luma).

    Grain is strongest in the mid-tones and weakest in clipped blacks and whites; `colour` in [0,1] mixes
    independent per-channel grain (dye clouds) into the shared silver grain.
    """
    lum = np.clip(luma(x), 0, 1)
    sigma = amount * (0.3 + 0.7 * np.sqrt(4 * lum * (1 - lum)))
    noise = _smooth_noise(rng, (1, *x.shape[-2:]), (0, size, size))
    if x.shape[0] == 3 and colour > 0:
        noise = (1 - colour) * noise + colour * _smooth_noise(rng, x.shape, (0, size, size))
    return np.clip(x + sigma * noise, 0, 1).astype(np.float32)


def blur(x: np.ndarray, rng: Rng, *, sigma: float, defocus: float) -> np.ndarray:
    """Soft focus: a Gaussian of `sigma` pixels, then lens defocus (a uniform disc of radius `defocus` pixels)."""
    y = ndimage.gaussian_filter(x, (0, sigma, sigma), mode="reflect") if sigma > 0 else x
    if defocus >= 0.5:
        r = int(np.ceil(defocus))
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        disc = np.clip(defocus + 0.5 - np.hypot(xx, yy), 0, 1)  # antialiased edge
        disc /= disc.sum()
        padded = np.pad(y, ((0, 0), (r, r), (r, r)), mode="reflect")
        y = signal.fftconvolve(padded, disc[None], mode="valid")
    return np.clip(y, 0, 1).astype(np.float32)


def halftone(x: np.ndarray, rng: Rng, *, period: float, angle: float, amount: float, gain: float = 0.0,
             supersample: int = 3) -> np.ndarray:
    """A halftone print (newspaper, magazine, postcard), scanned: round dots on a screen of `period` px.

    Colour pictures are separated into CMYK (grey component replacement) and each ink is screened at the classic
    angles (C 15, M 75, Y 0, K 45 degrees, plus `angle`): the rosette. Grey pictures get one black screen at
    45 + `angle`. Dots spread by `gain` (dot gain of wet ink on paper). The print is rendered at `supersample`
    times the scan's resolution and area-averaged to it, so screens near the pixel pitch alias into moire as a
    scanner's do, then mixed in by `amount`.
    """
    c, h, w = x.shape
    s = supersample
    big = np.broadcast_to(x[:, :, None, :, None], (c, h, s, w, s)).reshape(c, h * s, w * s)
    big = ndimage.gaussian_filter(big, (0, s / 2, s / 2))  # no blocky tone steps at the dots' scale
    ys, xs = np.arange(h * s, dtype=np.float32) / s, np.arange(w * s, dtype=np.float32) / s
    if c == 1:
        inks = [(1 - big[0], 45.0, np.zeros(1, np.float32))]
    else:
        k = 1 - big.max(0)
        cmy = (1 - big - k) / np.maximum(1 - k, 1e-3)
        inks = [(cmy[0], 15.0, np.array([0.0, 0.65, 0.92])), (cmy[1], 75.0, np.array([0.92, 0.1, 0.55])),
                (cmy[2], 0.0, np.array([1.0, 0.93, 0.05])), (k, 45.0, np.array([0.1, 0.1, 0.12]))]
    printed = np.ones_like(big)
    for cover, screen_angle, ink in inks:
        a = np.deg2rad(angle + screen_angle)
        screen = 0.5 - 0.25 * (_plane_wave(xs, ys, np.cos(a), np.sin(a), period)
                               + _plane_wave(xs, ys, -np.sin(a), np.cos(a), period))
        cover = np.clip(cover + 4 * gain * cover * (1 - cover), 0, 1)
        dots = np.clip((cover - screen) * 8 + 0.5, 0, 1)
        printed *= 1 - dots[None] * (1 - ink.astype(np.float32)[:, None, None])
    scanned = printed.reshape(c, h, s, w, s).mean((2, 4))
    return (x + amount * (scanned - x)).astype(np.float32)


def _plane_wave(xs: np.ndarray, ys: np.ndarray, kx: float, ky: float, period: float) -> np.ndarray:
    """cos(2 pi (kx x + ky y) / period) on the grid ys x xs, as an outer product (cos(a + b) expanded)."""
    ax, ay = 2 * np.pi * kx * xs / period, 2 * np.pi * ky * ys / period
    return np.cos(ay)[:, None] * np.cos(ax)[None] - np.sin(ay)[:, None] * np.sin(ax)[None]


def lowres(x: np.ndarray, rng: Rng, *, factor: float) -> np.ndarray:
    """Low resolution: antialiased downscale by `factor`, bicubic upscale back to the same size."""
    h, w = x.shape[-2:]
    t = torch.from_numpy(np.ascontiguousarray(x))[None]
    small = F.interpolate(t, size=(max(1, round(h / factor)), max(1, round(w / factor))), mode="bilinear",
                          antialias=True, align_corners=False)
    return F.interpolate(small, size=(h, w), mode="bicubic", align_corners=False)[0].clamp(0, 1).numpy()


def jpeg(x: np.ndarray, rng: Rng, *, quality: int) -> np.ndarray:
    """JPEG artefacts: a Pillow encode and decode at `quality` (4:2:0 chroma for colour)."""
    arr = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(arr[0]) if x.shape[0] == 1 else Image.fromarray(np.moveaxis(arr, 0, -1))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(quality))
    out = np.asarray(Image.open(buf), np.float32) / 255
    return out[None] if out.ndim == 2 else np.moveaxis(out, -1, 0).copy()


def scan(x: np.ndarray, rng: Rng, *, banding: float, streaks: int, streak_strength: float, noise: float,
         axis: int) -> np.ndarray:
    """Scanner artefacts: gain banding across the scan, `streaks` lines along it (dirty sensor elements),
    and sensor noise. ``axis=0``: the scan moves down the picture (vertical streaks, horizontal bands)."""
    h, w = x.shape[-2:]
    n_across, n_along = (w, h) if axis == 0 else (h, w)
    band = 1 + banding * ndimage.gaussian_filter1d(rng.standard_normal(n_along), n_along / 60) * np.sqrt(n_along / 15)
    line = np.zeros(n_across, np.float32)
    for _ in range(streaks):
        c = rng.uniform(0, n_across)
        width = rng.uniform(0.5, 2.5) * max(1.0, n_across / 512)
        line += rng.choice([-1, 1]) * streak_strength * rng.uniform(0.3, 1) * np.exp(
            -0.5 * ((np.arange(n_across) - c) / width) ** 2)
    offset = line[None, :] if axis == 0 else line[:, None]
    gain = band[:, None] if axis == 0 else band[None, :]
    y = x * gain + offset + noise * rng.standard_normal(x.shape).astype(np.float32)
    return np.clip(y, 0, 1).astype(np.float32)


def noise(x: np.ndarray, rng: Rng, *, sigma: float, colour: float) -> np.ndarray:
    """Sensor noise of a digital copy (a phone or camera photographing the print): white Gaussian noise of
    deviation `sigma`, shared by the channels (luminance) mixed with `colour` of independent per-channel noise."""
    shared = rng.standard_normal((1, *x.shape[-2:])).astype(np.float32)
    own = rng.standard_normal(x.shape).astype(np.float32)
    mixed = (np.sqrt(1 - colour) * shared + np.sqrt(colour) * own) if x.shape[0] == 3 else shared
    return np.clip(x + sigma * mixed, 0, 1).astype(np.float32)


@cache
def paper_textures(folders: tuple[str, ...] = PAPER_DIRS) -> tuple[Path, ...]:
    """Paper textures from Debian's `gimp-data` (Paper/*.pat) and `mypaint-data-extras` (backgrounds/*Paper*.png),
    if installed; empty otherwise. `folders` are glob patterns of absolute folders, searched recursively."""
    found: list[Path] = []
    for pattern in folders:
        for folder in sorted(Path("/").glob(pattern.lstrip("/"))):
            found += [f for f in sorted(folder.rglob("*")) if f.suffix.lower() in (".png", ".jpg", ".pat")
                      and any(k in f.name.lower() for k in ("paper", "parchment", "crinkle", "canvas", "watercolor"))]
    return tuple(found)


def read_texture(path: str | Path) -> np.ndarray:
    """(H,W) float32 luminance of a texture: any Pillow image, or a GIMP pattern (.pat, "GPAT" header)."""
    raw = Path(path).read_bytes()
    if raw[20:24] != b"GPAT":
        with Image.open(io.BytesIO(raw)) as im:
            return np.asarray(im.convert("L"), np.float32) / 255
    header, _, w, h, depth = struct.unpack(">5I", raw[:20])
    px = np.frombuffer(raw[header:header + w * h * depth], np.uint8).reshape(h, w, depth)
    return px[..., :3 if depth >= 3 else 1].mean(-1).astype(np.float32) / 255


def paper(x: np.ndarray, rng: Rng, *, path: str, amount: float) -> np.ndarray:
    """Paper texture: the texture's luminance, tiled over the picture, modulates it by about ±`amount` * 10%."""
    tex = read_texture(path)
    h, w = x.shape[-2:]
    tex = np.roll(tex, (int(rng.integers(tex.shape[0])), int(rng.integers(tex.shape[1]))), (0, 1))
    tex = np.tile(tex, (-(-h // tex.shape[0]), -(-w // tex.shape[1])))[:h, :w]
    dev = (tex - tex.mean()) / max(float(tex.std()), 1e-6)
    return np.clip(x * (1 + 0.1 * amount * dev), 0, 1).astype(np.float32)


# ---- stains and silvering of the aged print (tone damage: not masked) ----------------------------------------

def _coarse_noise(rng: Rng, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """`_smooth_noise` of a (H,W) field at `sigma` px, drawn on a grid coarse enough for the filter to stay cheap
    (about 4 cells per sigma) and bilinearly resized to `shape`."""
    k = max(1.0, sigma / 4)
    small = _smooth_noise(rng, (max(2, round(shape[0] / k)), max(2, round(shape[1] / k))), sigma / k)
    return F.interpolate(torch.from_numpy(small)[None, None], size=shape, mode="bilinear",
                         align_corners=False)[0, 0].numpy()


def _blobs(rng: Rng, shape: tuple[int, int], count: int, radius: float, unit: float) -> np.ndarray:
    """(H,W) alpha of `count` soft ragged spots, radius about 0.3..1 x `radius` px, peak about 1."""
    h, w = shape
    layer = np.zeros(shape, np.float32)
    if count <= 0:
        return layer
    radii = radius * rng.uniform(0.3, 1, count)
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    ragged = 1 + 0.4 * _smooth_noise(rng, shape, 0.8 * unit)
    for lo, hi in ((0, np.median(radii)), (np.median(radii), np.inf)):  # two size classes
        sel = (radii >= lo) & (radii < hi)
        if not sel.any():
            continue
        spots = np.zeros(shape, np.float32)
        spots[ys[sel], xs[sel]] = 1
        sigma = float(np.median(radii[sel])) / 1.5
        blob = ndimage.gaussian_filter(spots, sigma) * (2 * np.pi * sigma**2)
        np.maximum(layer, np.clip(1.6 * blob * ragged, 0, 1), out=layer)
    return layer


def stains(x: np.ndarray, rng: Rng, *, count: int, size: float, depth: float, lighter: float, rim: float,
           tint: list[float], foxing: int, fox_size: float) -> np.ndarray:
    """Water stains and foxing on the print's paper (tone damage: the picture stays, so nothing is masked).

    `count` irregular blotches about `size` x the short side across, where water soaked the print: inside, the
    picture is multiplied towards the `tint` RGB by `depth` (a `lighter` share of them bleached lighter instead),
    and where the water dried, a darker tide line `rim` (about 1-3 px of a 512 image, broken) follows the
    blotch's edge, sometimes with a second, fainter one inside it. `foxing` small rusty-brown spots up to
    `fox_size` px across (fungal and iron spots in the paper) are multiplied in on top.
    """
    h, w = x.shape[-2:]
    unit, short = _unit(x), min(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    brown = _colour(x, tint)
    y = x.copy()
    for _ in range(count):
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        rx = size * short * rng.uniform(0.6, 1.4)
        ry, a = rx * rng.uniform(0.5, 1.5), rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
        v = -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
        # px inside the blotch's edge (negative outside); the edge wanders with smooth noise
        inside_px = (1 - np.hypot(u / rx, v / ry) + 0.25 * _coarse_noise(rng, (h, w), 0.3 * rx)) * min(rx, ry)
        soaked = np.clip(0.5 + inside_px / (1.5 * unit), 0, 1)
        soaked *= np.clip(0.75 + 0.25 * _coarse_noise(rng, (h, w), 0.2 * rx), 0.3, 1)  # uneven inside
        width = rng.uniform(1, 3) * unit
        line = np.exp(-0.5 * ((inside_px - width) / width) ** 2)
        if rng.random() < 0.5:  # a second tide line where the water stood for a while
            line = np.maximum(line, 0.5 * np.exp(-0.5 * ((inside_px - rng.uniform(0.15, 0.4) * rx) / width) ** 2))
        line *= np.clip(0.6 + 0.6 * _coarse_noise(rng, (h, w), 6 * unit), 0, 1)
        if rng.random() < lighter:  # bleached paper: lighter, still a dark tide line
            y = y + (0.5 * depth * soaked)[None] * (_colour(x, (0.97, 0.95, 0.9)) - y)
        else:
            y = y * (1 - (depth * soaked)[None] * (1 - brown))
        y = y * (1 - (rim * line)[None] * (1 - brown**2))
    spots = _blobs(rng, (h, w), foxing, fox_size, unit) * rng.uniform(0.4, 0.9)
    y = y * (1 - spots[None] * (1 - _colour(x, (0.62, 0.4, 0.22))))
    return np.clip(y, 0, 1).astype(np.float32)


def silvering(x: np.ndarray, rng: Rng, *, amount: float, reach: float, tint: list[float],
              patchiness: float) -> np.ndarray:
    """Silver mirroring: silver migrated to the print's surface gives a bluish metallic sheen that brightens and
    desaturates the dark areas (dense silver), strongest near the print's edges (it spreads from them over
    `reach` x the short side) and patchy (`patchiness` in [0,1]). At weight s = `amount` x edge x patch x
    (1 - luma)^1.5 the chroma is scaled by 1 - s and the picture mixed towards the `tint` RGB by s.
    Tone damage: nothing is masked."""
    h, w = x.shape[-2:]
    short = min(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = np.minimum(np.minimum(xx + 0.5, w - 0.5 - xx), np.minimum(yy + 0.5, h - 0.5 - yy)) / short
    patch = np.clip(0.5 + 0.6 * _coarse_noise(rng, (h, w), 0.06 * short), 0, 1)
    weight = amount * np.exp(-edge / reach) * (1 - patchiness + patchiness * patch)
    lum = luma(x)
    s = (weight * np.clip(1 - lum, 0, 1) ** 1.5)[None]
    y = lum[None] + (1 - s) * (x - lum[None])
    y = y + s * (_colour(x, tint) - y)
    return np.clip(y, 0, 1).astype(np.float32)


# ---- damage: these return (pixels, mask) ---------------------------------------------------------------------

def dust(x: np.ndarray, rng: Rng, *, count: int, max_radius: float, dark_fraction: float,
         fibres: int, flakes: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dust and specks: `count` ragged blobs (radius 0.5..`max_radius` px, mostly small) plus `fibres` short
    curly hairs and `flakes` large hard-edged chips (2..6 x `max_radius`, irregular polygons: flaked emulsion,
    grit); a `dark_fraction` of them dark (dirt on the print), the rest bright (dust on the negative)."""
    h, w = x.shape[-2:]
    layers = {True: np.zeros((h, w), np.float32), False: np.zeros((h, w), np.float32)}
    radius = 0.5 + (max_radius - 0.5) * rng.random(count) ** 3
    dark = rng.random(count) < dark_fraction
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    ragged = 1 + 0.5 * _smooth_noise(rng, (h, w), 0.8 * _unit(x))  # irregular, not round, specks
    # specks drawn in four size classes (none when the count rounds to zero on a small crop)
    edges = np.r_[0, np.quantile(radius, [0.5, 0.8, 0.95]), np.inf] if count else np.r_[0, np.inf]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        for is_dark, layer in layers.items():
            sel = (radius >= lo) & (radius < hi) & (dark == is_dark)
            if not sel.any():
                continue
            spots = np.zeros((h, w), np.float32)
            spots[ys[sel], xs[sel]] = 1
            r = float(np.median(radius[sel]))
            blob = ndimage.gaussian_filter(spots, r / 1.3) * (2 * np.pi * (r / 1.3) ** 2)
            np.maximum(layer, np.clip(2.5 * blob * ragged, 0, 1), out=layer)
    for _ in range(fibres):
        start = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        curve = _walk(rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(10, 40) * _unit(x), 0.04)
        draw_curve(layers[bool(rng.random() < dark_fraction)], curve, rng.uniform(0.6, 1.2) * max(_unit(x), 1))
    for _ in range(flakes):
        flake = _flake(rng, (h, w), rng.uniform(2, 6) * max_radius)
        layer = layers[bool(rng.random() < dark_fraction)]
        np.maximum(layer, flake, out=layer)
    y = _over(_over(x, layers[True], (0.08, 0.07, 0.06)), layers[False], (0.95, 0.94, 0.92))
    return y.astype(np.float32), np.maximum(layers[True], layers[False])


def _flake(rng: Rng, shape: tuple[int, int], radius: float) -> np.ndarray:
    """(H,W) alpha of one hard-edged irregular polygon (5..9 corners) about `radius` px, at a random place."""
    h, w = shape
    n = int(rng.integers(5, 10))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.5, 1.2, n)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    x0, y0 = max(int(cx - 1.3 * radius) - 1, 0), max(int(cy - 1.3 * radius) - 1, 0)
    x1, y1 = min(int(cx + 1.3 * radius) + 2, w), min(int(cy + 1.3 * radius) + 2, h)
    alpha = np.zeros(shape, np.float32)
    if x1 <= x0 or y1 <= y0:
        return alpha
    s = 4  # drawn 4x larger and area-averaged: a sharp, antialiased edge
    pts = [(float((cx - x0 + r * np.cos(a)) * s), float((cy - y0 + r * np.sin(a)) * s))
           for a, r in zip(angles, radii, strict=True)]
    im = Image.new("L", ((x1 - x0) * s, (y1 - y0) * s), 0)
    ImageDraw.Draw(im).polygon(pts, fill=255)
    alpha[y0:y1, x0:x1] = np.asarray(im, np.float32).reshape(y1 - y0, s, x1 - x0, s).mean((1, 3)) / 255
    return alpha


def scratches(x: np.ndarray, rng: Rng, *, count: int, width: float, length: float, curvature: float,
              bright_fraction: float, opacity: float) -> tuple[np.ndarray, np.ndarray]:
    """Scratches: `count` thin random-walk curves about `width` px wide and up to `length` x the diagonal long,
    bending `curvature` rad/px, broken along their length; bright (scratched print) or dark (scratched negative).
    """
    h, w = x.shape[-2:]
    bright, dark = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    diag = float(np.hypot(h, w))
    for _ in range(count):
        curve = _walk(rng, np.zeros(2), rng.uniform(0, 2 * np.pi), diag * length * rng.uniform(0.3, 1), curvature)
        curve += np.array([rng.uniform(0, w), rng.uniform(0, h)]) - curve[len(curve) // 2]  # centred in the picture
        along = ndimage.gaussian_filter1d(rng.standard_normal(len(curve)), 60) * 25
        weights = opacity * np.clip(0.6 + along, 0, 1)
        draw_curve(bright if rng.random() < bright_fraction else dark, curve, width * rng.uniform(0.6, 1.4), weights)
    y = _over(_over(x, dark, (0.06, 0.05, 0.05)), bright, (0.97, 0.96, 0.94))
    return y.astype(np.float32), np.maximum(bright, dark)


def faint(x: np.ndarray, rng: Rng, *, scratches_count: int, width: float, length: float, curvature: float,
          bright_fraction: float, specks: int, max_radius: float, dark_fraction: float,
          opacity: float) -> tuple[np.ndarray, np.ndarray]:
    """Faint damage: thin hairlines and small specks at low `opacity` (0.1-0.5: worn, half-polished, or light on
    light), drawn as `scratches` and `dust` and mixed back into the picture. Masked wholly (footprint, not
    opacity): a pixel under a faint scratch is as damaged as under a dark one, only less visibly."""
    lines, line_mask = scratches(x, rng, count=scratches_count, width=width, length=length, curvature=curvature,
                                 bright_fraction=bright_fraction, opacity=1)
    specked, speck_mask = dust(x, rng, count=specks, max_radius=max_radius, dark_fraction=dark_fraction, fibres=0)
    y = x + opacity * (lines - x) + opacity * (specked - x)
    return np.clip(y, 0, 1).astype(np.float32), np.maximum(line_mask, speck_mask)


def taper(x: np.ndarray, rng: Rng, *, count: int, width: float, length: float, curvature: float,
          bright_fraction: float, opacity: float, ends: float, specks: int, max_radius: float, dark_fraction: float,
          speck_opacity: float, visible: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Tapering hairlines: a real scratch is made by a point that bites in and lifts off, so it fades in from
    nothing, is strongest somewhere along its course and fades out again; how deep it bites also wanders. `count`
    random-walk curves about `width` px wide (down to one pixel), their opacity rising from 0 over the first
    `ends` of their length (each end draws its own share around it), wandering along the middle and falling to 0
    over the last; peak `opacity`. Plus `specks` low-contrast specks (as `dust`'s, at `speck_opacity`). Masked
    where the line or speck changes the picture by at least `visible` of its full contrast (the faded tips past
    that are invisible, and marking them would teach a mask to fire on nothing)."""
    h, w = x.shape[-2:]
    bright, dark = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    footprint = np.zeros((h, w), np.float32)
    diag = float(np.hypot(h, w))
    for _ in range(count):
        curve = _walk(rng, np.zeros(2), rng.uniform(0, 2 * np.pi), diag * length * rng.uniform(0.3, 1), curvature)
        curve += np.array([rng.uniform(0, w), rng.uniform(0, h)]) - curve[len(curve) // 2]
        t = np.linspace(0, 1, len(curve))
        rise, fall = (ends * rng.uniform(0.5, 1.5, 2)).clip(0.05, 0.6)
        envelope = np.minimum(np.clip(t / rise, 0, 1), np.clip((1 - t) / fall, 0, 1)) ** rng.uniform(1, 2)
        along = np.clip(0.7 + ndimage.gaussian_filter1d(rng.standard_normal(len(curve)), 40) * 15, 0.2, 1)
        weights = opacity * envelope * along
        line_width = width * rng.uniform(0.6, 1.4)
        draw_curve(bright if rng.random() < bright_fraction else dark, curve, line_width, weights)
        draw_curve(footprint, curve, line_width, (weights >= visible).astype(np.float32))
    y = _over(_over(x, dark, (0.06, 0.05, 0.05)), bright, (0.97, 0.96, 0.94))
    if specks:
        specked, speck_mask = dust(y, rng, count=specks, max_radius=max_radius, dark_fraction=dark_fraction, fibres=0)
        y = y + speck_opacity * (specked - y)
        np.maximum(footprint, speck_mask * (speck_mask * speck_opacity >= visible), out=footprint)
    return np.clip(y, 0, 1).astype(np.float32), footprint


def creases(x: np.ndarray, rng: Rng, *, count: int, width: float, shading: float, crack: float,
            bend: float, crack_width: float = 0.0, fibre: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Folds: `count` slightly bent lines across the print, lit from one side (brightness ±`shading` over
    `width` px) with the emulsion cracked white along the fold (opacity `crack`, broken); the crack is masked.
    The crack is about `crack_width` px wide (0: the thinnest, 0.6 px of a 512 image), its width and course
    wandering along the fold, and `fibre` in [0,1] breaks it into a speckled texture of flaked emulsion."""
    h, w = x.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    diag = float(np.hypot(h, w))
    core = max(crack_width, 0.6 * _unit(x), 0.6)
    y, mask = x.copy(), np.zeros((h, w), np.float32)
    for _ in range(count):
        p0 = np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h])
        a = rng.uniform(0, np.pi)
        t = (xx - p0[0]) * np.cos(a) + (yy - p0[1]) * np.sin(a)
        d = (-(xx - p0[0]) * np.sin(a) + (yy - p0[1]) * np.cos(a) + bend * t**2 / diag) / width
        y = y * (1 + shading * d * np.exp(0.5 - 0.5 * d**2))
        n = int(2 * diag) + 1
        breaks = ndimage.gaussian_filter1d(rng.standard_normal(n), 8 * max(_unit(x), 1)) * 6
        strength = crack * np.clip(0.3 + np.interp(t + diag, np.arange(n), breaks), 0, 1)
        along = [np.interp(t + diag, np.arange(n), _smooth_noise(rng, (n,), 6 * core)) for _ in range(2)]
        across = d * width + 0.6 * core * along[0]  # px from the crack's wandering centre line
        alpha = strength * np.clip(1.5 * np.exp(-0.5 * (across / (core * np.clip(1 + 0.4 * along[1], 0.4, 2))) ** 2),
                                   0, 1)
        if fibre:
            speckle = np.clip(0.6 + 0.8 * _smooth_noise(rng, (h, w), 0.5 * max(_unit(x), 1)), 0, 1)
            alpha = alpha * (1 - fibre * (1 - speckle))
        y, mask = _over(y, alpha, (0.93, 0.92, 0.89)), np.maximum(mask, alpha)
    return np.clip(y, 0, 1).astype(np.float32), mask.astype(np.float32)


def tears(x: np.ndarray, rng: Rng, *, corners: list[int], size: float, background: list[float],
          roughness: float) -> tuple[np.ndarray, np.ndarray]:
    """Torn corners: each corner in `corners` (0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left) is missing
    along a jagged line about `size` x the short side from it, showing the `background` RGB (the scanner bed),
    with a thin white fringe of torn paper fibres; both are masked."""
    h, w = x.shape[-2:]
    y, mask = x.copy(), np.zeros((h, w), np.float32)
    side = min(h, w)
    for corner in corners:
        a, b = (size * side * rng.uniform(0.6, 1.6, 2)).clip(4, None)
        bw, bh = min(w, int(a * 1.6) + 8), min(h, int(b * 1.6) + 8)
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        dist = (xx / a + yy / b - 1) * (a * b / np.hypot(a, b))  # px from the tear line, > 0 inside the print
        jag = roughness * (_smooth_noise(rng, (bh, bw), 2 * max(_unit(x), 1)) + _smooth_noise(rng, (bh, bw), 8))
        dist = dist + jag
        gone = np.clip(0.5 - dist, 0, 1)
        fringe = np.clip(0.5 - (dist - rng.uniform(1, 3) * max(_unit(x), 1)), 0, 1) - gone
        flip_x, flip_y = corner in (1, 2), corner in (2, 3)
        sl = (slice(h - bh, h) if flip_y else slice(0, bh), slice(w - bw, w) if flip_x else slice(0, bw))
        gone, fringe = (g[::-1 if flip_y else 1, ::-1 if flip_x else 1] for g in (gone, fringe))
        region = _over(_over(y[:, sl[0], sl[1]], fringe, (0.96, 0.95, 0.92)), gone, background)
        y[:, sl[0], sl[1]] = region
        mask[sl] = np.maximum(mask[sl], gone + fringe)
    return y.astype(np.float32), np.clip(mask, 0, 1)


# ---- sampling: which effects, with which parameters ----------------------------------------------------------

def _u(rng: Rng, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _direction(rng: Rng) -> np.ndarray:
    """A random chromatic direction: three numbers of zero mean, the largest magnitude 1."""
    d = rng.standard_normal(3)
    d -= d.mean()
    return d / np.abs(d).max()


def _sample_paper(rng: Rng, s: float, x: np.ndarray) -> dict | None:
    textures = paper_textures()
    return {"path": str(textures[rng.integers(len(textures))]), "amount": _u(rng, 0.3, 1) * s} if textures else None


@dataclass(frozen=True)
class Effect:
    """One effect: its function, how often `age` picks it, and how it samples parameters at a strength."""

    apply: Callable[..., np.ndarray | tuple[np.ndarray, np.ndarray]]
    probability: float
    sample: Callable[[Rng, float, np.ndarray], dict | None]
    damage: bool = False


EFFECTS: dict[str, Effect] = {  # in the order they happen to a photograph
    "blur": Effect(blur, 0.5, lambda r, s, x: {"sigma": _u(r, 0.8, 2) * _unit(x) * s,
                                               "defocus": _u(r, 1, 4) * _unit(x) * s * (r.random() < 0.5)}),
    "grey": Effect(grey, 0.35, lambda r, s, x: {}),
    "grain": Effect(grain, 0.7, lambda r, s, x: {"amount": _u(r, 0.03, 0.1) * s,
                                                 "size": _u(r, 0.5, 1.3) * _unit(x),
                                                 "colour": _u(r, 0, 0.5)}),
    "halftone": Effect(halftone, 0.15, lambda r, s, x: {"period": _u(r, 2.2, 7) * max(_unit(x), 1),
                                                        "angle": _u(r, 0, 90), "amount": _u(r, 0.6, 1) * s,
                                                        "gain": _u(r, 0, 0.15)}),
    "fade": Effect(fade, 0.7, lambda r, s, x: {"black": _u(r, 0.03, 0.2) * s, "white": 1 - _u(r, 0, 0.2) * s,
                                               "gamma": float(np.exp(_u(r, -0.3, 0.3) * s)),
                                               "saturation": 1 - _u(r, 0.2, 0.7) * s}),
    "colour_cast": Effect(colour_cast, 0.4, lambda r, s, x: {
        "gains": (1 + _u(r, 0.08, 0.2) * s * _direction(r)).tolist(),
        "offsets": (r.uniform(-0.02, 0.05, 3) * s).tolist()}),
    "yellowing": Effect(yellowing, 0.5, lambda r, s, x: {
        "sepia": _u(r, 0.3, 1) * s, "paper": (1 - np.array([0, _u(r, 0.02, 0.1), _u(r, 0.1, 0.35)]) * s).tolist()}),
    "vignette": Effect(vignette, 0.5, lambda r, s, x: {"amount": _u(r, 0.2, 0.6) * s, "radius": _u(r, 0.3, 0.9),
                                                       "centre": r.uniform(0.4, 0.6, 2).tolist()}),
    "paper": Effect(paper, 0.3, _sample_paper),
    "stains": Effect(stains, 0.0, lambda r, s, x: {
        "count": int(r.integers(1, 4)), "size": _u(r, 0.1, 0.35), "depth": _u(r, 0.15, 0.45) * s,
        "lighter": _u(r, 0, 0.4), "rim": _u(r, 0.3, 0.8) * s,
        "tint": (1 - np.array([_u(r, 0, 0.08), _u(r, 0.1, 0.25), _u(r, 0.25, 0.5)])).tolist(),
        "foxing": round(int(r.integers(0, 40)) * x.shape[-1] * x.shape[-2] / 512**2 * s),
        "fox_size": _u(r, 1.5, 5) * _unit(x)}),
    "silvering": Effect(silvering, 0.0, lambda r, s, x: {
        "amount": _u(r, 0.4, 0.9) * s, "reach": _u(r, 0.08, 0.3),
        "tint": [_u(r, 0.5, 0.62), _u(r, 0.56, 0.66), _u(r, 0.66, 0.78)], "patchiness": _u(r, 0.3, 1)}),
    "creases": Effect(creases, 0.25, lambda r, s, x: {
        "count": int(r.integers(1, 4)), "width": _u(r, 3, 12) * _unit(x), "shading": _u(r, 0.05, 0.15) * s,
        "crack": _u(r, 0.5, 1) * s, "bend": _u(r, -0.3, 0.3), "crack_width": _u(r, 0.6, 3) * _unit(x),
        "fibre": _u(r, 0, 1)}, damage=True),
    "tears": Effect(tears, 0.15, lambda r, s, x: {
        "corners": sorted(r.choice(4, int(r.integers(1, 3)), replace=False).tolist()), "size": _u(r, 0.05, 0.2) * s,
        "background": [_u(r, 0, 1)] * 3, "roughness": _u(r, 1, 4) * max(_unit(x), 1)}, damage=True),
    "dust": Effect(dust, 0.6, lambda r, s, x: {
        "count": round(_u(r, 40, 300) * x.shape[-1] * x.shape[-2] / 512**2 * s),
        "max_radius": _u(r, 1.5, 4) * _unit(x), "dark_fraction": _u(r, 0, 1),
        "fibres": round(int(r.integers(0, 6)) * s), "flakes": round(int(r.integers(0, 5)) * s)}, damage=True),
    "scratches": Effect(scratches, 0.6, lambda r, s, x: {
        "count": max(1, round(int(r.integers(2, 16)) * s)), "width": _u(r, 0.8, 2.5) * _unit(x),
        "length": _u(r, 0.1, 0.9), "curvature": _u(r, 0.0005, 0.01), "bright_fraction": _u(r, 0, 1),
        "opacity": _u(r, 0.7, 1) * s}, damage=True),
    "faint": Effect(faint, 0.3, lambda r, s, x: {
        "scratches_count": max(1, round(int(r.integers(1, 10)) * s)), "width": _u(r, 0.5, 1.2) * _unit(x),
        "length": _u(r, 0.2, 0.9), "curvature": _u(r, 0.0005, 0.005), "bright_fraction": _u(r, 0, 1),
        "specks": round(_u(r, 10, 150) * s * x.shape[-1] * x.shape[-2] / 512**2),
        "max_radius": _u(r, 0.8, 2) * _unit(x), "dark_fraction": _u(r, 0, 1), "opacity": _u(r, 0.1, 0.5) * s},
        damage=True),
    "taper": Effect(taper, 0.0, lambda r, s, x: {
        "count": max(1, round(int(r.integers(1, 8)) * s)), "width": _u(r, 0.35, 1.0) * max(_unit(x), 1),
        "length": _u(r, 0.15, 0.8), "curvature": _u(r, 0.0005, 0.006), "bright_fraction": _u(r, 0, 1),
        "opacity": _u(r, 0.15, 0.7) * s, "ends": _u(r, 0.15, 0.4),
        "specks": round(_u(r, 0, 80) * s * x.shape[-1] * x.shape[-2] / 512**2),
        "max_radius": _u(r, 0.6, 1.6) * _unit(x), "dark_fraction": _u(r, 0, 1), "speck_opacity": _u(r, 0.08, 0.3)},
        damage=True),
    "lowres": Effect(lowres, 0.35, lambda r, s, x: {"factor": 1 + _u(r, 0.5, 3) * s}),
    "scan": Effect(scan, 0.25, lambda r, s, x: {
        "banding": _u(r, 0.005, 0.03) * s, "streaks": int(r.integers(1, 8)), "streak_strength": _u(r, 0.02, 0.1) * s,
        "noise": _u(r, 0, 0.015) * s, "axis": int(r.integers(2))}),
    "jpeg": Effect(jpeg, 0.4, lambda r, s, x: {"quality": round(95 - _u(r, 50, 85) * s)}),
    # last (not before jpeg) so that adding it changed no older seed's effects: a noisy copy of a compressed scan
    "noise": Effect(noise, 0.3, lambda r, s, x: {"sigma": _u(r, 0.01, 0.07) * s, "colour": _u(r, 0, 1)}),
}


# effects added after seeds were in use: drawn from their own stream (in this order), applied in their place.
# `stains` and `silvering` are applied only when named (probability 0 in the random choice): every seed ages as
# before they existed, so an archive's `age` derivatives re-derive and the benchmarks' aged rows stay comparable.
# (Drawn at 0.2 / 0.15 they were tried for restore's training, not shipped: BENCHMARKS.md.) `taper` (tapering
# hairlines, 1 px lines, low-contrast specks) likewise: named only, for the mask predictor's hard positives.
ADDED = ["faint", "stains", "silvering", "taper"]


@dataclass
class AgedResult:
    """`image` (C,H,W) float32 in [0,1] (C may differ from the input: `grey` gives 1, colour effects 3);
    `mask` (H,W) float32 in [0,1], the damaged pixels; `params` the seed, strength and each effect's parameters."""

    image: np.ndarray
    mask: np.ndarray
    params: dict = field(default_factory=dict)


def effect_rng(seed: int, name: str) -> Rng:
    """The generator an effect samples its parameters and its randomness from."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def choose_effects(seed: int) -> list[str]:
    """The effects `age` applies for `seed` when none are named: each with its probability, at least one of the
    older ones. The `ADDED` effects are drawn from a second stream, so every seed keeps the older effects it
    chose before they existed (the fallback included)."""
    def drawn(rng: Rng, names: list[str]) -> set[str]:
        return {n for n in names if rng.random() < EFFECTS[n].probability and (n != "paper" or paper_textures())}

    older = np.random.default_rng([seed, 0])
    chosen = drawn(older, [n for n in EFFECTS if n not in ADDED])
    if not chosen:
        chosen = {str(older.choice(["fade", "scratches", "dust", "grain"]))}
    chosen |= drawn(np.random.default_rng([seed, 1]), ADDED)
    return [n for n in EFFECTS if n in chosen]


def age(image: np.ndarray | Picture, seed: int, strength: float = 1.0, effects: list[str] | None = None) -> AgedResult:
    """Age a picture: effects and parameters sampled from `seed` (same seed, same result), scaled by `strength`.

    `image` is (C,H,W) float32 in [0,1] (or a Picture). `effects` names a subset of `EFFECTS` to apply
    (in their physical order) instead of a random choice. Strength 0 returns the input unchanged.
    """
    x = np.asarray(image.pixels if isinstance(image, Picture) else image, np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"expected (C,H,W) pixels with C = 1 or 3, got shape {x.shape}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    unknown = sorted(set(effects or ()) - set(EFFECTS))
    if unknown:
        raise ValueError(f"unknown aging effect(s) {', '.join(unknown)} (available: {', '.join(EFFECTS)})")
    names = [n for n in EFFECTS if n in effects] if effects is not None else choose_effects(seed)
    mask = np.zeros(x.shape[-2:], np.float32)
    params: dict = {"seed": seed, "strength": strength, "effects": {}}
    if strength == 0:
        return AgedResult(x.copy(), mask, params)
    for name in names:
        effect, rng = EFFECTS[name], effect_rng(seed, name)
        p = effect.sample(rng, strength, x)
        if p is None:
            continue
        out = effect.apply(x, rng, **p)
        if effect.damage:
            x, m = out
            mask = np.maximum(mask, m)
        else:
            x = out
        if name == "lowres":  # damage drawn before a low-resolution scan spreads like the pixels
            mask = np.maximum(mask, lowres(mask[None], rng, **p)[0])
        params["effects"][name] = p
    return AgedResult(np.clip(x, 0, 1).astype(np.float32), np.clip(mask, 0, 1), params)
