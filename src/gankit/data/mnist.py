"""MNIST and Fashion-MNIST from their IDX files, and stacked MNIST (1,000 modes) built from them.

A copy is the four files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each gzipped (`.gz`, as distributed) or not,
in one folder; where that folder is looked for, and the error when it is missing, are
standard.py's. The IDX header gives each file's shape and `read_idx` checks the length against
it, so a copy with fewer images than the official 60,000 + 10,000 is read as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.base import ArrayDataset, Batch, DataConfig, DataInfo, register_dataset
from gankit.data.digits import DIGIT_CLASSES, StackedDigits
from gankit.data.idx import BadIdxFile, read_idx
from gankit.data.standard import file_in, locate, prepare_images

NATIVE = 28
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
PREFIX = {"train": "train", "test": "t10k"}
STACKED_SIZE = {"train": 60_000, "test": 10_000, "all": 70_000}


def _read_part(root: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    """One part's (images [N, 28, 28] uint8, labels [N] uint8), checked against each other."""
    images_path = file_in(root, f"{PREFIX[part]}-images-idx3-ubyte", gzip=True)
    labels_path = file_in(root, f"{PREFIX[part]}-labels-idx1-ubyte", gzip=True)
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.dtype != np.uint8 or images.shape[1:] != (NATIVE, NATIVE):
        raise BadIdxFile(
            f"{images_path} holds {images.dtype} images of {images.shape[1:]}; MNIST's are "
            f"uint8 {NATIVE}×{NATIVE}"
        )
    if len(images) == 0:
        raise BadIdxFile(f"{images_path} holds no images")
    if labels.dtype != np.uint8 or len(labels) != len(images):
        raise BadIdxFile(
            f"{labels_path} holds {len(labels):,} {labels.dtype} labels for the {len(images):,} "
            f"images of {images_path.name}; expected one uint8 label per image"
        )
    if len(labels) and int(labels.max()) > 9:
        raise BadIdxFile(f"{labels_path} holds label {int(labels.max())}; MNIST's are 0 to 9")
    return images, labels


def idx_split(root: Path, split: str) -> tuple[Tensor, Tensor]:
    """The images [N, 1, 28, 28] uint8 and labels [N] int64 of `split` of the copy in `root`."""
    parts = [_read_part(root, p) for p in (("train", "test") if split == "all" else (split,))]
    images = np.concatenate([p[0] for p in parts])  # a copy: read_idx's arrays are read-only
    labels = np.concatenate([p[1] for p in parts])
    x = torch.from_numpy(images)[:, None]  # [N, 1, 28, 28]
    return x, torch.from_numpy(labels.astype(np.int64))


def _idx_dataset(
    name: str, classes: tuple[str, ...], cfg: DataConfig, arg: str | None
) -> ArrayDataset:
    x, y = idx_split(locate(name, arg), cfg.split)
    x = prepare_images(x, channels=1, resolution=cfg.resolution or NATIVE)
    info = DataInfo(name, "image", tuple(x.shape[1:]), len(classes), classes)
    return ArrayDataset(x, y, info)


@register_dataset(
    "mnist",
    kind="image",
    arg="PATH",
    optional=True,
    help="MNIST: 60,000 + 10,000 28×28 handwritten digits, 10 classes (IDX files)",
)
def mnist(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    return _idx_dataset("mnist", DIGIT_CLASSES, cfg, arg)


@register_dataset(
    "fashion-mnist",
    kind="image",
    arg="PATH",
    optional=True,
    help="Fashion-MNIST: 60,000 + 10,000 28×28 grey clothing images, 10 classes (IDX files)",
)
def fashion_mnist(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    return _idx_dataset("fashion-mnist", FASHION_CLASSES, cfg, arg)


class StackedMnist(StackedDigits):
    """StackedDigits over uint8 MNIST images (a quarter of the memory of floats), scaled to
    [-1, 1] per batch as ArrayDataset does."""

    def batch(self, indices: Tensor) -> Batch:
        out = super().batch(indices)
        out["x"] = out["x"].float().div_(127.5).sub_(1.0)  # [B, 3, H, W]
        return out


@register_dataset(
    "stacked-mnist",
    kind="image",
    arg="PATH",
    optional=True,
    help="stacked MNIST: three MNIST digits as R, G, B, 1,000 modes (VEEGAN, PacGAN); "
    "60,000 + 10,000 triples drawn with data.seed (PATH: MNIST's folder)",
)
def stacked_mnist(cfg: DataConfig, arg: str | None) -> StackedMnist:
    """Triples of MNIST images of the split, drawn with `data.seed` (the test split with
    another stream); `data.size` triples, by default as many as the split has images."""
    base, labels = idx_split(locate("stacked-mnist", arg), cfg.split)
    base = prepare_images(base, channels=1, resolution=cfg.resolution or NATIVE)
    size = cfg.size or STACKED_SIZE[cfg.split]
    gen = torch.Generator().manual_seed(cfg.seed * 2 + (1 if cfg.split == "test" else 0))
    triples = torch.randint(0, len(base), (size, 3), generator=gen)  # [size, 3]
    names = tuple(f"{i:03d}" for i in range(1000))  # the R, G and B digits
    info = DataInfo("stacked-mnist", "image", (3, *base.shape[2:]), 1000, names)
    return StackedMnist(base, labels, triples, info)
