"""The standard datasets by name: where their files are looked for, and what a copy must hold.

`mnist`, `fashion-mnist` (mnist.py), `cifar10`, `cifar100` (cifar.py), `celeba` (celeba.py) and
`stacked-mnist` (mnist.py) are read from their canonical distributions, never converted and never
unpickled. Each is looked for (`gankit.data.locations.dataset_dirs`) at the PATH of its spec
(`mnist:PATH`) alone, else at `$GANKIT_DATA/NAME`, then at `~/.cache/gankit/datasets/NAME`; the
first folder holding a complete copy (`LAYOUTS`) is used. When none does, one `DatasetMissing`
error lists the files expected, every folder looked in with why it did not qualify, and the
command that fetches them. `stacked-mnist` reads MNIST's files, from MNIST's places.

This module also holds what the builders share: `locate`, and `prepare_images`, which turns a
uint8 image array to the channels and resolution asked for a few thousand images at a time, so
that a whole set never needs to exist as floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from gankit.data.base import resize_images
from gankit.data.locations import dataset_dirs
from gankit.errors import GankitError

CIFAR_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CHUNK = 5_000  # images converted at a time by `prepare_images`


@dataclass(frozen=True)
class Layout:
    """What a complete copy of a standard dataset holds, and how to get one.

    Attributes:
        title: the dataset's name in messages ("CIFAR-10").
        files: the paths required, relative to the folder holding them; a trailing `/` marks a
            folder.
        subdirs: where that folder may be, relative to the dataset's folder, in the order
            tried; "" is the dataset's folder itself.
        gzip: each file may also be gzipped, as `NAME.gz`.
        fetch: the name `gankit data fetch` knows the files by.
        pickle_marks: paths (relative to the dataset's folder) that betray the Python pickle
            distribution, which gankit refuses.
        archives: the downloads that, found unextracted, deserve a hint.
        by_hand: where to get the files without `gankit data fetch`, for the pickle message.
    """

    title: str
    files: tuple[str, ...]
    fetch: str
    subdirs: tuple[str, ...] = ("",)
    gzip: bool = False
    pickle_marks: tuple[str, ...] = ()
    archives: tuple[str, ...] = ()
    by_hand: str = ""


LAYOUTS: dict[str, Layout] = {
    "mnist": Layout("MNIST", IDX_FILES, "mnist", gzip=True),
    "fashion-mnist": Layout("Fashion-MNIST", IDX_FILES, "fashion-mnist", gzip=True),
    "cifar10": Layout(
        "CIFAR-10",
        (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin", "batches.meta.txt"),
        "cifar10",
        subdirs=("cifar-10-batches-bin", ""),
        pickle_marks=("cifar-10-batches-py/", "data_batch_1", "cifar-10-python.tar.gz"),
        archives=("cifar-10-binary.tar.gz",),
        by_hand=f"cifar-10-binary.tar.gz from {CIFAR_PAGE}",
    ),
    "cifar100": Layout(
        "CIFAR-100",
        ("train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"),
        "cifar100",
        subdirs=("cifar-100-binary", ""),
        pickle_marks=("cifar-100-python/", "train", "cifar-100-python.tar.gz"),
        archives=("cifar-100-binary.tar.gz",),
        by_hand=f"cifar-100-binary.tar.gz from {CIFAR_PAGE}",
    ),
    "celeba": Layout(
        "CelebA",
        ("img_align_celeba/", "list_eval_partition.txt", "list_attr_celeba.txt"),
        "celeba",
        archives=("img_align_celeba.zip",),
    ),
}
LAYOUTS["stacked-mnist"] = LAYOUTS["mnist"]
STANDARD_SETS: tuple[str, ...] = (
    "mnist",
    "fashion-mnist",
    "cifar10",
    "cifar100",
    "celeba",
    "stacked-mnist",
)


class DatasetMissing(GankitError):
    """No folder looked in holds a complete copy of a standard dataset."""


def _layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise GankitError(f"{name!r} is not a standard dataset ({', '.join(STANDARD_SETS)})")
    return LAYOUTS[name]


def _dirs(name: str, arg: str | None) -> list[Path]:
    """The folders searched: `stacked-mnist` searches MNIST's."""
    return dataset_dirs(_layout(name).fetch, arg)


def expected_files(name: str) -> list[str]:
    """The relative paths of a complete copy of dataset `name` as `gankit data fetch` leaves it
    (`celeba`'s `img_align_celeba/`, with its trailing slash, is a folder). MNIST's IDX files are
    listed gzipped; un-gzipped ones are accepted as well, and CIFAR's files directly in the
    dataset's folder too: `find_standard` is the test of a usable copy."""
    layout = _layout(name)
    sub = f"{layout.subdirs[0]}/" if layout.subdirs[0] else ""
    gz = ".gz" if layout.gzip else ""
    return [f"{sub}{f}" if f.endswith("/") else f"{sub}{f}{gz}" for f in layout.files]


def _file_in(root: Path, name: str, gzip: bool) -> Path | None:
    """`root/name` (or `root/name.gz` when `gzip`), or None when absent. The plain file wins:
    it is read without decompressing."""
    if name.endswith("/"):
        return root / name.rstrip("/") if (root / name).is_dir() else None
    for candidate in (name, f"{name}.gz") if gzip else (name,):
        if (root / candidate).is_file():
            return root / candidate
    return None


def file_in(root: Path, name: str, gzip: bool = False) -> Path:
    """The file `name` of a copy found by `find_standard` (gzipped or not when `gzip`)."""
    found = _file_in(root, name, gzip)
    if found is None:  # the copy changed since it was found
        raise GankitError(f"{root / name} has disappeared")
    return found


def _show(name: str, gzip: bool) -> str:
    return f"{name}[.gz]" if gzip and not name.endswith("/") else name


def _is_mark(path: Path, mark: str) -> bool:
    return (path / mark).is_dir() if mark.endswith("/") else (path / mark).is_file()


def _inspect(layout: Layout, folder: Path) -> tuple[Path | None, str]:
    """(the folder holding a complete copy, "") or (None, why `folder` does not qualify)."""
    if not folder.exists():
        return None, "does not exist"
    if not folder.is_dir():
        return None, "is a file, not a folder"
    best: tuple[str, list[str], list[str]] | None = None  # (subdir, present, missing)
    for sub in layout.subdirs:
        root = folder / sub if sub else folder
        if not root.is_dir():
            continue
        found = {f: _file_in(root, f, layout.gzip) for f in layout.files}
        if all(found.values()):
            return root, ""
        present = [p.name + ("/" if p.is_dir() else "") for p in found.values() if p]
        if best is None or len(present) > len(best[1]):
            missing = [_show(f, layout.gzip) for f, p in found.items() if p is None]
            best = (sub, present, missing)
    marks = [m for m in layout.pickle_marks if _is_mark(folder, m)]
    archives = [a for a in layout.archives if (folder / a).is_file()]
    if best and best[1]:
        sub, present, missing = best
        where = f"{sub}/ " if sub else ""
        return None, f"{where}has {', '.join(present)} but not {', '.join(missing)}"
    if marks:
        return None, f"holds the Python pickle version ({marks[0]}), which gankit never unpickles"
    if archives:
        return None, f"holds {archives[0]}, not extracted (extract it there)"
    return None, "holds none of the files"


def find_standard(name: str, arg: str | None = None) -> Path | None:
    """The first folder looked in (see the module's docstring) that holds a complete copy of
    standard dataset `name`, else None. The folder returned is the one holding the files:
    `.../cifar10/cifar-10-batches-bin` when they sit in CIFAR's own subfolder.

    Raises:
        GankitError: only when `name` is not a standard dataset; never for absence.
    """
    layout = _layout(name)
    for folder in _dirs(name, arg):
        root, _ = _inspect(layout, folder)
        if root is not None:
            return root
    return None


def standard_status(name: str) -> str:
    """`present: FOLDER` or `not present (gankit data fetch NAME)`, for `gankit list`."""
    root = find_standard(name)
    return f"present: {root}" if root else f"not present (gankit data fetch {_layout(name).fetch})"


def locate(name: str, arg: str | None) -> Path:
    """The folder holding a complete copy of standard dataset `name` (see `find_standard`).

    Raises:
        DatasetMissing: none found; the message lists the files expected, every folder looked
            in and why it did not qualify, and the command that fetches the files (refusing
            the pickle distribution of CIFAR when that is what was found).
    """
    layout = _layout(name)
    reasons = []
    for folder in _dirs(name, arg):
        root, why = _inspect(layout, folder)
        if root is not None:
            return root
        reasons.append((folder, why))
    raise DatasetMissing(_missing_message(name, arg, layout, reasons))


def _missing_message(
    name: str, arg: str | None, layout: Layout, reasons: list[tuple[Path, str]]
) -> str:
    fetch = f"gankit data fetch {layout.fetch}" + (f" --to {arg}" if arg else "")
    pickled = [folder for folder, why in reasons if "pickle" in why]
    if pickled:
        head = (
            f"{layout.title} at {pickled[0]} is the Python pickle version, which gankit never "
            "unpickles (loading a pickle can run any code in it). Get the binary version: "
            f"{layout.by_hand}, extracted there, or run `{fetch}`."
        )
    else:
        uses = f" ({name} reads MNIST's files)" if layout.fetch != name else ""
        head = f"{layout.title} not found{uses}. Fetch it with `{fetch}`"
        head += "." if arg else f", or give its folder: {name}:PATH."
    files = ", ".join(_show(f, layout.gzip) for f in layout.files)
    subs = [s for s in layout.subdirs if s]
    where = f" (in {subs[0]}/ or directly in the folder)" if subs else " in one folder"
    lines = [head, f"It needs these files{where}: {files}", "Looked in:"]
    lines += [f"  {folder}: {why}" for folder, why in reasons]
    return "\n".join(lines)


# --- shared by the builders --------------------------------------------------------------------


def grey(x: Tensor) -> Tensor:
    """RGB uint8 images [N, 3, H, W] as grey [N, 1, H, W]: ITU-R 601 luminance, rounded as PIL's
    convert("L") does, so a colour set read grey matches a folder of the same images."""
    weights = torch.tensor([19595, 38470, 7471], dtype=torch.int32).view(1, 3, 1, 1)
    luma = (x.to(torch.int32) * weights).sum(1, keepdim=True).add_(0x8000) >> 16
    return luma.to(torch.uint8)


def prepare_images(x: Tensor, *, channels: int, resolution: int) -> Tensor:
    """uint8 images [N, C, h, w] as uint8 [N, channels, R, R]: colour made grey when `channels`
    is 1 (see `grey`; grey stays grey), resized (bilinear, antialiased) when `resolution`
    differs, `CHUNK` images at a time so that only a chunk exists as floats."""
    n, c, h, w = x.shape
    out_c = 1 if channels == 1 or c == 1 else c
    if out_c == c and h == resolution and w == resolution:
        return x
    from gankit.training.memory import require_memory

    what = f"{n:,} images at {resolution}×{resolution}"
    require_memory(n * out_c * resolution * resolution, what)
    out = torch.empty((n, out_c, resolution, resolution), dtype=torch.uint8)
    for start in range(0, n, CHUNK):
        part = x[start : start + CHUNK]
        if out_c != c:
            part = grey(part)
        if h != resolution or w != resolution:
            part = resize_images(part.float(), resolution).round_().clamp_(0, 255).to(torch.uint8)
        out[start : start + CHUNK] = part
    return out
