"""`repair`: the whole treatment of an old photograph in one operation, in the right order.

1. restore (the damage mask predictor finds scratches, dust and creases and the generator inpaints them while
   undoing fading, casts, grain and blur), at the scan's own size;
2. colorize, if asked (on the restored grey picture: colour predicted from clean luminance; from `reference`
   pictures and colour `hints` when given, as `colorize` takes them);
3. upscale x2 or x4, if asked, last: the slow steps run on the small picture and the upscaler sees a clean one.

Each step is the registered operation itself (no second copy); progress is reported as one bar over all
steps, and the provenance records every step's parameters and model.
`damage_mask` and `mask_output` go to the restore step (`ops.restore`: damage the user marked; a folder for the
damage mask restore used).
"""

from __future__ import annotations

from daguerre.imaging import Picture
from daguerre.ops.base import Operation, Progress, Provenance, get_operation, register
from daguerre.ops.restore import refuse_mask_output

STEP_UNITS = 100  # progress units per step


def plan(*, colorize: bool = False, scale: int = 1, strength: float = 1.0, restore_model: str | None = None,
         colorize_model: str | None = None, upscale_model: str | None = None, tile: int = 1024,
         restore_prefilter: list[float] | None = None, reference: object = None, hints: object = None,
         damage_mask: object = None, mask_output: object = None, **unknown: object) -> list[tuple[str, dict]]:
    """The steps `repair` runs: (operation name, its parameters) in order."""
    if unknown:
        raise TypeError(f"repair: unknown parameter(s) {', '.join(unknown)}")
    if scale not in (1, 2, 4):
        raise ValueError(f"scale must be 1, 2 or 4, not {scale}")
    if (reference or hints) and not colorize:
        raise ValueError("a reference or hints give the colour: ask for colorize too (--colorize; colorize=true "
                         "in Python, the archive and the API)")
    steps = [("restore", {"model": restore_model, "strength": strength, "tile": tile})]
    if restore_prefilter is not None:  # a clip's: measured once on its first frame
        steps[0][1]["prefilter"] = restore_prefilter
    if damage_mask is not None:  # damage the user marked, repaired by restore with what it finds
        steps[0][1]["damage_mask"] = damage_mask
    if mask_output is not None:  # the damage mask restore used (`ops.restore`), written to this folder
        steps[0][1]["mask_output"] = mask_output
    if colorize:
        guides = {k: v for k, v in (("reference", reference), ("hints", hints)) if v}
        steps.append(("colorize", {"model": colorize_model, **guides}))
    if scale > 1:
        steps.append(("upscale", {"model": upscale_model, "scale": scale, "tile": max(64, tile // 4)}))
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
