"""Network architectures: generators, discriminators and pretrained feature extractors."""

from daguerre.nets.colorize_net import ColorizeNet
from daguerre.nets.colour_bank import ColourBank
from daguerre.nets.painting_style_net import PaintingStyleNet
from daguerre.nets.patchgan import PatchDiscriminator
from daguerre.nets.restore_net import RestoreNet
from daguerre.nets.retro_net import RetroNet
from daguerre.nets.rrdbnet import RRDBNet
from daguerre.nets.style_net import StyleNet
from daguerre.nets.transformer_net import TransformerNet
from daguerre.nets.unet import UNet
from daguerre.nets.upscale_net import UpscaleNet

ARCHITECTURES = {
    "StyleNet": StyleNet,
    "PaintingStyleNet": PaintingStyleNet,
    "TransformerNet": TransformerNet,
    "PatchDiscriminator": PatchDiscriminator,
    "RestoreNet": RestoreNet,
    "RetroNet": RetroNet,
    "UNet": UNet,
    "ColorizeNet": ColorizeNet,
    "ColourBank": ColourBank,
    "RRDBNet": RRDBNet,
    "UpscaleNet": UpscaleNet,
}
