"""Pictures of samples: image grids and point scatter plots."""

from gankit.viz.grid import (
    image_grid,
    save_gif,
    save_grid,
    save_image,
    save_samples,
    save_scatter,
)

__all__ = [
    "image_grid",
    "save_gif",
    "save_grid",
    "save_image",
    "save_samples",
    "save_scatter",
]
