"""PREMIS-style events: type, date-time, agent, outcome, linked source and outcome objects; each one signed.

The signature covers the event's canonical JSON, so a catalogue row edited after the fact (say, the
parameters of a derivation) no longer verifies.
"""

from __future__ import annotations

import getpass
import json
import math
import platform
import socket
import uuid
from collections.abc import Mapping
from functools import cache
from importlib import metadata

from cryptography import x509

from daguerre.archive.catalogue import Event, now
from daguerre.archive.keys import Keys, signature_valid

# PREMIS eventType values (id.loc.gov/vocabulary/preservation/eventType) used by the archive.
INGESTION = "ingestion"
CREATION = "creation"  # a derivative made by an operation
FIXITY = "fixity check"
VALIDATION = "validation"  # verify / rederive
DEACCESSION = "deaccession"  # withdraw
METADATA = "metadata modification"
DELETION = "deletion"  # orphan cleanup
REPLICATION = "replication"  # import from a bag

_LIBRARIES = ("daguerre", "torch", "numpy", "pillow", "scikit-image", "onnxruntime", "c2pa-python", "sqlalchemy")


def agent() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"daguerre {version('daguerre')} ({user}@{socket.gethostname()})"


@cache  # a lookup scans the installed distributions: ~ms each, and every job records eight
def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def software() -> dict[str, str]:
    """daguerre's and its main libraries' versions, and Python's, for a derivation record."""
    return {"python": platform.python_version(), **{name: version(name) for name in _LIBRARIES}}


def clean(value: object) -> object:
    """JSON-safe: non-finite floats become None (PostgreSQL's json refuses them), tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def canonical(event: Event) -> bytes:
    body = {k: v for k, v in event.record().items() if k not in ("signature", "signer")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make(keys: Keys, type: str, *, object_id: str | None = None, source_id: str | None = None,
         detail: str = "", outcome: str = "success", outcome_detail: dict | None = None,
         id: str | None = None) -> Event:
    """A new signed event (not yet added to a session)."""
    ev = Event(id=id or str(uuid.uuid4()), type=type, datetime=now(), detail=detail, agent=agent(), outcome=outcome,
               outcome_detail=clean(outcome_detail or {}), object_id=object_id, source_id=source_id)
    ev.signer = keys.fingerprint
    ev.signature = keys.sign(canonical(ev))
    return ev


def signed_by(event: Event, certs: Mapping[str, x509.Certificate]) -> bool:
    """True when the event's signature verifies with its signer's certificate, looked up in ``certs``."""
    cert = certs.get(event.signer or "")
    return cert is not None and bool(event.signature) and signature_valid(cert, canonical(event), event.signature)


def verify(keys: Keys, event: Event) -> bool:
    """True when the event is signed by this archive or an archive it trusts, and unchanged since."""
    return signed_by(event, keys.signers())
