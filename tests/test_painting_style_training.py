"""Training the arbitrary-style model: two steps, checkpoint, resume to the same state, export, load."""

from pathlib import Path

import torch

from daguerre.data import sources
from daguerre.models.registry import build, find_model, list_models
from daguerre.nets.painting_style_net import PaintingStyleNet
from daguerre.training.painting_style import PaintingStyleRecipe, PaintingStyleTrainer, init_from_style_models

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def tiny_recipe(steps: int = 2) -> PaintingStyleRecipe:
    paintings = [str(p) for p in sources.paintings("train")[:2]]
    return PaintingStyleRecipe(content=[str(SAMPLES / "chelsea.jpg"), str(SAMPLES / "coffee.jpg")], styles=paintings,
                               name="tiny-arbitrary", steps=steps, crop=64, content_short_side=96,
                               style_short_side=96, style_crop_range=(64, 96), style_size=64, colour_size=32,
                               batch_size=2, identity_fraction=0.5, code_dim=8, widths=(8, 8, 16), n_residual=1,
                               hidden=16, checkpoint_every=1, sample_every=2)


def test_two_steps_checkpoint_and_resume_to_the_same_state(tmp_path):
    straight = PaintingStyleTrainer(tiny_recipe(), tmp_path / "a", progress=False)
    straight.train()
    first = PaintingStyleTrainer(tiny_recipe(), tmp_path / "b", progress=False)
    first.train(1)
    resumed = PaintingStyleTrainer(tiny_recipe(), tmp_path / "b", progress=False)
    assert resumed.step == 1
    resumed.train()
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    assert (tmp_path / "b" / "samples_000002.png").is_file()


def test_export_is_an_arbitrary_style_model_the_registry_loads(tmp_path, monkeypatch):
    trainer = PaintingStyleTrainer(tiny_recipe(steps=1), tmp_path / "run", progress=False)
    trainer.train()
    trainer.export(tmp_path / "models")
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    card = find_model("tiny-arbitrary")
    assert card.task == "arbitrary-style" and card.training["steps"] == 1
    net = build(card)
    y = net(torch.rand(1, 3, 64, 64), torch.randn(1, 8))
    assert y.shape == (1, 3, 64, 64) and 0 <= y.min() and y.max() <= 1


def test_starting_from_the_fast_models_trunk_renders_like_them():
    """With every code at zero, the network is the shared trunk with the styles' mean norms: its output sits between
    the fast models' outputs, much closer to them than a fresh network's is."""
    cards = list_models("style")
    net = PaintingStyleNet()
    fresh = PaintingStyleNet()
    init_from_style_models(net, [c.name for c in cards])
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        mean_fast = torch.stack([build(c)(x) for c in cards]).mean(0)
        ours = net(x, torch.zeros(1, 100))
        theirs = fresh(x, torch.zeros(1, 100))
    assert (ours - mean_fast).abs().mean() < 0.5 * (theirs - mean_fast).abs().mean()


def test_painting_specific_term_and_faster_code_layers(tmp_path):
    recipe = tiny_recipe(steps=1)
    recipe.specific_weight, recipe.code_lr_factor = 1.0, 3.0
    trainer = PaintingStyleTrainer(recipe, tmp_path / "run", progress=False)
    mean_spread, deviation_spread = trainer.spread["relu2_1"]
    assert mean_spread.shape == deviation_spread.shape == (128,) and (mean_spread > 0).all()
    losses = trainer.train_step()
    assert losses["specific"] > 0
    trunk, code = trainer.opt_g.param_groups
    assert code["lr"] == 3 * trunk["lr"] == 3 * recipe.lr
    code_ids = {id(p) for p in code["params"]}
    assert id(trainer.net.predictor.code.weight) in code_ids and id(trainer.net.norm_d1.scale.weight) in code_ids
    assert id(trainer.net.down1.weight) not in code_ids
