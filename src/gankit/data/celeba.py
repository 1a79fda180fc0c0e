"""CelebA's aligned faces (Liu et al., 2015), read lazily, optionally labelled by an attribute.

A copy is the folder `img_align_celeba/` (000001.jpg ... 202599.jpg, 178×218 each) and two text
files beside it: `list_eval_partition.txt` ("000001.jpg 0" lines: 0 train, 1 validation, 2
test) and `list_attr_celeba.txt` (the image count, then the 40 attribute names, then a line
"000001.jpg -1 1 ..." per image). Split `train` is partition 0, `test` partition 2, `all`
everything (validation included).

Building reads the two text files and the folder's listing, never an image: decoding 202,599
JPEGs would take minutes and gigabytes. Each batch decodes its images (`CelebA.batch`) with the
reader of user images (gankit.data.images) and applies the usual preprocessing: the central
178×178 square (rows 20..198 of a 178×218 image), resized to `data.resolution` (default 64).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from gankit.data.base import Batch, DataConfig, DataInfo, GANDataset, register_dataset
from gankit.data.images import read_8bit
from gankit.data.standard import file_in, locate
from gankit.errors import GankitError

DEFAULT_RESOLUTION = 64
IMAGES = "img_align_celeba"
PARTITION = "list_eval_partition.txt"
ATTRIBUTES = "list_attr_celeba.txt"
SPLIT_PARTS = {"train": {0}, "test": {2}, "all": {0, 1, 2}}


class CelebA(GANDataset):
    """CelebA images decoded a batch at a time.

    Args:
        folder: the images' folder.
        files: the file names of the split, in order.
        labels: [N] int64 class of each image, or None (unlabelled).
        resolution, channels: each image becomes [channels, resolution, resolution].
        info: what the model is told.
    """

    def __init__(
        self,
        folder: Path,
        files: list[str],
        labels: Tensor | None,
        *,
        resolution: int,
        channels: int,
        info: DataInfo,
    ) -> None:
        self.folder, self.files, self.labels, self.info = folder, files, labels, info
        self.resolution, self.channels = resolution, channels

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> np.ndarray:
        """Image `index` as uint8 [C, R, R]: its central square, resized."""
        img = read_8bit(self.folder / self.files[index], self.channels, shrink_to=self.resolution)
        w, h = img.size  # 178×218, or a fraction of that when the JPEG decoded at reduced size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
        img = img.resize((self.resolution, self.resolution), Image.Resampling.BICUBIC)
        array = np.asarray(img, dtype=np.uint8)
        return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)

    def batch(self, indices: Tensor) -> Batch:
        # one image after another: read_8bit's warnings.catch_warnings is not thread-safe
        images = [self.load(i) for i in indices.tolist()]
        x = torch.from_numpy(np.stack(images)).float().div_(127.5).sub_(1.0)  # [B, C, R, R]
        out = {"x": x}
        if self.labels is not None:
            out["y"] = self.labels[indices.cpu()]
        return out


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        raise GankitError(f"cannot read {path}: {err.strerror or err}") from None


def read_partition(path: Path) -> list[tuple[str, int]]:
    """(file name, partition) of each line of list_eval_partition.txt."""
    out = []
    for number, line in enumerate(_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise GankitError(
                f"{path}, line {number}: expected 'FILE.jpg P' with P 0 (train), 1 (validation) "
                f"or 2 (test), got {line.strip()!r}"
            )
        out.append((parts[0], int(parts[1])))
    if not out:
        raise GankitError(f"{path} lists no images")
    return out


def attribute_names(lines: list[str], path: Path) -> list[str]:
    """The attribute names of list_attr_celeba.txt (its second line), checked."""
    if len(lines) < 2 or not lines[0].strip().isdigit() or not lines[1].split():
        raise GankitError(
            f"{path} does not start as CelebA's attribute list does: a line with the image "
            "count, then one with the attribute names"
        )
    return lines[1].split()


def choose_attribute(names: list[str], attribute: str, path: Path) -> int:
    """The column of `attribute` among `names` (exact, else case-insensitive)."""
    if attribute in names:
        return names.index(attribute)
    lower = [n.lower() for n in names]
    if attribute.lower() in lower:
        return lower.index(attribute.lower())
    close = difflib.get_close_matches(attribute, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise GankitError(
        f"unknown CelebA attribute {attribute!r}{hint} (the {len(names)} of {path.name}: "
        f"{', '.join(names)})"
    )


def attribute_labels(lines: list[str], column: int, files: list[str], path: Path) -> Tensor:
    """[N] int64: 1 where image `files[i]` has the attribute (1 in its column), 0 where not
    (-1)."""
    width = len(lines[1].split()) + 1
    value: dict[str, int] = {}
    for number, line in enumerate(lines[2:], 3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != width or parts[column + 1] not in ("1", "-1"):
            raise GankitError(
                f"{path}, line {number}: expected a file name and {width - 1} values of 1 or -1, "
                f"got {line.strip()[:80]!r}"
            )
        value[parts[0]] = parts[column + 1] == "1"
    missing = [f for f in files if f not in value]
    if missing:
        raise GankitError(
            f"{path} has no attributes for {len(missing):,} of the images (first: {missing[0]})"
        )
    return torch.tensor([value[f] for f in files], dtype=torch.int64)


def _check_images(folder: Path, files: list[str], partition: Path) -> None:
    """Every file listed is in `folder`: one listing, not a look-up per image."""
    present = set(os.listdir(folder))
    missing = [f for f in files if f not in present]
    if missing:
        raise GankitError(
            f"{len(missing):,} of the {len(files):,} images that {partition} lists are not in "
            f"{folder} (first: {folder / missing[0]}); extract img_align_celeba.zip there again "
            "or run `gankit data fetch celeba`"
        )


@register_dataset(
    "celeba",
    kind="image",
    arg="PATH",
    optional=True,
    uses_attribute=True,
    help="CelebA: 162,770 train + 19,962 test (202,599 in all) aligned faces, centre 178² "
    "crop resized; data.attribute=Smiling labels by any of its 40 attributes",
)
def celeba(cfg: DataConfig, arg: str | None) -> CelebA:
    root = locate("celeba", arg)
    attr_path = file_in(root, ATTRIBUTES)
    attr_lines = _lines(attr_path)
    names = attribute_names(attr_lines, attr_path)
    column = None if cfg.attribute is None else choose_attribute(names, cfg.attribute, attr_path)
    partition = file_in(root, PARTITION)
    files = [f for f, part in read_partition(partition) if part in SPLIT_PARTS[cfg.split]]
    if not files:
        raise GankitError(f"{partition} puts no image in the {cfg.split} split")
    folder = file_in(root, f"{IMAGES}/")
    _check_images(folder, files, partition)
    resolution = cfg.resolution or DEFAULT_RESOLUTION
    shape = (cfg.channels, resolution, resolution)
    if column is None:
        labels, info = None, DataInfo("celeba", "image", shape)
    else:
        labels = attribute_labels(attr_lines, column, files, attr_path)
        attribute = names[column]
        info = DataInfo("celeba", "image", shape, 2, (f"not {attribute}", attribute))
    return CelebA(folder, files, labels, resolution=resolution, channels=cfg.channels, info=info)
