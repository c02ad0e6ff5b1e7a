"""`--verbose`: an error prints its traceback (for a bug report) as well as its one line.

Faces log the traceback of every error they turn into one line with `log_traceback()`; it is shown only
after `set_verbose()`. Light on purpose: the command line imports this before anything heavy.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("daguerre")


def set_verbose(on: bool = True) -> None:
    """Show debug messages and tracebacks of the `daguerre` loggers on stderr."""
    if on and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if on else logging.WARNING)


def log_traceback(what: str = "traceback") -> None:
    """Inside an `except` block: log the exception's traceback (shown under --verbose only)."""
    if sys.exc_info()[0] is not None:
        log.debug(what, exc_info=True)
