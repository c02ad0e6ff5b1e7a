"""daguerre: GAN restoration, colourization, upscaling and style transfer for historical photographs.

The Python API mirrors the command line: `load`, `save`, `stylize`, `models`, `evaluate`,
`train_style`, `train_recipe` (see daguerre.api).
"""

__version__ = "0.1.0"

from daguerre.api import Picture, evaluate, load, models, save, stylize, train_recipe, train_style  # noqa: E402

__all__ = ["Picture", "evaluate", "load", "models", "save", "stylize", "train_recipe", "train_style"]
