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
    mask_hard_fraction: float = 0.0  # this share of a mask step's crops: clean crops on the mask's false alarms ...
    mask_hard_weight: float = 1.0  # ... their BCE weighted this much (see `RestoreTrainer.hard_negatives`)
    mask_faint_fraction: float = 0.0  # this share of a mask step's aged crops also gets `age`'s `taper` damage


# The effects that leave a print's global tone and colour alone: crops aged by these alone teach the ToneNet to
# leave such a print alone (aging picks a global effect for ~94% of crops, so the ToneNet learnt to correct
# every picture: on clean training photos it darkened by 0.022 and cut contrast by 3.5%, 29.1 dB). (Water stains,
# foxing and silvering were tried among them, with `age` drawing them at random: not shipped, BENCHMARKS.md.)
LOCAL_EFFECTS = ["blur", "grain", "lowres", "jpeg", "noise", "dust", "scratches"]

# The copies of a clean training photo the mask predictor's false alarms are looked for on: as is, grey, sepia
# toned, faded (`age`'s tone effects: no damage, so the target stays empty).
HARD_COPIES = (None, ["grey"], ["yellowing"], ["fade"])

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
                    "mask_dice_weight", "mask_hard_fraction", "mask_hard_weight", "mask_faint_fraction")
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
        self.faint_pairs = AgedPairs(crops, r.min_strength, r.max_strength, extra=["taper"])
        self.crops, self.hard = crops, None
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
        a generator given a mask that means nothing learns to ignore it. With `mask_hard_fraction` some crops are
        the predictor's own false alarms on clean photos (target: nothing), with `mask_faint_fraction` some aged
        crops also carry tapering hairlines and faint specks (`aging.taper`)."""
        r = self.recipe
        hard = round(r.mask_batch_size * r.mask_hard_fraction)
        faint = round((r.mask_batch_size - hard) * r.mask_faint_fraction)
        aged, _, mask = self.pairs.sample(r.mask_batch_size - hard - faint, self.rng)
        if faint:
            more = self.faint_pairs.sample(faint, self.rng)
            aged, mask = torch.cat([aged, more[0]]), torch.cat([mask, more[2]])
        weight = torch.ones(len(aged), 1, 1, 1)
        if hard:
            clean = self.hard_negatives(hard)
            aged, mask = torch.cat([aged, clean]), torch.cat([mask, torch.zeros(hard, 1, *clean.shape[-2:])])
            weight = torch.cat([weight, torch.full((hard, 1, 1, 1), r.mask_hard_weight)])
        if self.net.tone is not None:
            with torch.no_grad():
                aged = self.net.tone(aged)
        bce = self.mask_loss(self.net.damage.logits(aged), mask, weight, dice_on=len(aged) - hard)
        self.warmup_update(r.mask_weight * bce, r.mask_lr)
        return {"total": bce.item(), "l1": 0.0, "perceptual": 0.0, "adversarial": 0.0, "mask_bce": bce.item(),
                "discriminator": 0.0}

    def mask_loss(self, logits: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor | None = None,
                  dice_on: int | None = None) -> torch.Tensor:
        """BCE (damaged pixels weighted `mask_pos_weight`, each picture by `weight`) + `mask_dice_weight` x soft
        dice, per picture (of the first `dice_on` pictures only: a clean crop has nothing to overlap)."""
        r = self.recipe
        loss = F.binary_cross_entropy_with_logits(logits, mask, weight, pos_weight=torch.tensor(r.mask_pos_weight))
        if r.mask_dice_weight:
            p, m = torch.sigmoid(logits[:dice_on]), mask[:dice_on]
            overlap = (p * m).sum((1, 2, 3))
            dice = 1 - (2 * overlap + 1) / (p.sum((1, 2, 3)) + m.sum((1, 2, 3)) + 1)
            loss = loss + r.mask_dice_weight * dice.mean()
        return loss

    def hard_negatives(self, count: int) -> torch.Tensor:
        """`count` clean crops centred (within a quarter crop) on pixels where the mask predictor as it started
        this run fires (> 0.5) on a clean training photo, as is or as a grey, sepia or faded copy (`age`'s tone
        effects): the false alarms restore pays for on undamaged pictures. Found once, at the run's first mask
        step, on each training photo and each of its copies (a resumed run looks again with the resumed weights)."""
        if self.hard is None:
            self.hard = self.find_false_alarms()
        images, points = self.hard
        c, out = self.crops.crop, torch.empty(count, 3, self.crops.crop, self.crops.crop)
        for i in range(count):
            k = int(torch.randint(len(points), (1,), generator=self.rng))
            index, copy, y, x = (int(v) for v in points[k])
            img = images[index][copy]
            _, h, w = img.shape
            dy, dx = (int(v) for v in torch.randint(-c // 4, c // 4 + 1, (2,), generator=self.rng))
            top, left = min(max(y + dy - c // 2, 0), h - c), min(max(x + dx - c // 2, 0), w - c)
            patch = img[:, top : top + c, left : left + c]
            out[i] = patch.flip(-1) if torch.rand(1, generator=self.rng) < 0.5 else patch
        return out

    def find_false_alarms(self) -> tuple[list[list[torch.Tensor]], torch.Tensor]:
        """(per training photo its copies (`HARD_COPIES`) as float pictures; (N,4) rows of photo, copy, y, x of
        every false-alarm pixel)."""
        from daguerre.imaging.aging import age

        images, rows = [], []
        self.net.eval()
        for index, img in enumerate(self.crops.images):
            clean = img.float() / 255
            copies = [clean]
            for seed, effects in enumerate(HARD_COPIES[1:]):
                out = torch.from_numpy(age(clean.numpy(), 90_000 + 10 * index + seed, 0.8, effects).image)
                copies.append(out.expand(3, -1, -1).contiguous())
            images.append(copies)
            with torch.no_grad():
                probs = self.net.damage(self.net.toned(torch.stack(copies)))[:, 0]
            for copy, p in enumerate(probs):
                ys, xs = torch.nonzero(p > 0.5, as_tuple=True)
                rows.append(torch.stack([torch.full_like(ys, index), torch.full_like(ys, copy), ys, xs], 1))
        self.net.train()
        points = torch.cat(rows)
        if not len(points):
            raise ValueError("mask_hard_fraction: the mask predictor fires nowhere on the clean training photos")
        print(f"hard negatives: {len(points)} false-alarm pixels on {len(images)} photos x {len(HARD_COPIES)} copies")
        return images, points

    def sample_rows(self) -> list[list[torch.Tensor]]:
        aged, clean, mask = self.samples
        restored, logits = self.net.parts(aged)
        predicted = torch.sigmoid(logits).expand(-1, 3, -1, -1)
        return [list(aged), list(predicted), list(restored), list(mask.expand(-1, 3, -1, -1)), list(clean)]
