"""PaintingStyleNet with code-predicted depthwise kernels (`dynamic=True`, issue 12): at init exactly the shipped
model, the kernels are per-sample depthwise convolutions, ONNX gives the torch output, training them lowers the
objective, and the trainer keeps its validation paintings out."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from daguerre.data import sources
from daguerre.imaging import load
from daguerre.models.registry import build, find_model
from daguerre.nets.painting_style_net import DynamicKernel, PaintingStyleNet
from daguerre.nets.vgg16 import load_vgg16
from daguerre.training.painting_style import (
    VGG_LAYERS,
    PaintingStyleRecipe,
    PaintingStyleTrainer,
    export_net,
    init_from_model,
    is_dynamic_parameter,
    style_terms,
)

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def sample(name: str, size: int = 96) -> torch.Tensor:
    x = torch.from_numpy(load(SAMPLES / name).rgb())[None]
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def shipped_dynamic() -> tuple[PaintingStyleNet, PaintingStyleNet, torch.Tensor]:
    """The shipped net, the dynamic net started from it, and two sample pictures' codes."""
    card = find_model("painting-style")
    plain = build(card).eval()
    dynamic = PaintingStyleNet(**card.config, dynamic=True).eval()
    init_from_model(dynamic, "painting-style")
    vgg = load_vgg16(("relu1_1", "relu2_1", "relu3_1", "relu4_1"))
    with torch.no_grad():
        codes = plain.code(vgg(torch.cat([sample("coffee.jpg", 128), sample("rocket.jpg", 128)])))
    return plain, dynamic, codes


def randomise_kernels(net: PaintingStyleNet, std: float = 0.03) -> None:
    torch.manual_seed(5)
    for m in net.modules():
        if isinstance(m, DynamicKernel):
            torch.nn.init.normal_(m.kernels.weight, std=std)
            torch.nn.init.normal_(m.kernels.bias, std=std)


def test_starting_from_the_shipped_model_gives_exactly_its_output():
    plain, dynamic, codes = shipped_dynamic()
    x = torch.cat([sample("astronaut.jpg"), sample("chelsea.jpg")])
    with torch.no_grad():
        assert torch.equal(plain(x, codes), dynamic(x, codes))
    assert "dynamic" not in plain.config and dynamic.config["dynamic"] is True
    with pytest.raises(ValueError, match="not this network's shape"):
        init_from_model(PaintingStyleNet(widths=(8, 8, 16), dynamic=True), "painting-style")


def test_the_kernels_are_each_samples_own_depthwise_convolution():
    torch.manual_seed(0)
    layer = DynamicKernel(6, 4)
    torch.nn.init.normal_(layer.kernels.weight)
    torch.nn.init.normal_(layer.kernels.bias)
    x, code = torch.rand(2, 6, 9, 11), torch.randn(2, 4)
    y = layer(x, code)
    for i in range(2):  # the reference: each sample's 6 kernels and biases as an ordinary depthwise conv
        p = layer.kernels(code[i : i + 1]).reshape(6, 10)
        ref = x[i : i + 1] + F.conv2d(F.pad(x[i : i + 1], (1, 1, 1, 1), mode="reflect"), p[:, :9].reshape(6, 1, 3, 3),
                                      p[:, 9], groups=6)
        assert torch.allclose(y[i : i + 1], ref, atol=1e-5)
    assert not torch.allclose(y[0], layer(x[:1], code[1:])[0], atol=1e-3)  # another code, another kernel


def test_onnx_export_gives_the_torch_output(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from daguerre.models.onnx import export

    _, dynamic, codes = shipped_dynamic()
    randomise_kernels(dynamic)
    path = export(dynamic, tmp_path / "dynamic.onnx", extra={"code": torch.zeros(1, 100)})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.from_numpy(load(SAMPLES / "astronaut.jpg").rgb())[None][..., :200, :136]
    with torch.no_grad():
        expected = dynamic(x, codes[:1])
        assert (expected - dynamic(x, torch.zeros(1, 100))).abs().mean() > 0.01  # the kernels do something
    got = session.run(None, {"image": x.numpy(), "code": codes[:1].numpy()})[0]
    assert np.abs(got - expected.numpy()).max() < 1e-4


def test_training_only_the_kernels_lowers_the_objective():
    """On a fixed batch (bundled photos, one painting's crop), 15 Adam steps on the dynamic kernels' predictors
    alone lower the training objective's style terms: the new layers add what the shipped net could not."""
    _, net, _ = shipped_dynamic()
    vgg = load_vgg16(VGG_LAYERS)
    x = torch.cat([sample("astronaut.jpg"), sample("coffee.jpg")])
    painting = torch.from_numpy(load(sources.paintings("train")[0]).rgb())[None]
    s = F.interpolate(painting, size=(96, 96), mode="bilinear", antialias=True, align_corners=False).expand(2, -1, -1,
                                                                                                          -1)
    with torch.no_grad():
        fs, fx = vgg(s), vgg(x)["relu2_2"]
    kernels = [p for n, p in net.named_parameters() if is_dynamic_parameter(n)]
    opt = torch.optim.Adam(kernels, lr=1e-3)

    def objective() -> torch.Tensor:
        code = net.code(fs).detach()
        y = net(x, code)
        c, gram, moment, colour = style_terms(vgg(y), fx, fs, y, s, 32)
        return c + 3e4 * gram + 0.5 * moment + 0.05 * colour

    before = objective().item()
    for _ in range(15):
        opt.zero_grad()
        objective().backward()
        opt.step()
    assert objective().item() < 0.95 * before


def test_the_trainer_keeps_its_validation_paintings_out_and_exports_a_dynamic_card(tmp_path, monkeypatch):
    paintings = [str(p) for p in sources.paintings("train")[:3]]
    recipe = PaintingStyleRecipe(content=[str(SAMPLES / "chelsea.jpg"), str(SAMPLES / "coffee.jpg")],
                                 styles=paintings, name="tiny-dynamic", steps=1, crop=64, content_short_side=96,
                                 style_short_side=96, style_crop_range=(64, 96), style_size=64, colour_size=32,
                                 batch_size=2, code_dim=8, widths=(8, 8, 16), n_residual=1, hidden=16,
                                 dynamic=True, dynamic_lr_factor=2.0, validation_styles=(Path(paintings[1]).name,))
    trainer = PaintingStyleTrainer(recipe, tmp_path / "run", progress=False)
    assert trainer.paintings.names == [Path(paintings[0]).name, Path(paintings[2]).name]
    trunk, code, dynamic = trainer.opt_g.param_groups
    assert {id(p) for p in dynamic["params"]} == {id(trainer.net.dynamic_u1.kernels.weight),
                                                  id(trainer.net.dynamic_u1.kernels.bias),
                                                  id(trainer.net.residual[0].dynamic.kernels.weight),
                                                  id(trainer.net.residual[0].dynamic.kernels.bias)}
    trainer.train()
    assert dynamic["lr"] == 2 * trunk["lr"] and trainer.net.dynamic_u1.kernels.weight.abs().sum() > 0
    export_net(trainer.net, recipe, 1, 0.0, tmp_path / "models")
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path / "models"))
    card = find_model("tiny-dynamic")
    assert card.config["dynamic"] and card.training["style_images"] == 2
    assert card.training["validation_styles"] == [Path(paintings[1]).name] and "init_model" not in card.training
    net, x, c = build(card), torch.rand(1, 3, 64, 64), torch.randn(1, 8)
    with torch.no_grad():
        assert torch.equal(net(x, c), trainer.net.eval()(x, c))
    recipe.validation_styles = ("not-a-painting.jpg",)
    with pytest.raises(ValueError, match="validation_styles"):
        PaintingStyleTrainer(recipe, tmp_path / "other", progress=False)
