"""Training a fast style model: two steps, checkpoint, resume to the same state, export, load."""

from pathlib import Path

import torch

from daguerre.models.registry import build, find_model
from daguerre.training.style import StyleRecipe, StyleSource, StyleTrainer

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


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
