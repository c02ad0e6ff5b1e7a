"""Video: clips round-trip through an Operation with their frame rate, size, frame count and audio; the
temporal-consistency step steadies a real model's output on a known pan and never blends across a cut."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("imageio_ffmpeg")
pytest.importorskip("cv2")

from daguerre.cli import app  # noqa: E402
from daguerre.imaging import ImageError, Picture, load  # noqa: E402
from daguerre.metrics import warping_error  # noqa: E402
from daguerre.ops import get_operation  # noqa: E402
from daguerre.video import DEFAULT_CONSISTENCY  # noqa: E402
from daguerre.video.clip import ClipInfo, ClipWriter, ffmpeg, open_clip  # noqa: E402
from daguerre.video.consistency import TemporalConsistency  # noqa: E402
from daguerre.video.flow import warp  # noqa: E402
from daguerre.video.run import steady_style  # noqa: E402
from daguerre.video.steady_style import SteadyStyle  # noqa: E402
from daguerre.video.synthetic import panned_frames  # noqa: E402

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
SIZE = (192, 108)


def pan(name: str, frames: int, size: tuple[int, int] = SIZE) -> list[tuple[np.ndarray, np.ndarray | None]]:
    return list(panned_frames(load(SAMPLES / name).rgb(), size, frames))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 frames at 25 fps of a pan over a bundled photo, with a 440 Hz AAC sound track."""
    folder = tmp_path_factory.mktemp("clip")
    sound = folder / "sound.m4a"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.48", "-c:a", "aac",
                    str(sound)], check=True)
    path = folder / "pan.mp4"
    with ClipWriter(path, 25, audio_from=ClipInfo(sound, 25, SIZE, None, 0.48, "aac")) as writer:
        for frame, _ in pan("chelsea.jpg", 12):
            writer.write(Picture(frame))
    return path


def frame_count(path: Path) -> int:
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def test_clip_round_trips_through_an_operation(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "sepia.mp4"
    result = CliRunner().invoke(app, ["film", str(clip), "-o", str(out), "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    source, written = open_clip(clip)[0], open_clip(out)[0]
    assert (written.fps, written.size, written.audio) == (source.fps, source.size, "aac") == (25, SIZE, "aac")
    assert frame_count(out) == frame_count(clip) == 12
    _, frames = open_clip(out)
    first = next(frames).pixels
    assert first[0].mean() > first[2].mean() + 0.05  # the sepia look, not the input copied


def test_numbered_frames_become_a_clip_and_a_clip_numbered_frames(clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    result = CliRunner().invoke(app, ["film", str(clip), "-o", str(folder / "%03d.png"), "--consistency", "0"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:03d}.png" for i in range(1, 13)]
    assert load(folder / "001.png").size == SIZE
    out = tmp_path / "again.mkv"
    result = CliRunner().invoke(app, ["film", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert frame_count(out) == 12 and open_clip(out)[0].size == SIZE and open_clip(out)[0].fps == 24  # the default
    silent = tmp_path / "silent.mp4"  # a film scan's frames at its own rate
    result = CliRunner().invoke(app, ["film", str(folder), "-o", str(silent), "--fps", "16"])
    assert result.exit_code == 0, result.output
    info = open_clip(silent)[0]
    assert frame_count(silent) == 12 and info.fps == 16 and info.duration == pytest.approx(12 / 16, abs=0.07)
    result = CliRunner().invoke(app, ["film", str(clip), "-o", str(tmp_path / "x.mp4"), "--fps", "16"])
    assert result.exit_code == 2 and "--fps is the frame rate of a folder" in result.output
    assert not (tmp_path / "x.mp4").exists()


def test_a_truncated_clip_is_a_one_line_error_naming_it(clip: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with pytest.raises(ImageError, match="broken.mp4: not a readable video"):
        open_clip(broken)
    result = CliRunner().invoke(app, ["film", str(broken), "-o", str(tmp_path / "out.mp4")])
    assert result.exit_code == 1
    failures = [line for line in result.output.splitlines() if "failed" in line]
    assert len(failures) == 1 and str(broken) in failures[0] and "moov atom not found" in failures[0]
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".out*"))


def test_a_clip_cut_short_with_its_index_in_front_is_refused_not_processed_in_part(archive, tmp_path: Path) -> None:
    """A "fast start" MP4 (index first, as the web serves them) cut short still opens: its 50-frame index read as a
    good clip, and `film` wrote a clip of the frames left, exit 0; ingest catalogued 50 frames. Both now say it is
    truncated, with the frames read against those declared, and write or store nothing."""
    whole = lavfi_clip(tmp_path / "whole.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                       source="testsrc2=size=192x108:rate=25", seconds=2)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    assert open_clip(cut)[0].frames == 50  # the index still says 50
    result = CliRunner().invoke(app, ["film", str(cut), "-o", str(tmp_path / "out.mp4"), "--preset", "sepia"])
    assert result.exit_code == 1 and "cut.mp4: truncated: " in result.output, result.output
    assert "of its 50 frames could be read" in result.output and not (tmp_path / "out.mp4").exists()
    report = archive.ingest([cut, whole])
    assert len(report.added) == 1 and "truncated video" in str(report.failed), report.failed
    assert archive.get(report.added[0]).extra["frames"] == 50


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".avi"])
def test_an_odd_sized_clip_keeps_its_size_without_a_black_line(tmp_path: Path, suffix: str) -> None:
    """321x239 frames came out 322x240, a black column on the right and a black row at the bottom (4:2:0 chroma
    needs even sides, and the frame was padded). They keep their size and their edge pixels now."""
    frames = [frame[:, :239, :321] for frame, _ in pan("chelsea.jpg", 3, (330, 250))]
    path = tmp_path / f"odd{suffix}"
    with ClipWriter(path, 25) as writer:
        for frame in frames:
            writer.write(Picture(frame))
    info, read = open_clip(path)
    assert info.size == (321, 239)
    got = next(read).pixels
    edges = np.concatenate([got[:, :, -1].ravel(), got[:, -1, :].ravel()])
    truth = np.concatenate([frames[0][:, :, -1].ravel(), frames[0][:, -1, :].ravel()])
    assert np.abs(edges - truth).mean() < 0.05, np.abs(edges - truth).mean()  # black would be ~0.4 off


def test_a_picture_named_as_a_clip_is_refused_naming_its_format(archive, tmp_path: Path) -> None:
    """A JPEG renamed .mp4 was read as a one-frame video (and written, and ingested, as one)."""
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes((SAMPLES / "coffee.jpg").read_bytes())
    with pytest.raises(ImageError, match=r"holiday.mp4: not a video: a JPEG picture \(named as a picture, e.g. "
                                         r"holiday.jpg"):
        open_clip(fake)
    result = CliRunner().invoke(app, ["film", str(fake), "-o", str(tmp_path / "out.mp4")])
    assert result.exit_code == 1 and "not a video: a JPEG picture" in result.output
    assert not (tmp_path / "out.mp4").exists()
    report = archive.ingest([fake])
    assert not report.added and "not a video: a JPEG picture" in str(report.failed), report


def test_every_audio_track_is_kept(tmp_path: Path) -> None:
    """A clip's second sound track (a commentary, a second language) was dropped without a word: only the first
    was mapped. Each is kept now, copied where the container takes its codec, else re-encoded."""
    from daguerre.video.clip import audio_codecs

    two = tmp_path / "two.mkv"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-t", "0.5", "-i", "testsrc2=size=192x108:rate=25",
                    "-f", "lavfi", "-t", "0.5", "-i", "sine=frequency=440", "-f", "lavfi", "-t", "0.5", "-i",
                    "sine=frequency=880", "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", "-c:a:0", "aac", "-c:a:1", "pcm_s16le", str(two)], check=True, timeout=60)
    for suffix, codecs in ((".mkv", ["aac", "pcm_s16le"]), (".mp4", ["aac", "aac"])):
        out = tmp_path / f"out{suffix}"
        result = CliRunner().invoke(app, ["film", str(two), "-o", str(out), "--consistency", "0"])
        assert result.exit_code == 0, result.output
        assert audio_codecs(out) == codecs


def test_an_operation_failing_mid_clip_stops_the_pipeline_and_leaves_no_clip(clip: Path, tmp_path: Path) -> None:
    import threading

    from daguerre.ops.base import Operation
    from daguerre.video.run import process_clip

    class FailsOnFrame5(Operation):
        name, seen = "fails", 0

        def run(self, picture: Picture, progress: object = None, **params: object) -> Picture:
            self.seen += 1
            if self.seen == 5:
                raise ValueError("frame 5 is bad")
            return picture

    op, out = FailsOnFrame5(), tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="frame 5 is bad"):
        process_clip(op, clip, out)
    assert op.seen == 5 and not out.exists() and not list(tmp_path.iterdir())
    assert not [t for t in threading.enumerate() if t.name in ("decode", "model", "steady")]


def test_stages_run_in_threads_a_few_frames_ahead_at_most() -> None:
    from daguerre.video.pipeline import in_thread

    produced = []

    def numbers():
        for i in range(100):
            produced.append(i)
            yield i

    stream = in_thread(numbers(), lambda i: 2 * i, depth=3)
    assert next(stream) == 0
    for _ in range(100):  # the producer fills the queue (3), holds one more, then waits
        if len(produced) >= 5:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    assert len(produced) == 5
    assert list(stream) == [2 * i for i in range(1, 100)]


def test_each_stage_reports_its_cpu_time_and_the_clip_is_unchanged(clip: Path, tmp_path: Path) -> None:
    from daguerre.video.run import process_clip

    cpu: dict[str, float] = {}
    out = process_clip(get_operation("film"), clip, tmp_path / "out.mp4", stage_cpu=cpu, preset="sepia")
    assert set(cpu) == {"decode", "model", "steady", "encode"} and all(v > 0 for v in cpu.values())
    assert frame_count(out) == 12 and open_clip(out)[0].size == SIZE and open_clip(out)[0].fps == 25


def test_consistency_zero_hands_the_result_back_untouched() -> None:
    frames = pan("chelsea.jpg", 3)
    steady = TemporalConsistency(0.0)
    results = [np.clip(f * 0.8 + 0.1, 0, 1) for f, _ in frames]
    assert all(steady(f, r) is r for (f, _), r in zip(frames, results, strict=True))


def styled_warping_error(consistency: float, inside: bool = False) -> tuple[float, float]:
    """Warping error (the pan's true flow) and mean style distance to its painting of a fast style model's output,
    steadied on its pixels or, `inside`, inside the network (`SteadyStyle`)."""
    import torch

    from daguerre.data.sources import painting
    from daguerre.imaging.colour import downscale
    from daguerre.metrics import style_distance
    from daguerre.ops import styles

    op, steady = get_operation("stylize"), TemporalConsistency(consistency)
    network = SteadyStyle(styles.style_model("van-gogh-irises")[1], consistency) if inside else None
    errors, outputs, previous = [], [], None
    for frame, flow in pan("coffee.jpg", 10, (256, 160)):
        if network is not None:
            out = network(frame)
        else:
            styled = op.run(Picture(frame), method="fast", model="van-gogh-irises", engine="torch").pixels
            out = steady(frame, styled)
        outputs.append(out)
        if previous is not None:
            warped = warp(np.ascontiguousarray(previous.transpose(1, 2, 0)), flow).transpose(2, 0, 1)
            mask = np.zeros((1, *flow.shape[:2]), np.float32)
            mask[:, 8:-8, 8:-8] = 1  # away from the edges the pan brings in
            errors.append(warping_error(np.stack([previous, out]), warped[None], mask[None]))
        previous = out
    irises = downscale(torch.from_numpy(load(painting(436528)[0]).rgb())[None], 256)
    return float(np.mean(errors)), float(np.mean(style_distance(np.stack(outputs[1::2]), irises[0].numpy())))


def test_the_steps_flow_finds_a_480p_pans_motion_within_half_a_pixel() -> None:
    """The step's cheaper flow (240 px, DIS down to its level 1) still finds a held-out pan's true motion."""
    from daguerre.video.flow import grey8, resize_flow

    flow = TemporalConsistency(DEFAULT_CONSISTENCY).flow
    (a, _), (b, true) = pan("coffee.jpg", 2, (854, 480))
    found = resize_flow(flow(flow.small(grey8(b)), flow.small(grey8(a))), (854, 480))
    assert flow.small(grey8(b)).shape == (135, 240)
    error = np.linalg.norm(found - true, axis=-1)[16:-16, 16:-16]  # px at full size, away from the edges
    assert np.median(error) < 0.5, np.median(error)
    assert np.median(np.linalg.norm(true, axis=-1)) > 2  # a real move to find


def test_consistency_lowers_the_warping_error_of_a_style_model_on_a_pan() -> None:
    plain, plain_style = styled_warping_error(0.0)
    steady, steady_style = styled_warping_error(DEFAULT_CONSISTENCY)
    assert steady < 0.5 * plain
    assert steady_style < 1.05 * plain_style  # the style is not washed out


def test_steadied_inside_the_network_halves_the_warping_error_and_keeps_the_style() -> None:
    plain, plain_style = styled_warping_error(0.0)
    steady, steady_style = styled_warping_error(DEFAULT_CONSISTENCY, inside=True)
    assert steady < 0.5 * plain
    assert steady_style < 1.05 * plain_style


def test_a_clip_stylized_in_fp32_can_be_steadied_inside_the_network(clip: Path, tmp_path: Path) -> None:
    from daguerre.video.run import process_clip

    op, params = get_operation("stylize"), {"method": "fast", "model": "van-gogh-irises", "precision": "fp32"}
    assert steady_style(op, params, DEFAULT_CONSISTENCY, SIZE) is not None
    assert steady_style(op, params, 0.0, SIZE) is None  # nothing to steady
    for bad, reason in (({"precision": "int8", "engine": "torch"}, "int8 on its ONNX file only"),
                        ({"precision": "fp16"}, "runs fp32, int8 or bf16"),
                        ({"preserve_colour": True}, "preserve-colour"),
                        ({"strength": 0.5}, "strength below 1"), ({"model": None}, "fast style model")):
        with pytest.raises(ValueError, match=reason):  # asked for and impossible: said, not replaced unasked
            steady_style(op, {**params, **bad}, DEFAULT_CONSISTENCY, SIZE)
    with pytest.raises(ValueError, match="up to 1920 px"):
        steady_style(op, params, DEFAULT_CONSISTENCY, (2560, 1440))
    out = process_clip(op, clip, tmp_path / "styled.mp4", steady_inside=True, **params)
    assert frame_count(out) == 12 and open_clip(out)[0].size == SIZE
    _, frames = open_clip(out)
    first, source = next(frames).pixels, next(open_clip(clip)[1]).pixels
    assert np.abs(first - source).mean() > 0.05  # stylized, not the input copied


def steadied_through_cli(clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steady: type,
                         mode: str) -> list[int]:
    """`daguerre stylize clip --steady MODE`: asserts it succeeds with every frame rendered by `steady`'s class;
    returns the list its `render` calls grow (the caller can run more clips and count again)."""
    rendered: list[int] = []
    real = steady.render
    monkeypatch.setattr(steady, "render", lambda self, *a: rendered.append(1) or real(self, *a))
    out = tmp_path / f"{mode}.mp4"
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(out), "-m", "rousseau-lion", "--steady", mode])
    assert result.exit_code == 0, result.output
    assert frame_count(out) == 12 and len(rendered) == 12
    return rendered


def test_cli_steady_inside_runs_the_clip_through_the_steadied_network(clip: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`--steady inside` reaches the clip pipeline (in fp32 unless asked for int8, though the model's clips default
    to int8); bad uses are one-line errors."""
    rendered = steadied_through_cli(clip, tmp_path, monkeypatch, SteadyStyle, "inside")
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "p.mp4"), "-m", "rousseau-lion"])
    assert result.exit_code == 0 and len(rendered) == 12  # the default: the pixel blend
    for extra, message in ((["--steady", "sideways"], "unknown --steady 'sideways'"),
                           (["--steady", "inside", "--preserve-color"], "--steady inside is for fast style")):
        result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "x.mp4"), "-m",
                                          "rousseau-lion", *extra])
        assert result.exit_code == 2 and message in result.output, result.output


def test_a_scene_cut_is_not_carried_inside_the_network() -> None:
    from daguerre.ops import styles

    net = styles.style_model("van-gogh-irises")[1]
    steady = SteadyStyle(net, 1.0)
    shot_a = [f for f, _ in pan("chelsea.jpg", 3)]
    shot_b = [f for f, _ in pan("rocket.jpg", 2)]
    for frame in shot_a:
        steady(frame)
    after_cut = steady(shot_b[0])
    assert steady.cuts == 1
    fresh = SteadyStyle(net, 1.0)(shot_b[0])  # a new shot starts as a clip's first frame does
    np.testing.assert_array_equal(after_cut, fresh)
    unblended = SteadyStyle(net, 0.0)  # the same grid shifts, no features carried
    alone = [unblended(frame) for frame in [*shot_a, *shot_b]][-1]
    moved = steady(shot_b[1])  # within the shot the previous features are carried
    assert steady.cuts == 1 and np.abs(moved - alone).mean() > 0.005


def test_a_scene_cut_is_not_blended() -> None:
    steady = TemporalConsistency(1.0)
    shot_a = [f for f, _ in pan("chelsea.jpg", 3)]
    shot_b = [f for f, _ in pan("rocket.jpg", 2)]
    for frame in shot_a:
        steady(frame, frame)
    after_cut = steady(shot_b[0], shot_b[0] * 0.5)
    assert steady.cuts == 1
    np.testing.assert_array_equal(after_cut, shot_b[0] * 0.5)  # the Operation's own result, untouched
    moved = steady(shot_b[1], shot_b[1] * 0.5 + 0.2)  # within the shot the previous output is carried
    assert steady.cuts == 1 and np.abs(moved - (shot_b[1] * 0.5 + 0.2)).mean() > 0.05


@pytest.mark.parametrize("chroma", [False, True])
def test_frames_go_to_the_encoder_as_the_steadied_pictures_would(chroma: bool) -> None:
    """`rgb8` (a clip's frames straight to the encoder) gives the bytes `to_rgb8` makes of `__call__`'s pictures,
    for a style model's real output on a held-out pan: exactly for colour only, at the first frame, at a cut and
    with the step off; within a few levels where a style is blended in 8 bits, and blended all the same."""
    from daguerre.video.clip import to_rgb8

    op = get_operation("stylize")
    shots = [f for f, _ in pan("coffee.jpg", 4, (256, 160))] + [f for f, _ in pan("rocket.jpg", 2, (256, 160))]
    results = [op.run(Picture(f), method="fast", model="van-gogh-irises", engine="torch").pixels for f in shots]
    for strength in (DEFAULT_CONSISTENCY, 0.0):
        straight, pictured = (TemporalConsistency(strength, chroma_only=chroma) for _ in range(2))
        for i, (frame, result) in enumerate(zip(shots, results, strict=True)):
            written = straight.rgb8(frame, result)
            assert written.dtype == np.uint8 and written.shape == (160, 256, 3)
            expected = to_rgb8(Picture(result).with_pixels(pictured(frame, result)))
            if chroma or strength == 0 or i in (0, 4):  # 4: the cut to the rocket
                np.testing.assert_array_equal(written, expected)
                continue
            apart = np.abs(written.astype(np.int16) - expected)
            assert apart.max() <= 5 and apart.mean() < 0.75, (i, apart.max(), apart.mean())  # 0.4-0.55 here
            alone = np.abs(written.astype(np.int16) - to_rgb8(Picture(result)))  # the previous frame carried
            assert alone.mean() > 4 * apart.mean() + 1
        assert straight.cuts == pictured.cuts == (1 if strength else 0)


def test_decoded_frames_are_ffmpegs_bytes_scaled_to_one(clip: Path) -> None:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(clip))
    w, h = next(reader)["size"]
    raw = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    frames = [f.pixels for f in open_clip(clip)[1]]
    assert len(frames) == len(raw) == 12
    for frame, expected in zip(frames, raw, strict=True):
        assert frame.flags.c_contiguous and frame.dtype == np.float32
        np.testing.assert_array_equal(frame, expected.transpose(2, 0, 1) * np.float32(1 / 255))


def test_a_picture_becomes_a_video_frame_rounded_and_saturated() -> None:
    from daguerre.video.clip import to_rgb8

    colour = np.random.default_rng(0).uniform(-0.2, 1.2, (3, 20, 30)).astype(np.float32)
    for pixels in (colour, colour[:1]):
        expected = np.clip(np.rint(pixels.astype(np.float64) * 255), 0, 255).astype(np.uint8).transpose(1, 2, 0)
        frame = to_rgb8(Picture(pixels))
        assert frame.shape == (20, 30, 3) and frame.dtype == np.uint8
        np.testing.assert_array_equal(frame, np.broadcast_to(expected, (20, 30, 3)))


def test_numbered_frames_are_written_from_pictures_only(tmp_path: Path) -> None:
    with ClipWriter(tmp_path / "frames" / "%03d.png", 25) as writer:
        writer.write(Picture(np.full((3, 8, 8), 0.5, np.float32)))
        with pytest.raises(TypeError, match="Pictures"):
            writer.write(np.zeros((8, 8, 3), np.uint8))
    assert [p.name for p in (tmp_path / "frames").iterdir()] == ["001.png"]


def test_colour_carried_for_colorize_keeps_each_frames_luminance() -> None:
    steady = TemporalConsistency(1.0, chroma_only=True)
    frames = [f for f, _ in pan("astronaut.jpg", 3)]
    steady(frames[0], frames[0])
    tinted = np.clip(frames[1] * np.array([0.7, 1.0, 1.3], np.float32)[:, None, None], 0, 1)
    out = steady(frames[1], tinted)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    inner = (slice(8, -8), slice(8, -8))
    luma_change = np.abs(np.tensordot(luma, out, 1) - np.tensordot(luma, tinted, 1))[inner]
    assert np.quantile(luma_change, 0.999) < 0.5 / 255 and luma_change.max() < 3 / 255  # gamut clipping only
    assert np.abs(out - tinted)[:, 8:-8, 8:-8].mean() > 0.01  # the colour did follow the previous frame


def test_live_prints_the_frame_rate_headless(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = CliRunner().invoke(app, ["live", "-m", "van-gogh-irises", "--source", str(clip), "--frames", "15"])
    assert result.exit_code == 0, result.output
    assert "15 frames stylized at" in result.output and "fps" in result.output


def test_live_names_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["live", "-m", "van-gogh-irises", "--source", str(tmp_path / "no.mp4")])
    assert result.exit_code == 1 and "no.mp4: file not found" in result.output


def test_a_missing_camera_is_one_line_without_opencvs_warnings() -> None:
    """No camera 9 here (nor in CI): `live` says so in one line; OpenCV's backends' own warnings (written by C++
    to the process's stderr, so a subprocess) are not shown."""
    import sys

    done = subprocess.run([sys.executable, "-m", "daguerre", "live", "-m", "van-gogh-irises", "--source", "9",
                           "--frames", "1", "--no-window"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "camera 9: cannot open it" in done.stdout + done.stderr
    assert "WARN" not in done.stdout + done.stderr, done.stderr


def test_a_clip_with_sound_becomes_a_silent_animated_gif(clip: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["film", str(clip), "-o", str(tmp_path / "pan.gif"), "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    assert frame_count(tmp_path / "pan.gif") == 12 and open_clip(tmp_path / "pan.gif")[0].audio is None


def test_an_animated_gif_comes_back_as_an_animated_gif(tmp_path: Path) -> None:
    """A GIF in, a GIF out: its frames and their timing kept (ffmpeg's GIF encoder, a palette a frame)."""
    from PIL import Image

    frames = [Image.fromarray((f.transpose(1, 2, 0) * 255).astype(np.uint8)) for f, _ in pan("chelsea.jpg", 5)]
    frames[0].save(tmp_path / "in.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = CliRunner().invoke(app, ["film", str(tmp_path / "in.gif"), "-o", str(tmp_path / "out.gif"),
                                      "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out.gif") as out:
        assert (out.n_frames, out.size, out.info["duration"]) == (5, SIZE, 100)
        first = np.asarray(out.convert("RGB"), dtype=np.float32)
    assert first[..., 0].mean() > first[..., 2].mean() + 10  # the sepia look, not the input copied


def test_a_one_frame_gif_is_a_picture_and_an_animated_one_is_named_when_written_to_a_picture(tmp_path: Path) -> None:
    from PIL import Image

    frames = [Image.fromarray((f.transpose(1, 2, 0) * 255).astype(np.uint8)) for f, _ in pan("chelsea.jpg", 3)]
    frames[0].save(tmp_path / "still.gif")
    frames[0].save(tmp_path / "moving.gif", save_all=True, append_images=frames[1:], duration=100)
    result = CliRunner().invoke(app, ["film", str(tmp_path / "still.gif"), "-o", str(tmp_path / "still.png"),
                                      "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    out = load(tmp_path / "still.png").pixels
    assert out.shape == (3, SIZE[1], SIZE[0]) and out[0].mean() > out[2].mean() + 0.05
    result = CliRunner().invoke(app, ["film", str(tmp_path / "moving.gif"), "-o", str(tmp_path / "moving.png")])
    assert result.exit_code != 0 and "moving.gif: an animated GIF (3 frames): write it to a clip name" in result.output
    assert not (tmp_path / "moving.png").exists()
    (tmp_path / "empty.gif").touch()
    result = CliRunner().invoke(app, ["film", str(tmp_path / "empty.gif"), "-o", str(tmp_path / "empty.png")])
    assert result.exit_code != 0 and "empty.gif: empty file (0 bytes)" in result.output


@pytest.mark.parametrize("steady", ["--consistency=0.5", "--steady=local"])
def test_a_thumbnail_sized_clip_is_steadied_too(tmp_path: Path, steady: str) -> None:
    """An 8x8 clip: DIS refuses frames under 12 px and the trunk needs two cells; both are padded, not failed."""
    path = tmp_path / "tiny.mp4"
    with ClipWriter(path, 25) as writer:
        for frame, _ in pan("chelsea.jpg", 4, (8, 8)):
            writer.write(Picture(frame))
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(app, ["stylize", str(path), "-m", "van-gogh-irises", "-o", str(out), steady])
    assert result.exit_code == 0, result.output
    assert frame_count(out) == 4 and open_clip(out)[0].size == (8, 8)


def lavfi_clip(path: Path, *encode: str, source: str = "testsrc2=size=192x108:rate=50", seconds: float = 0.4) -> Path:
    """A clip made by ffmpeg from one of its test sources, then `encode` (filters, flags, codec)."""
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds), *encode,
                    str(path)], check=True)
    return path


def combing(pixels: np.ndarray) -> float:
    """How far each row's grey is from the mean of the rows above and below: a woven frame's two fields apart."""
    g = pixels.mean(0)
    return float(np.abs(g[1:-1] - (g[:-2] + g[2:]) / 2).mean())


def test_an_anamorphic_clip_keeps_the_shape_of_its_pixels(tmp_path: Path) -> None:
    """A 4:3 PAL DV frame is 720x576 with pixels 16:15 wide: written with square pixels, a player shows it squeezed."""
    source = lavfi_clip(tmp_path / "dv.mp4", "-vf", "setsar=16/15", "-pix_fmt", "yuv420p")
    assert open_clip(source)[0].sar == (16, 15)
    out = tmp_path / "sepia.mp4"
    result = CliRunner().invoke(app, ["film", str(source), "-o", str(out), "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    written = open_clip(out)[0]
    assert (written.size, written.sar) == ((192, 108), (16, 15))
    square = lavfi_clip(tmp_path / "square.mp4", "-pix_fmt", "yuv420p")
    assert open_clip(square)[0].sar == (1, 1)


def test_an_interlaced_clip_is_deinterlaced_frame_for_frame_and_a_progressive_one_is_read_as_it_is(
        tmp_path: Path) -> None:
    import imageio_ffmpeg

    woven = lavfi_clip(tmp_path / "woven.mp4", "-vf", "tinterlace=interleave_top,fieldorder=tff", "-flags",
                       "+ildct+ilme", "-x264opts", "tff=1", "-pix_fmt", "yuv420p")
    info, frames = open_clip(woven)
    read = [f.pixels for f in frames]
    raw = imageio_ffmpeg.read_frames(str(woven))
    next(raw)
    as_stored = [np.frombuffer(b, np.uint8).reshape(108, 192, 3).transpose(2, 0, 1) / 255 for b in raw]
    assert (info.fps, info.frames) == (25, 10) and len(read) == len(as_stored) == 10
    # the fields' motion woven into one frame adds row-to-row combing to what the scene's own rows differ by (the
    # same scene, one progressive frame for each two fields); deinterlaced, it is (nearly all) gone
    scene = np.mean([combing(f.pixels) for f in open_clip(lavfi_clip(
        tmp_path / "scene.mp4", "-vf", "framestep=2", "-pix_fmt", "yuv420p"))[1]])
    woven_excess = np.mean([combing(p) for p in as_stored]) - scene
    assert woven_excess > 0.002 and np.mean([combing(p) for p in read]) - scene < 0.25 * woven_excess
    progressive = lavfi_clip(tmp_path / "progressive.mp4", "-pix_fmt", "yuv420p")
    info, frames = open_clip(progressive)
    raw = imageio_ffmpeg.read_frames(str(progressive))
    next(raw)
    assert all(np.array_equal(np.round(f.pixels * 255).astype(np.uint8),
                              np.frombuffer(b, np.uint8).reshape(108, 192, 3).transpose(2, 0, 1))
               for f, b in zip(frames, raw, strict=True))


def test_a_clip_whose_frame_rate_varies_keeps_its_length(tmp_path: Path) -> None:
    """A phone slows its frame rate in the dark: 30 fps, then 10 for a second, then 30 (70 frames in 3 s)."""
    import imageio_ffmpeg

    varying = lavfi_clip(tmp_path / "phone.mp4", "-vf", "select='lt(t,1)+gte(t,2)+not(mod(n,3))'", "-fps_mode", "vfr",
                         "-pix_fmt", "yuv420p", source="testsrc2=size=192x108:rate=30", seconds=3)
    assert imageio_ffmpeg.count_frames_and_secs(str(varying)) == (70, 3.0)
    out = tmp_path / "sepia.mp4"
    result = CliRunner().invoke(app, ["film", str(varying), "-o", str(out), "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert abs(seconds - 3.0) < 0.05 and frames == 70  # (read at the 30 fps it says it has: 92 frames, 3.94 s)


def test_a_phone_clip_stored_on_its_side_comes_out_upright_without_a_warning(tmp_path: Path,
                                                                             capfd: pytest.CaptureFixture) -> None:
    stored = lavfi_clip(tmp_path / "stored.mp4", "-vf", "setsar=4/3", "-pix_fmt", "yuv420p")
    turned = tmp_path / "phone.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-display_rotation", "90", "-i", str(stored), "-c", "copy",
                    str(turned)], check=True)
    capfd.readouterr()
    out = tmp_path / "sepia.mp4"
    result = CliRunner().invoke(app, ["film", str(turned), "-o", str(out), "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    assert "frame size" not in result.output + "".join(capfd.readouterr())
    written = open_clip(out)[0]
    assert (written.size, written.sar) == ((108, 192), (3, 4))  # the pixels turned with the picture


@pytest.fixture(scope="module")
def tape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PAL DV transfer: 10 frames of 720x576 with 16:15 pixels (4:3), flagged interlaced, stereo PCM sound."""
    folder = tmp_path_factory.mktemp("tapes")
    return lavfi_clip(folder / "tape.dv", "-f", "lavfi", "-i", "sine=duration=0.4", "-t", "0.4", "-vf", "setsar=16/15",
                      "-c:v", "dvvideo", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2",
                      source="testsrc2=size=720x576:rate=25")


def test_a_dv_tape_transfer_is_read_and_its_result_written_as_matroska(tape: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["film", str(tape.parent), "-o", str(out), "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    written = open_clip(out / "tape.mkv")[0]  # a folder's DV clip: its result beside the others, as Matroska
    assert (written.size, written.sar, written.audio, frame_count(out / "tape.mkv")) == (
        (720, 576), (16, 15), "pcm_s16le", 10)  # the sound copied as it is
    refused = CliRunner().invoke(app, ["film", str(tape), "-o", str(tmp_path / "again.dv"), "--preset", "sepia"])
    assert refused.exit_code == 1 and ".dv clips are read, not written: write .mp4" in refused.output
    assert not (tmp_path / "again.dv").exists()


def test_a_clip_in_a_bag_is_named_by_its_format_and_a_bag_naming_it_bin_still_imports(
        make_archive, tape: Path, tmp_path: Path) -> None:
    import bagit

    source = make_archive("b")
    [mid] = source.ingest([tape]).added
    item = source.get(mid)
    assert (item.media_type, item.width, item.height) == ("video/x-dv", 720, 576)
    bag = source.export("bagit", tmp_path / "bag")
    objects = bag / "data" / "objects"
    assert [p.name for p in objects.iterdir()] == [f"{item.sha256}.dv"]
    assert make_archive("a").import_bag(bag).added == [mid]
    (objects / f"{item.sha256}.dv").rename(objects / f"{item.sha256}.bin")  # as bags named clips before
    bagit.Bag(str(bag)).save(manifests=True)
    imported = make_archive("c")
    assert imported.import_bag(bag).added == [mid]
    assert imported.store.read(item.sha256) == tape.read_bytes()


def test_a_picture_name_is_refused_as_a_clip_output(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="out.png: not a video name"):
        ClipWriter(tmp_path / "out.png", 25)


def test_a_clip_is_an_archive_item_with_a_signed_derivative(archive, clip: Path) -> None:
    from daguerre.archive.c2pa import unavailable

    [master_id] = archive.ingest([clip]).added
    master = archive.get(master_id)
    assert (master.media_type, master.width, master.height, master.extra["fps"]) == ("video/mp4", *SIZE, 25)
    master_bytes = archive.store.read(master.sha256)
    [derived] = archive.apply("film", [master_id], {"preset": "sepia", "consistency": 0.5})
    assert (derived.kind, derived.parent_id, derived.media_type) == ("derivative", master_id, "video/mp4")
    assert archive.store.read(master.sha256) == master_bytes  # the master is never touched
    [event] = [e for e in archive.events_of(derived.id) if e.type == "creation"]
    assert event.outcome_detail["recipe"]["params"] == {"preset": "sepia", "consistency": 0.5, "seed": 0,
                                                         "blend": "bytes"}
    measured = event.outcome_detail["metrics"]  # against the master, as a picture's are
    assert (measured["frames"], measured["frames_measured"]) == (12, 12) and 15 < measured["psnr"] < 40, measured
    assert 0 < measured["warping_error"] and 0 < measured["original_warping_error"] and "lpips" not in measured
    with archive.store.as_file(derived.sha256) as path:
        assert frame_count(path) == 12 and open_clip(path)[0].audio == "aac"
    report = archive.verify(derived.id)
    assert report.ok, [c for c in report.checks if not c.ok]
    if unavailable() is None:
        assert "C2PA recipe matches catalogue" in [c.name for c in report.checks if c.ok]
    again = archive.rederive(derived.id)  # every frame re-made from the recipe, then decoded and compared
    assert again.ok and again.max_abs_diff <= 1 / 255, again
    assert [e.type for e in archive.events_of(derived.id)][-1] == "validation"


def test_a_clip_derivatives_catalogue_facts_are_read_from_its_own_file(archive, tmp_path: Path) -> None:
    """A derivative's frame rate, frames and duration were copied from its master: a Matroska master of 2.02 s
    gave an MP4 of 2.0 s catalogued (and exported to IIIF) as 2.02. They are read from the file made now."""
    from daguerre.archive.video import facts

    master = tmp_path / "tape.mkv"  # a sound track longer than the pictures: Matroska says 1.32 s, the MP4 1.3
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-t", "1", "-i", "testsrc2=size=192x108:rate=24", "-f",
                    "lavfi", "-t", "1.3", "-i", "sine", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    str(master)], check=True, timeout=60)
    [master_id] = archive.ingest([master]).added
    [derived] = archive.apply("film", [master_id], {"preset": "sepia"})
    made = archive.get(derived.id)
    with archive.store.as_file(made.sha256) as path:
        own = facts(open_clip(path)[0])
    assert {k: made.extra[k] for k in own} == own, (made.extra, own, archive.get(master_id).extra)


def test_a_clip_recipe_from_before_the_8_bit_blend_rederives_in_float(archive, clip: Path, monkeypatch) -> None:
    """Clips made before 2026-12-02 were steadied in float and their recipes name no `blend`: they re-derive the
    same, byte for byte, while the 8-bit blend now recorded gives other bytes."""
    from daguerre.archive import ArchiveError, derive

    [master_id] = archive.ingest([clip]).added
    checked, render = derive._checked, derive.clips.render
    with monkeypatch.context() as old:  # the code before: no `blend` in the recipe, frames blended in float
        old.setattr(derive, "_checked", lambda *a: (lambda op, params, prov: (
            op, {k: v for k, v in params.items() if k != "blend"}, prov))(*checked(*a)))
        old.setattr(derive.clips, "render", lambda op, path, params, *a, **k: render(
            op, path, {"blend": "float", **params}, *a, **k))
        [derived] = archive.apply("film", [master_id], {"preset": "sepia", "consistency": 0.5})
    [event] = [e for e in archive.events_of(derived.id) if e.type == "creation"]
    assert "blend" not in event.outcome_detail["recipe"]["params"]
    again = archive.rederive(derived.id)
    assert again.ok and again.identical, again
    [now] = archive.apply("film", [master_id], {"preset": "sepia", "consistency": 0.5})
    assert archive.get(now.id).sha256 != archive.get(derived.id).sha256 and archive.rederive(now.id).identical
    with pytest.raises(ArchiveError, match="blend must be one of bytes, float, got 'cheap'"):
        archive.apply("film", [master_id], {"preset": "sepia", "blend": "cheap"})


def test_a_clip_rederived_with_another_result_is_reported_different(archive, clip: Path, monkeypatch) -> None:
    from daguerre.ops.film import Film

    [master_id] = archive.ingest([clip]).added
    [derived] = archive.apply("film", [master_id], {"preset": "sepia", "consistency": 0.0})
    original = Film.run
    monkeypatch.setattr(Film, "run", lambda self, picture, **p: original(self, picture, **{**p, "preset": "cyanotype"}))
    report = archive.rederive(derived.id)
    assert not report.ok and not report.identical and report.max_abs_diff > 0.05 and report.psnr < 40


def test_a_clip_is_exported_to_iiif_as_a_video_canvas(archive, clip: Path, tmp_path: Path) -> None:
    import json

    [master_id] = archive.ingest([clip]).added
    [derived] = archive.apply("film", [master_id], {"preset": "sepia", "consistency": 0.5})
    out = tmp_path / "iiif"
    archive.export("iiif", out, base_url="https://example.org/iiif")
    manifest = json.loads((out / master_id / "manifest.json").read_text())
    assert len(manifest["items"]) == 2
    for canvas, item_id in zip(manifest["items"], (master_id, derived.id), strict=True):
        [body] = [a["body"] for page in canvas["items"] for a in page["items"]]
        assert canvas["duration"] == pytest.approx(0.48, abs=0.05) and (canvas["width"], canvas["height"]) == SIZE
        assert (body["type"], body["format"], body["duration"]) == ("Video", "video/mp4", canvas["duration"])
        media = out / "media" / body["id"].removeprefix("https://example.org/iiif/media/")
        assert media.read_bytes() == archive.store.read(archive.get(item_id).sha256)  # the stored clip itself
        poster = out / "media" / canvas["thumbnail"][0]["id"].rsplit("/", 1)[1]
        assert load(poster).size == SIZE and frame_count(media) == 12
    assert "film" in json.dumps(manifest["items"][1]["metadata"])  # the derivative's provenance


def test_a_matroska_clip_is_exported_to_iiif_under_its_own_suffix(archive, tmp_path: Path) -> None:
    """The IIIF export named every clip `media/<id>.mp4`: a Matroska master was served as an MP4 it is not."""
    import json

    master = lavfi_clip(tmp_path / "reel.mkv", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                        source="testsrc2=size=192x108:rate=25", seconds=0.4)
    [master_id] = archive.ingest([master]).added
    [derived] = archive.apply("film", [master_id], {"preset": "sepia"})
    archive.export("iiif", tmp_path / "iiif", base_url="https://example.org/iiif")
    manifest = json.loads((tmp_path / "iiif" / master_id / "manifest.json").read_text())
    names = [a["body"]["id"].rsplit("/", 1)[1] for canvas in manifest["items"] for page in canvas["items"]
             for a in page["items"]]
    assert names == [f"{master_id}.mkv", f"{derived.id}.mp4"]
    assert all((tmp_path / "iiif" / "media" / name).is_file() for name in names)


def test_a_dv_clip_is_shown_at_its_shape_in_iiif(archive, tape: Path, tmp_path: Path) -> None:
    import json

    [master_id] = archive.ingest([tape]).added
    assert archive.get(master_id).extra["pixel_aspect"] == "16:15"
    [derived] = archive.apply("film", [master_id], {"preset": "sepia", "consistency": 0})
    out = tmp_path / "iiif"
    archive.export("iiif", out, base_url="https://example.org/iiif")
    manifest = json.loads((out / master_id / "manifest.json").read_text())
    for canvas, item_id in zip(manifest["items"], (master_id, derived.id), strict=True):
        [body] = [a["body"] for page in canvas["items"] for a in page["items"]]
        assert (canvas["width"], canvas["height"]) == (768, 576)  # 4:3 as a player shows it
        assert (body["width"], body["height"]) == (720, 576)  # the pixels stored
        assert open_clip(out / "media" / body["id"].rsplit("/", 1)[1])[0].sar == (16, 15), item_id
        assert load(out / "media" / canvas["thumbnail"][0]["id"].rsplit("/", 1)[1]).size == (768, 576)


def test_a_clip_stylized_in_the_archive_says_its_precision_and_rederives(archive, clip: Path, monkeypatch) -> None:
    """bf16 where the CPU has it; int8 on a CPU without (told so here). Each recipe says which, and rederives."""
    import sys

    from daguerre.models.onnx import bf16_available
    from test_stylize import faithful_int8_model

    [master_id] = archive.ingest([clip]).added
    model = faithful_int8_model()
    defaults = ["bf16", "int8"] if bf16_available() else ["int8"]
    for precision in defaults:
        if precision == "int8":
            monkeypatch.setattr(sys.modules["daguerre.ops.stylize"], "bf16_available", lambda: False)
        [derived] = archive.apply("stylize", [master_id], {"model": model, "consistency": 0.5})
        [event] = [e for e in archive.events_of(derived.id) if e.type == "creation"]
        assert event.outcome_detail["recipe"]["params"]["precision"] == precision
        again = archive.rederive(derived.id)
        assert again.ok and again.max_abs_diff <= 1 / 255, (precision, again)


def test_a_clip_larger_than_full_hd_runs_whole_frames_at_the_clips_default_precision(clip: Path, tmp_path: Path,
                                                                                     monkeypatch) -> None:
    """Frames above WHOLE_FRAME run tiled, but int8 and bf16 (the clips' defaults) run whole pictures only: such a
    clip runs its frames whole at the default precision instead of failing (here full HD made 160 px)."""
    from daguerre.video import run

    monkeypatch.setattr(run, "WHOLE_FRAME", 160)
    params = get_operation("stylize").with_defaults({"model": "van-gogh-irises"}, clip=True)
    assert params["precision"] in ("int8", "bf16")
    out = run.process_clip(get_operation("stylize"), clip, tmp_path / "o.mp4", tile=128, **params)
    info, frames = open_clip(out)
    assert info.size == SIZE and sum(1 for _ in frames) == 12


def test_an_unknown_precision_is_a_one_line_error(clip: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "o.mp4"), "-m", "x",
                                      "--precision", "fp16"])
    assert result.exit_code == 2 and "unknown precision 'fp16' (use fp32, int8 or bf16)" in result.output
    result = CliRunner().invoke(app, ["live", "-m", "x", "--source", str(clip), "--precision", "fp16"])
    assert result.exit_code == 1 and "unknown precision 'fp16'" in result.output


def test_restore_measures_a_clips_noise_once_on_its_first_frame(tmp_path: Path) -> None:
    """A clip whose first frame is noisy and the next ones clean: every frame is cleaned as the first one says
    (the same filtering frame after frame, no flicker at the gate), not as each frame alone would be."""
    from daguerre.imaging import save
    from daguerre.video.run import process_clip

    frames = [f for f, _ in pan("chelsea.jpg", 3)]
    frames[0] = np.clip(frames[0] + np.random.default_rng(0).normal(0, 15 / 255, frames[0].shape), 0, 1)
    source = tmp_path / "frames"
    source.mkdir()
    for i, f in enumerate(frames, 1):
        save(Picture(f.astype(np.float32)), source / f"{i:03d}.png")
    restore = get_operation("restore")
    decided = restore.for_clip(load(source / "001.png"), {})["prefilter"]
    assert decided[1] > 0  # the first frame's noise is to be removed
    process_clip(restore, source, tmp_path / "out" / "%03d.png", consistency=0)
    second = load(source / "002.png")
    out = load(tmp_path / "out" / "002.png").rgb()
    as_clip, alone = restore.run(second, prefilter=decided).rgb(), restore.run(second).rgb()
    assert np.abs(out - as_clip).max() <= 1.5 / 255
    assert np.abs(out - alone).mean() > 4 * np.abs(out - as_clip).mean()


def test_repair_measures_restores_prefilter_once_for_a_clip() -> None:
    """repair passes restore the clip's first-frame measurement: the same as restore's own."""
    from daguerre.ops.repair import plan

    first = load(SAMPLES / "rocket.jpg")
    restored = get_operation("restore").for_clip(first, {})["prefilter"]
    assert get_operation("repair").for_clip(first, {"scale": 2})["restore_prefilter"] == restored
    steps = dict(plan(restore_prefilter=restored))
    assert steps["restore"]["prefilter"] == restored


def test_restore_refuses_a_malformed_prefilter() -> None:
    with pytest.raises(ValueError, match="prefilter"):
        get_operation("restore").run(load(SAMPLES / "rocket.jpg"), prefilter=(0.2,))


def figure_clip(frames: int = 8) -> list[tuple]:
    """A pan over a bundled photo with a cut-out of another moving on its own (7 px a frame, turning): frame,
    true flow, pixels visible in the previous frame on the same surface, and which of them are on the figure."""
    from daguerre.video.synthetic import Figure, moving_frames

    astronaut = load(SAMPLES / "astronaut.jpg").rgb()[:, ::4, ::4]
    figure = Figure(np.ascontiguousarray(astronaut), (40, 32), (70, 60), (7.0, 2.0), spin=0.04)
    clip = []
    for frame, flow, valid in moving_frames(load(SAMPLES / "chelsea.jpg").rgb(), [figure], (256, 160), frames):
        own = None if flow is None else np.hypot(*(flow - np.median(flow.reshape(-1, 2), 0)).transpose(2, 0, 1)) > 2
        clip.append((frame, flow, valid, own))
    return clip


def test_figures_moving_on_their_own_are_steadier_with_the_moving_blend() -> None:
    """Steadied inside the network, a figure crossing the scene is re-painted each frame; `SteadyMoving` blends
    its pixels along its own motion, and leaves the scene (locked to the network's grid) to the network."""
    from daguerre.ops import styles
    from daguerre.video.steady_moving import SteadyMoving

    net = styles.style_model("van-gogh-irises")[1]
    clip = figure_clip()
    errors = {}
    for name, steady in (("inside", SteadyStyle(net, 0.5)), ("moving", SteadyMoving(net, 0.5, 0.5))):
        outputs = [steady(frame) for frame, *_ in clip]
        figure, scene = [], []
        for t in range(1, len(clip)):
            _, flow, valid, own = clip[t]
            warped = warp(np.ascontiguousarray(outputs[t - 1].transpose(1, 2, 0)), flow).transpose(2, 0, 1)
            pair = np.stack([outputs[t - 1], outputs[t]])
            figure.append(warping_error(pair, warped[None], (valid * own)[None, None]))
            scene.append(warping_error(pair, warped[None], (valid * ~own)[None, None]))
        errors[name] = np.mean(figure), np.mean(scene)
    assert errors["moving"][0] < 0.8 * errors["inside"][0]  # the figure steadier
    assert errors["moving"][1] < 1.05 * errors["inside"][1]  # the scene no less steady


def test_the_moving_blend_weighs_pixels_by_how_far_they_depart_from_the_scene() -> None:
    from daguerre.ops import styles
    from daguerre.video.steady_moving import SteadyMoving

    steady = SteadyMoving(styles.style_model("van-gogh-irises")[1], 0.5, 0.6)
    clip = figure_clip(3)
    for frame, *_ in clip[:2]:
        motion = steady.motion(frame)
    _, weight = steady.pixel_weight(motion.scene, (160, 256))
    _, _, valid, own = clip[1]
    assert weight.max() <= 0.6 + 1e-6
    assert weight[(own > 0) & (valid > 0)].mean() > 0.4  # found on the figure (where its flow is trusted)
    assert weight[own == 0].mean() < 0.1  # the scene's motion, held by the grid lock: no pixel blend
    with pytest.raises(ValueError, match="between 0 and 1"):
        SteadyMoving(styles.style_model("van-gogh-irises")[1], 0.5, 1.5)


def test_cli_steady_moving_runs_the_clip_through_the_moving_blend(clip: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from daguerre.video.steady_moving import SteadyMoving

    steadied_through_cli(clip, tmp_path, monkeypatch, SteadyMoving, "moving")
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "x.mp4"), "-m", "rousseau-lion",
                                      "--steady", "moving", "--preserve-color"])
    assert result.exit_code == 2 and "--steady moving is for fast style" in result.output, result.output


def test_the_grid_is_locked_to_the_scene_to_the_fraction_of_a_pixel() -> None:
    """A pan of 2.5 px a frame: locked in whole pixels (`SteadyStyle`) the network sees the scene at two phases
    in turn and paints it two ways; locked to the fraction (`SteadyMoving`), the same strokes move with it."""
    from daguerre.ops import styles
    from daguerre.video.steady_moving import SteadyMoving
    from daguerre.video.synthetic import CameraMove

    net = styles.style_model("van-gogh-irises")[1]
    frames = list(panned_frames(load(SAMPLES / "chelsea.jpg").rgb(), (256, 160), 8, CameraMove((2.5, 0.5), 0.0)))
    mask = np.zeros((1, 1, 160, 256), np.float32)
    mask[..., 8:-8, 8:-8] = 1  # away from the edges the pan brings in
    errors = {}
    for name, steady in (("whole", SteadyStyle(net, 0.5)), ("fraction", SteadyMoving(net, 0.5, 0.0))):
        outputs = [steady(frame) for frame, _ in frames]
        errors[name] = np.mean([warping_error(np.stack(outputs[t - 1 : t + 1]), warp(np.ascontiguousarray(
            outputs[t - 1].transpose(1, 2, 0)), frames[t][1]).transpose(2, 0, 1)[None], mask)
            for t in range(1, len(frames))])
    assert errors["fraction"] < 0.5 * errors["whole"]


def test_the_subpixel_shift_samples_a_photo_where_asked_for_either_sign():
    """A smooth real photo (coffee, blurred) shifted by +f and by -f matches its exact (Fourier) shift equally
    closely (a mirror image of the filter: within 3%; with the taps fixed at -3..4, -f was 13-16% worse)."""
    import cv2

    from daguerre.video.steady_moving import shifted

    grey = load(Path(__file__).parents[1] / "src/daguerre/samples/coffee.jpg").luminance().astype(np.float32)
    smooth = cv2.GaussianBlur(grey[:64], (0, 0), 2.0)
    k = np.fft.fftfreq(smooth.shape[1])
    errors = {}
    for f in (0.5, -0.5):
        exact = np.fft.ifft(np.fft.fft(smooth, axis=1) * np.exp(2j * np.pi * k * f), axis=1).real
        out = shifted(np.ascontiguousarray(smooth[..., None]), f, 0.0, cv2.BORDER_REFLECT_101)[..., 0]
        errors[f] = np.abs(out - exact)[:, 16:-16].mean()
    assert max(errors.values()) < 1.03 * min(errors.values()), errors


def test_a_clip_in_the_web_app_and_in_a_batch_run(archive, clip: Path, photos) -> None:
    """A clip item used to break the web app (its thumbnail and image service gave 500s, the item page showed
    broken images) and every job or batch run on it failed ("not by batch runs yet"). Now its poster frame is its
    thumbnail, the item page plays it, and the web's job runner and `archive batch` derive clips like pictures."""
    import io

    import numpy as np
    from fastapi.testclient import TestClient
    from PIL import Image

    from daguerre import jobs
    from daguerre.archive import users
    from daguerre.web.app import create_app

    [clip_id, photo_id] = archive.ingest([clip, photos["coffee.jpg"]]).added
    from daguerre.archive import ArchiveError

    with pytest.raises(ArchiveError, match="film: consistency must be a number between 0 and 1, got 2$"):
        archive.apply("film", [clip_id], {"consistency": 2})  # refused before any frame is made
    with pytest.raises(ArchiveError, match="film: fps is the frame rate of a folder of numbered frames"):
        archive.apply("film", [clip_id], {"fps": 16})  # the CLI's, for numbered frames only
    users.add(archive, "eddie", "editor", "a long enough password")
    headers = {"Authorization": f"Bearer {users.new_token(archive, 'eddie')}"}
    with TestClient(create_app(archive)) as c:
        thumb = c.get(f"/items/{clip_id}/thumb.jpg", headers=headers)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        shown = np.asarray(Image.open(io.BytesIO(thumb.content)).convert("RGB"), np.float32) / 255
        _, frames = open_clip(clip)
        first = np.moveaxis(next(frames).rgb(), 0, -1)
        frames.close()
        assert shown.shape[:2] == first.shape[:2] and np.abs(shown - first).mean() < 0.03  # the clip's first frame
        page = c.get(f"/items/{clip_id}", headers=headers).text
        assert f'src="/items/{clip_id}/file"' in page and "<video" in page and 'id="zoom"' not in page
        assert c.get(f"/iiif/{clip_id}/info.json", headers=headers).status_code == 404
        job = c.post(f"/api/items/{clip_id}/jobs", headers=headers,
                     json={"operation": "film", "params": {"preset": "sepia", "consistency": 0.3}})
        assert job.status_code == 202, job.text
        for _ in range(600):
            done = c.get(f"/api/jobs/{job.json()['id']}", headers=headers).json()
            if done["status"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert done["status"] == "done", done
        made = archive.get(done["derivative_id"])
        assert (made.media_type, made.parent_id, made.extra["fps"]) == ("video/mp4", clip_id, 25)
        assert made.filename == "pan.film.mp4" and archive.verify(made.id).ok
        with archive.store.as_file(made.sha256) as path:
            assert frame_count(path) == 12 and open_clip(path)[0].audio == "aac"
        assert c.get(f"/items/{made.id}", headers=headers).text.count("<video") == 2  # before and after

    run_id = jobs.create_run(archive, "film", {"preset": "cyanotype", "consistency": 0.0})
    jobs.submit(archive, [clip_id, photo_id], "film", {"preset": "cyanotype", "consistency": 0.0}, run_id=run_id)
    summary = jobs.run_jobs(archive, run_id, workers=1)  # a worker process, as `archive batch` runs it
    assert (summary.done, summary.failed) == (2, 0)
    by_parent = {it.parent_id: it for it in archive.items(kind="derivative") if it.operation == "film"
                 and it.id != made.id}
    assert by_parent[clip_id].media_type == "video/mp4" and by_parent[photo_id].media_type == "image/png"
    [event] = [e for e in archive.events_of(by_parent[photo_id].id) if e.type == "creation"]
    assert "consistency" not in event.outcome_detail["recipe"]["params"]  # a still has no frame loop
    assert archive.rederive(by_parent[clip_id].id).ok


def test_a_clip_that_cannot_be_read_any_more_is_named_by_its_item_id(archive, clip: Path) -> None:
    """A stored clip gone bad (here cut short on disk) fails its derivation in one line naming the item, not the
    store's path or its 64-hex file name."""
    from daguerre.archive import ArchiveError

    [clip_id] = archive.ingest([clip]).added
    stored = archive.store.local_path(archive.get(clip_id).sha256)
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:2000])
    with pytest.raises(ArchiveError) as failed:
        archive.apply("film", [clip_id], {"preset": "sepia"})
    message = str(failed.value)
    assert f"{clip_id}: film failed: not a readable video" in message, message
    assert str(stored) not in message and stored.name not in message


def test_a_clip_in_a_folder_is_ingested_and_run_like_a_file(archive, clip: Path, tmp_path: Path) -> None:
    """Folders were expanded to pictures only: a clip inside a scanned folder was passed over in silence by
    `archive ingest scans/` and by `daguerre film scans/ -o out/`, though either takes the clip named alone."""
    import shutil

    folder = tmp_path / "scans"
    (folder / "reel").mkdir(parents=True)
    shutil.copy(clip, folder / "reel" / "pan.mp4")
    shutil.copy(SAMPLES / "chelsea.jpg", folder / "chelsea.jpg")
    added = archive.ingest([folder]).added
    assert sorted(archive.get(i).filename for i in added) == ["chelsea.jpg", "pan.mp4"]
    assert archive.get(next(i for i in added if archive.get(i).filename == "pan.mp4")).media_type == "video/mp4"
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["film", str(folder), "-o", str(out), "--preset", "sepia"])
    assert result.exit_code == 0, result.output
    assert (out / "chelsea.jpg").is_file() and frame_count(out / "reel" / "pan.mp4") == 12


def test_a_clips_poster_frame_is_decoded_once_then_read_from_the_cache(archive, clip: Path, monkeypatch) -> None:
    """Each thumbnail size and each Quick preview of a clip decoded up to 48 of its frames again (~1-2 s on a 4K
    clip); the poster frame is now kept in the store's rendition cache, the same pixels."""
    from daguerre.archive import video as clips
    from daguerre.archive.renditions import picture_of

    [clip_id] = archive.ingest([clip]).added
    item = archive.get(clip_id)
    first = picture_of(archive, item)
    monkeypatch.setattr(clips, "poster", lambda path: pytest.fail("the clip was decoded again"))
    again = picture_of(archive, item)
    assert again.pixels.shape == first.pixels.shape and np.abs(again.pixels - first.pixels).max() < 0.5 / 255


def test_evaluate_measures_a_clip_against_its_original_and_how_steady_it_is(clip: Path, tmp_path: Path) -> None:
    """`daguerre evaluate out.mp4 -r clip.mp4`: fidelity over the frames and the warping error along the original's
    motion; the film look's grain flickers with --consistency 0 and is steadied by the default. A clip of another
    length is refused naming it."""
    from daguerre.api import evaluate

    for c in ("0", "1"):
        result = CliRunner().invoke(app, ["film", str(clip), "-o", str(tmp_path / f"c{c}.mp4"), "--preset", "sepia",
                                          "--consistency", c])
        assert result.exit_code == 0, result.output
    loose, steady = (evaluate(tmp_path / f"c{c}.mp4", clip) for c in ("0", "1"))
    assert loose["frames"] == steady["frames"] == 12
    assert steady["warping_error"] < 0.85 * loose["warping_error"], (steady, loose)  # x0.73 measured
    assert 15 < loose["psnr"] < 40 and 0 < loose["lpips"] < 0.5 and loose["original_warping_error"] > 0
    same = evaluate(clip, clip)
    assert same["psnr"] == float("inf") and same["warping_error"] == same["original_warping_error"]
    short = tmp_path / "short.mp4"
    with ClipWriter(short, 25) as writer:
        for frame, _ in pan("chelsea.jpg", 5):
            writer.write(Picture(frame))
    result = CliRunner().invoke(app, ["evaluate", str(short), "-r", str(clip)])
    assert result.exit_code == 1 and f"{short}: has 5 frames, the original pan.mp4 12" in result.output
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "c1.mp4"), "-r", str(clip)])
    assert result.exit_code == 0 and "warping" in result.output and "original's" in result.output, result.output
