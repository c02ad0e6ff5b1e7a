"""Short-term temporal loss for feed-forward stylisation (Huang et al. 2017; Gao et al. 2018 ReCoNet).

A second frame is made from each training crop by a small known camera motion (sub-pixel shift, slight zoom and
rotation) plus a little brightness jitter and noise, as between two frames of a real video; since the motion is
known, the flow is exact. The loss is the mean squared difference between the output of frame 2 and the output of
frame 1 warped by that motion, on the pixels both frames see.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class CameraJitter:
    """Largest motion between the two frames (each drawn uniformly in ±) and the photometric jitter."""

    shift: float = 3.0  # pixels
    zoom: float = 0.01  # relative scale
    rotation: float = 0.5  # degrees
    brightness: float = 0.02  # relative gain
    noise: float = 0.01  # standard deviation of added Gaussian noise
    margin: int = 4  # border pixels left out of the loss (frame 2 sees reflected content there)


def camera_grid(n: int, h: int, w: int, g: torch.Generator, jitter: CameraJitter) -> torch.Tensor:
    """(N, H, W, 2) sampling grid (grid_sample's normalised coordinates): for each pixel of frame 2, where it was
    in frame 1."""
    u = lambda: 2 * torch.rand(n, generator=g) - 1  # noqa: E731
    scale = 1 + jitter.zoom * u()
    angle = torch.deg2rad(jitter.rotation * u())
    tx, ty = jitter.shift * u(), jitter.shift * u()
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # in pixel units about the centre: p1 = M p2 + t; in normalised units D M D^-1 with D = diag(2/W, 2/H)
    theta = torch.stack([
        torch.stack([cos, -sin * h / w, 2 * tx / w], -1),
        torch.stack([sin * w / h, cos, 2 * ty / h], -1),
    ], 1)
    return F.affine_grid(theta, [n, 3, h, w], align_corners=False)


def warp(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Frame 1 (or its output) seen from frame 2: bilinear, borders reflected."""
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def valid_pixels(grid: torch.Tensor, margin: int = 0) -> torch.Tensor:
    """(N, 1, H, W) float mask of frame-2 pixels whose source lies inside frame 1, `margin` pixels in."""
    h, w = grid.shape[1:3]
    limit = torch.tensor([1 - 2 * margin / w, 1 - 2 * margin / h])
    inside = (grid.abs() <= limit).all(-1)[:, None].float()
    if margin:  # and frame 2's own border, where the net's padding differs from frame 1's
        inside = F.pad(inside[..., margin:-margin, margin:-margin], (margin,) * 4)
    return inside


def second_frame(x: torch.Tensor, g: torch.Generator, jitter: CameraJitter | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(frame 2, grid, valid mask) for a batch of frames `x` (N, 3, H, W) in [0, 1]."""
    jitter = jitter or CameraJitter()
    n, _, h, w = x.shape
    grid = camera_grid(n, h, w, g, jitter)
    gain = 1 + jitter.brightness * (2 * torch.rand(n, 1, 1, 1, generator=g) - 1)
    noise = jitter.noise * torch.randn(x.shape, generator=g)
    x2 = (warp(x, grid) * gain + noise).clamp(0, 1)
    return x2, grid, valid_pixels(grid, jitter.margin)


def anchor_noise(n: int, h: int, w: int, sigma: float, g: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) smooth noise, each its own: white noise Gaussian-filtered by `sigma` px (borders reflected),
    normalised to std 1 per sample. Added faintly to a crop before its temporal pair is made, it moves with the
    crop, so the net can anchor strokes to it where the picture itself is flat (issue 14's "anchor")."""
    white = torch.randn(n, 1, h, w, generator=g)
    r = max(1, int(3 * sigma + 0.5))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    k = k / k.sum()
    field = F.conv2d(F.pad(white, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    field = F.conv2d(F.pad(field, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    field = field - field.mean((2, 3), keepdim=True)
    return field / field.std((2, 3), keepdim=True).clamp(min=1e-8)


def temporal_loss(y1: torch.Tensor, y2: torch.Tensor, grid: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between output 2 and output 1 warped onto frame 2, over valid pixels."""
    d = (y2 - warp(y1, grid)).pow(2).mean(1, keepdim=True) * valid
    return d.sum() / valid.sum().clamp(min=1)
