"""Built-in offline datasets and user data, resolved from spec strings."""

from gankit.data import (  # noqa: F401  (registers)
    captions,
    digits,
    faces,
    folder,
    glyphs,
    photos,
    points,
    shapes,
    userpairs,
)
from gankit.data.base import (
    DATASETS,
    ArrayDataset,
    Batch,
    DataConfig,
    DataInfo,
    GANDataset,
    build_dataset,
    resize_images,
    spec_usage,
    split_spec,
)
from gankit.data.loader import BatchStream
from gankit.data.points import MIXTURES, Mixture

__all__ = [
    "DATASETS",
    "MIXTURES",
    "ArrayDataset",
    "Batch",
    "BatchStream",
    "DataConfig",
    "DataInfo",
    "GANDataset",
    "Mixture",
    "build_dataset",
    "resize_images",
    "spec_usage",
    "split_spec",
]
