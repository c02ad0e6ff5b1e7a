"""The operations users run on pictures; one registry for every face."""

from daguerre.ops import age, colorize, film, repair, restore, retro, upscale  # noqa: F401  (registers these)
from daguerre.ops.base import OPERATIONS, Operation, Provenance, get_operation, register
from daguerre.ops.stylize import stylize

__all__ = ["OPERATIONS", "Operation", "Provenance", "get_operation", "register", "stylize"]
