"""Quality metrics shared by training, eval, benchmarks and the archive."""

from daguerre.metrics.colour import chroma_error, colour_distance
from daguerre.metrics.distribution import fid, frechet_distance, kid
from daguerre.metrics.fidelity import psnr, ssim
from daguerre.metrics.noreference import colourfulness, sharpness
from daguerre.metrics.perceptual import LPIPS, lpips
from daguerre.metrics.style import content_distance, gram_matrix, style_distance
from daguerre.metrics.temporal import temporal_error, warping_error

__all__ = [
    "LPIPS", "chroma_error", "colour_distance", "colourfulness", "content_distance", "fid", "frechet_distance",
    "gram_matrix", "kid", "lpips", "psnr", "sharpness", "ssim", "style_distance", "temporal_error", "warping_error",
]
