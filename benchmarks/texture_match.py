"""Training-free texture statistics after the arbitrary-style network (Heeger & Bergen 1995, "Pyramid-based
texture analysis/synthesis"): the output's Laplacian-pyramid bands, on CIELAB L (optionally a, b), get the
painting's per-band deviation (gain clamped) or its band histogram; the low-pass residual, hence the palette
transfer's mean, is kept. The experiments for issue 12 (`style_quality.py --texture`, variants in
`TEXTURE_VARIANTS`): alone, the Gram distance halved but FID did not improve, and a fixed gain of 0.75 on every
band, whatever the painting, halved it too; after the photo's own detail (`detail-*`), one variant was shipped as
`stylize`'s `texture` step (`daguerre.imaging.texture`, whose pyramid this uses; BENCHMARKS.md, "Any painting").

    PYTHONPATH=src .venv/bin/python benchmarks/texture_match.py photo.jpg painting.jpg out.png   # one picture
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import kornia.color as kc
import numpy as np
import torch

from daguerre.imaging.texture import collapse, keep_deviation, pyramid


@dataclass(frozen=True)
class Texture:
    levels: int = 4  # band-pass levels (the residual below them is kept)
    mode: str = "std"  # "std": scale each band to the painting's deviation; "hist": match the band's histogram
    channels: tuple[int, ...] = (0,)  # Lab channels: (0,) luminance only, (0, 1, 2) with chroma
    gain: tuple[float, float] = (0.5, 3.0)  # the per-band deviation gain is kept in this range ("std")
    boost_only: bool = False  # never lower a band's energy (gain >= 1; "hist": only where it widens)
    cut_only: bool = False  # never raise a band's energy (gain <= 1; "std" only)
    fixed_gain: float | None = None  # a control: this gain on every band, whatever the painting ("std" only)
    strength: float = 1.0  # 0: unchanged, 1: the full match
    iterations: int = 1  # Heeger-Bergen: decompose, match, collapse, this many times
    keep_variance: bool = False  # rescale the low-pass residual so each channel keeps its deviation (the palette's)


QUANTILES = np.linspace(0.0, 1.0, 257)


def band_statistics(lab: np.ndarray, settings: Texture) -> dict[int, list[tuple[float, np.ndarray]]]:
    """Per channel, per band: (deviation, quantiles of the coefficients) of a (H, W, 3) Lab image."""
    out = {}
    for c in settings.channels:
        bands = pyramid(np.ascontiguousarray(lab[..., c]), settings.levels)[:-1]
        out[c] = [(float(b.std()), np.quantile(b, QUANTILES).astype(np.float32)) for b in bands]
    return out


def match_texture(lab: np.ndarray, target: dict[int, list[tuple[float, np.ndarray]]],
                  settings: Texture) -> np.ndarray:
    """(H, W, 3) Lab with each chosen channel's bands moved towards the target's statistics."""
    lab = lab.copy()
    for c, stats in target.items():
        channel = np.ascontiguousarray(lab[..., c])
        for _ in range(settings.iterations):
            bands = pyramid(channel, settings.levels)
            for k, (std, quantiles) in enumerate(stats[: len(bands) - 1]):
                b = bands[k]
                if settings.mode == "std":
                    g = std / max(float(b.std()), 1e-4)
                    g = min(max(g, settings.gain[0]), settings.gain[1])
                    if settings.boost_only:
                        g = max(g, 1.0)
                    if settings.cut_only:
                        g = min(g, 1.0)
                    if settings.fixed_gain is not None:
                        g = settings.fixed_gain
                    bands[k] = b * (1.0 + settings.strength * (g - 1.0))
                else:
                    own = np.quantile(b[::2, ::2], QUANTILES).astype(np.float32)
                    own = own + np.arange(len(own), dtype=np.float32) * 1e-6  # strictly increasing for interp
                    matched = np.interp(b, own, quantiles).astype(np.float32)
                    if settings.boost_only:  # widen only: keep whichever is further from zero
                        matched = np.where(np.abs(matched) > np.abs(b), matched, b)
                    bands[k] = b + settings.strength * (matched - b)
            channel = collapse(bands)
        if settings.keep_variance:
            channel = keep_deviation(channel, float(lab[..., c].std()), settings.levels)
        lab[..., c] = channel
    return lab


def to_lab(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(kc.rgb_to_lab(x[:1].clamp(0, 1))[0].permute(1, 2, 0).numpy())


def from_lab(lab: np.ndarray) -> torch.Tensor:
    out = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    np.clip(out, 0, 1, out=out)
    return torch.from_numpy(out).permute(2, 0, 1)[None]


def textured(y: torch.Tensor, painting: torch.Tensor, settings: Texture) -> torch.Tensor:
    """y (1,3,H,W) RGB with the painting's (1,3,h,w) band statistics (one-off; cache `band_statistics`)."""
    return from_lab(match_texture(to_lab(y), band_statistics(to_lab(painting), settings), settings))


def band_energy(x: torch.Tensor, levels: int = 4) -> list[float]:
    """Deviation of each Laplacian band of the Lab luminance of x (1,3,H,W), finest first."""
    return [float(b.std()) for b in pyramid(to_lab(x)[..., 0], levels)[:-1]]


def main() -> None:
    import argparse
    import time

    from PIL import Image

    from daguerre.imaging import Picture, load
    from daguerre.imaging.colour import downscale
    from daguerre.ops.stylize import stylize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("painting")
    parser.add_argument("out")
    parser.add_argument("--long-side", type=int, default=512)
    parser.add_argument("--mode", default="std")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    photo = downscale(torch.from_numpy(load(args.photo).rgb().copy())[None], args.long_side)
    y = torch.from_numpy(stylize.run(Picture(photo[0].numpy()), method="arbitrary", style=args.painting).rgb())[None]
    painting = downscale(torch.from_numpy(load(args.painting).rgb().copy())[None], args.long_side)
    settings = Texture(mode=args.mode)
    target = band_statistics(to_lab(painting), settings)
    lab = to_lab(y)
    start = time.perf_counter()
    out = from_lab(match_texture(lab, target, settings))
    print(f"match_texture + back from Lab: {1e3 * (time.perf_counter() - start):.1f} ms at {tuple(y.shape[-2:])}")
    print("bands painting", [round(v, 2) for v in band_energy(painting)])
    print("bands output  ", [round(v, 2) for v in band_energy(y)])
    print("bands textured", [round(v, 2) for v in band_energy(out)])
    Image.fromarray((out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(args.out)


if __name__ == "__main__":
    main()
