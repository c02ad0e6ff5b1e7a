"""Train `colorize`: a conditional GAN in Lab that predicts the chroma (ab) of a photo from its lightness (L).

Generator: a UNet from L/100 to tanh ab/110 (`imaging.lab`). Losses: L1 on ab + LSGAN PatchGAN adversarial on
(L, ab) pairs: L1 alone settles on the average, brownish colour; the discriminator pushes towards plausible,
saturated colours. Trained on the colour photographs of the training split only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from daguerre.data.folder import CropSampler
from daguerre.data.pairs import ColourPairs
from daguerre.imaging.lab import lab_merge
from daguerre.nets.unet import UNet
from daguerre.training.conditional import ConditionalGANTrainer, GANRecipe


@dataclass
class ColorizeRecipe(GANRecipe):
    name: str = "colorize-photos"
    min_chroma: float = 4.0  # photos with a lower mean Lab chroma count as grey and are not trained on


class ColorizeTrainer(ConditionalGANTrainer):
    task = "colorize"
    recipe_type = ColorizeRecipe
    architecture = "UNet"
    description = ("Colorizes black-and-white photographs: Lab chroma predicted from lightness by a U-Net, trained "
                   "as a conditional GAN on colour photos")
    losses = "L1 on ab + LSGAN PatchGAN on (L, ab)"
    loss_weights = ("l1_weight", "adversarial_weight")
    disc_channels = 3
    recipe: ColorizeRecipe

    @classmethod
    def make_net(cls, recipe: ColorizeRecipe) -> UNet:
        return UNet(1, 2, recipe.widths, output="tanh")

    def make_data(self, crops: CropSampler) -> None:
        self.pairs = ColourPairs(crops, self.recipe.min_chroma)
        self.samples = self.pairs.sample(3, torch.Generator().manual_seed(1234))

    def train_step(self) -> dict[str, float]:
        r = self.recipe
        lightness, ab = self.pairs.sample(r.batch_size, self.rng)
        predicted = self.net(lightness)
        d_loss, adv = self.adversarial(lightness, ab, predicted)
        l1 = (predicted - ab).abs().mean()
        loss = r.l1_weight * l1 + r.adversarial_weight * adv
        self.generator_update(loss)
        return {"total": loss.item(), "l1": l1.item(), "adversarial": adv.item(), "discriminator": d_loss}

    def sample_rows(self) -> list[list[torch.Tensor]]:
        lightness, ab = self.samples
        grey = lab_merge(lightness, torch.zeros_like(ab))
        return [list(grey), list(lab_merge(lightness, self.net(lightness))), list(lab_merge(lightness, ab))]
