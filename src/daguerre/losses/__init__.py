"""Losses for training: content, Gram style, total variation, adversarial, cycle, temporal."""

from daguerre.losses.adversarial import discriminator_loss, generator_loss
from daguerre.losses.cycle import cycle_loss, identity_loss
from daguerre.losses.style import content_loss, gram_matrix, look_loss, style_loss, total_variation
from daguerre.losses.temporal import CameraJitter, anchor_noise, second_frame, temporal_loss

__all__ = [
    "CameraJitter", "anchor_noise", "content_loss", "cycle_loss", "discriminator_loss", "generator_loss", "gram_matrix",
    "identity_loss", "look_loss", "second_frame", "style_loss", "temporal_loss", "total_variation",
]
