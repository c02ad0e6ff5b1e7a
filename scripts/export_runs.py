"""Export the latest checkpoints of the restore / colorize / upscale training runs as models (safetensors + card).

    python scripts/export_runs.py OUT_DIR [--runs runs]

Used to try models while they train, and to ship them: `scripts/ship_models.py` then adds card metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from daguerre.training.recipes import GAN_KINDS, gan_trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    args = parser.parse_args()
    for kind in GAN_KINDS:
        checkpoint = args.runs / kind / "checkpoint.pt"
        if checkpoint.is_file():
            card = gan_trainer(kind).export_checkpoint(checkpoint, args.out, f"recipes/{kind}.toml")
            print(f"{kind}: step {card.training['steps']} -> {card.weights_path()}")


if __name__ == "__main__":
    main()
