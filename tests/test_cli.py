"""The command line end to end: folder in -> folder out, bad files reported, clear one-line errors."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daguerre import api
from daguerre.cli import app
from daguerre.imaging import load
from daguerre.models.registry import list_models

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    return result.exit_code, text


@pytest.fixture
def model() -> str:
    return list_models("style")[0].name


def test_models_lists_the_shipped_models():
    code, text = run("models")
    assert code == 0
    for card in list_models("style")[:3]:
        assert card.name[:12] in text


def test_folder_in_folder_out_with_bad_files_reported(tmp_path, model):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "chelsea.jpg", src / "chelsea.jpg")
    shutil.copy(SAMPLES / "rocket.jpg", src / "sub" / "rocket.jpg")
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.png").write_text("not an image")
    truncated = (SAMPLES / "coffee.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(truncated[: len(truncated) // 3])

    code, text = run("stylize", src, "-o", tmp_path / "out", "-m", model)

    assert code == 1
    assert load(tmp_path / "out" / "chelsea.jpg").size == load(src / "chelsea.jpg").size
    assert (tmp_path / "out" / "sub" / "rocket.jpg").is_file()
    for bad in ("empty.jpg", "notes.png", "truncated.jpg"):
        assert not (tmp_path / "out" / bad).exists()
        lines = [line for line in text.splitlines() if bad in line]
        assert lines, f"{bad} not reported:\n{text}"


def test_missing_file_and_unknown_model_give_one_line_errors(tmp_path, model):
    code, text = run("stylize", tmp_path / "nope.jpg", "-o", tmp_path / "o.jpg", "-m", model)
    assert code == 1 and "nope.jpg" in text and "not found" in text
    assert text.startswith("error:") and len(set(text.splitlines())) == 1, repr(text)  # no blank line (progress)
    code, text = run("stylize", SAMPLES / "chelsea.jpg", "-o", tmp_path / "o.jpg", "-m", "no-such-style")
    assert code == 1 and "no-such-style" in text
    assert not (tmp_path / "o.jpg").exists()


def test_decompression_bomb_is_refused(tmp_path, model, monkeypatch):
    monkeypatch.setenv("DAGUERRE_MAX_PIXELS", "1000")
    code, text = run("stylize", SAMPLES / "chelsea.jpg", "-o", tmp_path / "o.jpg", "-m", model)
    assert code == 1 and "chelsea.jpg" in text and "pixels" in text


def test_existing_output_survives_a_failed_run(tmp_path, model):
    out = tmp_path / "out.jpg"
    out.write_bytes(b"precious")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff")
    code, _ = run("stylize", tmp_path / "bad.jpg", "-o", out, "-m", model)
    assert code == 1 and out.read_bytes() == b"precious"


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path):
    """`film photo.jpg -o photo.jpg` (or a folder into itself, or a clip onto itself) replaced the original with its
    result: the one file an archivist must never lose. Each is now a one-line failure, the file untouched."""
    folder = tmp_path / "scans"
    folder.mkdir()
    photo, clip = folder / "coffee.jpg", tmp_path / "reel.mp4"
    shutil.copy(SAMPLES / "coffee.jpg", photo)
    from daguerre.video.clip import ClipWriter

    with ClipWriter(clip, 25) as writer:
        for _ in range(3):
            writer.write(load(SAMPLES / "chelsea.jpg"))
    before = {p: p.read_bytes() for p in (photo, clip)}
    for src, out in ((photo, photo), (folder, folder), (clip, clip), (photo, tmp_path / "." / "scans" / "coffee.jpg")):
        result = runner.invoke(app, ["film", str(src), "-o", str(out)])
        assert result.exit_code == 1 and "the output would replace this input" in result.output, result.output
    assert {p: p.read_bytes() for p in (photo, clip)} == before


def test_export_onnx(tmp_path, model):
    code, text = run("export-onnx", model, "-o", tmp_path / "m.onnx")
    assert code == 0 and (tmp_path / "m.onnx").stat().st_size > 100_000


def test_train_style_command_writes_a_model(tmp_path, monkeypatch):
    content = tmp_path / "photos"
    content.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg"):
        shutil.copy(SAMPLES / name, content / name)
    code, text = run("train", "style", "--style", SAMPLES / "rocket.jpg", "--content", content, "--name", "mine",
                     "--steps", "1", "--batch-size", "1", "--crop", "64", "--run-dir", tmp_path / "run",
                     "--out", tmp_path / "models")
    assert code == 0, text
    assert (tmp_path / "models" / "mine.safetensors").is_file()
    card = json.loads((tmp_path / "models" / "mine.json").read_text())
    assert card["training"]["steps"] == 1 and card["metrics"]["training_style_distance_ratio"] > 0
    assert card["description"] == "Fast style transfer in the style of rocket"  # no artist given: no ", rocket"
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    code, text = run("stylize", SAMPLES / "chelsea.jpg", "-o", tmp_path / "mine.jpg", "-m", "mine")
    assert code == 0 and (tmp_path / "mine.jpg").is_file()
    # the same run folder (the same --name) with another painting would mix the two: refused, the model kept
    before = (tmp_path / "models" / "mine.safetensors").read_bytes()
    args = ["--content", content, "--name", "mine", "--steps", "2", "--batch-size", "1", "--crop", "64",
            "--run-dir", tmp_path / "run", "--out", tmp_path / "models"]
    code, text = run("train", "style", "--style", SAMPLES / "astronaut.jpg", *args)
    assert code == 1 and "trained on another painting" in text and str(tmp_path / "run") in text
    assert (tmp_path / "models" / "mine.safetensors").read_bytes() == before
    code, text = run("train", "style", "--style", SAMPLES / "rocket.jpg", *args)  # the same painting: resumed
    assert code == 0, text
    assert json.loads((tmp_path / "models" / "mine.json").read_text())["training"]["steps"] == 2


def test_train_style_refuses_a_bad_name_or_painting_in_one_line_before_training(tmp_path):
    content = tmp_path / "photos"
    content.mkdir()
    shutil.copy(SAMPLES / "chelsea.jpg", content / "chelsea.jpg")
    args = ["--content", content, "--steps", "1", "--run-dir", tmp_path / "run", "--out", tmp_path / "models"]
    code, text = run("train", "style", "--style", SAMPLES / "rocket.jpg", "--name", "my/style", *args)
    assert code == 1 and "model name 'my/style'" in text and len(set(text.strip().splitlines())) == 1
    code, text = run("train", "style", "--style", tmp_path / "nothere.jpg", "--name", "mine", *args)
    assert code == 1 and "nothere.jpg: file not found" in text and "ImageError" not in text
    assert not (tmp_path / "run").exists() and not (tmp_path / "models").exists()


def test_training_refuses_a_shipped_models_name_and_no_steps_before_training(tmp_path, monkeypatch):
    """`train style --name van-gogh-irises` saved a 1-step model that hid the shipped one (and broke every
    derivative's re-derivation); `train retro` too. Refused in one line as `train colour-bank` does, nothing
    written; so is --steps 0."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    content = tmp_path / "photos"
    content.mkdir()
    shutil.copy(SAMPLES / "chelsea.jpg", content / "chelsea.jpg")
    args = ["--content", content, "--steps", "1", "--run-dir", tmp_path / "run"]
    for name in ("van-gogh-irises", "rousseau-lion"):
        code, text = run("train", "style", "--style", SAMPLES / "rocket.jpg", "--name", name, *args)
        assert code == 1 and len(set(text.strip().splitlines())) == 1, text
        assert f"model name '{name}' is taken (a style model, shipped with daguerre)" in text
    code, text = run("train", "retro", "--period", content, "--modern", content, "--name", "colorize-photos",
                     "--run-dir", tmp_path / "run")
    assert code == 1 and "model name 'colorize-photos' is taken (a colorize model, shipped" in text, text
    code, text = run("train", "style", "--style", SAMPLES / "rocket.jpg", "--name", "mine", *args[:2], "--steps", "0")
    assert code != 0 and "--steps" in text
    with pytest.raises(ValueError, match="steps is at least 1, got 0"):
        api.train_style(SAMPLES / "rocket.jpg", content, "mine", steps=0, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists() and not (tmp_path / "home").exists()


def test_export_onnx_of_the_arbitrary_style_model_takes_image_and_code(tmp_path):
    import onnxruntime as ort

    code, text = run("export-onnx", "painting-style", "-o", tmp_path / "a.onnx")
    assert code == 0, text
    session = ort.InferenceSession(str(tmp_path / "a.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image", "code"]


def test_option_errors_are_one_line_before_any_work(tmp_path):
    """A value the operation refuses (a hint, a scale, a precision), an output name that is neither a picture, a
    clip nor a folder, or a style method without a painting: one error for the run, not one failure per file after
    the work (as before), and nothing written."""
    photos = [SAMPLES / "chelsea.jpg", SAMPLES / "rocket.jpg"]
    out = tmp_path / "out"
    for args, message in (
            (["colorize", *photos, "--hint", "1,2"], "hint '1,2': expected X,Y,#RRGGBB"),
            (["upscale", *photos, "--scale", "3"], "scale must be 2 or 4, not 3"),
            (["restore", *photos, "--precision", "foo"], "restore runs its networks in fp32 or bf16, not 'foo'"),
            (["repair", *photos, "--reference", photos[0]], "a reference, hints or a colour bank give the colour"),
            (["stylize", *photos], "give a painting to copy (--style painting.jpg)"),
            (["stylize", *photos, "-s", tmp_path / "none.jpg"], f"style {tmp_path / 'none.jpg'}: file not found")):
        code, text = run(*args, "-o", out)
        assert code in (1, 2) and text.startswith(f"error: {message}"), text
        assert len(set(text.splitlines())) == 1 and not out.exists(), text
    for name in ("x.xyz", "x"):
        code, text = run("film", photos[0], "-o", tmp_path / name)
        assert code == 1 and "name a picture (.bmp" in text and len(set(text.splitlines())) == 1, text
        assert not (tmp_path / name).exists()
    code, text = run("film", photos[0], "-o", f"{tmp_path / 'new'}/")  # a folder for one photo, made
    assert code == 0 and load(tmp_path / "new" / "chelsea.jpg").size == load(photos[0]).size, text
