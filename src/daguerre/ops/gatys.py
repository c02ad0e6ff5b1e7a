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
from daguerre.nets.vgg19 import load_vgg19

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"


@lru_cache(maxsize=1)
def vgg19() -> torch.nn.Module:
    return load_vgg19((*STYLE_LAYERS, CONTENT_LAYER))


def optimize(content: torch.Tensor, style: torch.Tensor, *, size: int = 512, steps: int = 200,
             scales: int = 3, optimizer: str = "lbfgs", content_weight: float = 1.0,
             style_weight: float = 1e6, tv_weight: float = 1e-2, progress=None) -> tuple[torch.Tensor, float]:
    """Stylize `content` (1,3,H,W) at long side `size`; returns the image and its final loss."""
    net = vgg19()
    sizes = [max(64, size // 2**k) for k in reversed(range(scales))]
    total = steps * len(sizes)
    done, image, loss_value = 0, None, float("nan")
    for s in sizes:
        c = downscale(content, s)
        with torch.no_grad():
            target_content = net(c)[CONTENT_LAYER]
            grams = {k: gram_matrix(v) for k, v in net(downscale(style, s)).items() if k in STYLE_LAYERS}
        start = c if image is None else F.interpolate(image, size=c.shape[-2:], mode="bilinear", align_corners=False)
        image = start.clone().requires_grad_(True)

        def closure(image=image, target_content=target_content, grams=grams):
            image.grad = None
            f = net(image.clamp(0, 1))
            loss = (content_weight * content_loss(f[CONTENT_LAYER], target_content)
                    + style_weight * style_loss({k: f[k] for k in STYLE_LAYERS}, grams)
                    + tv_weight * total_variation(image))
            loss.backward()
            return loss

        if optimizer == "lbfgs":
            opt = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=50, line_search_fn="strong_wolfe")
        elif optimizer == "adam":
            opt = torch.optim.Adam([image], lr=0.02)
        else:
            raise ValueError(f"unknown optimizer {optimizer!r} (use lbfgs or adam)")
        for _ in range(steps):
            loss_value = float(opt.step(closure))
            done += 1
            if progress:
                progress(done, total)
        image = image.detach().clamp(0, 1)
    return image, loss_value
