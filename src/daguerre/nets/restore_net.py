"""RestoreNet: the damage mask predictor and the U-Net generator as one model (one card, one weights file).

How the mask drives the restoration: the predicted mask is a fourth input channel of the generator, so it
knows which pixels carry no picture (scratches, dust, cracks, torn paper) and must be inpainted from their
surroundings, and which only need their tone, colour and grain corrected. An inpainting blend
(``generated * mask + photo * (1 - mask)``) was not chosen because restoration also changes undamaged pixels
(fading, yellowing, grain, blur). The mask is detached from the generator's graph: the predictor learns
from the true damage mask only (BCE), and the generator learns to use whatever mask it is given.

With `tone_width > 0` a ToneNet first corrects the picture's global tone and colour (levels, gamma, casts,
yellowing, toning) from a thumbnail of the whole picture; the mask predictor and the U-Net then work on the
corrected picture. Global corrections are then learned in a few hundred steps instead of slowly and unevenly by
the U-Net. Large pictures: `tone_params(x)` once on the whole picture, then `local(tile, params)` per tile.
`tone_gate=(lo, hi)`: the ToneNet's do-no-harm gate (`ToneNet`): small corrections are scaled down to none.

With `inpaint=True` (issue 17) the damage is replaced, not corrected: the generator no longer sees the pixels
under the predicted mask m. They are filled first with the mean of their undamaged neighbours (normalised
convolution: a 7 px box, a 31 px box where that holds no undamaged pixel), x' = x (1 - m) + fill m, and the
residual U-Net refines x' with m as its fourth channel; a scratch's own values cannot leak through a blend.
With `ffc_blocks > 0` that many fast Fourier convolution blocks (`nets.ffc`, as in LaMa) sit at the U-Net's
bottleneck: the inpainting sees the whole picture (or tile), not only 77 px around a hole. `he_init()` is the
initialisation for training such a model from scratch.
With `mask_cues=True` the mask predictor also sees classical damage cues (`nets.damage_cues`). `mask_bias` is
added to its logits where the mask is used (not in training's loss): a threshold tuned on training photos.
With `mask_rule > 0` the mask's false alarms (specular highlights, busy texture) are dropped by `nets.mask_rule` at
that score threshold (with `mask_shape`, by its shape rule: also the piece's shape, colour and neighbours): a
whole-picture step, so `damage_mask` applies it and `ops.restore` passes the result to `local(..., mask=)`;
`forward` and training use the net's own mask. With `denoise > 0` a noisy picture (white noise of at least
`NOISE_GATE`, measured on the whole) goes through non-local means first, and with `descreen > 0` a halftone screen
found in its spectrum is low-passed away before that (`denoised`). With `keep` the picture's own fine detail is kept
away from the damage (`kept`), and with `fill` the damage itself is filled by classical inpainting (`filled`, and
Telea's fill is then the U-Net's first guess): whole-picture steps after the tiles.

`forward(x)`: RGB (N,3,H,W) in [0,1] -> restored RGB in [0,1]; `parts(x)` -> (restored, unclamped; mask logits).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from daguerre.imaging.denoise import denoise, noise_level
from daguerre.imaging.descreen import descreen, screen
from daguerre.imaging.inpaint import telea
from daguerre.nets.damage_net import DamageConvs, DamageNet
from daguerre.nets.ffc import FFCBlock
from daguerre.nets.init import he_init
from daguerre.nets.mask_rule import filter_mask
from daguerre.nets.tone_net import ToneNet
from daguerre.nets.unet import UNet

NOISE_GATE = 8 / 255  # denoise only above this measured noise: clean training photos read 0-5.2 / 255, noisy 4.7-17
KEEP_STRIP = 512  # rows `kept` works on at a time
AWAY_EPS = 1e-3  # `kept` with `lowpass_away`: where nearly everything around is damaged, the plain low-pass
SCREEN_GATE = 300.0  # descreen only above this `screen` score: clean training photos 5-98, screened 360-770,000


class RestoreNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), mask_width: int = 8, tone_width: int = 0,
                 inpaint: bool = False, ffc_blocks: int = 0, mask_cues: bool = False, mask_bias: float = 0.0,
                 tone_gate: Sequence[float] = (), mask_rule: float = 0.0, denoise: float = 0.0,
                 descreen: float = 0.0, keep: Sequence[float] = (), fill: Sequence[float] = (),
                 lowpass_away: bool = False, mask_shape: bool = False):
        super().__init__()
        self.config = {"widths": [int(w) for w in widths], "mask_width": mask_width}
        for key, value in (("tone_width", tone_width), ("inpaint", inpaint), ("ffc_blocks", ffc_blocks),
                           ("mask_cues", mask_cues), ("mask_bias", mask_bias),
                           ("tone_gate", [float(g) for g in tone_gate]), ("mask_rule", mask_rule),
                           ("denoise", denoise), ("descreen", descreen), ("keep", [float(k) for k in keep]),
                           ("fill", [float(f) for f in fill]), ("lowpass_away", lowpass_away),
                           ("mask_shape", mask_shape)):
            if value:  # older cards lack the key: the same model
                self.config[key] = value
        self.inpaint, self.mask_bias, self.mask_rule = inpaint, mask_bias, mask_rule
        if not isinstance(mask_shape, bool) or (mask_shape and mask_rule <= 0):
            raise ValueError(f"mask_shape is true or false and needs a mask_rule > 0, got {mask_shape!r}")
        self.mask_shape = mask_shape
        self.denoise, self.descreen = denoise, descreen
        if keep and (len(keep) != 5 or not 0 <= keep[3] < keep[4] or keep[0] <= 0 or min(keep[1:3]) < 0):
            raise ValueError(f"keep is (low-pass sigma > 0, mask growth >= 0, feather in px >= 0, grain lo < hi), "
                             f"got {list(keep)}")
        self.keep = tuple(float(k) for k in keep)
        if not isinstance(lowpass_away, bool):
            raise ValueError(f"lowpass_away is true or false, got {lowpass_away!r}")
        if lowpass_away and not keep:
            raise ValueError("lowpass_away changes keep's low-pass part: set keep too")
        self.lowpass_away = bool(lowpass_away)
        if fill and (len(fill) != 2 or not 0 < fill[0] < 1 or fill[1] < 0):
            raise ValueError(f"fill is (mask threshold in 0..1, feather in px >= 0), got {list(fill)}")
        self.fill = tuple(float(f) for f in fill)
        if tone_gate and not tone_width:
            raise ValueError("tone_gate needs a ToneNet: set tone_width > 0")
        self.tone = ToneNet(tone_width, gate=tone_gate) if tone_width else None
        self.damage = DamageNet(3, mask_width, cues=mask_cues)
        self.generator = UNet(4, 3, widths, output="residual")
        if ffc_blocks:
            self.generator.bottleneck = nn.Sequential(*(FFCBlock(widths[-1]).zero_last() for _ in range(ffc_blocks)))
        self.multiple = max(self.generator.multiple, 2)

    def he_init(self) -> RestoreNet:
        """He-initialise the mask predictor and the U-Net (a new net: see `nets.init`); the U-Net's head and the
        FFC blocks' last layers stay zero, so the generator still starts as the identity."""
        he_init(self.damage, 0.2)
        he_init(self.generator, 0.2)
        nn.init.zeros_(self.generator.head.weight)
        nn.init.zeros_(self.generator.head.bias)
        for block in self.generator.bottleneck.modules():
            if isinstance(block, FFCBlock):
                block.zero_last()
        return self

    def prefilters(self, picture: np.ndarray) -> tuple[float, float, float]:
        """(halftone screen frequency, white noise level, fine-grain level) of one whole picture (3,H,W): the first
        two what `denoised` removes, each 0 where none is found (under `SCREEN_GATE` / `NOISE_GATE`) or its setting
        is off; the third the noise level as measured, the grain `kept` reads (0 without `keep` or `denoise`). The
        noise is measured after the descreening."""
        return self._measured(picture)[:3]

    def _measured(self, picture: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        """`prefilters`, and the picture descreened where a screen was found (so it is not blurred twice)."""
        frequency = sigma = level = 0.0
        if self.descreen > 0:
            score, found = screen(picture)
            if score >= SCREEN_GATE:
                frequency, picture = found, descreen(picture, found, self.descreen)
        if self.denoise > 0 or self.keep:
            level = noise_level(picture)
            sigma = level if level >= NOISE_GATE and self.denoise > 0 else 0.0
        return frequency, sigma, level, picture

    def denoised(self, x: torch.Tensor, measured: Sequence[float] | None = None) -> torch.Tensor:
        """Whole pictures x cleared first of what the net never learnt to remove: a halftone screen where one is
        found (a low-pass of width `descreen`: `imaging.descreen`), then white sensor noise where there is much
        (non-local means of strength `denoise` x its level: `imaging.denoise`; the aging model's grain is smooth).
        `measured`: the (frequency, level, ...) to remove, as `prefilters` gives (a clip measures its first frame
        once, so frames near a gate do not flicker between filtered and not); each picture's own without it."""
        if self.denoise <= 0 and self.descreen <= 0:
            return x
        out = []
        for picture in x.numpy():
            if measured is None:
                _, sigma, _, picture = self._measured(picture)
            else:
                frequency, sigma = measured[:2]
                if frequency > 0 and self.descreen > 0:
                    picture = descreen(picture, frequency, self.descreen)
            if sigma > 0 and self.denoise > 0:
                picture = denoise(picture, sigma, self.denoise)
            out.append(picture)
        return torch.from_numpy(np.stack(out))

    def tone_params(self, x: torch.Tensor) -> torch.Tensor | None:
        """The global correction of whole pictures x (None without a ToneNet)."""
        return self.tone.params(x) if self.tone is not None else None

    def parts(self, x: torch.Tensor, params: torch.Tensor | None = None, mask: torch.Tensor | None = None,
              telea_first: bool = False, precision: str = "fp32") -> tuple[torch.Tensor, torch.Tensor | None]:
        """(restored, unclamped; mask logits) of x, a whole picture or (with its `params`) part of one; with a
        given damage `mask` (N,1,H,W) the mask predictor does not run (logits None); `telea_first`: the U-Net's
        first guess under the damage is Telea's (`telea_guess`, as `local` does with `fill`), not box means.
        `precision`: "bf16" runs the two networks by OpenVINO in bfloat16 (`bf16_part`; inference only)."""
        x = self.toned(x, params)
        logits = None
        if mask is None:
            logits = self.damage_logits(x, precision)
            mask = torch.sigmoid(logits.detach() + self.mask_bias)
        if self.inpaint:
            guess = telea_guess(x, mask, self.fill[0] if self.fill else 0.5) if telea_first else fill_holes(x, mask)
            x = x * (1 - mask) + guess * mask
        x = torch.cat([x, mask], 1)
        y = self.bf16_part("generator", x) if precision == "bf16" else self.generator(x)
        return y, logits

    def damage_logits(self, x: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
        """The mask predictor's logits of (tone-corrected) pictures x."""
        if precision == "bf16":
            return self.bf16_part("damage", self.damage.inputs(x))
        return self.damage.logits(x)

    def bf16_part(self, part: str, x: torch.Tensor) -> torch.Tensor:
        """The U-Net ("generator") or the mask predictor's convolutions ("damage") on x, run by OpenVINO in
        bfloat16: ×1.9 the speed of a 480p frame's restore, 62 dB from fp32 (BENCHMARKS.md, "Restore and upscale
        in bf16"). Converted once per process and weights (and cached on disk): `models.onnx.bf16_module`."""
        from daguerre.models.onnx import bf16_module

        sessions = self.__dict__.setdefault("_bf16_sessions", {})
        if part not in sessions:
            module = self.generator if part == "generator" else DamageConvs(self.damage)
            sessions[part] = bf16_module(module, f"restore-{part}", x.shape[1])
        session = sessions[part]
        return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.contiguous().numpy()})[0])

    def toned(self, x: torch.Tensor, params: torch.Tensor | None = None) -> torch.Tensor:
        """x after the ToneNet's correction (measured on x itself without `params`; x without a ToneNet)."""
        return x if self.tone is None else self.tone.apply(x, self.tone.params(x) if params is None else params)

    def damage_mask(self, x: torch.Tensor, params: torch.Tensor | None = None, rule: bool = True,
                    precision: str = "fp32") -> torch.Tensor:
        """The damage probability (N,1,H,W) of whole pictures x as restore uses it (after `mask_rule`); with
        `params` and `rule=False`, of part of a picture before the rule (`ops.restore` tiles it)."""
        x = self.toned(x, params)
        mask = torch.sigmoid(self.damage_logits(x, precision) + self.mask_bias)
        return self.drop_false_alarms(mask, x) if rule else mask

    def drop_false_alarms(self, mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """`mask` (N,1,H,W) of the tone-corrected whole pictures x without the components `mask_rule` drops."""
        if self.mask_rule <= 0:
            return mask
        lum = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).numpy()
        kept = [filter_mask(m[0].numpy(), lum[i], self.mask_rule, x[i].numpy() if self.mask_shape else None)
                for i, m in enumerate(mask)]
        return torch.from_numpy(np.stack(kept)[:, None])

    def kept(self, base: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
             measured: Sequence[Sequence[float]], strip: int = KEEP_STRIP) -> torch.Tensor:
        """Whole restored pictures y with the detail of `base` (the input after the prefilters and the ToneNet)
        kept where nothing is damaged. `keep` = (sigma, grow, feather, lo, hi): the U-Net's change y - base is split
        by a Gaussian of sigma px into a low-pass part (fading, stains, casts: kept everywhere; `low_pass`) and
        the rest (kept inside the damage `mask` grown by `grow` px and feathered by a Gaussian of `feather` px).
        Outside it the rest is kept by ``clamp((g - lo) / (hi - lo), 0, 1)`` where g is the picture's grain (its
        measured noise level), and wholly on a halftone print; `measured`: each picture's `prefilters`. A grainy,
        noisy or screened picture keeps the U-Net's fine corrections, a clean one its own texture. y without `keep`.
        Worked in bands of `strip` rows with a margin wider than the filters reach: the same result as the whole
        picture at once, with one full-size copy (the result) instead of about five."""
        if not self.keep:
            return y
        sigma, grow, feather, lo, hi = self.keep
        margin = int(np.ceil(4 * sigma)) + int(round(grow)) + int(np.ceil(4 * feather)) + 2  # cv2's kernels: 4 sigma
        out = torch.empty_like(y)
        height = y.shape[-2]
        for i, (frequency, _, grain) in enumerate(measured):
            outside = torch.tensor(1.0 if frequency > 0 else min(max((grain - lo) / (hi - lo), 0.0), 1.0),
                                   dtype=y.dtype)
            for top in range(0, height, strip):
                a, b = max(top - margin, 0), min(top + strip + margin, height)
                rows = slice(top - a, min(top + strip, height) - a)
                band_y, band_base = y[i, :, a:b], base[i, :, a:b]
                low = torch.from_numpy(self.low_pass((band_y - band_base).numpy(), mask[i, 0, a:b].numpy()))
                inside = torch.from_numpy(feathered(mask[i, 0, a:b].numpy(), grow, feather))
                weight = outside + (1 - outside) * inside
                band = (band_base + low + (band_y - band_base - low) * weight).clamp(0, 1)
                out[i, :, top:top + rows.stop - rows.start] = band[:, rows]
        return out

    def low_pass(self, change: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The low-pass part (a Gaussian of `keep`'s sigma) of the U-Net's `change` (C,H,W); with `lowpass_away`,
        measured away from the damage `mask` (H,W) (a normalised convolution weighted by 1 - mask), so a repaired
        speck's own change does not spread a halo over its surroundings."""
        sigma = self.keep[0]
        if not self.lowpass_away:
            return np.stack([gaussian(c, sigma) for c in change])
        away = 1 - np.minimum(mask, 1)
        spread = gaussian(away, sigma) + AWAY_EPS
        return np.stack([(gaussian(c * away, sigma) + AWAY_EPS * gaussian(c, sigma)) / spread for c in change])

    def filled(self, y: torch.Tensor, base: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Whole restored pictures y with the damage filled classically: where the damage `mask` exceeds the `fill`
        threshold, `base` (the input after the prefilters and the ToneNet) inpainted by Telea's method
        (`imaging.inpaint`) replaces y, blended by that hole feathered by a Gaussian of `fill`'s feather in px. The
        U-Net's own fill leaves traces of thin scratches and specks that Telea's does not (with `fill` the U-Net's
        first guess under the damage is Telea's too: `telea_guess`). y without `fill`."""
        if not self.fill:
            return y
        threshold, feather = self.fill
        out = y.clone()
        for i in range(y.shape[0]):
            hole = mask[i, 0].numpy() > threshold
            if hole.any():
                weight = torch.from_numpy(feathered(hole.astype(np.float32), 0, feather))
                for c in range(y.shape[1]):  # a channel at a time: one full-size copy (the result) on large scans
                    inpainted = torch.from_numpy(telea(base[i, c:c + 1].numpy(), hole)[0])
                    out[i, c] = (y[i, c] + (inpainted - y[i, c]) * weight).clamp(0, 1)
        return out

    def local(self, x: torch.Tensor, params: torch.Tensor | None, mask: torch.Tensor | None = None,
              precision: str = "fp32") -> torch.Tensor:
        """Restore part of a picture whose `tone_params` were measured on the whole (and its damage `mask`)."""
        return self.parts(x, params, mask, telea_first=bool(self.fill), precision=precision)[0].clamp(0, 1)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        """Restore whole pictures as `ops.restore` does (with the card's steps: `denoise`, `mask_rule`, `keep`,
        `fill`); `forward` is the net alone (what training and the ONNX export see)."""
        if self.keep:  # each picture measured once: its prefilters and grain
            measured = [self.prefilters(picture) for picture in x.numpy()]
            x = torch.cat([self.denoised(picture[None], m) for picture, m in zip(x, measured, strict=True)])
        else:
            x = self.denoised(x)
        params = self.tone_params(x)
        mask = self.damage_mask(x) if self.mask_rule > 0 or self.keep or self.fill else None
        y = self.local(x, params, mask)
        base = self.toned(x, params)
        y = self.kept(base, y, mask, measured) if self.keep else y
        return self.filled(y, base, mask) if self.fill else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.parts(x)[0].clamp(0, 1)


def fill_holes(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of the undamaged pixels (weight 1 - mask) in a 7 px box, or a 31 px box where the 7 px one has
    almost none: a first guess of what lies under the damage."""
    keep = 1 - mask
    guesses = []
    for size in (7, 31):
        weight = box_mean(keep, size)
        guesses.append((box_mean(x * keep, size) / weight.clamp(min=1e-3), weight))
    (near, w_near), (far, _) = guesses
    trust = (w_near * 20).clamp(max=1)  # 7 px box at least 5% undamaged
    return trust * near + (1 - trust) * far


def telea_guess(x: torch.Tensor, mask: torch.Tensor, threshold: float) -> torch.Tensor:
    """x with the pixels where `mask` exceeds `threshold` inpainted by Telea's method (`imaging.inpaint`): the
    U-Net's first guess under the damage with `fill` (instead of `fill_holes`' box means)."""
    out = x.clone()
    for i, (picture, m) in enumerate(zip(x.numpy(), mask.numpy(), strict=True)):
        hole = m[0] > threshold
        if hole.any():
            out[i] = torch.from_numpy(telea(picture, hole))
    return out


def gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """x (H,W) or (H,W,C) float32 blurred by a Gaussian of `sigma` px (reflected at the borders)."""
    return cv2.GaussianBlur(np.ascontiguousarray(x, np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


def feathered(mask: np.ndarray, grow: float, feather: float) -> np.ndarray:
    """A damage probability (H,W) grown by `grow` px (a maximum over a disc) and feathered (a Gaussian of
    `feather` px), at most 1."""
    r = int(round(grow))
    if r > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return np.minimum(gaussian(mask, feather) if feather > 0 else mask, 1)


def box_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    """The mean over a size x size box around each pixel (the part inside the picture), in two 1-D passes."""
    x = F.avg_pool2d(x, (1, size), 1, (0, size // 2), count_include_pad=False)
    return F.avg_pool2d(x, (size, 1), 1, (size // 2, 0), count_include_pad=False)
