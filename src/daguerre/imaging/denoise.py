"""Sensor noise of a scan or of a photographed print: how much there is, and removing it when there is much.

`noise_level` is Donoho's robust estimate (the median absolute finest diagonal Haar coefficient / 0.6745), taken
per 16 px block and read at the blocks' 20th percentile: noise is in every block, texture only in some, so a
clean but busy photo (a baboon's fur) does not read as noisy. `denoise` is OpenCV's non-local means with a
strength proportional to that level (Buades et al. 2005)."""

from __future__ import annotations

import cv2
import numpy as np

BLOCK = 8  # Haar coefficients per block side (16 px)


def noise_level(x: np.ndarray) -> float:
    """The deviation of white noise in x (3,H,W) float in [0,1], in the same units."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    if not h or not w:  # a 1-pixel picture or strip: no 2 x 2 block to measure, so no measurable noise
        return 0.0
    y = x[:, :h, :w]
    hh = np.abs(y[:, 0::2, 0::2] - y[:, 0::2, 1::2] - y[:, 1::2, 0::2] + y[:, 1::2, 1::2]).mean(0) / 2
    bh, bw = hh.shape[0] // BLOCK, hh.shape[1] // BLOCK
    if not bh or not bw:
        return float(np.median(hh) / 0.6745)
    blocks = hh[: bh * BLOCK, : bw * BLOCK].reshape(bh, BLOCK, bw, BLOCK).transpose(0, 2, 1, 3).reshape(bh * bw, -1)
    return float(np.percentile(np.median(blocks, 1), 20) / 0.6745)


def denoise(x: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    """x (3,H,W) float in [0,1] through non-local means of filter strength `strength` x sigma (7 px patches,
    21 px search), float32."""
    bgr = np.ascontiguousarray((np.clip(x, 0, 1).transpose(1, 2, 0)[..., ::-1] * 255).round().astype(np.uint8))
    h = float(strength * sigma * 255)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21)
    return np.ascontiguousarray(out[..., ::-1].transpose(2, 0, 1), np.float32) / 255
