"""Losses on known values."""

from pathlib import Path

import numpy as np
import torch

from daguerre.losses import (
    CameraJitter,
    content_loss,
    discriminator_loss,
    generator_loss,
    gram_matrix,
    second_frame,
    style_loss,
    temporal_loss,
    total_variation,
)

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def test_gram_matrix_hand_computed():
    # two channels over a 1x2 image: f = [[1, 2], [3, 4]]
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    g = gram_matrix(f)
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / (2 * 1 * 2)
    assert torch.allclose(g[0], expected)


def test_style_loss_zero_for_own_gram_and_positive_otherwise():
    a = torch.rand(2, 8, 5, 5, generator=torch.Generator().manual_seed(0))
    grams = {"l": gram_matrix(a[:1])}
    assert style_loss({"l": a[:1]}, grams).item() == 0.0
    assert style_loss({"l": a[1:] * 2}, grams).item() > 0.0


def test_content_loss_is_mse():
    a, b = torch.zeros(1, 2, 2, 2), torch.full((1, 2, 2, 2), 3.0)
    assert content_loss(a, b).item() == 9.0


def test_total_variation_known_values():
    flat = torch.ones(1, 3, 4, 4)
    assert total_variation(flat).item() == 0.0
    stripes = torch.tensor([[0.0, 1.0, 0.0, 1.0]]).repeat(4, 1)[None, None]
    # horizontal neighbours always differ by 1, vertical never
    assert total_variation(stripes).item() == 1.0


def test_lsgan_losses():
    ones, zeros = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    assert generator_loss(ones).item() == 0.0
    assert generator_loss(zeros).item() == 1.0
    assert discriminator_loss(ones, zeros).item() == 0.0
    assert discriminator_loss(zeros, ones).item() == 1.0


def _coffee(size: int = 64) -> torch.Tensor:
    from PIL import Image

    img = Image.open(SAMPLES / "coffee.jpg").convert("RGB").resize((size + 32, size))
    return torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float() / 255


def test_temporal_loss_zero_for_a_warp_equivariant_net_and_positive_otherwise():
    x = _coffee()
    still = CameraJitter(brightness=0.0, noise=0.0)
    x2, grid, valid = second_frame(x, torch.Generator().manual_seed(0), still)
    assert 0.5 < valid.mean().item() < 1  # the motion moves some pixels out of view, not most
    assert temporal_loss(x, x2, grid, valid).item() < 1e-12  # identity: output moves exactly with the picture
    gain = lambda im: im * 0.5 + 0.25  # noqa: E731  per-pixel, so also equivariant
    assert temporal_loss(gain(x), gain(x2), grid, valid).item() < 1e-12
    ramp = torch.linspace(0, 1, x.shape[-1])  # position-dependent: does not move with the picture
    assert temporal_loss(x * ramp, x2 * ramp, grid, valid).item() > 1e-4
    # the video-like jitter alone (brightness, noise) makes frame 2 differ from frame 1 warped
    noisy, grid, valid = second_frame(x, torch.Generator().manual_seed(0))
    assert temporal_loss(x, noisy, grid, valid).item() > 1e-5


def test_second_frame_is_the_first_under_the_drawn_camera_motion():
    """A pure shift of whole pixels: frame 2 is frame 1 moved, so the grid's motion is the one applied."""
    x = _coffee()
    jitter = CameraJitter(shift=3.0, zoom=0.0, rotation=0.0, brightness=0.0, noise=0.0)
    g = torch.Generator().manual_seed(3)
    x2, grid, valid = second_frame(x, g, jitter)
    w, h = x.shape[-1], x.shape[-2]
    dx = ((grid[0, 0, 0, 0] + 1) * w / 2 - 0.5).item()  # where frame 2's pixel (0, 0) comes from in frame 1
    dy = ((grid[0, 0, 0, 1] + 1) * h / 2 - 0.5).item()
    assert abs(dx) <= 3 and abs(dy) <= 3 and (abs(dx) > 0.1 or abs(dy) > 0.1)
    ix, iy = round(dx), round(dy)
    shifted = torch.roll(x, (-iy, -ix), (2, 3))[..., 8:-8, 8:-8]
    # bilinear at a sub-pixel offset blends neighbours: close to the nearest whole-pixel shift, not to x itself
    assert (x2[..., 8:-8, 8:-8] - shifted).abs().mean() < (x2[..., 8:-8, 8:-8] - x[..., 8:-8, 8:-8]).abs().mean()
