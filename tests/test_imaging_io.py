"""Loading and saving real photographs: precision, metadata, orientation, modes, bad input, atomic writes."""

from __future__ import annotations

import io
import os
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image, ImageCms, ImageOps
from skimage import data

from daguerre.imaging import ImageError, Picture, iter_images, load, output_path_for, save
from daguerre.imaging.io import _orient

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[40:104, 180:260])  # 64x80 RGB uint8


@pytest.fixture(scope="module")
def photo16(photo: np.ndarray) -> np.ndarray:
    """16-bit RGB using all 16 bits: the photo scaled up plus a fixed low-order pattern."""
    rng = np.random.default_rng(0)
    return photo.astype(np.uint16) * 257 ^ rng.integers(0, 256, photo.shape, dtype=np.uint16)


@pytest.fixture(scope="module")
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[271] = "Daguerre Test Camera"
    exif[0x8769] = {0x9003: "1901:02:03 04:05:06"}
    if orientation is not None:
        exif[0x0112] = orientation
    return exif.tobytes()


def _parse_exif(raw: bytes | None) -> Image.Exif:
    exif = Image.Exif()
    if raw:
        exif.load(raw)
    return exif


def _as16(p: Picture) -> np.ndarray:
    return np.rint(np.moveaxis(p.pixels, 0, -1) * 65535).astype(np.uint16).squeeze()


# ------------------------------------------------------------------------------------ precision


@pytest.mark.parametrize("channels", [1, 3])
def test_16bit_tiff_roundtrip_is_exact(tmp_path: Path, photo16: np.ndarray, channels: int) -> None:
    src = photo16 if channels == 3 else np.ascontiguousarray(photo16[..., 1])
    tifffile.imwrite(tmp_path / "in.tif", src, photometric="rgb" if channels == 3 else "minisblack")
    pic = load(tmp_path / "in.tif")
    assert (pic.channels, pic.bit_depth, pic.format) == (channels, 16, "TIFF")
    assert np.array_equal(_as16(pic), src)
    save(pic, tmp_path / "out.tif")
    out = tifffile.imread(tmp_path / "out.tif")
    assert out.dtype == np.uint16 and np.array_equal(out, src)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16bit_png_roundtrip_is_exact(tmp_path: Path, photo16: np.ndarray, channels: int) -> None:
    src = {1: photo16[..., 0], 3: photo16, 4: np.dstack([photo16, photo16[..., :1]])}[channels]
    (tmp_path / "in.png").write_bytes(imagecodecs.png_encode(np.ascontiguousarray(src)))
    pic = load(tmp_path / "in.png")
    assert pic.bit_depth == 16 and pic.channels == min(channels, 3)
    assert (pic.alpha is not None) == (channels == 4)
    save(pic, tmp_path / "out.png")
    out = imagecodecs.png_decode((tmp_path / "out.png").read_bytes())
    assert out.dtype == np.uint16 and np.array_equal(out, src)
    assert np.array_equal(_as16(load(tmp_path / "out.png"))[..., :3], src[..., :3])


def test_16bit_grey_png_and_float_tiff_load_at_full_precision(tmp_path: Path, photo16: np.ndarray) -> None:
    grey = np.ascontiguousarray(photo16[..., 0])
    Image.fromarray(grey).save(tmp_path / "grey16.png")  # Pillow writes I;16
    assert np.array_equal(_as16(load(tmp_path / "grey16.png")), grey)
    floats = photo16.astype(np.float32) / 65535
    tifffile.imwrite(tmp_path / "float.tif", floats, photometric="rgb")
    pic = load(tmp_path / "float.tif")
    assert pic.bit_depth == 16 and np.array_equal(np.moveaxis(pic.pixels, 0, -1), floats)


def test_bit_depth_override_and_8bit_formats(tmp_path: Path, photo16: np.ndarray) -> None:
    pic = Picture(np.moveaxis(photo16, -1, 0) / 65535, bit_depth=16)
    save(pic, tmp_path / "eight.png", bit_depth=8)
    assert imagecodecs.png_decode((tmp_path / "eight.png").read_bytes()).dtype == np.uint8
    save(pic, tmp_path / "a.jpg")  # JPEG is 8-bit: silently 8 unless 16 is asked for explicitly
    assert load(tmp_path / "a.jpg").bit_depth == 8
    with pytest.raises(ImageError, match="16 bits"):
        save(pic, tmp_path / "b.jpg", bit_depth=16)


# ------------------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "webp"])
def test_icc_exif_xmp_survive_save(tmp_path: Path, photo: np.ndarray, srgb_icc: bytes, ext: str) -> None:
    Image.fromarray(photo).save(tmp_path / "in.jpg", quality=95, icc_profile=srgb_icc, exif=_exif(), xmp=XMP)
    pic = load(tmp_path / "in.jpg")
    assert pic.icc_profile == srgb_icc and pic.xmp == XMP
    save(pic, tmp_path / f"out.{ext}")
    back = load(tmp_path / f"out.{ext}")
    assert back.icc_profile == srgb_icc
    assert back.xmp == XMP
    exif = _parse_exif(back.exif)
    assert exif[271] == "Daguerre Test Camera"
    if ext != "tif":  # TIFF keeps EXIF's descriptive IFD0 text tags only
        assert exif.get_ifd(0x8769)[0x9003] == "1901:02:03 04:05:06"
    with Image.open(tmp_path / f"out.{ext}") as im:  # and other software sees the profile too
        assert im.info.get("icc_profile") == srgb_icc


def test_exif_orientation_applied_once(tmp_path: Path, photo: np.ndarray) -> None:
    Image.fromarray(photo).save(tmp_path / "rot.png", exif=_exif(orientation=6))  # lossless: exact pixels
    Image.fromarray(photo).save(tmp_path / "rot.jpg", quality=95, exif=_exif(orientation=6))
    upright = np.rot90(photo, -1)  # orientation 6: turn 90 degrees clockwise to display
    for name, tol in [("rot.png", 1e-6), ("rot.jpg", 0.02)]:
        pic = load(tmp_path / name)
        assert pic.size == (64, 80)  # was 80x64
        assert np.abs(np.moveaxis(pic.pixels, 0, -1) * 255 - upright).mean() <= tol * 255
        assert _parse_exif(pic.exif)[0x0112] == 1
        save(pic, tmp_path / f"saved_{name}")
        with Image.open(tmp_path / f"saved_{name}") as im:
            assert im.size == (64, 80) and im.getexif()[0x0112] == 1
        assert load(tmp_path / f"saved_{name}").size == (64, 80)  # not turned a second time


def test_orientation_in_tiff_and_numpy_matches_pillow(tmp_path: Path, photo: np.ndarray) -> None:
    for orientation in range(1, 9):
        buf = io.BytesIO()
        Image.fromarray(photo).save(buf, "PNG", exif=_exif(orientation))
        expected = np.asarray(ImageOps.exif_transpose(Image.open(buf)))
        assert np.array_equal(_orient(photo, orientation), expected), orientation
        tifffile.imwrite(tmp_path / "o.tif", photo, photometric="rgb", extratags=[(274, "H", 1, orientation)])
        pic = load(tmp_path / "o.tif")
        assert np.array_equal(np.rint(np.moveaxis(pic.pixels, 0, -1) * 255).astype(np.uint8), expected)


# ------------------------------------------------------------------------------------------ modes


def test_modes_load_to_the_right_channels(tmp_path: Path, photo: np.ndarray) -> None:
    grey = np.ascontiguousarray(data.camera()[200:264, 200:280])
    alpha = np.tile(np.linspace(0, 255, 80, dtype=np.uint8), (64, 1))
    Image.fromarray(grey).save(tmp_path / "l.png")
    Image.fromarray(np.dstack([grey, alpha])).save(tmp_path / "la.png")
    Image.fromarray(np.dstack([photo, alpha])).save(tmp_path / "rgba.png")
    Image.fromarray(grey).convert("1").save(tmp_path / "bw.png")
    pal = Image.fromarray(photo).quantize(16)
    pal.save(tmp_path / "p.png", transparency=0)
    Image.fromarray(grey).convert("P").save(tmp_path / "p_grey.gif")
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    Image.fromarray(photo).save(tmp_path / "rgb.webp", lossless=True)
    Image.fromarray(photo).save(tmp_path / "rgb.bmp")

    def check(name: str, channels: int, has_alpha: bool) -> Picture:
        pic = load(tmp_path / name)
        assert pic.pixels.shape == (channels, 64, 80) and pic.pixels.dtype == np.float32, name
        assert (pic.alpha is not None) == has_alpha, name
        assert 0 <= pic.pixels.min() and pic.pixels.max() <= 1
        return pic

    assert np.array_equal(check("l.png", 1, False).pixels[0], grey / np.float32(255))
    assert np.array_equal(check("la.png", 1, True).alpha, alpha / np.float32(255))
    assert np.array_equal(check("rgba.png", 3, True).rgb(), np.moveaxis(photo, -1, 0) / np.float32(255))
    assert set(np.unique(check("bw.png", 1, False).pixels)) <= {0.0, 1.0}
    p = check("p.png", 3, True)
    assert np.array_equal(p.alpha == 0, np.asarray(pal) == 0)  # palette index 0 is transparent
    check("p_grey.gif", 1, False)  # an all-grey palette stays grey
    cmyk = check("cmyk.jpg", 3, False)
    assert np.abs(cmyk.pixels * 255 - np.moveaxis(photo, -1, 0)).mean() < 4
    chw = np.moveaxis(photo, -1, 0).astype(np.float32)
    assert np.abs(check("rgb.webp", 3, False).pixels * 255 - chw).max() < 1e-3  # lossless WebP
    check("rgb.bmp", 3, False)


def test_cmyk_with_unusable_profile_falls_back(tmp_path: Path, photo: np.ndarray, srgb_icc: bytes) -> None:
    # An RGB profile on a CMYK image cannot drive the conversion; Pillow's plain one is used instead.
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "c.jpg", quality=95, icc_profile=srgb_icc)
    pic = load(tmp_path / "c.jpg")
    assert pic.channels == 3 and pic.icc_profile is None
    ink = Image.fromarray(photo).convert("CMYK")
    tifffile.imwrite(tmp_path / "c.tif", np.asarray(ink), photometric="separated")
    assert np.abs(load(tmp_path / "c.tif").pixels * 255 - np.moveaxis(photo, -1, 0)).max() <= 1


def test_grey_and_alpha_kept_on_save(tmp_path: Path) -> None:
    grey = data.camera()[:48, :40] / np.float32(255)
    alpha = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (48, 1))
    pic = Picture(grey[None], alpha)
    for ext in ["png", "tif", "webp"]:
        back = load(save(pic, tmp_path / f"g.{ext}", quality=100))
        assert back.alpha is not None and np.abs(back.alpha - alpha).max() <= 0.5 / 255, ext
        if ext in ("png", "tif"):
            assert back.channels == 1 and np.abs(back.pixels - grey).max() <= 0.5 / 255
    for ext in ["jpg", "bmp"]:  # no alpha: composited over white
        flat = load(save(pic, tmp_path / f"g.{ext}"))
        assert flat.channels == 1 and flat.alpha is None
        assert flat.pixels[0, :, 0].mean() > 0.97  # the fully transparent column became white


# ------------------------------------------------------------------------------------- bad input


def _bad_inputs(tmp: Path, photo: np.ndarray) -> dict[str, Path]:
    (tmp / "empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=95)
    (tmp / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (tmp / "notes.png").write_text("these are my notes, not a picture\n")
    tifffile.imwrite(tmp / "signed.tif", photo.astype(np.int16), photometric="rgb")
    (tmp / "folder.png").mkdir()
    return {"empty": tmp / "empty.jpg", "truncated": tmp / "truncated.jpg", "text": tmp / "notes.png",
            "signed": tmp / "signed.tif", "missing": tmp / "missing.jpg", "folder": tmp / "folder.png"}


@pytest.mark.parametrize("case, words", [
    ("empty", "empty"), ("truncated", "truncated"), ("text", "not an image"),
    ("signed", "signed"), ("missing", "not found"), ("folder", "folder"),
])
def test_bad_input_gives_one_line_error(tmp_path: Path, photo: np.ndarray, case: str, words: str) -> None:
    path = _bad_inputs(tmp_path, photo)[case]
    with pytest.raises(ImageError) as err:
        load(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path)) and path.name in message
    assert words in message
    assert err.value.path == path


def test_png_named_jpg_loads_by_content(tmp_path: Path, photo: np.ndarray) -> None:
    Image.fromarray(photo).save(tmp_path / "really_png.jpg", format="PNG")
    pic = load(tmp_path / "really_png.jpg")
    assert pic.format == "PNG"
    assert np.abs(pic.pixels * 255 - np.moveaxis(photo, -1, 0)).max() < 1e-3


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "png16"])
def test_decompression_bomb_refused(tmp_path: Path, photo: np.ndarray, photo16: np.ndarray,
                                    monkeypatch: pytest.MonkeyPatch, ext: str) -> None:
    path = tmp_path / f"big.{ext[:3]}"
    if ext == "png16":
        path.write_bytes(imagecodecs.png_encode(photo16))
    elif ext == "tif":
        tifffile.imwrite(path, photo)
    else:
        Image.fromarray(photo).save(path)
    monkeypatch.setenv("DAGUERRE_MAX_PIXELS", "5000")  # the photo is 80x64 = 5120 pixels
    with pytest.raises(ImageError, match="80x64 = 5,120 pixels is over the limit of 5,000") as err:
        load(path)
    message = str(err.value)
    assert "\n" not in message and path.name in message and "decompression bomb" in message
    monkeypatch.setenv("DAGUERRE_MAX_PIXELS", "5120")
    assert load(path).size == (80, 64)
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own limit is restored after opening


# ---------------------------------------------------------------------------------- atomic saves


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_unknown_extension_on_save(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="unknown image extension") as err:
        save(Picture(np.zeros((1, 4, 4))), tmp_path / "out.gifx")
    assert "\n" not in str(err.value) and "out.gifx" in str(err.value)
    assert _only(tmp_path) == []


def test_failed_encode_leaves_destination_untouched(tmp_path: Path, photo: np.ndarray) -> None:
    dest = tmp_path / "keep.jpg"
    dest.write_bytes(b"precious")
    exif = Image.Exif()
    exif[270] = "x" * 70_000  # too long for a JPEG APP1 segment
    pic = Picture(np.moveaxis(photo, -1, 0) / 255, exif=exif.tobytes())
    with pytest.raises(ImageError) as err:
        save(pic, dest)
    assert "keep.jpg" in str(err.value) and "\n" not in str(err.value)
    assert dest.read_bytes() == b"precious" and _only(tmp_path) == ["keep.jpg"]


def test_failed_write_leaves_destination_untouched(tmp_path: Path, photo: np.ndarray,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "keep.png"
    dest.write_bytes(b"precious")

    def no_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(ImageError, match="No space left") as err:
        save(Picture(np.moveaxis(photo, -1, 0) / 255), dest)
    assert str(err.value).startswith(str(dest))
    assert dest.read_bytes() == b"precious" and _only(tmp_path) == ["keep.png"]
    monkeypatch.undo()
    save(Picture(np.moveaxis(photo, -1, 0) / 255), dest)
    assert load(dest).size == (80, 64) and _only(tmp_path) == ["keep.png"]


def test_save_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        save(Picture(np.zeros((1, 4, 4))), tmp_path / "nope" / "a.png")
    assert _only(tmp_path) == []


# ---------------------------------------------------------------------------- picture and batches


def test_picture_helpers(photo: np.ndarray, srgb_icc: bytes) -> None:
    alpha = np.ones((64, 80), np.float32)
    pic = Picture(np.moveaxis(photo, -1, 0) / 255, alpha, icc_profile=srgb_icc, bit_depth=16)
    assert pic.size == (80, 64) and pic.rgb().shape == (3, 64, 80)
    grey = Image.fromarray(photo).convert("L")  # BT.601, as Pillow does
    assert np.abs(pic.luminance() * 255 - np.asarray(grey)).max() <= 1
    t = pic.to_tensor()
    assert t.shape == (1, 3, 64, 80) and t.dtype == torch.float32
    up = Picture.from_tensor(torch.nn.functional.interpolate(t, scale_factor=2) * 1.5, like=pic)
    assert up.size == (160, 128) and up.alpha.shape == (128, 160) and up.pixels.max() <= 1
    assert up.icc_profile == srgb_icc and up.bit_depth == 16
    g = Picture(np.zeros((64, 80), np.float32))
    assert g.channels == 1 and g.rgb().shape == (3, 64, 80)
    assert g.with_pixels(np.ones((3, 64, 80))).channels == 3
    with pytest.raises(ValueError):
        Picture(np.zeros((2, 4, 4)))


def test_iter_images_and_output_paths(tmp_path: Path, photo: np.ndarray) -> None:
    src = tmp_path / "scans"
    (src / "box1").mkdir(parents=True)
    (src / ".cache").mkdir()
    for name in ["b.jpg", "a.TIF", "box1/c.png", "notes.txt", ".cache/d.png"]:
        (src / name).write_bytes(b"x")
    found = iter_images([src])
    assert [p.relative_to(src).as_posix() for p in found] == ["a.TIF", "b.jpg", "box1/c.png"]
    single = tmp_path / "one.jpg"
    single.write_bytes(b"x")
    assert iter_images([single, src / "b.jpg", single]) == [single, src / "b.jpg"]  # duplicates dropped
    with pytest.raises(ImageError, match="not found"):
        iter_images([tmp_path / "gone"])
    out = tmp_path / "out"
    assert output_path_for(src / "box1" / "c.png", src, out) == out / "box1" / "c.png"
    assert output_path_for(single, single, tmp_path / "x.png") == tmp_path / "x.png"
    assert output_path_for(single, None, f"{out}/") == out / "one.jpg"
    assert output_path_for(single, single, tmp_path / "scans") == tmp_path / "scans" / "one.jpg"
