"""Style transfer by optimisation (Gatys et al. 2016) on VGG19: the slowest, highest-quality method.

The image itself is optimised (L-BFGS or Adam) to match the photo's relu4_2 features and the painting's
Gram matrices at relu1_1..relu5_1, with a total-variation penalty. Coarse-to-fine: each scale starts
from the previous result upsampled, so large outputs converge in few fine-scale steps.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from daguerre.imaging.colour import downscale
from daguerre.losses import content_loss, gram_matrix, style_loss, total_variation
from daguerre.metrics.style import (  # the loss optimised is the metric reported
    CONTENT_LAYER,
    STYLE_LAYERS,
    STYLE_MIN_SIDE,
)
from daguerre.nets.vgg19 import load_vgg19


@lru_cache(maxsize=1)
def vgg19() -> torch.nn.Module:
    return load_vgg19((*STYLE_LAYERS, CONTENT_LAYER))


def optimize(content: torch.Tensor, style: torch.Tensor, *, size: int = 512, steps: int = 200,
             scales: int = 3, optimizer: str = "lbfgs", content_weight: float = 1.0,
             style_weight: float = 10.0, tv_weight: float = 1.0, progress=None) -> tuple[torch.Tensor, float]:
    """Stylize `content` (1,3,H,W) at long side `size`; returns the image and its final loss.

    Each loss term is divided by its natural scale (content: the target features' energy; style: the
    photo's own style loss), so the weights are dimensionless and L-BFGS sees a loss of order one.
    Scales run coarse to fine, halving down to no less than 128 px. A photo or painting under `STYLE_MIN_SIDE`
    px on a side (VGG19's relu5_1 would have no pixel) is enlarged to it: the image returned is then that size.
    """
    net = vgg19()
    sizes = [size // 2**k for k in reversed(range(scales)) if size // 2**k >= 128 or k == 0]
    total = steps * len(sizes)
    done, image, loss_value = 0, None, float("nan")
    for s in sizes:
        c = _at_least(downscale(content, s))
        with torch.no_grad():
            target_content = net(c)[CONTENT_LAYER]
            grams = {k: gram_matrix(v) for k, v in net(_at_least(downscale(style, s))).items() if k in STYLE_LAYERS}
            content_scale = target_content.pow(2).mean()
            fc = net(c)
            style_scale = style_loss({k: fc[k] for k in STYLE_LAYERS}, grams).clamp_min(1e-8)
        start = c if image is None else F.interpolate(image, size=c.shape[-2:], mode="bilinear", align_corners=False)
        image = start.clone().requires_grad_(True)

        def closure(image=image, target_content=target_content, grams=grams, cs=content_scale, ss=style_scale):
            image.grad = None
            f = net(image.clamp(0, 1))
            loss = (content_weight * content_loss(f[CONTENT_LAYER], target_content) / cs
                    + style_weight * style_loss({k: f[k] for k in STYLE_LAYERS}, grams) / ss
                    + tv_weight * total_variation(image))
            loss.backward()
            return loss

        evaluations = [0]

        def counted(closure=closure, evaluations=evaluations, base=done):
            evaluations[0] += 1
            if progress:
                progress(min(base + evaluations[0], total), total)
            return closure()

        if optimizer == "lbfgs":
            # one call runs the whole scale: L-BFGS keeps its curvature history between iterations
            opt = torch.optim.LBFGS([image], lr=1.0, max_iter=steps, max_eval=steps, history_size=50,
                                    tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")
            opt.step(counted)
            loss_value = float(closure().detach())
        elif optimizer == "adam":
            opt = torch.optim.Adam([image], lr=0.02)
            for _ in range(steps):
                loss_value = float(opt.step(counted).detach())
        else:
            raise ValueError(f"unknown optimizer {optimizer!r} (use lbfgs or adam)")
        done += steps
        if progress:
            progress(done, total)
        image = image.detach().clamp(0, 1)
    return image, loss_value


def _at_least(x: torch.Tensor) -> torch.Tensor:
    """`x` (1,3,H,W), enlarged (bilinear, its proportions kept) to `STYLE_MIN_SIDE` px on its short side if under."""
    h, w = x.shape[-2:]
    if min(h, w) >= STYLE_MIN_SIDE:
        return x
    k = STYLE_MIN_SIDE / min(h, w)
    return F.interpolate(x, size=(max(STYLE_MIN_SIDE, round(h * k)), max(STYLE_MIN_SIDE, round(w * k))),
                         mode="bilinear", align_corners=False)
