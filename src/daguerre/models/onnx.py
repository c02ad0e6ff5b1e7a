"""ONNX Runtime as the CPU inference path: export a model once, cache it by its card's `build_key`, run it.

`precision="int8"`: the export statically quantized once (convolutions' weights int8, activations uint8, QDQ; the
first two and the last convolution kept fp32; a model under the gate is quantized again channel-equalised, then
with up to two more convolutions fp32: `faithful_int8`), calibrated on the bundled training-split photos only
(astronaut, chelsea, rocket; coffee is held out) at two sizes, and cached beside the fp32 file. Measured
(BENCHMARKS.md, "Stylize speed") for StyleNet only. Its `agreement` (PSNR against fp32 on those photos whole,
at 640 px, not the calibration crops) is kept in a JSON file beside it: callers choose int8 by default only where
it reaches `FAITHFUL_DB`.

`precision="bf16"`: the fp32 file run by OpenVINO in bfloat16, on a CPU that computes it natively (AMX or
AVX512-BF16: `bf16_available`). On such a CPU it is faster than int8 and nearer fp32 (BENCHMARKS.md, "bf16").
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from daguerre.models.card import ModelCard

PRECISIONS = ("fp32", "int8", "bf16")
CALIBRATION_PHOTOS = ("astronaut", "chelsea", "rocket")  # training split only: coffee is held out
CALIBRATION_SIZES = ((480, 272), (256, 256))  # a 16:9 frame and a square centre crop, multiples of 8 (as padded)
FAITHFUL_DB = 35.0  # int8 within this PSNR of fp32: visually the same picture (checked side by side)
# in the cached file's name: change it with the calibration or the quantization settings (FAITHFUL_DB,
# FP32_CONVS, MAX_EXTRA_FP32, the equalisation's ALPHA and cap included: they decide what the file holds)
INT8_RECIPE = "v5"
# DepthToSpace (SubPixelConv's shuffle) moves uint8 between its convs instead of dequantizing to fp32 and back:
# the same numbers, ~12% less time at 480p (BENCHMARKS.md); Pad and Resize in int8 were slower (v1 measured it)
QUANTIZED_OPS = ["Conv", "ConvTranspose", "DepthToSpace"]
# The first two convolutions (the picture itself, then its half-size features) and the last one (back to RGB, with
# its pixel shuffle: v4) stay fp32 (v3): the layers nearest the pixels are where 8 bits show; +2.1-2.3 dB of
# agreement, the same speed
FP32_CONVS = (2, 1)  # how many at the start, at the end
# A model under FAITHFUL_DB that way is quantized again from its channel-equalised form (the net's `equalised`, v5),
# then with up to this many more convolutions in fp32, each the one whose exclusion gains most (v5)
MAX_EXTRA_FP32 = 2
EXPORT_RECIPE = "e3"  # in every cached file's name: change it with what `export` writes (e2: `for_inference` nets;
# e3: a StyleNorm's scale and shift inside its InstanceNormalization, not a Mul and an Add after it)


_EXPORTING = threading.Lock()  # torch.onnx.export keeps global state: a second thread's export fails mid-way


def scratch(path: Path, kind: str) -> Path:
    """A temporary name beside `path` private to this process and thread (then `os.replace`d into place): two
    threads making the same cached file at once each write their own."""
    return path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.{kind}")


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


def export(net: torch.nn.Module, path: Path, channels: int = 3, extra: dict[str, torch.Tensor] | None = None,
           inference_form: bool = True, outputs: Sequence[str] = ("output",)) -> Path:
    """Export with dynamic height and width (atomic write); `extra`: further inputs after the image (name: example),
    e.g. a style code. A generator with `for_inference` is exported in that form (the same output, faster;
    `inference_form=False`: as trained). `outputs`: the names of a net's several outputs (a feature extractor's)."""
    if inference_form and hasattr(net, "for_inference"):
        net = net.for_inference()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch(path, "tmp")
    extra = extra or {}
    example = (torch.rand(1, channels, 64, 64), *extra.values())
    axes = {name: {2: "height", 3: "width"} for name in ("image", *outputs)}
    args = dict(input_names=["image", *extra], output_names=list(outputs), dynamic_axes=axes)
    torch_onnx_log = logging.getLogger("torch.onnx")
    level = torch_onnx_log.level
    torch_onnx_log.setLevel(logging.ERROR)
    try:  # both exporters print progress or graphs to stdout; neither runs in two threads at once
        with _EXPORTING, warnings.catch_warnings(), _quiet_stdout():
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
def _session(path: str, threads: int, spinning: bool = False):
    """A CPU session on `threads` intra-op threads. Without `spinning` its idle threads sleep instead of
    busy-waiting for the next operator: spinning threads take a core from a clip's other stages (decode, flow,
    encode) and from other processes (measured: an int8 StyleNet frame on 2 threads cost 1.55x the CPU time of
    1 thread with spinning, 1.09x without; BENCHMARKS.md, "Video")."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


class _OpenVinoSession:
    """An OpenVINO CPU model seen as an ONNX Runtime session (`run`, `get_inputs`): one inference request per
    thread, so the web server's threads can share it."""

    def __init__(self, path: str, threads: int, precision: str):
        import openvino as ov

        core = ov.Core()
        try:
            model = core.read_model(path)
            # not pinned to cores: a clip's other stages run beside it; LATENCY: one stream, all threads on one request
            self._compiled = core.compile_model(model, "CPU", {
                "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": precision,
                "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False})
        except RuntimeError as e:  # OpenVINO's message: source locations ("Exception from ..."), then what failed
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip() and not ln.startswith("Exception from")]
            reason = (lines or ["unknown error"])[0][:200]
            raise RuntimeError(f"OpenVINO could not run {Path(path).name} in {precision} ({reason})") from None
        self._inputs = [_Input(i.get_any_name()) for i in model.inputs]
        self._outputs = len(model.outputs)
        self._local = threading.local()

    def get_inputs(self) -> list[_Input]:
        return self._inputs

    def run(self, _outputs: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        request.infer(feeds)  # (the request's buffers are written again by its next run: copied)
        return [request.get_output_tensor(i).data.copy() for i in range(self._outputs)]


class _Input:
    def __init__(self, name: str):
        self.name = name


def bf16_module(net: torch.nn.Module, name: str, channels: int):  # noqa: ANN201 - an OpenVINO session
    """`net` (one picture-shaped input of `channels`, any height and width) run by OpenVINO in bfloat16, converted
    from PyTorch by OpenVINO's own front end (it takes what the ONNX route cannot, such as the FFT of restore's
    FFC blocks) and cached as OpenVINO IR named by `name` and the weights' digest. ValueError where bf16 is not
    available, RuntimeError where OpenVINO cannot run it."""
    import hashlib

    check_precision("bf16")
    digest = hashlib.sha256()
    for tensor in net.state_dict().values():
        digest.update(tensor.contiguous().numpy().tobytes())
    path = cache_dir() / f"{name}-{digest.hexdigest()[:16]}-{EXPORT_RECIPE}.xml"
    if not path.is_file():
        import openvino as ov

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = scratch(path, "xml")
        try:
            with _EXPORTING, warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")
                model = ov.convert_model(net.eval(), example_input=torch.rand(1, channels, 64, 64))
            ov.save_model(model, tmp, compress_to_fp16=False)
        except Exception as e:  # the front end's own message, first line
            tmp.unlink(missing_ok=True)
            tmp.with_suffix(".bin").unlink(missing_ok=True)
            raise RuntimeError(f"OpenVINO could not convert {name} ({str(e).strip().splitlines()[0][:200]})") from None
        os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
        os.replace(tmp, path)
    return session_for(path, "bf16", torch.get_num_threads())


@lru_cache(maxsize=8)
def _bf16_session(path: str, threads: int) -> _OpenVinoSession:
    return _OpenVinoSession(path, threads, "bf16")


@lru_cache(maxsize=1)
def bf16_available() -> bool:
    """Whether OpenVINO is installed and this CPU computes bfloat16 natively (AMX or AVX512-BF16): elsewhere bf16
    would be emulated, slower than fp32."""
    try:
        import openvino as ov
    except ImportError:
        return False
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def session_for(path: Path | str, precision: str, threads: int):
    """The session running the ONNX file `path` (the fp32 file for bf16, the int8 file for int8)."""
    if check_precision(precision) == "bf16":
        return _bf16_session(str(path), threads)
    return _session(str(path), threads)


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (use {', '.join(PRECISIONS[:-1])} or {PRECISIONS[-1]})")
    if precision == "bf16" and not bf16_available():
        raise ValueError("precision bf16 needs OpenVINO (pip install openvino) and a CPU with native bfloat16 "
                         "(AMX or AVX512-BF16): use int8 or fp32 here")
    return precision


def calibration_images(sizes: tuple[tuple[int, int] | None, ...] = CALIBRATION_SIZES) -> list[np.ndarray]:
    """(1,3,H,W) float32 pictures in [0, 1]: each training-split sample resized and centre-cropped to each size
    (None: whole, cropped to a multiple of 8)."""
    from PIL import Image, ImageOps

    samples = Path(__file__).resolve().parent.parent / "samples"
    out = []
    for name in CALIBRATION_PHOTOS:
        with Image.open(samples / f"{name}.jpg") as im:
            rgb = im.convert("RGB")
            for size in sizes:
                fitted = ImageOps.fit(rgb, size or (rgb.width // 8 * 8, rgb.height // 8 * 8), Image.Resampling.BICUBIC)
                out.append(np.asarray(fitted, np.float32).transpose(2, 0, 1)[None] / 255)
    return out


def agreement(fp32: Path, int8: Path) -> float:
    """The lowest PSNR (dB) of int8's output against fp32's over the training samples, whole, on 1 thread."""
    worst = np.inf
    # made once: each load costs more than a run; not the cached ones (`faithful_int8` rewrites its trial file)
    sessions = [_session.__wrapped__(str(p), 1) for p in (fp32, int8)]
    for x in calibration_images((None,)):
        a, b = (np.clip(s.run(None, {"image": x})[0], 0, 1) for s in sessions)
        worst = min(worst, float(10 * np.log10(1 / max(np.mean((a - b) ** 2), 1e-12))))
    return round(worst, 2)


def kept_fp32(graph: object) -> list[str]:
    """The nodes `quantize` leaves in fp32: the first and last convolutions (`FP32_CONVS`) and the pixel shuffle
    fed by a last one (a `SubPixelConv`'s: quantized, it would bring 8 bits back to the output)."""
    nodes = list(graph.node)  # type: ignore[attr-defined]
    convs = [n for n in nodes if n.op_type == "Conv"]
    first, last = FP32_CONVS
    kept = convs[:first] + convs[len(convs) - last :]
    outputs = {o for n in convs[len(convs) - last :] for o in n.output}
    return [n.name for n in kept] + [n.name for n in nodes if n.op_type == "DepthToSpace" and n.input[0] in outputs]


def quantize(fp32: Path, path: Path, keep: Sequence[str] = (), images: list[np.ndarray] | None = None,
             ends: bool = True) -> Path:
    """The int8 version of an image -> image ONNX file (atomic write; deterministic: min-max calibration on
    `images`, by default `calibration_images()`); `keep`: more nodes left in fp32; `ends`: the first and last
    convolutions left in fp32 (`kept_fp32`; not for a feature extractor, whose output is no picture)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Calibration(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter({"image": x} for x in (calibration_images() if images is None else images))

        def get_next(self) -> dict | None:
            return next(self.feeds, None)

    pre, tmp = scratch(path, "pre"), scratch(path, "tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), str(tmp), Calibration(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=QUANTIZED_OPS, per_channel=True,
                            nodes_to_exclude=(kept_fp32(onnx.load(str(pre)).graph) if ends else []) + list(keep))
        os.replace(tmp, path)
    finally:
        pre.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return path


def faithful_int8(fp32: Path, path: Path, equalised: Callable[[list[np.ndarray]], torch.nn.Module] | None = None
                  ) -> dict:
    """Quantize `fp32` into `path` by the first recipe whose `agreement` reaches FAITHFUL_DB: as it is; else from
    `equalised(calibration pictures)` (the same function re-parameterised for 8 bits, exported here); then with
    up to MAX_EXTRA_FP32 more convolutions kept fp32, chosen one at a time by trying each. A model that passes
    as it is keeps the plain recipe's file. Returns what was measured: agreement (dB), equalised, extra fp32."""
    measured = {"psnr_vs_fp32_db": agreement(fp32, quantize(fp32, path)), "equalised": False, "extra_fp32": []}
    if measured["psnr_vs_fp32_db"] >= FAITHFUL_DB or equalised is None:
        return measured
    logging.getLogger("daguerre").warning(
        "%s: int8 is %.1f dB from fp32 (gate %.0f dB): making its equalised int8 form, once (a few minutes)",
        path.name, measured["psnr_vs_fp32_db"], FAITHFUL_DB)
    work = scratch(path, "eq")
    trial = scratch(path, "trial")
    try:
        export(equalised(calibration_images()), work, inference_form=False)
        candidates = [n.name for n in _quantizable_convs(work)]
        keep: list[str] = []
        best = agreement(fp32, quantize(work, trial))
        while best < FAITHFUL_DB and len(keep) < MAX_EXTRA_FP32 and candidates:
            gains = {n: agreement(fp32, quantize(work, trial, [*keep, n])) for n in candidates}
            node = max(gains, key=gains.__getitem__)
            keep.append(node)
            candidates.remove(node)
            best = gains[node]
        if best > measured["psnr_vs_fp32_db"]:  # (otherwise `path` still holds the plain recipe's file)
            os.replace(quantize(work, trial, keep), path)
            measured = {"psnr_vs_fp32_db": best, "equalised": True, "extra_fp32": keep}
    finally:
        work.unlink(missing_ok=True)
        trial.unlink(missing_ok=True)
    return measured


def _quantizable_convs(fp32: Path) -> list:
    import onnx

    graph = onnx.load(str(fp32)).graph
    kept = set(kept_fp32(graph))
    return [n for n in graph.node if n.op_type == "Conv" and n.name not in kept]


class OnnxModel:
    """Callable like the torch module: (1,C,H,W) tensor in (and the `extra` inputs by name), tensor out.
    int8: `agreement` is its lowest PSNR against fp32 on the training samples (dB), `recipe` how it was made
    (`faithful_int8`; `equalised`: the net's channel-equalised form, used for a model under the gate)."""

    agreement: float | None = None
    recipe: dict | None = None  # int8 only

    def __init__(self, card: ModelCard, net: torch.nn.Module, extra: dict[str, torch.Tensor] | None = None,
                 precision: str = "fp32", equalised: Callable[[list[np.ndarray]], torch.nn.Module] | None = None):
        path = cache_dir() / f"{card.name}-{card.build_key}-{EXPORT_RECIPE}.onnx"
        if not path.is_file():
            export(net, path, extra=extra)
            prune_stale(card)
        if check_precision(precision) == "int8":
            if extra:
                raise ValueError(f"{card.name}: int8 is made for image-only models, not one with {', '.join(extra)}")
            fp32, path = path, cache_dir() / f"{card.name}-{card.build_key}-{EXPORT_RECIPE}-int8-{INT8_RECIPE}.onnx"
            measured = path.with_suffix(".json")
            if not (path.is_file() and measured.is_file()):
                tmp = scratch(measured, "tmp")
                tmp.write_text(json.dumps(faithful_int8(fp32, path, equalised)))
                os.replace(tmp, measured)  # whole, for another process reading it
                prune_stale(card)
            self.recipe = json.loads(measured.read_text())
            self.agreement = self.recipe["psnr_vs_fp32_db"]
            self._fp32_path: Path | None = fp32
        elif precision == "bf16":
            self._fp32_path = path
        self.path, self.precision = path, precision
        self.session = session_for(path, precision, torch.get_num_threads())

    def __call__(self, x: torch.Tensor, **extra: torch.Tensor) -> torch.Tensor:
        feeds = {name: np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)
                 for name, t in {"image": x, **extra}.items()}
        session = self.session
        if self.precision != "fp32" and is_flat(feeds["image"], self.precision):  # it would paint a pattern: fp32
            session = _session(str(self._fp32_path), torch.get_num_threads())
        return torch.from_numpy(session.run(None, feeds)[0])


# Below this deviation a picture (a black or grey frame: a fade, a title card) goes through fp32, not int8. Instance
# norm divides by the deviation of feature maps that are then nearly flat, which magnifies int8's rounding steps
# into an 8-px pattern: on a black frame int8 was 13-17 dB from fp32 (12 style models; deviation of the output
# 0.04-0.22 against fp32's 0.01-0.07). The calibration photos chelsea and astronaut, their contrast scaled down,
# kept >= 35 dB (the gate) down to a deviation of ~0.008-0.010 (irises, cezanne; seurat at any contrast but 0).
# bf16 rounds the same way, at half int8's steps: on calibration photos with their contrast scaled to a deviation of
# 0.02, the 12 style models' bf16 outputs were 32.9-53.3 dB from fp32, at 0.04 38.5-59.1 (BENCHMARKS.md, "bf16").
FLAT = {"int8": 0.02, "bf16": 0.04}


def is_flat(image: np.ndarray, precision: str = "int8") -> bool:
    """Whether a (N, C, H, W) picture's pixels (every 4th row and column) deviate less than `precision`'s FLAT
    from their mean: too flat for it, so fp32 runs it."""
    return float(image[..., ::4, ::4].std()) < FLAT[precision]


def prune_stale(card: ModelCard) -> list[Path]:
    """Delete the cached files of this card's network that no code of this version reads: made by an older
    `EXPORT_RECIPE` or `INT8_RECIPE` for the same weights and config, or named by the older key (the weights'
    sha alone). Files of the same weights under another config (another card's) are left alone. Returns them."""
    current = re.compile(rf"{re.escape(EXPORT_RECIPE)}(-int8-{re.escape(INT8_RECIPE)})?[.-]")
    key, sha = f"{card.name}-{card.build_key}-", f"{card.name}-{card.sha256[:16]}"
    digest = re.compile(r"-[0-9a-f]{8}-")
    stale = []
    for path in cache_dir().glob(f"{glob.escape(sha)}*"):
        rest = path.name[len(sha):]
        if path.name.startswith(key):
            if not current.match(path.name[len(key):]) or "-int8-" in rest and f"-int8-{INT8_RECIPE}." not in rest:
                stale.append(path)
        elif not digest.match(rest[:10]):  # the older key: no config digest after the sha
            stale.append(path)
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
