"""scikit-learn's handwritten digits (8×8, 10 classes) and the 1,000-mode stacked digits."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from gankit.data.base import (
    ArrayDataset,
    Batch,
    DataConfig,
    DataInfo,
    GANDataset,
    register_dataset,
    resize_images,
)
from gankit.data.pairs import UnpairedDataset

DIGIT_CLASSES = tuple(str(d) for d in range(10))


@functools.lru_cache(maxsize=1)
def _digits_split() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The 1,797 digits as float images in [0, 1], split 75/25 stratified with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # [N, 8, 8], ink is bright
    labels = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=0.25, random_state=0, stratify=labels
    )
    return {"train": (x_tr, y_tr), "test": (x_te, y_te), "all": (images, labels)}


def digit_images(split: str, resolution: int | None) -> tuple[Tensor, Tensor]:
    """Digits of `split` as [N, 1, R, R] float images in [-1, 1] and [N] labels."""
    images, labels = _digits_split()[split]
    x = torch.from_numpy(images)[:, None]  # [N, 1, 8, 8] in [0, 1]
    x = resize_images(x, resolution or 8).clamp_(0, 1) * 2 - 1
    return x, torch.from_numpy(labels)


@register_dataset(
    "digits", kind="image", help="scikit-learn's 1,797 8×8 handwritten digits, 10 classes, resized"
)
def digits(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    x, y = digit_images(cfg.split, cfg.resolution)
    info = DataInfo("digits", "image", tuple(x.shape[1:]), 10, DIGIT_CLASSES)
    return ArrayDataset(x, y, info)


class StackedDigits(GANDataset):
    """Three digits stacked as the R, G, B channels: 10³ = 1,000 modes (VEEGAN, PacGAN).

    Sample i stacks base images `triples[i]`; its label is 100·d_R + 10·d_G + d_B.
    """

    def __init__(self, base: Tensor, base_labels: Tensor, triples: Tensor, info: DataInfo) -> None:
        self.base, self.base_labels, self.triples, self.info = base, base_labels, triples, info

    def __len__(self) -> int:
        return len(self.triples)

    def batch(self, indices: Tensor) -> Batch:
        t = self.triples[indices.to(self.triples.device)]  # [B, 3]
        x = self.base[t].squeeze(2)  # [B, 3, 1, H, W] -> [B, 3, H, W]
        d = self.base_labels[t]
        return {"x": x, "y": d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]}

    def to(self, device: torch.device) -> StackedDigits:
        self.base, self.base_labels = self.base.to(device), self.base_labels.to(device)
        self.triples = self.triples.to(device)
        return self


@register_dataset(
    "stacked-digits",
    kind="image",
    help="three digits as RGB channels: 1,000 modes (stacked MNIST's recipe)",
)
def stacked_digits(cfg: DataConfig, arg: str | None) -> StackedDigits:
    base, labels = digit_images(cfg.split, cfg.resolution)
    size = cfg.size or (50_000 if cfg.split != "test" else 10_000)
    gen = torch.Generator().manual_seed(cfg.seed * 2 + (1 if cfg.split == "test" else 0))
    triples = torch.randint(0, len(base), (size, 3), generator=gen)
    shape = (3, *base.shape[2:])
    info = DataInfo("stacked-digits", "image", shape, 1000)
    return StackedDigits(base, labels, triples, info)


@register_dataset(
    "digits-negative",
    kind="unpaired",
    help="unpaired: digits (A) and negative digits (B) from disjoint halves, CoGAN's pair",
)
def digits_negative(cfg: DataConfig, arg: str | None) -> UnpairedDataset:
    """CoGAN's digits ↔ negative digits task: the split's digits are halved (alternately, after
    sorting by class so both halves hold every class), domain A keeps the first half as drawn
    and domain B holds the second half with ink and paper swapped. No image appears in both
    domains, so a model can only learn the correspondence from the shared layers."""
    x, y = digit_images(cfg.split, cfg.resolution)
    order = torch.argsort(y, stable=True)
    first, second = order[0::2], order[1::2]
    shape = tuple(x.shape[1:])
    info = DataInfo(
        "digits-negative",
        "unpaired",
        shape,
        10,
        DIGIT_CLASSES,
        shape_b=shape,
        domains=("digits", "negative"),
    )
    return UnpairedDataset(x[first], -x[second], info, ya=y[first], yb=y[second], seed=cfg.seed)
