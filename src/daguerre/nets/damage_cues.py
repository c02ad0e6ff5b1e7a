"""Classical damage cues: fixed (not learnt) filters of the luminance that a scratch or a speck of dust lights up.

A small net trained on ~85 photos learns "a thin bright or dark thing" poorly from RGB alone: it fired on strong
edges and missed most hairlines of a damage family it had not seen (recall 0.19). These filters say it directly,
whatever drew the damage, and the net only has to learn which of them to trust:

- black-hat and top-hat (closing minus picture, picture minus opening) with 3, 7 and 11 px squares: dark and
  bright structures thinner than the square (hairlines, specks), but not edges, which survive opening and closing;
- the same 3 px hats averaged along a 9 px line in 8 directions, the largest of them: a line keeps its response
  along its length where texture does not;
- the local contrast (standard deviation in a 7 px box): the hats of a busy texture are large without damage.

All are max pools, convolutions and box means: no normalisation, tiles agree with the whole picture, and the
ONNX export works. `damage_cues(x)`: RGB (N,3,H,W) in [0,1] -> (N, CUES, H, W).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

CUES = 9
HAT_SIZES = (3, 7, 11)
LINE_LENGTH = 9
DIRECTIONS = 8


def dilate(x: torch.Tensor, size: int) -> torch.Tensor:
    """The largest value in each size x size square (the picture's border not extended)."""
    if _by_opencv(x):
        return _morphology(x, size, "dilate")
    return F.max_pool2d(x, size, 1, size // 2)


def erode(x: torch.Tensor, size: int) -> torch.Tensor:
    """The smallest value in each size x size square (the picture's border not extended)."""
    if _by_opencv(x):
        return _morphology(x, size, "erode")
    return -F.max_pool2d(-x, size, 1, size // 2)


def _by_opencv(x: torch.Tensor) -> bool:
    """Whether OpenCV's dilate and erode take the square's max and min: the same numbers as torch's max pool
    (both leave the border out), ~100x faster on CPU (0.8 of a 480p frame's 3.3 s of restore were these max pools);
    not while exporting to ONNX or when gradients are wanted."""
    if x.requires_grad or x.device.type != "cpu" or x.dtype != torch.float32 or torch.jit.is_tracing():
        return False
    if torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling():
        return False
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def _morphology(x: torch.Tensor, size: int, how: str) -> torch.Tensor:
    import cv2

    square = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    apply = cv2.dilate if how == "dilate" else cv2.erode
    planes = x.detach().contiguous().reshape(-1, *x.shape[-2:]).numpy()
    out = torch.empty(planes.shape, dtype=x.dtype)
    for plane, result in zip(planes, out.numpy(), strict=True):
        apply(plane, square, dst=result)
    return out.reshape(x.shape)


def line_kernels(length: int = LINE_LENGTH, directions: int = DIRECTIONS) -> torch.Tensor:
    """(directions, 1, length, length): normalised anti-aliased lines through the centre, 180/directions apart."""
    r = length // 2
    ys, xs = torch.meshgrid(torch.arange(-r, r + 1.0), torch.arange(-r, r + 1.0), indexing="ij")
    kernels = []
    for k in range(directions):
        a = math.pi * k / directions
        across = (-xs * math.sin(a) + ys * math.cos(a)).abs()
        along = (xs * math.cos(a) + ys * math.sin(a)).abs()
        line = (1 - across).clamp(min=0) * (along <= r + 0.5)
        kernels.append(line / line.sum())
    return torch.stack(kernels)[:, None]


def damage_cues(x: torch.Tensor, kernels: torch.Tensor | None = None) -> torch.Tensor:
    """The `CUES` cue maps of RGB pictures x (see the module's docstring), each about 0..1; `kernels`: the
    `line_kernels()` (a module keeps them as a buffer: built once, constants in an ONNX export)."""
    lum = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    p = max(HAT_SIZES) // 2
    padded = F.pad(lum, (p, p, p, p), mode="reflect")  # the hats and the box see no border artefact
    hats = []
    for size in HAT_SIZES:
        black = erode(dilate(padded, size), size) - padded
        top = padded - dilate(erode(padded, size), size)
        hats += [black[..., p:-p, p:-p], top[..., p:-p, p:-p]]
    kernels = (line_kernels() if kernels is None else kernels).to(x)
    r = LINE_LENGTH // 2
    along = [F.conv2d(F.pad(h, (r, r, r, r), mode="reflect"), kernels).amax(1, keepdim=True) for h in hats[:2]]
    box = padded[..., p - 3 : padded.shape[-2] - p + 3, p - 3 : padded.shape[-1] - p + 3]
    mean = F.avg_pool2d(box, 7, 1)
    contrast = ((F.avg_pool2d(box**2, 7, 1) - mean**2).clamp(min=0) + 1e-6).sqrt()  # finite gradient at 0
    return torch.cat([*hats, *along, contrast], 1) * 4  # hats of real damage are ~0.1-0.5: scaled towards 1
