"""The loop shared by the conditional GANs (`restore`, `colorize`), in the manner of pix2pix.

A generator and a PatchGAN discriminator that judges (condition, image) pairs, both trained with Adam;
resumable checkpoints (weights, optimisers and every RNG, so a resumed run equals an uninterrupted one),
a loss log, sample grids and a loss plot; export to safetensors with a model card. A task subclasses
`ConditionalGANTrainer` with its recipe type, networks, data, `train_step` and `sample_rows`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from daguerre.data.folder import CropSampler
from daguerre.losses import discriminator_loss, generator_loss
from daguerre.models.card import ModelCard
from daguerre.models.registry import save_model
from daguerre.nets.patchgan import PatchDiscriminator
from daguerre.training import common, distributed


@dataclass
class GANRecipe:
    content: list[str]  # photo files
    name: str = ""  # of the exported model
    steps: int = 3000
    batch_size: int = 4
    crop: int = 128
    content_short_side: int = 256
    widths: tuple[int, ...] = (16, 32, 64, 128)  # UNet channels per level
    l1_weight: float = 1.0
    adversarial_weight: float = 0.05
    lr: float = 2e-4
    d_lr: float = 2e-4
    lr_decay_from: int = 0  # > 0: both learning rates fall linearly to zero from this step to `steps` (pix2pix)
    d_width: int = 32
    seed: int = 0
    sample_every: int = 250
    checkpoint_every: int = 100
    threads: int = 1
    init_from: str = ""  # a model (name or card file) of this task to continue: its weights and step count


class ConditionalGANTrainer:
    task: ClassVar[str]
    recipe_type: ClassVar[type[GANRecipe]]
    architecture: ClassVar[str]  # name in daguerre.nets.ARCHITECTURES
    description: ClassVar[str]
    losses: ClassVar[str]
    loss_weights: ClassVar[tuple[str, ...]]  # recipe fields recorded on the card
    disc_channels: ClassVar[int]  # condition + image channels the discriminator sees

    def __init__(self, recipe: GANRecipe, run_dir: Path, progress: bool = True):
        self.recipe, self.run_dir, self.progress = recipe, Path(run_dir), progress
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(recipe.threads)
        self.rng = common.seed_everything(recipe.seed)
        self.net = self.make_net(recipe)
        self.disc = PatchDiscriminator(in_channels=self.disc_channels, width=recipe.d_width)
        distributed.broadcast(self.net)
        distributed.broadcast(self.disc)
        self.opt_g = torch.optim.Adam(self.net.parameters(), lr=recipe.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=recipe.d_lr, betas=(0.5, 0.999))
        crops = CropSampler([Path(p) for p in recipe.content], recipe.content_short_side, recipe.crop,
                            progress=progress)
        self.make_data(crops)
        self.step, self.wall_time = 0, 0.0
        self.parent: dict | None = None  # the exported model this run continues (`init_from`), as recorded
        self.log = common.LossLog(self.run_dir / "losses.csv")
        self._resume()
        if distributed.rank():  # other processes draw other crops and aging
            self.rng = distributed.data_generator(recipe.seed, self.step)
            common.seed_everything(int(torch.randint(2**31, (1,), generator=self.rng)))

    @classmethod
    def make_net(cls, recipe: GANRecipe) -> nn.Module:
        raise NotImplementedError

    def make_data(self, crops: CropSampler) -> None:
        """Set up the pair sampler, fixed sample pairs and loss modules."""
        raise NotImplementedError

    def train_step(self) -> dict[str, float]:
        raise NotImplementedError

    def sample_rows(self) -> list[list[torch.Tensor]]:
        """Rows of (3,H,W) images for the sample grid (called in eval mode, without gradients)."""
        raise NotImplementedError

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def _resume(self) -> None:
        """Resume the run's checkpoint; without one, start from `recipe.init_from` if set."""
        if self.checkpoint_path.is_file():
            common.resume_gan(self, self.checkpoint_path)
        elif self.recipe.init_from:
            self._init_from(self.recipe.init_from)

    def _init_from(self, model: str) -> None:
        """Continue training an exported model: the generator's weights and its step count and training time
        come from the model; the discriminator and optimisers start anew (a model keeps neither)."""
        from daguerre.models.card import ModelCard
        from daguerre.models.registry import build, find_model

        if model.endswith(".json") and not Path(model).is_file():
            raise ValueError(f"init_from {model!r}: no such model card")
        card = ModelCard.load(Path(model)) if model.endswith(".json") else find_model(model)
        if card.task != self.task or card.config != json.loads(json.dumps(self.net.config)):  # tuples as lists
            raise ValueError(f"init_from {model!r}: a {card.task} model with config {card.config}, but this recipe "
                             f"trains a {self.task} model with config {self.net.config}")
        self.net.load_state_dict(build(card).state_dict())
        self.net.train()
        # a name finds whichever model has it now, a card file may be deleted: record the weights themselves
        self.parent = {"model": card.name, "sha256": card.sha256, "steps": card.training.get("steps"),
                       "init_from": model}
        self.step = int(card.training.get("steps", 0))
        self.wall_time = float(card.training.get("wall_time_s", 0.0))

    def save_checkpoint(self) -> None:
        if distributed.is_main():  # one writer; the others wait so that a resume finds it complete
            common.save_checkpoint(self.checkpoint_path, common.gan_state(self))
        distributed.barrier()

    def adversarial(self, condition: torch.Tensor, real: torch.Tensor,
                    fake: torch.Tensor) -> tuple[float, torch.Tensor]:
        """One discriminator update on (condition, real) vs (condition, fake); returns its loss and the
        generator's LSGAN loss on (condition, fake), still to be backpropagated."""
        d_loss = discriminator_loss(self.disc(torch.cat([condition, real], 1)),
                                    self.disc(torch.cat([condition, fake.detach()], 1)))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        distributed.average_gradients(self.disc)
        for group in self.opt_d.param_groups:
            group["lr"] = self.recipe.d_lr * self.lr_factor()
        self.opt_d.step()
        return d_loss.item(), generator_loss(self.disc(torch.cat([condition, fake], 1)))

    def lr_factor(self) -> float:
        """1, then with `lr_decay_from` falling linearly to 0 at `steps` (pix2pix's n_epochs_decay)."""
        r = self.recipe
        if not r.lr_decay_from or self.step < r.lr_decay_from or r.steps <= r.lr_decay_from:
            return 1.0
        return max(0.0, (r.steps - self.step) / (r.steps - r.lr_decay_from))

    def generator_update(self, loss: torch.Tensor, lr: float | None = None) -> None:
        """One generator step, at the recipe's (decayed) learning rate or at `lr`."""
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.net)
        for group in self.opt_g.param_groups:
            group["lr"] = self.recipe.lr * self.lr_factor() if lr is None else lr
        self.opt_g.step()
        self.step += 1

    def warmup_update(self, loss: torch.Tensor, lr: float) -> None:
        """A generator step at another learning rate (warm-up stages: L1 only, no discriminator)."""
        self.generator_update(loss, lr)

    def write_samples(self) -> None:
        if not distributed.is_main():
            return
        self.net.eval()
        with torch.no_grad():
            rows = self.sample_rows()
        self.net.train()
        common.image_grid(rows, self.run_dir / f"samples_{self.step:06d}.png")
        self.log.plot(self.run_dir / "losses.png")

    def train(self, steps: int | None = None) -> None:
        """Run until `steps` (default: the recipe's) steps are done, checkpointing as it goes."""
        common.train_loop(self, self.recipe.steps if steps is None else steps, self.task)

    def export(self, folder: Path, recipe_name: str = "") -> ModelCard:
        """Save the generator (safetensors) with its model card."""
        return self.export_net(self.net, self.recipe, self.step, self.wall_time, folder, recipe_name, self.parent)

    @classmethod
    def export_checkpoint(cls, checkpoint: Path, folder: Path, recipe_name: str = "") -> ModelCard:
        """Export a training checkpoint without loading the training data."""
        state = common.load_checkpoint(checkpoint)
        if state is None:
            raise FileNotFoundError(f"{checkpoint}: no checkpoint")
        recipe = cls.recipe_type(**state["recipe"])
        net = cls.make_net(recipe)
        net.load_state_dict(state["generator"])
        return cls.export_net(net, recipe, state["step"], state["wall_time"], folder, recipe_name,
                              state.get("parent"))

    @classmethod
    def export_net(cls, net: nn.Module, recipe: GANRecipe, step: int, wall_time: float, folder: Path,
                   recipe_name: str = "", parent: dict | None = None) -> ModelCard:
        name = recipe.name or cls.task
        training = {
            "recipe": recipe_name, "steps": step, "wall_time_s": round(wall_time, 1),
            "content_images": len(recipe.content), "crop": recipe.crop, "batch_size": recipe.batch_size,
            "seed": recipe.seed, "weights": {k: getattr(recipe, k) for k in cls.loss_weights},
            "losses": cls.losses, "lr": recipe.lr, "d_lr": recipe.d_lr, "lr_decay_from": recipe.lr_decay_from,
        }
        if recipe.init_from:  # older checkpoints kept only the name or path given
            training["continued_from"] = parent or recipe.init_from
        card = ModelCard(
            name=name, task=cls.task, architecture=cls.architecture, config=net.config,
            weights=f"{name}.safetensors", description=cls.description,
            training=training,
        )
        net.eval()
        return save_model(net, card, folder)
