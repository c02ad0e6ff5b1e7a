"""`imaging.texture`: Laplacian bands set to a painting's deviations, and the photo's detail added back."""

from pathlib import Path

import numpy as np
import pytest
import torch

from daguerre.imaging import load
from daguerre.imaging.texture import band_deviations, collapse, match_bands, mix_deviations, pyramid, with_detail

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def lab(name: str) -> np.ndarray:
    import kornia.color as kc

    return kc.rgb_to_lab(torch.from_numpy(load(SAMPLES / f"{name}.jpg").rgb())[None])[0].permute(1, 2, 0).numpy()


def test_a_pyramid_collapses_back_to_its_image():
    x = lab("coffee")[..., 0]
    assert np.abs(collapse(pyramid(x)) - x).max() < 1e-3


def test_bands_take_the_targets_deviations_within_the_gain_and_each_channel_keeps_its_deviation():
    source, target = lab("coffee"), lab("astronaut")
    wanted, before = band_deviations(target), band_deviations(source)
    out = match_bands(source, wanted)
    after = band_deviations(out)
    gain = np.clip(wanted / before, 0.5, 3.0)
    # each band lands on its target, up to the gain's bound and what collapsing and the low-pass rescale move
    assert np.abs(np.log(after / (before * gain))).max() < 0.15, (after, before * gain)  # measured 0.11
    assert np.abs(np.log(after / wanted)).mean() < 0.5 * np.abs(np.log(before / wanted)).mean()
    np.testing.assert_allclose(out.reshape(-1, 3).std(0), source.reshape(-1, 3).std(0), rtol=0.02)


def test_a_mixture_of_one_painting_is_that_painting_and_of_two_lies_between():
    a, b = band_deviations(lab("coffee")), band_deviations(lab("astronaut"))
    assert np.allclose(mix_deviations([a, b], [1.0, 0.0]), a)
    half = mix_deviations([a, b], [1.0, 1.0])
    assert np.all(half >= np.minimum(a, b) - 1e-9) and np.all(half <= np.maximum(a, b) + 1e-9)


@pytest.mark.parametrize("alpha", [0.0, 0.75])
def test_the_photos_detail_is_added_to_a_flat_picture(alpha):
    photo = torch.from_numpy(load(SAMPLES / "coffee.jpg").rgb())[None]
    flat = torch.full_like(photo, 0.5)
    out = with_detail(photo, flat, alpha, 1.5)
    change = (out - flat).abs().mean()
    assert (change == 0) if alpha == 0 else (change > 0.005)
    assert out.min() >= 0 and out.max() <= 1


def test_lab_in_strips_is_kornias_lab_and_works_in_a_forked_child():
    """`srgb_to_lab` (the exact sRGB curve, OpenCV's linear RGB -> Lab, in row strips on threads) is kornia's Lab
    within 0.05 units on a real photo, from a channels-first view as from a copy; a child forked after the threads
    started gets its own (the parent's are not in it)."""
    import os
    import time

    import kornia.color as kc

    from daguerre.imaging.lab import srgb_to_lab

    x = torch.from_numpy(load(SAMPLES / "coffee.jpg").rgb())[None]
    want = kc.rgb_to_lab(x)[0].permute(1, 2, 0).numpy()
    view = x[0].permute(1, 2, 0).numpy()
    assert np.abs(srgb_to_lab(view) - want).max() < 0.05
    assert np.array_equal(srgb_to_lab(np.ascontiguousarray(view)), srgb_to_lab(view))
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the conversion finishes and agrees
        os._exit(0 if np.abs(srgb_to_lab(view) - want).max() < 0.05 else 1)
    for _ in range(600):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError("srgb_to_lab hung in a forked child")
    assert os.waitstatus_to_exitcode(status) == 0
