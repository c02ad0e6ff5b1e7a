"""Read the Convolution weights of an ncnn model (`.param` text + `.bin` blob) into numpy, in file order.

`.param`: the magic 7767517, then `layer_count blob_count`, then one layer a line:
`Type name n_in n_out in_blobs... out_blobs... key=value...`. A key `-233NN=n,v1,...,vn` is an array for param NN.
Convolution params: 0=num_output 1=kernel_w 11=kernel_h (default kernel_w) 2=dilation 3=stride 4=pad 5=bias_term
6=weight_data_size 8=int8_scale_term 9=activation_type (1 relu, 2 leaky relu, ...) 10=activation_params.

`.bin`: each weight-bearing layer's blobs back to back, in layer order. A Convolution's weight blob (OIHW, the
same order as PyTorch's Conv2d.weight) opens with a 4-byte tag: 0x01306B47 = fp16 (data padded to 4 bytes),
0x0002C056 or 0 = raw fp32; 0x000D4B38 (int8) and other non-zero tags (a 256-entry fp32 codebook + uint8 indices)
are refused here. The bias (if 5=1) is raw fp32 with no tag. The sizes must add up to the file's size exactly:
anything else means a layer type that carries weights but is not read here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_FP32 = 0x0002C056
# other ncnn layers that store blobs in the .bin: refused, since their weights would be read as Convolution's
WEIGHTED = frozenset(
    "PReLU InnerProduct Deconvolution ConvolutionDepthWise DeconvolutionDepthWise BatchNorm Scale Bias Embed "
    "MemoryData LayerNorm GroupNorm InstanceNorm Normalize LSTM GRU RNN MultiHeadAttention Convolution1D "
    "Convolution3D".split()
)

ParamValue = int | float | list[int | float]


@dataclass(frozen=True)
class NcnnLayer:
    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, ParamValue] = field(default_factory=dict)


@dataclass(frozen=True)
class NcnnConv:
    name: str
    weight: np.ndarray  # float32 (out, in, kh, kw)
    bias: np.ndarray | None  # float32 (out,)
    params: dict[int, ParamValue]
    dtype: str  # storage in the .bin: "fp16" or "fp32"


def _number(s: str) -> int | float:
    return float(s) if any(c in s for c in ".eE") else int(s)


def read_param(path: str | Path) -> list[NcnnLayer]:
    """Parse an ncnn text `.param` file."""
    lines = Path(path).read_text().split("\n")
    if not lines or lines[0].strip() != str(MAGIC):
        raise ValueError(f"{path}: not an ncnn text .param file (first line is not {MAGIC})")
    layer_count = int(lines[1].split()[0])
    layers = []
    for line in lines[2:]:
        tok = line.split()
        if not tok:
            continue
        n_in, n_out = int(tok[2]), int(tok[3])
        blobs = tok[4 : 4 + n_in + n_out]
        params: dict[int, ParamValue] = {}
        for kv in tok[4 + n_in + n_out :]:
            key, value = kv.split("=", 1)
            k = int(key)
            if k <= -23300:  # array: count, then the values
                values = [_number(v) for v in value.split(",")]
                params[-k - 23300] = values[1 : 1 + int(values[0])]
            else:
                params[k] = _number(value)
        layers.append(NcnnLayer(tok[0], tok[1], tuple(blobs[:n_in]), tuple(blobs[n_in:]), params))
    if len(layers) != layer_count:
        raise ValueError(f"{path}: header says {layer_count} layers, found {len(layers)}")
    return layers


def read_convolutions(param_path: str | Path, bin_path: str | Path) -> tuple[list[NcnnLayer], list[NcnnConv]]:
    """All layers of the model, and the Convolution layers' weights and biases in file order."""
    layers = read_param(param_path)
    other = sorted({layer.type for layer in layers} & WEIGHTED)
    if other:
        raise ValueError(f"{param_path}: only Convolution weights are read, the model also has {', '.join(other)}")
    data = Path(bin_path).read_bytes()
    pos, convs = 0, []
    for layer in layers:
        if layer.type != "Convolution":
            continue
        p = layer.params
        if p.get(8, 0):
            raise ValueError(f"{layer.name}: int8 convolutions (8=int8_scale_term) are not supported")
        out, kw = int(p.get(0, 0)), int(p.get(1, 0))
        kh, size = int(p.get(11, kw)), int(p.get(6, 0))
        if not out or not kw or size % (out * kh * kw):
            raise ValueError(f"{layer.name}: weight_data_size {size} is not a multiple of {out}x{kh}x{kw}")
        (tag,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if tag == TAG_FP16:
            w, pos = np.frombuffer(data, "<f2", size, pos).astype(np.float32), pos + (2 * size + 3) // 4 * 4
            dtype = "fp16"
        elif tag in (0, TAG_FP32):
            w, pos = np.frombuffer(data, "<f4", size, pos).copy(), pos + 4 * size
            dtype = "fp32"
        else:
            kind = "int8" if tag == TAG_INT8 else "8-bit codebook"
            raise ValueError(f"{layer.name}: {kind} weights (tag {tag:#010x}) are not supported")
        bias = None
        if p.get(5, 0):
            bias, pos = np.frombuffer(data, "<f4", out, pos).copy(), pos + 4 * out
        convs.append(NcnnConv(layer.name, w.reshape(out, size // (out * kh * kw), kh, kw), bias, p, dtype))
    if pos != len(data):
        raise ValueError(
            f"{bin_path}: the Convolution blobs take {pos} bytes but the file has {len(data)}: "
            "the model has other weight-bearing layers, or the .param and .bin do not belong together"
        )
    return layers, convs
