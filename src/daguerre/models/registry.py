"""One registry for every model: shipped weights inside the package plus the user's own.

Search order: folders in $DAGUERRE_MODELS (os.pathsep-separated), the user's model folder
(~/.local/share/daguerre/models), then the weights shipped with daguerre. Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.models.card import ModelCard, sha256_of

if TYPE_CHECKING:  # torch loads when a model is built, not to list the cards
    import torch

SHIPPED = Path(__file__).parent / "weights"


class ModelNotFoundError(LookupError):
    pass


def user_models_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "daguerre" / "models"


def search_path() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("DAGUERRE_MODELS", "").split(os.pathsep) if p]
    return [*extra, user_models_dir(), SHIPPED]


def list_models(task: str | None = None) -> list[ModelCard]:
    seen: dict[str, ModelCard] = {}
    for folder in search_path():
        if not folder.is_dir():
            continue
        for card_file in sorted(folder.glob("*.json")):
            card = ModelCard.load(card_file)
            if card.name not in seen and (task is None or card.task == task):
                seen[card.name] = card
    return sorted(seen.values(), key=lambda c: (c.task, c.name))


def find_model(name: str) -> ModelCard:
    for card in list_models():
        if card.name == name:
            return card
    names = ", ".join(c.name for c in list_models()) or "none installed"
    raise ModelNotFoundError(f"no model named {name!r} (installed: {names})")


def check_name_free(name: str, task: str, folder: Path, replace: bool = False, hint: str = "") -> None:
    """A one-line ValueError if a model named `name` is installed (a new one would hide it), unless `replace` and it
    is the user's own `task` model in `folder`, remade there; a shipped model's name is never free. `hint`: said
    after the refusal of one's own model."""
    try:
        taken = find_model(name)
    except ModelNotFoundError:
        return
    where = Path(taken.path).resolve()
    own = taken.task == task and where == Path(folder).resolve() != SHIPPED.resolve()
    if not (replace and own):
        said = "shipped with daguerre" if where == SHIPPED.resolve() else taken.path
        raise ValueError(f"model name {name!r} is taken (a {taken.task} model, {said}): choose another name"
                         + (hint if own else ""))


def build(card: ModelCard) -> torch.nn.Module:
    """Instantiate the card's architecture with its weights, in eval mode, verifying the sha256."""
    import torch
    from safetensors.torch import load_file

    from daguerre import nets

    path = card.weights_path()
    if card.sha256 and sha256_of(path) != card.sha256:
        raise ValueError(f"{path}: weights do not match the sha256 in the model card")
    with torch.inference_mode(False):  # cached models must stay usable outside inference mode
        net = nets.ARCHITECTURES[card.architecture](**card.config)
        net.load_state_dict(load_file(str(path)))
    return net.eval()


def save_model(net: torch.nn.Module, card: ModelCard, folder: Path) -> ModelCard:
    """Write weights (safetensors) and the card, filling in the weights' sha256."""
    from safetensors.torch import save_file

    from daguerre.models.card import check_model_name

    check_model_name(card.name)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / card.weights
    tmp = weights.with_suffix(".tmp")
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(tmp))
    tmp.replace(weights)
    weights.chmod(0o644)
    card.sha256 = sha256_of(weights)
    card.path = str(folder)
    card.save(folder)
    return card
