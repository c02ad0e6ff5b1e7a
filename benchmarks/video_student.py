"""Issue 14: is a narrower StyleNet, distilled from the 12 shipped ones, cheap enough for 24 fps and still them?

Two figures, printed:
1. ms per 856x480 frame in ONNX Runtime (int8 as the clip path quantizes, and fp32), 1 thread, the shipped shape
   against narrower ones (random weights: the time does not depend on them), rounds alternated, medians.
2. A student of `--widths` / `--residual` trained to reproduce the 12 shipped models (their one trunk joined, one
   conditional-norm student for all 12; L1 + L1 of the gradients against the teacher's output, crops of the `fit`
   photos at 480 px), then its PSNR against the teacher on whole `validation` photos at 480 px, per style.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/video_student.py --threads 1 --steps 4000
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _common import base_parser, print_header, set_threads  # noqa: E402
from daguerre.data.folder import CropSampler, load_rgb  # noqa: E402
from daguerre.models import onnx as onnx_models  # noqa: E402
from daguerre.models.registry import build, find_model  # noqa: E402
from daguerre.nets.style_net import StyleNet  # noqa: E402
from daguerre.training.recipes import content_files  # noqa: E402

SHAPES = (((16, 32, 64), 3), ((16, 32, 64), 1), ((12, 24, 48), 2), ((8, 16, 64), 2), ((8, 16, 48), 2))
FRAME = (480, 856)


def frame_times(rounds: int, folder: Path) -> None:
    import onnxruntime as ort

    sessions = {}
    for widths, n in SHAPES:
        path = onnx_models.export(StyleNet(1, widths, n), folder / f"student-{'-'.join(map(str, widths))}-{n}.onnx")
        for precision, f in (("fp32", path), ("int8", onnx_models.quantize(path, path.with_suffix(".int8.onnx")))):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = 1, 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            sessions[(widths, n, precision)] = ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, *FRAME), dtype=np.float32)
    times: dict[tuple, list[float]] = {k: [] for k in sessions}
    for _ in range(rounds):
        for k, s in sessions.items():
            s.run(None, {"image": x})
            start = time.perf_counter()
            s.run(None, {"image": x})
            times[k].append(1000 * (time.perf_counter() - start))
    shipped = np.median(times[(SHAPES[0][0], SHAPES[0][1], "int8")])
    print(f"\n## ms per {FRAME[1]}x{FRAME[0]} frame, ONNX Runtime, 1 thread, median of {rounds} alternated rounds")
    for (widths, n, precision), t in times.items():
        print(f"  widths {widths}, {n} residual, {precision}: {np.median(t):6.1f} ms  "
              f"(x{shipped / np.median(t):.2f} the shipped shape's int8)")


def distil(args: argparse.Namespace) -> None:
    names = list(tomllib.loads(Path("recipes/met-styles.toml").read_text())["styles"])
    teacher = StyleNet.join([build(find_model(n)) for n in names]).eval().requires_grad_(False)
    student = StyleNet(len(names), tuple(args.widths), args.residual)
    opt = torch.optim.Adam(student.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps, eta_min=1e-4)
    crops = CropSampler([Path(p) for p in content_files("photos:fit")], 480, 192, progress=False)
    rng = torch.Generator().manual_seed(0)

    def gradients(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return y[..., 1:, :] - y[..., :-1, :], y[..., :, 1:] - y[..., :, :-1]

    start = time.time()
    for step in range(args.steps):
        style = step % len(names)
        teacher.set_style(style)
        student.set_style(style)
        x = (crops.sample(8, rng) * (0.8 + 0.4 * torch.rand(8, 1, 1, 1, generator=rng))).clamp(0, 1)
        with torch.no_grad():
            target = teacher(x)
        y = student(x)
        loss = F.l1_loss(y, target) + 0.5 * sum(F.l1_loss(a, b) for a, b in zip(gradients(y), gradients(target),
                                                                                  strict=True))
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if (step + 1) % 500 == 0:
            print(f"  step {step + 1}: loss {loss.item():.4f}, {time.time() - start:.0f} s", flush=True)
    student.eval()
    photos = [load_rgb(Path(p), 480).float()[None] / 255 for p in content_files("photos:validation")[:4]]
    photos = [p[..., : p.shape[-2] // 8 * 8, : p.shape[-1] // 8 * 8] for p in photos]
    print(f"\n## student widths {tuple(args.widths)}, {args.residual} residual, {args.steps} steps: PSNR against the "
          f"shipped model, {len(photos)} validation photos at 480 px")
    with torch.no_grad():
        for i, name in enumerate(names):
            teacher.set_style(i)
            student.set_style(i)
            psnr = [10 * math.log10(1 / F.mse_loss(student(p), teacher(p)).item()) for p in photos]
            print(f"  {name:24s} {np.mean(psnr):5.1f} dB")


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternated timing rounds")
    parser.add_argument("--steps", type=int, default=4000, help="distillation steps (0: timing only)")
    parser.add_argument("--widths", type=int, nargs=3, default=[8, 16, 48])
    parser.add_argument("--residual", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/daguerre-video-student"))
    args = parser.parse_args()
    set_threads(args.threads)
    torch.manual_seed(0)
    print_header("video_student: a narrower StyleNet for 24 fps", args)
    frame_times(args.rounds, args.folder)
    if args.steps:
        distil(args)


if __name__ == "__main__":
    main()
