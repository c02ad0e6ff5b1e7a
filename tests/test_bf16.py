"""bf16 style models: the fp32 ONNX file run by OpenVINO in bfloat16, on CPUs that compute it natively."""

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from daguerre import metrics
from daguerre.cli import app
from daguerre.models import onnx
from daguerre.ops import stylize
from daguerre.ops.styles import style_model, style_model_onnx
from test_stylize import SAMPLES, faithful_int8_model, small

needs_bf16 = pytest.mark.skipif(not onnx.bf16_available(), reason="this CPU has no native bfloat16 (AMX/AVX512-BF16)")
MODEL = "van-gogh-irises"


@needs_bf16
def test_bf16_runs_the_fp32_file_near_fp32_on_a_held_out_photo():
    """Another engine and number format on the same file: close to fp32 (46.8-65 dB on the training samples
    for the 12 models, BENCHMARKS.md), nearer than int8, and not fp32 under another name."""
    photo = small("coffee", 480)  # held out
    fp32, bf16, int8 = (stylize.run(photo, model=MODEL, precision=p).pixels for p in ("fp32", "bf16", "int8"))
    assert 0 < np.abs(fp32 - bf16).max()
    assert metrics.psnr(fp32, bf16) > 40 and metrics.psnr(fp32, bf16) > metrics.psnr(fp32, int8) + 3
    model = style_model_onnx(MODEL, "bf16")
    assert model.path == style_model_onnx(MODEL, "fp32").path  # no file of its own


@needs_bf16
def test_a_flat_frame_goes_through_fp32_not_bf16s_pattern():
    """bf16's rounding, magnified by instance norm on nearly flat maps, paints a black frame as a pattern (15 dB
    from fp32 for this model): such a frame runs fp32, and so does one just under bf16's FLAT."""
    fp32, bf16 = style_model_onnx(MODEL, "fp32"), style_model_onnx(MODEL, "bf16")
    photo = torch.from_numpy(small("coffee", 128).pixels)[None]
    faint = (photo - photo.mean()) * (0.9 * onnx.FLAT["bf16"] / photo.std()) + 0.4
    for x in (torch.zeros(1, 3, 96, 128), torch.full((1, 3, 96, 128), 0.5), faint):
        assert torch.equal(bf16(x), fp32(x))
    assert not torch.equal(bf16(photo), fp32(photo))


@needs_bf16
def test_threads_sharing_a_bf16_model_each_get_their_own_pictures():
    """The web server's threads share cached models: each thread has its own inference request, so two pictures
    run at once come back as each alone."""
    model = style_model_onnx(MODEL, "bf16")
    pictures = [torch.from_numpy(small(name, 160).pixels)[None] for name in ("coffee", "chelsea")]
    alone = [model(x) for x in pictures]
    together: dict[int, list[torch.Tensor]] = {0: [], 1: []}
    start = threading.Barrier(2)

    def run(i: int) -> None:
        start.wait()
        together[i].extend(model(pictures[i]) for _ in range(16))

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in (0, 1):
        assert all(torch.equal(y, alone[i]) for y in together[i]), i


@needs_bf16
def test_clips_default_to_bf16_where_the_cpu_has_it_and_stills_to_fp32(monkeypatch):
    assert stylize.with_defaults({"model": MODEL}, clip=True)["precision"] == "bf16"
    assert stylize.with_defaults({"model": MODEL}, clip=False)["precision"] == "fp32"
    monkeypatch.setattr(sys.modules["daguerre.ops.stylize"], "bf16_available", lambda: False)
    assert stylize.with_defaults({"model": faithful_int8_model()}, clip=True)["precision"] == "int8"


def test_bf16_on_a_cpu_without_it_is_a_one_line_error(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(onnx, "bf16_available", lambda: False)
    with pytest.raises(ValueError, match="precision bf16 needs OpenVINO .* and a CPU with native bfloat16"):
        stylize.run(small("rocket", 96), model=MODEL, precision="bf16")
    result = CliRunner().invoke(app, ["stylize", str(SAMPLES / "rocket.jpg"),
                                      "-o", str(tmp_path / "o.jpg"), "-m", MODEL, "--precision", "bf16"])
    assert result.exit_code != 0 and "bf16 needs OpenVINO" in result.output, result.output
    assert not (tmp_path / "o.jpg").exists()


@needs_bf16
def test_steady_local_in_bf16_runs_the_fp32_halves_on_openvino():
    """The local lock's halves in bf16 are the fp32 halves' files, run by OpenVINO: near the fp32 halves' picture,
    not equal to it; and a flat frame goes through the fp32 halves exactly."""
    from daguerre.video.steady_style import onnx_halves

    card, net = style_model("rousseau-lion")
    bf16, fp32 = onnx_halves(card, net, "bf16"), onnx_halves(card, net)
    x = torch.from_numpy(small("chelsea", 320).pixels)[None]
    x = x[..., : x.shape[-2] // 8 * 8, : x.shape[-1] // 8 * 8].contiguous()
    a, b = fp32[1](fp32[0](x)).numpy(), bf16[1](bf16[0](x)).numpy()
    assert 0 < np.abs(a - b).max() and metrics.psnr(a, b) > 40
    flat = torch.full_like(x, 0.3)
    assert torch.equal(bf16[1](bf16[0](flat)), fp32[1](fp32[0](flat)))


def test_a_model_openvino_cannot_run_falls_back_on_clips_and_is_one_line_when_asked_for(monkeypatch, tmp_path: Path,
                                                                                      caplog):
    """Where OpenVINO fails on a model, a clip's default precision falls back (int8 here, fp32 when steadied inside)
    with a warning naming why, and the clip is written; `--precision bf16` asked for is a one-line error."""
    pytest.importorskip("openvino")
    from daguerre.video.clip import ClipWriter, open_clip

    model, bad = faithful_int8_model(), tmp_path / "bad.onnx"
    bad.write_text("not an ONNX file")
    real = onnx._OpenVinoSession
    monkeypatch.setattr(onnx, "bf16_available", lambda: True)
    monkeypatch.setattr(sys.modules["daguerre.ops.stylize"], "bf16_available", lambda: True)
    monkeypatch.setattr(onnx, "_bf16_session", lambda path, threads: real(str(bad), threads, "bf16"))
    with caplog.at_level("WARNING", logger="daguerre"):
        assert stylize.with_defaults({"model": model}, clip=True)["precision"] == "int8"
        assert sys.modules["daguerre.ops.stylize"].steadied_precision(model) == "fp32"
    assert f"{model}: OpenVINO could not run bad.onnx in bf16 (Unable to read the model" in caplog.text
    with pytest.raises(RuntimeError, match=r"^OpenVINO could not run bad.onnx in bf16 \(Unable to read the model"):
        stylize.run(small("rocket", 96), model=model, precision="bf16")

    clip = tmp_path / "clip.mp4"
    with ClipWriter(clip, 25) as writer:
        for i in range(3):
            writer.write(small("chelsea", 128 + 8 * i).with_pixels(small("chelsea", 128).pixels * (0.8 + 0.1 * i)))
    result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "out.mp4"), "-m", model])
    assert result.exit_code == 0, result.output
    assert open_clip(tmp_path / "out.mp4")[0].size == open_clip(clip)[0].size


@pytest.mark.parametrize("model", ["no-such-model", "restore-photos"])
def test_a_clip_with_a_wrong_model_is_refused_in_one_line_where_bf16_is_the_default(monkeypatch, tmp_path: Path,
                                                                                  model: str):
    """Choosing the clip's precision does not answer a wrong model in its place: the Operation's one-line refusal
    names the file, as on a CPU without bf16, and nothing is written."""
    from daguerre.video.clip import ClipWriter

    monkeypatch.setattr(sys.modules["daguerre.ops.stylize"], "bf16_available", lambda: True)
    monkeypatch.setattr(sys.modules["daguerre.models.onnx"], "bf16_available", lambda: True)  # the options' check
    clip = tmp_path / "clip.mp4"
    with ClipWriter(clip, 25) as writer:
        for _ in range(2):
            writer.write(small("chelsea", 128))
    for steady in ("pixels", "local"):
        result = CliRunner().invoke(app, ["stylize", str(clip), "-o", str(tmp_path / "out.mp4"), "-m", model,
                                          "--steady", steady])
        assert result.exit_code != 0 and f"{clip}: " in result.output, result.output
        assert "--verbose for the traceback" not in result.output, result.output
        assert not (tmp_path / "out.mp4").exists()


def grey_coffee(side: int = 256):
    """The held-out photo as a black-and-white picture."""
    from daguerre.imaging import Picture

    return Picture(small("coffee", side).luminance()[None].astype(np.float32))


@needs_bf16
def test_colorizes_encoder_in_bf16_gives_fp32s_colours_and_is_a_clips_default(monkeypatch, caplog):
    """The frozen VGG16 run by OpenVINO in bf16: another engine and number format (so not fp32's bytes), colours
    within a fraction of a level of fp32's (the held-out benchmark's figures unchanged: BENCHMARKS.md). Clips
    default to it where the CPU has it, stills do not; where OpenVINO fails a clip runs fp32 with a warning."""
    from daguerre.nets import correspondence
    from daguerre.ops import get_operation

    op, grey = get_operation("colorize"), grey_coffee()
    fp32, bf16 = (op.run(grey, precision=p).pixels for p in ("fp32", "bf16"))
    assert 0 < np.abs(fp32 - bf16).max() < 0.05 and np.abs(fp32 - bf16).mean() < 0.002
    reference = small("chelsea", 128)  # a reference's keys go through the same encoder
    a, b = (op.run(grey, reference=reference, precision=p).pixels for p in ("fp32", "bf16"))
    assert np.abs(a - b).mean() < 0.002 and np.abs(a - fp32).mean() > 0.01
    assert op.with_defaults({}, clip=True) == {"precision": "bf16"} and op.with_defaults({}, clip=False) == {}
    assert op.with_defaults({"precision": "fp32"}, clip=True) == {"precision": "fp32"}

    def unreadable() -> None:
        raise RuntimeError("OpenVINO could not run vgg16.onnx in bf16 (Unable to read the model)")

    monkeypatch.setattr(correspondence, "bf16_encoder", unreadable)
    with caplog.at_level("WARNING", logger="daguerre"):
        assert op.with_defaults({}, clip=True) == {"precision": "fp32"}
    assert "colorize's encoder runs fp32 on this clip: OpenVINO could not run vgg16.onnx" in caplog.text


def test_colorize_refuses_a_precision_it_cannot_run_in_one_line(monkeypatch):
    from daguerre.ops import get_operation

    op, grey = get_operation("colorize"), grey_coffee(64)
    with pytest.raises(ValueError, match="^colorize runs its ImageNet encoder in fp32 or bf16, not 'int8'$"):
        op.run(grey, precision="int8")
    monkeypatch.setattr(onnx, "bf16_available", lambda: False)
    monkeypatch.setattr(sys.modules["daguerre.ops.colorize"], "bf16_available", lambda: False)
    with pytest.raises(ValueError, match="precision bf16 needs OpenVINO .* and a CPU with native bfloat16"):
        op.run(grey, precision="bf16")
    assert op.with_defaults({}, clip=True) == {"precision": "fp32"}  # a clip's default where the CPU has no bf16


def test_cli_colorize_takes_a_precision_and_refuses_one_it_cannot_run(tmp_path: Path):
    from daguerre.imaging import load

    out = tmp_path / "c.png"
    asked = "bf16" if onnx.bf16_available() else "fp32"
    result = CliRunner().invoke(app, ["colorize", str(SAMPLES / "coffee.jpg"), "-o", str(out), "--precision", asked])
    assert result.exit_code == 0, result.output
    assert load(out).size == load(SAMPLES / "coffee.jpg").size
    refused = CliRunner().invoke(app, ["colorize", str(SAMPLES / "coffee.jpg"), "-o", str(tmp_path / "d.png"),
                                       "--precision", "int8"])
    assert refused.exit_code != 0 and "fp32 or bf16, not 'int8'" in refused.output, refused.output
    assert not (tmp_path / "d.png").exists()


@needs_bf16
def test_restores_networks_in_bf16_give_fp32s_picture_and_are_a_clips_default(monkeypatch, caplog):
    """The mask predictor and the U-Net (its FFT blocks too) converted by OpenVINO from PyTorch and run in bf16:
    not fp32's bytes, within a few thousandths of them on average (62 dB on a 480p frame), tiles included.
    Clips default to it where the CPU has it, stills do not; where OpenVINO fails a clip runs fp32 with a warning."""
    from daguerre.ops import get_operation, restore

    op, photo = get_operation("restore"), small("coffee", 320)
    fp32, bf16 = (op.run(photo, precision=p).pixels for p in ("fp32", "bf16"))
    assert 0 < np.abs(fp32 - bf16).max() and np.abs(fp32 - bf16).mean() < 0.003 and metrics.psnr(fp32, bf16) > 50
    tiled = op.run(photo, precision="bf16", tile=160).pixels  # another shape through the same converted networks
    assert metrics.psnr(op.run(photo, tile=160).pixels, tiled) > 50
    assert op.with_defaults({}, clip=True) == {"precision": "bf16"} and op.with_defaults({}, clip=False) == {}
    assert op.with_defaults({"engine": "torch"}, clip=True) == {"engine": "torch"}

    def unconvertible(*_args: object) -> None:
        raise RuntimeError("OpenVINO could not convert restore-generator (aten::fft_rfftn is not supported)")

    monkeypatch.setattr(sys.modules["daguerre.models.onnx"], "bf16_module", unconvertible)
    _, net = restore.task_model("restore", None)
    monkeypatch.setattr(net, "_bf16_sessions", {})
    with caplog.at_level("WARNING", logger="daguerre"):
        assert op.with_defaults({}, clip=True) == {"precision": "fp32"}
    assert "restore's networks run fp32 on this clip: OpenVINO could not convert restore-generator" in caplog.text


@needs_bf16
def test_upscale_in_bf16_gives_fp32s_picture_and_is_a_clips_default(monkeypatch, caplog):
    """The upscale model's fp32 ONNX file run by OpenVINO in bf16: not fp32's bytes, near them (59 dB on a held-out
    photo); a clip's default where the CPU has it, not a still's; where OpenVINO fails a clip runs fp32, warned."""
    from daguerre.ops import get_operation, upscale

    op, photo = get_operation("upscale"), small("coffee", 96)
    fp32, bf16 = (op.run(photo, precision=p).pixels for p in ("fp32", "bf16"))
    assert fp32.shape == bf16.shape == (3, photo.size[1] * 4, photo.size[0] * 4)
    assert 0 < np.abs(fp32 - bf16).max() and metrics.psnr(fp32, bf16) > 45
    assert op.with_defaults({}, clip=True) == {"precision": "bf16"} and op.with_defaults({}, clip=False) == {}

    class Unreadable:
        def __init__(self, *_args: object, **_kwargs: object) -> None:
            raise RuntimeError("OpenVINO could not run upscale.onnx in bf16 (Unable to read the model)")

    monkeypatch.setattr(upscale, "OnnxModel", Unreadable)
    with caplog.at_level("WARNING", logger="daguerre"):
        assert op.with_defaults({}, clip=True) == {"precision": "fp32"}
    assert "upscale's model runs fp32 on this clip: OpenVINO could not run upscale.onnx" in caplog.text


@pytest.mark.parametrize(("name", "runs", "engine"), [("restore", "its networks", "the networks by OpenVINO"),
                                                      ("upscale", "its model", "the model's ONNX file by OpenVINO")])
def test_restore_and_upscale_refuse_a_precision_they_cannot_run_in_one_line(monkeypatch, tmp_path: Path, name: str,
                                                                           runs: str, engine: str):
    from daguerre.ops import get_operation

    op, photo = get_operation(name), small("coffee", 48)
    with pytest.raises(ValueError, match=f"^{name} runs {runs} in fp32 or bf16, not 'int8'$"):
        op.run(photo, precision="int8")
    if onnx.bf16_available():
        with pytest.raises(ValueError, match=f"^precision bf16 runs {engine}: not with engine torch$"):
            op.run(photo, precision="bf16", engine="torch")
    monkeypatch.setattr(onnx, "bf16_available", lambda: False)
    monkeypatch.setattr(sys.modules[f"daguerre.ops.{name}"], "bf16_available", lambda: False)
    with pytest.raises(ValueError, match="precision bf16 needs OpenVINO .* and a CPU with native bfloat16"):
        op.run(photo, precision="bf16")
    assert op.with_defaults({}, clip=True) == {"precision": "fp32"}  # a clip's default where the CPU has no bf16
    refused = CliRunner().invoke(app, [name, str(SAMPLES / "coffee.jpg"), "-o", str(tmp_path / "r.png"),
                                       "--precision", "int8"])
    assert refused.exit_code != 0 and "fp32 or bf16, not 'int8'" in refused.output, refused.output
    assert not (tmp_path / "r.png").exists()


@needs_bf16
def test_repair_gives_every_step_its_precision_and_a_clip_bf16_where_each_step_runs_it(monkeypatch):
    from daguerre.ops import get_operation
    from daguerre.ops.repair import plan

    steps = plan(colorize=True, scale=2, precision="bf16")
    assert [(s, k["precision"]) for s, k in steps] == [("restore", "bf16"), ("colorize", "bf16"), ("upscale", "bf16")]
    assert all("precision" not in k for _, k in plan(colorize=True, scale=2))
    op, photo = get_operation("repair"), small("coffee", 96)
    fp32, bf16 = (op.run(photo, colorize=True, scale=2, precision=p).pixels for p in ("fp32", "bf16"))
    assert fp32.shape == bf16.shape and 0 < np.abs(fp32 - bf16).max() and metrics.psnr(fp32, bf16) > 40
    assert op.with_defaults({"colorize": True, "scale": 2}, clip=True)["precision"] == "bf16"
    assert "precision" not in op.with_defaults({}, clip=False)
    colorize = get_operation("colorize")
    monkeypatch.setattr(type(colorize), "with_defaults", lambda self, params, clip: {**params, "precision": "fp32"})
    assert op.with_defaults({"colorize": True}, clip=True)["precision"] == "fp32"  # one step cannot: all fp32
    assert op.with_defaults({}, clip=True)["precision"] == "bf16"  # no colorize step


@needs_bf16
def test_any_painting_in_bf16_is_near_fp32_and_the_clips_default(tmp_path: Path):
    """The any-painting network's fp32 file run by OpenVINO in bf16: near fp32's picture on a held-out photo and an
    unseen painting, not the same; clips take it by default where the CPU has it, stills stay as they were."""
    from test_stylize import unseen

    painting = str(unseen()[0][0])
    photo = small("coffee", 320)
    fp32, bf16 = (stylize.run(photo, method="arbitrary", style=[painting], precision=p).pixels
                  for p in ("fp32", "bf16"))
    assert 0 < np.abs(fp32 - bf16).max() and metrics.psnr(fp32, bf16) > 40
    asked = {"method": "arbitrary", "style": [painting]}
    assert stylize.with_defaults(asked, clip=True)["precision"] == "bf16"
    assert stylize.with_defaults(asked, clip=False) == asked
    result = CliRunner().invoke(app, ["stylize", str(SAMPLES / "rocket.jpg"), "-o", str(tmp_path / "o.png"),
                                      "--style", painting, "--precision", "bf16"])
    assert result.exit_code == 0 and (tmp_path / "o.png").is_file(), result.output


def test_precisions_a_method_has_not_are_one_line_refusals(tmp_path: Path):
    """int8 is for the fast models' quantized files only; optimisation runs fp32."""
    painting = str(SAMPLES / "chelsea.jpg")
    with pytest.raises(ValueError, match=r"^precision int8 is not for method 'arbitrary' \(fast style models take"):
        stylize.run(small("rocket", 96), method="arbitrary", style=[painting], precision="int8")
    if onnx.bf16_available():
        with pytest.raises(ValueError, match=r"^precision bf16 is not for method 'optimize'"):
            stylize.run(small("rocket", 96), method="optimize", style=[painting], precision="bf16", steps=1)
    for precision, said in (("int8", "for fast style models (--model) only"),
                            ("bf16", "for fast style models (--model) and any painting (--style) only")):
        args = ["stylize", str(SAMPLES / "rocket.jpg"), "-o", str(tmp_path / "o.png"), "--style", painting,
                "--precision", precision] + (["--method", "optimize"] if precision == "bf16" else [])
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "o.png").exists()
