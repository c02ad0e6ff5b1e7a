"""Training pairs for the conditional GANs, drawn from a CropSampler by one seeded torch.Generator.

- `AgedPairs`: (aged, clean, damage mask) for `restore`. Each crop is aged by `daguerre.imaging.aging.age`
  with its own seed and strength drawn from the generator, so a batch is reproducible from the generator's
  state alone (saved in checkpoints: training resumes exactly).
- `ColourPairs`: (L, ab) in Lab for `colorize`.
- `LowResPairs`: (low-resolution, high-resolution) for `upscale`, degraded by `shrink`.
- `TeacherPairs`: (low-resolution, a teacher network's upscaling) to distil `upscale` from Real-ESRGAN.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.progress import track
from scipy import ndimage

from daguerre.data.folder import CropSampler
from daguerre.imaging.aging import age, choose_effects, jpeg
from daguerre.imaging.lab import AB_SCALE, lab_split, luma

# Sepia toning at least this strong leaves too little of the photo's colour to restore: see `AgedPairs`.
MONOCHROME_SEPIA = 0.5
# The fewest dust specks `aging` draws per pixel at strength 1 (40 on a 512 x 512 picture).
DUST_PER_PIXEL = 40 / 512**2


def is_monochrome(params: dict) -> bool:
    """Did this aging turn the print monochrome (black-and-white film, or strong sepia toning)?"""
    effects = params.get("effects", {})
    return "grey" in effects or effects.get("yellowing", {}).get("sepia", 0.0) >= MONOCHROME_SEPIA


class AgedPairs:
    """Aged/clean pairs: crops aged at a strength drawn uniformly from [min_strength, max_strength].

    Aged crops are RGB (a grey aging result is repeated on three channels). Restoration must not invent
    colour, so when the aging made the print monochrome (`is_monochrome`) the target is the clean crop's luma,
    repeated on three channels: colour is `colorize`'s job. Effect sizes scale with the crop (see
    `aging._unit`: a crop under 256 px is aged like a 256 px picture).
    """

    def __init__(self, crops: CropSampler, min_strength: float = 0.3, max_strength: float = 1.0,
                 effects: list[str] | None = None, extra: list[str] | None = None):
        if not 0 <= min_strength <= max_strength <= 1:
            raise ValueError(f"need 0 <= min_strength <= max_strength <= 1, got {min_strength}, {max_strength}")
        if (not effects or "dust" in effects) and DUST_PER_PIXEL * crops.crop**2 * min_strength < 0.5:
            raise ValueError(f"crops of {crops.crop} px at aging strength {min_strength} are too small for the dust "
                             "effect (it would draw no speck, which `aging.dust` cannot do): use larger crops or "
                             "a higher min_strength")
        self.crops, self.min_strength, self.max_strength = crops, min_strength, max_strength
        self.effects = list(effects) if effects else None
        self.extra = list(extra) if extra else []  # effects added to each seed's own choice (`age` orders them)

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(aged (B,3,c,c), clean (B,3,c,c), mask (B,1,c,c)), all float32 in [0,1]."""
        clean = self.crops.sample(batch, generator)
        seeds = torch.randint(2**31 - 1, (batch,), generator=generator)
        strengths = self.min_strength + (self.max_strength - self.min_strength) * torch.rand(batch, generator=generator)
        aged, mask = torch.empty_like(clean), torch.empty(batch, 1, *clean.shape[-2:])
        for i in range(batch):
            effects = self.effects
            if self.extra:
                effects = sorted({*(effects or choose_effects(int(seeds[i]))), *self.extra})
            result = age(clean[i].numpy(), int(seeds[i]), float(strengths[i]), effects)
            aged[i] = torch.from_numpy(result.image).expand(3, -1, -1)
            mask[i, 0] = torch.from_numpy(result.mask)
            if is_monochrome(result.params):
                clean[i] = luma(clean[i : i + 1])[0].expand(3, -1, -1)
        return aged, clean, mask


def colour_images(crops: CropSampler, min_chroma: float = 4.0) -> list[torch.Tensor]:
    """The sampler's images with colour: mean Lab chroma (|ab|) at least `min_chroma` (grey photos have ~0)."""
    keep = []
    for img in crops.images:
        _, ab = lab_split(img[None].float() / 255)
        if float(ab.norm(dim=1).mean()) * AB_SCALE >= min_chroma:
            keep.append(img)
    return keep


class ColourPairs:
    """(L, ab) pairs for colorization: L (B,1,c,c) in [0,1] and ab (B,2,c,c) in about [-1,1] (`imaging.lab`).

    Grey photographs are dropped from `crops` (they would teach that grey is the right answer).
    """

    def __init__(self, crops: CropSampler, min_chroma: float = 4.0):
        crops.images = colour_images(crops, min_chroma)
        if not crops.images:
            raise ValueError("no colour photographs among the training images")
        self.crops = crops

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return lab_split(self.crops.sample(batch, generator))


def shrink(hr: torch.Tensor, scale: int, generator: torch.Generator, realistic: bool = True) -> torch.Tensor:
    """A low-resolution version of `hr` (B,3,H,W) in [0,1], `scale` times smaller, as a scan of a small print.

    `realistic=False`: plain bicubic downscaling (antialiased). Otherwise, per image, drawn from `generator`
    (after Real-ESRGAN's degradation model, one order): a Gaussian blur (sigma 0.2-1.6 px, 70%), downscaling
    by area, bilinear or bicubic, sensor noise (sigma up to 6/255, 50%, grey in half the cases) and JPEG
    compression (quality 55-95, 50%).
    """
    b, _, h, w = hr.shape
    size = (h // scale, w // scale)
    if not realistic:
        return F.interpolate(hr, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    out = torch.empty(b, 3, *size)
    for i in range(b):
        u = torch.rand(8, generator=generator).tolist()
        x = hr[i : i + 1]
        if u[0] < 0.7:
            sigma = 0.2 + 1.4 * u[1]
            x = torch.from_numpy(ndimage.gaussian_filter(x[0].numpy(), (0, sigma, sigma), mode="reflect"))[None]
        mode = ("area", "bilinear", "bicubic")[min(int(u[2] * 3), 2)]
        x = F.interpolate(x, size=size, mode=mode, **({} if mode == "area" else {"antialias": True,
                                                                              "align_corners": False}))
        if u[3] < 0.5:
            noise = torch.randn((1, 1 if u[4] < 0.5 else 3, *size), generator=generator)
            x = x + noise * (6 / 255) * u[5]
        x = x.clamp(0, 1)
        if u[6] < 0.5:
            x = torch.from_numpy(jpeg(x[0].numpy(), None, quality=int(55 + 40 * u[7])))[None]
        out[i] = x[0]
    return out


class LowResPairs:
    """(low-resolution, high-resolution) pairs for `upscale`: HR crops and their `shrink`-ed versions."""

    def __init__(self, crops: CropSampler, scale: int = 4, realistic: bool = True):
        if crops.crop % scale:
            raise ValueError(f"the crop size ({crops.crop}) must be a multiple of the scale ({scale})")
        self.crops, self.scale, self.realistic = crops, scale, realistic

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        hr = self.crops.sample(batch, generator)
        return shrink(hr, self.scale, generator, self.realistic), hr


class TeacherPairs:
    """(low-resolution, teacher's upscaling) pairs to distil a fast upscaler from a large one (Real-ESRGAN).

    `count` high-resolution crops of `size * scale` px are shrunk by `shrink` and upscaled once by the teacher;
    the pairs (without a `margin` of `margin` low-resolution px, where the teacher sees its zero padding) are
    cached in `cache` with what made them (photos, sizes, degradation, seed), so a resumed run does not pay for
    the teacher again and a changed recipe does not reuse stale pairs. Everything is drawn from
    `torch.Generator().manual_seed(seed)`: the cache is the same on every machine. Pairs are kept as 8-bit
    pictures (`low`, `high`: uint8 tensors), a quarter of the memory and of the cache file. `sample` then gives
    aligned random `crop`-px sub-crops, flipped and rotated, drawn from the caller's generator.
    """

    def __init__(self, crops: CropSampler, scale: int, realistic: bool, teacher: Callable[[], torch.nn.Module],
                 count: int, size: int, cache: Path, seed: int = 0, margin: int = 4, progress: bool = True):
        self.scale = scale  # `teacher()` makes the teacher network, only if the cache does not fit
        cache = Path(cache)
        made_by = {"photos": crops.names, "short_side": crops.short_side, "scale": scale, "realistic": realistic,
                   "count": count, "size": size, "seed": seed, "margin": margin}
        if cache.is_file():
            state = torch.load(cache, map_location="cpu", weights_only=True)
            if state.get("made_by") == made_by:
                self.low, self.high = state["low"], state["high"]
                return
        generator, net = torch.Generator().manual_seed(seed), teacher()
        low, high = [], []
        steps = range(0, count, 4)
        m = margin
        for start in track(steps, description="teacher upscaling") if progress else steps:
            hr = crops.sample(min(4, count - start), generator, crop=size * scale)
            lr = shrink(hr, scale, generator, realistic)
            with torch.inference_mode():
                up = net(lr).clamp(0, 1)
            low.append(to_bytes(lr[..., m:-m, m:-m]))
            high.append(to_bytes(up[..., m * scale : -m * scale, m * scale : -m * scale]))
        self.low, self.high = torch.cat(low), torch.cat(high)
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"made_by": made_by, "low": self.low, "high": self.high}, cache)

    def sample(self, batch: int, crop: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """`batch` aligned (low `crop` px, teacher's `crop * scale` px) pairs."""
        s, side = self.scale, self.low.shape[-1]
        low, high = torch.empty(batch, 3, crop, crop), torch.empty(batch, 3, crop * s, crop * s)
        for i in range(batch):
            j, y, x, k, flip = (int(torch.randint(n, (1,), generator=generator))
                                for n in (len(self.low), side - crop + 1, side - crop + 1, 4, 2))
            a = self.low[j, :, y : y + crop, x : x + crop].float() / 255
            b = self.high[j, :, y * s : (y + crop) * s, x * s : (x + crop) * s].float() / 255
            a, b = a.rot90(k, (1, 2)), b.rot90(k, (1, 2))
            low[i], high[i] = (a.flip(-1), b.flip(-1)) if flip else (a, b)
        return low, high


def to_bytes(x: torch.Tensor) -> torch.Tensor:
    """Pictures in [0, 1] as uint8 (0-255), rounded."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)

