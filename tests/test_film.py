"""Film presets on real photos: each changes the picture, strength 0 keeps it, the tones are what they claim."""

import numpy as np
import pytest
from skimage import data
from typer.testing import CliRunner

from daguerre.cli import app
from daguerre.imaging import Picture, load, save
from daguerre.imaging.aging import luma
from daguerre.ops import get_operation
from daguerre.ops.film import PRESETS, film

ASTRONAUT = np.ascontiguousarray(np.moveaxis(data.astronaut()[20:180, 150:310], -1, 0), np.float32) / 255
CAMERA = data.camera()[60:220, 180:340][None].astype(np.float32) / 255  # grey (1,H,W)
RAMP = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (1, 4, 1))  # grey ramp, (1,4,256)
MID_GREY = np.full((3, 8, 8), 0.5, np.float32)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("photo", [ASTRONAUT, CAMERA], ids=["colour", "grey"])
def test_each_preset_changes_the_picture_and_strength_zero_keeps_it(preset, photo):
    out = film(photo, preset)
    assert out.dtype == np.float32 and out.shape[1:] == photo.shape[1:] and out.shape[0] in (1, 3)
    assert 0 <= out.min() and out.max() <= 1
    rgb = np.repeat(photo, 3, 0) if photo.shape[0] == 1 else photo
    assert np.abs((np.repeat(out, 3, 0) if out.shape[0] == 1 else out) - rgb).mean() > 0.02
    same = film(photo, preset, strength=0.0)
    assert same.shape == photo.shape and np.array_equal(same, photo)
    half = film(photo, preset, strength=0.5)
    full_rgb = np.repeat(out, 3, 0) if out.shape[0] == 1 and half.shape[0] == 3 else out
    base = rgb if half.shape[0] == 3 else (photo if photo.shape[0] == 1 else luma(photo)[None])
    assert np.allclose(half, base + 0.5 * (full_rgb - base), atol=1e-5)


def test_sepia_is_warm_and_monotone_in_luminance():
    out = film(RAMP, "sepia")
    assert (np.diff(out[:, 0], axis=-1) >= 0).all()  # every channel rises with the input grey
    assert (np.diff(luma(out)[0]) > 0).all()
    r, g, b = film(MID_GREY, "sepia")[:, 0, 0]
    assert r > g > b
    photo = film(ASTRONAUT, "sepia").reshape(3, -1).mean(1)
    assert photo[0] > photo[1] > photo[2]


def test_cyanotype_is_blue_and_bw_film_is_grey_and_seeded():
    r, g, b = film(ASTRONAUT, "cyanotype").reshape(3, -1).mean(1)
    assert b > g > r
    r, g, b = film(MID_GREY, "cyanotype")[:, 0, 0]
    assert b > max(r, g)
    grey = film(ASTRONAUT, "bw-film", seed=1)
    assert grey.shape == (1, *ASTRONAUT.shape[1:])
    assert np.array_equal(grey, film(ASTRONAUT, "bw-film", seed=1))
    assert not np.array_equal(grey, film(ASTRONAUT, "bw-film", seed=2))  # the grain follows the seed
    assert np.corrcoef(grey.ravel(), luma(ASTRONAUT).ravel())[0, 1] > 0.9  # still the same photograph


def test_faded_1970s_lifts_blacks_and_lowers_saturation():
    out = film(ASTRONAUT, "faded-1970s")
    assert out.min() > 0.05
    def chroma_spread(x: np.ndarray) -> float:  # how much colours vary, apart from the overall cast
        return float(np.hypot((x[0] - x[1]).std(), (0.5 * (x[0] + x[1]) - x[2]).std()))

    assert chroma_spread(out) < 0.8 * chroma_spread(ASTRONAUT)
    r, g, b = out.reshape(3, -1).mean(1)
    assert r > g and r > b  # the orange-magenta shift of dye fading


def test_film_operation_through_the_registry_and_bad_presets():
    op = get_operation("film")
    picture = Picture(CAMERA)
    out = op.run(picture, preset="daguerreotype", strength=0.8, seed=3)
    assert np.array_equal(out.pixels, film(CAMERA, "daguerreotype", 0.8, 3))
    assert op.provenance(preset="sepia").digital_source_type == "algorithmicallyEnhanced"
    with pytest.raises(ValueError, match="unknown film preset"):
        op.run(picture, preset="kodachrome")
    with pytest.raises(ValueError, match="strength"):
        film(CAMERA, "sepia", strength=2.0)


def test_cli_film_folder_in_folder_out(tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    save(Picture(ASTRONAUT), src / "astronaut.png")
    save(Picture(CAMERA), src / "camera.png")
    result = CliRunner().invoke(app, ["film", str(src), "-o", str(dst), "--preset", "cyanotype", "--strength", "0.8"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in dst.iterdir()) == ["astronaut.png", "camera.png"]
    out = load(dst / "astronaut.png").pixels
    assert np.abs(out - film(ASTRONAUT, "cyanotype", 0.8)).max() <= 1 / 255 + 1e-6
    result = CliRunner().invoke(app, ["film", str(src), "-o", str(dst), "--preset", "bw-film", "--seed", "2"])
    assert result.exit_code == 0 and load(dst / "astronaut.png").is_grey
    assert CliRunner().invoke(app, ["film", str(src), "-o", str(dst), "--preset", "kodachrome"]).exit_code == 1
