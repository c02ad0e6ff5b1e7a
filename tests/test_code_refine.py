"""Refining a painting's style code (issue 12's oracle codes): the shipped arbitrary model, the bundled samples."""

from pathlib import Path

import torch

from daguerre.data.folder import CropSampler, load_rgb
from daguerre.nets.vgg16 import load_vgg16
from daguerre.ops.styles import painting_style_model
from daguerre.training.code_refine import (
    Refinement,
    objective,
    painting_targets,
    predicted_code,
    refine_code,
    refine_norms,
)
from daguerre.training.painting_style import VGG_LAYERS

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
SETTINGS = Refinement(steps=15, lr=0.05, batch_size=2, crop=64, style_short_side=96, style_crop_range=(64, 96),
                      style_size=64, painting_crops=4, colour_size=32)


def setup():
    _, net = painting_style_model()
    photos = CropSampler([SAMPLES / "astronaut.jpg", SAMPLES / "rocket.jpg"], 96, 64, progress=False)
    painting = load_rgb(SAMPLES / "coffee.jpg", 128).float()[None] / 255
    return net, load_vgg16(VGG_LAYERS), photos, painting


def fixed_loss(net, vgg, photos, painting, code) -> float:
    """The objective on one fixed batch of photo and painting crops."""
    rng = torch.Generator().manual_seed(99)
    s, fs = painting_targets(vgg, painting, SETTINGS, rng)
    x = photos.sample(4, rng)
    with torch.no_grad():
        return float(objective(net, vgg, code, x, s, fs, SETTINGS))


def test_the_refined_code_lowers_the_objective_and_leaves_the_network_alone():
    net, vgg, photos, painting = setup()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    grads = [p.requires_grad for p in net.parameters()]
    start = predicted_code(net, vgg, painting)
    history, snapshots = [], {5: None}
    code = refine_code(net, vgg, painting, photos, SETTINGS, history=history, snapshots=snapshots)
    assert len(history) == SETTINGS.steps and snapshots[5].shape == start.shape == (1, 100)
    assert (code - start).abs().max() > 0.05  # the code moved
    assert fixed_loss(net, vgg, photos, painting, code) < 0.95 * fixed_loss(net, vgg, photos, painting, start)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    assert [p.requires_grad for p in net.parameters()] == grads
    again = refine_code(net, vgg, painting, photos, SETTINGS, code=start)
    assert torch.equal(code, again)  # deterministic for a seed
    other = refine_code(net, vgg, painting, photos, Refinement(**{**vars(SETTINGS), "seed": 1}), code=start)
    assert not torch.equal(code, other)


def test_refined_norms_lower_the_objective_on_a_copy():
    net, vgg, photos, painting = setup()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    own, code = refine_norms(net, vgg, painting, photos, SETTINGS)
    assert torch.equal(code, predicted_code(net, vgg, painting))
    assert fixed_loss(own, vgg, photos, painting, code) < 0.95 * fixed_loss(net, vgg, photos, painting, code)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    assert not torch.equal(own.norm_d1.scale.bias, net.norm_d1.scale.bias)
    assert torch.equal(own.down1.weight, net.down1.weight)  # the convolutions held
