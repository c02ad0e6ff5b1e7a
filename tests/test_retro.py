"""Retro: CycleGAN training that resumes exactly, export + registry, the operation with a model (tiled equals whole)
and with the film presets, the recipe kind, the CLI end to end. The tiny models are barely trained: these test the
plumbing, on the bundled sample photos."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from daguerre import nets
from daguerre.api import train_recipe
from daguerre.cli import app
from daguerre.imaging import Picture, load
from daguerre.models.registry import build, find_model, list_models
from daguerre.nets.retro_net import RetroNet
from daguerre.ops import get_operation
from daguerre.ops.feedforward import run_feedforward
from daguerre.ops.film import PRESETS, film
from daguerre.training.recipes import load_recipe
from daguerre.training.retro import RetroRecipe, RetroTrainer

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
MODERN = [str(SAMPLES / "astronaut.jpg"), str(SAMPLES / "rocket.jpg")]
PERIOD = [str(SAMPLES / "chelsea.jpg"), str(SAMPLES / "coffee.jpg")]
runner = CliRunner()


def tiny_recipe(steps: int = 4) -> RetroRecipe:
    return RetroRecipe(
        period=PERIOD,
        modern=MODERN,
        name="tiny-retro",
        steps=steps,
        crop=64,
        content_short_side=72,
        width=8,
        n_residual=2,
        d_width=8,
        pool_size=3,
        checkpoint_every=2,
        sample_every=4,
        threads=1,
    )


def photo(size: tuple[int, int] = (300, 200)) -> Picture:
    return Picture(np.moveaxis(np.asarray(Image.open(SAMPLES / "rocket.jpg").resize(size), np.float32) / 255, -1, 0))


def folders(root: Path) -> tuple[Path, Path]:
    """Folders of period and modern photos, as a user has them."""
    for name, files in (("period", PERIOD), ("modern", MODERN)):
        (root / name).mkdir()
        for f in files:
            shutil.copy(f, root / name)
    return root / "period", root / "modern"


def run(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output  # stdout and stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[RetroTrainer, Path]:
    """Four uninterrupted steps (the pools of 3 fill and start swapping), exported to a model folder."""
    root = tmp_path_factory.mktemp("retro")
    trainer = RetroTrainer(tiny_recipe(), root / "run", progress=False)
    trainer.train()
    trainer.export(root / "models", "tiny.toml")
    return trainer, root / "models"


@pytest.fixture
def installed(trained, monkeypatch, tmp_path) -> str:
    monkeypatch.setenv("DAGUERRE_MODELS", str(trained[1]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # ONNX exports
    return "tiny-retro"


def test_two_steps_checkpoint_and_resume_to_the_same_weights(trained, tmp_path):
    straight, _ = trained
    first = RetroTrainer(tiny_recipe(), tmp_path, progress=False)
    first.train(2)
    assert (tmp_path / "checkpoint.pt").is_file() and (tmp_path / "samples_000002.png").is_file()
    resumed = RetroTrainer(tiny_recipe(), tmp_path, progress=False)
    assert resumed.step == 2
    resumed.train()
    assert resumed.step == 4
    pairs = (
        (resumed.g, straight.g),
        (resumed.f, straight.f),
        (resumed.d_period, straight.d_period),
        (resumed.d_modern, straight.d_modern),
    )
    for mine, theirs in pairs:
        for key, value in theirs.state_dict().items():
            assert torch.equal(value, mine.state_dict()[key]), key
    assert not torch.equal(straight.g.to_delta.weight, torch.zeros_like(straight.g.to_delta.weight))  # it learnt
    for mine, theirs in ((resumed.pool_period, straight.pool_period), (resumed.pool_modern, straight.pool_modern)):
        assert len(mine.images) == 3 and all(torch.equal(a, b) for a, b in zip(mine.images, theirs.images, strict=True))
    assert (tmp_path / "samples_000004.png").is_file() and (tmp_path / "losses.png").is_file()
    log = (tmp_path / "losses.csv").read_text().splitlines()
    assert len(log) == 5 and log[0] == "step,total,adversarial_g,adversarial_f,cycle,identity,d_period,d_modern"


def test_a_new_generator_is_the_identity():
    x = photo((64, 48)).pixels[None]
    assert torch.equal(RetroNet().eval()(torch.from_numpy(x)), torch.from_numpy(x))


def test_exported_model_changes_a_photo_keeps_its_size_and_tiles_match(trained, installed, tmp_path):
    trainer, _ = trained
    card = find_model(installed)
    assert card.task == "retro" and nets.ARCHITECTURES[card.architecture] is RetroNet
    assert card.training["steps"] == 4 and card.training["recipe"] == "tiny.toml" and len(card.sha256) == 64
    assert card.training["period_images"] == 2 and card.training["weights"]["cycle_weight"] == 10.0
    net = build(card)
    x = torch.from_numpy(photo((64, 48)).pixels[None])
    with torch.no_grad():
        assert torch.equal(net(x), trainer.g.eval()(x))

    retro = get_operation("retro")
    picture = photo((500, 333))  # not a multiple of 8
    whole = retro.run(picture, model=installed, engine="torch")
    assert whole.size == picture.size and whole.channels == 3
    assert np.abs(whole.pixels - picture.pixels).max() > 1e-3  # four steps: a small change, but a change
    tiled = retro.run(picture, model=installed, tile=256)  # 3 x 2 tiles with the whole picture's statistics
    assert np.abs(tiled.pixels - whole.pixels).max() < 1 / 255
    onnx = retro.run(picture, model=installed, engine="onnx")
    assert np.abs(onnx.pixels - whole.pixels).max() < 1e-4
    half = retro.run(picture, model=installed, strength=0.5, engine="torch")
    assert np.allclose(half.pixels, picture.pixels + 0.5 * (whole.pixels - picture.pixels), atol=1e-5)
    assert np.array_equal(retro.run(picture, model=installed, strength=0.0).pixels, picture.pixels)
    record = retro.provenance(model=installed)
    assert record.models[0]["sha256"] == card.sha256 and record.digital_source_type == "trainedAlgorithmicMedia"
    again = RetroTrainer.export_checkpoint(trainer.checkpoint_path, tmp_path / "again")
    assert again.sha256 == card.sha256


def test_tiles_with_whole_image_statistics_match_the_whole_picture():
    """A generator far from the identity (random weights): tiling with shared statistics leaves no seams."""
    torch.manual_seed(0)
    net = RetroNet(widths=(8, 16, 32), n_residual=2)
    torch.nn.init.normal_(net.to_delta.weight, 0, 0.05)
    net.eval()
    x = torch.from_numpy(photo((520, 344)).pixels[None])
    with torch.inference_mode():
        whole = run_feedforward(net, x, engine="torch")
        tiled = run_feedforward(net, x, tile=256)
    assert (whole - x).abs().mean() > 0.02
    assert (tiled - whole).abs().max() < 2 / 255


def test_a_tiled_run_leaves_the_network_as_it_was_for_other_pictures(monkeypatch):
    """The whole picture's statistics are set on a copy's norm layers for a tiled run, not on the (cached,
    shared) network's: a small picture run through the network meanwhile (another thread's) is unchanged."""
    from daguerre.ops import feedforward

    torch.manual_seed(0)
    net = RetroNet(widths=(8, 16, 32), n_residual=2)
    torch.nn.init.normal_(net.to_delta.weight, 0, 0.05)  # far from the identity, so its norms show
    net.eval()
    small, x = torch.rand(1, 3, 64, 64), torch.from_numpy(photo((520, 344)).pixels[None])
    with torch.inference_mode():
        alone = net.for_inference()(small)
    meanwhile = []

    def tiles_and_another_picture(*args, **kwargs):
        with torch.inference_mode():
            meanwhile.append(net.for_inference()(small))
        return run_tiled(*args, **kwargs)

    run_tiled = feedforward.run_tiled
    monkeypatch.setattr(feedforward, "run_tiled", tiles_and_another_picture)
    with torch.inference_mode():
        run_feedforward(net, x, tile=256, engine="torch")
    assert len(meanwhile) == 1 and torch.equal(meanwhile[0], alone)


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_changes_the_photo_and_strength_zero_keeps_it(preset):
    retro, picture = get_operation("retro"), photo((120, 80))
    out = retro.run(picture, preset=preset, seed=2)
    assert out.size == picture.size
    assert np.array_equal(out.pixels, film(picture.pixels, preset, 1.0, 2))  # the film preset itself
    assert np.abs(film(picture.pixels, preset) - picture.pixels).mean() > 0.02
    assert np.array_equal(retro.run(picture, preset=preset, strength=0.0).pixels, picture.pixels)


def test_default_preset_provenance_and_bad_parameters(installed):
    retro, picture = get_operation("retro"), photo((120, 80))
    assert np.array_equal(retro.run(picture).pixels, film(picture.pixels, "sepia"))
    record = retro.provenance(strength=1.0)
    assert record.params["preset"] == "sepia" and not record.models
    assert record.digital_source_type == "algorithmicallyEnhanced"
    with pytest.raises(ValueError, match="not both"):
        retro.run(picture, preset="sepia", model=installed)
    with pytest.raises(ValueError, match="unknown film preset"):
        retro.run(picture, preset="kodachrome")
    with pytest.raises(ValueError, match="not a retro model"):
        retro.run(picture, model=list_models("style")[0].name)


def test_recipe_kind_retro_loads_and_trains(tmp_path):
    period, modern = folders(tmp_path)
    (tmp_path / "r.toml").write_text(
        f'kind = "retro"\nname = "mine"\nperiod = "{period}"\nmodern = "{modern}"\nsteps = 10\n'
        "betas = [0.5, 0.99]\ncrop = 64\ncontent_short_side = 72\nwidth = 8\nn_residual = 1\nd_width = 8\n"
    )
    r = load_recipe(tmp_path / "r.toml")
    assert isinstance(r, RetroRecipe) and r.name == "mine" and r.steps == 10 and r.betas == (0.5, 0.99)
    assert sorted(Path(p).name for p in r.period) == ["chelsea.jpg", "coffee.jpg"] and len(r.modern) == 2
    (card,) = train_recipe(
        tmp_path / "r.toml", out=tmp_path / "models", run_dir=tmp_path / "run", steps=1, progress=False
    )
    assert card.name == "mine" and card.task == "retro" and card.training["steps"] == 1
    assert card.training["recipe"] == str(tmp_path / "r.toml")


def test_cli_trains_a_retro_model_and_uses_it(tmp_path, monkeypatch):
    period, modern = folders(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, text = run(
        "train",
        "retro",
        "--period",
        period,
        "--modern",
        modern,
        "--steps",
        2,
        "--run-dir",
        tmp_path / "run",
        "--out",
        tmp_path / "models",
    )
    assert code == 0, text
    assert "saved model retro-period" in text and (tmp_path / "models" / "retro-period.json").is_file()
    assert (tmp_path / "run" / "checkpoint.pt").is_file()

    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, text = run(
        "retro", SAMPLES / "chelsea.jpg", "-o", tmp_path / "model.jpg", "--model", "retro-period", "--engine", "torch"
    )
    assert code == 0, text
    assert load(tmp_path / "model.jpg").size == load(SAMPLES / "chelsea.jpg").size
    code, text = run(
        "retro", SAMPLES / "chelsea.jpg", "-o", tmp_path / "cyan.png", "--preset", "cyanotype", "--strength", 0.5
    )
    assert code == 0, text
    assert (tmp_path / "cyan.png").is_file()

    code, text = run(
        "train",
        "retro",
        "--period",
        empty,
        "--modern",
        modern,
        "--steps",
        2,
        "--run-dir",
        tmp_path / "run2",
        "--out",
        tmp_path / "models",
    )
    assert code == 1 and f"{empty}: no images found" in text and len(text.strip().splitlines()) == 1
    assert not (tmp_path / "run2").exists()
