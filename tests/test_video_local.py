"""The local grid lock (`SteadyLocal`): it steadies a fast style model where the scene does not move as one (a
slow figure deforming over a slow pan), as well as the one-motion lock on a pan, never carries across a cut,
and runs from the command line; the synthetic clips it was tuned on have the true flow they claim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("imageio_ffmpeg")
pytest.importorskip("cv2")

from daguerre.cli import app  # noqa: E402
from daguerre.imaging import Picture, load  # noqa: E402
from daguerre.metrics import warping_error  # noqa: E402
from daguerre.video.clip import ClipWriter, open_clip  # noqa: E402
from daguerre.video.flow import warp  # noqa: E402
from daguerre.video.steady_local import SteadyLocal  # noqa: E402
from daguerre.video.steady_moving import SteadyMoving  # noqa: E402
from daguerre.video.synthetic import CameraMove, Figure, moving_frames, panned_frames  # noqa: E402

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


@pytest.fixture(scope="module")
def net():
    from daguerre.ops import styles

    return styles.style_model("van-gogh-irises")[1]


def actor_clip(frames: int = 8) -> list[tuple]:
    """A slow pan with a slight zoom and turn over a bundled photo, a large cut-out of another drifting slowly
    over it while its picture deforms (a face turning): frame, true flow, pixels seen in the previous frame."""
    astronaut = load(SAMPLES / "astronaut.jpg").rgb()[:, ::3, ::3]
    figure = Figure(np.ascontiguousarray(astronaut), (60, 50), (120, 80), (0.8, -0.4), wobble=2.0)
    move = CameraMove((0.6, 0.3), 0.002, 0.001)
    return list(moving_frames(load(SAMPLES / "chelsea.jpg").rgb(), [figure], (256, 160), frames, move))


def mean_warping_error(clip: list[tuple], outputs: list[np.ndarray]) -> float:
    errors = []
    for t in range(1, len(clip)):
        _, flow, valid = clip[t]
        warped = warp(np.ascontiguousarray(outputs[t - 1].transpose(1, 2, 0)), flow).transpose(2, 0, 1)
        errors.append(warping_error(np.stack(outputs[t - 1 : t + 1]), warped[None], valid[None, None]))
    return float(np.mean(errors))


def test_the_synthetic_clips_true_flow_lays_each_frame_onto_the_next() -> None:
    """With a camera turning and zooming out and a figure deforming, the previous frame warped by the true flow
    matches the current one wherever it is marked visible (to the interpolation's error)."""
    astronaut = load(SAMPLES / "astronaut.jpg").rgb()[:, ::3, ::3]
    figure = Figure(np.ascontiguousarray(astronaut), (60, 50), (120, 80), (1.5, -1.0), spin=0.01, wobble=3.0)
    clip = list(moving_frames(load(SAMPLES / "chelsea.jpg").rgb(), [figure], (256, 160), 4,
                              CameraMove((1.0, 0.5), -0.004, 0.004)))
    for t in range(1, 4):
        frame, flow, valid = clip[t]
        laid = warp(np.ascontiguousarray(clip[t - 1][0].transpose(1, 2, 0)), flow).transpose(2, 0, 1)
        error = np.abs(laid - frame).mean(0)
        assert valid.mean() > 0.8
        assert error[valid > 0].mean() < 0.01, error[valid > 0].mean()
        assert error[valid > 0].mean() < 0.2 * np.abs(clip[t - 1][0] - frame).mean()  # a real move, undone


def test_a_figure_deforming_over_a_slow_pan_is_steadier_locked_locally(net) -> None:
    """The one-motion lock (`SteadyMoving`) holds the camera, not a figure drifting under a pixel a frame and
    deforming: the network paints it afresh each frame. Locked to the smoothed flow, its strokes move with it."""
    import torch

    clip = actor_clip()
    with torch.inference_mode():
        plain = [net.eval()(torch.from_numpy(f)[None])[0].numpy() for f, _, _ in clip]
    moving, local = SteadyMoving(net, 0.3, 0.3), SteadyLocal(net, 0.3)
    errors = {name: mean_warping_error(clip, [steady(f) for f, _, _ in clip])
              for name, steady in (("moving", moving), ("local", local))}
    base = mean_warping_error(clip, plain)
    assert errors["local"] < 0.5 * base, (errors, base)
    assert errors["local"] < 0.8 * errors["moving"], errors


def test_a_pan_is_held_as_by_the_one_motion_lock(net) -> None:
    """On a camera pan alone (2.3 px a frame) the local lock is the sub-pixel lock: as steady, within 15%."""
    frames = list(panned_frames(load(SAMPLES / "chelsea.jpg").rgb(), (256, 160), 6, CameraMove((2.3, 0.7), 0.0)))
    clip = [(f, flow, None if flow is None else np.pad(np.ones((144, 240), np.float32), 8)) for f, flow in frames]
    errors = {name: mean_warping_error(clip, [steady(f) for f, _, _ in clip])
              for name, steady in (("moving", SteadyMoving(net, 0.5, 0.0)), ("local", SteadyLocal(net, 0.5, 0.0)))}
    assert errors["local"] < 1.15 * errors["moving"], errors


def test_a_scene_cut_is_not_carried_by_the_local_lock(net) -> None:
    shot_a = [f for f, _ in panned_frames(load(SAMPLES / "chelsea.jpg").rgb(), (192, 108), 3)]
    shot_b = [f for f, _ in panned_frames(load(SAMPLES / "rocket.jpg").rgb(), (192, 108), 2)]
    steady = SteadyLocal(net, 1.0, 1.0)
    for frame in shot_a:
        steady(frame)
    after_cut = steady(shot_b[0])
    assert steady.cuts == 1
    np.testing.assert_array_equal(after_cut, SteadyLocal(net, 1.0, 1.0)(shot_b[0]))  # as a clip's first frame
    moved = steady(shot_b[1])
    alone = SteadyLocal(net, 1.0, 1.0)
    alone(shot_b[0])
    np.testing.assert_array_equal(moved, alone(shot_b[1]))  # nothing of shot a left in shot b's second frame
    with pytest.raises(ValueError, match="between 0 and 1"):
        SteadyLocal(net, 0.5, 1.5)


def pan_clip(path: Path, frames: int) -> Path:
    """An MP4 of a pan over a bundled photo, 192x108 at 25 fps."""
    with ClipWriter(path, 25) as writer:
        for frame, _ in panned_frames(load(SAMPLES / "chelsea.jpg").rgb(), (192, 108), frames):
            writer.write(Picture(frame))
    return path


def test_cli_steady_local_runs_the_clip_through_the_local_lock(tmp_path: Path, monkeypatch) -> None:
    clip = pan_clip(tmp_path / "pan.mp4", 6)
    rendered: list[int] = []
    real = SteadyLocal.render
    monkeypatch.setattr(SteadyLocal, "render", lambda self, *a: rendered.append(1) or real(self, *a))
    out = tmp_path / "local.mp4"
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(out), "-m", "rousseau-lion", "--steady", "local"])
    assert result.exit_code == 0, result.output
    info, frames = open_clip(out)
    assert len(rendered) == 6 and info.size == (192, 108) and sum(1 for _ in frames) == 6
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "x.mp4"), "-m", "rousseau-lion",
                                      "--steady", "local", "--strength", "0.5"])
    assert result.exit_code == 2 and "--steady local is for fast style" in result.output, result.output


def test_cli_steady_local_runs_int8_when_asked(tmp_path: Path, monkeypatch) -> None:
    """`--steady local --precision int8` runs the clip through the int8 network's two halves; without
    `--precision` the local lock runs bf16 where the CPU has it, else fp32 (not the clips' int8 default)."""
    from daguerre.models.onnx import bf16_available
    from daguerre.video import steady_style

    clip = pan_clip(tmp_path / "pan.mp4", 4)
    asked: list[str] = []
    real = steady_style.onnx_halves
    monkeypatch.setattr(steady_style, "onnx_halves", lambda card, net, precision="fp32": asked.append(precision)
                        or real(card, net, precision))
    outputs = {}
    for extra in (["--precision", "int8"], []):
        out = tmp_path / f"local{len(extra)}.mp4"
        result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(out), "-m", "rousseau-lion", "--steady",
                                          "local", *extra])
        assert result.exit_code == 0, result.output
        outputs[len(extra)] = np.stack([f.pixels for f in open_clip(out)[1]])
    assert asked == ["int8", "bf16" if bf16_available() else "fp32"]
    assert outputs[2].shape == outputs[0].shape == (4, 3, 108, 192)
    difference = np.abs(outputs[2] - outputs[0]).mean()
    assert 0 < difference < 0.02  # another precision, the same picture


def test_int8_halves_are_the_int8_network_cut_at_the_trunk() -> None:
    """The int8 halves run, one after the other, exactly the whole int8 network (`--precision int8`'s file), so
    with the trunk blend off a clip steadied inside in int8 is the int8 network's output; and they agree with
    the fp32 halves as the int8 gate asks of the whole network, on a bundled sample."""
    import torch

    from daguerre.models.onnx import FAITHFUL_DB, prune_stale
    from daguerre.ops import styles
    from daguerre.video.steady_style import SteadyStyle, onnx_halves

    card, net = styles.style_model("rousseau-lion")
    whole = styles.style_model_onnx("rousseau-lion", "int8")
    int8, fp32 = onnx_halves(card, net, "int8"), onnx_halves(card, net)
    assert not [p.name for p in prune_stale(card) if "coder" in p.name]  # the cached halves are current files
    x = torch.from_numpy(np.ascontiguousarray(load(SAMPLES / "chelsea.jpg").rgb()[:, :296, :448]))[None]
    cut = int8[1](int8[0](x)).numpy()
    np.testing.assert_allclose(cut, whole(x).numpy(), atol=1e-6)
    reference = fp32[1](fp32[0](x)).numpy()
    assert np.abs(cut - reference).max() > 1e-3  # int8, not fp32 under another name
    psnr = 10 * np.log10(1 / np.mean((np.clip(cut, 0, 1) - np.clip(reference, 0, 1)) ** 2))
    assert psnr >= FAITHFUL_DB, psnr
    frame = np.ascontiguousarray(x[0, :, :288, :440].numpy())  # not whole cells: padded as clips are
    steadied = SteadyStyle(net, 0.0, halves=int8)
    for _ in range(2):  # a first frame, then one with motion (none here) and the blend off
        out = steadied(frame)
    padded = np.pad(frame, ((0, 0), (8, 8), (8, 8 + 6)), mode="reflect")[:, :296, :448]
    np.testing.assert_allclose(out, whole(torch.from_numpy(np.ascontiguousarray(padded))[None])[0, :, 8:296, 8:448]
                               .numpy(), atol=1e-6)
    black = torch.zeros(1, 3, 96, 128)  # a fade's black frame: through fp32, as the whole int8 model sends it
    np.testing.assert_array_equal(int8[1](int8[0](black)).numpy(), fp32[1](fp32[0](black)).numpy())
    np.testing.assert_array_equal(whole(black).numpy(), fp32[1](fp32[0](black)).numpy())


def test_a_figure_crossing_fast_does_not_fold_the_lock(net) -> None:
    """A figure crossing 6 px a frame: unbounded, the smoothed lock drags into the background it uncovers until
    the window folds and the round trip into it and back misses by many px; the lock's reach keeps it exact."""
    import cv2

    astronaut = load(SAMPLES / "astronaut.jpg").rgb()[:, ::3, ::3]
    figure = Figure(np.ascontiguousarray(astronaut), (50, 40), (60, 80), (6.0, 0.0))
    clip = list(moving_frames(load(SAMPLES / "chelsea.jpg").rgb(), [figure], (256, 160), 10,
                              CameraMove((0.5, 0.2), 0.0)))
    misses = {}
    for reach in (None, 16.0):
        steady = SteadyLocal(net, 0.0, reach=reach)
        for frame, _, _ in clip:
            steady.motion(frame)
        window, back = steady.lock_maps((160, 256))
        there_and_back = cv2.remap(window, back, None, cv2.INTER_LINEAR)
        gx, gy = np.meshgrid(np.arange(256), np.arange(160))
        miss = np.hypot(there_and_back[..., 0] - gx, there_and_back[..., 1] - gy)[8:-8, 8:-8]
        misses[reach] = float(np.quantile(miss, 0.99))
    assert misses[16.0] < 0.5 and misses[None] > 5, misses


def test_the_lock_on_a_coarse_grid_steadies_as_on_the_flows(net) -> None:
    """The lock follows the smoothed flow, so it is kept on a grid 4x coarser than the flow's (cheaper): on the
    deforming figure over a slow pan it steadies as the flow-size lock does, and both well below frame by frame."""
    import torch

    clip = actor_clip()
    with torch.inference_mode():
        base = mean_warping_error(clip, [net.eval()(torch.from_numpy(f)[None])[0].numpy() for f, _, _ in clip])
    errors = {coarse: mean_warping_error(clip, [steady(f) for f, _, _ in clip])
              for coarse, steady in ((c, SteadyLocal(net, 0.3, coarse=c)) for c in (1, 4))}
    assert errors[4] < 0.5 * base, (errors, base)
    assert abs(errors[4] - errors[1]) < 0.1 * errors[1], errors


def test_frames_are_resampled_alike_from_planes_or_interleaved_pixels() -> None:
    """A decoded frame (pixels interleaved in memory) and a planar one are sampled at the same places alike."""
    import cv2

    from daguerre.video.steady_local import resampled

    photo = load(SAMPLES / "chelsea.jpg").rgb()[:, :160, :256]
    planar = np.ascontiguousarray(photo)
    interleaved = np.ascontiguousarray(photo.transpose(1, 2, 0)).transpose(2, 0, 1)
    gx, gy = np.meshgrid(np.arange(256, dtype=np.float32), np.arange(168, dtype=np.float32))
    positions = np.stack([gx + 2.3 + 0.01 * gy, gy - 1.6 + 0.02 * gx], -1)  # a shift and a shear
    expected = cv2.remap(np.ascontiguousarray(photo.transpose(1, 2, 0)), positions, None, cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT_101).transpose(2, 0, 1)
    for frame in (planar, interleaved):
        out = resampled(frame, positions, cv2.INTER_CUBIC, cv2.BORDER_REFLECT_101)
        assert out.shape == (3, 168, 256) and out.flags.c_contiguous
        np.testing.assert_allclose(out, expected, atol=1e-5)
    assert np.abs(expected[:, :160] - photo).mean() > 0.01  # a real move


def test_the_output_doubled_then_cubic_is_as_sharp_as_lanczos(net) -> None:
    """Out of the locked window, the stylized picture doubled by Lanczos then sampled by cubic interpolation comes
    within half of cubic's distance to Lanczos (the sharp way out, at ~2/3 of its time), as crisp; and it is only
    a way out."""
    import cv2
    import torch

    from daguerre.video.steady_local import resampled_out

    with torch.inference_mode():
        y = net.eval()(torch.from_numpy(load(SAMPLES / "chelsea.jpg").rgb()[:, :160, :256])[None])[0].numpy()
    y = np.ascontiguousarray(y.transpose(1, 2, 0))
    gx, gy = np.meshgrid(np.arange(256, dtype=np.float32), np.arange(160, dtype=np.float32))
    positions = np.stack([gx + 1.37 + 0.004 * gy, gy - 0.61 + 0.006 * gx], -1)  # fractional, varying
    lanczos, cubic, doubled = (resampled_out(y, positions, i) for i in (cv2.INTER_LANCZOS4, cv2.INTER_CUBIC, -1))

    def gap(a: np.ndarray) -> float:
        return float(np.sqrt(np.square(a - lanczos)[8:-8, 8:-8].mean()))

    def crispness(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a[8:-8, 8:-8], axis=1)).mean())

    assert gap(doubled) < 0.5 * gap(cubic), (gap(doubled), gap(cubic))
    assert abs(crispness(doubled) / crispness(lanczos) - 1) < 0.03 < 1 - crispness(cubic) / crispness(lanczos)
    with pytest.raises(ValueError, match="INTO/OUT_OF"):
        SteadyLocal(net, 0.3, interpolation="doubled/cubic")


def test_a_figure_the_lock_lets_go_of_is_blended_with_the_previous_output(net) -> None:
    """A figure crossing 6 px a frame is past the lock's reach, so the network repaints it each frame; `let_go`
    blends the output's pixels where the lock leaves motion in the window: on the figure, not on the background."""
    astronaut = load(SAMPLES / "astronaut.jpg").rgb()[:, ::3, ::3]
    figure = Figure(np.ascontiguousarray(astronaut), (50, 40), (60, 80), (6.0, 0.0))
    clip = list(moving_frames(load(SAMPLES / "chelsea.jpg").rgb(), [figure], (256, 160), 8,
                              CameraMove((0.5, 0.2), 0.0)))
    errors = {}
    for let_go in (0.0, 0.3):
        steady = SteadyLocal(net, 0.3, let_go=let_go)
        outputs = []
        for frame, _, _ in clip:
            motion = steady.motion(frame)
            outputs.append(steady.render(frame, motion))
        errors[let_go] = mean_warping_error(clip, outputs)
    assert errors[0.3] < 0.85 * errors[0.0], errors
    flow = clip[-1][1]
    own = np.hypot(*(flow - np.median(flow.reshape(-1, 2), axis=0)).transpose(2, 0, 1)) > 1  # the figure
    weight = motion.pixels[1]
    assert weight[own].mean() > 0.15 > 0.02 > weight[~own].mean(), (weight[own].mean(), weight[~own].mean())


def test_let_go_has_its_own_ramp_and_blends_less_with_a_higher_one(net) -> None:
    """`let_go_ramp` (not the moving blend's `ramp`) sets where `let_go` starts: on a figure crossing 6 px a frame,
    the default 1-3 px weights no pixel more than 0.5-2 px does, the background less, and still the figure."""
    astronaut = load(SAMPLES / "astronaut.jpg").rgb()[:, ::3, ::3]
    figure = Figure(np.ascontiguousarray(astronaut), (50, 40), (60, 80), (6.0, 0.0))
    clip = list(moving_frames(load(SAMPLES / "chelsea.jpg").rgb(), [figure], (256, 160), 5,
                              CameraMove((0.5, 0.2), 0.0)))
    weights = {}
    for name, kw in (("default", {}), ("0.5-2", {"let_go_ramp": (0.5, 2.0)}), ("moving's ramp", {"ramp": (5.0, 9.0)})):
        steady = SteadyLocal(net, 0.3, let_go=0.3, **kw)
        for frame, _, _ in clip:
            motion = steady.motion(frame)
            steady.render(frame, motion)
        weights[name] = motion.pixels[1]
    assert np.array_equal(weights["default"], weights["moving's ramp"])
    assert (weights["default"] <= weights["0.5-2"] + 1e-6).all()
    flow = clip[-1][1]
    own = np.hypot(*(flow - np.median(flow.reshape(-1, 2), axis=0)).transpose(2, 0, 1)) > 1  # the figure
    assert weights["default"][~own].mean() < 0.8 * weights["0.5-2"][~own].mean()
    assert weights["default"][own].mean() > 0.15, weights["default"][own].mean()


def test_where_the_lock_holds_every_cell_the_let_go_blend_is_skipped_for_the_same_frames(net) -> None:
    """`let_go`'s blend with a weight of 0 everywhere gives the output back: when the lock holds every cell (a slow
    pan) it is not worked out at all, and the frames are those the blend would have given, to 1e-3."""
    from daguerre.video.steady_local import LocalMotion

    class Blended(SteadyLocal):  # the blend worked out even where its weight is 0 everywhere
        def motion(self, frame: np.ndarray) -> LocalMotion:
            m = super().motion(frame)
            if m.window is not None and m.pixels is None:
                h, w = frame.shape[1:]
                m.pixels = (np.zeros((h, w, 2), np.float32), np.zeros((h, w), np.float32))
            return m

    frames = [f for f, _ in panned_frames(load(SAMPLES / "chelsea.jpg").rgb(), (256, 160), 5)]
    skipping, blended = SteadyLocal(net, 0.3), Blended(net, 0.3)
    skipped = 0
    for frame in frames:
        m = skipping.motion(frame)
        skipped += m.window is not None and m.pixels is None
        np.testing.assert_allclose(skipping.render(frame, m), blended(frame), atol=1e-3)
    assert skipped >= 2  # on most frames of a pan the lock holds every cell


def test_the_let_go_blend_worked_out_in_boxes_gives_the_whole_frames_blend(monkeypatch) -> None:
    """`blended_where_weighted` works the blend out only in boxes around the pixels it weights: the same frame as
    the whole frame's blend (to 1e-3: the latter's own float noise), the output itself outside the boxes; over
    the whole frame when the boxes would cover most of it."""
    import cv2

    from daguerre.video import steady_local
    from daguerre.video.steady_moving import blended_with_previous

    photo = load(SAMPLES / "chelsea.jpg").rgb()
    out = np.ascontiguousarray(photo[:, 40:200, 60:316].transpose(1, 2, 0))
    previous = np.ascontiguousarray(photo[:, 41:201, 58:314].transpose(1, 2, 0))
    flow = np.full((160, 256, 2), (-2.0, 1.0), np.float32)  # out's content was there in previous
    yy, xx = np.mgrid[0:160, 0:256]
    weight = (0.3 * np.clip(1 - np.hypot(xx - 200, yy - 40) / 25, 0, 1)).astype(np.float32)  # a figure let go
    whole = blended_with_previous(previous, out.copy(), (flow, weight))
    calls: list[int] = []
    real = steady_local.blended_with_previous
    monkeypatch.setattr(steady_local, "blended_with_previous", lambda *a: calls.append(1) or real(*a))
    boxes = steady_local.blended_where_weighted(previous, out.copy(), (flow, weight))
    assert not calls  # worked out in a box
    np.testing.assert_allclose(boxes, whole, atol=1e-3)
    reach = 2 * (steady_local.BLOCK + steady_local.MARGIN) + 1  # past any box around the weighted pixels
    near = cv2.dilate((weight > 0).astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    np.testing.assert_array_equal(boxes[~near], out[~near])  # (the whole frame's blend: not exactly)
    assert (~near).mean() > 0.3
    assert np.abs(boxes - out)[weight > 0.1].mean() > 0.01  # blended where weighted
    everywhere = np.full_like(weight, 0.3)
    np.testing.assert_allclose(steady_local.blended_where_weighted(previous, out.copy(), (flow, everywhere)),
                               blended_with_previous(previous, out.copy(), (flow, everywhere)), atol=1e-6)
    assert calls  # the whole frame
