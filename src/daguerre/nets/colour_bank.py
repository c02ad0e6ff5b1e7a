"""ColourBank: automatic colour by example, from a bank of training photos' positions (no trained decoder).

Each bank entry is one quarter-size position of a colour training photo seen in grey: its VGG16 match descriptor
(`nets.correspondence.match_keys`, relu3_3 + relu4_3, 768 values) reduced by a PCA fit on the training
descriptors to `dims` values and normalised, with the photo's ab and L there. A grey photo's position takes the
colours of its `k` most similar entries (cosine in PCA space), weighted by a softmax at `temperature`, as a
histogram over the ab bins of `colorize_net.ab_bins`; the histograms are smoothed over the picture and read out
as their annealed mean (Zhang et al. 2016): the most likely colours, not their average (which is grey-brown).
With a `vote`, the lookup is photo-coherent (scene retrieval before matching, as He et al. 2018 retrieve a
reference): a first pass gives each bank photo its share of the picture's matches (over the whole picture, or a
window of positions), and the second adds `vote` x log(share) to each entry's logit, so the colours of one scene
win together instead of averaging with unrelated photos'. Entries may come from paintings as well as photos
(`source` 1): with a `painting_penalty`, their logits are lowered by it, so a painting's colour counts where no
photo matches as well.
The bank is the training photos used as one big reference (`nets.correspondence` carries a reference's colour
the same way). Stored in float16: `scripts/build_colour_bank.py` makes it from the training split only.
A bank made from a user's own colour photos (`training.colour_bank.extend_bank`: the shipped entries and theirs)
carries its own readout, `gain` and `vote` (None: the operation's constants, as the shipped bank): where a
collection shows the scene, its matches agree, so they need the vote to find that scene and less gain.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nets.colorize_net import ab_bins


class ColourBank(nn.Module):
    def __init__(self, entries: int, dims: int = 64, features: int = 768, bin_step: float = 10.0,
                 gain: float | None = None, vote: float | None = None):
        super().__init__()
        self.config = {"entries": entries, "dims": dims, "features": features, "bin_step": bin_step}
        for key, value in (("gain", gain), ("vote", vote)):
            if value is not None:  # the shipped card has neither: the operation's constants
                if value < 0:
                    raise ValueError(f"a colour bank's {key} is at least 0, got {value}")
                self.config[key] = float(value)
        self.register_buffer("mean", torch.zeros(features, dtype=torch.float16))  # PCA centre of the descriptors
        self.register_buffer("basis", torch.zeros(features, dims, dtype=torch.float16))  # PCA components
        self.register_buffer("keys", torch.zeros(entries, dims, dtype=torch.float16))  # unit vectors
        self.register_buffer("ab", torch.zeros(entries, 2, dtype=torch.float16))  # `imaging.lab` units
        self.register_buffer("lightness", torch.zeros(entries, dtype=torch.float16))  # L in [0, 1]
        self.register_buffer("photo", torch.zeros(entries, dtype=torch.int16))  # the entry's photo (index)
        self.register_buffer("source", torch.zeros(entries, dtype=torch.uint8))  # 0 a photo, 1 a painting
        self.bins = ab_bins(bin_step)
        self._cache: tuple[torch.Tensor, ...] | None = None
        self._sampled: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object, **kwargs: object) -> None:
        self._cache, self._sampled = None, {}  # the lookup tables are made from the buffers being replaced
        if prefix + "photo" not in state_dict and prefix + "keys" in state_dict:  # a bank made without photo indices:
            state_dict[prefix + "photo"] = torch.zeros(len(state_dict[prefix + "keys"]), dtype=torch.int16)  # no vote
        if prefix + "source" not in state_dict and prefix + "keys" in state_dict:  # made before paintings: photos
            state_dict[prefix + "source"] = torch.zeros(len(state_dict[prefix + "keys"]), dtype=torch.uint8)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def project(self, descriptors: torch.Tensor) -> torch.Tensor:
        """(N, dims) unit vectors of `match_keys` descriptors (1, features, N)."""
        x = descriptors[0].T.float() - self.mean.float()
        return F.normalize(x @ self.basis.float(), dim=1)

    def _entries(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._cache is None:
            nearest = torch.cdist(self.ab.float(), self.bins).argmin(1)
            self._cache = (self.keys.float().T.contiguous(), nearest, self.lightness.float())
        return self._cache

    def histogram(self, descriptors: torch.Tensor, size: tuple[int, int], k: int = 32, temperature: float = 0.05,
                  lightness: torch.Tensor | None = None, sigma_l: float | None = None, vote: float = 0.0,
                  vote_window: int = 0, candidates: int = 128, painting_penalty: float = 0.0,
                  chunk: int = 512, shortlist: int = 0, shortlist_every: int = 4,
                  shortlist_per_photo: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """The colour distribution (1,Q,h,w) over `bins` at each of the h x w = N positions of `descriptors`
        (1,768,N), and the best similarity found (1,1,h,w). With `sigma_l` (L*) and the positions' lightness
        (1,1,h,w) in [0, 1], entries of other lightness weigh less (a Gaussian in their difference). With `vote`,
        each entry's logit gains `vote` x log(its photo's share of the matches): over the whole picture, or with
        `vote_window` (positions, odd) over that square around each position; the `k` entries are then chosen
        among each position's `candidates` nearest (one search). With `painting_penalty`, painting entries'
        logits are lowered by it before the `k` are chosen (also among the `candidates`). With a `vote` and
        `shortlist`, a bank of more photos than that is searched on the `shortlist` photos that `shortlisted` finds
        (every `shortlist_every`-th position's matches), so its cost grows far more slowly with the collection
        (a first pass over every entry at 1/`shortlist_every`^2 of the positions)."""
        keys, nearest, key_l = self._entries()
        photo_of, source_of = self.photo, self.source
        query = self.project(descriptors)
        photos = int(self.photo.max()) + 1
        voting = bool(vote) and photos > 1
        if voting and 0 < shortlist < photos:
            kept = self.shortlisted(query, size, k, temperature, shortlist, shortlist_every, chunk,
                                    shortlist_per_photo)
            keys, nearest, key_l = keys[:, kept], nearest[kept], key_l[kept]
            photo_of, source_of = photo_of[kept], source_of[kept]
        penalised = bool(painting_penalty) and bool(source_of.any())
        width = min(max(k, candidates) if voting or penalised else k, keys.shape[1])
        sim, idx = self._search(query, keys, width, chunk)
        best = sim[:, 0]
        ell = None if lightness is None or sigma_l is None else lightness.flatten()[:, None]

        def weights(logits: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
            if ell is not None:
                logits = logits - ((ell - key_l[chosen]) * 100) ** 2 / (2 * sigma_l**2)
            return torch.softmax(logits, dim=1)

        chosen = idx[:, :k]
        weight = weights(sim[:, :k] / temperature, chosen)
        bias = -painting_penalty * source_of[idx].float() if penalised else torch.zeros(())
        if penalised and not voting:
            logits, pick = (sim / temperature + bias).topk(min(k, width), dim=1)
            chosen = idx.gather(1, pick)
            weight = weights(logits, chosen)
        if voting:
            photo = photo_of.long()
            share = torch.zeros(len(query), photos).scatter_add_(1, photo[chosen], weight)
            if vote_window:  # each position's share over the window around it
                pad = vote_window // 2
                grid = F.pad(share.T.reshape(1, photos, *size), (pad,) * 4, mode="replicate")
                share = F.avg_pool2d(grid, vote_window, stride=1).flatten(2)[0].T
            else:
                share = share.mean(0, keepdim=True).expand(len(query), -1)
            bias = bias + vote * share.clamp_min(1e-6).log().gather(1, photo[idx])
            logits, pick = (sim / temperature + bias).topk(min(k, width), dim=1)
            chosen = idx.gather(1, pick)
            weight = weights(logits, chosen)
        hist = torch.zeros(len(query), len(self.bins)).scatter_add_(1, nearest[chosen], weight)
        return hist.T.reshape(1, -1, *size), best.view(1, 1, *size)

    @staticmethod
    def _search(query: torch.Tensor, keys: torch.Tensor, width: int, chunk: int) -> tuple[torch.Tensor, ...]:
        """The `width` most similar entries' similarities and indices (N, width), `chunk` queries at a time."""
        sims, idx = zip(*((query[s : s + chunk] @ keys).topk(width, dim=1) for s in range(0, len(query), chunk)),
                        strict=True)
        return torch.cat(sims), torch.cat(idx)

    def sampled(self, per_photo: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys (dims, M), photo (M,)) of about `per_photo` entries of each photo (every n-th of its own, n its
        entries // `per_photo`): a photo's views at a glance, for `shortlisted`. Kept for the next picture."""
        if per_photo not in self._sampled:
            keys, photo = self._entries()[0], self.photo.long()
            counts = torch.bincount(photo)
            order = torch.argsort(photo, stable=True)
            rank = torch.empty_like(order)
            rank[order] = torch.arange(len(photo)) - (torch.cumsum(counts, 0) - counts)[photo[order]]
            keep = (rank % (counts // per_photo).clamp_min(1)[photo] == 0).nonzero().squeeze(1)
            self._sampled[per_photo] = (keys[:, keep].contiguous(), photo[keep])
        return self._sampled[per_photo]

    def shortlisted(self, query: torch.Tensor, size: tuple[int, int], k: int, temperature: float, photos: int,
                    every: int = 4, chunk: int = 512, per_photo: int = 0) -> torch.Tensor:
        """Indices of the entries of the `photos` photos with the largest share of the `k` best matches of every
        `every`-th query position (in both directions of the h x w grid `size`): the scene retrieval before the
        search (He et al. 2018 retrieve a reference the same way), which the whole-picture vote would do anyway.
        It costs a search of the whole bank by 1/`every`^2 of the positions; with `per_photo`, of about that many
        entries of each photo (`sampled`) instead of all."""
        keys, photo = self.sampled(per_photo) if per_photo else (self._entries()[0], self.photo.long())
        h, w = size
        grid = torch.arange(h * w).view(h, w)[every // 2 :: every, every // 2 :: every].flatten()
        sim, idx = self._search(query[grid if len(grid) else torch.arange(len(query))], keys, min(k, keys.shape[1]),
                                chunk)
        share = torch.zeros(int(self.photo.max()) + 1).index_add_(
            0, photo[idx].flatten(), torch.softmax(sim / temperature, dim=1).flatten())
        chosen = share.topk(min(photos, len(share))).indices
        return torch.isin(self.photo.long(), chosen).nonzero().squeeze(1)

    def prior(self) -> torch.Tensor:
        """(Q,) how often each ab bin occurs among the entries, mixed half and half with the uniform."""
        counts = torch.bincount(self._entries()[1], minlength=len(self.bins)).float()
        return 0.5 * counts / counts.sum() + 0.5 / len(self.bins)

    def annealed_mean(self, hist: torch.Tensor, temperature: float, rebalance: float = 0.0) -> torch.Tensor:
        """ab (1,2,h,w) of a distribution (1,Q,h,w): the mean of p^(1/temperature), normalised; with
        `rebalance`, p is first divided by the bank's `prior` to that power (as Zhang et al. 2016's class
        rebalancing: the common dull colours would otherwise win wherever the matches disagree)."""
        if rebalance:
            hist = hist * self.prior().view(1, -1, 1, 1) ** -rebalance
        p = hist.clamp_min(0) ** (1 / temperature)
        p = p / p.sum(1, keepdim=True).clamp_min(1e-30)
        return torch.einsum("bqhw,qc->bchw", p, self.bins)
