"""The history of generated images a discriminator is shown (Shrivastava et al. 2017, as used by CycleGAN).

Judging a mix of this step's fakes and older ones keeps the discriminator from chasing only the generator's
latest output. Draws come from the trainer's seeded generator and the pool is saved in checkpoints, so a
resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int = 50):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Store each new image; return it, or (half the time once the pool is full) a stored one in its place."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(1, generator=generator).item() < 0.5:
                i = int(torch.randint(self.size, (1,), generator=generator))
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        return {"size": self.size, "images": [t.clone() for t in self.images]}

    def load_state_dict(self, state: dict) -> None:
        self.size, self.images = state["size"], [t.clone() for t in state["images"]]
