"""Training pairs for the conditional GANs, drawn from a CropSampler by one seeded torch.Generator.

- `AgedPairs`: (aged, clean, damage mask) for `restore`. Each crop is aged by `daguerre.imaging.aging.age`
  with its own seed and strength drawn from the generator, so a batch is reproducible from the generator's
  state alone (saved in checkpoints: training resumes exactly).
- `ColourPairs`: (L, ab) in Lab for `colorize`.
"""

from __future__ import annotations

import torch

from daguerre.data.folder import CropSampler
from daguerre.imaging.aging import age
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
                 effects: list[str] | None = None):
        if not 0 <= min_strength <= max_strength <= 1:
            raise ValueError(f"need 0 <= min_strength <= max_strength <= 1, got {min_strength}, {max_strength}")
        if (not effects or "dust" in effects) and DUST_PER_PIXEL * crops.crop**2 * min_strength < 0.5:
            raise ValueError(f"crops of {crops.crop} px at aging strength {min_strength} are too small for the dust "
                             "effect (it would draw no speck, which `aging.dust` cannot do): use larger crops or "
                             "a higher min_strength")
        self.crops, self.min_strength, self.max_strength = crops, min_strength, max_strength
        self.effects = list(effects) if effects else None

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(aged (B,3,c,c), clean (B,3,c,c), mask (B,1,c,c)), all float32 in [0,1]."""
        clean = self.crops.sample(batch, generator)
        seeds = torch.randint(2**31 - 1, (batch,), generator=generator)
        strengths = self.min_strength + (self.max_strength - self.min_strength) * torch.rand(batch, generator=generator)
        aged, mask = torch.empty_like(clean), torch.empty(batch, 1, *clean.shape[-2:])
        for i in range(batch):
            result = age(clean[i].numpy(), int(seeds[i]), float(strengths[i]), self.effects)
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
