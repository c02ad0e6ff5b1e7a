"""daguerre.imaging: load/save Pictures with their metadata, and the shared tiler."""

from daguerre.imaging.io import ImageError, iter_images, load, output_path_for, save, scan, unread_in_folders
from daguerre.imaging.picture import Picture
from daguerre.imaging.tiler import pad_to_fit, run_tiled, tile_count

__all__ = [
    "ImageError", "Picture", "iter_images", "load", "output_path_for", "pad_to_fit", "run_tiled", "save", "scan",
    "tile_count", "unread_in_folders",
]
