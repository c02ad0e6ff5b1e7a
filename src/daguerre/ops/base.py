"""Operations: the things a user can do to a picture. Every face (CLI, Python, archive) calls these."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from daguerre.imaging import Picture, save

Progress = Callable[[int, int], None]


@dataclass
class Provenance:
    """What an operation used, for the archive's event record."""

    operation: str
    version: str
    params: dict
    models: list[dict] = field(default_factory=list)  # name, sha256, licence, source of each model used
    digital_source_type: str = "trainedAlgorithmicMedia"


class Operation:
    """One user-facing operation. Subclasses set `name`, `version` and implement `run`."""

    name: str = ""
    version: str = "1"
    summary: str = ""

    def run(self, picture: Picture, progress: Progress | None = None, **params: object) -> Picture:
        raise NotImplementedError

    def provenance(self, **params: object) -> Provenance:
        return Provenance(self.name, self.version, dict(params))

    def check(self, params: dict) -> None:
        """Refuse, before any work, parameters the operation would refuse later (a queued job fails on them):
        names it does not take, values not of their default's kind (a number, a whole number, true or false),
        `strength` outside 0..1, and in subclasses values out of range. Raises TypeError or ValueError."""
        declared = inspect.signature(type(self).run).parameters  # the class's run: as declared, not as wrapped
        taken = [n for n, p in declared.items()
                 if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n not in ("self", "picture", "progress")]
        for n in set(taken) & set(params):
            if (wrong := _wrong_kind(n, declared[n].default, params[n])) is not None:
                raise ValueError(f"{self.name}: {n} must be {wrong}, got {params[n]!r}")
        if any(p.kind is p.VAR_KEYWORD and n != "unknown" for n, p in declared.items()):
            return  # a run that forwards every keyword (a wrapper, `repair`'s steps) says nothing of the names
        if unknown := [n for n in params if n not in taken]:
            raise TypeError(f"{self.name}: unknown parameter(s) {', '.join(unknown)} (it takes {', '.join(taken)})")

    def notes(self, picture: Picture, params: dict) -> list[str]:
        """What a user should know about running this on `picture` with `params` (it runs all the same): each a
        phrase every face prints after the picture's name; none by default."""
        return []

    def for_clip(self, first: Picture, params: dict) -> dict:
        """`params` for every frame of a clip, from its first frame: what must not change from frame to frame."""
        return params

    def with_defaults(self, params: dict, clip: bool) -> dict:
        """`params` with the defaults that differ between a clip and a still written out, so a recipe says them."""
        return params


UNIT = ("strength",)  # between 0 and 1 in every operation that takes it


def _wrong_kind(name: str, default: object, value: object) -> str | None:
    """What `value` of parameter `name` must be if it is not (judged by the kind of its default), else None; None
    is always let through (the operation's default)."""
    number = isinstance(value, Real) and not isinstance(value, bool)
    if value is None:
        return None
    if name in UNIT:
        return None if number and 0 <= value <= 1 else "a number between 0 and 1"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):  # 512.0 is a whole number: a recipe or form may hold one, and always re-derives
        return None if number and (isinstance(value, Integral) or float(value).is_integer()) else "a whole number"
    if isinstance(default, float):
        return None if number else "a number"
    return None


def write_mask(mask: np.ndarray, folder: str | Path, source: Path | None) -> Path:
    """Write a damage mask (H,W) in [0,1] into `folder` (made if missing) as ``<source stem>.png`` (``mask.png``
    without a source): 8-bit grey, white = damaged, what `restore --damage-mask` reads (`age` and `restore` with
    `mask_output`). Rounded down to the 8-bit steps, so the file read back is nowhere above the mask: given back
    to restore as its `damage_mask`, it adds nothing to the mask it came from."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    steps = np.floor(np.clip(mask, 0, 1).astype(np.float64) * 255) / 255  # exact: k <= 255 m
    name = f"{source.stem if source else 'mask'}.png"
    return save(Picture(steps.astype(np.float32)[None], bit_depth=8), folder / name)


OPERATIONS: dict[str, Operation] = {}


def register(op: Operation) -> Operation:
    OPERATIONS[op.name] = op
    return op


def get_operation(name: str) -> Operation:
    """The operation of that name, else a one-line ValueError naming those there are."""
    try:
        return OPERATIONS[name]
    except KeyError:
        raise ValueError(f"no operation named {name!r} (available: {', '.join(sorted(OPERATIONS))})") from None
