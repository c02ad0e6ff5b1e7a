"""The clip pipeline's settings before the issue-14 speed round (2026-11-29 22:00 UTC), to time it beside the current
one in the same run: the consistency step as it was (numpy temporaries, separate x/y warp maps, float masks),
x264 'veryfast', frames to uint8 in numpy, and ONNX Runtime sessions whose idle threads spin. Same output as the
current step to 3/255 (float rounding). Used only by benchmarks/video.py."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import cv2
import numpy as np

from daguerre.imaging import Picture
from daguerre.video import clip as clip_module
from daguerre.video import consistency as consistency_module
from daguerre.video.consistency import MIN_TRUSTED, PHOTOMETRIC_TOLERANCE, TemporalConsistency
from daguerre.video.flow import is_scene_cut


def _grey8(rgb: np.ndarray) -> np.ndarray:
    y = rgb[0] * np.float32(0.299) + rgb[1] * np.float32(0.587) + rgb[2] * np.float32(0.114)
    return cv2.convertScaleAbs(y, alpha=255)


def _warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(image.shape)


def _resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = flow.shape[:2]
    out = cv2.resize(flow, size, interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= size[0] / w
    out[..., 1] *= size[1] / h
    return out


def _confidence(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    h, w = backward.shape[:2]
    back_fwd = _warp(forward, backward)
    total = backward + back_fwd
    mag = (backward**2).sum(-1) + (back_fwd**2).sum(-1)
    ok = (total**2).sum(-1) <= 0.01 * mag + 0.5
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    sx, sy = gx + backward[..., 0], gy + backward[..., 1]
    ok &= (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)
    return ok.astype(np.float32)


def _keep_contrast(blended: np.ndarray, result: np.ndarray) -> np.ndarray:
    k = (consistency_module.CONTRAST_WINDOW,) * 2

    def local_variance(x: np.ndarray) -> np.ndarray:
        mean = cv2.blur(x, k)
        return cv2.blur(x * x, k) - mean * mean

    def luma(x: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)

    gain = np.sqrt(np.maximum(local_variance(luma(result)), 0) / np.maximum(local_variance(luma(blended)), 1e-6))
    mean = cv2.blur(blended, k).reshape(blended.shape)
    return np.clip(mean + (blended - mean) * np.clip(gain, 1, 2)[..., None], 0, 1)


class BeforeConsistency(TemporalConsistency):
    """The step as it was (RGB results only, as the speed table uses it)."""

    def __call__(self, source: np.ndarray, result: np.ndarray) -> np.ndarray:
        grey = self.flow.small(_grey8(source))
        out = np.ascontiguousarray(result.transpose(1, 2, 0), dtype=np.float32)
        carry = (self.strength > 0 and self._grey is not None and self._out is not None
                 and self._grey.shape == grey.shape and self._out.shape == out.shape)
        if carry and is_scene_cut(grey, self._grey):
            self.cuts += 1
            carry = False
        if carry:
            blended = self._blend(grey, out)
            self.cuts += blended is None
            out = out if blended is None else blended
        self._grey, self._out = grey, out
        return out.transpose(2, 0, 1)

    def _blend(self, grey: np.ndarray, out: np.ndarray) -> np.ndarray | None:
        prev_grey, prev_out = self._grey, self._out
        backward = self.flow(grey, prev_grey)
        trust = _confidence(backward, self.flow(prev_grey, grey))
        seen = _warp(prev_grey, backward).astype(np.int16)
        trust *= np.abs(seen - grey.astype(np.int16)) <= PHOTOMETRIC_TOLERANCE
        if trust.mean() < MIN_TRUSTED:
            return None
        trust = cv2.blur(trust, (3, 3))
        h, w = out.shape[:2]
        backward = _resize_flow(backward, (w, h))
        trust = cv2.resize(trust, (w, h), interpolation=cv2.INTER_LINEAR)[..., None] * self.strength
        warped = _warp(prev_out, backward)
        return _keep_contrast(out + trust * (warped - out), out)


def _to_rgb8(picture: Picture) -> np.ndarray:
    return (np.clip(picture.rgb().transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)


@contextlib.contextmanager
def settings_before() -> Iterator[None]:
    """Within the block, `process_clip` runs as before this round (the model's spinning is set by the caller:
    `daguerre.models.onnx._session(..., spinning=True)`)."""
    saved = (consistency_module.TemporalConsistency, clip_module.to_rgb8, clip_module.ENCODER_QUALITY["libx264"])
    consistency_module.TemporalConsistency = BeforeConsistency
    clip_module.to_rgb8 = _to_rgb8
    clip_module.ENCODER_QUALITY["libx264"] = ["-preset", "veryfast", "-crf", "17"]
    try:
        yield
    finally:
        (consistency_module.TemporalConsistency, clip_module.to_rgb8,
         clip_module.ENCODER_QUALITY["libx264"]) = saved
