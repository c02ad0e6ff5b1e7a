"""Where restore's LPIPS goes on the unseen damage (issue 17's goal: 0.15 better than the damaged input).

Recombines the damaged input, the truth, restore's output and OpenCV's Telea inpainting inside and outside two
masks: the damage's true footprint (`benchmarks/damage.py`'s mask > 0.05) and restore's own damage mask (> 0.5,
predicted as the model runs). So each row says what one part would give if everything else were perfect, or left
alone: the mask's recall, the inpainting inside it, and what the model does outside it. Same photos and damage as
`restoration.py`'s unseen row (25 held-out photos at 256 px, damage seeded by the photo's index).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/restore_lpips_split.py --threads 1 [--n 25] [--grid FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import restoration as bench
from _common import base_parser, set_threads
from daguerre.imaging.inpaint import telea


def restored(x: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """restore's output for x (3, H, W) and its damage mask (H, W); with `mask`, the model is given that mask."""
    from daguerre.imaging import Picture
    from daguerre.ops import get_operation
    from daguerre.ops.task_models import task_model

    _, net = task_model("restore", None)  # the cached module the operation runs (its card has a damage mask)
    drop = net.drop_false_alarms
    seen: list[torch.Tensor] = []

    def final_mask(m: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append(drop(m, y) if mask is None else m)
        return seen[-1]

    if mask is not None:
        net.damage_mask = lambda *a, **k: torch.from_numpy(mask)[None, None].float()
    net.drop_false_alarms = final_mask
    try:
        with torch.inference_mode():
            out = np.clip(get_operation("restore").run(Picture(x)).rgb(), 0, 1).astype(np.float32)
    finally:
        for name in ("damage_mask", "drop_false_alarms"):  # back to the class's methods
            vars(net).pop(name, None)
    if not seen:
        raise SystemExit("the installed restore model has no mask rule or keep: its mask is not passed on by tiles")
    return out, seen[-1][0, 0].numpy()


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=25, help="held-out photos (default 25)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--grid", type=Path, help="write input | ours | Telea in our mask | our mask | true "
                                                   "footprint | truth for the first 6 photos")
    args = parser.parse_args()
    set_threads(args.threads)
    from daguerre.metrics import lpips, psnr

    rows: dict[str, list[tuple[float, float]]] = {}
    tiles = []
    for i, (name, clean) in enumerate(bench.heldout(argparse.Namespace(n=args.n, size=args.size))):
        case = bench.damage_case(i, name, clean)
        x, t = case.input, case.truth
        true = (case.mask > 0.05).astype(np.float32)
        ours, soft = restored(x)
        own = (soft > 0.5).astype(np.float32)
        given_true, _ = restored(x, true)
        outputs = {
            "damaged input": x,
            "ours (restore as shipped)": ours,
            "perfect inside the true footprint, input outside": x * (1 - true) + t * true,
            "Telea inside the true footprint": telea(x, true > 0),
            "ours given the true footprint as its mask": given_true,
            "perfect inside our mask, input outside": x * (1 - own) + t * own,
            "Telea inside our mask": telea(x, own > 0),
            "ours inside our mask, input outside": x * (1 - own) + ours * own,
        }
        for label, out in outputs.items():
            rows.setdefault(label, []).append((lpips(out, t), psnr(out, t)))
        if args.grid and i < 6:
            tiles.append(np.concatenate([x, ours, outputs["Telea inside our mask"], np.repeat(soft[None], 3, 0),
                                         np.repeat(true[None], 3, 0), t], 2))
        print(f"  {i + 1}/{args.n} {name}", flush=True)
    print(f"\n{'row (mean over photos)':52s} LPIPS    PSNR")
    for label, scores in rows.items():
        a = np.array(scores)
        print(f"{label:52s} {a[:, 0].mean():.4f}  {a[:, 1].mean():.2f}")
    if tiles:
        from PIL import Image

        grid = np.clip(np.concatenate(tiles, 1), 0, 1).transpose(1, 2, 0)
        Image.fromarray((grid * 255).round().astype(np.uint8)).save(args.grid)
        print(f"grid -> {args.grid}")


if __name__ == "__main__":
    main()
