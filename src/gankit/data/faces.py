"""`faces`: the 100 face images of the LFW subset that scikit-image ships (Huang et al. 2007,
"Labeled Faces in the Wild"), 25×25 grayscale crops, nothing downloaded."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from gankit.data.base import ArrayDataset, DataConfig, DataInfo, register_dataset, resize_images

FACES = 100  # skimage's lfw_subset holds 100 faces, then 100 non-face patches
HELD_OUT = 10  # the last faces, never trained on


@functools.lru_cache(maxsize=1)
def _faces() -> np.ndarray:
    """The 100 faces as float32 [100, 25, 25] in [0, 1]."""
    from skimage.data import lfw_subset

    return lfw_subset()[:FACES].astype(np.float32)


def face_images(split: str, resolution: int | None) -> Tensor:
    """Faces of `split` as [N, 1, R, R] in [-1, 1]; every face also mirrored left-right (the
    mirror augmentation of ProGAN and StyleGAN), so 180 train, 20 test, 200 all."""
    faces = torch.from_numpy(_faces())[:, None]  # [100, 1, 25, 25]
    chosen = {"train": faces[:-HELD_OUT], "test": faces[-HELD_OUT:], "all": faces}[split]
    x = torch.cat([chosen, chosen.flip(-1)])
    return resize_images(x, resolution or 32).clamp_(0, 1) * 2 - 1


@register_dataset(
    "faces", kind="image", help="the 100 LFW faces scikit-image ships (25×25 gray, + mirrors)"
)
def faces(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    x = face_images(cfg.split, cfg.resolution)
    return ArrayDataset(x, None, DataInfo("faces", "image", tuple(x.shape[1:])))
