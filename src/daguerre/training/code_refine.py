"""A painting's style code refined by optimisation, the network frozen (issue 12's "oracle code" diagnosis).

The style predictor gives a painting's code in one pass. `refine_code` starts from it and lowers the model's own
training objective for that painting (content + Gram + moments + colour + TV, `painting_style.style_terms`) by Adam
on the code's numbers alone: photo crops as contents, the painting's crops (random side, flipped, at the predictor's
`style_size`, as in training) as style targets. If refined codes score far better than predicted ones, the
predictor is what limits the model; if not, the transformer cannot render the painting from any code.

`refine_norms` is the upper bound of that test: every conditional norm's scale and shift optimised directly (the
biases of their code layers, with the code held), about ten times the freedom of the code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from daguerre.data.folder import CropSampler
from daguerre.losses import total_variation
from daguerre.nets.painting_style_net import STYLE_SIZE, CodeNorm, PaintingStyleNet
from daguerre.training.painting_style import content_features, style_terms


@dataclass(frozen=True)
class Refinement:
    """The settings of one refinement (the recipe's loss weights; `content_weight` may be raised to keep more of
    the photo). Part of a refined code's cache key."""

    steps: int = 100
    lr: float = 0.05
    batch_size: int = 4
    crop: int = 128  # photo crops
    style_short_side: int = 288  # as in training: the painting at this short side, crops of a random side...
    style_crop_range: tuple[int, int] = (128, 288)
    style_size: int = 128  # ...resized to this
    painting_crops: int = 16  # the painting's crops are drawn once (their VGG features kept), then sampled
    content_weight: float = 1.0
    gram_weight: float = 3e4
    moment_weight: float = 0.5
    colour_weight: float = 0.05
    tv_weight: float = 1.0
    colour_size: int = 64
    seed: int = 0


def painting_targets(vgg: torch.nn.Module, painting: torch.Tensor, settings: Refinement,
                     rng: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """`settings.painting_crops` crops of the painting (1,3,H,W) in [0,1], as the trainer's `style_batch` takes
    them, and their VGG features."""
    h, w = painting.shape[-2:]
    scale = settings.style_short_side / min(h, w)
    held = F.interpolate(painting, size=(max(settings.style_short_side, round(h * scale)),
                                         max(settings.style_short_side, round(w * scale))),
                         mode="bilinear", antialias=True, align_corners=False)[0]
    lo, hi = settings.style_crop_range
    crops = []
    for _ in range(settings.painting_crops):
        side = int(torch.randint(lo, hi + 1, (1,), generator=rng))
        y = int(torch.randint(held.shape[1] - side + 1, (1,), generator=rng))
        x = int(torch.randint(held.shape[2] - side + 1, (1,), generator=rng))
        crop = held[None, :, y:y + side, x:x + side]
        if torch.rand(1, generator=rng) < 0.5:
            crop = crop.flip(-1)
        crops.append(F.interpolate(crop, size=(settings.style_size,) * 2, mode="bilinear", antialias=True,
                                   align_corners=False))
    s = torch.cat(crops)
    with torch.no_grad():
        return s, vgg(s)


def predicted_code(net: PaintingStyleNet, vgg: torch.nn.Module, painting: torch.Tensor) -> torch.Tensor:
    """The code `stylize` uses: the predictor on the whole painting at `STYLE_SIZE` px long side."""
    from daguerre.imaging.colour import downscale

    with torch.no_grad():
        return net.code(vgg(downscale(painting, STYLE_SIZE)))


def objective(net: PaintingStyleNet, vgg: torch.nn.Module, code: torch.Tensor, x: torch.Tensor,
              s: torch.Tensor, fs: dict[str, torch.Tensor], settings: Refinement) -> torch.Tensor:
    """The training objective (no adversarial or identity term) of the photos `x` rendered with `code` against
    painting crops `s` (VGG features `fs`)."""
    with torch.no_grad():
        fx = content_features(vgg, x)
    y = net(x, code.expand(len(x), -1))
    c, gram, moment, colour = style_terms(vgg(y), fx, fs, y, s, settings.colour_size)
    return (settings.content_weight * c + settings.gram_weight * gram + settings.moment_weight * moment
            + settings.colour_weight * colour + settings.tv_weight * total_variation(y))


def _optimise(net: PaintingStyleNet, vgg: torch.nn.Module, painting: torch.Tensor, photos: CropSampler,
              code: torch.Tensor, parameters: list[torch.Tensor], settings: Refinement,
              on_step: Callable[[int, float], None]) -> None:
    rng = torch.Generator().manual_seed(settings.seed)
    s_all, fs_all = painting_targets(vgg, painting, settings, rng)
    opt = torch.optim.Adam(parameters, lr=settings.lr)
    for step in range(settings.steps):
        x = photos.sample(settings.batch_size, rng, crop=settings.crop)
        pick = torch.randint(len(s_all), (settings.batch_size,), generator=rng)
        loss = objective(net, vgg, code, x, s_all[pick], {k: v[pick] for k, v in fs_all.items()}, settings)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        on_step(step + 1, loss.item())


def _recorder(history: list[float] | None, snapshots: dict | None,
              take: Callable[[], object]) -> Callable[[int, float], None]:
    def on_step(step: int, loss: float) -> None:
        if history is not None:
            history.append(loss)
        if snapshots is not None and step in snapshots:
            snapshots[step] = take()

    return on_step


def refine_code(net: PaintingStyleNet, vgg: torch.nn.Module, painting: torch.Tensor, photos: CropSampler,
                settings: Refinement = Refinement(), code: torch.Tensor | None = None,
                history: list[float] | None = None, snapshots: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
    """A painting's (1,3,H,W, RGB [0,1]) style code (1, code_dim), from `code` (default: the predicted one) by
    `settings.steps` Adam steps on the code alone, the network frozen. `vgg`: `load_vgg16(VGG_LAYERS)`. `history`
    receives each step's loss; `snapshots` (step -> anything) the code after each of its steps. Deterministic for
    a seed."""
    frozen = [p.requires_grad for p in net.parameters()]
    net.requires_grad_(False)
    try:
        with torch.inference_mode(False), torch.enable_grad():  # callable from inside stylize's inference mode
            painting = painting.clone()
            start = predicted_code(net, vgg, painting) if code is None else code
            refined = start.detach().clone().requires_grad_(True)
            _optimise(net, vgg, painting, photos, refined, [refined], settings,
                      _recorder(history, snapshots, lambda: refined.detach().clone()))
    finally:
        for p, was in zip(net.parameters(), frozen, strict=True):
            p.requires_grad_(was)
    return refined.detach()


def refine_norms(net: PaintingStyleNet, vgg: torch.nn.Module, painting: torch.Tensor, photos: CropSampler,
                 settings: Refinement = Refinement(), code: torch.Tensor | None = None,
                 history: list[float] | None = None, snapshots: dict[int, PaintingStyleNet] | None = None,
                 ) -> tuple[PaintingStyleNet, torch.Tensor]:
    """The upper bound of code refinement: a copy of the network whose conditional norms' scales and shifts are
    optimised for the painting (the biases of every `CodeNorm`'s code layers; the code and the convolutions held).
    Returns the copy and the code to run it with; `snapshots` gets copies of the network at its steps."""
    import copy

    with torch.inference_mode(False), torch.enable_grad():
        painting = painting.clone()
        start = predicted_code(net, vgg, painting) if code is None else code.detach().clone()
        own = copy.deepcopy(net).requires_grad_(False)
        biases = [layer.bias for m in own.modules() if isinstance(m, CodeNorm) for layer in (m.scale, m.shift)]
        for b in biases:
            b.requires_grad_(True)
        _optimise(own, vgg, painting, photos, start, biases, settings,
                  _recorder(history, snapshots, lambda: copy.deepcopy(own)))
    own.requires_grad_(False)
    return own, start
