"""The anchor (issue 14): a smooth noise tile sampled at source coordinates carried along the flow, so the noise a
style model sees moves with the scene, stays sharp, and starts again at a cut; a model's card asks for it."""

from pathlib import Path

import numpy as np
import pytest
import torch

from daguerre.imaging import Picture, load
from daguerre.video.anchor import TILE, MovingAnchor, noise_tile, sample_tile, still_anchor
from daguerre.video.consistency import TemporalConsistency

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def constant_flow(h: int, w: int, dx: float, dy: float) -> np.ndarray:
    return np.broadcast_to(np.array([dx, dy], np.float32), (h, w, 2)).copy()


def test_the_tile_is_smooth_unit_noise_that_repeats_seamlessly():
    tile = noise_tile(1.5)
    assert tile.shape == (TILE, TILE) and abs(tile.std() - 1) < 1e-3
    wrapped = np.roll(tile, 1, axis=1)  # across the seam, neighbours are as alike as anywhere else
    seam = np.corrcoef(tile[:, 0], wrapped[:, 0])[0, 1]
    inside = np.corrcoef(tile[:, 1:].ravel(), tile[:, :-1].ravel())[0, 1]
    assert inside > 0.6 and abs(seam - inside) < 0.15
    still = still_anchor(300, 600, 0.03, 1.5)  # a still's: the tile repeated from the top left corner
    assert np.allclose(still[:TILE, TILE : 2 * TILE], 0.03 * tile)
    assert np.allclose(still[TILE:, :TILE], 0.03 * tile[:44])


def test_frame_2s_anchor_is_frame_1s_moved_by_the_flow_and_half_pixels_do_not_blur_it():
    h, w = 96, 128
    anchor = MovingAnchor(0.05, 1.5)
    first = anchor(h, w, None)
    assert np.allclose(first, 0.05 * sample_tile(anchor.tile, np.stack(np.meshgrid(
        np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1)))
    second = anchor(h, w, constant_flow(h, w, -3, -1))  # the scene moved 3 px right, 1 down
    assert np.allclose(second[1:, 3:], first[:-1, :-3], atol=1e-5)
    assert not np.allclose(second, first, atol=1e-3)
    half = MovingAnchor(0.05, 1.5)
    start = half(h, w, None)
    half(h, w, constant_flow(h, w, -0.5, 0))
    twice = half(h, w, constant_flow(h, w, -0.5, 0))  # two half-pixel steps: one whole pixel, as sharp as before
    assert np.allclose(twice[:, 1:], start[:, :-1], atol=1e-4)
    # warping the previous frame's noise by half a pixel twice would give it through a (1/4, 1/2, 1/4) filter:
    resampled = 0.25 * start[:, :-2] + 0.5 * start[:, 1:-1] + 0.25 * start[:, 2:]
    assert not np.allclose(resampled[:, 1:], start[:, 1:-2], atol=1e-4)  # which the tolerance above would tell


def test_the_anchor_follows_a_real_pan_through_the_estimated_flow_and_starts_again_at_a_cut():
    photo = load(SAMPLES / "chelsea.jpg").rgb()
    first, moved = photo[:, 20:260, 20:340], photo[:, 20:260, 16:336]  # the camera moved 4 px left
    steady, anchor = TemporalConsistency(0.5), MovingAnchor(0.05, 1.5)
    a1 = anchor.next((320, 240), steady.motion(first))
    a2 = anchor.next((320, 240), steady.motion(moved))
    middle = (slice(20, -20), slice(24, -20))
    assert np.corrcoef(a2[middle].ravel(), a1[20:-20, 20:-24].ravel())[0, 1] > 0.9  # moved 4 px right
    assert np.corrcoef(a2[middle].ravel(), a1[middle].ravel())[0, 1] < 0.5
    other = load(SAMPLES / "coffee.jpg").rgb()[:, :240, :320]
    motion = steady.motion(other)
    assert motion.backward is None  # a cut: the anchor is the still's again
    assert np.allclose(anchor.next((320, 240), motion), still_anchor(240, 320, 0.05, 1.5), atol=1e-6)


@pytest.fixture
def anchored_model(tmp_path, monkeypatch):
    """A tiny style model trained 1 step with the anchor and exported: its card asks for the anchor."""
    from daguerre.ops import styles
    from daguerre.training.style import StyleRecipe, StyleSource, StyleTrainer

    style = StyleSource(name="tiny-anchored", image=str(SAMPLES / "rocket.jpg"), info={"title": "rocket"})
    recipe = StyleRecipe(styles=[style], content=[str(SAMPLES / "chelsea.jpg")], steps=1, batch_size=1, crop=64,
                         content_short_side=96, style_size=96, threads=1, widths=(8, 8, 16), n_residual=1,
                         temporal_weight=1.0, anchor_noise=0.05, anchor_sigma=1.5)
    trainer = StyleTrainer(recipe, tmp_path / "run", progress=False)
    trainer.train()
    [card] = trainer.export(tmp_path / "models")
    assert card.training["anchor"] == {"amount": 0.05, "sigma": 1.5}
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    styles.style_model.cache_clear()
    styles.style_model_onnx.cache_clear()
    yield card.name
    styles.style_model.cache_clear()
    styles.style_model_onnx.cache_clear()


def test_a_card_with_the_anchor_stylizes_stills_with_the_tile_and_clips_with_the_moving_one(anchored_model):
    from daguerre.ops import get_operation, styles

    op = get_operation("stylize")
    picture = Picture(load(SAMPLES / "chelsea.jpg").rgb()[:, :96, :128])
    _, net = styles.style_model(anchored_model)
    x = torch.from_numpy(picture.rgb())[None]
    with torch.inference_mode():
        clean = net(x)[0].numpy()
        tiled = net((x + torch.from_numpy(still_anchor(96, 128, 0.05, 1.5))).clamp(0, 1))[0].numpy()
    still = op.run(picture, model=anchored_model, engine="torch").pixels
    assert np.allclose(still, tiled, atol=1e-5) and not np.allclose(still, clean, atol=1e-3)
    given = 0.05 * np.roll(noise_tile(1.5), 7, axis=1)[:96, :128]
    moved = op.run(picture, model=anchored_model, engine="torch", anchor=given).pixels
    assert not np.allclose(moved, still, atol=1e-3)


def test_a_card_without_the_anchor_stylizes_as_before():
    from daguerre.ops import get_operation, styles
    from daguerre.video.run import clip_anchor

    op = get_operation("stylize")
    picture = Picture(load(SAMPLES / "chelsea.jpg").rgb()[:, :96, :128])
    _, net = styles.style_model("van-gogh-irises")
    with torch.inference_mode():
        plain = net(torch.from_numpy(picture.rgb())[None])[0].numpy()
    out = op.run(picture, model="van-gogh-irises", engine="torch", anchor=np.ones((96, 128), np.float32)).pixels
    assert np.allclose(out, plain, atol=1e-6)  # no anchor asked for: a given one is not added either
    assert clip_anchor(op, {"method": "fast", "model": "van-gogh-irises"}) is None


def test_the_anchor_is_not_a_parameter_a_user_or_a_recipe_can_give():
    """`run` takes `anchor` from the clip path only: `-p anchor=...` (CLI, archive, web jobs) is refused before any
    work, as an unknown parameter would be, instead of being recorded in a recipe or added to the picture."""
    from daguerre.ops import get_operation

    with pytest.raises(TypeError, match="anchor is not a parameter"):
        get_operation("stylize").check({"model": "van-gogh-irises", "anchor": 0.5})
    get_operation("stylize").check({"model": "van-gogh-irises"})


def test_a_clip_of_a_model_with_the_anchor_runs_each_frame_with_the_anchor_moved_along_the_flow(
        anchored_model, tmp_path):
    from daguerre.ops import get_operation
    from daguerre.video.clip import ClipWriter
    from daguerre.video.run import clip_anchor, process_clip

    photo = load(SAMPLES / "chelsea.jpg").rgb()
    frames = [photo[:, 20:116, 24 - 3 * t : 152 - 3 * t] for t in range(3)]  # the camera pans 3 px a frame
    with ClipWriter(tmp_path / "in" / "%03d.png", 24) as writer:
        for f in frames:
            writer.write(Picture(f))
    op = get_operation("stylize")
    params = {"method": "fast", "model": anchored_model, "engine": "torch", "precision": "fp32"}
    process_clip(op, tmp_path / "in", tmp_path / "out" / "%03d.png", consistency=0.0, **params)
    written = [load(p).pixels for p in sorted((tmp_path / "out").iterdir())]
    decoded = [load(p).pixels for p in sorted((tmp_path / "in").iterdir())]
    mover, motion = clip_anchor(op, params), TemporalConsistency(0.0)
    moving = [op.run(Picture(f), anchor=mover.next((128, 96), motion.motion(f)), **params).pixels for f in decoded]
    stills = [op.run(Picture(f), **params).pixels for f in decoded]
    assert len(written) == 3
    assert all(np.abs(w - m).max() <= 1 / 255 + 1e-6 for w, m in zip(written, moving, strict=True))
    assert np.abs(written[2] - stills[2]).max() > 4 / 255  # not the still's anchor: the moved one
