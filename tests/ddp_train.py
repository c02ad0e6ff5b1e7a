"""Run under torchrun by test_distributed_training.py: train a tiny restore, style or painting-style recipe and
write, per rank, a hash of the generator's parameters and of the first batch of photos it drew."""

import hashlib
import sys
from pathlib import Path

import torch

from daguerre.training import distributed
from daguerre.training.conditional import GANRecipe
from daguerre.training.painting_style import PaintingStyleRecipe, PaintingStyleTrainer
from daguerre.training.recipes import gan_trainer, load_recipe
from daguerre.training.style import StyleTrainer


def digest(tensors) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


if __name__ == "__main__":
    recipe_path, run_dir, steps = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    distributed.init()
    recipe = load_recipe(recipe_path)
    gan = isinstance(recipe, GANRecipe)
    kind = PaintingStyleTrainer if isinstance(recipe, PaintingStyleRecipe) else StyleTrainer
    trainer = (gan_trainer(recipe) if gan else kind)(recipe, run_dir, progress=False)
    before = digest(trainer.net.parameters())
    probe = torch.Generator()
    probe.set_state(trainer.rng.get_state())  # what this rank's first step will draw
    batch = (trainer.pairs if gan else trainer.content).sample(recipe.batch_size, probe)
    trainer.train(steps)
    out = run_dir / f"rank{distributed.rank()}.txt"
    out.write_text(f"{before} {digest(trainer.net.parameters())} {digest(batch)} {trainer.step}\n")
    distributed.finish()  # leave the group together, as `daguerre train` does: a rank exiting alone can abort in gloo
