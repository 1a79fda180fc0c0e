"""User image folders: every image below a directory, resized and centre-cropped.

Files are read by `gankit.data.images` (any PIL mode to 8 bits, transparency over white, a size
limit checked before decoding); one that cannot be read is skipped, with one warning for all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit.data.base import ArrayDataset, DataConfig, DataInfo, choose_split, register_dataset
from gankit.data.images import ImageTooLarge, UnreadableImage, read_8bit, to_8bit
from gankit.errors import GankitError

log = logging.getLogger("gankit")

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
DEFAULT_RESOLUTION = 64


def find_images(root: Path) -> list[Path]:
    """Image files below `root` (by suffix, recursively, sorted so the order is reproducible)."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def require_folder(path: Path, what: str, spec: str | None = None) -> None:
    """Raise a GankitError naming `path` unless it is a folder.

    Args:
        what: what the folder holds, for "no such {what}: PATH".
        spec: the data kind (`folder`, `paired`, ...) whose PATH this is: a PATH naming an image
            file is usually one image of the folder meant, so that folder is suggested.
    """
    if path.is_dir():
        return
    if not path.exists():
        raise GankitError(f"no such {what}: {path}")
    hint = ""
    if spec is not None and path.suffix.lower() in IMAGE_SUFFIXES:
        hint = f"; for the images in its folder, use {spec}:{path.parent}"
    raise GankitError(f"{path} is a file, not a folder{hint}")


def fit_image(img: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """An opened image of any mode (see `to_8bit`) as uint8 [C, R, R]: shorter side resized to
    R, then centre-cropped."""
    img = to_8bit(img, channels)
    w, h = img.size
    scale = resolution / min(w, h)
    size = (max(resolution, round(w * scale)), max(resolution, round(h * scale)))
    img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    img = img.crop((left, top, left + resolution, top + resolution))
    array = np.asarray(img, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_image(path: Path, resolution: int, channels: int) -> np.ndarray:
    """Read one image file as uint8 [C, R, R] (see `read_8bit` and `fit_image`).

    Raises:
        UnreadableImage: the file cannot be read, or is too large (naming it and why).
    """
    return fit_image(read_8bit(path, channels, shrink_to=resolution), resolution, channels)


def read_image(path: str | Path, channels: int) -> torch.Tensor:
    """One image file at its own size as [1, C, H, W] floats in [-1, 1] (C = 1 grey or 3 RGB).

    Raises:
        GankitError: the file is missing, a folder, too large, or not a readable image (naming
            it).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise GankitError(f"{path} is a folder, not an image file")
    if not path.is_file():
        raise GankitError(f"no such image file: {path}")
    array = np.asarray(read_8bit(path, channels), dtype=np.uint8)  # [H, W] or [H, W, 3]
    x = torch.from_numpy(array.copy()).float().div_(127.5).sub_(1.0)
    return (x[None] if x.dim() == 2 else x.permute(2, 0, 1))[None]


def warn_unreadable(
    bad: Sequence[UnreadableImage], root: Path, what: str = "image file(s)"
) -> None:
    """One warning for all the files under `root` that could not be read (none: no warning),
    counting the too large apart from the damaged, each with its first file and the reason."""
    if not bad:
        return
    large = [err for err in bad if isinstance(err, ImageTooLarge)]
    damaged = [err for err in bad if not isinstance(err, ImageTooLarge)]
    parts = [
        f"{len(errs)} {kind} (first: {errs[0].path}: {errs[0].reason})"
        for kind, errs in (("not readable", damaged), ("too large", large))
        if errs
    ]
    log.warning("skipped %d unreadable %s under %s: %s", len(bad), what, root, "; ".join(parts))


def _class_of(path: Path, root: Path) -> str | None:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else None


@register_dataset(
    "folder",
    kind="image",
    arg="PATH",
    help="your own images, found recursively; class subfolders give labels",
)
def folder(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    assert arg is not None
    root = Path(arg).expanduser()
    require_folder(root, "image folder", "folder")
    resolution = cfg.resolution or DEFAULT_RESOLUTION
    every = find_images(root)
    if not every:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise GankitError(f"no images ({suffixes}) found under {root}")
    # classes from every file, so that a class has one index in every split
    names = sorted({c for c in (_class_of(p, root) for p in every) if c is not None})
    keys = [p.relative_to(root).as_posix() for p in every]
    files = [every[i] for i in choose_split(keys, cfg, f"folder:{root}")]
    images, kept, bad = [], [], []
    for path in files:
        try:
            images.append(load_image(path, resolution, cfg.channels))
            kept.append(path)
        except UnreadableImage as err:
            bad.append(err)
    warn_unreadable(bad, root)
    if not images:
        raise GankitError(f"none of the {len(files)} image files under {root} could be read")
    x = torch.from_numpy(np.stack(images))  # [N, C, R, R] uint8
    # ImageFolder's convention: when every image sits in a first-level subfolder, and there are
    # at least two, the subfolder names are class labels.
    classes = [c for c in (_class_of(p, root) for p in kept) if c is not None]
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
