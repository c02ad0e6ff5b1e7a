"""Model cards: what a shipped or trained model is, where it came from and how well it does."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a model's name is the stem of its files


def check_model_name(name: str) -> str:
    """`name` if it can name a model (letters, digits, '.', '_', '-'; it is the stem of the card and weights
    files), else a one-line ValueError, before any training is spent on it."""
    if not MODEL_NAME.fullmatch(name):
        raise ValueError(f"model name {name!r}: use letters, digits, '.', '_' and '-' (it names the model's files)")
    return name


@dataclass
class ModelCard:
    name: str
    task: str  # "style", "arbitrary-style", "restore", ...
    architecture: str  # class name in daguerre.nets
    config: dict  # constructor arguments of the architecture
    weights: str  # file name of the safetensors weights, beside the card
    sha256: str = ""
    licence: str = "Apache-2.0"
    source: str = "trained by daguerre"
    description: str = ""
    style: dict = field(default_factory=dict)  # for style models: the painting's record
    training: dict = field(default_factory=dict)  # recipe, data, steps, wall time, seed
    metrics: dict = field(default_factory=dict)
    path: str = ""  # folder the card was read from (not saved)

    @property
    def build_key(self) -> str:
        """What the built network depends on: its weights' sha256 and a digest of its architecture and config (a
        card's settings, such as restore's gates, change the network without changing the weights)."""
        import hashlib
        import json

        shape = json.dumps([self.architecture, self.config], sort_keys=True).encode()
        return f"{self.sha256[:16]}-{hashlib.sha256(shape).hexdigest()[:8]}"

    def weights_path(self) -> Path:
        return Path(self.path) / self.weights

    def save(self, folder: Path) -> Path:
        data = asdict(self)
        data.pop("path")
        out = Path(folder) / f"{self.name}.json"
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(out)
        return out

    @classmethod
    def load(cls, card_file: Path) -> ModelCard:
        data = json.loads(Path(card_file).read_text())
        data["path"] = str(Path(card_file).parent)
        return cls(**data)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
