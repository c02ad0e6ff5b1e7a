"""The archive's one error type, and the fault-injection points the crash tests use."""

from __future__ import annotations

import os
import signal

CRASH_ENV = "DAGUERRE_ARCHIVE_CRASH_AT"


class ArchiveError(Exception):
    """A request the archive refuses or cannot carry out; ``str()`` is one line and nothing stored was changed."""


def crashpoint(name: str) -> None:
    """Kill this process with SIGKILL here if ``$DAGUERRE_ARCHIVE_CRASH_AT`` names this point (tests only)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
