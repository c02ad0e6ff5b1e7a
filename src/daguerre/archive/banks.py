"""Colour banks from an archive's colour masters (`daguerre archive colour-bank`, the web app's collection view):
`colorize --bank NAME` then takes the automatic colour from them. Masters only: a machine-made derivative is not
a photograph, and a colorized result must never come back as an example of colour."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daguerre.archive.errors import ArchiveError

if TYPE_CHECKING:
    from pathlib import Path

    from daguerre.archive.api import Archive
    from daguerre.archive.catalogue import Item
    from daguerre.models.card import ModelCard


def make_colour_bank(archive: Archive, items: list[Item], name: str, *, per_photo: int = 400,
                     out: Path | None = None, replace: bool = False, what: str = "",
                     progress: object = None) -> ModelCard:
    """A colour bank (`api.train_colour_bank`) of `items`' still pictures, its card recording the archive and the
    items' ids; clips and withdrawn items are left out. A derivative among them, no picture left, a bad name or
    no colour photo among them: an ArchiveError saying so (`what` names the selection), and nothing written.
    `progress(done, total)` after each picture."""
    pictures = bank_pictures(items, what)
    return bank_of_masters({it.id: archive.store.local_path(it.sha256) for it in pictures}, str(archive.path), name,
                           per_photo=per_photo, out=out, replace=replace, progress=progress)


def bank_pictures(items: list[Item], what: str = "") -> list[Item]:
    """The masters a colour bank of `items` learns from: their still pictures not withdrawn. A derivative among
    them or no picture left: an ArchiveError saying so (`what` names the selection)."""
    from daguerre.archive.video import is_clip_item

    if made := [it.id for it in items if it.kind != "master"]:
        raise ArchiveError(f"{made[0]}: a machine-made derivative; a colour bank learns from photographs (masters) "
                           "only")
    pictures = [it for it in items if not is_clip_item(it) and not it.withdrawn]
    if not pictures:
        raise ArchiveError("no master pictures to make a colour bank from" + (f" ({what})" if what else ""))
    return pictures


def bank_of_masters(files: dict[str, Path], archive: str, name: str, *, per_photo: int = 400,
                    out: Path | None = None, replace: bool = False, progress: object = None) -> ModelCard:
    """`api.train_colour_bank` of the masters' stored `files` (by item id), its card recording the `archive` and
    the ids; `progress(done, total)` after each photo. Its errors are one-line ArchiveErrors, an unreadable stored
    file named by its item."""
    from daguerre.api import train_colour_bank
    from daguerre.imaging import ImageError
    from daguerre.models.registry import ModelNotFoundError

    by_path = {str(path): item_id for item_id, path in files.items()}
    try:
        return train_colour_bank(list(files.values()), name, per_photo=per_photo, out=out, replace=replace,
                                 progress=progress, recorded={"archive": archive, "items": list(files)})
    except ImageError as e:
        if str(e.path) not in by_path:
            raise
        raise ArchiveError(f"{by_path[str(e.path)]}: its stored file cannot be read: {e.problem}") from None
    except (ValueError, FileNotFoundError, ModelNotFoundError) as e:
        raise ArchiveError(str(e)) from None
