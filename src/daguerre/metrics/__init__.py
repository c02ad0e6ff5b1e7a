"""Quality metrics shared by training, eval, benchmarks and the archive."""

from daguerre.metrics.colour import chroma_error, colour_distance
from daguerre.metrics.distribution import fid, frechet_distance, kid
from daguerre.metrics.fidelity import SSIM_MIN_SIDE, psnr, ssim
from daguerre.metrics.noreference import colourfulness, sharpness
from daguerre.metrics.perceptual import LPIPS, LPIPS_MIN_SIDE, lpips
from daguerre.metrics.style import STYLE_MIN_SIDE, content_distance, gram_matrix, style_distance
from daguerre.metrics.temporal import temporal_error, warping_error


def too_small(shape: tuple) -> dict[str, int]:
    """The metrics ("ssim", "lpips", "style_distance") a picture of this (..., H, W) shape is too small for, each
    with the side it needs."""
    needs = {"ssim": SSIM_MIN_SIDE, "lpips": LPIPS_MIN_SIDE, "style_distance": STYLE_MIN_SIDE}
    return {k: least for k, least in needs.items() if min(shape[-2:]) < least}


__all__ = [
    "LPIPS", "LPIPS_MIN_SIDE", "SSIM_MIN_SIDE", "STYLE_MIN_SIDE", "chroma_error", "colour_distance", "colourfulness",
    "content_distance", "fid", "frechet_distance", "gram_matrix", "kid", "lpips", "psnr", "sharpness", "ssim",
    "style_distance", "temporal_error", "too_small", "warping_error",
]
