"""Training a fast style model: two steps, checkpoint, resume to the same state, export, load."""

from pathlib import Path

import pytest
import torch

from daguerre.models.registry import ModelNotFoundError, build, find_model
from daguerre.nets.style_net import StyleNet
from daguerre.training.recipes import load_recipe
from daguerre.training.style import StyleRecipe, StyleSource, StyleTrainer

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
RECIPES = Path(__file__).parents[1] / "recipes"


def tiny_recipe(steps: int = 2) -> StyleRecipe:
    style = StyleSource(name="tiny-rocket", image=str(SAMPLES / "rocket.jpg"), info={"title": "rocket"})
    return StyleRecipe(styles=[style], content=[str(SAMPLES / "chelsea.jpg"), str(SAMPLES / "coffee.jpg")],
                       steps=steps, batch_size=1, crop=64, content_short_side=96, style_size=96,
                       checkpoint_every=1, sample_every=2, threads=1, widths=(8, 8, 16), n_residual=1)


def test_two_steps_checkpoint_and_resume_to_the_same_state(tmp_path):
    straight = StyleTrainer(tiny_recipe(), tmp_path / "a", progress=False)
    straight.train()

    first = StyleTrainer(tiny_recipe(), tmp_path / "b", progress=False)
    first.train(1)
    assert (tmp_path / "b" / "checkpoint.pt").is_file()
    resumed = StyleTrainer(tiny_recipe(), tmp_path / "b", progress=False)
    assert resumed.step == 1
    resumed.train()

    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    for key, value in straight.disc.state_dict().items():
        assert torch.equal(value, resumed.disc.state_dict()[key]), key
    assert (tmp_path / "b" / "samples_000002.png").is_file()
    assert (tmp_path / "b" / "losses.png").is_file()
    assert len((tmp_path / "b" / "losses.csv").read_text().splitlines()) == 3  # header + 2 steps


def test_export_writes_weights_and_card_the_registry_loads(tmp_path, monkeypatch):
    trainer = StyleTrainer(tiny_recipe(steps=1), tmp_path / "run", progress=False)
    trainer.train()
    cards = trainer.export(tmp_path / "models")
    assert [c.name for c in cards] == ["tiny-rocket"]
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    card = find_model("tiny-rocket")
    assert card.training["steps"] == 1 and len(card.sha256) == 64
    net = build(card)
    y = net(torch.rand(1, 3, 64, 64))
    assert y.shape == (1, 3, 64, 64) and 0 <= y.min() and y.max() <= 1


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    trainer = StyleTrainer(tiny_recipe(steps=1), tmp_path / "run", progress=False)
    trainer.train()
    card = trainer.export(tmp_path / "models")[0]
    weights = card.weights_path()
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    try:
        build(find_model("tiny-rocket"))
    except ValueError as e:
        assert "sha256" in str(e)
    else:
        raise AssertionError("tampered weights were loaded")


def test_join_reassembles_the_several_style_net_single_style_cut():
    net = StyleNet(3, (8, 8, 16), 1)
    with torch.no_grad():
        for m in net.modules():
            if hasattr(m, "scale") and isinstance(m.scale, torch.nn.Parameter):
                m.scale.normal_()
    joined = StyleNet.join([net.single_style(i) for i in range(3)])
    for key, value in net.state_dict().items():
        assert torch.equal(value, joined.state_dict()[key]), key
    other = StyleNet(1, (8, 8, 16), 1)  # a different trunk
    with pytest.raises(ValueError, match="do not share one trunk"):
        StyleNet.join([net.single_style(0), other])


def test_temporal_recipe_continues_the_shipped_models_and_runs_two_steps(tmp_path, monkeypatch):
    """recipes/met-styles-temporal.toml, shrunk to tiny crops on bundled samples: it starts from the 12 shipped
    models joined on their shared trunk, logs a temporal loss, and records what it continued in the cards."""
    from daguerre.data import sources

    monkeypatch.setattr(sources, "require_photo_sources", lambda use: None)  # CI has no training photos: parse it
    recipe = load_recipe(RECIPES / "met-styles-temporal.toml")
    assert recipe.init_styles and recipe.temporal_weight > 0 and len(recipe.styles) == 12
    recipe.content = [str(SAMPLES / "chelsea.jpg"), str(SAMPLES / "astronaut.jpg")]
    recipe.steps, recipe.batch_size, recipe.crop, recipe.content_short_side, recipe.style_size = 2, 1, 64, 96, 96
    trainer = StyleTrainer(recipe, tmp_path / "run", progress=False)
    irises = next(i for i, s in enumerate(recipe.styles) if s.name == "van-gogh-irises")
    shipped = build(find_model("van-gogh-irises"))
    for key, value in shipped.state_dict().items():
        assert torch.equal(value, trainer.net.single_style(irises).state_dict()[key]), key
    trainer.train()
    log = (tmp_path / "run" / "losses.csv").read_text().splitlines()
    assert "temporal" in log[0] and len(log) == 3
    temporal = [float(row.split(",")[log[0].split(",").index("temporal")]) for row in log[1:]]
    assert all(0 < t < 1 for t in temporal)
    card = next(c for c in trainer.export(tmp_path / "models") if c.name == "van-gogh-irises")
    assert card.training["continued_from"]["sha256"] == find_model("van-gogh-irises").sha256
    assert card.training["weights"]["temporal_weight"] == recipe.temporal_weight


def test_init_styles_refuses_models_that_do_not_exist(tmp_path):
    recipe = tiny_recipe()
    recipe.init_styles = True  # "tiny-rocket" is no installed model
    with pytest.raises(ModelNotFoundError, match="tiny-rocket"):
        StyleTrainer(recipe, tmp_path / "run", progress=False)


def test_discriminator_warm_up_leaves_the_generator_still_then_lets_it_learn(tmp_path):
    recipe = tiny_recipe(steps=3)
    recipe.d_warmup = 2
    trainer = StyleTrainer(recipe, tmp_path / "run", progress=False)
    start_g = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    start_d = {k: v.clone() for k, v in trainer.disc.state_dict().items()}
    trainer.train(2)
    assert all(torch.equal(v, trainer.net.state_dict()[k]) for k, v in start_g.items())
    assert not all(torch.equal(v, trainer.disc.state_dict()[k]) for k, v in start_d.items())
    trainer.train()
    assert not all(torch.equal(v, trainer.net.state_dict()[k]) for k, v in start_g.items())
    header, *rows = (tmp_path / "run" / "losses.csv").read_text().splitlines()
    style = header.split(",").index("style")
    assert [row.split(",")[style] for row in rows[:2]] == ["nan", "nan"] and float(rows[2].split(",")[style]) > 0


@pytest.mark.parametrize("name", ["van-gogh-irises", "seurat-grande-jatte"])
def test_one_style_temporal_recipe_starts_from_the_shipped_model(tmp_path, monkeypatch, name):
    """recipes/<name>-temporal.toml: one style, joined alone (StyleNet.join of one model) from the shipped export."""
    from daguerre.data import sources

    monkeypatch.setattr(sources, "require_photo_sources", lambda use: None)  # CI has no training photos: parse it
    recipe = load_recipe(RECIPES / f"{name}-temporal.toml")
    assert [s.name for s in recipe.styles] == [name] and recipe.init_styles and recipe.temporal_weight > 0
    assert 0 < recipe.d_warmup < recipe.steps
    recipe.content = [str(SAMPLES / "chelsea.jpg")]
    recipe.crop, recipe.content_short_side, recipe.style_size = 64, 96, 96
    trainer = StyleTrainer(recipe, tmp_path / "run", progress=False)
    for key, value in build(find_model(name)).state_dict().items():
        assert torch.equal(value, trainer.net.single_style(0).state_dict()[key]), key


def temporal_pairs_seen(monkeypatch) -> list[tuple]:
    """The (frame 1, frame 2, grid, valid) of each temporal pair the style trainer makes, as it makes them."""
    import daguerre.training.style as style_training

    seen: list[tuple] = []
    real = style_training.second_frame
    monkeypatch.setattr(style_training, "second_frame",
                        lambda x, g, jitter=None: seen.append((x, *real(x, g, jitter))) or seen[-1][1:])
    return seen


def test_a_motion_only_temporal_pair_is_the_crop_warped_and_nothing_else(tmp_path, monkeypatch):
    """temporal_noise = temporal_gain = 0: the second frame the temporal loss sees is the first moved, no noise or
    gain (a real clip's sensor noise can be left out when it teaches the net to drop texture)."""
    from daguerre.losses.temporal import warp

    seen = temporal_pairs_seen(monkeypatch)
    recipe = tiny_recipe(steps=1)
    recipe.temporal_weight, recipe.temporal_noise, recipe.temporal_gain = 1.0, 0.0, 0.0
    StyleTrainer(recipe, tmp_path / "run", progress=False).train()
    [(x, x2, grid, _)] = seen
    assert torch.allclose(x2, warp(x, grid).clamp(0, 1)) and not torch.equal(x2, x)


def test_the_anchor_noise_is_in_both_frames_of_the_temporal_pair_and_moves_with_the_crop(tmp_path, monkeypatch):
    """anchor_noise = A: the net sees the crop plus a smooth noise of std A, frame 2 is that noisy crop moved (so
    the noise moves with the picture), and the content loss is taken against the clean crop."""
    from daguerre.losses.temporal import warp

    seen = temporal_pairs_seen(monkeypatch)
    recipe = tiny_recipe(steps=1)
    recipe.temporal_weight, recipe.temporal_noise, recipe.temporal_gain = 1.0, 0.0, 0.0
    recipe.anchor_noise, recipe.anchor_sigma = 0.05, 1.5
    trainer = StyleTrainer(recipe, tmp_path / "run", progress=False)
    crops, content = [], []
    sample, features = trainer.content.sample, trainer.content_features
    monkeypatch.setattr(trainer.content, "sample", lambda *a: crops.append(sample(*a)) or crops[-1])
    monkeypatch.setattr(trainer, "content_features", lambda x: content.append(x) or features(x))
    trainer.train()
    [(x, x2, grid, _)], [clean] = seen, crops
    assert content[0] is clean
    noise = (x - clean)[:, :, 4:-4, 4:-4]  # the crop's middle, away from clamping at 0 and 1
    middle = ((clean[:, :, 4:-4, 4:-4] > 0.25) & (clean[:, :, 4:-4, 4:-4] < 0.75)).all(1)  # 5 std from 0, 1
    assert middle.float().mean() > 0.2 and 0.035 < noise[:, 0][middle].std() < 0.065
    assert (noise[:, 1:] - noise[:, :1]).abs().amax(1)[middle].max() < 1e-6  # the same on R, G and B
    lag1 = (noise[..., 1:] * noise[..., :-1]).mean() / noise.pow(2).mean()
    assert lag1 > 0.6  # smooth, not white
    assert torch.allclose(x2, warp(x, grid).clamp(0, 1))  # frame 2 is the noisy crop moved: the noise moves along
    assert (x2 - warp(clean, grid)).abs().mean() > 0.02  # and frame 2 carries it (not added afresh, not dropped)


@pytest.mark.parametrize("name", ["van-gogh-irises", "seurat-grande-jatte"])
def test_the_anchor_recipes_are_the_temporal_ones_plus_the_anchor(monkeypatch, name):
    from dataclasses import asdict

    from daguerre.data import sources

    monkeypatch.setattr(sources, "require_photo_sources", lambda use: None)  # CI has no training photos: parse it
    anchor, temporal = (asdict(load_recipe(RECIPES / f"{name}-{kind}.toml")) for kind in ("anchor", "temporal"))
    assert anchor["anchor_noise"] > 0 and temporal["anchor_noise"] == 0
    differ = {k for k in anchor if anchor[k] != temporal[k]}
    assert differ == {"anchor_noise", "steps"}, differ


def test_keep_look_is_zero_for_the_starting_net_on_a_clean_crop_and_grows_when_the_weights_move(tmp_path):
    """keep_look / keep_colour: a frozen copy of the starting net, run on the clean crop, is the look the trained
    net's output is held to; the same net on the same crop is at distance 0, a changed net is not."""
    recipe = tiny_recipe(steps=1)
    recipe.keep_look, recipe.keep_colour = 1.0, 1.0
    trainer = StyleTrainer(recipe, tmp_path / "run", progress=False)
    crop = trainer.content.sample(2, torch.Generator().manual_seed(3))
    with torch.no_grad():
        look, colour = trainer.look_terms(trainer.net(crop), crop, 0)
        assert look.item() < 1e-10 and colour.item() < 1e-7
        list(trainer.net.parameters())[-1].add_(0.2)  # the last layer's bias: colour and statistics move
        moved, moved_colour = trainer.look_terms(trainer.net(crop), crop, 0)
    assert moved.item() > 1e-6 and moved_colour.item() > 1e-3
    assert all(not p.requires_grad for p in trainer.start.parameters())
    trainer.train()  # the terms are logged and the frozen copy stays the starting net
    header, row = (tmp_path / "run" / "losses.csv").read_text().splitlines()[:2]
    assert float(row.split(",")[header.split(",").index("look")]) >= 0


def test_the_keep_look_recipes_are_the_anchor_recipe_with_the_look_held(monkeypatch):
    from dataclasses import asdict

    from daguerre.data import sources

    monkeypatch.setattr(sources, "require_photo_sources", lambda use: None)  # CI has no training photos: parse it
    anchor = asdict(load_recipe(RECIPES / "van-gogh-irises-anchor.toml"))
    files = sorted(RECIPES.glob("van-gogh-irises-keep-look*.toml"))
    assert len(files) == 4
    for file in files:
        keep = asdict(load_recipe(file))
        assert keep["keep_look"] > 0 and keep["keep_colour"] > 0 and keep["anchor_noise"] == 0.01, file.name
        differ = {k for k in keep if keep[k] != anchor[k]}
        assert differ <= {"anchor_noise", "steps", "keep_look", "keep_colour", "style_weight", "adversarial_weight"}, (
            file.name, differ)
