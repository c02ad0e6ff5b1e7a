"""ONNX Runtime as the CPU inference path: export a model once, cache it by weights hash, run it."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from daguerre.models.card import ModelCard


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "daguerre" / "onnx"


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 (the legacy exporter prints a failed graph from C++) and sys.stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def export(net: torch.nn.Module, path: Path, channels: int = 3, extra: dict[str, torch.Tensor] | None = None) -> Path:
    """Export with dynamic height and width (atomic write); `extra`: further inputs after the image (name: example),
    e.g. a style code."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    extra = extra or {}
    example = (torch.rand(1, channels, 64, 64), *extra.values())
    axes = {"image": {2: "height", 3: "width"}, "output": {2: "height", 3: "width"}}
    args = dict(input_names=["image", *extra], output_names=["output"], dynamic_axes=axes)
    torch_onnx_log = logging.getLogger("torch.onnx")
    level = torch_onnx_log.level
    torch_onnx_log.setLevel(logging.ERROR)
    try:  # both exporters print progress or graphs to stdout
        with warnings.catch_warnings(), _quiet_stdout():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(net.eval(), example, str(tmp), opset_version=17, dynamo=False, **args)
            except torch.onnx.errors.UnsupportedOperatorError:
                # e.g. ToneNet's antialiased thumbnail: the dynamo exporter maps it to opset 18's antialiased Resize
                torch.onnx.export(net.eval(), example, str(tmp), opset_version=18, dynamo=True,
                                  external_data=False, **args)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed export leaves nothing half-written behind
        raise
    finally:
        torch_onnx_log.setLevel(level)
    os.replace(tmp, path)
    return path


@lru_cache(maxsize=8)
def _session(path: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


class OnnxModel:
    """Callable like the torch module: (1,C,H,W) tensor in (and the `extra` inputs by name), tensor out."""

    def __init__(self, card: ModelCard, net: torch.nn.Module, extra: dict[str, torch.Tensor] | None = None):
        path = cache_dir() / f"{card.name}-{card.sha256[:16]}.onnx"
        if not path.is_file():
            export(net, path, extra=extra)
        self.session = _session(str(path), torch.get_num_threads())

    def __call__(self, x: torch.Tensor, **extra: torch.Tensor) -> torch.Tensor:
        feeds = {name: np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)
                 for name, t in {"image": x, **extra}.items()}
        return torch.from_numpy(self.session.run(None, feeds)[0])


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
