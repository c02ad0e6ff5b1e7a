"""A colour memory: what colour things that look like this had in the training photos (retrieval, after He et al.
2018's automatic reference choice, with no network trained).

The memory holds, for pooled positions of colour photos, their grey VGG16 descriptors (`nets.correspondence.
match_keys`, reduced by PCA to a few dozen dimensions, float16) and their ab. A grey photo's colour at each position
is the softmax-weighted mean (cosine similarity / temperature) of the memory's ab, as a reference's colour is
carried over (`nets.correspondence.carry_colour`); the confidence is the best similarity found.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from daguerre.nets.correspondence import carry_colour

MEMORY_DIMS = 64  # PCA dimensions kept of the 768 relu3_3 + relu4_3 channels
MEMORY_POOL = 4  # positions pooled (per side) at a quarter of the working size before storing


def reduce(keys: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """(B,D,N) unit descriptors from `match_keys` (B,768,N) through the memory's PCA."""
    return F.normalize(torch.einsum("bcn,cd->bdn", keys - mean[None, :, None], components), dim=1)


def build_memory(pictures: list[tuple[torch.Tensor, torch.Tensor]], dims: int = MEMORY_DIMS,
                 pool: int = MEMORY_POOL) -> dict[str, torch.Tensor]:
    """A memory from (keys (1,768,h,w) at quarter working size, ab (1,2,h,w) there) of each colour photo."""
    keys, abs_ = [], []
    for k, ab in pictures:
        keys.append(F.normalize(F.avg_pool2d(k, pool), dim=1).flatten(2)[0])
        abs_.append(F.avg_pool2d(ab, pool).flatten(2)[0])
    k, ab = torch.cat(keys, 1), torch.cat(abs_, 1)  # (768,N), (2,N)
    mean = k.mean(1)
    _, _, v = torch.linalg.svd((k - mean[:, None]).T, full_matrices=False)
    components = v[:dims].T.contiguous()  # (768, dims)
    return {"mean": mean, "components": components,
            "keys": reduce(k[None], mean, components)[0].half(), "ab": ab.half()}


def save_memory(memory: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    save_file({n: t.contiguous() for n, t in memory.items()}, str(path))


def load_memory(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def remembered_colour(keys: torch.Tensor, size: tuple[int, int], memory: dict[str, torch.Tensor],
                      temperature: float, blur: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """ab (1,2,h,w) and confidence (1,1,h,w) of a grey photo's `match_keys` (1,768,h*w) from the memory; `blur`:
    the ab smoothed by a Gaussian of this many positions (each position's retrieval is noisy on its own)."""
    query = reduce(keys.float(), memory["mean"].float(), memory["components"].float())
    ab, conf = carry_colour(query, memory["keys"].float()[None], memory["ab"].float()[None], temperature)
    ab = ab.view(1, 2, *size)
    if blur:
        from kornia.filters import gaussian_blur2d

        k = 2 * round(3 * blur) + 1
        ab = gaussian_blur2d(ab, (k, k), (blur, blur), border_type="replicate")
    return ab, conf.view(1, 1, *size)


def remembered_distribution(keys: torch.Tensor, size: tuple[int, int], memory: dict[str, torch.Tensor],
                            temperature: float, bins: torch.Tensor, blur: float = 0.0,
                            chunk: int = 2048) -> torch.Tensor:
    """(1,Q,h,w): the memory's colour distribution over `bins` (Q,2) at each position of a grey photo's
    `match_keys` (1,768,h*w): the softmax weights of its matches summed per nearest bin, smoothed by `blur`."""
    query = reduce(keys.float(), memory["mean"].float(), memory["components"].float())[0]  # (D,Nq)
    mem_keys = memory["keys"].float()
    onehot = F.one_hot(torch.cdist(memory["ab"].float().T, bins).argmin(1), len(bins)).float()  # (Nk,Q)
    out = []
    for s in range(0, query.shape[1], chunk):
        weights = torch.softmax(query[:, s : s + chunk].T @ mem_keys / temperature, 1)  # (nq,Nk)
        out.append(weights @ onehot)
    p = torch.cat(out).T.reshape(1, len(bins), *size)
    if blur:
        from kornia.filters import gaussian_blur2d

        k = 2 * round(3 * blur) + 1
        p = gaussian_blur2d(p, (k, k), (blur, blur), border_type="replicate")
    return p
