"""Shared fixtures. The archive's: small real photos, a deterministic test operation, and archives on SQLite
and on a throwaway PostgreSQL server (started once per session on 127.0.0.1)."""

from __future__ import annotations

import io
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from daguerre.archive import Archive
from daguerre.archive.tempdb import TempPostgres, unavailable
from daguerre.ops.base import Operation, Provenance, register

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
       b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:DateCreated="1969-07-20">'
       b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Man on the Moon</rdf:li></rdf:Alt></dc:title>'
       b'<dc:subject><rdf:Bag><rdf:li>space</rdf:li><rdf:li>NASA</rdf:li></rdf:Bag></dc:subject>'
       b"</rdf:Description></rdf:RDF></x:xmpmeta>")


class Tint(Operation):
    """A deterministic test operation: a brown tint plus optional seeded noise (torch's RNG)."""

    name = "test-tint"
    version = "1"

    def run(self, picture, progress=None, *, amount: float = 0.3, noise: float = 0.0):
        if not 0 <= amount <= 1:
            raise ValueError(f"amount must be in [0, 1], got {amount}")
        px = picture.rgb() * (1 - amount) + amount * np.array([0.44, 0.26, 0.08], np.float32)[:, None, None]
        if noise:
            px = px + noise * torch.rand(px.shape).numpy()
        return picture.with_pixels(np.clip(px, 0, 1))

    def provenance(self, **params):
        model = {"name": "tint-net", "task": "test", "sha256": "ab" * 32, "licence": "CC0-1.0", "source": "tests",
                 "architecture": "none"}
        return Provenance(self.name, self.version, dict(params), [model], "trainedAlgorithmicMedia")


register(Tint())


def _iptc_app13(fields: dict[tuple[int, int], bytes]) -> bytes:
    """A JPEG APP13 segment holding IPTC-IIM datasets (Photoshop 3.0 resource 0x0404)."""
    iim = b"".join(b"\x1c" + bytes(k) + struct.pack(">H", len(v)) + v for k, v in fields.items())
    iim += b"\x00" * (len(iim) % 2)
    irb = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim
    body = b"Photoshop 3.0\x00" + irb
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def write_photos(folder: Path) -> dict[str, Path]:
    """Four small bundled photos: EXIF+XMP JPEG, IPTC JPEG, plain PNG, 16-bit-free grey PNG in a subfolder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    paths = {name: folder / name for name in ("astronaut.jpg", "coffee.jpg", "chelsea.png", "sub/camera.png")}
    exif = Image.Exif()
    exif[315] = "NASA"
    exif[33432] = "Public domain"
    exif[306] = "1969:07:21 02:56:00"
    Image.fromarray(data.astronaut()[::6, ::6]).save(paths["astronaut.jpg"], exif=exif, xmp=XMP, quality=90)
    buf = io.BytesIO()
    Image.fromarray(data.coffee()[::6, ::6]).save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue()
    iptc = {(2, 5): b"Coffee cup", (2, 80): b"Rachel Michetti", (2, 25): b"coffee", (2, 116): b"CC0",
            (2, 55): b"20100101"}
    paths["coffee.jpg"].write_bytes(jpeg[:2] + _iptc_app13(iptc) + jpeg[2:])
    Image.fromarray(data.chelsea()[::5, ::5]).save(paths["chelsea.png"])
    Image.fromarray(data.camera()[::6, ::6]).save(paths["sub/camera.png"])
    return paths


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    return write_photos(tmp_path / "photos")


@pytest.fixture(scope="session")
def postgres() -> Iterator[TempPostgres]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with TempPostgres() as pg:
        yield pg


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogue_url(request: pytest.FixtureRequest) -> str | None:
    """None for the default SQLite file, else a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return None
    pg: TempPostgres = request.getfixturevalue("postgres")
    return pg.create_database(f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture
def make_archive(tmp_path: Path, catalogue_url: str | None, request: pytest.FixtureRequest):
    """``make_archive(name)``: a new archive on the test's backend (a new PostgreSQL database each)."""
    opened: list[Archive] = []
    backend = catalogue_url

    def make(name: str = "archive") -> Archive:
        url = backend
        if url is not None and opened:
            url = request.getfixturevalue("postgres").create_database(f"t{uuid.uuid4().hex[:12]}")
        archive = Archive.init(tmp_path / name, catalogue_url=url)
        opened.append(archive)
        return archive

    yield make
    for archive in opened:
        archive.close()


@pytest.fixture
def archive(make_archive) -> Archive:
    return make_archive()
