"""Two unpaired image sets for CycleGAN training: random crops of each, drawn by one seeded generator."""

from __future__ import annotations

from pathlib import Path

import torch

from daguerre.data.folder import CropSampler


class UnpairedCrops:
    """Random crops of modern photos and of period photos; the two sets need not show the same scenes."""

    def __init__(self, modern: list[Path], period: list[Path], short_side: int, crop: int, progress: bool = True):
        for label, paths in (("modern", modern), ("period", period)):
            if not paths:
                raise ValueError(f"no {label} training images given")
        self.modern = CropSampler([Path(p) for p in modern], short_side, crop, progress=progress)
        self.period = CropSampler([Path(p) for p in period], short_side, crop, progress=progress)

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(modern, period) batches of (batch,3,crop,crop) in [0,1]."""
        return self.modern.sample(batch, generator), self.period.sample(batch, generator)
