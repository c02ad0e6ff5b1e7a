"""Errors for people: one line naming the file; `--verbose` adds the traceback (for a bug report).

Faces log the traceback of every error they turn into one line with `log_traceback()`; it is shown only
after `set_verbose()`. Light on purpose: the command line imports this before anything heavy.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("daguerre")


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (a test runner swaps it)."""

    @property
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def set_verbose(on: bool = True) -> None:
    """Show debug messages and tracebacks of the `daguerre` loggers on stderr."""
    if on and not any(isinstance(h, _Stderr) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if on else logging.WARNING)


def log_traceback(what: str = "traceback") -> None:
    """Inside an `except` block: log the exception's traceback (shown under --verbose only)."""
    if sys.exc_info()[0] is not None:
        log.debug(what, exc_info=True)


def one_line(path: os.PathLike | str, error: Exception) -> str:
    """Inside an `except` block: the error in one line naming the file, its traceback logged for --verbose.

    An ImageError already reads "<file>: <problem>"; anything else (a bug) also gets its type."""
    from daguerre.imaging.io import ImageError

    log_traceback(f"{path}: traceback")
    if isinstance(error, ImageError):
        return str(error)
    text = (str(error).strip().splitlines() or [""])[0]
    kind = "" if isinstance(error, ValueError | RuntimeError | MemoryError) else f"{type(error).__name__}: "
    return f"{path}: {kind}{text}" if text else f"{path}: {type(error).__name__}"
