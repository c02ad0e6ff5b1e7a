"""Pieces every training loop shares: resumable checkpoints, loss logs, sample grids, loss plots."""

from __future__ import annotations

import csv
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomically write a checkpoint (a kill mid-write leaves the previous one intact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    path = Path(path)
    return torch.load(path, map_location="cpu", weights_only=False) if path.is_file() else None


def rng_state(generator: torch.Generator) -> dict:
    return {
        "torch": torch.get_rng_state(),
        "data": generator.get_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_state(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["data"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return torch.Generator().manual_seed(seed)


def gan_state(trainer) -> dict:
    """Everything a GAN trainer (net, disc, opt_g, opt_d, rng, step, wall_time, recipe) needs to resume exactly."""
    return {
        "step": trainer.step, "wall_time": trainer.wall_time,
        "generator": trainer.net.state_dict(), "discriminator": trainer.disc.state_dict(),
        "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict(),
        "rng": rng_state(trainer.rng), "recipe": asdict(trainer.recipe), "parent": getattr(trainer, "parent", None),
    }


def same_subject(path: Path, state: dict, recipe: object, fields: dict[str, str]) -> None:
    """Refuse to resume a checkpoint whose recipe learnt something else: the painting of a style run, the period
    collection of a retro run (`fields`: recipe field -> its name for the user); a run folder reused under the same
    name would otherwise mix the two and export a card naming only the new one. Step counts and learning settings
    may change on resume."""
    saved = state.get("recipe") or {}
    current = asdict(recipe)
    for field, what in fields.items():
        if field in saved and saved[field] != current[field]:
            raise ValueError(f"{path.parent}: this run folder trained on another {what} than the one given; use "
                             "another --name or --run-dir (or delete the folder to start again)")


def resume_gan(trainer, path: Path, same: dict[str, str] | None = None) -> None:
    """Load `gan_state` from `path` into the trainer, if a checkpoint is there (`same`: `same_subject`'s fields)."""
    state = load_checkpoint(path)
    if state is None:
        return
    same_subject(path, state, trainer.recipe, same or {})
    trainer.net.load_state_dict(state["generator"])
    trainer.disc.load_state_dict(state["discriminator"])
    trainer.opt_g.load_state_dict(state["opt_g"])
    trainer.opt_d.load_state_dict(state["opt_d"])
    set_rng_state(state["rng"], trainer.rng)
    trainer.step, trainer.wall_time = state["step"], state["wall_time"]
    trainer.parent = state.get("parent")


class LossLog:
    """Losses per step in a CSV file (appended, so resumed runs keep one log)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, step: int, losses: dict[str, float]) -> None:
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(["step", *losses])
            w.writerow([step, *(f"{v:.6g}" for v in losses.values())])

    def read(self) -> dict[str, list[float]]:
        if not self.path.exists():
            return {}
        with open(self.path) as f:
            rows = list(csv.DictReader(f))
        return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {})}

    def plot(self, out: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        data = self.read()
        if not data:
            return
        steps = data.pop("step")
        fig, axes = plt.subplots(1, len(data), figsize=(3.2 * len(data), 2.8), squeeze=False)
        for ax, (name, values) in zip(axes[0], data.items(), strict=True):
            ax.plot(steps, values, lw=0.8)
            ax.set_title(name)
            ax.set_xlabel("step")
            ax.set_yscale("log" if min(values) > 0 else "linear")
        fig.tight_layout()
        fig.savefig(out, dpi=90)
        plt.close(fig)


def image_grid(rows: list[list[torch.Tensor]], out: Path, pad: int = 4) -> None:
    """Save a grid of (3,H,W) [0,1] tensors (rows of equal-sized images) as a PNG."""
    h = max(t.shape[1] for r in rows for t in r)
    w = max(t.shape[2] for r in rows for t in r)
    ncol = max(len(r) for r in rows)
    canvas = torch.ones(3, len(rows) * (h + pad) + pad, ncol * (w + pad) + pad)
    for i, row in enumerate(rows):
        for j, t in enumerate(row):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            canvas[:, y : y + t.shape[1], x : x + t.shape[2]] = t.clamp(0, 1)
    arr = (canvas.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(arr).save(out)


def train_loop(trainer, target: int, label: str, on_step: Callable[[int, dict], None] | None = None) -> None:
    """Call `trainer.train_step()` until `trainer.step` reaches `target`: a rich progress bar with the losses,
    the loss log, a checkpoint every `recipe.checkpoint_every` steps and samples every `recipe.sample_every`
    (both also at the end). The trainer has `step`, `wall_time`, `recipe`, `log`, `progress`, `train_step()`
    (which advances `step` and returns the losses), `save_checkpoint()` and `write_samples()`.
    `on_step(step, losses)` is called after each step (a background job reports progress and stops there)."""
    columns = (TextColumn(f"[bold]training {label}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), TimeRemainingColumn())
    from daguerre.training.distributed import is_main

    main = is_main()  # under torchrun only rank 0 logs and shows progress
    with Progress(*columns, disable=not (trainer.progress and main)) as bar:
        task = bar.add_task("train", total=target, completed=trainer.step, losses="")
        while trainer.step < target:
            t0 = time.perf_counter()
            losses = trainer.train_step()
            trainer.wall_time += time.perf_counter() - t0
            if main:
                trainer.log.write(trainer.step, losses)
            bar.update(task, completed=trainer.step, losses=" ".join(f"{k}={v:.3g}" for k, v in losses.items()))
            if trainer.step % trainer.recipe.checkpoint_every == 0 or trainer.step == target:
                trainer.save_checkpoint()
            if trainer.step % trainer.recipe.sample_every == 0 or trainer.step == target:
                trainer.write_samples()
            if on_step:
                on_step(trainer.step, losses)
