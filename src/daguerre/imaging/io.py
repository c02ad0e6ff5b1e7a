"""Load and save Pictures: metadata kept, orientation applied once, pixel limits enforced, atomic writes.

Pixels are decoded by Pillow, except TIFF (tifffile) and 16-bit PNG (libpng through imagecodecs), which
Pillow cannot read or write at full precision in colour.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import imagecodecs
import numpy as np
import tifffile
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from daguerre.imaging.picture import Picture

DEFAULT_MAX_PIXELS = 250_000_000
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})
SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
                ".webp": "WEBP", ".bmp": "BMP"}

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_ORIENTATION = 0x0112
# IFD0 tags worth carrying from a TIFF into an EXIF block (not the TIFF's own strip/tile structure).
_TIFF_EXIF_TAGS = (270, 271, 272, 282, 283, 296, 305, 306, 315, 33432)
_TIFF_ASCII_TAGS = (270, 271, 272, 305, 306, 315, 33432)
_PIL_OPEN_LOCK = threading.Lock()


class ImageError(Exception):
    """A file that cannot be read or written; ``str()`` is one line: ``"<path>: <problem>"``."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(str(path), problem)
        self.path = Path(path)
        self.problem = " ".join(str(problem).split())

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def max_pixels() -> int:
    """The largest image (width x height) ``load`` accepts: ``DAGUERRE_MAX_PIXELS`` or 250 megapixels."""
    raw = os.environ.get("DAGUERRE_MAX_PIXELS", "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        return int(float(raw))
    except ValueError:
        raise ValueError(f"DAGUERRE_MAX_PIXELS must be a number of pixels, got {raw!r}") from None


# ---------------------------------------------------------------------------------------------- load


def load(path: str | os.PathLike) -> Picture:
    """Read an image file (format from its content, not its name) into an upright Picture."""
    path = Path(path)
    max_pixels()  # a malformed DAGUERRE_MAX_PIXELS is a configuration error, not a bad file
    if path.is_dir():
        raise ImageError(path, "is a folder, not an image file")
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except OSError as e:
        raise ImageError(path, f"cannot read the file ({e.strerror or e})") from None
    if not head:
        raise ImageError(path, "empty file (0 bytes)")
    try:
        if head[:4] in _TIFF_MAGIC:
            picture = _load_tiff(path)
        elif head[:8] == _PNG_MAGIC and len(head) > 24 and head[24] == 16:
            picture = _load_png16(path, head)
        else:
            picture = _load_pil(path)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(path, "not an image file, or an image format daguerre cannot read") from None
    except MemoryError:
        raise ImageError(path, "not enough memory to decode this image") from None
    except Exception as e:  # decoders raise OSError, ValueError, SyntaxError, struct.error, ...
        raise ImageError(path, f"truncated or corrupt image data ({type(e).__name__}: {e})") from e
    picture.source = path
    return picture


def _check_pixels(path: Path, width: int, height: int) -> None:
    limit = max_pixels()
    if width * height > limit:
        raise ImageError(path, f"{width}x{height} = {width * height:,} pixels is over the limit of {limit:,} "
                               "(refused as a possible decompression bomb; "
                               "set DAGUERRE_MAX_PIXELS to allow more)")


@contextmanager
def _pil_open(path: Path) -> Iterator[Image.Image]:
    """Image.open with Pillow's own bomb check off (``load`` applies its own, configurable limit)."""
    with _PIL_OPEN_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            im = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    with im:
        yield im


def _load_pil(path: Path) -> Picture:
    with _pil_open(path) as im:
        _check_pixels(path, *im.size)
        icc, exif, xmp = _pil_metadata(im)
        im.load()
        fmt = im.format
        try:  # (exif_transpose copies even an upright picture: skip it then)
            upright = ImageOps.exif_transpose(im) if im.getexif().get(_ORIENTATION, 1) != 1 else im
        except Exception:  # a broken EXIF block should not lose the pixels
            upright = im
        arr, bit_depth, maxval, icc = _pil_array(path, upright, icc)
    pixels, alpha = _split(arr, maxval)
    return Picture(pixels, alpha, icc, exif, xmp, bit_depth, format=fmt)


def _pil_metadata(im: Image.Image) -> tuple[bytes | None, bytes | None, bytes | None]:
    exif = im.info.get("exif")
    if not exif:
        try:
            parsed = im.getexif()  # also finds EXIF kept in PNG text chunks
            exif = parsed.tobytes() if len(parsed) else None
        except Exception:
            exif = None
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode()
    return im.info.get("icc_profile") or None, _normalise_exif(exif), xmp or None


def _pil_array(path: Path, im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, int, float, bytes | None]:
    """Pixels as (H,W) or (H,W,C) with C in 1..4 (2 and 4 carry alpha), bit depth, full-scale value, icc."""
    mode, transparent = im.mode, "transparency" in im.info
    if mode in ("P", "PA"):
        palette = np.asarray(im.getpalette("RGB") or [0], dtype=np.uint8).reshape(-1, 3)
        grey = bool((palette == palette[:, :1]).all())
        with_alpha = transparent or mode == "PA"
        im = im.convert(("LA" if grey else "RGBA") if with_alpha else ("L" if grey else "RGB"))
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("L", "RGB") and transparent:
        im = im.convert("LA" if mode == "L" else "RGBA")
    elif mode in ("La", "RGBa"):
        im = im.convert(mode.upper())
    elif mode in ("RGBX", "YCbCr", "HSV"):
        im = im.convert("RGB")
    elif mode == "CMYK":
        im, icc = _cmyk_to_rgb(im, icc)
    if im.mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im), 8, 255.0, icc
    if im.mode.startswith("I;16") or im.mode == "I":
        return np.asarray(im), 16, 65535.0, icc
    if im.mode == "F":
        return np.asarray(im), 16, 0.0, icc
    raise ImageError(path, f"unsupported image mode {im.mode!r}")


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """CMYK to sRGB through the image's ICC profile when it has one, else Pillow's plain conversion."""
    if icc:
        try:
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            rgb = ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
            return rgb, srgb.tobytes()
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return im.convert("RGB"), None


def _load_png16(path: Path, head: bytes) -> Picture:
    width, height = struct.unpack(">II", head[16:24])
    _check_pixels(path, width, height)
    arr = imagecodecs.png_decode(path.read_bytes())
    with _pil_open(path) as im:
        icc, exif, xmp = _pil_metadata(im)
        try:
            orientation = im.getexif().get(_ORIENTATION, 1)
        except Exception:
            orientation = 1
    pixels, alpha = _split(_orient(arr, orientation), 65535.0)
    return Picture(pixels, alpha, icc, exif, xmp, 16, format="PNG")


def _load_tiff(path: Path) -> Picture:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        _check_pixels(path, page.imagewidth, page.imagelength)
        arr = page.asarray()
        if arr.ndim == 3 and page.axes.startswith("S"):
            arr = np.moveaxis(arr, 0, -1)
        if arr.ndim not in (2, 3):
            raise ImageError(path, f"unsupported TIFF layout {page.axes} {arr.shape}")
        tags = {tag.code: tag.value for tag in page.tags}
        arr, bit_depth, maxval, icc = _tiff_colour(path, page, arr, tags.get(34675))
    xmp = tags.get(700)
    pixels, alpha = _split(_orient(arr, int(tags.get(274, 1))), maxval)
    return Picture(pixels, alpha, icc or None, _tiff_exif(path), bytes(xmp) if xmp else None, bit_depth,
                   format="TIFF")


def _tiff_colour(path: Path, page: tifffile.TiffPage, arr: np.ndarray,
                 icc: bytes | None) -> tuple[np.ndarray, int, float, bytes | None]:
    """(H,W[,C]) samples to grey/RGB (+ alpha) with their full-scale value, from the TIFF's photometric."""
    photo, pm = page.photometric, tifffile.PHOTOMETRIC
    if arr.dtype.kind == "i":
        raise ImageError(path, "unsupported TIFF: signed integer samples")
    if photo == pm.PALETTE:
        return np.moveaxis(page.colormap[:, arr], 0, -1), 8, 65535.0, icc
    if photo == pm.SEPARATED:
        scale = 255.0 / (np.iinfo(arr.dtype).max if arr.dtype.kind == "u" else 1.0)
        ink = np.clip(arr[..., :4].astype(np.float32) * scale + 0.5, 0, 255).astype(np.uint8)
        rgb, icc = _cmyk_to_rgb(Image.fromarray(ink, "CMYK"), icc)
        return np.asarray(rgb), 8, 255.0, icc
    colours = {pm.MINISBLACK: 1, pm.MINISWHITE: 1, pm.RGB: 3}.get(photo)
    if photo == pm.YCBCR and page.compression == tifffile.COMPRESSION.JPEG:
        colours = 3  # tifffile decodes JPEG-in-TIFF to RGB
    if colours is None:
        raise ImageError(path, f"unsupported TIFF colour model {pm(photo).name}")
    if arr.dtype.kind == "b":
        arr, maxval = arr.astype(np.uint8), 1.0
    elif arr.dtype.kind == "f":
        maxval = 0.0
    else:
        bits = arr.dtype.itemsize * 8
        bits = page.bitspersample if 1 < page.bitspersample < bits else bits
        maxval = float(2**bits - 1)
    bit_depth = 8 if arr.dtype.itemsize == 1 else 16
    if arr.ndim == 2:
        arr = arr[..., None]
    extra = page.extrasamples[:1] if arr.shape[-1] > colours else ()
    has_alpha = bool(extra) and extra[0] in (tifffile.EXTRASAMPLE.ASSOCALPHA, tifffile.EXTRASAMPLE.UNASSALPHA)
    arr = arr[..., : colours + has_alpha]
    if photo == pm.MINISWHITE:
        arr = arr.astype(np.float32)
        arr[..., 0] = (maxval or 1.0) - arr[..., 0]
    if has_alpha and extra[0] == tifffile.EXTRASAMPLE.ASSOCALPHA:
        arr = arr.astype(np.float32)
        a = arr[..., -1:] / (maxval or 1.0)
        arr[..., :-1] = np.divide(arr[..., :-1], a, out=np.zeros_like(arr[..., :-1]), where=a > 0)
    return arr, bit_depth, maxval, icc


def _tiff_exif(path: Path) -> bytes | None:
    """The descriptive IFD0 tags and the Exif/GPS sub-IFDs of a TIFF, as an EXIF block (via Pillow)."""
    try:
        with _pil_open(path) as im:
            src = im.getexif()
            out = Image.Exif()
            unitless = src.get(296) == 1  # tifffile's default 1x1 "no unit" resolution says nothing
            for tag in _TIFF_EXIF_TAGS:
                if tag in src and not (unitless and tag in (282, 283, 296)):
                    out[tag] = src[tag]
            for ifd in (0x8769, 0x8825):
                if sub := src.get_ifd(ifd):
                    out[ifd] = dict(sub)
            return out.tobytes() if len(out) else None
    except Exception:  # metadata is best effort; the pixels came from tifffile
        return None


def _split(arr: np.ndarray, maxval: float) -> tuple[np.ndarray, np.ndarray | None]:
    """(H,W[,C]) samples to (C,H,W) float32 in [0,1] and alpha; ``maxval`` 0 means already float."""
    if arr.ndim == 2:
        arr = arr[..., None]
    # to (C,H,W) in the file's own sample type, then to float: the strided copy moves 1 or 2 bytes a sample,
    # not 4 (it was most of the decode time of a large JPEG)
    chw = np.ascontiguousarray(np.moveaxis(arr, -1, 0))
    a = chw.astype(np.float32) if chw.dtype != np.float32 else chw.copy()
    if maxval:
        a /= np.float32(maxval)
    np.clip(a, 0.0, 1.0, out=a)
    alpha = None
    if a.shape[0] in (2, 4):
        alpha, a = a[-1], a[:-1]
    return a, alpha


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H,W[,C]) array, as ``ImageOps.exif_transpose`` does."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
           7: lambda a: a[::-1, ::-1].swapaxes(0, 1), 8: lambda a: np.rot90(a, 1)}
    op = ops.get(orientation)
    return np.ascontiguousarray(op(arr)) if op else arr


def _normalise_exif(exif: bytes | None) -> bytes | None:
    """EXIF as ``b"Exif\\0\\0"`` + TIFF structure with the orientation tag (if any) patched to 1 in place."""
    if not exif:
        return None
    exif = bytes(exif)
    if exif[:2] in (b"II", b"MM"):
        exif = b"Exif\x00\x00" + exif
    if not exif.startswith(b"Exif\x00\x00"):
        return exif
    data, order = bytearray(exif), {b"II": "<", b"MM": ">"}.get(exif[6:8])
    if order is None:
        return exif
    try:
        (ifd,) = struct.unpack_from(order + "I", data, 10)
        (count,) = struct.unpack_from(order + "H", data, 6 + ifd)
        for i in range(count):
            entry = 6 + ifd + 2 + 12 * i
            tag, kind, n = struct.unpack_from(order + "HHI", data, entry)
            if tag == _ORIENTATION and kind == 3 and n == 1:
                struct.pack_into(order + "H", data, entry + 8, 1)
    except struct.error:
        return exif
    return bytes(data)


# ---------------------------------------------------------------------------------------------- save


def save(picture: Picture, path: str | os.PathLike, *, quality: int = 95,
         bit_depth: int | None = None) -> Path:
    """Write ``picture`` atomically, format from the extension, keeping ICC/EXIF/XMP where the format can.

    16-bit output for PNG and TIFF (``picture.bit_depth`` unless ``bit_depth`` says otherwise); JPEG, WebP
    and BMP are 8-bit. Alpha is kept by PNG, TIFF and WebP; JPEG and BMP composite it over white.
    """
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(path, f"unknown image extension {path.suffix!r} (use one of "
                               f"{', '.join(sorted(SAVE_FORMATS))})")
    if path.is_dir():
        raise ImageError(path, "is a folder, not an image file")
    if not path.parent.is_dir():
        raise ImageError(path, f"folder {path.parent} does not exist")
    if not 1 <= quality <= 100:
        raise ImageError(path, f"quality must be between 1 and 100, got {quality}")
    depth = bit_depth or picture.bit_depth
    if depth not in (8, 16):
        raise ImageError(path, f"bit depth must be 8 or 16, got {depth}")
    if depth == 16 and fmt not in ("PNG", "TIFF"):
        if bit_depth == 16:
            raise ImageError(path, f"{fmt} cannot store 16 bits per channel; use .png or .tif")
        depth = 8
    try:
        data = _ENCODERS[fmt](picture, depth, quality)
    except Exception as e:
        raise ImageError(path, f"cannot encode {fmt} ({type(e).__name__}: {e})") from e
    _atomic_write(path, data)
    return path


def _samples(picture: Picture, depth: int, alpha: str = "keep") -> np.ndarray:
    """(H,W) or (H,W,C) uint8/uint16; ``alpha`` is "keep", "drop" or "white" (composite over white)."""
    chans = picture.pixels
    if picture.alpha is not None and alpha == "white":
        chans = chans * picture.alpha + (1.0 - picture.alpha)
    elif picture.alpha is not None and alpha == "keep":
        chans = np.concatenate([chans, picture.alpha[None]])
    maxval = 255 if depth == 8 else 65535
    out = np.rint(np.clip(chans, 0.0, 1.0) * maxval).astype(np.uint8 if depth == 8 else np.uint16)
    # a copy, not ascontiguousarray: for a 1x1 picture that returns the moved view, whose strides libpng refuses
    return out[0] if out.shape[0] == 1 else np.moveaxis(out, 0, -1).copy(order="C")


def _pil_kwargs(picture: Picture, **extra: object) -> dict[str, object]:
    meta = {"icc_profile": picture.icc_profile, "exif": _normalise_exif(picture.exif), "xmp": picture.xmp}
    return {k: v for k, v in {**meta, **extra}.items() if v is not None}


def _encode_jpeg(picture: Picture, depth: int, quality: int) -> bytes:
    buf = io.BytesIO()
    kwargs = _pil_kwargs(picture, quality=quality, subsampling=0 if quality >= 90 else 2, optimize=True)
    Image.fromarray(_samples(picture, 8, "white")).save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _encode_webp(picture: Picture, depth: int, quality: int) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(_samples(picture, 8))
    im = im.convert("RGBA" if picture.alpha is not None else "RGB")  # WebP has no grey mode
    im.save(buf, "WEBP", **_pil_kwargs(picture, quality=quality, lossless=quality == 100))
    return buf.getvalue()


def _encode_bmp(picture: Picture, depth: int, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_samples(picture, 8, "white")).save(buf, "BMP")  # readers ignore BMP alpha
    return buf.getvalue()


def _encode_png(picture: Picture, depth: int, quality: int) -> bytes:
    """libpng (8 or 16 bit) plus iCCP, eXIf and XMP iTXt chunks inserted right after IHDR."""
    png = imagecodecs.png_encode(_samples(picture, depth))
    if png[12:16] != b"IHDR":
        raise ValueError("unexpected PNG layout from the encoder")
    chunks = []
    if picture.icc_profile:
        chunks.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(picture.icc_profile)))
    if exif := _normalise_exif(picture.exif):
        chunks.append(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    if picture.xmp:
        chunks.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + picture.xmp))
    return png[:33] + b"".join(chunks) + png[33:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _encode_tiff(picture: Picture, depth: int, quality: int) -> bytes:
    """Deflate-compressed TIFF; ICC in tag 34675, XMP in tag 700, EXIF's descriptive text tags in IFD0."""
    extratags: list[tuple[int, int | str, int, object, bool]] = []
    if picture.xmp:
        extratags.append((700, 1, len(picture.xmp), picture.xmp, True))
    if picture.exif:
        exif = Image.Exif()
        exif.load(picture.exif)
        extratags += [(tag, "s", 0, exif[tag], True) for tag in _TIFF_ASCII_TAGS
                      if isinstance(exif.get(tag), str) and exif[tag].isascii()]
    buf = io.BytesIO()
    alpha = ["unassalpha"] if picture.alpha is not None else None
    tifffile.imwrite(buf, _samples(picture, depth), photometric="minisblack" if picture.is_grey else "rgb",
                     planarconfig="contig", extrasamples=alpha,
                     compression="zlib", predictor=True, iccprofile=picture.icc_profile, metadata=None,
                     software=False, extratags=extratags)
    return buf.getvalue()


_ENCODERS = {"JPEG": _encode_jpeg, "PNG": _encode_png, "TIFF": _encode_tiff, "WEBP": _encode_webp,
             "BMP": _encode_bmp}


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a hidden temp file beside ``path``, then rename over it; on failure remove the temp file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    created = False
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        created = True
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException as e:
        if created:
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ImageError(path, f"cannot write the file ({e.strerror or e})") from e
        raise


# ------------------------------------------------------------------------------------------ batches


# Picture formats daguerre does not read: a folder walk names them instead of passing over them in silence.
NOT_READ = {".gif": "GIF", ".svg": "SVG", ".heic": "HEIC", ".heif": "HEIF", ".avif": "AVIF", ".pdf": "PDF",
            ".psd": "Photoshop", ".jp2": "JPEG 2000"}


def scan(inputs: Iterable[str | os.PathLike], clips: bool = False) -> tuple[list[Path], list[tuple[Path, str]]]:
    """One walk of ``inputs``: (the files daguerre reads, as `iter_images`; (file, one-line reason) for each
    picture in their folders whose format it does not read, as `unread_in_folders`).

    Files are taken as given, folders expanded recursively (sorted) by extension; hidden files and folders (names
    starting with ".") inside folders are skipped and not descended into. ``clips``: folders give their video files
    too (not GIFs: those are named as unread), for the callers that take clips (operations over folders, ingest).
    """
    from daguerre.video import READ_ONLY_VIDEO_EXTENSIONS, VIDEO_EXTENSIONS

    read = VIDEO_EXTENSIONS - NOT_READ.keys() | READ_ONLY_VIDEO_EXTENSIONS
    wanted = IMAGE_EXTENSIONS | (read if clips else frozenset())
    found: list[Path] = []
    unread: list[tuple[Path, str]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(_files_under(item))
            found += [f for f in files if f.suffix.lower() in wanted and f.is_file()]
            unread += [(f, f"{f}: {NOT_READ[f.suffix.lower()]} is not a format daguerre reads (convert it to PNG, "
                           "TIFF or JPEG); skipped") for f in files if f.suffix.lower() in NOT_READ and f.is_file()]
        elif item.is_file():
            found.append(item)
        else:
            raise ImageError(item, "file not found")
    return list(dict.fromkeys(found)), unread


def _files_under(folder: Path) -> Iterator[Path]:
    """Every file under ``folder`` (symbolic links to folders not followed), hidden ones and hidden folders left out."""
    for parent, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if not f.startswith(".")]
        yield from (Path(parent, name) for name in names if not name.startswith("."))


def unread_in_folders(inputs: Iterable[str | os.PathLike]) -> list[tuple[Path, str]]:
    """(file, one-line reason) for each picture in the folders of ``inputs`` whose format daguerre does not read."""
    return scan([i for i in map(Path, inputs) if i.is_dir()])[1]


def iter_images(inputs: Iterable[str | os.PathLike], clips: bool = False) -> list[Path]:
    """Image files named by ``inputs`` (and with ``clips`` the video files in folders): `scan`'s first list. To
    pair each file with its output, expand one input at a time and call ``output_path_for(file, that_input,
    output)``."""
    return scan(inputs, clips)[0]


def output_path_for(input: str | os.PathLike, inputs_root: str | os.PathLike | None,
                    output: str | os.PathLike) -> Path:
    """Where the result for ``input`` goes.

    Folder in -> folder out: ``output / input.relative_to(inputs_root)``. File in -> ``output`` itself, or
    ``output / input.name`` if ``output`` is an existing folder or ends with "/". A clip in a format daguerre
    reads but does not write (.dv, .vob, ...) gets .mkv in a folder.
    """
    from daguerre.video import clip_result_name

    input, out = Path(input), Path(output)
    if inputs_root is not None and Path(inputs_root).is_dir():
        return clip_result_name(out / input.relative_to(inputs_root))
    if str(output).endswith(("/", os.sep)) or out.is_dir():
        return clip_result_name(out / input.name)
    return out
