"""Training on two processes (gloo, loopback), under torchrun and with `daguerre train recipe --nproc 2`, for a
restore and a style recipe: equal parameters after each step, different crops per process, one checkpoint and
one model written, and a resumed run continues."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import daguerre

SRC = str(Path(daguerre.__file__).parents[1])
TORCHRUN = Path(sys.executable).with_name("torchrun")


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(TORCHRUN), "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port",
                           str(port), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    if not TORCHRUN.exists():
        pytest.skip("torchrun is not installed next to this Python")
    photos = tmp_path / "photos"
    shutil.copytree(Path(daguerre.__file__).parent / "samples", photos)
    path = tmp_path / "tiny.toml"
    path.write_text(f'kind = "restore"\nname = "tiny-restore"\ncontent = "{photos}"\nsteps = 2\nbatch_size = 1\n'
                    "crop = 64\ncontent_short_side = 96\nmin_strength = 1.0\nwidths = [4, 8]\nmask_width = 4\n"
                    "perceptual_weight = 0.0\n"
                    "d_width = 4\ncheckpoint_every = 1\nsample_every = 100\n")
    return path


@pytest.fixture
def style_recipe(tmp_path: Path) -> Path:
    """A tiny style recipe: one painting (a bundled photo stands in), 64 px crops, a narrow StyleNet; never the
    held-out coffee photo."""
    samples, photos = Path(daguerre.__file__).parent / "samples", tmp_path / "style-photos"
    photos.mkdir()
    for name in ("astronaut.jpg", "rocket.jpg"):
        shutil.copy(samples / name, photos)
    path = tmp_path / "tiny-style.toml"
    path.write_text(f'kind = "style"\ncontent = "{photos}"\nsteps = 2\nbatch_size = 1\ncrop = 64\n'
                    "content_short_side = 96\nstyle_size = 64\nwidths = [4, 8, 8]\nn_residual = 1\nthreads = 1\n"
                    f'checkpoint_every = 1\nsample_every = 100\n[styles]\ntiny-style = "{samples / "chelsea.jpg"}"\n')
    return path


@pytest.fixture
def painting_recipe(tmp_path: Path) -> Path:
    """A tiny painting-style (arbitrary style) recipe: two photos, one painting (a bundled photo stands in)."""
    samples, photos, paintings = (Path(daguerre.__file__).parent / "samples", tmp_path / "p-photos",
                                  tmp_path / "p-paintings")
    for folder, names in ((photos, ("astronaut.jpg", "rocket.jpg")), (paintings, ("chelsea.jpg",))):
        folder.mkdir()
        for name in names:
            shutil.copy(samples / name, folder)
    path = tmp_path / "tiny-painting.toml"
    path.write_text(f'kind = "arbitrary"\nname = "tiny-painting"\ncontent = "{photos}"\nstyles = "{paintings}"\n'
                    "steps = 2\nbatch_size = 1\ncrop = 64\ncontent_short_side = 96\nstyle_short_side = 96\n"
                    "style_crop_range = [48, 96]\nstyle_size = 64\ncolour_size = 32\ncode_dim = 8\n"
                    "widths = [4, 8, 8]\nn_residual = 1\nhidden = 16\ncheckpoint_every = 1\nsample_every = 100\n")
    return path


@pytest.mark.parametrize("which", ["recipe", "style_recipe", "painting_recipe"])
def test_two_processes_keep_equal_parameters_on_different_crops(which, request, tmp_path):
    recipe = request.getfixturevalue(which)
    run = tmp_path / "run"
    done = torchrun(str(Path(__file__).with_name("ddp_train.py")), str(recipe), str(run), "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [(run / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    (before0, after0, batch0, step0), (before1, after1, batch1, step1) = ranks
    assert before0 == before1 and after0 == after1  # same start, gradients averaged: same parameters
    assert after0 != before0  # it trained
    assert batch0 != batch1  # each process drew its own crops
    assert step0 == step1 == "2"
    assert sorted(p.name for p in run.iterdir() if p.suffix in (".pt", ".tmp")) == ["checkpoint.pt"]
    assert len((run / "losses.csv").read_text().splitlines()) == 1 + 2  # rank 0 alone logs


def test_torchrun_train_recipe_writes_once_and_resumes(recipe, tmp_path):
    run, out = tmp_path / "run", tmp_path / "models"
    args = ["-m", "daguerre", "train", "recipe", str(recipe), "--run-dir", str(run), "--out", str(out)]
    first = torchrun(*args, "--steps", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stderr.count("saved model tiny-restore") == 1
    assert sorted(p.name for p in out.iterdir()) == ["tiny-restore.json", "tiny-restore.safetensors"]
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2
    again = torchrun(*args, "--steps", "3", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 3
    assert [line.split(",")[0] for line in (run / "losses.csv").read_text().splitlines()] == ["step", "1", "2", "3"]


def test_nproc_trains_a_style_recipe_on_two_processes_writes_once_and_resumes(style_recipe, tmp_path):
    run, out = tmp_path / "run", tmp_path / "models"
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}

    def train(steps: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "daguerre", "train", "recipe", str(style_recipe), "--nproc", "2",
                               "--run-dir", str(run), "--out", str(out), "--steps", str(steps)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)

    first = train(2)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stderr.count("saved model tiny-style") == 1  # rank 0 alone exports
    assert sorted(p.name for p in out.iterdir()) == ["tiny-style.json", "tiny-style.safetensors"]
    assert sorted(p.name for p in run.iterdir() if p.suffix in (".pt", ".tmp")) == ["checkpoint.pt"]
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 2
    again = train(3)
    assert again.returncode == 0, again.stderr[-3000:]
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 3
    assert [line.split(",")[0] for line in (run / "losses.csv").read_text().splitlines()] == ["step", "1", "2", "3"]


def test_nproc_with_a_missing_recipe_fails_in_one_line_before_starting_processes(tmp_path):
    missing = tmp_path / "nosuch.toml"
    done = subprocess.run([sys.executable, "-m", "daguerre", "train", "recipe", str(missing), "--nproc", "2"],
                          env={**os.environ, "PYTHONPATH": SRC}, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: {missing}: no such recipe file"]
