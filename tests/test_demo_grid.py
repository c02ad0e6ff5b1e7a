"""The README's picture: `make demo` composes a labelled before/after grid from its results."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from daguerre.demo import GRID_PHOTOS, GRID_REPAIRS, GRID_STYLES, before_after_grid

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def test_grid_shows_each_photo_with_its_styles_and_repairs(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    assert before_after_grid(tmp_path) is None  # nothing to show yet
    for stem in GRID_PHOTOS:
        photo = Image.open(SAMPLES / f"{stem}.jpg").convert("RGB").resize((120, 90))
        photo.save(results / f"{stem}.jpg")
        for model in GRID_STYLES:
            photo.save(results / f"{stem}-{model}.jpg")
        for j, _ in GRID_REPAIRS:
            photo.resize((160, 120)).save(results / f"repair-{stem}-{j}.png")
    grid = Image.open(before_after_grid(tmp_path, height=60))
    columns = 1 + len(GRID_STYLES) + len(GRID_REPAIRS)
    assert grid.height == 24 + (60 + 6) * len(GRID_PHOTOS) + 6
    assert grid.width == columns * 80 + 6 * (columns + 1)  # every picture scaled to 60 high: 80 wide
    top_left = grid.crop((6, 24, 86, 84)).resize((120, 90))
    first = Image.open(results / f"{GRID_PHOTOS[0]}.jpg")
    diff = sum(abs(a - b) for a, b in zip(top_left.convert("L").getdata(), first.convert("L").getdata(), strict=True))
    assert diff / (120 * 90) < 12  # the first cell is the first photo
