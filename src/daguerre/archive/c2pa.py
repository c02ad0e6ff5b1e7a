"""C2PA labels (c2pa-python): a signed manifest embedded in each derivative, with its parent as ingredient.

The manifest holds the IPTC digital source type in a ``c2pa.edited`` action and the archive's recipe in a
``org.daguerre.recipe`` assertion. If the c2pa native library cannot be loaded, ``available()`` says why and
the archive falls back to the XMP label plus its signed event records.
"""

from __future__ import annotations

import io
import json
import os
from functools import lru_cache

from daguerre.archive.keys import Keys
from daguerre.archive.xmp import source_type_uri

RECIPE_LABEL = "org.daguerre.recipe"
FORMATS = {"image/png", "image/jpeg", "image/tiff", "image/webp"}


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """None when C2PA signing works here, else the reason it does not."""
    try:
        import c2pa  # noqa: F401
    except (ImportError, OSError) as e:
        return f"c2pa-python cannot be loaded ({e})"
    return None


def sign(data: bytes, media_type: str, parent: bytes, parent_media_type: str, recipe: dict, title: str,
         keys: Keys) -> bytes:
    """``data`` with an embedded manifest signed by the archive's key; ``parent`` becomes the ingredient."""
    import c2pa

    agent = {"name": "daguerre", "version": recipe["software"]["daguerre"]}
    manifest = {
        "claim_generator_info": [agent],
        "title": title,
        "format": media_type,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [
                {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
                {"action": "c2pa.edited", "digitalSourceType": source_type_uri(recipe["digital_source_type"]),
                 "softwareAgent": agent,
                 "parameters": {"operation": recipe["operation"], "version": recipe["operation_version"]}},
            ]}},
            {"label": RECIPE_LABEL, "data": recipe},
        ],
    }
    builder = c2pa.Builder(manifest, context=_signing_context(os.getpid()))
    if parent_media_type not in FORMATS:  # e.g. BMP: the ingredient is described, not embedded
        parent, parent_media_type = data, media_type
    builder.add_ingredient({"title": recipe["parent_sha256"], "relationship": "parentOf", "label": "parent"},
                           parent_media_type, io.BytesIO(parent))
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", keys.chain_pem, keys.key_pem, None))
    out = io.BytesIO()
    with signer:
        builder.sign(signer, media_type, io.BytesIO(data), out)
    return out.getvalue()


@lru_cache(maxsize=1)
def _signing_context(pid: int):
    """Thumbnails off: the parent is in the archive already, and they would double a small file's size.

    One context per process: native handles are not shared across fork.
    """
    import c2pa

    return c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})


@lru_cache(maxsize=4)
def _context(anchors: bytes, pid: int):
    import c2pa

    return c2pa.Context.from_dict({"trust": {"trust_anchors": anchors.decode()}, "verify": {"verify_trust": True}})


def read(data: bytes, media_type: str, anchors: bytes) -> dict:
    """The manifest as checked against the trust ``anchors`` (PEM CA certificates)::

        {"state": "Trusted"|"Valid"|"Invalid"|None, "failures": [codes], "recipe": dict|None, "error": str,
         "signer_serial": int|None}

    A manifest signed by a certificate that no anchor issued is "Valid" with ``signingCredential.untrusted``.
    """
    import c2pa

    try:
        reader = c2pa.Reader(media_type, io.BytesIO(data), context=_context(anchors, os.getpid()))
    except c2pa.C2paError as e:
        return {"state": None, "failures": [], "recipe": None, "error": " ".join(str(e).split()),
                "signer_serial": None}
    with reader:
        results = reader.get_validation_results() or {}
        active = reader.get_active_manifest() or {}
        state = reader.get_validation_state()
    failures = [f.get("code", "") for f in (results.get("activeManifest") or {}).get("failure", [])]
    recipe = next((a.get("data") for a in active.get("assertions", []) if a.get("label") == RECIPE_LABEL), None)
    serial = (active.get("signature_info") or {}).get("cert_serial_number")
    return {"state": state, "failures": failures, "recipe": recipe, "error": "",
            "signer_serial": int(serial) if serial and str(serial).isdigit() else None}


def canonical(recipe: dict | None) -> str:
    return json.dumps(recipe, sort_keys=True)
