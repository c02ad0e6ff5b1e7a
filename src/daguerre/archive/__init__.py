"""The archive: immutable masters, labelled derivatives, and a verifiable history for each (see api.Archive)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daguerre.archive.errors import ArchiveError

if TYPE_CHECKING:
    from daguerre.archive.api import Archive, IngestReport

__all__ = ["Archive", "ArchiveError", "IngestReport"]


def __getattr__(name: str) -> object:
    """Load the API (SQLAlchemy, Alembic, c2pa...) on first use, so the CLI starts fast."""
    if name in ("Archive", "IngestReport"):
        from daguerre.archive import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
