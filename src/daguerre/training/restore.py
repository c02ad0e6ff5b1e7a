"""Train `restore`: a pix2pix-style conditional GAN on synthetically aged / clean photo pairs.

Generator: `RestoreNet` (a ToneNet global correction, then a DamageNet mask predictor whose mask is a fourth
input of a residual UNet).
Losses: first `tone_steps` steps train the ToneNet alone on L1, then `mask_steps` the mask predictor alone on
BCE; then L1 (weighted up on the damaged pixels, which are few but matter most) + LPIPS-VGG perceptual + LSGAN
PatchGAN adversarial on (aged, restored) vs (aged, clean) pairs; the mask predictor learns from the true damage
mask with BCE (positives weighted up: damage covers a few per cent of a picture).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from daguerre.data.folder import CropSampler
from daguerre.data.pairs import AgedPairs
from daguerre.metrics import LPIPS
from daguerre.nets.restore_net import RestoreNet
from daguerre.training.conditional import ConditionalGANTrainer, GANRecipe


@dataclass
class RestoreRecipe(GANRecipe):
    name: str = "restore-photos"
    perceptual_weight: float = 1.0
    mask_weight: float = 1.0  # BCE of the mask predictor
    damaged_l1_weight: float = 4.0  # extra L1 weight on damaged pixels: weight 1 + this * mask
    mask_pos_weight: float = 5.0  # BCE weight of damaged pixels
    mask_width: int = 8
    tone_width: int = 0  # > 0: a ToneNet of this width corrects global tone and colour first
    tone_steps: int = 0  # the first steps train the ToneNet alone on L1 (cheap: it sees a thumbnail) ...
    tone_batch_size: int = 16  # ... on this many crops per step ...
    tone_lr: float = 1e-3  # ... at this learning rate
    tone_identity_fraction: float = 0.0  # this share of the ToneNet's crops needs no global correction (see below)
    tone_gate: list[float] = field(default_factory=list)  # (lo, hi): the ToneNet's do-no-harm gate (`ToneNet`)
    min_strength: float = 0.3  # aging strength drawn uniformly from [min_strength, max_strength]
    max_strength: float = 1.0
    inpaint: bool = False  # the generator replaces the predicted damage (see RestoreNet) ...
    ffc_blocks: int = 0  # ... with this many fast Fourier convolution blocks at its bottleneck
    he_init: bool = False  # He-initialise the mask predictor and the U-Net (a new net)
    mask_steps: int = 0  # after the tone steps, train the mask predictor alone on BCE (cheap: no LPIPS) ...
    mask_batch_size: int = 16  # ... on this many crops per step ...
    mask_lr: float = 1e-3  # ... at this learning rate
    mask_cues: bool = False  # the mask predictor also sees classical damage cues (`nets.damage_cues`)
    mask_dice_weight: float = 0.0  # soft dice loss of the mask, added to its BCE: recall of thin damage
    mask_rule: float = 0.0  # > 0: restore drops mask components scoring below this (`nets.mask_rule`); not trained


# The effects that leave a print's global tone and colour alone: crops aged by these alone teach the ToneNet to
# leave such a print alone (aging picks a global effect for ~94% of crops, so the ToneNet learnt to correct
# every picture: on clean training photos it darkened by 0.022 and cut contrast by 3.5%, 29.1 dB). (Water stains,
# foxing and silvering were tried among them, with `age` drawing them at random: not shipped, BENCHMARKS.md.)
LOCAL_EFFECTS = ["blur", "grain", "lowres", "jpeg", "noise", "dust", "scratches"]

GROWN = ("inpaint", "ffc_blocks", "mask_cues")  # config keys a model can gain when it continues one without them


class RestoreTrainer(ConditionalGANTrainer):
    task = "restore"
    recipe_type = RestoreRecipe
    architecture = "RestoreNet"
    description = ("Restores scanned old photographs (fading, casts, grain, blur, dust, scratches, creases, tears): "
                   "a damage mask predictor guiding a U-Net generator, trained as a conditional GAN on synthetically "
                   "aged photos")
    losses = ("first tone_steps steps: L1 of the ToneNet alone; next mask_steps: BCE of the mask predictor alone; "
              "then L1 (x(1 + damaged_l1_weight * mask)) + "
              "LPIPS-VGG perceptual + LSGAN PatchGAN on (aged, output); mask predictor: BCE on the true damage mask")
    loss_weights = ("l1_weight", "perceptual_weight", "adversarial_weight", "mask_weight", "damaged_l1_weight",
                    "mask_pos_weight", "min_strength", "max_strength", "tone_steps", "tone_batch_size", "tone_lr",
                    "tone_identity_fraction", "he_init", "mask_steps", "mask_batch_size", "mask_lr", "mask_cues",
                    "mask_dice_weight")
    disc_channels = 6
    recipe: RestoreRecipe
    net: RestoreNet

    @classmethod
    def make_net(cls, recipe: RestoreRecipe) -> RestoreNet:
        net = RestoreNet(widths=recipe.widths, mask_width=recipe.mask_width, tone_width=recipe.tone_width,
                         inpaint=recipe.inpaint, ffc_blocks=recipe.ffc_blocks, mask_cues=recipe.mask_cues,
                         tone_gate=recipe.tone_gate, mask_rule=recipe.mask_rule)
        return net.he_init() if recipe.he_init else net

    def _init_from(self, model: str) -> None:
        """As the other tasks; and a model without the `GROWN` parts (inpainting, FFC blocks, mask cues) gives the
        weights it has (the new parts keep their initialisation: FFC blocks start as the identity; a mask predictor
        with cues is new, of any `mask_width`) and the run counts its steps from 0, so the recipe's mask warm-up
        runs."""
        from pathlib import Path

        from daguerre.models.card import ModelCard
        from daguerre.models.registry import build, find_model

        card = ModelCard.load(Path(model)) if model.endswith(".json") and Path(model).is_file() else None
        card = card or (find_model(model) if not model.endswith(".json") else None)
        had = card.config if card is not None else {}
        new_mask = "mask_cues" in self.net.config and "mask_cues" not in had
        grown = {k: v for k, v in self.net.config.items() if k not in GROWN or k in had}
        if new_mask:
            grown["mask_width"] = had.get("mask_width")
        if card is None or card.task != self.task or card.config == self.net.config or card.config != grown:
            return super()._init_from(model)
        new = ("generator.bottleneck.", "damage.") if new_mask else ("generator.bottleneck.",)
        weights = {k: v for k, v in build(card).state_dict().items() if not (new_mask and k.startswith("damage."))}
        missing, unexpected = self.net.load_state_dict(weights, strict=False)
        if unexpected or any(not k.startswith(new) for k in missing):
            raise ValueError(f"init_from {model!r}: weights do not fit ({unexpected or missing})")
        self.net.train()
        self.parent = {"model": card.name, "sha256": card.sha256, "steps": card.training.get("steps"),
                       "init_from": model, "grown": {k: self.net.config[k] for k in GROWN if k in self.net.config}}

    def make_data(self, crops: CropSampler) -> None:
        r = self.recipe
        if r.tone_steps and not r.tone_width:
            raise ValueError("tone_steps needs a ToneNet: set tone_width > 0")
        self.pairs = AgedPairs(crops, r.min_strength, r.max_strength)
        self.local_pairs = AgedPairs(crops, r.min_strength, r.max_strength, LOCAL_EFFECTS)
        self.samples = self.pairs.sample(3, torch.Generator().manual_seed(1234))
        self.lpips = LPIPS() if r.perceptual_weight else None

    def train_step(self) -> dict[str, float]:
        r = self.recipe
        if self.step < r.tone_steps:
            return self.tone_step()
        if self.step < r.tone_steps + r.mask_steps:
            return self.mask_step()
        aged, clean, mask = self.pairs.sample(r.batch_size, self.rng)
        restored, logits = self.net.parts(aged)
        d_loss, adv = self.adversarial(aged, clean, restored)
        l1 = ((restored - clean).abs() * (1 + r.damaged_l1_weight * mask)).mean()
        perceptual = self.lpips(restored, clean).mean() if self.lpips is not None else torch.zeros(())
        bce = self.mask_loss(logits, mask)
        loss = (r.l1_weight * l1 + r.perceptual_weight * perceptual + r.adversarial_weight * adv
                + r.mask_weight * bce)
        self.generator_update(loss)
        return {"total": loss.item(), "l1": l1.item(), "perceptual": perceptual.item(), "adversarial": adv.item(),
                "mask_bce": bce.item(), "discriminator": d_loss}

    def tone_step(self) -> dict[str, float]:
        """Train the global correction alone: it must see many pictures to tell a faded or yellowed print from a
        pale or warm photo, and a step on a 64 px thumbnail costs little (2000 steps of 16 crops: 8 min).
        A `tone_identity_fraction` of the crops is aged by `LOCAL_EFFECTS` only: nothing global to correct."""
        r = self.recipe
        local = round(r.tone_batch_size * r.tone_identity_fraction)
        aged, clean, _ = self.pairs.sample(r.tone_batch_size - local, self.rng)
        if local:
            more = self.local_pairs.sample(local, self.rng)
            aged, clean = torch.cat([aged, more[0]]), torch.cat([clean, more[1]])
        l1 = (self.net.tone(aged) - clean).abs().mean()
        self.warmup_update(l1, r.tone_lr)  # only the ToneNet has gradients: Adam leaves the rest alone
        return {"total": l1.item(), "l1": l1.item(), "perceptual": 0.0, "adversarial": 0.0, "mask_bce": 0.0,
                "discriminator": 0.0}

    def mask_step(self) -> dict[str, float]:
        """Train the damage mask predictor alone (on the tone-corrected picture, as it runs): BCE is cheap, and
        a generator given a mask that means nothing learns to ignore it."""
        r = self.recipe
        aged, _, mask = self.pairs.sample(r.mask_batch_size, self.rng)
        if self.net.tone is not None:
            with torch.no_grad():
                aged = self.net.tone(aged)
        bce = self.mask_loss(self.net.damage.logits(aged), mask)
        self.warmup_update(r.mask_weight * bce, r.mask_lr)
        return {"total": bce.item(), "l1": 0.0, "perceptual": 0.0, "adversarial": 0.0, "mask_bce": bce.item(),
                "discriminator": 0.0}

    def mask_loss(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """BCE (damaged pixels weighted `mask_pos_weight`) + `mask_dice_weight` x soft dice, per picture."""
        r = self.recipe
        loss = F.binary_cross_entropy_with_logits(logits, mask, pos_weight=torch.tensor(r.mask_pos_weight))
        if r.mask_dice_weight:
            p = torch.sigmoid(logits)
            overlap = (p * mask).sum((1, 2, 3))
            dice = 1 - (2 * overlap + 1) / (p.sum((1, 2, 3)) + mask.sum((1, 2, 3)) + 1)
            loss = loss + r.mask_dice_weight * dice.mean()
        return loss

    def sample_rows(self) -> list[list[torch.Tensor]]:
        aged, clean, mask = self.samples
        restored, logits = self.net.parts(aged)
        predicted = torch.sigmoid(logits).expand(-1, 3, -1, -1)
        return [list(aged), list(predicted), list(restored), list(mask.expand(-1, 3, -1, -1)), list(clean)]
