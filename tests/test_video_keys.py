"""Video, a key every N frames (`--key-every`): the model runs on the keys only, the frames between are made from
the keys' outputs moved along the motion; they follow the motion, never cross a cut, keep colorize's luma, and a
real style model's clip comes out steadier at the same style."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("imageio_ffmpeg")
pytest.importorskip("cv2")

from daguerre.cli import app  # noqa: E402
from daguerre.imaging import Picture, load  # noqa: E402
from daguerre.metrics import style_distance, warping_error  # noqa: E402
from daguerre.ops import get_operation  # noqa: E402
from daguerre.video import DEFAULT_CONSISTENCY  # noqa: E402
from daguerre.video.clip import ClipWriter, open_clip  # noqa: E402
from daguerre.video.consistency import TemporalConsistency  # noqa: E402
from daguerre.video.flow import warp  # noqa: E402
from daguerre.video.inbetween import Inbetween  # noqa: E402
from daguerre.video.synthetic import panned_frames  # noqa: E402

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
INNER = (slice(None), slice(12, -12), slice(12, -12))  # away from the edges a pan brings in


def pan(name: str, frames: int, size: tuple[int, int] = (256, 160)) -> list[tuple[np.ndarray, np.ndarray | None]]:
    return list(panned_frames(load(SAMPLES / name).rgb(), size, frames))


def tinted(frame: np.ndarray) -> np.ndarray:
    """A per-pixel look (no texture of its own): what each frame's model output should be exactly."""
    return np.clip(frame * np.array([1.1, 0.9, 0.6], np.float32)[:, None, None] + 0.05, 0, 1)


def through_keys(frames: list[np.ndarray], model, every: int = 2,
                 chroma_only: bool = False) -> tuple[list[np.ndarray], list[int], Inbetween]:
    """Every frame's output with a key every `every` frames (lean as the default consistency sets it); the indices
    of the frames the model ran on."""
    between = Inbetween(every, chroma_only=chroma_only, lean=1 - DEFAULT_CONSISTENCY)
    pictures = [Picture(f) for f in frames]
    ran: list[int] = []

    def run(picture: Picture) -> Picture:
        ran.append(next(i for i, p in enumerate(pictures) if p is picture))
        return Picture(model(picture.pixels))

    items = ((p, run(p) if between.is_key(i) else None) for i, p in enumerate(pictures))
    return [p.pixels for p in between.frames(items, run)], ran, between


def test_frames_between_keys_follow_the_motion() -> None:
    """On a pan, a frame made between two keys is the look of that frame, not a key's copied or ghosted."""
    frames = [f for f, _ in pan("coffee.jpg", 7)]
    outputs, ran, between = through_keys(frames, tinted)
    assert ran == [0, 2, 4, 6] and between.made == 3 and len(outputs) == 7
    for t in (1, 3, 5):
        made, own = outputs[t][INNER], tinted(frames[t])[INNER]
        assert np.abs(made - own).mean() < 0.012, t  # within the warp's resampling
        assert np.abs(outputs[t - 1][INNER] - own).mean() > 2 * np.abs(made - own).mean()  # it moved


def test_the_last_frame_is_a_key_and_every_frame_comes_out_in_order() -> None:
    frames = [f for f, _ in pan("chelsea.jpg", 11, (160, 96))]
    outputs, ran, between = through_keys(frames, tinted, every=3)
    assert ran == [0, 3, 6, 9, 10] and between.made == 6 and len(outputs) == 11
    assert all(np.abs(o - tinted(f))[INNER].mean() < 0.02 for o, f in zip(outputs, frames, strict=True))


def test_a_frame_after_a_cut_takes_nothing_from_the_shot_before() -> None:
    """Keys 0 and 2 with a cut between frames 0 and 1: frame 1 is made from key 2 (its own shot) only."""
    shot_a = [f for f, _ in pan("chelsea.jpg", 1)]
    shot_b = [f for f, _ in pan("rocket.jpg", 2)]
    outputs, ran, between = through_keys(shot_a + shot_b, tinted)
    assert ran == [0, 2] and between.made == 1
    assert np.abs(outputs[1] - tinted(shot_b[0]))[INNER].mean() < 0.012


def test_the_model_paints_what_neither_key_shows() -> None:
    """A frame unlike both keys around it (a third shot for one frame) is run through the model."""
    a, b, c = (pan(name, 1)[0][0] for name in ("chelsea.jpg", "rocket.jpg", "coffee.jpg"))
    outputs, ran, between = through_keys([a, b, c], tinted)
    assert ran == [0, 2, 1] and between.ran == 1 and between.made == 0
    np.testing.assert_allclose(outputs[1], tinted(b), atol=1e-6)


def test_colorize_between_keys_keeps_each_frames_own_luma() -> None:
    frames = [np.repeat(f.mean(0, keepdims=True), 3, 0) for f, _ in pan("astronaut.jpg", 3)]
    outputs, _, _ = through_keys(frames, tinted, chroma_only=True)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    change = np.abs(np.tensordot(luma, outputs[1], 1) - frames[1][0])
    assert np.quantile(change, 0.999) < 0.5 / 255 and change.max() < 3 / 255  # gamut clipping only
    assert np.abs(outputs[1] - frames[1]).mean() > 0.02  # coloured, not left grey


def test_keys_every_two_frames_steady_a_style_model_at_the_same_style() -> None:
    """van-gogh-irises (int8, as clips run) on a held-out pan: keys every 2 frames halve the model's runs and the
    warping error, and keep the style distance to the painting within 5 %."""
    import torch

    from daguerre.data.sources import painting
    from daguerre.imaging.colour import downscale

    op = get_operation("stylize")
    params = {"method": "fast", "model": "van-gogh-irises", "precision": "int8"}
    shot = pan("coffee.jpg", 11, (320, 192))
    frames = [f for f, _ in shot]

    def styled(pixels: np.ndarray) -> np.ndarray:
        return op.run(Picture(pixels), **params).pixels

    plain = [styled(f) for f in frames]
    keyed, ran, _ = through_keys(frames, styled)
    assert len(ran) == 6  # 0, 2, 4, 6, 8, 10

    def error(outputs: list[np.ndarray]) -> float:
        mask = np.zeros((1, 1, *frames[0].shape[1:]), np.float32)
        mask[..., 12:-12, 12:-12] = 1
        return float(np.mean([warping_error(np.stack([outputs[t - 1], outputs[t]]), warp(np.ascontiguousarray(
            outputs[t - 1].transpose(1, 2, 0)), flow).transpose(2, 0, 1)[None], mask)
            for t, (_, flow) in enumerate(shot) if t > 0]))

    irises = downscale(torch.from_numpy(load(painting(436528)[0]).rgb())[None], 320)[0].numpy()
    assert error(keyed) < 0.5 * error(plain)
    style_plain, style_keyed = (float(np.mean(style_distance(np.stack(o[1::2]), irises))) for o in (plain, keyed))
    assert style_keyed < 1.05 * style_plain, (style_keyed, style_plain)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "pan.mp4"
    with ClipWriter(path, 25) as writer:
        for frame, _ in pan("chelsea.jpg", 9, (192, 108)):
            writer.write(Picture(frame))
    return path


def test_cli_key_every_keeps_every_frame_and_runs_the_model_on_the_keys(clip: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    op = get_operation("stylize")
    runs: list[int] = []
    real = type(op).run
    monkeypatch.setattr(type(op), "run", lambda self, *a, **k: runs.append(1) or real(self, *a, **k))
    out = tmp_path / "keys.mp4"
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(out), "-m", "rousseau-lion", "--key-every", "2"])
    assert result.exit_code == 0, result.output
    info, frames = open_clip(out)
    assert info.fps == 25 and info.size == (192, 108) and sum(1 for _ in frames) == 9
    assert len(runs) == 5  # frames 0, 2, 4, 6, 8
    first = next(open_clip(out)[1]).pixels
    assert np.abs(first - next(open_clip(clip)[1]).pixels).mean() > 0.05  # stylized


def test_key_every_is_refused_where_it_cannot_apply(clip: Path, tmp_path: Path) -> None:
    from daguerre.api import run_clip

    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "x.mp4"), "-m", "rousseau-lion",
                                      "--steady", "local", "--key-every", "2"])
    assert result.exit_code == 2 and "--key-every steadies with the pixel blend" in result.output, result.output
    with pytest.raises(ValueError, match="restore keeps each frame's own detail"):
        run_clip("restore", clip, tmp_path / "r.mp4", key_every=2)
    for bad in (0, 9):  # 9: the frames between would wait in memory for too long a stretch
        with pytest.raises(ValueError, match=f"key_every must be 1 to 8, got {bad}"):
            run_clip("stylize", clip, tmp_path / "z.mp4", model="rousseau-lion", key_every=bad)
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "y.mp4"), "-m", "rousseau-lion",
                                      "--key-every", "9"])
    assert result.exit_code == 2 and "--key-every" in result.output, result.output
    assert not any((tmp_path / name).exists() for name in ("r.mp4", "x.mp4", "y.mp4", "z.mp4"))


def test_live_with_a_key_every_two_frames_runs_the_model_on_about_half(clip: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    op = get_operation("stylize")
    runs: list[int] = []
    real = type(op).run
    monkeypatch.setattr(type(op), "run", lambda self, *a, **k: runs.append(1) or real(self, *a, **k))
    result = CliRunner().invoke(app, ["live", "-m", "van-gogh-irises", "--source", str(clip), "--frames", "15",
                                      "--key-every", "2"])
    assert result.exit_code == 0, result.output
    assert "15 frames stylized at" in result.output
    assert 8 <= len(runs) <= 11  # keys 0, 2, ..., 14, and a key or two the model thread ran ahead


def test_live_from_python_refuses_a_key_every_out_of_range_in_one_line(clip: Path) -> None:
    """The CLI bounds --key-every; `run_live` called from Python said ZeroDivisionError for 0, from its thread."""
    from daguerre.video.live import run_live

    for bad in (0, 9):
        with pytest.raises(ValueError, match=f"key_every must be 1 to 8, got {bad}"):
            run_live("van-gogh-irises", clip, frames=2, key_every=bad, window=False, log=lambda _: None)


def test_a_clip_derived_with_keys_in_the_archive_records_them_and_rederives(archive, clip: Path) -> None:
    [master_id] = archive.ingest([clip]).added
    [derived] = archive.apply("stylize", [master_id], {"model": "rousseau-lion", "key_every": 2})
    [event] = [e for e in archive.events_of(derived.id) if e.type == "creation"]
    assert event.outcome_detail["recipe"]["params"]["key_every"] == 2
    again = archive.rederive(derived.id)  # the frames between re-made from the recipe's keys
    assert again.ok and again.max_abs_diff <= 1 / 255, again


def test_colorize_with_keys_is_steadied_by_the_pixel_blend_after_too() -> None:
    """A colorizer whose colour flickers from frame to frame: keys every 2 alone halve the flicker of the colour
    planes at most; with the consistency step after (what `process_clip` does for colorize) it is steadier still."""
    frames = [np.repeat(f.mean(0, keepdims=True), 3, 0) for f, _ in pan("astronaut.jpg", 9)]
    tints = np.random.default_rng(0).uniform(0.6, 1.4, (len(frames), 3)).astype(np.float32)
    index = {}

    def flickering(pixels: np.ndarray) -> np.ndarray:
        return np.clip(pixels * tints[index[id(pixels)]][:, None, None], 0, 1)

    def colour_flicker(steady: TemporalConsistency | None) -> float:
        between = Inbetween(2, chroma_only=True, steady=steady)
        pictures = [Picture(f) for f in frames]
        index.update({id(p.pixels): i for i, p in enumerate(pictures)})
        items = ((p, Picture(flickering(p.pixels)) if between.is_key(i) else None) for i, p in enumerate(pictures))
        out = [p.pixels for p in between.frames(items, lambda p: Picture(flickering(p.pixels)))]
        luma = np.array([0.299, 0.587, 0.114], np.float32)
        colour = [o - np.tensordot(luma, o, 1)[None] for o in out]
        return float(np.mean([np.abs(b - a)[INNER].mean() for a, b in zip(colour, colour[1:], strict=False)]))

    alone, steadied = colour_flicker(None), colour_flicker(TemporalConsistency(DEFAULT_CONSISTENCY, chroma_only=True))
    assert steadied < 0.8 * alone, (steadied, alone)


def test_a_model_failing_mid_clip_with_keys_stops_the_pipeline_and_leaves_no_clip(clip: Path, tmp_path: Path,
                                                                                  monkeypatch) -> None:
    retro = type(get_operation("retro"))
    calls = []
    original = retro.run

    def failing(self, picture, **params):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return original(self, picture, **params)

    monkeypatch.setattr(retro, "run", failing)
    out = tmp_path / "keys.mp4"
    result = CliRunner().invoke(app, ["retro", str(clip), "-o", str(out), "--key-every", "2"])
    assert result.exit_code == 1 and "disk on fire" in result.output, result.output
    assert not out.exists()
