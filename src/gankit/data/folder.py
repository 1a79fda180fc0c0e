"""User image folders: every image below a directory, resized and centre-cropped."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit.data.base import ArrayDataset, DataConfig, DataInfo, register_dataset
from gankit.errors import GankitError

log = logging.getLogger("gankit")

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
DEFAULT_RESOLUTION = 64


def find_images(root: Path) -> list[Path]:
    """Image files below `root` (by suffix, recursively, sorted so the order is reproducible)."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def fit_image(img: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """An opened image as uint8 [C, R, R]: shorter side resized to R, then centre-cropped."""
    img = img.convert("RGB" if channels == 3 else "L")
    w, h = img.size
    scale = resolution / min(w, h)
    size = (max(resolution, round(w * scale)), max(resolution, round(h * scale)))
    img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    img = img.crop((left, top, left + resolution, top + resolution))
    array = np.asarray(img, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_image(path: Path, resolution: int, channels: int) -> np.ndarray:
    """Read one image file as uint8 [C, R, R] (see `fit_image`).

    Raises:
        OSError, ValueError, SyntaxError, Image.DecompressionBombError: unreadable file.
    """
    with Image.open(path) as file:
        return fit_image(file, resolution, channels)


UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def read_image(path: str | Path, channels: int) -> torch.Tensor:
    """One image file at its own size as [1, C, H, W] floats in [-1, 1] (C = 1 grey or 3 RGB).

    Raises:
        GankitError: the file is missing or not a readable image (naming it).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise GankitError(f"no such image file: {path}")
    try:
        with Image.open(path) as file:
            array = np.asarray(file.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
    except UNREADABLE as err:
        raise GankitError(f"cannot read image {path}: {err}") from None
    x = torch.from_numpy(array.copy()).float().div_(127.5).sub_(1.0)
    return (x[None] if x.dim() == 2 else x.permute(2, 0, 1))[None]


def warn_unreadable(bad: list[Path], root: Path, what: str = "image file(s)") -> None:
    """One warning for all the files under `root` that could not be read (none: no warning)."""
    if bad:
        log.warning("skipped %d unreadable %s under %s (first: %s)", len(bad), what, root, bad[0])


def _class_of(path: Path, root: Path) -> str | None:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else None


@register_dataset(
    "folder", arg="PATH", help="your own images, found recursively; class subfolders give labels"
)
def folder(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    assert arg is not None
    root = Path(arg).expanduser()
    if not root.is_dir():
        raise GankitError(f"no such image folder: {root}")
    resolution = cfg.resolution or DEFAULT_RESOLUTION
    files = find_images(root)
    if not files:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise GankitError(f"no images ({suffixes}) found under {root}")
    images, kept, bad = [], [], []
    for path in files:
        try:
            images.append(load_image(path, resolution, cfg.channels))
            kept.append(path)
        except UNREADABLE:
            bad.append(path)
    warn_unreadable(bad, root)
    if not images:
        raise GankitError(f"none of the {len(files)} image files under {root} could be read")
    x = torch.from_numpy(np.stack(images))  # [N, C, R, R] uint8
    # ImageFolder's convention: when every image sits in a first-level subfolder, and there are
    # at least two, the subfolder names are class labels.
    classes = [c for c in (_class_of(p, root) for p in kept) if c is not None]
    names = sorted(set(classes))
    labelled = len(classes) == len(kept) and len(names) >= 2
    y = torch.tensor([names.index(c) for c in classes]) if labelled else None
    info = DataInfo(
        f"folder:{root.name}",
        "image",
        tuple(x.shape[1:]),
        num_classes=len(names) if labelled else 0,
        class_names=tuple(names) if labelled else (),
    )
    return ArrayDataset(x, y, info)
