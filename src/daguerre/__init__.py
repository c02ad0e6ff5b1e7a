"""daguerre: GAN restoration, colourization, upscaling and style transfer for historical photographs."""

__version__ = "0.1.0"
