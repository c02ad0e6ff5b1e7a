"""The archive: immutable masters, labelled derivatives, and a verifiable history for each (see api.Archive)."""

from daguerre.archive.api import Archive, IngestReport
from daguerre.archive.errors import ArchiveError

__all__ = ["Archive", "ArchiveError", "IngestReport"]
