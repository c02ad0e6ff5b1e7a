"""The archive's one error type, and the fault-injection points the crash tests use."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

CRASH_ENV = "DAGUERRE_ARCHIVE_CRASH_AT"


class ArchiveError(Exception):
    """A request the archive refuses or cannot carry out; ``str()`` is one line and nothing stored was changed."""


class ApplyError(ArchiveError):
    """Some items of an `apply` over several failed: the others were still derived (``made``)."""

    def __init__(self, made: list, failed: list[str]) -> None:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        super().__init__(f"{len(failed)} of {len(made) + len(failed)} items failed: {failed[0]}{more}")
        self.made, self.failed = made, failed


@contextmanager
def naming(item_id: str, filename: str) -> Iterator[None]:
    """Say which item a store or image error inside is about (``ID (FILE): problem``): the error alone names a
    store object or a store path, which tells an archivist nothing."""
    from daguerre.imaging import ImageError

    try:
        yield
    except (ArchiveError, ImageError) as e:
        problem = e.problem if isinstance(e, ImageError) else str(e)
        raise ArchiveError(f"{item_id} ({filename}): {problem}") from None


def crashpoint(name: str) -> None:
    """Kill this process with SIGKILL here if ``$DAGUERRE_ARCHIVE_CRASH_AT`` names this point (tests only)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
