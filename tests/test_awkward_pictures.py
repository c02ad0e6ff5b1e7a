"""A folder of awkward files through every operation: broken files refused in one line naming them, valid but
unusual pictures (1x1, 1-pixel strips, 1-bit, 16-bit, CMYK, EXIF-rotated, ...) written at the right size, and an
unexpected error in one file reported in one line while the run goes on."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from typer.testing import CliRunner

from daguerre.batch.files import process
from daguerre.cli import app
from daguerre.imaging import load
from daguerre.ops import get_operation

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
BROKEN = ("empty.jpg", "truncated.jpg", "truncated.png", "truncated.tif", "truncated.webp", "truncated.bmp",
          "bad-crc.png", "page.html.jpg", "document.pdf.jpg", "bomb.png", "bomb.jpg", "zero-width.png")
# name -> (width, height) as shown (EXIF orientation applied)
VALID = {"one.png": (1, 1), "three.jpg": (3, 3), "strip-2000x2.png": (2000, 2), "strip-7x900.jpg": (7, 900),
         "bilevel.png": (40, 30), "grey16.png": (40, 30), "grey-alpha.png": (40, 30), "cmyk.tif": (40, 30),
         "rotated-exif8.jpg": (30, 40), "progressive.jpg": (40, 30), "UPPER.JPG": (40, 30), "café-é.jpg": (40, 30),
         "animated.webp": (40, 30), "float.tif": (40, 30)}
NOT_PICTURES = ("animated.gif", "drawing.svg")  # formats daguerre does not read: named, then skipped
# operation, parameters, scale (slow models at small render sizes; x2 upscaling)
OPERATIONS = {
    "stylize-fast": ("stylize", {"method": "fast", "model": "van-gogh-wheat-field"}, 1),
    "stylize-fast-torch": ("stylize", {"method": "fast", "model": "van-gogh-wheat-field", "engine": "torch"}, 1),
    "stylize-arbitrary": ("stylize", {"method": "arbitrary", "style": [str(SAMPLES / "chelsea.jpg")],
                                      "style_size": 64}, 1),
    "restore": ("restore", {}, 1),
    "colorize": ("colorize", {"render_size": 64}, 1),
    "upscale": ("upscale", {"scale": 2}, 2),
    "repair": ("repair", {"colorize": True}, 1),
    "retro": ("retro", {"preset": "daguerreotype"}, 1),
    "film": ("film", {"preset": "autochrome"}, 1),
    "age": ("age", {"seed": 2}, 1),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256], -1)
    a = a + np.random.default_rng(seed).integers(0, 30, a.shape)
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def _encoded(im: Image.Image, fmt: str) -> bytes:
    b = io.BytesIO()
    im.save(b, fmt)
    return b.getvalue()


def make_awkward_folder(folder: Path) -> Path:
    """Every file of BROKEN, VALID and NOT_PICTURES, tiny, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = _photo(40, 30)
    jpg, png = _encoded(photo, "JPEG"), _encoded(photo, "PNG")
    ihdr = lambda w, h: _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))  # noqa: E731
    tail = _chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + _chunk(b"IEND", b"")
    sof = jpg.index(b"\xff\xc0")  # frame header: marker, length(2), precision(1), height(2), width(2)
    broken = {
        "empty.jpg": b"",
        **{f"truncated.{ext}": (lambda b: b[: len(b) // 2])(_encoded(photo, fmt))
           for ext, fmt in (("jpg", "JPEG"), ("png", "PNG"), ("tif", "TIFF"), ("webp", "WEBP"), ("bmp", "BMP"))},
        "bad-crc.png": png[:29] + bytes([png[29] ^ 0xFF]) + png[30:],  # the IHDR chunk's CRC
        "page.html.jpg": b"<!DOCTYPE html><html><body>Not found</body></html>\n",
        "document.pdf.jpg": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "bomb.png": b"\x89PNG\r\n\x1a\n" + ihdr(50_000, 50_000) + tail,
        "bomb.jpg": jpg[: sof + 5] + struct.pack(">HH", 60_000, 60_000) + jpg[sof + 9:],
        "zero-width.png": b"\x89PNG\r\n\x1a\n" + ihdr(0, 30) + tail,
    }
    assert set(broken) == set(BROKEN)
    for name, data in broken.items():
        (folder / name).write_bytes(data)
    for name in ("one.png", "three.jpg", "strip-2000x2.png", "strip-7x900.jpg"):
        _photo(*VALID[name]).save(folder / name)
    photo.convert("1").save(folder / "bilevel.png")
    Image.fromarray(np.linspace(0, 65535, 30 * 40).reshape(30, 40).astype(np.uint16)).save(folder / "grey16.png")
    photo.convert("LA").save(folder / "grey-alpha.png")
    photo.convert("CMYK").save(folder / "cmyk.tif")
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° clockwise to show: stored 40x30, shown 30x40
    photo.save(folder / "rotated-exif8.jpg", exif=exif)
    photo.save(folder / "progressive.jpg", progressive=True)
    photo.save(folder / "UPPER.JPG")
    photo.save(folder / "café-é.jpg")
    frames = [_photo(40, 30, seed) for seed in range(3)]
    for name in ("animated.webp", "animated.gif"):
        frames[0].save(folder / name, save_all=True, append_images=frames[1:], duration=100)
    tifffile.imwrite(folder / "float.tif", np.asarray(photo, np.float32) / 255, photometric="rgb")
    (folder / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"/>')
    return folder


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    return make_awkward_folder(tmp_path_factory.mktemp("awkward") / "in")


@pytest.mark.parametrize("case", list(OPERATIONS))
def test_every_operation_refuses_broken_files_and_processes_every_size(case: str, awkward: Path,
                                                                        tmp_path: Path) -> None:
    op, params, scale = OPERATIONS[case]
    report = process(get_operation(op), [awkward], tmp_path / "out", **params)
    failed = dict(report.failed)
    assert sorted(p.name for p in failed) == sorted([*BROKEN, *NOT_PICTURES])
    for path, message in failed.items():
        assert "\n" not in message and str(path) in message, message
    assert sorted(p.name for p in report.written) == sorted(VALID)
    for name, (w, h) in VALID.items():
        assert load(tmp_path / "out" / name).size == (w * scale, h * scale), (case, name)
    for name in NOT_PICTURES:
        assert not (tmp_path / "out" / name).exists()


def test_an_unexpected_error_in_one_file_is_one_line_and_the_run_goes_on(awkward: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    film = get_operation("film")
    run = film.run

    def buggy(picture, **params):  # a bug that only 3x3 pictures reach
        if picture.size == (3, 3):
            return {}["missing"]
        return run(picture, **params)

    monkeypatch.setattr(film, "run", buggy)
    runner = CliRunner()
    quiet = runner.invoke(app, ["film", str(awkward), "-o", str(tmp_path / "quiet")])
    assert quiet.exit_code == 1
    lines = [line for line in quiet.output.splitlines() if "three.jpg" in line]
    assert lines == [f"failed: {awkward / 'three.jpg'}: KeyError: 'missing'"]
    assert "Traceback" not in quiet.output
    assert len(list((tmp_path / "quiet").iterdir())) == len(VALID) - 1  # every other picture was written
    verbose = runner.invoke(app, ["--verbose", "film", str(awkward), "-o", str(tmp_path / "verbose")])
    assert verbose.exit_code == 1 and "Traceback" in verbose.output and "in buggy" in verbose.output


@pytest.mark.parametrize("size", [(1, 1), (300, 1), (1, 200)])
def test_a_one_pixel_picture_or_strip_is_restored_not_blackened(size: tuple[int, int]) -> None:
    """A row (or column, or pixel) of the bundled coffee photo: restore and repair keep its tone (the noise measure
    found no 2 x 2 block, gave NaN and the result came back black), with no numpy warning."""
    import warnings

    from daguerre.imaging import Picture

    photo = load(SAMPLES / "coffee.jpg").rgb()
    w, h = size
    strip = Picture(np.ascontiguousarray(photo[:, 200:200 + h, 300:300 + w]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for op, params in (("restore", {}), ("repair", {"scale": 2})):
            out = get_operation(op).run(strip, **params).rgb()
            assert np.isfinite(out).all() and abs(out.mean() - strip.rgb().mean()) < 0.1, (op, size)
