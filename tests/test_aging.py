"""The synthetic aging model and the `age` operation on real photos (scikit-image's astronaut, chelsea, camera)."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from skimage import data
from typer.testing import CliRunner

from daguerre.cli import app
from daguerre.imaging import Picture, load, save
from daguerre.imaging.aging import EFFECTS, age, luma, paper, paper_textures
from daguerre.ops import get_operation

DAMAGE = [n for n, e in EFFECTS.items() if e.damage]
EFFECT_NAMES = [n for n in EFFECTS if n != "paper" or paper_textures()]


def crop(image: np.ndarray, top: int, left: int, size: int = 160) -> np.ndarray:
    """A (C,size,size) float32 crop of a uint8 HWC or HW image."""
    x = image[top:top + size, left:left + size].astype(np.float32) / 255
    return np.ascontiguousarray(x[None] if x.ndim == 2 else np.moveaxis(x, -1, 0))


ASTRONAUT = crop(data.astronaut(), 20, 150)  # face and helmet
CHELSEA = crop(data.chelsea(), 60, 120)
CAMERA = crop(data.camera(), 60, 180)  # genuinely grey: (1,H,W)


def rgb(x: np.ndarray) -> np.ndarray:
    return np.repeat(x, 3, 0) if x.shape[0] == 1 else x


def test_same_seed_same_result_other_seeds_differ():
    a, b = age(ASTRONAUT, seed=5), age(ASTRONAUT, seed=5)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask) and a.params == b.params
    others = [age(ASTRONAUT, seed=s) for s in (1, 2, 3)]
    for o in others:
        assert o.image.shape != a.image.shape or np.abs(o.image - a.image).mean() > 0.01
    assert len({tuple(o.params["effects"]) for o in others}) > 1  # seeds choose different effects
    json.dumps(a.params)  # recorded parameters are plain JSON


@pytest.mark.parametrize("name", EFFECT_NAMES)
@pytest.mark.parametrize("photo", [ASTRONAUT, CAMERA], ids=["colour", "grey"])
def test_each_effect_changes_the_picture_and_only_damage_is_masked(name, photo):
    for seed in (1, 2):
        result = age(photo, seed=seed, effects=[name])
        assert result.mask.shape == photo.shape[1:] and result.mask.dtype == np.float32
        assert 0 <= result.mask.min() and result.mask.max() <= 1
        assert result.image.dtype == np.float32 and result.image.shape[1:] == photo.shape[1:]
        assert 0 <= result.image.min() and result.image.max() <= 1
        diff = np.abs(rgb(result.image) - rgb(photo))
        if name == "grey" and photo.shape[0] == 1:
            assert result.image.shape == photo.shape and diff.max() == 0  # already black and white
            continue
        visibly = (diff.max(0) > 0.02).mean()  # fraction of pixels changed by more than 5 levels of 255
        assert visibly > 1e-3 and diff.max() > 0.05, f"{name} (seed {seed}) barely changed the picture"
        assert list(result.params["effects"]) == [name]
        if name in DAMAGE:
            changed = diff.max(0) > 0.25  # content replaced, not just toned
            assert result.mask.max() > 0.5
            assert (result.mask[changed] > 0.05).all(), f"{name}: strongly changed pixels outside the mask"
        else:
            assert result.mask.max() == 0


def test_scratches_and_dust_mask_covers_what_changed_on_another_photo():
    result = age(CHELSEA, seed=11, effects=["dust", "scratches"])
    changed = np.abs(result.image - CHELSEA).max(0) > 0.2
    assert changed.sum() > 20 and (result.mask[changed] > 0).all()
    assert (result.mask > 0.5).mean() < 0.2  # damage is sparse


def test_strength_zero_is_identity_and_strength_scales():
    for photo in (ASTRONAUT, CAMERA):
        still = age(photo, seed=3, strength=0.0)
        assert np.array_equal(still.image, photo) and not still.mask.any()
    effects = ["fade", "yellowing", "grain", "scratches"]
    weak, full = age(ASTRONAUT, 3, 0.3, effects), age(ASTRONAUT, 3, 1.0, effects)
    assert np.abs(weak.image - ASTRONAUT).mean() < 0.6 * np.abs(full.image - ASTRONAUT).mean()


def test_each_effect_draws_from_its_own_seeded_generator():
    alone = age(ASTRONAUT, seed=9, effects=["scratches"])
    with_others = age(ASTRONAUT, seed=9, effects=["fade", "grain", "scratches"])
    assert np.array_equal(alone.mask, with_others.mask)
    assert alone.params["effects"]["scratches"] == with_others.params["effects"]["scratches"]


def test_grey_input_ages_and_bad_arguments_are_refused():
    for seed in range(4):
        result = age(CAMERA, seed=seed)
        assert result.image.shape[0] in (1, 3) and result.mask.shape == CAMERA.shape[1:]
    assert age(ASTRONAUT, 0, effects=["grey"]).image.shape == (1, *ASTRONAUT.shape[1:])
    assert np.allclose(age(ASTRONAUT, 0, effects=["grey"]).image[0], luma(ASTRONAUT))
    with pytest.raises(ValueError, match="unknown aging effect"):
        age(ASTRONAUT, 0, effects=["mildew"])
    with pytest.raises(ValueError, match="strength"):
        age(ASTRONAUT, 0, strength=1.5)


def test_age_operation_runs_through_the_registry_and_writes_the_mask(tmp_path):
    op = get_operation("age")
    picture = Picture(CHELSEA, source=tmp_path / "cat.png")
    out = op.run(picture, seed=4, effects=["scratches", "fade"], mask_output=str(tmp_path / "masks"))
    expected = age(CHELSEA, 4, effects=["scratches", "fade"])
    assert np.array_equal(out.pixels, expected.image)
    mask = load(tmp_path / "masks" / "cat.png").pixels[0]
    assert np.abs(mask - expected.mask).max() <= 1 / 255
    record = op.provenance(seed=4, mask_output="x")
    assert record.digital_source_type == "algorithmicallyEnhanced" and "mask_output" not in record.params


def test_cli_ages_a_folder_into_a_folder_with_masks(tmp_path):
    src, dst, masks = tmp_path / "in", tmp_path / "out", tmp_path / "masks"
    src.mkdir()
    save(Picture(ASTRONAUT), src / "astronaut.png")
    save(Picture(CAMERA), src / "camera.jpg")
    args = ["age", str(src), "-o", str(dst), "--seed", "1", "--strength", "0.8", "-e", "dust", "-e", "scratches",
            "--mask-output", str(masks)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in dst.iterdir()) == ["astronaut.png", "camera.jpg"]
    assert sorted(p.name for p in masks.iterdir()) == ["astronaut.png", "camera.png"]
    aged = load(dst / "astronaut.png").pixels
    assert aged.shape == ASTRONAUT.shape and np.abs(aged - ASTRONAUT).max() > 0.2
    assert load(masks / "astronaut.png").pixels.max() > 0.5
    again = tmp_path / "again"
    assert CliRunner().invoke(app, args[:3] + [str(again)] + args[4:-2]).exit_code == 0
    assert np.array_equal(load(again / "astronaut.png").pixels, aged)  # same seed, same files
    assert CliRunner().invoke(app, ["age", str(src), "-o", str(dst), "-e", "mildew"]).exit_code == 1


def test_paper_textures_are_optional():
    textures = paper_textures()
    assert isinstance(textures, tuple)
    result = age(ASTRONAUT, 1, effects=["paper"])
    if not textures:
        assert np.array_equal(result.image, ASTRONAUT) and "paper" not in result.params["effects"]
    else:
        assert Path(result.params["effects"]["paper"]["path"]).is_file()


def test_paper_overlay_reads_gimp_patterns_and_images(tmp_path):
    rng = np.random.default_rng(0)
    texture = (rng.random((24, 32)) * 255).astype(np.uint8)
    name = b"Crinkled Paper\0"
    pat = tmp_path / "crinkled-paper.pat"  # GIMP pattern: header size, version, width, height, bytes/pixel, GPAT
    pat.write_bytes(struct.pack(">5I", 24 + len(name), 1, 32, 24, 1) + b"GPAT" + name + texture.tobytes())
    save(Picture(texture[None].astype(np.float32) / 255), tmp_path / "paper.png")
    assert paper_textures((str(tmp_path),)) == (pat, tmp_path / "paper.png")
    for path in (pat, tmp_path / "paper.png"):
        out = paper(ASTRONAUT, np.random.default_rng(1), path=str(path), amount=1.0)
        assert out.shape == ASTRONAUT.shape and 0.005 < np.abs(out - ASTRONAUT).mean() < 0.1


def test_dust_with_no_specks_leaves_the_image_alone():
    import numpy as np

    from daguerre.imaging.aging import dust

    x = np.full((3, 32, 32), 0.5, np.float32)
    y, mask = dust(x, np.random.default_rng(0), count=0, max_radius=3.0, dark_fraction=0.5, fibres=0)
    assert np.array_equal(y, x) and mask.max() == 0


def test_faint_damage_is_masked_wholly_but_changes_the_picture_less_than_scratches():
    """`faint`: hairlines and specks at low opacity, masked by their footprint: no pixel moves by more than the
    opacity allows (twice it where a speck lies on a hairline), and where its mask is full the picture moved less
    than under ordinary scratches of the same photo."""
    for seed in (1, 2, 3):
        faint, full = (age(CHELSEA, seed=seed, effects=[name]) for name in ("faint", "scratches"))
        opacity = faint.params["effects"]["faint"]["opacity"]
        assert opacity <= 0.5 and np.abs(faint.image - CHELSEA).max() <= 2 * opacity + 1e-6
        on_faint, on_full = faint.mask > 0.9, full.mask > 0.9
        assert on_faint.sum() > 10 and on_full.sum() > 10
        moved = [np.abs(r.image - CHELSEA).max(0)[on].mean() for r, on in ((faint, on_faint), (full, on_full))]
        assert moved[0] < moved[1]


def test_tapering_hairlines_fade_along_their_length_and_are_masked_where_visible():
    """`taper`: a hairline's opacity rises from nothing at its ends and wanders along it, so under its mask the
    change ranges from a small fraction of its strongest to the strongest (a scratch drawn by `scratches` is near
    its opacity all along); where it is too faint to see (below `visible`), it is left out of the mask: no pixel
    outside the mask's footprint moved by more than the visible fraction of the line's contrast (plus its
    antialiasing). Named only: no seed draws it."""
    from daguerre.imaging.aging import choose_effects, taper

    x = np.full((3, 160, 160), 0.45, np.float32)
    for seed in (0, 1, 2):
        y, mask = taper(x, np.random.default_rng(seed), count=2, width=0.8, length=0.8, curvature=0.002,
                        bright_fraction=1, opacity=0.6, ends=0.3, specks=0, max_radius=1, dark_fraction=0,
                        speck_opacity=0.2, visible=0.05)
        change, on = np.abs(y - x).max(0), mask > 0.5
        assert on.sum() > 50
        assert np.percentile(change[on], 10) < 0.3 * np.percentile(change[on], 99)
        assert change[mask == 0].max() < 0.05
    aged = age(CHELSEA, seed=4, effects=["taper"])
    assert aged.mask.max() > 0.9 and np.abs(aged.image - CHELSEA).max() <= 0.7 + 1e-6
    assert not any("taper" in choose_effects(seed) for seed in range(500))


def test_an_effect_added_later_leaves_the_older_seeds_choices_alone():
    """Over 20,000 seeds, the older effects chosen are exactly what the rule before `ADDED` chose (a frozen copy
    of it here, its fallback included); the added ones do come up, and are applied in the physical order."""
    from daguerre.imaging.aging import ADDED, choose_effects, paper_textures

    def before(seed: int) -> list[str]:  # choose_effects as it was before `faint`
        rng = np.random.default_rng([seed, 0])
        names = [n for n in EFFECTS if n not in ADDED]
        chosen = {n for n in names if rng.random() < EFFECTS[n].probability and (n != "paper" or paper_textures())}
        return sorted(chosen or {str(rng.choice(["fade", "scratches", "dust", "grain"]))})

    seen = set()
    for seed in range(20_000):
        chosen = choose_effects(seed)
        seen.update(set(chosen) & set(ADDED))
        assert sorted(n for n in chosen if n not in ADDED) == before(seed), f"seed {seed}"
        assert chosen == [n for n in EFFECTS if n in chosen]  # applied in their physical order
    assert seen == {n for n in ADDED if EFFECTS[n].probability > 0}  # stains, silvering, taper: only when named


# ---- water stains, foxing, silvering (tone damage of the print: changed, not masked) -------------------------

ASTRONAUT_FULL = np.moveaxis(data.astronaut().astype(np.float32) / 255, -1, 0).copy()  # 512 px


def test_an_older_seed_ages_as_before_stains_and_silvering():
    """`stains` and `silvering` apply only when named: no seed chooses them, so every seed ages as before they
    existed (an archive's `age` derivatives re-derive). Seeds 0 and 3 (3 draws `faint` from the added stream) draw
    the parameters they drew with the code before them (commit d1e5b57), and give the same pictures. The
    pictures were compared byte for byte on the machine that wrote this test; another CPU's floating point
    differs in the last bits (seen: seed 3's hash on a later machine), so here they are compared by their
    per-channel means and deviations and the mask's mean, to 1e-4."""
    import hashlib
    import json

    from daguerre.imaging.aging import choose_effects

    def rounded(x: object) -> object:
        if isinstance(x, float):
            return float(f"{x:.9g}")
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        return [rounded(v) for v in x] if isinstance(x, list | tuple) else x

    assert not any({"stains", "silvering"} & set(choose_effects(seed)) for seed in range(500))
    before = {0: ("5d88499e6cb07ae7d327126e11c6a0d8d1be376cb736407619fbf3660db6a0fa",
                  [0.546554], [0.276774], 0.007811),
              3: ("a666300f759660e1ebbee4ee90edbf72aa06ee5042563034d7c159480840ee49",
                  [0.583816, 0.523461, 0.420593], [0.151211, 0.145117, 0.129599], 0.040978)}
    for seed, (digest, means, deviations, masked) in before.items():
        result = age(ASTRONAUT, seed)
        drawn = json.dumps(rounded(result.params), sort_keys=True).encode()
        assert hashlib.sha256(drawn).hexdigest() == digest, f"seed {seed}: {result.params}"
        planes = result.image.reshape(result.image.shape[0], -1)
        assert np.allclose(planes.mean(1), means, atol=1e-4) and np.allclose(planes.std(1), deviations, atol=1e-4)
        assert abs(float(result.mask.mean()) - masked) < 1e-4, f"seed {seed}"


def test_a_water_stain_tints_a_blotch_with_a_darker_tide_line_and_leaves_the_rest():
    from scipy import ndimage

    from daguerre.imaging.aging import stains

    y = stains(ASTRONAUT_FULL, np.random.default_rng(4), count=1, size=0.25, depth=0.4, lighter=0.0, rim=0.7,
               tint=[0.95, 0.8, 0.55], foxing=0, fox_size=3.0)
    ratio = (y + 0.02) / (ASTRONAUT_FULL + 0.02)
    stained = ratio.min(0) < 0.99
    assert 0.02 < stained.mean() < 0.7, "one blotch: a part of the picture, not none or all of it"
    assert np.abs(y - ASTRONAUT_FULL)[:, ~stained].max() < 0.01  # the rest left alone
    assert (ratio[2] < ratio[0] - 0.02)[stained].mean() > 0.5  # tinted brown: blue lost more than red
    depth_px = ndimage.distance_transform_edt(stained)  # px inside the blotch's edge
    darkest = ratio.mean(0) < np.quantile(ratio.mean(0)[stained], 0.05)
    assert np.median(depth_px[darkest & stained]) < 0.5 * np.median(depth_px[stained])  # the tide line: at the rim


def test_foxing_adds_small_rusty_spots():
    from scipy import ndimage

    from daguerre.imaging.aging import stains

    y = stains(ASTRONAUT_FULL, np.random.default_rng(5), count=0, size=0.2, depth=0.3, lighter=0.0, rim=0.5,
               tint=[0.9, 0.8, 0.6], foxing=30, fox_size=4.0)
    spotted = np.abs(y - ASTRONAUT_FULL).max(0) > 0.03
    labels, n = ndimage.label(spotted)
    sizes = np.bincount(labels.ravel())[1:]
    assert n >= 15 and np.median(sizes) < 150 and spotted.mean() < 0.03  # many small spots, little area
    loss = (ASTRONAUT_FULL - y)[:, spotted].mean(1)  # rust: blue darkened most, red least
    assert loss[2] > loss[1] > loss[0] > 0


def test_silvering_brightens_and_greys_the_dark_areas_near_the_edges():
    from daguerre.imaging.aging import silvering

    x = ASTRONAUT_FULL
    y = silvering(x, np.random.default_rng(6), amount=0.8, reach=0.15, tint=[0.56, 0.6, 0.7], patchiness=0.5)
    lum, after = luma(x), luma(y)
    h, w = lum.shape
    yy, xx = np.mgrid[0:h, 0:w]
    edge = np.minimum(np.minimum(xx, w - 1 - xx), np.minimum(yy, h - 1 - yy)) < 0.08 * h
    middle = np.minimum(np.minimum(xx, w - 1 - xx), np.minimum(yy, h - 1 - yy)) > 0.3 * h
    dark, bright = lum < 0.25, lum > 0.8
    lift = after - lum
    assert lift[dark & edge].mean() > 0.05  # the dark areas near the edges brightened ...
    assert lift[dark & edge].mean() > 5 * max(lift[dark & middle].mean(), 1e-4)  # ... far more than inside
    assert np.abs(y - x).max(0)[bright].mean() < 0.01  # highlights hardly touched
    chroma = np.abs(x - lum).max(0)[dark & edge].mean(), np.abs(y - after).max(0)[dark & edge].mean()
    assert y[2][dark & edge].mean() - y[0][dark & edge].mean() > x[2][dark & edge].mean() - x[0][dark & edge].mean()
    assert chroma[1] < chroma[0] or chroma[0] < 0.05  # greyed, towards a bluish sheen


@pytest.mark.parametrize("name", ["stains", "silvering"])
def test_stains_and_silvering_are_seeded_unmasked_and_listed_in_the_help(name):
    first, again, other = (age(ASTRONAUT_FULL, seed=s, effects=[name]) for s in (7, 7, 8))
    assert np.array_equal(first.image, again.image) and first.params == again.params
    assert np.abs(first.image - other.image).max() > 0.05
    assert first.mask.max() == 0  # tone damage: nothing to paint over
    assert name in " ".join(CliRunner().invoke(app, ["age", "--help"]).output.split())
