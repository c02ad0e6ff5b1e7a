"""Train `upscale`: a compact ESRGAN-family GAN (`UpscaleNet`) on photos shrunk by realistic degradations.

Losses as in ESRGAN / Real-ESRGAN: L1 + perceptual (here LPIPS-VGG, the measure the benchmark reports) +
adversarial (LSGAN PatchGAN, judging the upscaled picture beside the low-resolution input, as pix2pix does).
Low-resolution inputs come from `data.pairs.shrink` (blur, resampling, noise, JPEG), so the model learns to
upscale scans, not only clean bicubic reductions.

With `distil_steps`, the first steps distil the model from a teacher, Real-ESRGAN x4plus (an ESRGAN GAN, the
benchmark's quality peer): L1 to the teacher's upscaling of `teacher_crops` shrunk crops, computed once and
cached in the run folder. The teacher's output is one sharp picture per input, so L1 to it teaches sharp detail
where L1 to the photo (many possible sharp originals per input) teaches their blurred average; and these steps
need no LPIPS network, so they are ~10x cheaper than GAN steps. The GAN steps follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from daguerre.data.folder import CropSampler
from daguerre.data.pairs import LowResPairs, TeacherPairs
from daguerre.metrics import LPIPS
from daguerre.nets.upscale_net import UpscaleNet
from daguerre.training.conditional import ConditionalGANTrainer, GANRecipe


@dataclass
class UpscaleRecipe(GANRecipe):
    name: str = "upscale-x4"
    scale: int = 4
    width: int = 48
    depth: int = 12
    crop: int = 128  # high-resolution crop; the input is crop / scale
    content_short_side: int = 512
    perceptual_weight: float = 1.0
    adversarial_weight: float = 0.02
    realistic: bool = True  # degrade with `shrink`'s blur, noise and JPEG, not only bicubic
    distil_steps: int = 0  # the first steps: L1 to Real-ESRGAN x4plus's upscaling (x4 only) ...
    teacher_crops: int = 512  # ... of this many shrunk crops (upscaled once, cached in the run folder) ...
    teacher_size: int = 64  # ... of this many low-resolution px (4 px of margin are dropped) ...
    distil_batch_size: int = 16  # ... in batches of this many crop / scale px sub-crops ...
    distil_lr: float = 5e-4  # ... at this learning rate (at 1e-3 the loss blew up once)


class UpscaleTrainer(ConditionalGANTrainer):
    task = "upscale"
    recipe_type = UpscaleRecipe
    architecture = "UpscaleNet"
    description = ("Upscales small or soft scans x4 (x2 by downsampling the x4 result): a compact ESRGAN-family "
                   "generator distilled from Real-ESRGAN x4plus (distil_steps) and trained as a GAN, on photos "
                   "shrunk with blur, resampling, noise and JPEG")
    losses = ("first distil_steps steps: L1 to Real-ESRGAN x4plus's upscaling of the same input (distillation); "
              "then L1 + LPIPS-VGG perceptual + LSGAN PatchGAN on (nearest-upscaled input, output)")
    loss_weights = ("l1_weight", "perceptual_weight", "adversarial_weight", "realistic", "distil_steps",
                    "teacher_crops", "teacher_size", "distil_batch_size", "distil_lr")
    disc_channels = 6
    recipe: UpscaleRecipe
    net: UpscaleNet

    @classmethod
    def make_net(cls, recipe: UpscaleRecipe) -> UpscaleNet:
        return UpscaleNet(recipe.scale, recipe.width, recipe.depth)

    def make_data(self, crops: CropSampler) -> None:
        r = self.recipe
        self.pairs = LowResPairs(crops, r.scale, r.realistic)
        self.samples = self.pairs.sample(3, torch.Generator().manual_seed(1234))
        self.lpips = LPIPS() if r.perceptual_weight and r.steps > r.distil_steps else None
        self.teacher_pairs = None
        if r.distil_steps:
            from daguerre.nets import rrdbnet

            if r.scale != 4:
                raise ValueError("distil_steps needs scale 4: the teacher, Real-ESRGAN x4plus, upscales x4")
            self.teacher_pairs = TeacherPairs(crops, r.scale, r.realistic, rrdbnet.load_realesrgan_x4plus,
                                              r.teacher_crops, r.teacher_size, self.run_dir / "teacher.pt",
                                              r.seed, progress=self.progress)

    def condition(self, low: torch.Tensor) -> torch.Tensor:
        return F.interpolate(low, scale_factor=self.recipe.scale, mode="nearest")

    def train_step(self) -> dict[str, float]:
        r = self.recipe
        if self.step < r.distil_steps:
            return self.distil_step()
        low, high = self.pairs.sample(r.batch_size, self.rng)
        upscaled = self.net(low)
        d_loss, adv = self.adversarial(self.condition(low), high, upscaled)
        l1 = (upscaled - high).abs().mean()
        perceptual = self.lpips(upscaled, high).mean() if self.lpips is not None else torch.zeros(())
        loss = r.l1_weight * l1 + r.perceptual_weight * perceptual + r.adversarial_weight * adv
        self.generator_update(loss)
        return {"total": loss.item(), "l1": l1.item(), "perceptual": perceptual.item(), "adversarial": adv.item(),
                "discriminator": d_loss}

    def distil_step(self) -> dict[str, float]:
        """L1 to the teacher's upscaling: no discriminator, no LPIPS."""
        r = self.recipe
        low, taught = self.teacher_pairs.sample(r.distil_batch_size, r.crop // r.scale, self.rng)
        l1 = (self.net(low) - taught).abs().mean()
        self.warmup_update(l1, r.distil_lr)
        return {"total": l1.item(), "l1": l1.item(), "perceptual": 0.0, "adversarial": 0.0, "discriminator": 0.0}

    def sample_rows(self) -> list[list[torch.Tensor]]:
        low, high = self.samples
        bicubic = F.interpolate(low, scale_factor=self.recipe.scale, mode="bicubic", align_corners=False)
        return [list(self.condition(low)), list(bicubic.clamp(0, 1)), list(self.net(low).clamp(0, 1)), list(high)]
