"""Where the restore model loses PSNR on motion blur + noise (issue 17's unseen family), stage by stage.

    PYTHONPATH=src python benchmarks/blur_diagnosis.py [--n 25] [--size 256] [--split train] --threads 1

Each of the first --n photos of --split (train: for diagnosis and tuning; never the held-out split for tuning)
gets `restoration.unseen_case`'s degradation (motion blur 9 px, noise 15/255, seed i). PSNR against the clean
photo after each stage of `RestoreNet`: the ToneNet's global correction, the mask and its inpainting fill, the
U-Net; and variants (no tone correction; an empty mask), with the mean level and contrast shift of each stage.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from _common import set_threads
from restoration import square_photo, unseen_case


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=25)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--split", default="train")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    set_threads(args.threads)
    from daguerre.data.sources import photos
    from daguerre.metrics import psnr
    from daguerre.nets.restore_net import fill_holes
    from daguerre.ops.task_models import task_model

    _, net = task_model("restore", None)
    rows: dict[str, list[float]] = {}
    shift: dict[str, list[tuple[float, float]]] = {}
    mask_mean = []
    for i, path in enumerate(photos(args.split, graphics=False)[: args.n]):
        clean = square_photo(path, args.size)
        case = unseen_case(i, path.name, clean)
        x = torch.from_numpy(case.input)[None]
        with torch.inference_mode():
            t = net.tone(x) if net.tone is not None else x
            mask = torch.sigmoid(net.damage.logits(t) + net.mask_bias)
            filled = t * (1 - mask) + fill_holes(t, mask) * mask if net.inpaint else t
            out = net.generator(torch.cat([filled, mask], 1)).clamp(0, 1)
            m0 = torch.zeros_like(mask)
            out_nomask = net.generator(torch.cat([t, m0], 1)).clamp(0, 1)
            mask_x = torch.sigmoid(net.damage.logits(x) + net.mask_bias)
            fill_x = x * (1 - mask_x) + fill_holes(x, mask_x) * mask_x
            out_notone = net.generator(torch.cat([fill_x, mask_x], 1)).clamp(0, 1)
        stages = {"input": x, "tone": t, "tone+fill": filled, "full (shipped)": out,
                  "tone, empty mask, U-Net": out_nomask, "no tone, mask, U-Net": out_notone}
        for name, y in stages.items():
            y = y[0].numpy()
            rows.setdefault(name, []).append(psnr(y, clean))
            shift.setdefault(name, []).append((float(y.mean() - clean.mean()), float(y.std() / clean.std())))
        mask_mean.append(float((mask > 0.5).float().mean()))
    for name, v in rows.items():
        s = np.array(shift[name])
        print(f"{name:28s} PSNR {np.mean(v):6.2f}  mean shift {s[:, 0].mean():+.4f}  std ratio {s[:, 1].mean():.3f}")
    print(f"predicted mask > 0.5: {100 * np.mean(mask_mean):.2f}% of pixels")


if __name__ == "__main__":
    main()
