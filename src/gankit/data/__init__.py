"""Built-in offline datasets, user data and the standard datasets, resolved from spec strings."""

from gankit.data import (  # noqa: F401  (registers)
    captions,
    celeba,
    cifar,
    digits,
    faces,
    folder,
    glyphs,
    mnist,
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
from gankit.data.standard import STANDARD_SETS, expected_files, find_standard, standard_status

__all__ = [
    "DATASETS",
    "MIXTURES",
    "STANDARD_SETS",
    "ArrayDataset",
    "Batch",
    "BatchStream",
    "DataConfig",
    "DataInfo",
    "GANDataset",
    "Mixture",
    "build_dataset",
    "expected_files",
    "find_standard",
    "resize_images",
    "spec_usage",
    "split_spec",
    "standard_status",
]
