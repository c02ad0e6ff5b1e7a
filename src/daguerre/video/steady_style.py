"""Temporal consistency for a fast style network (StyleNet), inside the network rather than on its output.

A StyleNet paints its strokes from 1/8-scale features in a decoder tied to an 8-pixel grid that is fixed to the
frame, not to the scene: as the camera moves a fraction of a cell each frame, the network sees the scene at a
new phase against its grid and paints every stroke afresh. Blending output pixels (`TemporalConsistency`)
steadies that by averaging strokes, and softens them. Here instead:

1. Grid lock: each frame is shifted by whole pixels (0-7, reflect-padded by a cell) so that the scene's motion
   since the shot's first frame (the median of the trusted optical flow, summed) stays a whole number of cells:
   under a pan the network sees the scene at the same phase every frame and paints the same strokes, moved.
2. Feature blend: the residual trunk's output (1/8 scale) is pulled towards the previous frame's, warped by the
   flow (in cells) where the flow is trusted, then decoded: the strokes are rendered sharp, from steadied
   features. The decoder's instance norms are each frame's own (statistics carried over a shot measured worse).

Scene cuts (as `TemporalConsistency` finds them) reset both. The encoder and decoder run as torch modules or as
two ONNX Runtime graphs (`onnx_halves`: fp32, or the int8 network's file cut in two), split at the trunk's
output. Measured against the pixel blend in BENCHMARKS.md ("Video", "Temporal stability").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from daguerre.models.card import ModelCard
from daguerre.nets.style_net import StyleNet
from daguerre.video import DEFAULT_CONSISTENCY
from daguerre.video.consistency import MIN_TRUSTED, trusted_flow
from daguerre.video.flow import FLOW_PRESET, FLOW_SIZE, FlowEstimator, grey8, is_scene_cut

CELL = 8  # StyleNet's trunk runs at 1/8 scale


@dataclass
class Motion:
    """What `SteadyStyle.render` needs of a frame's motion: its grid shift, and (within a shot) the backward flow
    and trust (strength included) at the trunk's scale, in cells of the shifted frame."""

    shift: tuple[int, int]
    flow: np.ndarray | None = None  # (h, w, 2)
    trust: np.ndarray | None = None  # (h, w)
    scene: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # at the flow's size: backward flow, trust, median


Half = Callable[[torch.Tensor], torch.Tensor]


class Encoder(nn.Module):
    """A StyleNet up to its residual trunk's output (1/8 scale): `StyleNet.encode` as a module, to export."""

    def __init__(self, net: StyleNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.encode(x)


class Decoder(nn.Module):
    """A StyleNet from its residual trunk's output to the picture: `StyleNet.decode` as a module, to export."""

    def __init__(self, net: StyleNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net.decode(features)


def onnx_halves(card: ModelCard, net: StyleNet, precision: str = "fp32") -> tuple[Half, Half]:
    """The encoder and decoder of a fast style model as two ONNX graphs (exported once, cached), on ONNX Runtime.
    `precision` "int8": the whole network's int8 file (`OnnxModel`: the same recipe, calibration and agreement
    gate as `--precision int8`) cut in two at the trunk's output (`split_at_trunk`), so the halves run, one after
    the other, exactly what the whole int8 graph runs. "bf16": the fp32 halves on OpenVINO in bfloat16. Either
    way a flat frame goes through the fp32 halves, as `OnnxModel` sends it through fp32 (8 bits or bf16 would
    paint it as a pattern)."""
    from daguerre.models.onnx import EXPORT_RECIPE, INT8_RECIPE, OnnxModel, cache_dir, check_precision, is_flat

    exact_paths = _fp32_paths(card, net)
    exact = [_half(p) for p in exact_paths]
    if check_precision(precision) == "fp32":
        return exact[0], exact[1]
    if precision == "bf16":
        rounded = [_half(p, "bf16") for p in exact_paths]
    else:
        from functools import partial

        from daguerre.nets.style_equalise import equalised

        whole = OnnxModel(card, net, precision="int8", equalised=partial(equalised, net)).path
        paths = [cache_dir() / f"{card.name}-{card.build_key}-{EXPORT_RECIPE}-{name}-int8-{INT8_RECIPE}.onnx"
                 for name in ("encoder", "decoder")]
        if not all(p.is_file() for p in paths):
            split_at_trunk(whole, *paths)
        rounded = [_half(p) for p in paths]
    flat = [False]

    def encode(x: torch.Tensor) -> torch.Tensor:
        flat[0] = is_flat(x.numpy(), precision)
        return (exact if flat[0] else rounded)[0](x)

    def decode(features: torch.Tensor) -> torch.Tensor:  # called after `encode`, for the same frame
        return (exact if flat[0] else rounded)[1](features)

    return encode, decode


def _fp32_paths(card: ModelCard, net: StyleNet) -> list[Path]:
    from daguerre.models.onnx import EXPORT_RECIPE, cache_dir, export

    paths = []
    for name, half, channels in (("encoder", Encoder(net), 3),
                                 ("decoder", Decoder(net.for_inference()), net.config["widths"][2])):
        path = cache_dir() / f"{card.name}-{card.build_key}-{EXPORT_RECIPE}-{name}.onnx"
        if not path.is_file():
            export(half, path, channels=channels)
        paths.append(path)
    return paths


def _half(path: Path, precision: str = "fp32") -> Half:
    from daguerre.models.onnx import session_for

    session = session_for(path, precision, torch.get_num_threads())
    feed = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {feed: x.numpy()})[0])


def trunk_output(graph: object) -> str:
    """The name of a StyleNet graph's tensor that is the residual trunk's output (fp32, or int8 in QDQ form):
    the input of the first convolution that feeds a pixel shuffle (the decoder's first `SubPixelConv`), followed
    back through quantize / dequantize and padding nodes, which must lead to the trunk's last residual Add."""
    nodes = list(graph.node)  # type: ignore[attr-defined]
    made_by = {o: n for n in nodes for o in n.output}
    shuffle = next(n for n in nodes if n.op_type == "DepthToSpace")
    node = made_by[shuffle.input[0]]
    while node.op_type == "DequantizeLinear" or node.op_type == "QuantizeLinear":
        node = made_by[node.input[0]]
    if node.op_type != "Conv":
        raise ValueError(f"the first pixel shuffle is fed by a {node.op_type}, not a convolution")
    name = node.input[0]
    while made_by[name].op_type in ("DequantizeLinear", "QuantizeLinear", "Pad"):
        name = made_by[name].input[0]
    if made_by[name].op_type != "Add":
        raise ValueError(f"the decoder's first convolution reads a {made_by[name].op_type}, not the trunk's Add")
    return name


def split_at_trunk(whole: Path, encoder: Path, decoder: Path) -> None:
    """Cut a StyleNet ONNX file in two at its trunk's output (`trunk_output`): `encoder` (image -> features) and
    `decoder` (features -> output), written atomically."""
    import os

    import onnx
    from onnx.utils import Extractor

    from daguerre.models.onnx import scratch

    model = onnx.load(str(whole))
    cut = trunk_output(model.graph)
    extractor = Extractor(model)
    for path, inputs, outputs in ((encoder, ["image"], [cut]), (decoder, [cut], ["output"])):
        half = extractor.extract_model(inputs, outputs)
        for value in (*half.graph.input, *half.graph.output):  # the cut's shape: (1, C, h, w), any h and w
            if value.name == cut:
                for d, name in zip(value.type.tensor_type.shape.dim[2:], ("height", "width"), strict=True):
                    d.dim_param = name
        tmp = scratch(path, "tmp")
        try:
            onnx.save(half, str(tmp))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


class SteadyStyle:
    """Call once per frame, in order: `steady_style(frame (3, H, W)) -> stylized frame (3, H, W)`.

    In a pipeline, `motion(frame)` (optical flow, OpenCV) and `render(frame, motion)` (the network) may run in
    two threads, each called in frame order. `halves`: the network's encoder and decoder to run (e.g.
    `onnx_halves`), by default the torch modules."""

    def __init__(self, net: StyleNet, strength: float = DEFAULT_CONSISTENCY, flow_size: int = FLOW_SIZE,
                 flow_preset: str = FLOW_PRESET, halves: tuple[Half, Half] | None = None) -> None:
        if not 0 <= strength <= 1:
            raise ValueError(f"consistency must be between 0 and 1, got {strength}")
        self.strength = strength
        self.encode, self.decode = halves or (Encoder(net.eval()), Decoder(net.for_inference()))
        self.flow = FlowEstimator(flow_size, flow_preset)
        self.cuts = 0  # scene cuts seen
        self._grey: np.ndarray | None = None
        self._drift = np.zeros(2)  # the scene's motion since the shot began, full-size pixels (x, y)
        self._shift = (0, 0)
        self._features: torch.Tensor | None = None  # the previous frame's blended trunk output

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.render(frame, self.motion(frame))

    def motion(self, frame: np.ndarray) -> Motion:
        grey = self.flow.small(grey8(frame))
        previous, self._grey = self._grey, grey
        if previous is None or previous.shape != grey.shape:
            return self._new_shot()
        if is_scene_cut(grey, previous):
            self.cuts += 1
            return self._new_shot()
        backward, trust = trusted_flow(self.flow, grey, previous)
        if trust.mean() < MIN_TRUSTED:
            self.cuts += 1
            return self._new_shot()
        h, w = frame.shape[1:]
        scale = w / grey.shape[1], h / grey.shape[0]  # full-size pixels per flow pixel (x, y)
        median = np.median(backward[trust > 0], axis=0)
        self._drift -= median * scale
        last, shift = self._shift, (round(self._drift[0]) % CELL, round(self._drift[1]) % CELL)
        self._shift = shift
        cells = ((h + -h % CELL) // CELL + 1, (w + -w % CELL) // CELL + 1)  # the trunk's size on a shifted frame
        # each cell's centre in the frame, then at the flow's size
        cx = (np.arange(cells[1], dtype=np.float32) * CELL + (CELL - 1) / 2 + shift[0] - CELL) / scale[0]
        cy = (np.arange(cells[0], dtype=np.float32) * CELL + (CELL - 1) / 2 + shift[1] - CELL) / scale[1]
        mx, my = np.meshgrid(cx, cy)
        import cv2

        flow = cv2.remap(backward, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        flow = (flow * np.float32(scale) + np.float32((shift[0] - last[0], shift[1] - last[1]))) / CELL
        k = max(1, round(CELL / scale[0])) | 1  # the share of a cell's pixels that are trusted
        share = cv2.blur(trust.astype(np.float32), (k, k))
        share = cv2.remap(share, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return Motion(shift, flow, share * np.float32(self.strength), (backward, trust, median))

    def _new_shot(self) -> Motion:
        self._drift[:] = 0
        self._shift = (0, 0)
        return Motion((0, 0))

    @torch.inference_mode()
    def render(self, frame: np.ndarray, motion: Motion) -> np.ndarray:
        sx, sy = motion.shift
        h, w = frame.shape[1:]
        padded, (hp, wp) = pad_to_cells(frame)
        y = self.steadied(np.ascontiguousarray(padded[:, sy : sy + hp, sx : sx + wp]), motion)
        return y[:, CELL - sy : CELL - sy + h, CELL - sx : CELL - sx + w]

    def steadied(self, x: np.ndarray, motion: Motion) -> np.ndarray:
        """The network on a padded, shifted frame x (3, hp, wp), its trunk output blended with the previous
        frame's moved by `motion` (and kept for the next frame): (3, hp, wp)."""
        features = self.encode(torch.from_numpy(x)[None])
        previous = self._features
        if motion.flow is not None and previous is not None and previous.shape == features.shape:
            features += torch.from_numpy(motion.trust)[None, None] * (_warp(previous, motion.flow) - features)
        self._features = features
        return self.decode(features)[0].numpy()


def pad_to_cells(frame: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A frame (3, H, W) reflect-padded by a cell on each side and to whole cells, and the (hp, wp) window
    the network sees at each shift (the trunk's grid: a shift of the window moves it by whole pixels)."""
    h, w = frame.shape[1:]
    padded = np.pad(frame, ((0, 0), (CELL, CELL + -h % CELL), (CELL, CELL + -w % CELL)), mode="reflect")
    return padded, (h + -h % CELL + CELL, w + -w % CELL + CELL)


def _warp(features: torch.Tensor, flow: np.ndarray) -> torch.Tensor:
    """(1, C, h, w) features sampled bilinearly at each cell + `flow` (h, w, 2), in cells."""
    h, w = flow.shape[:2]
    gx = (np.arange(w, dtype=np.float32) + flow[..., 0]) * np.float32(2 / max(w - 1, 1)) - 1
    gy = (np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]) * np.float32(2 / max(h - 1, 1)) - 1
    grid = torch.from_numpy(np.stack([gx, gy], -1))[None]
    return F.grid_sample(features, grid, mode="bilinear", padding_mode="border", align_corners=True)
