"""`upscale`: enlarge a small or soft scan x4 or x2 with a trained upscale model (`nets.upscale_net`).

The model upscales x4; x2 is its x4 result reduced by half with an antialiased filter (as Real-ESRGAN does
for scales below its model's). Large pictures go through the shared tiler (tiles of `tile` input pixels);
grey pictures are upscaled on three equal channels and come back grey, keeping their bit depth. The output
must stay under the pixel limit `load` accepts (`DAGUERRE_MAX_PIXELS`), so a result can be read back.
`precision="bf16"` runs the model's ONNX file by OpenVINO in bfloat16 where the CPU computes it natively (×3 the
speed, 59 dB from fp32; BENCHMARKS.md, "Restore and upscale in bf16"): a clip's default there, a still's when asked.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from daguerre.imaging import Picture, run_tiled
from daguerre.imaging.io import max_pixels
from daguerre.imaging.lab import luma
from daguerre.models.onnx import OnnxModel, bf16_available, check_precision, onnx_available
from daguerre.ops.base import Operation, Progress, Provenance, register
from daguerre.ops.film import repixel
from daguerre.ops.task_models import model_record, task_model

SCALES = (2, 4)
ENGINES = ("auto", "onnx", "torch")


class Upscale(Operation):
    name = "upscale"
    version = "1"
    summary = "Upscale a small or soft photograph x2 or x4 with a GAN super-resolution model"

    def check(self, params: dict) -> None:
        super().check(params)
        if (scale := params.get("scale", 4)) not in SCALES:
            raise ValueError(f"scale must be 2 or 4, not {scale}")
        if params.get("engine", "auto") not in ENGINES:
            raise ValueError(f"unknown engine {params['engine']!r} (use {', '.join(ENGINES)})")
        if (precision := params.get("precision", "fp32")) not in ("fp32", "bf16"):
            raise ValueError(f"upscale runs its model in fp32 or bf16, not {precision!r}")
        if precision == "bf16":
            check_precision("bf16")
            if params.get("engine", "auto") == "torch":
                raise ValueError("precision bf16 runs the model's ONNX file by OpenVINO: not with engine torch")
            if not onnx_available():
                raise RuntimeError("precision bf16 runs the model's ONNX file, and onnxruntime is not installed")

    def with_defaults(self, params: dict, clip: bool) -> dict:
        """A clip's model runs bf16 where the CPU computes it natively and OpenVINO compiles it, else fp32; written
        into the parameters so an archive recipe says which. Stills stay fp32 unless asked."""
        if not clip or params.get("precision") is not None or params.get("engine", "auto") == "torch":
            return params
        return {**params, "precision": "bf16" if _model_bf16_runs(params.get("model")) else "fp32"}

    def run(self, picture: Picture, progress: Progress | None = None, *, model: str | None = None, scale: int = 4,
            tile: int = 256, engine: str = "auto", precision: str = "fp32", **unknown: object) -> Picture:
        self.check({"scale": scale, "engine": engine, "precision": precision, **unknown})
        w, h = picture.size
        if w * h * scale * scale > max_pixels():
            raise ValueError(f"the x{scale} result would be {w * scale}x{h * scale} pixels, over the limit of "
                             f"{max_pixels():,} (DAGUERRE_MAX_PIXELS)")
        card, net = task_model("upscale", model)
        if engine == "onnx" and not onnx_available():
            raise RuntimeError("engine 'onnx' asked for but onnxruntime is not installed")
        fn = OnnxModel(card, net, precision=precision) if engine != "torch" and onnx_available() else net
        x = torch.from_numpy(picture.rgb())[None]
        with torch.inference_mode():
            overlap = min(4 * net.receptive_radius, tile // 3)
            y = run_tiled(fn, x, tile=tile, overlap=overlap, scale=net.scale, multiple=1, progress=progress)
            if scale != net.scale:
                y = F.interpolate(y, size=(h * scale, w * scale), mode="bicubic", antialias=True,
                                  align_corners=False)
            y = y.clamp(0, 1)
            if picture.is_grey:
                y = luma(y)
        return repixel(picture, y[0].numpy())

    def provenance(self, **params: object) -> Provenance:
        card, _ = task_model("upscale", params.get("model"))  # type: ignore[arg-type]
        return Provenance(self.name, self.version, dict(params), [model_record(card)])


upscale = register(Upscale())


def _model_bf16_runs(model: object) -> bool:
    """Whether a clip's upscale can default to bf16: the CPU computes it natively and OpenVINO compiles the model
    (done, and cached, now). If OpenVINO cannot, the clip runs fp32 with a warning naming why."""
    if not bf16_available() or not onnx_available():
        return False
    card, net = task_model("upscale", model if isinstance(model, str) else None)
    try:
        OnnxModel(card, net, precision="bf16")
    except RuntimeError as e:
        import logging

        logging.getLogger("daguerre").warning("upscale's model runs fp32 on this clip: %s", e)
        return False
    return True
