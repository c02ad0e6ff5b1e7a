"""Restore: aged/clean pairs, two-step training that resumes exactly, export + registry, the operation on
grey, 16-bit and rotated photos, seamless tiling. The tiny model is untrained: these test the plumbing."""

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from typer.testing import CliRunner

from daguerre.cli import app
from daguerre.data.folder import CropSampler
from daguerre.data.pairs import AgedPairs
from daguerre.imaging import load, run_tiled, save
from daguerre.models import registry
from daguerre.models.registry import ModelNotFoundError, build, find_model
from daguerre.nets.restore_net import RestoreNet
from daguerre.ops import get_operation
from daguerre.training.restore import RestoreRecipe, RestoreTrainer

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
PHOTOS = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]


def tiny_recipe(steps: int = 2) -> RestoreRecipe:
    return RestoreRecipe(content=PHOTOS, name="tiny-restore", steps=steps, batch_size=1, crop=64,
                         content_short_side=72, widths=(8, 8, 16), mask_width=4, d_width=8, min_strength=1.0,
                         checkpoint_every=1, sample_every=2, threads=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[RestoreTrainer, Path]:
    """Two uninterrupted steps, exported to a model folder."""
    root = tmp_path_factory.mktemp("restore")
    trainer = RestoreTrainer(tiny_recipe(), root / "run", progress=False)
    trainer.train()
    trainer.export(root / "models", "tiny.toml")
    return trainer, root / "models"


@pytest.fixture
def installed(trained, monkeypatch, tmp_path) -> str:
    monkeypatch.setenv("DAGUERRE_MODELS", str(trained[1]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # ONNX exports
    return "tiny-restore"


def test_pairs_are_deterministic_per_seed_and_resumable():
    crops = CropSampler([Path(p) for p in PHOTOS[:2]], 100, 96, progress=False)
    pairs = AgedPairs(crops, min_strength=0.6)
    a = pairs.sample(3, torch.Generator().manual_seed(7))
    b = pairs.sample(3, torch.Generator().manual_seed(7))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    aged, clean, mask = a
    assert aged.shape == clean.shape == (3, 3, 96, 96) and mask.shape == (3, 1, 96, 96)
    assert 0 <= mask.min() and mask.max() <= 1 and not torch.equal(aged, clean)
    g = torch.Generator().manual_seed(7)
    pairs.sample(1, g)
    state = g.get_state()
    after = pairs.sample(2, g)
    g.set_state(state)
    assert all(torch.equal(x, y) for x, y in zip(after, pairs.sample(2, g), strict=True))
    assert not torch.equal(pairs.sample(3, torch.Generator().manual_seed(8))[0], aged)
    _, grey_target, _ = AgedPairs(crops, 0.6, effects=["grey", "dust"]).sample(2, torch.Generator().manual_seed(1))
    assert torch.equal(grey_target[:, 0], grey_target[:, 1])  # restore does not invent colour
    with pytest.raises(ValueError, match="too small"):
        AgedPairs(CropSampler([Path(PHOTOS[0])], 40, 32, progress=False), min_strength=0.1)


def test_two_steps_checkpoint_and_resume_to_the_same_weights(trained, tmp_path):
    straight, _ = trained
    first = RestoreTrainer(tiny_recipe(), tmp_path, progress=False)
    first.train(1)
    resumed = RestoreTrainer(tiny_recipe(), tmp_path, progress=False)
    assert resumed.step == 1
    resumed.train()
    for mine, theirs in ((resumed.net, straight.net), (resumed.disc, straight.disc)):
        for key, value in theirs.state_dict().items():
            assert torch.equal(value, mine.state_dict()[key]), key
    assert (tmp_path / "samples_000002.png").is_file() and (tmp_path / "losses.png").is_file()
    log = (tmp_path / "losses.csv").read_text().splitlines()
    assert len(log) == 3 and log[0] == "step,total,l1,perceptual,adversarial,mask_bce,discriminator"


def test_export_and_registry_round_trip(trained, installed, tmp_path):
    trainer, models = trained
    card = find_model(installed)
    assert card.task == "restore" and card.architecture == "RestoreNet" and card.training["steps"] == 2
    assert card.training["recipe"] == "tiny.toml" and len(card.sha256) == 64 and not card.metrics
    net = build(card)
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        assert torch.equal(net(x), trainer.net.eval()(x))
    again = RestoreTrainer.export_checkpoint(trainer.checkpoint_path, tmp_path / "again")
    assert again.sha256 == card.sha256


def test_operation_on_grey_16bit_and_rotated_photos_keeps_size_and_depth(installed, tmp_path):
    restore = get_operation("restore")
    rocket = Image.open(SAMPLES / "rocket.jpg").resize((120, 80))
    rocket.convert("L").save(tmp_path / "grey.png")
    out = restore.run(load(tmp_path / "grey.png"), model=installed)
    assert out.is_grey and out.size == (120, 80) and out.bit_depth == 8

    photo16 = (np.asarray(rocket, np.float32) / 255 * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "colour16.tif", photo16, photometric="rgb")
    picture = load(tmp_path / "colour16.tif")
    out = restore.run(picture, strength=0.5, engine="torch")  # the first installed restore model
    save(out, tmp_path / "out16.tif")
    back = tifffile.imread(tmp_path / "out16.tif")
    assert back.dtype == np.uint16 and back.shape == photo16.shape
    assert np.array_equal(restore.run(picture, strength=0.0).pixels, picture.pixels)

    exif = rocket.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: displayed portrait
    rocket.save(tmp_path / "rotated.jpg", exif=exif)
    out = restore.run(load(tmp_path / "rotated.jpg"), model=installed, tile=64)  # several tiles
    assert out.size == (80, 120) and out.channels == 3
    onnx = restore.run(load(tmp_path / "rotated.jpg"), model=installed, tile=64, engine="onnx")
    assert np.abs(onnx.pixels - out.pixels).max() < 1e-4
    assert restore.provenance(model=installed).models[0]["sha256"] == find_model(installed).sha256
    args = ["restore", tmp_path / "grey.png", "-o", tmp_path / "cli.png", "--model", installed, "--strength", 0.8]
    assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0 and (tmp_path / "cli.png").is_file()


def test_tiles_match_the_whole_picture():
    """No normalisation and a 240 px overlap (4 x the receptive field): tiled equals whole."""
    torch.manual_seed(0)
    net = RestoreNet(widths=(8, 16, 32, 32), mask_width=4).eval()
    for p in net.parameters():  # the zero-initialised heads would make this trivial
        torch.nn.init.normal_(p, 0, 0.2)
    x = torch.rand(1, 3, 520, 504)
    with torch.no_grad():
        whole = net(x)
    tiled = run_tiled(net, x, tile=496, overlap=240, multiple=net.multiple)
    assert (tiled - whole).abs().max() < 1e-5


def test_no_installed_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(registry, "SHIPPED", tmp_path)
    with pytest.raises(ModelNotFoundError, match="no restore model is installed"):
        get_operation("restore").run(load(SAMPLES / "rocket.jpg"))


def test_tone_correction_is_global_identity_at_first_and_tiles_agree(monkeypatch, tmp_path):
    """A ToneNet starts as the identity; measured once on the whole picture, tiled equals whole."""
    from daguerre.nets.tone_net import ToneNet

    photo = torch.from_numpy(load(SAMPLES / "coffee.jpg").rgb())[None]
    tone = ToneNet(8)
    assert torch.allclose(tone(photo), photo, atol=1e-6)
    params = torch.zeros(1, 12 + 3 * tone.knots)
    params[0, 9:12] = torch.tensor([0.1, 0.0, -0.1])  # a cast: red up, blue down
    shifted = tone.apply(photo, params)
    assert abs(float((shifted - photo)[0, 0][photo[0, 0] < 0.85].mean()) - 0.1) < 0.01
    params = torch.zeros(1, 12 + 3 * tone.knots)
    params[0, 12:] = -0.2 * torch.linspace(0, 1, tone.knots).repeat(3)  # a curve: 80 % of the brightness
    assert torch.allclose(tone.apply(photo, params), 0.8 * photo, atol=1e-5)

    torch.manual_seed(0)
    net = RestoreNet(widths=(8, 8, 16), mask_width=4, tone_width=8).eval()
    for p in net.parameters():
        torch.nn.init.normal_(p, 0, 0.05)
    trainer_recipe = RestoreRecipe(content=[], name="tone-restore", widths=(8, 8, 16), mask_width=4, tone_width=8)
    RestoreTrainer.export_net(net, trainer_recipe, 0, 0.0, tmp_path / "models")
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    picture = load(SAMPLES / "coffee.jpg")
    restore = get_operation("restore")
    whole = restore.run(picture, model="tone-restore", tile=1024)
    tiled = restore.run(picture, model="tone-restore", tile=256)
    assert np.abs(whole.pixels - tiled.pixels).max() < 1e-4 and np.abs(whole.pixels - picture.pixels).mean() > 0.01
    with pytest.raises(RuntimeError, match="use engine torch or auto"):
        restore.run(picture, model="tone-restore", engine="onnx")

    # `export-onnx` still gives the whole-picture model (its thumbnail through opset 18's antialiased Resize)
    import onnxruntime as ort

    result = CliRunner().invoke(app, ["export-onnx", "tone-restore", "-o", str(tmp_path / "tone.onnx")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "tone.onnx"]  # no external data left behind
    x = torch.nn.functional.interpolate(photo, size=(120, 184), mode="area")
    session = ort.InferenceSession(str(tmp_path / "tone.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        assert np.abs(session.run(None, {"image": x.numpy()})[0] - net(x).numpy()).max() < 1e-4


def test_tone_steps_train_the_tone_net_alone_first(tmp_path):
    """With `tone_steps`, the first steps change only the ToneNet; then the whole generator trains."""
    recipe = tiny_recipe(steps=3)
    recipe.tone_width, recipe.tone_steps, recipe.tone_batch_size = 8, 2, 2
    trainer = RestoreTrainer(recipe, tmp_path / "run", progress=False)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}

    def changed() -> set[str]:
        return {k.split(".")[0] for k, v in trainer.net.state_dict().items() if not torch.equal(v, before[k])}

    trainer.train_step()
    trainer.train_step()
    assert changed() == {"tone"} and trainer.step == 2
    trainer.train_step()
    assert changed() == {"tone", "damage", "generator"}
    bad = tiny_recipe()
    bad.tone_steps = 5
    with pytest.raises(ValueError, match="tone_width"):
        RestoreTrainer(bad, tmp_path / "bad", progress=False)


def test_mask_steps_learn_from_the_predictors_own_false_alarms_and_from_tapering_damage(tmp_path):
    """`mask_hard_fraction`: the clean crops of a mask step are centred on pixels where the predictor as it
    started fires (> 0.5) on a clean photo or its grey / sepia / faded copy; `mask_faint_fraction`: aged crops
    with `taper` damage. The mask steps change the mask predictor alone."""
    recipe = tiny_recipe(steps=2)
    recipe.mask_steps, recipe.mask_batch_size = 2, 4
    recipe.mask_hard_fraction, recipe.mask_hard_weight, recipe.mask_faint_fraction = 0.5, 3.0, 0.5
    trainer = RestoreTrainer(recipe, tmp_path / "run", progress=False)
    with torch.no_grad():  # the untrained predictor's output is flat: centred, it fires on half of a photo
        first = trainer.crops.images[0].float()[None] / 255
        trainer.net.damage.head.bias -= trainer.net.damage.logits(trainer.net.toned(first)).median()
    images, points = trainer.find_false_alarms()
    assert len(images) == len(PHOTOS) and all(len(copies) == 4 for copies in images)
    photo, copy, y, x = (int(v) for v in points[len(points) // 2])
    assert torch.equal(images[photo][0], trainer.crops.images[photo].float() / 255)
    grey = images[photo][1]
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[0], grey[2])
    with torch.no_grad():
        fired = trainer.net.damage(trainer.net.toned(images[photo][copy][None]))[0, 0, y, x]
    assert fired > 0.5
    trainer.hard = (images, points)
    crops = trainer.hard_negatives(3)
    assert crops.shape == (3, 3, 64, 64)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trainer.train_step()
    trainer.train_step()
    changed = {k.split(".")[0] for k, v in trainer.net.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"damage"} and trainer.step == 2
    _, _, mask = trainer.faint_pairs.sample(2, torch.Generator().manual_seed(3))
    assert mask.amax() > 0.5


def test_registry_photo_specs_refuse_to_train_with_a_photo_package_missing(monkeypatch):
    """Without, say, the Debian wallpapers `photographs:train` would quietly shrink to a few photos."""
    from daguerre.data import sources
    from daguerre.training.recipes import content_files

    monkeypatch.setattr(sources, "DEBIAN_PHOTO_DIRS", [Path("/nonexistent/a"), Path("/nonexistent/b"),
                                                       Path("/nonexistent/c")])
    with pytest.raises(RuntimeError, match="needs the photo packages .*mate-backgrounds.*make train-data"):
        content_files("photographs:train")
    assert content_files(str(SAMPLES)) == PHOTOS  # a folder of your own needs none of them


def test_demo_shows_the_installed_restoration_models_only(installed, tmp_path, monkeypatch):
    """With a restore model and no colorize or upscale model, the demo's repair table has the restore columns."""
    from daguerre import demo

    only_restore = [find_model(installed)]
    monkeypatch.setattr(demo, "list_models", lambda task: only_restore if task == "restore" else [])
    lines: list[str] = []
    results = tmp_path / "results"
    results.mkdir()
    page = demo._repair_rows([SAMPLES / "coffee.jpg"], results, lines.append)
    assert page.count("<th>") == 3 and "daguerre restore" in page and "No colorize or upscale model" in page
    assert sorted(p.name for p in results.iterdir()) == [f"repair-coffee-{j}.png" for j in range(3)]
    aged, restored = load(results / "repair-coffee-1.png"), load(results / "repair-coffee-2.png")
    assert aged.size == restored.size == (384, 256)
    assert lines == ["coffee.jpg: restored"]
