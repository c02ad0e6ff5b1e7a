"""The XMP label every derivative carries, for viewers that do not read C2PA.

It says the file is machine-made (IPTC digital source type), which master or parent it came from, and the
recipe, without a date, so that re-deriving the same recipe reproduces the same bytes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "daguerre": "urn:daguerre:xmp:archive:1.0/",
}


def source_type_uri(name: str) -> str:
    return name if name.startswith("http") else IPTC_SOURCE_TYPES + name


def label(recipe: dict, title: str) -> bytes:
    """XMP packet for a derivative from ``recipe`` (parent_sha256, operation, version, params, seed, models...)."""
    attrs = {
        "Iptc4xmpExt:DigitalSourceType": source_type_uri(recipe["digital_source_type"]),
        "daguerre:ParentSHA256": recipe["parent_sha256"],
        "daguerre:MasterSHA256": recipe["master_sha256"],
        "daguerre:Operation": recipe["operation"],
        "daguerre:OperationVersion": recipe["operation_version"],
        "daguerre:Seed": str(recipe["seed"]),
        "daguerre:Parameters": json.dumps(recipe["params"], sort_keys=True),
        "daguerre:Models": json.dumps([{k: m.get(k) for k in ("name", "sha256", "licence")} for m in recipe["models"]]),
    }
    xmlns = " ".join(f"xmlns:{k}={quoteattr(v)}" for k, v in NS.items() if k not in ("x", "rdf"))
    body = "\n   ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    description = (f"Machine-made derivative ({recipe['operation']} {recipe['operation_version']}) "
                   f"of {recipe['parent_sha256']}")
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
            f'  <rdf:Description rdf:about="" {xmlns}\n   {body}>\n'
            f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>\n'
            f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(description)}</rdf:li></rdf:Alt>'
            f'</dc:description>\n'
            f'   <dc:source>{recipe["parent_sha256"]}</dc:source>\n'
            f"  </rdf:Description>\n</rdf:RDF></x:xmpmeta>").encode()


def read_xmp(path: Path) -> bytes | None:
    """The raw XMP packet of an image file, without decoding its pixels."""
    with Image.open(path) as im:
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    return xmp.encode() if isinstance(xmp, str) else xmp


def descriptions(xmp: bytes | None) -> list[ET.Element]:
    """The rdf:Description elements of an XMP packet; none when it is missing or not well-formed XML."""
    if not xmp:
        return []
    try:
        root = ET.fromstring(xmp.strip(b"\x00 \n"))
    except ET.ParseError:
        return []
    return list(root.iter(f"{{{NS['rdf']}}}Description"))


def parse(xmp: bytes | None) -> dict[str, str]:
    """The label's attributes as ``{"Operation": ..., "ParentSHA256": ..., "DigitalSourceType": ...}``."""
    out: dict[str, str] = {}
    for desc in descriptions(xmp):
        for key, value in desc.attrib.items():
            ns, _, name = key[1:].partition("}")
            if ns in (NS["daguerre"], NS["Iptc4xmpExt"]):
                out[name] = value
    return out
