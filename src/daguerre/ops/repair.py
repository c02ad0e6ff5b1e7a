"""`repair`: the whole treatment of an old photograph in one operation, in the right order.

1. restore (the damage mask predictor finds scratches, dust and creases and the generator inpaints them while
   undoing fading, casts, grain and blur), at the scan's own size;
2. colorize, if asked (on the restored grey picture: colour predicted from clean luminance; from `reference`
   pictures and colour `hints` when given, as `colorize` takes them);
3. upscale x2 or x4, if asked, last: the slow steps run on the small picture and the upscaler sees a clean one.

Each step is the registered operation itself (no second copy); progress is reported as one bar over all
steps, and the provenance records every step's parameters and model.
`damage_mask` and `mask_output` go to the restore step (`ops.restore`: damage the user marked; a folder for the
damage mask restore used). `precision` ("fp32" or "bf16") goes to every step: their networks in bfloat16 by
OpenVINO where the CPU computes it natively, a clip's default there (`with_defaults`), a still's when asked.
"""

from __future__ import annotations

from daguerre.imaging import Picture
from daguerre.ops.base import Operation, Progress, Provenance, get_operation, register
from daguerre.ops.restore import refuse_mask_output

STEP_UNITS = 100  # progress units per step


def plan(*, colorize: bool = False, scale: int = 1, strength: float = 1.0, restore_model: str | None = None,
         colorize_model: str | None = None, upscale_model: str | None = None, tile: int = 1024,
         restore_prefilter: list[float] | None = None, reference: object = None, hints: object = None,
         damage_mask: object = None, mask_output: object = None, precision: str | None = None,
         bank: str | None = None, **unknown: object) -> list[tuple[str, dict]]:
    """The steps `repair` runs: (operation name, its parameters) in order."""
    if unknown:
        raise TypeError(f"repair: unknown parameter(s) {', '.join(unknown)}")
    if scale not in (1, 2, 4):
        raise ValueError(f"scale must be 1, 2 or 4, not {scale}")
    if (reference or hints or bank) and not colorize:
        raise ValueError("a reference, hints or a colour bank give the colour: ask for colorize too (--colorize; "
                         "colorize=true in Python, the archive and the API)")
    steps = [("restore", {"model": restore_model, "strength": strength, "tile": tile})]
    if restore_prefilter is not None:  # a clip's: measured once on its first frame
        steps[0][1]["prefilter"] = restore_prefilter
    if damage_mask is not None:  # damage the user marked, repaired by restore with what it finds
        steps[0][1]["damage_mask"] = damage_mask
    if mask_output is not None:  # the damage mask restore used (`ops.restore`), written to this folder
        steps[0][1]["mask_output"] = mask_output
    if colorize:
        guides = {k: v for k, v in (("reference", reference), ("hints", hints), ("bank", bank)) if v}
        steps.append(("colorize", {"model": colorize_model, **guides}))
    if scale > 1:
        steps.append(("upscale", {"model": upscale_model, "scale": scale, "tile": max(64, tile // 4)}))
    if precision is not None:
        for _, kwargs in steps:
            kwargs["precision"] = precision
    return steps


class Repair(Operation):
    name = "repair"
    version = "1"
    summary = "Repair an old photograph: restore, then optionally colorize and upscale, with one progress bar"

    def check(self, params: dict) -> None:
        for step, kwargs in plan(**params):
            get_operation(step).check(kwargs)

    def run(self, picture: Picture, progress: Progress | None = None, **params: object) -> Picture:
        steps = plan(**params)  # type: ignore[arg-type]
        total = len(steps) * STEP_UNITS
        for i, (step, kwargs) in enumerate(steps):
            def report(done: int, n: int, i: int = i) -> None:
                if progress:
                    progress(i * STEP_UNITS + done * STEP_UNITS // max(n, 1), total)

            picture = get_operation(step).run(picture, report, **kwargs)
        return picture

    def notes(self, picture: Picture, params: dict) -> list[str]:
        return [note for step, kwargs in plan(**params) for note in get_operation(step).notes(picture, kwargs)]

    def with_defaults(self, params: dict, clip: bool) -> dict:
        """A clip's steps run bf16 where every one of them would by itself (`Operation.with_defaults`), else fp32;
        written into the parameters so an archive recipe says which. Stills stay fp32 unless asked."""
        if not clip or params.get("precision") is not None:
            return params
        chosen = {get_operation(step).with_defaults({k: v for k, v in kwargs.items() if k != "precision"},
                                                    clip=True).get("precision", "fp32")
                  for step, kwargs in plan(**params)}
        return {**params, "precision": "bf16" if chosen == {"bf16"} else "fp32"}

    def for_clip(self, first: Picture, params: dict) -> dict:
        """Restore's halftone screen and noise, measured once on a clip's first frame (no `mask_output`)."""
        refuse_mask_output(params)
        if params.get("restore_prefilter") is not None:
            return params
        restored = get_operation("restore").for_clip(first, {"model": params.get("restore_model")})
        return {**params, "restore_prefilter": restored["prefilter"]}

    def provenance(self, **params: object) -> Provenance:
        steps = plan(**params)  # type: ignore[arg-type]
        kept = {k: v for k, v in params.items() if k != "mask_output"}  # changes no pixel
        recorded, models = {**kept, "steps": [s for s, _ in steps]}, []
        for step, kwargs in steps:
            made = get_operation(step).provenance(**kwargs)
            models += made.models
            if step == "colorize":  # the references as colorize records them (paths and sha256)
                recorded |= {k: made.params[k] for k in ("reference", "reference_sha256", "hints") if k in made.params}
            if step == "restore" and "damage_mask" in made.params:  # its file name and sha256
                recorded["damage_mask"] = made.params["damage_mask"]
        return Provenance(self.name, self.version, recorded, models)


repair = register(Repair())
