"""The top-level Python API (`import daguerre`) as a user calls it."""

from __future__ import annotations

import subprocess
import sys


def test_every_api_name_is_callable_after_the_subpackages_are_imported():
    """In a fresh interpreter, after a call that imports `daguerre.models` and the operations, every name of
    `daguerre.__all__` is still the API's callable (a subpackage of the same name used to hide `models`), and
    `list_models` lists the shipped restore model."""
    code = """
import daguerre
from pathlib import Path
photo = daguerre.load(Path(daguerre.__file__).parent / "samples" / "coffee.jpg")
assert daguerre.retro(photo, preset="sepia").size == photo.size
bad = [n for n in daguerre.__all__ if not callable(getattr(daguerre, n))]
assert not bad, bad
assert "restore-photos" in [c.name for c in daguerre.list_models("restore")]
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
