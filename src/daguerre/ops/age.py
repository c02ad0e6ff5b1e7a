"""`age`: make a photograph look like an old print (the synthetic aging model, seedable), optionally saving
the damage mask — how restoration training pairs are made, and a way to see what `restore` undoes."""

from __future__ import annotations

from pathlib import Path

from daguerre.imaging import Picture
from daguerre.imaging.aging import age
from daguerre.ops.base import Operation, Progress, Provenance, register, write_mask
from daguerre.ops.film import repixel


class Age(Operation):
    name = "age"
    version = "1"
    summary = "Age a photograph: fading, yellowing, grain, dust, scratches, creases, tears, blur, scan artefacts"

    def run(self, picture: Picture, progress: Progress | None = None, *, seed: int = 0, strength: float = 1.0,
            effects: list[str] | None = None, mask_output: str | Path | None = None, **unknown: object) -> Picture:
        """`mask_output`: a folder where the damage mask is written as ``<input stem>.png`` (grey, 1 = damaged)."""
        self.check({"seed": seed, "strength": strength, **unknown})
        result = age(picture.pixels, seed, strength, list(effects) if effects else None)
        if mask_output is not None:
            write_mask(result.mask, mask_output, picture.source)
        if progress:
            progress(1, 1)
        return repixel(picture, result.image)

    def provenance(self, **params: object) -> Provenance:
        # IPTC: an algorithmic (non-trained, non-generative) modification of the captured photo.
        params = {k: v for k, v in params.items() if k != "mask_output"}
        return Provenance(self.name, self.version, params, models=[], digital_source_type="algorithmicallyEnhanced")


age_op = register(Age())
