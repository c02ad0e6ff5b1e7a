"""`restore`: repair a scanned old photograph with a trained restore model (`daguerre.nets.restore_net`).

The model predicts the damage mask (scratches, dust, cracks, tears) and, guided by it, inpaints the damage and
corrects fading, casts, grain and blur. Large pictures go through the shared tiler. Grey photographs are
restored on three equal channels and come back grey; `strength` mixes the result with the photo. A model with a
global tone correction (ToneNet) measures it once on the whole picture and applies it to every tile. A model
with a `mask_rule` predicts the damage mask tile by tile first, drops its false alarms on the whole mask
(`nets.mask_rule`: highlights, busy texture), then restores tile by tile with that mask. A model with `denoise`
first removes white sensor noise from a picture that has much of it, and one with `descreen` a halftone screen
(`RestoreNet.denoised`); `prefilter` gives what to remove instead of measuring it (a clip: from its first frame).
A model with `keep` keeps the picture's own fine detail outside the damage mask unless the picture is grainy
(`RestoreNet.kept`), and one with `fill` fills the damage by classical inpainting (`RestoreNet.filled`).

`damage_mask` (a file or Picture: grey, white = damaged, as `daguerre age --mask-output` writes; any size with the
picture's proportions) marks damage the user has seen: it is added to the model's own mask (after its false alarms
are dropped), so what it covers is filled and repaired even where the model found nothing. The provenance records
its sha256.

`mask_output` (a folder) writes the damage mask restore used, after its false alarms are dropped and with the
user's `damage_mask` added, as ``<input stem>.png``: 8-bit grey at the picture's size, white = damaged, the format
`damage_mask` reads (rounded down to 8 bits, so given back unchanged it changes nothing). A user sees what was
taken as damage, paints more, and passes it back. It changes no pixel, so the provenance does not record it. A
model that finds its mask inside one network pass (or its ONNX export) has none to write, and a clip (one mask per
frame) is refused: both are one-line errors.

`precision="bf16"` runs the mask predictor and the U-Net by OpenVINO in bfloat16 where the CPU computes it natively
(×1.9 the speed of a 480p frame, 62 dB from fp32; BENCHMARKS.md, "Restore and upscale in bf16"): a clip's default there
(`with_defaults`), a still's when asked.

`reference` (a file or Picture: a clean print, a later copy, a photo of the period; or a list of them, pooled)
guides the global tone and colour: the restored picture's CIELAB means and deviations are matched to the
reference's (`imaging.colour.match_reference`); a grey reference guides the lightness only, and a grey result takes
only its lightness. The provenance records each reference's sha256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

from daguerre.imaging import Picture, load, run_tiled
from daguerre.imaging.colour import blend, match_reference
from daguerre.imaging.lab import luma
from daguerre.models.onnx import OnnxModel, bf16_available, check_precision, onnx_available
from daguerre.ops.base import Operation, Progress, Provenance, register, write_mask
from daguerre.ops.film import repixel
from daguerre.ops.task_models import model_record, task_model

# Four times the receptive field radius of RestoreNet (mask net 20 px + U-Net 38 px): tiled equals whole.
TILE_OVERLAP = 240
ENGINES = ("auto", "onnx", "torch")


class Restore(Operation):
    name = "restore"
    version = "1"
    summary = "Restore an old photograph: remove scratches, dust and creases, undo fading, casts, grain and blur"

    def check(self, params: dict) -> None:
        super().check(params)
        if params.get("engine", "auto") not in ENGINES:
            raise ValueError(f"unknown engine {params['engine']!r} (use {', '.join(ENGINES)})")
        if (prefilter := params.get("prefilter")) is not None and (len(prefilter) not in (2, 3) or min(prefilter) < 0):
            raise ValueError("prefilter must be (halftone frequency, noise level[, grain level]), all >= 0, got "
                             f"{prefilter}")
        if (precision := params.get("precision", "fp32")) not in ("fp32", "bf16"):
            raise ValueError(f"restore runs its networks in fp32 or bf16, not {precision!r}")
        if precision == "bf16":
            check_precision("bf16")
            if params.get("engine", "auto") != "auto":
                raise ValueError(f"precision bf16 runs the networks by OpenVINO: not with engine {params['engine']}")

    def with_defaults(self, params: dict, clip: bool) -> dict:
        """A clip's networks run bf16 where the CPU computes it natively and OpenVINO converts them (the same
        figures on held-out damage: BENCHMARKS.md, "Restore and upscale in bf16"), else fp32; written into the
        parameters so an archive recipe says which. Stills stay fp32 unless asked."""
        if not clip or params.get("precision") is not None or params.get("engine", "auto") != "auto":
            return params
        return {**params, "precision": "bf16" if _networks_bf16_run(params.get("model")) else "fp32"}

    def run(self, picture: Picture, progress: Progress | None = None, *, model: str | None = None,
            strength: float = 1.0, tile: int = 1024, engine: str = "auto",
            reference: str | Path | Picture | None = None, prefilter: Sequence[float] | None = None,
            damage_mask: str | Path | Picture | None = None, mask_output: str | Path | None = None,
            precision: str = "fp32", **unknown: object) -> Picture:
        self.check({"strength": strength, "engine": engine, "prefilter": prefilter, "precision": precision,
                    **unknown})
        guides = [reference_picture(r) for r in references(reference)]
        card, net = task_model("restore", model)
        marked = None if damage_mask is None else user_mask(damage_mask, picture.size)
        for asked, what in ((marked, "take a damage mask"), (mask_output, "write the damage mask it used")):
            if asked is not None and not (net.mask_rule > 0 or net.keep or net.fill):
                raise ValueError(f"model {card.name!r} finds its damage mask inside one network pass: it cannot "
                                 f"{what} (the shipped model can)")
        if engine == "onnx" and (not onnx_available() or net.tone is not None or net.mask_rule > 0
                                 or net.keep or net.fill):
            raise RuntimeError("engine 'onnx' asked for but " + ("onnxruntime is not installed" if not onnx_available()
                               else f"model {card.name!r} tiles with its whole-picture tone correction, mask rule, "
                               "keep or fill, which its ONNX export (whole pictures only: `daguerre export-onnx`) "
                               "cannot: use engine torch or auto"))
        photo = torch.from_numpy(picture.rgb())[None]
        with torch.inference_mode():
            overlap = min(TILE_OVERLAP, tile // 3 // net.multiple * net.multiple)
            tiled = partial(run_tiled, tile=tile, overlap=overlap, multiple=net.multiple)
            measured = tuple(prefilter) if prefilter is not None else None
            if net.keep and (measured is None or len(measured) < 3):  # the grain `kept` reads
                own = net.prefilters(photo[0].numpy())
                measured = (*(measured or own)[:2], own[2])
            x = net.denoised(photo, measured)  # screens, white noise
            params = net.tone_params(x)  # measured once on the whole picture, applied to every tile (or None)
            if net.mask_rule > 0 or net.keep or net.fill:
                # the mask by tiles, its false alarms dropped on the whole, then restore by tiles with it
                mask = tiled(partial(net.damage_mask, params=params, rule=False, precision=precision), x)
                toned = net.toned(x, params)
                mask = net.drop_false_alarms(mask, toned)
                if marked is not None:  # the user's damage too, whatever the model made of it
                    mask = torch.maximum(mask, marked)
                if mask_output is not None:  # the mask used, for the user to see and add to
                    write_mask(mask[0, 0].numpy(), mask_output, picture.source)
                y = tiled(lambda t: net.local(t[:, :3], params, t[:, 3:], precision), torch.cat([x, mask], 1),
                          progress=progress)
                y = net.kept(toned, y, mask, [measured]) if net.keep else y
                y = net.filled(y, toned, mask)
            elif net.tone is not None or precision == "bf16":
                y = tiled(partial(net.local, params=params, precision=precision), x, progress=progress)
            else:
                y = tiled(OnnxModel(card, net) if engine != "torch" and onnx_available() else net, x, progress=progress)
            y = y.clamp(0, 1)
            if guides:
                y = match_reference(y, [torch.from_numpy(g.rgb())[None] for g in guides])
            y = blend(photo, y, strength)
            if picture.is_grey:
                y = luma(y)
        return repixel(picture, y[0].numpy())

    def for_clip(self, first: Picture, params: dict) -> dict:
        """A clip's halftone screen, noise and grain are measured once, on its first frame (`RestoreNet.prefilters`).
        A clip's damage masks are not written (`mask_output`: one-line error)."""
        refuse_mask_output(params)
        if params.get("prefilter") is not None:
            return params
        _, net = task_model("restore", params.get("model"))  # type: ignore[arg-type]
        return {**params, "prefilter": list(net.prefilters(first.rgb()))}

    def provenance(self, **params: object) -> Provenance:
        card, _ = task_model("restore", params.get("model"))  # type: ignore[arg-type]
        recorded = {k: v for k, v in params.items() if k != "mask_output"}  # where a copy of the mask went
        if params.get("damage_mask") is not None:
            recorded["damage_mask"] = reference_record(params["damage_mask"])  # type: ignore[arg-type]
        if params.get("reference") is not None:
            given = references(params["reference"])
            recorded["reference"] = ([reference_record(r) for r in given] if isinstance(params["reference"], list)
                                     else reference_record(given[0]))
        return Provenance(self.name, self.version, recorded, [model_record(card)])


def refuse_mask_output(params: dict) -> None:
    """A clip (restore's or repair's) with `mask_output`: a one-line error (a mask per frame is not written)."""
    if params.get("mask_output") is not None:
        raise ValueError(f"mask output {params['mask_output']}: the damage masks of a clip's frames are not written; "
                         "give photos (or the frames as pictures, to a folder)")


def references(reference: object) -> list:
    """The references given: none, one, or several (a list)."""
    if reference is None:
        return []
    return list(reference) if isinstance(reference, list | tuple) else [reference]


def reference_picture(reference: str | Path | Picture | None) -> Picture | None:
    """The reference as a Picture (loaded if a file: a missing or broken file is an ImageError naming it)."""
    if reference is None or isinstance(reference, Picture):
        return reference
    return load(Path(reference))


def user_mask(damage_mask: str | Path | Picture, size: tuple[int, int]) -> torch.Tensor:
    """(1,1,H,W) in [0,1] of a damage mask for a picture of `size` (width, height): its luminance (times its alpha:
    strokes on an editor's transparent layer mark only themselves), resized (bilinear) if it was drawn at another
    size. A file that is not a picture, or of other proportions, is a one-line error naming it."""
    mask = reference_picture(damage_mask)
    name = f"{damage_mask}: " if not isinstance(damage_mask, Picture) else "damage mask: "
    (w, h), (mw, mh) = size, mask.size
    if abs(mw / mh - w / h) > 0.02 * w / h:
        raise ValueError(f"{name}a damage mask of {mw}x{mh} px does not have the picture's proportions ({w}x{h})")
    marks = mask.luminance() if mask.alpha is None else mask.luminance() * mask.alpha
    m = torch.from_numpy(np.ascontiguousarray(marks, dtype=np.float32))[None, None]
    if (mw, mh) != (w, h):
        m = torch.nn.functional.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
    return m.clamp(0, 1)


def reference_record(reference: str | Path | Picture) -> dict:
    """What the provenance keeps of a reference: its file name and the sha256 of its bytes (of its pixels if it
    was given as a Picture)."""
    if isinstance(reference, Picture):
        return {"sha256": hashlib.sha256(np.ascontiguousarray(reference.pixels).tobytes()).hexdigest()}
    path = Path(reference)
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


restore = register(Restore())


def _networks_bf16_run(model: object) -> bool:
    """Whether a clip's restore can default to bf16: the CPU computes it natively and OpenVINO converts both
    networks (done, and cached, now). If OpenVINO cannot, the clip runs fp32 with a warning naming why."""
    if not bf16_available():
        return False
    _, net = task_model("restore", model if isinstance(model, str) else None)
    try:
        for part, channels in (("damage", net.damage.inputs(torch.zeros(1, 3, 16, 16)).shape[1]), ("generator", 4)):
            net.bf16_part(part, torch.zeros(1, channels, 64, 64))
    except RuntimeError as e:
        import logging

        logging.getLogger("daguerre").warning("restore's networks run fp32 on this clip: %s", e)
        return False
    return True
