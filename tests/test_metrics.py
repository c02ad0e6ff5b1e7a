"""Metrics on real bundled photographs (scikit-image astronaut, chelsea, coffee) at 128x128."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from skimage import data

from daguerre.metrics import (
    LPIPS,
    chroma_error,
    colourfulness,
    content_distance,
    fid,
    frechet_distance,
    gram_matrix,
    kid,
    lpips,
    psnr,
    sharpness,
    ssim,
    style_distance,
    temporal_error,
)
from daguerre.metrics.distribution import _fid_low_rank


def photo(img: np.ndarray, size: int = 256) -> np.ndarray:
    """Centred crop halved by 2x2 block means (library-independent): float64 CHW in [0, 1], size/2 px."""
    h, w = img.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    x = img[top:top + size, left:left + size].astype(np.float64).transpose(2, 0, 1) / 255
    return x.reshape(3, size // 2, 2, size // 2, 2).mean(axis=(2, 4))


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(x, (0, sigma, sigma), mode="reflect")


ASTRONAUT = photo(data.astronaut())
CHELSEA = photo(data.chelsea())
COFFEE = photo(data.coffee())


# --- PSNR / SSIM -----------------------------------------------------------------------------------------


def test_psnr_identical_and_known_noise():
    assert psnr(ASTRONAUT, ASTRONAUT) == math.inf
    a = 0.1 + 0.8 * ASTRONAUT  # keep ±0.01 inside [0, 1]
    signs = np.where(np.random.default_rng(0).random(a.shape) < 0.5, -1.0, 1.0)
    assert psnr(a, a + 0.01 * signs) == pytest.approx(40.0, abs=1e-9)  # MSE 1e-4 exactly
    noisy = a + np.random.default_rng(1).normal(0, 0.05, a.shape)
    assert psnr(a, noisy) == pytest.approx(20 * math.log10(1 / 0.05), abs=0.1)


def test_psnr_y_channel_and_batches():
    grey = np.repeat(ASTRONAUT.mean(0, keepdims=True), 3, axis=0)
    other = np.clip(grey + 0.02, 0, 1)
    # studio-range luma scales the error by 219/255
    assert psnr(grey, other, y_channel=True) == pytest.approx(psnr(grey, other) + 20 * math.log10(255 / 219))
    batch = torch.from_numpy(np.stack([ASTRONAUT, CHELSEA])).float()
    values = psnr(batch, batch.flip(-1))
    assert isinstance(values, np.ndarray) and values.shape == (2,) and np.all(values < 30)
    with pytest.raises(ValueError, match="same shape"):
        psnr(ASTRONAUT, ASTRONAUT[:, :64])


def test_ssim_identical_blur_and_luma():
    assert ssim(CHELSEA, CHELSEA) == pytest.approx(1.0)
    values = [ssim(CHELSEA, blur(CHELSEA, s)) for s in (0.5, 1.0, 2.0)]
    assert 1.0 > values[0] > values[1] > values[2] > 0.2
    assert 0 < ssim(CHELSEA, blur(CHELSEA, 1.0), y_channel=True) < 1
    batch = torch.from_numpy(np.stack([CHELSEA, COFFEE]))
    np.testing.assert_allclose(ssim(batch, batch), [1.0, 1.0])


# --- LPIPS -----------------------------------------------------------------------------------------------


def test_lpips_golden_values():
    """LPIPS v0.1 (VGG) on fixed pairs; random VGG weights give 0.04 / 0.22 instead."""
    assert lpips(ASTRONAUT, blur(ASTRONAUT, 2.0)) == pytest.approx(0.31805, abs=1e-3)
    assert lpips(CHELSEA, COFFEE) == pytest.approx(0.72723, abs=1e-3)


def test_lpips_zero_for_identical_and_monotone_in_blur():
    assert lpips(CHELSEA, CHELSEA) == 0.0
    values = [lpips(ASTRONAUT, blur(ASTRONAUT, s)) for s in (0.5, 1.0, 2.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_lpips_module_batches_and_is_a_differentiable_loss():
    model = LPIPS()
    a = torch.from_numpy(np.stack([ASTRONAUT, CHELSEA])).float()
    b = torch.from_numpy(np.stack([blur(ASTRONAUT, 2.0), COFFEE])).float()
    with torch.no_grad():
        batch = model(a, b)
    np.testing.assert_allclose(batch.numpy(), lpips(a, b), atol=1e-6)
    np.testing.assert_allclose(batch.numpy(), [0.31805, 0.72723], atol=1e-3)
    x = b[:1, :, :64, :64].clone().requires_grad_(True)
    model(x, a[:1, :, :64, :64]).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="vgg"):
        LPIPS(net="alex")


def test_lpips_with_random_vgg_weights_is_very_different():
    model = LPIPS()
    torch.manual_seed(0)
    for conv in model.net.body:
        if isinstance(conv, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(conv.weight)
            torch.nn.init.zeros_(conv.bias)
    with torch.no_grad():
        value = model(torch.from_numpy(CHELSEA)[None].float(), torch.from_numpy(COFFEE)[None].float())
    assert abs(value.item() - 0.72723) > 0.2


# --- Gram / style / content ------------------------------------------------------------------------------


def test_gram_matrix_hand_computed():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)  # C=2, H=1, W=2
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / (2 * 1 * 2)
    torch.testing.assert_close(gram_matrix(f)[0], expected)


def test_style_and_content_distances():
    assert style_distance(CHELSEA, CHELSEA) == 0.0 and content_distance(CHELSEA, CHELSEA) == 0.0
    # golden values (VGG19 features are on Caffe's 0-255 scale, hence the magnitudes)
    assert style_distance(CHELSEA, COFFEE) == pytest.approx(1768956, rel=1e-3)
    assert content_distance(CHELSEA, COFFEE) == pytest.approx(1338166, rel=1e-3)
    assert style_distance(CHELSEA, blur(CHELSEA, 2.0)) < 0.3 * style_distance(CHELSEA, COFFEE)
    assert content_distance(CHELSEA, blur(CHELSEA, 2.0)) < 0.3 * content_distance(CHELSEA, COFFEE)
    # Gram matrices ignore size; one style image is compared with every image of a batch
    small = COFFEE[:, :64, :64]
    values = style_distance(np.stack([CHELSEA, COFFEE]), small)
    assert values.shape == (2,) and values[1] < values[0]
    with pytest.raises(ValueError, match="same size"):
        content_distance(CHELSEA, small)


# --- FID / KID -------------------------------------------------------------------------------------------


def test_frechet_distance_analytic_and_low_rank_identity():
    # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 2
    assert frechet_distance(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)) == pytest.approx(2.0)
    rng = np.random.default_rng(0)
    for n, d in ((30, 8), (20, 64)):  # full-rank and singular covariances
        a, b = rng.normal(size=(n, d)), rng.normal(size=(n + 5, d)) * 1.5 + 0.2
        exact = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
        assert _fid_low_rank(a, b) == pytest.approx(exact, rel=1e-6)
    a = rng.normal(size=(10, 2048))
    assert abs(fid(a, a)) < 1e-8 and fid(a, a + 0.5) == pytest.approx(0.25 * 2048, rel=1e-9)


def test_kid_matches_and_separates_distributions():
    rng = np.random.default_rng(0)
    a, b, shifted = rng.normal(size=(200, 16)), rng.normal(size=(200, 16)), rng.normal(size=(200, 16)) + 0.5
    same = kid(a, b, num_subsets=20, max_subset_size=100)
    different = kid(a, shifted, num_subsets=20, max_subset_size=100)
    assert abs(same) < 0.02 and different > 0.5
    assert kid(a, b, num_subsets=5, seed=1) == kid(a, b, num_subsets=5, seed=1)


# --- colourfulness / sharpness / temporal ----------------------------------------------------------------


def test_colourfulness():
    assert colourfulness(np.repeat(CHELSEA.mean(0, keepdims=True), 3, axis=0)) == pytest.approx(0.0)
    red = np.zeros((3, 8, 8))
    red[0] = 1.0  # rg = 255, yb = 127.5, no spread
    assert colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    assert colourfulness(CHELSEA) < colourfulness(COFFEE)  # tabby cat vs red cup
    assert colourfulness(torch.from_numpy(np.stack([CHELSEA, COFFEE]))).shape == (2,)


def test_chroma_error():
    """0 for the same colours; sRGB red against any grey is red's CIELAB chroma, hypot(80.09, 67.20)."""
    assert chroma_error(COFFEE, COFFEE) == pytest.approx(0.0, abs=1e-3)
    red, grey = np.zeros((3, 8, 8)), np.full((3, 8, 8), 0.4)
    red[0] = 1.0
    assert chroma_error(red, grey) == pytest.approx(math.hypot(80.09, 67.20), abs=0.1)
    def greyed(x: np.ndarray) -> np.ndarray:
        return np.repeat(x.mean(0, keepdims=True), 3, axis=0)

    assert chroma_error(greyed(COFFEE), COFFEE) > chroma_error(greyed(CHELSEA), CHELSEA) > 0  # red cup vs tabby
    assert chroma_error(torch.from_numpy(np.stack([COFFEE, CHELSEA])), np.stack([COFFEE, COFFEE])).shape == (2,)
    with pytest.raises(ValueError, match="RGB"):
        chroma_error(COFFEE[:1], COFFEE[:1])


def test_sharpness():
    assert sharpness(np.full((3, 32, 32), 0.5)) == 0.0
    values = [sharpness(blur(ASTRONAUT, s)) for s in (0.0, 1.0, 2.0)]
    assert values[0] > values[1] > values[2] > 0
    assert sharpness(torch.from_numpy(ASTRONAUT[:1])[None]).shape == (1,)  # single-channel batch


def test_temporal_error():
    frames = np.stack([np.clip(CHELSEA * 0.8 + 0.1 * t, 0, 1) for t in range(3)])
    assert temporal_error(np.stack([CHELSEA] * 3)) == 0.0
    assert temporal_error(frames) == pytest.approx(0.1)
    assert temporal_error(frames, warped=frames[1:]) == 0.0
    mask = np.zeros((2, 1, 128, 128))
    mask[:, :, :64] = 1
    warped = frames[1:].copy()
    warped[:, :, 64:] = 0  # garbage only where the mask is 0
    assert temporal_error(frames, warped, mask) == 0.0
    with pytest.raises(ValueError, match="two frames"):
        temporal_error(frames[:1])


def test_colour_distance_sees_a_palette_change_not_a_resize():
    from daguerre.imaging.colour import downscale
    from daguerre.metrics import colour_distance

    photo = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float()[None] / 255
    assert colour_distance(photo[0], photo[0]) == 0
    smaller = downscale(photo, 200)  # the same palette at another size
    warmer = (photo * torch.tensor([1.0, 0.85, 0.7]).view(1, 3, 1, 1)).clamp(0, 1)
    warmest = (photo * torch.tensor([1.0, 0.7, 0.4]).view(1, 3, 1, 1)).clamp(0, 1)
    near, mid, far = (colour_distance(photo[0], x[0]) for x in (smaller, warmer, warmest))
    assert near < 1.0 and 10 * near < mid < far, (near, mid, far)
    assert colour_distance(torch.cat([photo, photo]), torch.cat([warmer, warmest])).shape == (2,)


def test_pictures_too_small_for_ssim_lpips_or_style_are_measured_without_them(tmp_path):
    """SSIM (11x11 window), LPIPS and the style distance (four VGG poolings) cannot measure pictures under 11 and
    16 px a side: `evaluate` raised skimage's paragraph or torch's "Output size is too small". It reports PSNR and
    says in one line, naming the file, what it left out and why; the metrics themselves say so in one line."""
    import warnings

    from typer.testing import CliRunner

    import daguerre
    from daguerre.cli import app
    from daguerre.imaging import Picture, save

    rng = np.random.default_rng(0)
    for name, (w, h) in {"eight": (8, 8), "twelve": (12, 12), "strip": (600, 1)}.items():
        save(Picture(rng.random((3, h, w), dtype=np.float32)), tmp_path / f"{name}.png")
    with pytest.warns(UserWarning) as said:
        m = daguerre.evaluate(tmp_path / "eight.png", tmp_path / "eight.png", style=tmp_path / "twelve.png")
    assert m == {"psnr": math.inf}
    assert [str(w.message) for w in said] == [f"{tmp_path / 'eight.png'} is 8x8: SSIM needs at least 11 px on a side, "
                                              "LPIPS 16, style distance 16: not measured"]
    with pytest.warns(UserWarning, match=r"twelve.png is 12x12: LPIPS needs at least 16 px on a side: not measured"):
        m = daguerre.evaluate(tmp_path / "twelve.png", tmp_path / "twelve.png")
    assert set(m) == {"psnr", "ssim"} and m["ssim"] == pytest.approx(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = Picture(ASTRONAUT.astype(np.float32))
        assert set(daguerre.evaluate(big, big)) == {"psnr", "ssim", "lpips"}  # big enough: no note
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "strip.png"), "-r", str(tmp_path / "strip.png")])
    assert result.exit_code == 0, result.output
    assert "strip.png is 600x1: SSIM needs at least 11 px on a side, LPIPS 16: not measured" in result.output
    assert "inf" in result.output and "Traceback" not in result.output
    tiny = rng.random((3, 8, 8))
    with pytest.raises(ValueError, match="SSIM needs pictures at least 11 px on a side, got 8x8"):
        ssim(tiny, tiny)
    with pytest.raises(ValueError, match="LPIPS needs pictures at least 16 px on a side, got 8x8"):
        lpips(tiny, tiny)
