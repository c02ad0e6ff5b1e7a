"""Fine-tunes restore's ToneNet alone to leave clean, vivid and dark photos alone (issue 17, option b).

    PYTHONPATH=src python benchmarks/tone_finetune.py --threads 1 [--steps 600] [--every 100] --out runs/tone_ft

The shipped ToneNet was trained on the whole `train` split, so on its photos it learnt they need nothing, and on
held-out clean photos (a vivid meadow, a night scene) it corrects as much as on their damaged copies. This
continues it on `photos("fit")` only (everything else in the model bit-identical): each batch of 16 crops (128 px
of photos at short side 256, as the recipe) has 8 aged by `age` (strength 0.3-1), 4 aged by the local effects only
(`LOCAL_EFFECTS`: nothing global to correct), 2 saturation-boosted (x1.3-2) and 2 darkened (0.5-0.9 x^1.5-2.5) clean
crops, the last six their own targets; L1 of the ungated ToneNet, Adam (--lr). Every --every steps the gated
correction is scored on the 21 `validation` photos (never seen by this fine-tune) as `tone_evidence.py` scores
training photos: PSNR (capped at 45 dB) of the ToneNet alone against the truth, per set. The checkpoint chosen is
the one with the largest mean gain on clean / vivid / dark whose tone sets (fade, yellowing, colour_cast, toned,
aged) each lose at most --worst dB against the shipped ToneNet, or `aged` at most 0.1 dB and their mean at most
0.1 dB (fine-tuning on `fit` alone costs colour_cast ~0.5 dB on `validation` even without the identity crops: the
shipped ToneNet had seen those photos); it is written as a model folder (card + weights) to --out, the scores
to --out's name + _history.json. Held-out photos are never used. Seeded: the same command gives the same weights.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from _common import base_parser, print_header, set_threads
from tone_evidence import CAP, training_sets

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
    parser.add_argument("--worst", type=float, default=-0.1, help="least gain allowed on each tone set, dB (or: "
                        "on `aged` at least -0.1 dB and on the tone sets' mean at least -0.1 dB)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the chosen model's card and weights")
    args = parser.parse_args()
    set_threads(args.threads)
    info = print_header("restore tone: fine-tune the ToneNet to leave clean photos alone", args)
    from safetensors.torch import save_file

    from daguerre.data.folder import CropSampler
    from daguerre.data.pairs import AgedPairs
    from daguerre.data.sources import photos
    from daguerre.models.card import sha256_of
    from daguerre.ops.task_models import task_model
    from daguerre.training.restore import LOCAL_EFFECTS

    card, net = task_model("restore", None)
    net = copy.deepcopy(net)
    tone, gate = net.tone, net.tone.gate
    validation = training_sets(24, 256, "validation")
    history = [{"step": 0, "scores": score(tone, validation)}]
    base = history[0]["scores"]
    print("step 0", {k: round(v, 2) for k, v in base.items()}, flush=True)
    crops = CropSampler(photos("fit"), 256, 128, progress=False)
    pairs, local = AgedPairs(crops, 0.3, 1.0), AgedPairs(crops, 0.3, 1.0, LOCAL_EFFECTS)
    g = torch.Generator().manual_seed(args.seed)
    optimiser = torch.optim.Adam(tone.parameters(), lr=args.lr)
    best, best_state = None, None
    for step in range(1, args.steps + 1):
        aged, clean, _ = pairs.sample(12 - args.plain, g)
        more = local.sample(4, g)
        plain = identity_crops(crops.sample(args.plain, g), g) if args.plain else aged[:0]
        x, y = torch.cat([aged, more[0], plain]), torch.cat([clean, more[1], plain])
        tone.train()
        tone.gate = ()
        loss = (tone(x) - y).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        tone.gate = gate
        tone.eval()
        if step % args.every == 0:
            s = score(tone, validation)
            gain = float(np.mean([s[k] - base[k] for k in PLAIN]))
            worst = min(s[k] - base[k] for k in TONE)
            history.append({"step": step, "loss": loss.item(), "scores": s, "plain_gain": gain, "worst_tone": worst})
            print(f"step {step} loss {loss.item():.4f} plain gain {gain:+.2f} worst tone {worst:+.2f}",
                  {k: round(v - base[k], 2) for k, v in s.items()}, flush=True)
            mean_tone = float(np.mean([s[k] - base[k] for k in TONE]))
            history[-1]["mean_tone"] = mean_tone
            ok = worst >= args.worst or (s["aged"] - base["aged"] >= -0.1 and mean_tone >= -0.1)
            if ok and gain > 0 and (best is None or gain > best["plain_gain"]):
                best, best_state = history[-1], copy.deepcopy(net.state_dict())
    args.out.mkdir(parents=True, exist_ok=True)
    history_file = args.out.parent / f"{args.out.name}_history.json"  # not in --out: every .json there is a card
    history_file.write_text(json.dumps({"machine": info, "history": history}, indent=1) + "\n")
    if best is None:
        print("no checkpoint met the rule: nothing written")
        return
    weights = args.out / card.weights
    save_file({k: v.contiguous() for k, v in best_state.items()}, str(weights))
    training = card.training | {"tone_finetune": {
        "script": "benchmarks/tone_finetune.py", "from_sha256": card.sha256, "steps": best["step"], "lr": args.lr,
        "seed": args.seed, "data": "photos('fit'); chosen on photos('validation')"}}
    replace(card, sha256=sha256_of(weights), training=training).save(args.out)
    print(f"chosen: step {best['step']}, plain gain {best['plain_gain']:+.2f}, worst tone {best['worst_tone']:+.2f}; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
