"""The model an operation needs: a named one, or the first installed model of its task; built once per weights."""

from __future__ import annotations

from torch import nn

from daguerre.models.card import ModelCard
from daguerre.models.registry import ModelNotFoundError, build, find_model, list_models

_BUILT: dict[tuple[str, str], nn.Module] = {}  # by weights file and `build_key`: a batch builds each model once


def task_model(task: str, name: str | None = None) -> tuple[ModelCard, nn.Module]:
    """The card and network of model `name` (or of the first installed `task` model), checking its task."""
    if name:
        card = find_model(name)
        if card.task != task:
            raise ValueError(f"model {name!r} is a {card.task} model, not a {task} model")
    else:
        cards = list_models(task)
        if not cards:
            raise ModelNotFoundError(f"no {task} model is installed (`daguerre models --task {task}` lists none); "
                                     f"train one with `daguerre train recipe recipes/{task}.toml`")
        card = cards[0]
    key = (str(card.weights_path()), card.build_key)
    if key not in _BUILT:
        if len(_BUILT) >= 8:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = build(card)
    return card, _BUILT[key]


def model_record(card: ModelCard) -> dict:
    """What the archive's event records about a model."""
    return {"name": card.name, "task": card.task, "sha256": card.sha256, "licence": card.licence,
            "source": card.source, "architecture": card.architecture}
