"""The anchor (issue 14): a faint smooth noise added to a style model's input that MOVES WITH THE SCENE, so where
the picture is flat the network has something to anchor its strokes to, and they follow the motion instead of
staying fixed to the frame (a model trained with `anchor_noise`, recipes/<name>-anchor.toml, wants it; its card
says so in `training["anchor"]`).

The noise is a fixed periodic tile (white noise Gaussian-filtered with wrap-around, normalised to std 1) sampled at
a per-pixel SOURCE-coordinate map. A still gets the tile at identity coordinates (deterministic). In a clip the
map is advanced each frame by the backward flow of the input frames, coords_t(p) = coords_{t-1}(p + flow_t(p)), so
the noise is carried along the motion; it is always sampled from the sharp tile, never resampled from the previous
frame's noise, so it does not blur away. At a scene cut the map starts again at identity.
"""

from __future__ import annotations

import numpy as np
import torch

TILE = 256  # px: the periodic noise tile's side
SEED = 0


def noise_tile(sigma: float, size: int = TILE, seed: int = SEED) -> np.ndarray:
    """(size, size) float32 periodic smooth noise of std 1: white noise Gaussian-filtered by `sigma` px with
    wrap-around (the tile repeats seamlessly)."""
    from scipy.ndimage import gaussian_filter

    white = np.random.default_rng(seed).standard_normal((size, size))
    field = gaussian_filter(white, sigma, mode="wrap")
    return ((field - field.mean()) / field.std()).astype(np.float32)


def sample_tile(tile: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """(H, W) float32: `tile` sampled bilinearly at `coords` (H, W, 2) (x, y) in tile pixels, wrapping around."""
    import cv2

    size = np.float32(tile.shape[0])
    wrapped = coords * (1 / size)  # coords mod size, in place (np.mod is ~30x slower on a frame's map)
    np.floor(wrapped, out=wrapped)
    wrapped *= -size
    wrapped += coords
    return cv2.remap(tile, wrapped, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def identity(h: int, w: int) -> np.ndarray:
    """(H, W, 2) float32 map of each pixel's own (x, y)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.stack([gx, gy], -1)


def still_anchor(h: int, w: int, amount: float, sigma: float) -> np.ndarray:
    """(H, W) float32: a still's anchor, the tile at identity coordinates times `amount`."""
    reps = (-(-h // TILE), -(-w // TILE))
    return amount * np.tile(noise_tile(sigma), reps)[:h, :w]


def add_anchor(pixels: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """(C, H, W) float32 `pixels` in [0, 1] with the (H, W) `anchor` added to every channel, clamped to [0, 1]."""
    return np.clip(pixels + anchor[None], 0, 1).astype(np.float32)


class MovingAnchor:
    """Call once per frame, in order, with the frame's backward flow at full size (H, W, 2; None at the first
    frame or a scene cut): the frame's anchor (H, W) float32 (`amount` times the tile at the advected coordinates)."""

    def __init__(self, amount: float, sigma: float) -> None:
        self.amount, self.tile = amount, noise_tile(sigma)
        self.coords: np.ndarray | None = None

    def reset(self) -> None:
        self.coords = None

    def __call__(self, h: int, w: int, backward: np.ndarray | None) -> np.ndarray:
        import cv2

        if backward is None or self.coords is None or self.coords.shape[:2] != (h, w):
            self.coords = identity(h, w)
        else:  # coords_t(p) = q + d_{t-1}(q), q = p + flow(p), d = coords - identity: pixels entering the frame
            base = identity(h, w)  # continue the edge's displacement instead of stretching its coordinates
            q = base + backward
            d = self.coords - base
            self.coords = cv2.remap(d, q, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            self.coords += q
        return self.amount * sample_tile(self.tile, self.coords)

    def next(self, size: tuple[int, int], motion: object) -> np.ndarray:
        """The anchor of a frame of `size` (W, H) given its `motion` (`TemporalConsistency.motion`: the backward
        flow at the flow's size, None at the first frame and at a cut)."""
        from daguerre.video.flow import resize_flow

        w, h = size
        backward = getattr(motion, "backward", None)
        return self(h, w, None if backward is None else resize_flow(backward, (w, h)))


def wanted(card: object) -> tuple[float, float] | None:
    """(amount, sigma) of the anchor a style model's card asks for (`training["anchor"]`), None if it asks none."""
    anchor = getattr(card, "training", {}).get("anchor")
    if not anchor:
        return None
    return float(anchor["amount"]), float(anchor.get("sigma", 1.5))


def anchored_net(card: object, net: torch.nn.Module) -> torch.nn.Module:
    """`net` as stills run it: fed the still's anchor its card asks for (`wanted`), or `net` itself if none (for
    measuring a model's card metrics as `stylize` runs it)."""
    want = wanted(card)
    return net if want is None else _StillAnchored(net, *want)


class _StillAnchored(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, amount: float, sigma: float) -> None:
        super().__init__()
        self.net, self.amount, self.sigma = net, amount, sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        anchor = torch.from_numpy(still_anchor(*x.shape[-2:], self.amount, self.sigma))
        return self.net((x + anchor).clamp(0, 1))
