"""daguerre: GAN restoration, colourization, upscaling and style transfer for historical photographs.

The Python API mirrors the command line: `load`, `save`, `stylize`, `restore`, `colorize`, `upscale`, `repair`,
`retro`, `film`, `age`, `run_clip` (any of them over a clip), `list_models`, `evaluate`, `train_style`,
`train_retro`, `train_recipe`, `train_colour_bank` (see daguerre.api).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from daguerre.api import (
        Picture,
        age,
        colorize,
        evaluate,
        film,
        list_models,
        load,
        repair,
        restore,
        retro,
        run_clip,
        save,
        stylize,
        train_colour_bank,
        train_recipe,
        train_retro,
        train_style,
        upscale,
    )

__all__ = ["Picture", "age", "colorize", "evaluate", "film", "list_models", "load", "repair", "restore", "retro",
           "run_clip", "save", "stylize", "train_colour_bank", "train_recipe", "train_retro", "train_style", "upscale"]


def __getattr__(name: str) -> object:
    """Load the API (torch, Pillow...) on first use, so `daguerre --help` starts at once."""
    if name in __all__:
        from daguerre import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The API's names too (tab completion, `help`), though they load on first use."""
    return sorted({*globals(), *__all__})
