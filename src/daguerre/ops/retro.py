"""`retro`: a modern photograph given a period look, two ways.

- A preset (`preset=`; sepia unless a model is named): the classical looks of `film` (sepia, cyanotype,
  daguerreotype, autochrome, faded-1970s, bw-film), no training; `seed` fixes their grain.
- A model (`model=`): the look of the user's own period collection, learnt by `daguerre train retro` (an
  unpaired CycleGAN; see `daguerre.training.retro`). It runs whole, or tile by tile with the whole picture's
  statistics, exactly as stylize's fast models do (`daguerre.ops.feedforward`).

`strength` (0..1) mixes the look with the photo: 0 is the photo itself.
"""

from __future__ import annotations

import torch

from daguerre.imaging import Picture
from daguerre.imaging.colour import blend
from daguerre.models.onnx import OnnxModel, onnx_available
from daguerre.ops.base import Operation, Progress, Provenance, register
from daguerre.ops.feedforward import run_feedforward
from daguerre.ops.film import check_look, film_op, repixel
from daguerre.ops.task_models import model_record, task_model

DEFAULT_PRESET = "sepia"


class Retro(Operation):
    name = "retro"
    version = "1"
    summary = "Give a modern photograph a period look: a classical preset, or a model trained on your collection"

    def check(self, params: dict) -> None:
        super().check(params)
        preset, model, strength = params.get("preset"), params.get("model"), params.get("strength", 1.0)
        if preset and model:
            raise ValueError("give a preset or a model, not both")
        if not model:
            check_look(preset or DEFAULT_PRESET, strength)

    def run(
        self,
        picture: Picture,
        progress: Progress | None = None,
        *,
        preset: str | None = None,
        model: str | None = None,
        strength: float = 1.0,
        seed: int = 0,
        tile: int = 1024,
        engine: str = "auto",
        **unknown: object,
    ) -> Picture:
        self.check({"preset": preset, "model": model, "strength": strength, **unknown})
        if not model:
            return film_op.run(picture, progress, preset=preset or DEFAULT_PRESET, strength=strength, seed=seed)
        card, net = task_model("retro", model)
        if strength == 0:
            return picture.with_pixels(picture.pixels.copy())
        x = torch.from_numpy(picture.rgb())[None]
        with torch.inference_mode():
            y = run_feedforward(
                net,
                x,
                tile=tile,
                engine=engine,
                progress=progress,
                onnx=lambda: OnnxModel(card, net) if onnx_available() else None,
            )
            y = blend(x, y.clamp(0, 1), strength)
        return repixel(picture, y[0].numpy())

    def provenance(self, **params: object) -> Provenance:
        if params.get("model"):
            card, _ = task_model("retro", str(params["model"]))
            return Provenance(self.name, self.version, dict(params), [model_record(card)])
        # A preset: algorithmic modification of a captured photo, no trained model (as `film`).
        return Provenance(
            self.name,
            self.version,
            {**params, "preset": params.get("preset") or DEFAULT_PRESET},
            models=[],
            digital_source_type="algorithmicallyEnhanced",
        )


retro = register(Retro())
