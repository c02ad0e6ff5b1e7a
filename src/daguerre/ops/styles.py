"""Loading style networks and style images, cached so a batch loads each once."""

from __future__ import annotations

from functools import lru_cache

import torch

from daguerre.imaging import load
from daguerre.imaging.colour import downscale
from daguerre.models.card import ModelCard
from daguerre.models.onnx import OnnxModel, onnx_available
from daguerre.models.registry import build, find_model
from daguerre.nets.adain import mean_std
from daguerre.nets.style_net import StyleNet
from daguerre.nets.vgg16 import load_vgg16

DEFAULT_ARBITRARY_MODEL = "adain-met"


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


@lru_cache(maxsize=1)
def adain_encoder() -> torch.nn.Module:
    with torch.inference_mode(False):
        return load_vgg16(("relu4_1",))


@lru_cache(maxsize=4)
def adain_decoder(name: str = DEFAULT_ARBITRARY_MODEL) -> tuple[ModelCard, torch.nn.Module]:
    card = find_model(name)
    if card.task != "arbitrary-style":
        raise ValueError(f"model {name!r} is a {card.task} model, not an arbitrary-style decoder")
    return card, build(card)


@lru_cache(maxsize=32)
def style_statistics(path: str, size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel mean and deviation of a painting's VGG relu4_1 features (the painting at `size` px)."""
    x = torch.from_numpy(load(path).rgb())[None]
    with torch.inference_mode():
        return mean_std(adain_encoder()(downscale(x, size))["relu4_1"])


def style_image(path: str, size: int) -> torch.Tensor:
    return downscale(torch.from_numpy(load(path).rgb())[None], size)
