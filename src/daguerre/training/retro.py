"""Train `retro`: an unpaired CycleGAN (Zhu et al. 2017) that learns the look of a user's own period collection.

Two generators, G: modern -> period (the one exported) and F: period -> modern, both `RetroNet`; two
`PatchDiscriminator`s, one per domain. Losses as in the paper: LSGAN adversarial for each generator, cycle
consistency L1 (F(G(m)) = m and G(F(p)) = p, weight 10) and identity L1 (G(p) = p and F(m) = m, weight
0.5 x 10 = 5); each discriminator judges real pictures against a pool of the last 50 fakes (Shrivastava
et al. 2017). Adam (2e-4, betas 0.5 and 0.999), one optimiser per network.

Resumable exactly: the checkpoint holds the four networks, the four optimisers, both image pools and every
RNG, so a resumed run equals an uninterrupted one. The run folder gets the loss log (CSV and plot) and
sample grids: rows of modern | G(modern) | F(G(modern)), then rows of period | F(period).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from daguerre.data.unpaired import UnpairedCrops
from daguerre.losses import cycle_loss, discriminator_loss, generator_loss, identity_loss
from daguerre.models.card import ModelCard
from daguerre.models.registry import save_model
from daguerre.nets.patchgan import PatchDiscriminator
from daguerre.nets.retro_net import RetroNet
from daguerre.training import common
from daguerre.training.image_pool import ImagePool

SAMPLES = 3  # sample grid rows per domain


@dataclass
class RetroRecipe:
    period: list[str]  # files of the period collection whose look is learnt
    modern: list[str]  # files of modern photos
    name: str = "retro"  # of the exported model
    steps: int = 3000
    batch_size: int = 1
    crop: int = 128
    content_short_side: int = 256  # both sets are resized to this short side before cropping
    width: int = 16  # generator channels at full resolution (x2 at 1/2, x4 at 1/4 scale)
    n_residual: int = 4  # generator residual blocks at 1/4 scale
    d_width: int = 32
    cycle_weight: float = 10.0
    identity_weight: float = 5.0  # 0.5 x cycle_weight, as in Zhu et al.
    adversarial_weight: float = 1.0
    pool_size: int = 50  # fakes remembered for each discriminator
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    sample_every: int = 250
    checkpoint_every: int = 100
    threads: int = 1

    def __post_init__(self) -> None:
        self.betas = (float(self.betas[0]), float(self.betas[1]))  # TOML gives a list


class RetroTrainer:
    task = "retro"
    architecture = "RetroNet"  # name in daguerre.nets.ARCHITECTURES
    description = (
        "Gives a modern photograph the look of a period photo collection: the modern-to-period generator "
        "of an unpaired CycleGAN, predicting a change to the photo"
    )
    losses = (
        "LSGAN PatchGAN adversarial (both directions) + cycle-consistency L1 + identity L1; discriminators "
        "judge a pool of past fakes"
    )

    def __init__(self, recipe: RetroRecipe, run_dir: Path, progress: bool = True):
        self.recipe, self.run_dir, self.progress = recipe, Path(run_dir), progress
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(recipe.threads)
        self.rng = common.seed_everything(recipe.seed)
        self.g = self.make_net(recipe)  # modern -> period
        self.f = self.make_net(recipe)  # period -> modern
        self.d_period = PatchDiscriminator(width=recipe.d_width)
        self.d_modern = PatchDiscriminator(width=recipe.d_width)
        self.opt_g, self.opt_f, self.opt_d_period, self.opt_d_modern = (
            torch.optim.Adam(net.parameters(), lr=recipe.lr, betas=recipe.betas)
            for net in (self.g, self.f, self.d_period, self.d_modern)
        )
        self.pool_period, self.pool_modern = ImagePool(recipe.pool_size), ImagePool(recipe.pool_size)
        self.data = UnpairedCrops(
            [Path(p) for p in recipe.modern],
            [Path(p) for p in recipe.period],
            recipe.content_short_side,
            recipe.crop,
            progress=progress,
        )
        self.samples = self.data.sample(SAMPLES, torch.Generator().manual_seed(1234))
        self.step, self.wall_time = 0, 0.0
        self.log = common.LossLog(self.run_dir / "losses.csv")
        self._resume()

    @classmethod
    def make_net(cls, recipe: RetroRecipe) -> RetroNet:
        w = recipe.width
        return RetroNet(widths=(w, 2 * w, 4 * w), n_residual=recipe.n_residual)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def _parts(self) -> dict:
        """Everything with a state_dict that a checkpoint holds."""
        return {
            "g": self.g,
            "f": self.f,
            "d_period": self.d_period,
            "d_modern": self.d_modern,
            "opt_g": self.opt_g,
            "opt_f": self.opt_f,
            "opt_d_period": self.opt_d_period,
            "opt_d_modern": self.opt_d_modern,
            "pool_period": self.pool_period,
            "pool_modern": self.pool_modern,
        }

    def save_checkpoint(self) -> None:
        state = {k: v.state_dict() for k, v in self._parts().items()}
        state |= {
            "step": self.step,
            "wall_time": self.wall_time,
            "rng": common.rng_state(self.rng),
            "recipe": asdict(self.recipe),
        }
        common.save_checkpoint(self.checkpoint_path, state)

    def _resume(self) -> None:
        state = common.load_checkpoint(self.checkpoint_path)
        if state is None:
            return
        common.same_subject(self.checkpoint_path, state, self.recipe, {"period": "period collection"})
        for key, part in self._parts().items():
            part.load_state_dict(state[key])
        common.set_rng_state(state["rng"], self.rng)
        self.step, self.wall_time = state["step"], state["wall_time"]

    def train_step(self) -> dict[str, float]:
        r = self.recipe
        modern, period = self.data.sample(r.batch_size, self.rng)

        # Generators: fool the discriminators, come back round the cycle, leave their own domain alone.
        discriminators = (self.d_period, self.d_modern)
        for d in discriminators:
            d.requires_grad_(False)
        fake_period = self.g(modern)
        fake_modern = self.f(period)
        adv_g = generator_loss(self.d_period(fake_period))
        adv_f = generator_loss(self.d_modern(fake_modern))
        cycle = cycle_loss(self.f(fake_period), modern) + cycle_loss(self.g(fake_modern), period)
        identity = torch.zeros(())
        if r.identity_weight:
            identity = identity_loss(self.g(period), period) + identity_loss(self.f(modern), modern)
        loss = r.adversarial_weight * (adv_g + adv_f) + r.cycle_weight * cycle + r.identity_weight * identity
        self.opt_g.zero_grad(set_to_none=True)
        self.opt_f.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.opt_f.step()

        # Discriminators: real pictures against this step's fakes mixed with older ones.
        for d in discriminators:
            d.requires_grad_(True)
        d_period = discriminator_loss(
            self.d_period(period), self.d_period(self.pool_period.query(fake_period, self.rng))
        )
        d_modern = discriminator_loss(
            self.d_modern(modern), self.d_modern(self.pool_modern.query(fake_modern, self.rng))
        )
        self.opt_d_period.zero_grad(set_to_none=True)
        self.opt_d_modern.zero_grad(set_to_none=True)
        (d_period + d_modern).backward()
        self.opt_d_period.step()
        self.opt_d_modern.step()
        self.step += 1
        return {
            "total": loss.item(),
            "adversarial_g": adv_g.item(),
            "adversarial_f": adv_f.item(),
            "cycle": cycle.item(),
            "identity": identity.item(),
            "d_period": d_period.item(),
            "d_modern": d_modern.item(),
        }

    def sample_rows(self) -> list[list[torch.Tensor]]:
        modern, period = self.samples
        fake_period = self.g(modern)
        rows = [list(r) for r in zip(modern, fake_period, self.f(fake_period), strict=True)]
        return rows + [list(r) for r in zip(period, self.f(period), strict=True)]

    def write_samples(self) -> None:
        self.g.eval()
        self.f.eval()
        with torch.no_grad():
            rows = self.sample_rows()
        self.g.train()
        self.f.train()
        common.image_grid(rows, self.run_dir / f"samples_{self.step:06d}.png")
        self.log.plot(self.run_dir / "losses.png")

    def train(self, steps: int | None = None) -> None:
        """Run until `steps` (default: the recipe's) steps are done, checkpointing as it goes."""
        common.train_loop(self, self.recipe.steps if steps is None else steps, self.task)

    def export(self, folder: Path, recipe_name: str = "") -> ModelCard:
        """Save G (modern -> period) as a `retro` model: safetensors weights and a model card."""
        return self.export_net(self.g, self.recipe, self.step, self.wall_time, folder, recipe_name)

    @classmethod
    def export_checkpoint(cls, checkpoint: Path, folder: Path, recipe_name: str = "") -> ModelCard:
        """Export a training checkpoint without loading the training data."""
        state = common.load_checkpoint(checkpoint)
        if state is None:
            raise FileNotFoundError(f"{checkpoint}: no checkpoint")
        recipe = RetroRecipe(**state["recipe"])
        net = cls.make_net(recipe)
        net.load_state_dict(state["g"])
        return cls.export_net(net, recipe, state["step"], state["wall_time"], folder, recipe_name)

    @classmethod
    def export_net(
        cls, net: RetroNet, recipe: RetroRecipe, step: int, wall_time: float, folder: Path, recipe_name: str = ""
    ) -> ModelCard:
        name = recipe.name or cls.task
        card = ModelCard(
            name=name,
            task=cls.task,
            architecture=cls.architecture,
            config=net.config,
            weights=f"{name}.safetensors",
            description=cls.description,
            training={
                "recipe": recipe_name,
                "steps": step,
                "wall_time_s": round(wall_time, 1),
                "period_images": len(recipe.period),
                "modern_images": len(recipe.modern),
                "crop": recipe.crop,
                "batch_size": recipe.batch_size,
                "seed": recipe.seed,
                "weights": {k: getattr(recipe, k) for k in ("cycle_weight", "identity_weight", "adversarial_weight")},
                "pool_size": recipe.pool_size,
                "losses": cls.losses,
            },
        )
        return save_model(net, card, folder)
