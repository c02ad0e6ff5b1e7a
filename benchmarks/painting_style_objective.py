"""The arbitrary model's training objective on one fixed batch: a cheap monitor of a painting-style run.

    PYTHONPATH=src .venv/bin/python benchmarks/painting_style_objective.py --threads 1 \
        --recipe recipes/painting-style-dynamic.toml --checkpoints /work/runs/dynstyle/run/checkpoint.pt ...

32 validation-photo crops (128 px, `photos("validation")`), each with a painting (128 px, the whole painting
resized: no crop noise), for two painting sets: the recipe's `validation_styles` (kept out of its training) and 8 of
the paintings it trains on (every 16th). For the shipped `painting-style` and each checkpoint: the objective's
content, Gram (x gram_weight), moment (x moment_weight) and colour (x colour_weight) terms and their sum
(`painting_style.style_terms`; no adversarial or identity term). The same batch for every model (seed 7): the
figures are comparable across checkpoints, unlike the training log's, which change painting every step. Minutes,
not the ten of style_quality.py: a monitor, not the ship rule's measure.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from _common import base_parser, print_header, set_threads


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, required=True, help="the run's recipe (its validation_styles)")
    parser.add_argument("--checkpoints", type=Path, nargs="+", default=[], help="the run's checkpoint files")
    args = parser.parse_args()
    set_threads(args.threads)
    print_header("painting_style_objective: the training objective on a fixed batch", args)
    from daguerre.data import sources
    from daguerre.data.folder import CropSampler, load_rgb
    from daguerre.models.registry import build, find_model
    from daguerre.nets.vgg16 import load_vgg16
    from daguerre.training import common
    from daguerre.training.painting_style import (
        VGG_LAYERS,
        PaintingStyleRecipe,
        content_features,
        make_net,
        style_terms,
    )
    from daguerre.training.recipes import load_recipe

    recipe = load_recipe(args.recipe)
    assert isinstance(recipe, PaintingStyleRecipe)
    held = set(recipe.validation_styles)
    trained = [Path(p) for p in recipe.styles if Path(p).name not in held]
    sets = {"validation paintings": [Path(p) for p in recipe.styles if Path(p).name in held],
            "training paintings": trained[::16][:8]}
    nets = {"shipped painting-style": build(find_model("painting-style"))}
    for path in args.checkpoints:
        state = common.load_checkpoint(path)
        net = make_net(PaintingStyleRecipe(**state["recipe"]))
        net.load_state_dict(state["generator"])
        nets[f"step {state['step']} ({path.parent.name})"] = net
    vgg = load_vgg16(VGG_LAYERS)
    photos = CropSampler(sources.photos("validation"), 256, 128, progress=False)
    x = photos.sample(32, torch.Generator().manual_seed(7))
    with torch.no_grad():
        fx = content_features(vgg, x)
    r = recipe
    for label, files in sets.items():
        paintings = [F.interpolate(load_rgb(f, 288)[None].float() / 255, size=(128, 128), mode="bilinear",
                                   antialias=True, align_corners=False) for f in files]
        s = torch.cat([paintings[i % len(paintings)] for i in range(len(x))])
        with torch.no_grad():
            fs = vgg(s)
        print(f"\n{label}: {', '.join(f.stem for f in files)}")
        print(f"{'model':40s} {'content':>8s} {'Gram':>8s} {'moment':>8s} {'colour':>8s} {'total':>8s}")
        for name, net in nets.items():
            with torch.no_grad():
                net.eval()
                y = net(x, net.code(fs))
                c, gram, moment, colour = style_terms(vgg(y), fx, fs, y, s, r.colour_size)
            terms = [r.content_weight * c, r.gram_weight * gram, r.moment_weight * moment, r.colour_weight * colour]
            print(f"{name:40s} " + " ".join(f"{float(t):8.3f}" for t in [*terms, sum(terms)]), flush=True)


if __name__ == "__main__":
    main()
