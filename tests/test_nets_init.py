"""UpscaleNet is He-initialised: a new net's deep features still vary with the photo.

With PyTorch's default conv init each layer shrank the signal about six-fold; UpscaleNet's tail then saw a
near-constant picture and training never left bicubic quality. The first test fails with the default init.
"""

from __future__ import annotations

import pytest
import torch
from skimage import data
from torch import nn

from daguerre.nets.init import he_init
from daguerre.nets.upscale_net import UpscaleNet


@pytest.fixture(scope="module")
def coffee() -> torch.Tensor:
    """scikit-image's coffee photo, 128 x 128, RGB (1,3,H,W) in [0,1]."""
    x = torch.from_numpy(data.coffee()[100:356:2, 200:456:2].copy()).permute(2, 0, 1).float() / 255
    return x[None]


def variation(features: torch.Tensor) -> float:
    """How much the features change across the picture: mean over channels of their spatial std."""
    return float(features.std(dim=(2, 3)).mean())


def test_upscale_net_body_keeps_the_photo(coffee):
    torch.manual_seed(0)
    net = UpscaleNet(4, 48, 12)
    with torch.no_grad():
        head = net.body[:2](coffee)
        before_tail = net.body[:-1](coffee)
    assert variation(before_tail) > 0.3 * variation(head)  # default init: ~0.01


def test_he_init_zeroes_biases_and_scales_weights():
    conv = he_init(nn.Sequential(nn.Conv2d(16, 32, 3)), 0.2)[0]
    assert torch.equal(conv.bias, torch.zeros(32))
    expected = (2 / ((1 + 0.2**2) * 16 * 9)) ** 0.5
    assert abs(float(conv.weight.std()) - expected) < 0.1 * expected
