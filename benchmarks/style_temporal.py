"""Temporal stability of fast style networks on a pan over TRAINING-split photos: for tuning a temporal loss.

The held-out pan of benchmarks/video.py gives the final figures; this one may be looked at while choosing weights.
Shipped van-gogh-irises and seurat-grande-jatte against the same styles cut from training checkpoints of
recipes/met-styles-temporal.toml: warping error (true flow) and Gram style distance at consistency 0 and 0.5,
relative to the shipped model's frame-by-frame output, and at 0.5 relative to the model's own.

    PYTHONPATH=src .venv/bin/python benchmarks/style_temporal.py runs/met-styles-temporal/checkpoint.pt [...]
    PYTHONPATH=src .venv/bin/python benchmarks/style_temporal.py --inside   # steadied inside the network
"""

from __future__ import annotations

import sys
from itertools import islice
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import video  # noqa: E402
from _common import load_rgb, painting_path  # noqa: E402
from daguerre.data.sources import photos  # noqa: E402
from daguerre.imaging import load  # noqa: E402
from daguerre.models.registry import build, find_model  # noqa: E402
from daguerre.nets.style_net import StyleNet  # noqa: E402
from daguerre.training import common  # noqa: E402

STYLES = ("van-gogh-irises", "seurat-grande-jatte")


def training_pan(shots: int = 2, frames: int = 8, size: tuple[int, int] = (640, 360)) -> list[tuple]:
    """A pan over training-split photos at least 1000 px wide (skipping the first 5)."""
    wide = (p.rgb() for p in (load(f) for f in photos("train", graphics=False)[5:]) if p.size[0] >= 1000)
    return [pair for photo in islice(wide, shots) for pair in video.panned_frames(photo, size, frames)]


def inside(frames: list[tuple]) -> None:
    """The shipped models steadied inside the network (`SteadyStyle`) at several strengths, on the training pan."""
    for name in STYLES:
        net = build(find_model(name))
        with torch.inference_mode():
            outputs = [net(torch.from_numpy(f)[None])[0].numpy() for f, _ in frames]
        painting = load_rgb(painting_path(find_model(name)), 640)[0].numpy()
        rows = video.stability(frames, outputs, (0.0, 0.3, 0.5, 0.7), False, painting, inside=net)
        for r in rows[1:]:
            print(f"{name:20s} inside {r['consistency']}: warp x"
                  f"{r['warping_error_true_flow'] / rows[0]['warping_error_true_flow']:.2f} style "
                  f"{r['style_distance'] / rows[0]['style_distance'] - 1:+.1%} sharpness {r['sharpness_ratio']:.2f}")


def main() -> None:
    torch.set_num_threads(1)
    frames = training_pan()
    if sys.argv[1:] == ["--inside"]:
        inside(frames)
        return
    x = torch.from_numpy(np.stack([f for f, _ in frames]))
    nets = {("shipped", name): build(find_model(name)) for name in STYLES}
    for checkpoint in sys.argv[1:]:
        state = common.load_checkpoint(Path(checkpoint))
        recipe = state["recipe"]
        net = StyleNet(len(recipe["styles"]), tuple(recipe["widths"]), recipe["n_residual"])
        net.load_state_dict(state["generator"])
        names = [s["name"] for s in recipe["styles"]]
        for name in STYLES:
            nets[(f"{checkpoint}@{state['step']}", name)] = net.single_style(names.index(name)).eval()
    rows = {}
    for (tag, name), net in nets.items():
        with torch.inference_mode():
            outputs = [net(x[i : i + 1])[0].numpy() for i in range(len(x))]
        painting = load_rgb(painting_path(find_model(name)), 640)[0].numpy()
        rows[tag, name] = video.stability(frames, outputs, (0.0, 0.5), False, painting)
    for (tag, name), (still, steady) in rows.items():
        base = rows["shipped", name][0]
        err, style = base["warping_error_true_flow"], base["style_distance"]
        print(f"{tag:40s} {name:20s} consistency 0: warp x{still['warping_error_true_flow'] / err:.2f} "
              f"style {still['style_distance'] / style - 1:+.1%} | "
              f"0.5: warp x{steady['warping_error_true_flow'] / err:.2f} "
              f"style {steady['style_distance'] / still['style_distance'] - 1:+.1%} of its own")


if __name__ == "__main__":
    main()
