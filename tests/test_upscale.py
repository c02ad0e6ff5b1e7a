"""Upscale: low-resolution pairs, two-step training that resumes exactly, export + registry, the operation at
x2 and x4 on grey, 16-bit and rotated photos, seamless tiling, the pixel limit; and `repair` chaining restore,
colorize and upscale. The tiny models are untrained: these test the plumbing (test_shipped_models the quality)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from typer.testing import CliRunner

import daguerre
from daguerre.cli import app
from daguerre.data.folder import CropSampler
from daguerre.data.pairs import LowResPairs, TeacherPairs, shrink
from daguerre.imaging import load, run_tiled, save
from daguerre.models.card import ModelCard, sha256_of
from daguerre.models.registry import build, find_model
from daguerre.nets.upscale_net import UpscaleNet
from daguerre.ops import get_operation
from daguerre.training.colorize import ColorizeRecipe, ColorizeTrainer
from daguerre.training.restore import RestoreRecipe, RestoreTrainer
from daguerre.training.upscale import UpscaleRecipe, UpscaleTrainer

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
PHOTOS = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]


def tiny_recipe(steps: int = 2) -> UpscaleRecipe:
    return UpscaleRecipe(content=PHOTOS, name="tiny-upscale", steps=steps, batch_size=2, crop=32,
                         content_short_side=64, width=8, depth=2, d_width=8, checkpoint_every=1, sample_every=2,
                         threads=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[UpscaleTrainer, Path]:
    """Two uninterrupted steps of each tiny model (upscale, restore, colorize), exported to one model folder."""
    root = tmp_path_factory.mktemp("upscale")
    trainer = UpscaleTrainer(tiny_recipe(), root / "run", progress=False)
    trainer.train()
    trainer.export(root / "models", "tiny.toml")
    RestoreTrainer.export_net(RestoreTrainer.make_net(RestoreRecipe(content=[], name="tiny-restore",
                                                                    widths=(8, 8, 16), mask_width=4)),
                              RestoreRecipe(content=[], name="tiny-restore"), 0, 0.0, root / "models")
    ColorizeTrainer.export_net(ColorizeTrainer.make_net(ColorizeRecipe(content=[], widths=(8, 8, 16))),
                               ColorizeRecipe(content=[], name="tiny-colorize"), 0, 0.0, root / "models")
    return trainer, root / "models"


@pytest.fixture
def installed(trained, monkeypatch, tmp_path) -> str:
    monkeypatch.setenv("DAGUERRE_MODELS", str(trained[1]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # ONNX exports
    return "tiny-upscale"


def test_low_resolution_pairs_are_deterministic_and_degraded():
    crops = CropSampler([Path(p) for p in PHOTOS[:2]], 128, 64, progress=False)
    pairs = LowResPairs(crops, scale=4)
    low, high = pairs.sample(4, torch.Generator().manual_seed(3))
    again = pairs.sample(4, torch.Generator().manual_seed(3))
    assert torch.equal(low, again[0]) and torch.equal(high, again[1])
    assert low.shape == (4, 3, 16, 16) and high.shape == (4, 3, 64, 64)
    plain = shrink(high, 4, torch.Generator(), realistic=False)
    assert not torch.equal(low, plain)  # blur, resampling, noise or JPEG changed something
    assert (low - plain).abs().mean() < 0.1  # ... but it is the same picture
    with pytest.raises(ValueError, match="multiple of the scale"):
        LowResPairs(CropSampler([Path(PHOTOS[0])], 64, 30, progress=False), scale=4)


def test_two_steps_checkpoint_and_resume_to_the_same_weights(trained, tmp_path):
    straight, _ = trained
    first = UpscaleTrainer(tiny_recipe(), tmp_path, progress=False)
    first.train(1)
    resumed = UpscaleTrainer(tiny_recipe(), tmp_path, progress=False)
    assert resumed.step == 1
    resumed.train()
    for mine, theirs in ((resumed.net, straight.net), (resumed.disc, straight.disc)):
        for key, value in theirs.state_dict().items():
            assert torch.equal(value, mine.state_dict()[key]), key
    assert (tmp_path / "samples_000002.png").is_file() and (tmp_path / "losses.png").is_file()


def test_distil_steps_learn_from_the_cached_teacher_then_the_gan_trains(tmp_path, monkeypatch):
    """The teacher (Real-ESRGAN x4plus) upscales the shrunk crops once; its pairs are aligned and cached, so a
    resumed run reads them instead of running it again; distillation steps touch no discriminator."""
    recipe = tiny_recipe(steps=3)
    recipe.distil_steps, recipe.teacher_crops, recipe.teacher_size, recipe.distil_batch_size = 2, 3, 16, 2
    trainer = UpscaleTrainer(recipe, tmp_path / "run", progress=False)
    pairs = trainer.teacher_pairs
    assert pairs.low.shape == (3, 3, 8, 8) and pairs.high.shape == (3, 3, 32, 32)  # 4 px of margin dropped
    # the teacher's upscaling is the low-resolution crop, sharper: downscaled again it is close to it
    assert pairs.low.dtype == pairs.high.dtype == torch.uint8
    again = torch.nn.functional.interpolate(pairs.high.float() / 255, scale_factor=0.25, mode="area")
    assert (again - pairs.low.float() / 255).abs().mean() < 0.05
    low, taught = pairs.sample(2, 8, torch.Generator().manual_seed(0))
    assert low.shape == (2, 3, 8, 8) and taught.shape == (2, 3, 32, 32)
    disc = {k: v.clone() for k, v in trainer.disc.state_dict().items()}
    trainer.train(2)
    assert all(torch.equal(v, trainer.disc.state_dict()[k]) for k, v in disc.items())

    import daguerre.nets.rrdbnet as rrdbnet

    monkeypatch.setattr(rrdbnet, "load_realesrgan_x4plus", lambda: pytest.fail("the teacher ran again"))
    resumed = UpscaleTrainer(recipe, tmp_path / "run", progress=False)
    assert resumed.step == 2 and torch.equal(resumed.teacher_pairs.high, pairs.high)
    resumed.train()
    assert not all(torch.equal(v, resumed.disc.state_dict()[k]) for k, v in disc.items())  # the GAN step
    log = (tmp_path / "run" / "losses.csv").read_text().splitlines()
    assert [line.split(",")[3] for line in log[1:3]] == ["0", "0"] and float(log[3].split(",")[3]) > 0

    # a cache made for other settings is not reused: the teacher runs again (here a stand-in: x4 nearest)
    calls = []

    def stand_in():
        calls.append(1)
        return lambda x: torch.nn.functional.interpolate(x, scale_factor=4, mode="nearest")

    crops = CropSampler([Path(p) for p in PHOTOS], 64, 32, progress=False)
    cache = tmp_path / "run" / "teacher.pt"
    same = TeacherPairs(crops, 4, True, stand_in, 3, 16, cache, seed=0, progress=False)  # the run's settings
    assert not calls and torch.equal(same.high, pairs.high)
    for _ in range(2):
        other = TeacherPairs(crops, 4, True, stand_in, 3, 16, cache, seed=1, progress=False)
    assert len(calls) == 1 and not torch.equal(other.low, pairs.low)  # seed 1 made once, then read
    with pytest.raises(ValueError, match="do not fit"):
        TeacherPairs(crops, 4, True, stand_in, 3, 32, tmp_path / "other.pt", progress=False)


def test_export_and_registry_round_trip(trained, installed):
    trainer, _ = trained
    card = find_model(installed)
    assert card.task == "upscale" and card.architecture == "UpscaleNet" and card.training["steps"] == 2
    assert card.config == {"scale": 4, "width": 8, "depth": 2}
    x = torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        assert torch.equal(build(card)(x), trainer.net.eval()(x))


def test_operation_x2_x4_grey_16bit_rotated_keeps_depth_and_orientation(installed, tmp_path):
    upscale = get_operation("upscale")
    rocket = Image.open(SAMPLES / "rocket.jpg").resize((60, 40))
    rocket.convert("L").save(tmp_path / "grey.png")
    out = upscale.run(load(tmp_path / "grey.png"), model=installed)
    assert out.is_grey and out.size == (240, 160) and out.bit_depth == 8

    photo16 = (np.asarray(rocket, np.float32) / 255 * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "colour16.tif", photo16, photometric="rgb")
    out = upscale.run(load(tmp_path / "colour16.tif"), scale=2, engine="torch")  # the first installed model
    assert out.size == (120, 80)
    save(out, tmp_path / "out16.tif")
    assert tifffile.imread(tmp_path / "out16.tif").dtype == np.uint16

    exif = rocket.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: displayed portrait
    rocket.save(tmp_path / "rotated.jpg", exif=exif)
    whole = upscale.run(load(tmp_path / "rotated.jpg"), model=installed, engine="torch")
    tiled = upscale.run(load(tmp_path / "rotated.jpg"), model=installed, tile=48, engine="onnx")  # two tiles
    assert whole.size == (160, 240) and np.abs(whole.pixels - tiled.pixels).max() < 1e-4
    assert upscale.provenance(model=installed).models[0]["sha256"] == find_model(installed).sha256
    args = ["upscale", tmp_path / "grey.png", "-o", tmp_path / "cli.png", "--scale", 2, "--model", installed]
    assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0
    assert Image.open(tmp_path / "cli.png").size == (120, 80)


def test_bad_scale_and_too_large_results_are_clear_errors(installed, tmp_path, monkeypatch):
    upscale = get_operation("upscale")
    picture = load(SAMPLES / "rocket.jpg")
    with pytest.raises(ValueError, match="scale must be 2 or 4"):
        upscale.run(picture, scale=3)
    monkeypatch.setenv("DAGUERRE_MAX_PIXELS", str(picture.size[0] * picture.size[1] * 8))
    with pytest.raises(ValueError, match=r"x4 result would be .* over the limit"):
        upscale.run(picture)
    result = CliRunner().invoke(app, ["upscale", str(SAMPLES / "rocket.jpg"), "-o", str(tmp_path / "big.png")])
    assert result.exit_code == 1 and "over the limit" in result.output and not (tmp_path / "big.png").exists()


def test_init_from_continues_an_exported_model(trained, tmp_path):
    """`init_from` starts a new run from an exported model's weights and step count, and the card says so;
    a model of another task or shape is refused."""
    straight, models = trained
    card = str(models / "tiny-upscale.json")
    more = UpscaleTrainer(replace(tiny_recipe(3), init_from=card), tmp_path / "more", progress=False)
    assert more.step == 2
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, more.net.state_dict()[key]), key
    more.train()
    assert more.step == 3
    exported = more.export(tmp_path / "out")
    parent = ModelCard.load(Path(card))
    assert exported.training["steps"] == 3
    assert exported.training["continued_from"] == {"model": "tiny-upscale", "sha256": parent.sha256, "steps": 2,
                                                   "init_from": card}  # the weights, not only a name or path
    again = UpscaleTrainer.export_checkpoint(more.checkpoint_path, tmp_path / "again")  # kept in the checkpoint
    assert again.training["continued_from"] == exported.training["continued_from"]
    assert not torch.equal(more.net.body[-1].weight, straight.net.body[-1].weight)
    with pytest.raises(ValueError, match="a restore model"):
        UpscaleTrainer(replace(tiny_recipe(), init_from=str(models / "tiny-restore.json")), tmp_path / "x",
                       progress=False)
    with pytest.raises(ValueError, match="config"):
        UpscaleTrainer(replace(tiny_recipe(), width=16, init_from=card), tmp_path / "y", progress=False)


def test_train_recipe_refuses_an_unknown_init_from_in_one_line(tmp_path):
    recipe = tmp_path / "mine.toml"
    recipe.write_text(f'kind = "upscale"\ncontent = "{SAMPLES}"\nsteps = 1\nwidth = 8\ndepth = 2\n')
    result = CliRunner().invoke(app, ["train", "recipe", str(recipe), "--init-from", "no-such-model",
                                      "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "no model named 'no-such-model'" in result.output
    assert not (tmp_path / "out").exists()


def test_train_recipe_names_a_truncated_picture_in_the_folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "whole.jpg").write_bytes((SAMPLES / "coffee.jpg").read_bytes())
    (photos / "cut.jpg").write_bytes((SAMPLES / "rocket.jpg").read_bytes()[:3000])
    recipe = tmp_path / "mine.toml"
    recipe.write_text(f'kind = "upscale"\ncontent = "{photos}"\nsteps = 1\nwidth = 8\ndepth = 2\n')
    result = CliRunner().invoke(app, ["train", "recipe", str(recipe), "--run-dir", str(tmp_path / "run"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "cut.jpg: image file is truncated" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_learning_rates_decay_linearly_to_zero(tmp_path):
    """With lr_decay_from, both learning rates fall linearly from that step to zero at the last step."""
    recipe = replace(tiny_recipe(4), lr_decay_from=2)
    trainer = UpscaleTrainer(recipe, tmp_path, progress=False)
    seen = []
    for _ in range(4):
        trainer.train_step()
        g, d = trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]
        seen.append((g / recipe.lr, d / recipe.d_lr))
    assert seen == [(1, 1), (1, 1), (1, 1), (0.5, 0.5)]


def test_a_new_net_is_bicubic():
    """The tail starts at zero: before any training the net adds no detail to the bicubic upscaling."""
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = UpscaleNet(4, 8, 3)(x)
    assert out.shape == (1, 3, 80, 96)
    assert torch.equal(out, torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))


def test_tiles_match_the_whole_picture():
    """No normalisation: an overlap of four times the receptive field gives the same picture."""
    torch.manual_seed(0)
    net = UpscaleNet(4, 8, 3).eval()
    torch.nn.init.normal_(net.body[-1].weight, std=0.1)  # a new net's tail is zero: give it some detail to add
    x = torch.rand(1, 3, 90, 70)
    with torch.no_grad():
        whole = net(x)
    tiled = run_tiled(net, x, tile=48, overlap=4 * net.receptive_radius, scale=4, multiple=1)
    assert (tiled - whole).abs().max() < 1e-5


def test_repair_runs_restore_colorize_upscale_in_order_with_one_progress(installed, tmp_path):
    repair = get_operation("repair")
    Image.open(SAMPLES / "coffee.jpg").convert("L").resize((48, 32)).save(tmp_path / "old.png")
    picture = load(tmp_path / "old.png")
    seen: list[tuple[int, int]] = []
    out = repair.run(picture, lambda done, total: seen.append((done, total)), colorize=True, scale=2,
                     restore_model="tiny-restore", colorize_model="tiny-colorize", upscale_model=installed)
    assert out.size == (96, 64) and out.channels == 3  # colorized, then upscaled
    assert {total for _, total in seen} == {300} and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (300, 300)
    restored = get_operation("restore").run(picture, model="tiny-restore")
    only_restore = repair.run(picture, restore_model="tiny-restore")
    assert np.array_equal(only_restore.pixels, restored.pixels) and only_restore.is_grey
    record = repair.provenance(colorize=True, scale=4, restore_model="tiny-restore",
                               colorize_model="tiny-colorize", upscale_model=installed)
    assert [m["name"] for m in record.models] == ["tiny-restore", "tiny-colorize", "tiny-upscale"]
    assert record.params["steps"] == ["restore", "colorize", "upscale"]
    with pytest.raises(ValueError, match="scale must be 1, 2 or 4"):
        repair.run(picture, scale=3)
    args = ["repair", tmp_path / "old.png", "-o", tmp_path / "cli.png", "--scale", 4, "--restore-model",
            "tiny-restore", "--upscale-model", installed]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "cli.png").size == (192, 128)


def test_repair_colours_from_a_reference_and_hints_as_colorize_does(installed, tmp_path):
    """`repair --colorize --reference ... --hint ...` gives colorize's own result on the restored picture, records the
    reference's sha256, and a reference or hints without --colorize is a one-line error before any file is written."""
    repair = get_operation("repair")
    Image.open(SAMPLES / "coffee.jpg").convert("L").resize((48, 32)).save(tmp_path / "old.png")
    picture, reference, hints = load(tmp_path / "old.png"), [str(SAMPLES / "chelsea.jpg")], ["5,5,#2060ff"]
    guided = repair.run(picture, colorize=True, restore_model="tiny-restore", colorize_model="tiny-colorize",
                        reference=reference, hints=hints)
    restored = get_operation("restore").run(picture, model="tiny-restore")
    same = get_operation("colorize").run(restored, model="tiny-colorize", reference=reference, hints=hints)
    assert np.array_equal(guided.pixels, same.pixels)
    from_python = daguerre.repair(picture, colorize=True, restore_model="tiny-restore", colorize_model="tiny-colorize",
                                  reference=reference[0], hints=hints)
    assert np.array_equal(from_python.pixels, same.pixels)
    assert np.array_equal(daguerre.restore(picture, model="tiny-restore").pixels, restored.pixels)
    assert daguerre.upscale(restored, scale=2, model=installed).size == (96, 64)
    record = repair.provenance(colorize=True, restore_model="tiny-restore", colorize_model="tiny-colorize",
                               reference=reference, hints=hints).params
    assert record["reference_sha256"] == [sha256_of(SAMPLES / "chelsea.jpg")] and record["hints"] == hints
    with pytest.raises(ValueError, match="--colorize"):
        repair.run(picture, restore_model="tiny-restore", hints=hints)
    args = ["repair", tmp_path / "old.png", "-o", tmp_path / "cli.png", "--restore-model", "tiny-restore",
            "--reference", reference[0]]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 1 and "--colorize" in result.output and not (tmp_path / "cli.png").exists()
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--colorize", "--colorize-model", "tiny-colorize",
                                                       "--hint", hints[0]]])
    assert result.exit_code == 0, result.output
    assert np.array_equal(load(tmp_path / "cli.png").pixels, save_and_load(same, tmp_path / "same.png").pixels)


def save_and_load(picture, path: Path):  # noqa: ANN001, ANN201 - a Picture written as the CLI writes it
    save(picture, path)
    return load(path)
