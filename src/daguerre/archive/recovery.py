"""Crash recovery: objects written by a process that died before recording them are found and removed.

Every store write is announced by an intent row first (see ``Archive.store_and_record``), so orphans can only
be objects named by the intent of a dead process; finding them costs one small query, not a store scan.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from daguerre.archive import catalogue, events
from daguerre.archive.catalogue import Intent, Item
from daguerre.archive.store import pid_alive

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

STALE_REMOTE = timedelta(hours=24)  # an intent of another host older than this is taken as dead


def _alive(intent: Intent) -> bool:
    if intent.host == socket.gethostname():
        return pid_alive(intent.pid)
    return datetime.fromisoformat(intent.created) > datetime.now(UTC) - STALE_REMOTE


def recover(archive: Archive) -> list[str]:
    """Remove orphaned objects and temporary files of dead processes; one message per thing cleaned."""
    partial = archive.store.clean_tmp()
    messages = [f"removed a partial file left by a killed process: {name}" for name in partial]
    partial_pids = {name.split("-")[-2] for name in partial}
    with archive.session() as s:
        if not any(not _alive(i) for i in s.scalars(select(Intent))):
            return messages
    removed = []
    with archive.session.begin() as s:
        catalogue.lock_intents(s)
        intents = list(s.scalars(select(Intent)))
        live = {i.sha256 for i in intents if _alive(i)}
        for intent in intents:
            if intent.sha256 in live:
                continue
            referenced = s.scalar(select(Item.id).where(Item.sha256 == intent.sha256))
            if not referenced and archive.store.remove(intent.sha256):
                removed.append(intent.sha256)
                messages.append(f"removed an orphaned file left by a killed process (pid {intent.pid}): "
                                f"{intent.sha256}")
            elif not referenced and str(intent.pid) not in partial_pids:
                messages.append(f"cleared an unfinished write of a killed process (pid {intent.pid}); "
                                "nothing had been stored")
            s.delete(intent)
        if removed:
            s.add(events.make(archive.keys, events.DELETION, detail="orphaned objects removed at start-up",
                              outcome_detail={"sha256": removed}))
    return messages
