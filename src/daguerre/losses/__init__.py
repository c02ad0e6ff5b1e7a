"""Losses for training: content, Gram style, total variation, adversarial, cycle."""

from daguerre.losses.adversarial import discriminator_loss, generator_loss
from daguerre.losses.cycle import cycle_loss, identity_loss
from daguerre.losses.style import content_loss, gram_matrix, style_loss, total_variation

__all__ = [
    "content_loss", "cycle_loss", "discriminator_loss", "generator_loss", "gram_matrix", "identity_loss",
    "style_loss", "total_variation",
]
