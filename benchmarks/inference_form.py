"""Each generator as trained (nearest upsampling, then conv) against its inference form (`for_inference`:
`SubPixelConv`, the same output), timed in alternation so the shared machine's load falls on both alike.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/inference_form.py --threads 1 --rounds 25

Per row: the median ms of each form over the rounds (one call each per round, after a warm-up) and the median
of the per-round ratio (as trained / inference form), which is what to quote on a noisy machine; and the largest
difference between the two forms' outputs on a held-out photo (coffee).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from _common import base_parser, format_table, load_rgb, print_header, set_threads
from daguerre.models.onnx import _session, export, quantize
from daguerre.nets.retro_net import RetroNet
from daguerre.nets.style_net import sharing_copy, subpixel
from daguerre.ops.styles import painting_style_model, style_model

SAMPLE = Path(__file__).parents[1] / "src" / "daguerre" / "samples" / "coffee.jpg"
STYLE = "rousseau-lion"  # a model whose int8 file passes the clip gate


def photo(width: int, height: int) -> torch.Tensor:
    x = load_rgb(SAMPLE)
    return torch.nn.functional.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)


class RetroInferenceForm(RetroNet):
    """RetroNet with its upsampling convs as `SubPixelConv`: measured here, not shipped (slower in ONNX fp32)."""

    def for_inference(self) -> RetroNet:
        fast = sharing_copy(self)
        fast.up1, fast.up2 = subpixel(self.up1), subpixel(self.up2)
        return fast


def generators() -> list[tuple[str, torch.nn.Module, dict[str, torch.Tensor]]]:
    painting = painting_style_model()[1]
    torch.manual_seed(0)
    code = torch.randn(1, painting.config["code_dim"]) * 0.5
    retro = RetroInferenceForm().eval()
    torch.nn.init.normal_(retro.to_delta.weight, std=0.05)  # a new one is the identity
    return [("StyleNet", style_model(STYLE)[1], {}), ("PaintingStyleNet", painting, {"code": code}),
            ("RetroNet (random weights: none ships)", retro, {})]


def alternate(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(rounds):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[k].append(1e3 * (time.perf_counter() - start))
    return times


def main() -> None:
    parser = base_parser("generators as trained vs their inference form (SubPixelConv)")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    set_threads(args.threads)
    print_header("inference form: nearest upsampling + conv as SubPixelConv", args)
    rounds = 3 if args.quick else args.rounds
    sizes = [(256, 256)] if args.quick else [(512, 512), (856, 480)]
    rows = []
    nets = generators()  # outside inference mode: the export traces them
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        for name, net, extra in nets:
            fast = net.for_inference()
            with torch.inference_mode(False):
                paths = {form: export(net, Path(tmp) / f"{name[:8]}-{form}.onnx", extra=extra or None,
                                      inference_form=form == "inference form") for form in ("as trained",
                                                                                              "inference form")}
            engines = {"onnx fp32": paths}
            if not extra:  # int8 is made for image-only models
                engines["onnx int8"] = {f: quantize(p, p.with_suffix(".int8.onnx")) for f, p in paths.items()}
            for w, h in sizes:
                x = photo(w, h)
                feeds = {"image": x.numpy(), **{k: v.numpy() for k, v in extra.items()}}
                a, b = net(x, *extra.values()), fast(x, *extra.values())
                difference = float((a - b).abs().max())
                args_ = (x, *extra.values())
                cases = {"torch eager": {"as trained": lambda a=args_, n=net: n(*a),
                                         "inference form": lambda a=args_, n=fast: n(*a)}}
                for engine, files in engines.items():
                    sessions = {f: _session(str(p), args.threads) for f, p in files.items()}
                    cases[engine] = {f: lambda s=s, feeds=feeds: s.run(None, feeds) for f, s in sessions.items()}
                for engine, fns in cases.items():
                    t = alternate(fns, rounds)
                    ratio = np.median(np.array(t["as trained"]) / np.array(t["inference form"]))
                    rows.append([name, engine, f"{w}x{h}", np.median(t["as trained"]), np.median(t["inference form"]),
                                 ratio, difference if engine == "torch eager" else None])
                    print(f"  {rows[-1]}", flush=True)
    print(format_table(["generator", "engine", "image", "as trained ms", "inference form ms", "x faster (paired)",
                        "max |difference|"], rows))


if __name__ == "__main__":
    main()
