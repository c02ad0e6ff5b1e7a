"""Frames in between: the model runs on every `every`-th frame of a clip (a key), and each frame between two keys is
made from their outputs, moved onto it along the optical flow of the input frames and blended where each flow is
trusted (its forward-backward check and the warped input matching, as the consistency step's):

    out_t = w_a * warp(out_a, flow_t->a) + w_b * warp(out_b, flow_t->b)
    w_a ~ t_a (1 - s'),  w_b ~ t_b (s' + (1 - s') (1 - t_a)),  s' = s (1 - lean),  s = (t - a) / (b - a)

so the later key fills what the earlier one does not show, and where neither flow is trusted (a few scattered
pixels) the keys are averaged. `lean` 0 weighs the keys by nearness (the steadiest: a frame in between changes by
half the keys' difference on either side); 1 takes the earlier key wherever it is trusted (the crispest).
`process_clip` sets it from `--consistency` (lean = 1 - consistency).

At `every` 2 the network's cost a frame is halved. Where neither key sees a part of the frame (a figure
uncovering the background, a cut between the keys) over more than `MAX_UNSEEN` of it, the model runs on that frame
too and fills what the keys do not show. The last frame of a clip is always a key. For colorize only the colour
moves: each frame keeps its own luma. Measured in BENCHMARKS.md ("Video", "A key every N frames").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from daguerre.imaging import Picture
from daguerre.video import MAX_KEY_EVERY
from daguerre.video.consistency import (
    MIN_TRUSTED,
    STEP_FLOW_FINEST,
    STEP_FLOW_SIZE,
    TemporalConsistency,
    _fit_gamut,
    channels_last,
    trusted_flow,
)
from daguerre.video.flow import FLOW_PRESET, FlowEstimator, grey8, is_scene_cut, resize_flow, sample_map

# share of a frame in between that neither key sees, in whole regions (`_unseen_share`), above which the model runs
# on it too. Measured on a held-out pan: the flow fails over 1-2 % of a frame in flat patches (the keys' average is
# right there); a figure entering the frame or a cut between the keys is more
MAX_UNSEEN = 0.1
UNSEEN_REGION = 9  # px at the flow's size: untrusted pixels count as unseen where most of a square this wide is
LEAN = 0.5  # the default consistency's: measured best at it among 0, 0.5 and 1 (BENCHMARKS.md)
# how the earlier key's output is resampled: cubic (linear's blur cost +24-33 % style distance on Megamind against
# cubic's +17 %, BENCHMARKS.md; ~3x linear's time)
INTERPOLATION = "cubic"
UNTRUSTED_WEIGHT = 0.01  # a key's weight where its flow is not trusted: the keys' plain average where neither is
# operations whose frames may be made in between: whole-picture looks, and colorize's colour. restore, upscale and
# repair keep each frame's own detail (grain, moving figures), which the keys' outputs moved along the flow do not.
INBETWEEN_OPERATIONS = frozenset({"stylize", "retro", "colorize"})


@dataclass
class _Key:
    """A key's input grey (at the flow's size), its output (H, W, C) float32 and its Picture."""

    grey: np.ndarray
    out: np.ndarray
    picture: Picture


class Inbetween:
    """`inbetween.frames(items, run)`: `items` are (frame, result) in order, the result given for every `every`-th
    frame from the first (None for the others); yields every frame's output, in order. `run(frame)` is the model,
    called for the last frame when it is not a key and for frames the keys do not show. `chroma_only`: only the
    colour is carried. `steady`: the consistency step, applied to every output in order (colorize: its colour
    planes are steadier for it, and it costs no style). `made`, `ran`: frames made in between and frames the model
    ran on after all (counted)."""

    def __init__(self, every: int = 2, chroma_only: bool = False, lean: float = LEAN,
                 interpolation: str | None = None, max_unseen: float = MAX_UNSEEN,
                 steady: TemporalConsistency | None = None) -> None:
        import cv2

        if not 1 <= every <= MAX_KEY_EVERY:  # the frames between wait in memory for the later key
            raise ValueError(f"a key every {every} frames: must be 1 to {MAX_KEY_EVERY}")
        if not 0 <= lean <= 1:
            raise ValueError(f"lean must be between 0 and 1, got {lean}")
        self.every, self.chroma_only, self.lean, self.max_unseen = every, chroma_only, lean, max_unseen
        self.steady = steady
        self.interpolation = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}[interpolation or INTERPOLATION]
        # the later key, weighed less wherever the earlier one is trusted (lean > 0), linear: a third of the cost
        self.later = cv2.INTER_LINEAR if self.lean > 0 else self.interpolation
        self.flow = FlowEstimator(STEP_FLOW_SIZE, FLOW_PRESET, STEP_FLOW_FINEST)
        self.made = self.ran = 0

    def is_key(self, index: int) -> bool:
        return index % self.every == 0

    def frames(self, items: Iterable[tuple[Picture, Picture | None]],
               run: Callable[[Picture], Picture]) -> Iterator[Picture]:
        """Closing this closes `items` (a pipeline stage upstream, and its decoder)."""
        try:
            if self.steady is None:
                yield from self._frames(items, run)
                return
            shown: deque[Picture] = deque()  # the input frames taken, not yet given out (the steady step's flow)

            def remembered() -> Iterator[tuple[Picture, Picture | None]]:
                for frame, result in items:
                    shown.append(frame)
                    yield frame, result

            for out in self._frames(remembered(), run):  # in the frames' order
                frame = shown.popleft()
                yield out.with_pixels(self.steady(frame.pixels, out.pixels))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _frames(self, items: Iterable[tuple[Picture, Picture | None]],
                run: Callable[[Picture], Picture]) -> Iterator[Picture]:
        key: _Key | None = None
        waiting: list[Picture] = []  # frames since the last key, in order
        for frame, result in items:
            if result is None:
                waiting.append(frame)
                continue
            new = self._key(frame, result)
            yield from self._between(key, waiting, new, run)
            waiting, key = [], new
            yield new.picture
        if waiting:  # the clip ends between keys: its last frame becomes one
            last = waiting.pop()
            new = self._key(last, run(last))
            yield from self._between(key, waiting, new, run)
            yield new.picture

    def _key(self, frame: Picture, result: Picture) -> _Key:
        return _Key(self.flow.small(grey8(frame.pixels)), channels_last(result.pixels), result)

    def _between(self, a: _Key | None, frames: list[Picture], b: _Key,
                 run: Callable[[Picture], Picture]) -> Iterator[Picture]:
        for i, frame in enumerate(frames, 1):
            yield self._made(frame, a, b, i / (len(frames) + 1), run)

    def _moved(self, grey: np.ndarray, key: _Key | None, size: tuple[int, int],
               interpolation: int) -> tuple[np.ndarray, np.ndarray] | None:
        """`key`'s output moved onto the frame whose grey is `grey` (resampled by `interpolation`, an OpenCV flag),
        and the flow's trust (blurred, at the flow's size); None across a cut or where too little of the frame is
        found in the key."""
        import cv2

        if key is None or key.grey.shape != grey.shape or is_scene_cut(grey, key.grey):
            return None
        back, trust = trusted_flow(self.flow, grey, key.grey)
        if trust.mean() < MIN_TRUSTED:
            return None
        positions = sample_map(resize_flow(back, size))
        moved = cv2.remap(key.out, positions, None, interpolation, borderMode=cv2.BORDER_REPLICATE)
        return moved.reshape(key.out.shape), cv2.blur(trust.astype(np.float32), (3, 3))

    def _made(self, frame: Picture, a: _Key | None, b: _Key, s: float, run: Callable[[Picture], Picture]) -> Picture:
        """The frame at `s` (0..1) of the way from key `a` to key `b` (module docstring)."""
        import cv2

        grey = self.flow.small(grey8(frame.pixels))
        h, w = frame.pixels.shape[1:]
        found = [self._moved(grey, a, (w, h), self.interpolation), self._moved(grey, b, (w, h), self.later)]
        trust_a, trust_b = (f[1] if f is not None else np.zeros_like(grey, np.float32) for f in found)
        seen = np.maximum(trust_a, trust_b)
        own = None
        if all(f is None for f in found) or _unseen_share(seen) > self.max_unseen:  # the model paints what no key shows
            result = run(frame)
            self.ran += 1
            if all(f is None for f in found):
                return self._keep_luma(frame, result)
            own = channels_last(result.pixels)
        if found[0] is None or found[1] is None:
            out = next(f for f in found if f is not None)[0]
        else:
            later = np.float32(s * (1 - self.lean))
            weight_a = trust_a * (1 - later) + np.float32(UNTRUSTED_WEIGHT * (1 - s))
            weight_b = trust_b * (later + (1 - later) * (1 - trust_a)) + np.float32(UNTRUSTED_WEIGHT * s)
            weight_a /= weight_a + weight_b
            weight_a = cv2.resize(weight_a, (w, h), interpolation=cv2.INTER_LINEAR)
            out = cv2.blendLinear(found[0][0], found[1][0], weight_a, 1 - weight_a).reshape(found[0][0].shape)
        if own is not None:  # the model's own output where neither key is trusted
            seen = cv2.resize(seen, (w, h), interpolation=cv2.INTER_LINEAR)
            out = cv2.blendLinear(out, own, seen, 1 - seen).reshape(own.shape)
        else:
            self.made += 1
        out = np.clip(out, 0, 1, out=out)
        template = result if own is not None else b.picture  # the output's metadata
        return self._keep_luma(frame, template.with_pixels(out.transpose(2, 0, 1)))

    def _keep_luma(self, frame: Picture, made: Picture) -> Picture:
        """`made` with the frame's own BT.601 luma (colorize), its colours brought into gamut; else `made`."""
        if not self.chroma_only or made.pixels.shape[0] != 3:
            return made
        import cv2

        rgb = np.ascontiguousarray(made.pixels.transpose(1, 2, 0), dtype=np.float32)
        ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
        source = frame.pixels
        ycc[..., 0] = source[0] if source.shape[0] == 1 else cv2.cvtColor(
            np.ascontiguousarray(source.transpose(1, 2, 0), dtype=np.float32), cv2.COLOR_RGB2GRAY)
        out = _fit_gamut(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), ycc[..., :1])
        return made.with_pixels(out.transpose(2, 0, 1))


def _unseen_share(seen: np.ndarray) -> float:
    """The share of the frame in regions neither key sees: untrusted pixels where most of their `UNSEEN_REGION`
    square is untrusted too (a disocclusion, a new figure), not the scattered pixels where the flow failed."""
    import cv2

    unseen = cv2.blur(1 - seen, (UNSEEN_REGION, UNSEEN_REGION))
    return float((unseen > 0.5).mean())
