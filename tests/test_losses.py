"""Losses on known values."""

import torch

from daguerre.losses import content_loss, discriminator_loss, generator_loss, gram_matrix, style_loss, total_variation


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
