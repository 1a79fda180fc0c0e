"""CIFAR-10 and CIFAR-100 from their binary distributions (never the Python pickle one).

The binary files are fixed-size records with no header: CIFAR-10's a label byte and 3,072 pixel
bytes, CIFAR-100's two label bytes (coarse, fine) and the pixels; the pixels are the red plane,
then green, then blue, each 32×32 in row-major order, i.e. one [3, 32, 32] uint8 array. With no
header to check, each file's length must be a whole number of records and the official count
(`RECORDS`), so a truncated download is an error naming the file rather than a smaller set.
Where the files are looked for, and the refusal of the pickle version, are standard.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import ArrayDataset, DataConfig, DataInfo, register_dataset
from gankit.data.standard import file_in, locate, prepare_images
from gankit.errors import GankitError

NATIVE = 32
PIXELS = 3 * NATIVE * NATIVE  # 3,072 bytes a record
# records in each file of the official distributions
RECORDS: dict[str, int] = {
    **{f"data_batch_{i}.bin": 10_000 for i in range(1, 6)},
    "test_batch.bin": 10_000,
    "train.bin": 50_000,
    "test.bin": 10_000,
}


class BadCifarFile(GankitError):
    """A CIFAR binary file of the wrong length or holding impossible labels."""


@dataclass(frozen=True)
class CifarFormat:
    """One of the two binary distributions.

    Attributes:
        name, title: the dataset's name and its name in messages.
        label_bytes: label bytes before each record's pixels; the label used is the last one
            (CIFAR-100's fine label, after the coarse one).
        classes: the number of classes the label used takes.
        names_file: the class names, one a line, in label order.
        train, test: the files of each split.
    """

    name: str
    title: str
    label_bytes: int
    classes: int
    names_file: str
    train: tuple[str, ...]
    test: tuple[str, ...]


CIFAR10 = CifarFormat(
    "cifar10",
    "CIFAR-10",
    1,
    10,
    "batches.meta.txt",
    tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    ("test_batch.bin",),
)
CIFAR100 = CifarFormat(
    "cifar100", "CIFAR-100", 2, 100, "fine_label_names.txt", ("train.bin",), ("test.bin",)
)


def class_names(path: Path, fmt: CifarFormat) -> tuple[str, ...]:
    """The names in `path`, one a line (blank lines, such as batches.meta.txt's last, skipped)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise BadCifarFile(f"cannot read {path}: {err.strerror or err}") from None
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != fmt.classes:
        raise BadCifarFile(
            f"{path} names {len(names)} classes; {fmt.title} has {fmt.classes}, one a line"
        )
    return names


def read_records(path: Path, fmt: CifarFormat, out: np.ndarray, labels: np.ndarray) -> None:
    """Read the binary file `path` into `out` [n, 3, 32, 32] uint8 and `labels` [n] int64, n
    being the file's official record count.

    Raises:
        BadCifarFile: the file's length is not n whole records, or a label is out of range.
    """
    record = fmt.label_bytes + PIXELS
    expected = RECORDS[path.name]
    size = path.stat().st_size
    if size != expected * record:
        whole = "" if size % record == 0 else f", not a whole number of {record:,}-byte records"
        raise BadCifarFile(
            f"{path} holds {size:,} bytes{whole}; a {fmt.title} {path.name} holds {expected:,} "
            f"records of {record:,} bytes = {expected * record:,} bytes (a truncated download?)"
        )
    data = np.fromfile(path, np.uint8).reshape(expected, record)
    label = data[:, fmt.label_bytes - 1]
    if int(label.max()) >= fmt.classes:
        raise BadCifarFile(
            f"{path} holds label {int(label.max())}; {fmt.title}'s are 0 to {fmt.classes - 1} "
            "(is it a file of the other CIFAR?)"
        )
    labels[:] = label
    out[:] = data[:, fmt.label_bytes :].reshape(expected, 3, NATIVE, NATIVE)


def cifar_split(root: Path, fmt: CifarFormat, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The images [N, 3, 32, 32] uint8 and labels [N] int64 of `split`, read into one array."""
    names = {"train": fmt.train, "test": fmt.test, "all": fmt.train + fmt.test}[split]
    paths = [file_in(root, name) for name in names]
    n = sum(RECORDS[p.name] for p in paths)
    x = np.empty((n, 3, NATIVE, NATIVE), np.uint8)
    y = np.empty(n, np.int64)
    start = 0
    for path in paths:
        stop = start + RECORDS[path.name]
        read_records(path, fmt, x[start:stop], y[start:stop])
        start = stop
    return torch.from_numpy(x), torch.from_numpy(y)


def _build(fmt: CifarFormat, cfg: DataConfig, arg: str | None) -> ArrayDataset:
    root = locate(fmt.name, arg)
    names = class_names(file_in(root, fmt.names_file), fmt)
    x, y = cifar_split(root, fmt, cfg.split)
    x = prepare_images(x, channels=cfg.channels, resolution=cfg.resolution or NATIVE)
    info = DataInfo(fmt.name, "image", tuple(x.shape[1:]), fmt.classes, names)
    return ArrayDataset(x, y, info)


@register_dataset(
    "cifar10",
    kind="image",
    arg="PATH",
    optional=True,
    help="CIFAR-10: 50,000 + 10,000 32×32 colour images, 10 classes (binary version)",
)
def cifar10(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    return _build(CIFAR10, cfg, arg)


@register_dataset(
    "cifar100",
    kind="image",
    arg="PATH",
    optional=True,
    help="CIFAR-100: 50,000 + 10,000 32×32 colour images, 100 fine classes (binary version)",
)
def cifar100(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    return _build(CIFAR100, cfg, arg)
