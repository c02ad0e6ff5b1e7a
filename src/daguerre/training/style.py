"""Train fast style generators: content + Gram style + TV + PatchGAN adversarial (+ temporal) losses.

One run can train several styles at once on one StyleNet trunk (conditional instance norm);
each style is then saved as its own one-style generator with its own model card.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from daguerre.data.folder import CropSampler, load_rgb, sample_one
from daguerre.losses import (
    CameraJitter,
    anchor_noise,
    content_loss,
    discriminator_loss,
    generator_loss,
    gram_matrix,
    look_loss,
    second_frame,
    style_loss,
    temporal_loss,
    total_variation,
)
from daguerre.models.card import ModelCard
from daguerre.models.registry import save_model
from daguerre.nets.patchgan import PatchDiscriminator
from daguerre.nets.style_net import StyleNet
from daguerre.nets.vgg16 import load_vgg16
from daguerre.training import common, distributed

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu2_2"


@dataclass
class StyleSource:
    name: str
    image: str  # path of the painting
    info: dict = field(default_factory=dict)  # artist, title, date, licence...


@dataclass
class StyleRecipe:
    styles: list[StyleSource]
    content: list[str]  # content image files
    steps: int = 2000
    batch_size: int = 4
    crop: int = 128
    content_short_side: int = 256
    style_size: int = 256  # the painting's short side when its Gram matrices are taken
    content_weight: float = 1.0
    style_weight: float = 3e4
    tv_weight: float = 1.0
    adversarial_weight: float = 0.05
    temporal_weight: float = 0.0  # output steady under a small known camera motion (losses.temporal)
    init_styles: bool = False  # start from the installed models named like the styles (one trunk, trained together)
    temporal_noise: float = 0.01  # the second frame's added noise (std) and gain jitter (relative), as on a real
    temporal_gain: float = 0.02  # video; 0: motion only (flat areas still lost their strokes: BENCHMARKS.md)
    d_warmup: int = 0  # the first steps train the discriminator only (a fresh D against a trained generator)
    anchor_noise: float = 0.0  # std of a smooth noise (losses.anchor_noise) added to each crop before its temporal
    anchor_sigma: float = 1.5  # pair is made, so it moves with the crop (issue 14); content against the clean crop
    keep_look: float = 0.0  # the output's stroke statistics (losses.look_loss) held to the STARTING net's on the clean
    keep_colour: float = 0.0  # crop, and its colour (L1 of 8x-pooled outputs): trained further, same look (issue 14)
    lr: float = 2e-3
    d_lr: float = 2e-4
    widths: tuple[int, int, int] = (16, 32, 64)
    n_residual: int = 3
    seed: int = 0
    sample_every: int = 200
    checkpoint_every: int = 100
    threads: int = 2


class StyleTrainer:
    def __init__(self, recipe: StyleRecipe, run_dir: Path, progress: bool = True):
        self.recipe, self.run_dir, self.progress = recipe, Path(run_dir), progress
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(recipe.threads)
        self.rng = common.seed_everything(recipe.seed)
        n = len(recipe.styles)
        self.net = StyleNet(n_styles=n, widths=recipe.widths, n_residual=recipe.n_residual)
        self.disc = PatchDiscriminator(n_heads=n)
        self.parent: dict | None = None  # the models this run continues (`init_styles`), as recorded in their cards
        if recipe.init_styles:
            self._init_styles()
        distributed.broadcast(self.net)  # several processes (torchrun, --nproc) start from rank 0's weights
        distributed.broadcast(self.disc)
        self.start: StyleNet | None = None  # a frozen copy of the starting net (the shipped one with init_styles)
        if recipe.keep_look or recipe.keep_colour:
            self.start = copy.deepcopy(self.net).eval().requires_grad_(False)
        self.vgg = load_vgg16(STYLE_LAYERS)
        self.opt_g = torch.optim.Adam(self.net.parameters(), lr=recipe.lr)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=recipe.d_lr, betas=(0.5, 0.999))
        self.content = CropSampler([Path(p) for p in recipe.content], recipe.content_short_side, recipe.crop,
                                   progress=progress)
        self.paintings = [load_rgb(Path(s.image), recipe.style_size).float()[None] / 255 for s in recipe.styles]
        with torch.no_grad():
            self.target_grams = [
                {k: gram_matrix(v) for k, v in self.vgg(p).items()} for p in self.paintings
            ]
        self.painting_patches = CropSampler.__new__(CropSampler)
        self.painting_patches.images = [(p[0] * 255).to(torch.uint8) for p in self.paintings]
        self.painting_patches.crop = recipe.crop
        self.step = 0
        self.wall_time = 0.0
        self.log = common.LossLog(self.run_dir / "losses.csv")
        self.samples = self.content.sample(3, torch.Generator().manual_seed(1234))
        self._resume()
        distributed.own_data(self, recipe.seed)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def _resume(self) -> None:
        common.resume_gan(self, self.checkpoint_path, same={"styles": "painting"})

    def _init_styles(self) -> None:
        """Reassemble the several-style net from the installed one-style exports of the recipe's styles."""
        from daguerre.models.registry import build, find_model

        cards = [find_model(s.name) for s in self.recipe.styles]
        if any(c.task != "style" for c in cards):
            raise ValueError(f"init_styles: {', '.join(c.name for c in cards if c.task != 'style')} not style models")
        try:
            joined = StyleNet.join([build(c) for c in cards])
        except ValueError as e:
            raise ValueError(f"init_styles: {e}") from None
        if joined.config != self.net.config:
            raise ValueError(f"init_styles: models of config {joined.config}, recipe {self.net.config}")
        self.net.load_state_dict(joined.state_dict())
        self.parent = {c.name: {"sha256": c.sha256, "steps": c.training.get("steps"),
                                "recipe": c.training.get("recipe")} for c in cards}

    def save_checkpoint(self) -> None:
        if distributed.is_main():  # one writer; the others wait so that a resume finds it complete
            common.save_checkpoint(self.checkpoint_path, common.gan_state(self))
        distributed.barrier()

    def content_features(self, x: torch.Tensor) -> torch.Tensor:
        """VGG16 relu2_2 of the content batch, stopping there (cheaper than the full trunk)."""
        layers = self.vgg.layers
        self.vgg.layers = (CONTENT_LAYER,)
        try:
            return self.vgg(x)[CONTENT_LAYER]
        finally:
            self.vgg.layers = layers

    def look_terms(self, y: torch.Tensor, clean: torch.Tensor, style: int,
                   fy: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The output y (of the anchored crop) against the starting net's output of the clean crop: VGG stroke
        statistics (look_loss, the style loss's layers) and low-pass colour (L1 of 8x average-pooled outputs)."""
        with torch.no_grad():
            self.start.set_style(style)
            ref = self.start(clean)
            fr = self.vgg(ref)
        fy = self.vgg(y) if fy is None else fy
        return look_loss(fy, fr), F.l1_loss(F.avg_pool2d(y, 8), F.avg_pool2d(ref, 8))

    def train_step(self) -> dict[str, float]:
        r, g = self.recipe, self.rng
        style = self.step % len(r.styles)
        self.net.set_style(style)
        x = clean = self.content.sample(r.batch_size, g)
        if r.anchor_noise:  # the net sees the crop with its anchor; frame 2 below is made from it, so it moves too
            n, _, h, w = x.shape
            x = (x + r.anchor_noise * anchor_noise(n, h, w, r.anchor_sigma, g)).clamp(0, 1)
        with torch.set_grad_enabled(self.step >= r.d_warmup):
            y = self.net(x)

        # discriminator: painting patches are real, generated patches are fake
        real = sample_one(self.painting_patches, style, r.batch_size, g)
        d_loss = discriminator_loss(self.disc(real, style), self.disc(y.detach(), style))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        distributed.average_gradients(self.disc)
        self.opt_d.step()
        if self.step < r.d_warmup:  # the generator waits until D tells its output from the painting
            self.step += 1
            nan = float("nan")
            return {"total": nan, "content": nan, "style": nan, "tv": nan, "adversarial": nan,
                    **({"temporal": nan} if r.temporal_weight else {}),
                    **({"look": nan, "colour": nan} if self.start is not None else {}), "discriminator": d_loss.item()}

        # generator
        fy = self.vgg(y)
        with torch.no_grad():
            fx = self.content_features(clean)
        c = content_loss(fy[CONTENT_LAYER], fx)
        s = style_loss(fy, self.target_grams[style])
        tv = total_variation(y)
        adv = generator_loss(self.disc(y, style))
        loss = r.content_weight * c + r.style_weight * s + r.tv_weight * tv + r.adversarial_weight * adv
        losses = {"content": c.item(), "style": s.item(), "tv": tv.item(), "adversarial": adv.item()}
        if r.temporal_weight:  # the same crops a small known camera motion later
            jitter = CameraJitter(noise=r.temporal_noise, brightness=r.temporal_gain)
            x2, grid, valid = second_frame(x, g, jitter)
            t = temporal_loss(y, self.net(x2), grid, valid)
            loss = loss + r.temporal_weight * t
            losses["temporal"] = t.item()
        if self.start is not None:
            k, col = self.look_terms(y, clean, style, fy)
            loss = loss + r.keep_look * k + r.keep_colour * col
            losses |= {"look": k.item(), "colour": col.item()}
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.net)
        self.opt_g.step()
        self.step += 1
        return {"total": loss.item(), **losses, "discriminator": d_loss.item()}

    def write_samples(self) -> None:
        if not distributed.is_main():
            return
        self.net.eval()
        rows = [list(self.samples)]
        with torch.no_grad():
            for i in range(len(self.recipe.styles)):
                self.net.set_style(i)
                rows.append(list(self.net(self.samples)))
        self.net.train()
        common.image_grid(rows, self.run_dir / f"samples_{self.step:06d}.png")
        self.log.plot(self.run_dir / "losses.png")

    def train(self, steps: int | None = None) -> None:
        """Run until `steps` (default: the recipe's) steps are done, checkpointing as it goes."""
        common.train_loop(self, self.recipe.steps if steps is None else steps, "style")

    def export(self, folder: Path, recipe_name: str = "") -> list[ModelCard]:
        """Save each style as its own one-style generator with a model card."""
        return export_styles(self.net, self.recipe, self.step, self.wall_time, folder, recipe_name, self.parent)


def export_checkpoint(checkpoint: Path, folder: Path, recipe_name: str = "") -> list[ModelCard]:
    """Export the styles of a training checkpoint without loading the training data."""
    state = common.load_checkpoint(checkpoint)
    if state is None:
        raise FileNotFoundError(f"{checkpoint}: no checkpoint")
    rd = dict(state["recipe"])
    rd["styles"] = [StyleSource(**s) for s in rd["styles"]]
    recipe = StyleRecipe(**rd)
    net = StyleNet(n_styles=len(recipe.styles), widths=tuple(recipe.widths), n_residual=recipe.n_residual)
    net.load_state_dict(state["generator"])
    return export_styles(net, recipe, state["step"], state["wall_time"], folder, recipe_name, state.get("parent"))


def export_styles(net: StyleNet, recipe: StyleRecipe, step: int, wall_time: float, folder: Path,
                  recipe_name: str = "", parent: dict | None = None) -> list[ModelCard]:
    cards = []
    net.eval()
    for i, source in enumerate(recipe.styles):
        one = net.single_style(i)
        card = ModelCard(
            name=source.name, task="style", architecture="StyleNet", config=one.config,
            weights=f"{source.name}.safetensors",
            licence="Apache-2.0; painting public domain (Met CC0)" if source.info.get(
                "public_domain") else "Apache-2.0; check the painting's rights",
            description="Fast style transfer in the style of " + ", ".join(
                filter(None, (source.info.get("artist"), source.info.get("title", Path(source.image).name)))),
            style=source.info | {"image": Path(source.image).name},
            training={
                "recipe": recipe_name, "steps": step, "wall_time_s": round(wall_time, 1),
                "styles_trained_together": len(recipe.styles),
                "data": "content: " + ("the registry photo packages' training split (daguerre.data.sources)"
                                       if recipe_name else f"{len(recipe.content)} images from the user's folder"),
                "content_images": len(recipe.content), "crop": recipe.crop,
                "batch_size": recipe.batch_size, "seed": recipe.seed,
                "weights": {k: getattr(recipe, k) for k in (
                    "content_weight", "style_weight", "tv_weight", "adversarial_weight", "temporal_weight")},
                "losses": "content (VGG16 relu2_2) + Gram style (VGG16 relu1_2..relu4_3) + TV "
                          "+ LSGAN PatchGAN adversarial" + (" + temporal (output under a known small camera "
                                                            "motion, Huang et al. 2017)" if recipe.temporal_weight
                                                            else ""),
            },
        )
        if parent and source.name in parent:
            card.training["continued_from"] = parent[source.name]
        if recipe.keep_look or recipe.keep_colour:  # held to the look of the net it continued
            card.training["weights"] |= {"keep_look": recipe.keep_look, "keep_colour": recipe.keep_colour}
        if recipe.anchor_noise:  # the model wants its input's anchor at run time (daguerre.video.anchor)
            card.training["anchor"] = {"amount": recipe.anchor_noise, "sigma": recipe.anchor_sigma}
        cards.append(save_model(one, card, folder))
    return cards
