"""Benchmark-only damage of a different family from `daguerre.imaging.aging` (kept OUT of training).

Drawn differently on purpose, so the restore benchmark measures damage the model never saw:

- hairlines: cubic Bezier curves (aging draws random walks), 0.6-1.8 px wide, white or black, full opacity;
- dust: specks whose radius follows a Pareto law (aging: uniform cubed), each a polygon with a jagged outline
  (aging: blurred dots), white or black;
- a crease: a straight fold with a kink, the cracked emulsion showing the paper's fibres (a texture of streaked
  noise along the fold, aging: flat white), and a bright/dark bevel either side;
- a water stain: an irregular ring, a brown tide line and a slight darkening inside (tone only: not masked);
- silvering: a bluish metallic sheen over the dark parts, stronger towards the edges (tone only: not masked);
- halftone (`halftone_print`): a CMYK print with an elliptical ("chain") dot at the angles C 105, M 165, Y 90,
  K 135 degrees (aging uses round dots at other angles), dot gain, scanned by area averaging (moire).

`damage(clean, seed)` -> (damaged, mask): the mask (H,W) in [0,1] marks hairlines, dust and the crease's crack.
Sizes are for a 256 px picture and scale with its short side.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

Rng = np.random.Generator
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _scale(x: np.ndarray) -> float:
    return min(x.shape[-2:]) / 256


def _splat(canvas: np.ndarray, points: np.ndarray, width: float) -> None:
    """Max-composite a curve through (N,2) x,y `points` (dense) of FWHM `width` px into `canvas`, in place."""
    h, w = canvas.shape
    line = np.zeros((h, w), np.float32)
    xs, ys = np.round(points[:, 0]).astype(int), np.round(points[:, 1]).astype(int)
    keep = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    line[ys[keep], xs[keep]] = 1
    sigma = max(width / 2.355, 0.35)
    line = ndimage.gaussian_filter(line, sigma) * (np.sqrt(2 * np.pi) * sigma)
    np.maximum(canvas, np.clip(1.3 * line, 0, 1), out=canvas)


def _bezier(rng: Rng, h: int, w: int) -> np.ndarray:
    """Dense points of a gently bent cubic Bezier curve (its inner control points near the chord)."""
    start, end = rng.uniform(-0.1, 1.1, (2, 2)) * [w, h]
    end = start + (end - start) * rng.uniform(0.3, 1)  # not always across the whole picture
    normal = np.array([start[1] - end[1], end[0] - start[0]])  # the chord turned 90 degrees
    p = [start, *(start + (end - start) * t + normal * rng.uniform(-0.4, 0.4) for t in (1 / 3, 2 / 3)), end]
    n = int(np.abs(np.diff(p, axis=0)).sum() * 2) + 8
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]


def hairlines(x: np.ndarray, rng: Rng, count: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = x.shape[-2:]
    white, black = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    for _ in range(count):
        _splat(white if rng.random() < 0.5 else black, _bezier(rng, h, w), rng.uniform(0.6, 1.8) * _scale(x))
    y = x * (1 - white) + 0.98 * white
    y = y * (1 - black) + 0.03 * black
    return y, np.maximum(white, black)


def specks(x: np.ndarray, rng: Rng, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Dust: jagged polygons of Pareto-distributed radius (alpha 1.6, from 0.6 px, at most 6 px)."""
    from PIL import Image, ImageDraw

    h, w = x.shape[-2:]
    s = 4  # drawn at 4x, then area-averaged: antialiased edges
    layers = {}
    for colour in ("white", "black"):
        img = Image.new("L", (w * s, h * s), 0)
        draw = ImageDraw.Draw(img)
        n = count // 2
        radii = np.minimum(0.6 * (1 + rng.pareto(1.6, n)), 6) * _scale(x)
        for r in radii:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            k = int(rng.integers(5, 10))
            angles = np.sort(rng.uniform(0, 2 * np.pi, k))
            rr = r * rng.uniform(0.5, 1.3, k)
            pts = [((cx + a * np.cos(t)) * s, (cy + a * np.sin(t)) * s) for a, t in zip(rr, angles, strict=True)]
            draw.polygon(pts, fill=255)
        a = np.asarray(img, np.float32).reshape(h, s, w, s).mean((1, 3)) / 255
        layers[colour] = a
    y = x * (1 - layers["white"]) + 0.95 * layers["white"]
    y = y * (1 - layers["black"]) + 0.05 * layers["black"]
    return y, np.maximum(layers["white"], layers["black"])


def crease(x: np.ndarray, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """A fold with a kink: bevel shading either side and a crack showing fibrous paper along it."""
    h, w = x.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    p0 = rng.uniform(0.3, 0.7, 2) * [w, h]
    a = rng.uniform(0, np.pi)
    along = (xx - p0[0]) * np.cos(a) + (yy - p0[1]) * np.sin(a)
    across = -(xx - p0[0]) * np.sin(a) + (yy - p0[1]) * np.cos(a)
    across = across + np.where(along > 0, along * rng.uniform(-0.15, 0.15), 0)  # the kink
    width = rng.uniform(3, 7) * _scale(x)
    bevel = np.tanh(across / width) * np.exp(-0.5 * (across / (2 * width)) ** 2)
    y = x * (1 + rng.uniform(0.06, 0.14) * bevel)
    fibres = ndimage.gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), (0.5, 0.5))
    fibres = ndimage.gaussian_filter1d(fibres, 3, axis=int(abs(np.cos(a)) < 0.7))  # streaked along the fold
    crack_w = rng.uniform(0.8, 1.8) * _scale(x)
    broken = np.clip(0.5 + ndimage.gaussian_filter1d(rng.standard_normal(h + w), 6)[
        np.clip((along + (h + w) / 2).astype(int), 0, h + w - 1)] * 4, 0, 1)
    alpha = np.clip(1.4 * np.exp(-0.5 * (across / crack_w) ** 2), 0, 1) * broken
    paper = np.clip(0.88 + 0.06 * fibres, 0, 1)
    tint = np.array([1.0, 0.97, 0.9], np.float32)[:, None, None]
    y = y * (1 - alpha) + paper * tint * alpha
    return np.clip(y, 0, 1), alpha.astype(np.float32)


def water_stain(x: np.ndarray, rng: Rng) -> np.ndarray:
    h, w = x.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c = rng.uniform(0, 1, 2) * [w, h]
    r0 = rng.uniform(0.2, 0.45) * min(h, w)
    theta = np.arctan2(yy - c[1], xx - c[0])
    wobble = sum(rng.uniform(0, 0.08) * np.cos(k * theta + rng.uniform(0, 6.3)) for k in range(2, 6))
    d = np.hypot(xx - c[0], yy - c[1]) / (r0 * (1 + wobble)) - 1  # < 0 inside
    rim = np.exp(-0.5 * (d / 0.02) ** 2) * rng.uniform(0.15, 0.3)
    inside = (d < 0) * rng.uniform(0.03, 0.08)
    brown = np.array([0.55, 0.4, 0.25], np.float32)[:, None, None]
    stain = ndimage.gaussian_filter(rim + inside, 1.0)
    return x * (1 - stain) + x * brown * stain


def silvering(x: np.ndarray, rng: Rng) -> np.ndarray:
    h, w = x.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = np.maximum(np.abs(xx / w - 0.5), np.abs(yy / h - 0.5)) * 2  # 0 centre, 1 border
    dark = np.clip(1 - np.tensordot(LUMA, x, axes=1) / 0.5, 0, 1)
    amount = rng.uniform(0.15, 0.35) * edge**2 * dark
    sheen = np.array([0.62, 0.66, 0.75], np.float32)[:, None, None]
    return x * (1 - amount) + sheen * amount


def damage(clean: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(damaged (3,H,W), mask (H,W)): hairlines, dust, a crease, and (each half the time) a water stain and
    silvering, all drawn from `seed`."""
    rng = np.random.default_rng([seed, 17])
    x = np.repeat(clean, 3, 0) if clean.shape[0] == 1 else clean.copy()
    if rng.random() < 0.5:
        x = water_stain(x, rng)
    if rng.random() < 0.5:
        x = silvering(x, rng)
    x, m1 = crease(x, rng)
    x, m2 = hairlines(x, rng, int(rng.integers(3, 9)))
    area = clean.shape[-1] * clean.shape[-2] / 256**2
    x, m3 = specks(x, rng, int(rng.integers(30, 120) * area))
    return np.clip(x, 0, 1).astype(np.float32), np.maximum.reduce([m1, m2, m3]).astype(np.float32)


def halftone_print(clean: np.ndarray, seed: int) -> np.ndarray:
    """A halftone print of `clean` (3,H,W), scanned: CMYK elliptical dots (grey pictures: K only), dot gain,
    on slightly warm paper, rendered at 4x and area-averaged to the scan's pixels, then a slight scan blur."""
    rng = np.random.default_rng([seed, 99])
    h, w = clean.shape[-2:]
    s = 4
    period = rng.uniform(2.5, 5.0) * s * _scale(clean)  # screen period in supersampled px
    big = np.stack([np.kron(c, np.ones((s, s), np.float32)) for c in clean])
    yy, xx = np.mgrid[0 : h * s, 0 : w * s].astype(np.float32)
    grey = np.allclose(clean[0], clean[1], atol=1e-3) and np.allclose(clean[1], clean[2], atol=1e-3)
    k = 1 - big.max(0)
    cmy = (1 - big - k) / np.maximum(1 - k, 1e-3)
    inks = {"k": (k, 135.0, (0.1, 0.1, 0.12))}
    if not grey:
        inks.update({"c": (cmy[0], 105.0, (0.0, 0.62, 0.9)), "m": (cmy[1], 165.0, (0.9, 0.05, 0.55)),
                     "y": (cmy[2], 90.0, (1.0, 0.95, 0.0))})
    else:
        inks["k"] = (1 - big[0], 135.0, (0.08, 0.08, 0.1))
    out = np.ones_like(big) * np.array([0.97, 0.95, 0.9], np.float32)[:, None, None]
    turn = rng.uniform(-5, 5)
    gain = rng.uniform(0.0, 0.12)
    for cover, angle, ink in inks.values():
        a = np.deg2rad(angle + turn)
        u, v = xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)
        screen = 0.5 - 0.25 * (np.cos(2 * np.pi * u / period) + 0.6 * np.cos(2 * np.pi * v / period)) / 0.8
        dot = np.clip((np.clip(cover + gain * cover * (1 - cover) * 4, 0, 1) - screen) * 6 + 0.5, 0, 1)
        out *= 1 - dot[None] * (1 - np.array(ink, np.float32)[:, None, None])
    scanned = out.reshape(3, h, s, w, s).mean((2, 4))
    return np.clip(ndimage.gaussian_filter(scanned, (0, 0.5, 0.5)), 0, 1).astype(np.float32)
