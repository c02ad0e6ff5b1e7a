"""Fine-tunes restore's ToneNet alone to leave clean, vivid and dark photos alone (issue 17, option b).

    PYTHONPATH=src python benchmarks/tone_finetune.py --threads 1 [--steps 600] [--every 100] --out runs/tone_ft
    # the steadier recipe that keeps fading on validation (2026-11-30, BENCHMARKS.md: its run C):
    PYTHONPATH=src python benchmarks/tone_finetune.py --threads 1 --steps 2500 --lr 1e-4 --ema 0.995 --plain 2 \
        --identity-weight 0.5 --tone-crops 5 --tone-sets fade,fade,colour_cast,toned,yellowing --agings 3 \
        --strict --worst-aged -0.05 --worst-cast -0.5 --out runs/C

The shipped ToneNet was trained on the whole `train` split, so on its photos it learnt they need nothing, and on
held-out clean photos (a vivid meadow, a night scene) it corrects as much as on their damaged copies. This
continues it on `photos("fit")` only (everything else in the model bit-identical): each batch of 16 crops (128 px
of photos at short side 256, as the recipe) has 12 - plain - tone crops aged by `age` (strength 0.3-1), --tone-crops
aged by one of the tone sets' effects only (--tone-sets of fade, yellowing, colour_cast, toned = grey +
yellowing, drawn per crop: the fading the identity crops could teach it to leave), 4 aged by the local effects
only (`LOCAL_EFFECTS`: nothing global to correct), and --plain clean crops, half saturation-boosted (x1.3-2),
half darkened (0.5-0.9 x^1.5-2.5), their own targets; loss: L1 of the ungated ToneNet, the plain crops' weighted
by --identity-weight; Adam (--lr).
With --ema d the weights scored and written are the exponential moving average (Polyak, decay d) of the raw ones.

Every --every steps the gated correction is scored on the 21 `validation` photos (never seen by this fine-tune),
as `tone_evidence.py` scores training photos, with --agings agings per photo in each tone set: PSNR (capped at
45 dB) of the ToneNet alone against the truth, per set. The rule, fixed before any run: the checkpoint chosen is
the one with the largest mean gain on clean / vivid / dark whose tone sets (fade, yellowing, colour_cast, toned,
aged) each lose at most --worst dB against the shipped ToneNet, `aged` at most --worst-aged and colour_cast at
most --worst-cast (both default --worst). Without --strict a checkpoint also passes with `aged` at most 0.1 dB and
the tone sets' mean at most 0.1 dB lost (the first runs' rule; it let through a model that lost fading held-out).
colour_cast gets its own limit because fine-tuning on `fit` alone costs it ~0.5 dB on `validation` even without
identity crops (the shipped ToneNet had seen those photos); `aged` a tighter one because the first model's
validation loss there (0.10 dB) doubled held-out. The chosen one is written as a model folder (card + weights) to
--out, the scores to --out's name + _history.json. Held-out photos are never used. Seeded: the same command gives
the same weights."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from _common import base_parser, print_header, set_threads
from tone_evidence import CAP, TONE_SETS, training_sets

TONE = ("fade", "yellowing", "colour_cast", "toned", "aged")
PLAIN = ("clean", "vivid", "dark")


def identity_crops(clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The first half saturation-boosted (x1.3-2 around luma), the rest darkened (0.5-0.9 x^1.5-2.5)."""
    half = clean.shape[0] // 2
    lum = (0.299 * clean[:, :1] + 0.587 * clean[:, 1:2] + 0.114 * clean[:, 2:])
    u = torch.rand(clean.shape[0], 2, generator=generator)
    boost = (1.3 + 0.7 * u[:half, 0]).view(-1, 1, 1, 1)
    vivid = (lum[:half] + boost * (clean[:half] - lum[:half])).clamp(0, 1)
    gain, gamma = (0.5 + 0.4 * u[half:, 0]).view(-1, 1, 1, 1), (1.5 + u[half:, 1]).view(-1, 1, 1, 1)
    return torch.cat([vivid, gain * clean[half:] ** gamma])


def score(tone, sets) -> dict[str, float]:
    """Mean PSNR (capped) of the gated ToneNet's correction against the truth, per set."""
    from daguerre.metrics import psnr

    out = {}
    with torch.inference_mode():
        for name, cases in sets.items():
            values = []
            for x, truth in cases:
                xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
                values.append(min(psnr(tone(xt).clamp(0, 1)[0].numpy(), truth), CAP))
            out[name] = float(np.mean(values))
    return out


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--plain", type=int, default=4, help="vivid and dark identity crops a batch (of 16)")
    parser.add_argument("--identity-weight", type=float, default=1.0, help="the identity crops' loss weight")
    parser.add_argument("--tone-crops", type=int, default=0, help="crops a batch aged by tone effects only")
    parser.add_argument("--tone-sets", default=",".join(TONE_SETS), help="the tone sets those crops are drawn "
                        "from, uniformly, comma-separated (a set named twice is drawn twice as often)")
    parser.add_argument("--ema", type=float, default=0.0, help="score and write the weights' moving average "
                        "with this decay (0: the raw weights)")
    parser.add_argument("--agings", type=int, default=1, help="validation agings per photo in each tone set")
    parser.add_argument("--worst", type=float, default=-0.1, help="least gain allowed on each tone set, dB")
    parser.add_argument("--worst-aged", type=float, default=None, help="least gain allowed on `aged`, dB")
    parser.add_argument("--worst-cast", type=float, default=None, help="least gain allowed on colour_cast, dB")
    parser.add_argument("--strict", action="store_true", help="no fallback rule (aged and the tone mean)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the chosen model's card and weights")
    args = parser.parse_args()
    if args.plain + args.tone_crops > 12:
        parser.error("--plain + --tone-crops must leave room in the 12 aged crops of a batch")
    set_threads(args.threads)
    info = print_header("restore tone: fine-tune the ToneNet to leave clean photos alone", args)
    from safetensors.torch import save_file

    from daguerre.data.folder import CropSampler
    from daguerre.data.pairs import AgedPairs
    from daguerre.data.sources import photos
    from daguerre.models.card import sha256_of
    from daguerre.ops.task_models import task_model
    from daguerre.training.restore import LOCAL_EFFECTS

    limits = {k: args.worst for k in TONE}
    limits["aged"] = args.worst if args.worst_aged is None else args.worst_aged
    limits["colour_cast"] = args.worst if args.worst_cast is None else args.worst_cast
    card, net = task_model("restore", None)
    net = copy.deepcopy(net)
    averaged = copy.deepcopy(net) if args.ema else net  # the model scored and written
    tone, gate = net.tone, net.tone.gate
    validation = training_sets(24, 256, "validation", args.agings)
    history = [{"step": 0, "scores": score(averaged.tone, validation)}]
    base = history[0]["scores"]
    print("step 0", {k: round(v, 2) for k, v in base.items()}, flush=True)
    crops = CropSampler(photos("fit"), 256, 128, progress=False)
    pairs, local = AgedPairs(crops, 0.3, 1.0), AgedPairs(crops, 0.3, 1.0, LOCAL_EFFECTS)
    toned = [AgedPairs(crops, 0.3, 1.0, TONE_SETS[name]) for name in args.tone_sets.split(",")]
    g = torch.Generator().manual_seed(args.seed)
    optimiser = torch.optim.Adam(tone.parameters(), lr=args.lr)
    weights = torch.tensor([1.0] * (16 - args.plain) + [args.identity_weight] * args.plain)
    best, best_state = None, None
    for step in range(1, args.steps + 1):
        aged, clean, _ = pairs.sample(12 - args.plain - args.tone_crops, g)
        for _ in range(args.tone_crops):
            more = toned[int(torch.randint(len(toned), (1,), generator=g))].sample(1, g)
            aged, clean = torch.cat([aged, more[0]]), torch.cat([clean, more[1]])
        more = local.sample(4, g)
        plain = identity_crops(crops.sample(args.plain, g), g) if args.plain else aged[:0]
        x, y = torch.cat([aged, more[0], plain]), torch.cat([clean, more[1], plain])
        tone.train()
        tone.gate = ()
        loss = ((tone(x) - y).abs().mean((1, 2, 3)) * weights).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        tone.gate = gate
        tone.eval()
        if args.ema:
            with torch.no_grad():
                for p_avg, p in zip(averaged.tone.parameters(), tone.parameters(), strict=True):
                    p_avg.lerp_(p, 1 - args.ema)
        if step % args.every == 0:
            s = score(averaged.tone, validation)
            gains = {k: s[k] - base[k] for k in s}
            gain = float(np.mean([gains[k] for k in PLAIN]))
            worst = min(gains[k] for k in TONE)
            mean_tone = float(np.mean([gains[k] for k in TONE]))
            history.append({"step": step, "loss": loss.item(), "scores": s, "plain_gain": gain, "worst_tone": worst,
                            "mean_tone": mean_tone})
            print(f"step {step} loss {loss.item():.4f} plain gain {gain:+.2f} worst tone {worst:+.2f}",
                  {k: round(v, 2) for k, v in gains.items()}, flush=True)
            ok = all(gains[k] >= limits[k] for k in TONE) or (
                not args.strict and gains["aged"] >= -0.1 and mean_tone >= -0.1)
            if ok and gain > 0 and (best is None or gain > best["plain_gain"]):
                best, best_state = history[-1], copy.deepcopy(averaged.state_dict())
    args.out.mkdir(parents=True, exist_ok=True)
    history_file = args.out.parent / f"{args.out.name}_history.json"  # not in --out: every .json there is a card
    history_file.write_text(json.dumps({"machine": info, "history": history}, indent=1) + "\n")
    if best is None:
        print("no checkpoint met the rule: nothing written")
        return
    weights_file = args.out / card.weights
    save_file({k: v.contiguous() for k, v in best_state.items()}, str(weights_file))
    recipe = {"steps": best["step"], "lr": args.lr, "seed": args.seed, "plain": args.plain,
              "identity_weight": args.identity_weight, "tone_crops": args.tone_crops,
              "tone_sets": args.tone_sets, "ema": args.ema}
    training = card.training | {"tone_finetune": {
        "script": "benchmarks/tone_finetune.py", "from_sha256": card.sha256, **recipe,
        "data": "photos('fit'); chosen on photos('validation')"}}
    replace(card, sha256=sha256_of(weights_file), training=training).save(args.out)
    print(f"chosen: step {best['step']}, plain gain {best['plain_gain']:+.2f}, worst tone {best['worst_tone']:+.2f}; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
