"""Your own image-to-image data: aligned pairs (`paired:PATH`) and two domains (`unpaired:PATH`).

`paired:PATH` reads either layout of pix2pix:
    side by side: every image is A|B, twice as wide as it is high, split down the middle;
    two folders: `A/` and `B/` holding files of matching names (the suffix may differ, and
        subfolders are matched by their relative path).
Split folders choose the split when present: `PATH/train/` and `PATH/test/` (or `PATH/val/`),
each holding either layout, or `PATH/A/train/` beside `PATH/B/train/` (and `test/` or `val/`).
Without split folders every pair is a training pair, and the `test` split is an error rather than
a silent reuse of training images.

`unpaired:PATH` reads CycleGAN's layout: `trainA/` and `trainB/`, and `testA/` and `testB/` for
the held-out split; the domains need not have as many images as each other.

Images are found recursively (by suffix, in sorted order), read by `gankit.data.images` (any
mode, converted to `DataConfig.channels`, 3: RGB, 1: grey; transparency over white), and made
square at `DataConfig.resolution` (64 by default, small enough for a CPU): the shorter side
resized (bicubic), then the centre cropped, the same way for both images of a pair. A pair whose
images do not correspond (a file without its partner, a side-by-side image of the wrong width, two
halves of different shapes) is an error naming the file; a file that cannot be read, or is over
the size limit, is skipped, pair and all, with one warning that counts them and says why, as
`folder:` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gankit.data.base import DataConfig, DataInfo, NoHeldOutSplit, register_dataset
from gankit.data.folder import (
    DEFAULT_RESOLUTION,
    IMAGE_SUFFIXES,
    find_images,
    fit_image,
    load_image,
    require_folder,
    warn_unreadable,
)
from gankit.data.images import UnreadableImage, read_8bit
from gankit.data.pairs import PairedDataset, UnpairedDataset
from gankit.errors import GankitError

ASPECT_TOLERANCE = 0.02  # relative difference of width/height allowed between A and B


def _images_in(folder: Path) -> list[Path]:
    """The images below `folder`, which must exist and hold at least one."""
    require_folder(folder, "folder")
    files = find_images(folder)
    if not files:
        raise GankitError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {folder}")
    return files


# --- paired:PATH -------------------------------------------------------------------------------


def _split_dirs(base: Path, split: str) -> list[Path]:
    """The folders of `split` below `base`: its `train/` and `test/` (else `val/`) subfolders
    when it has any; else `base` itself, whose pairs are all training pairs."""
    named = {n: base / n for n in ("train", "test", "val") if (base / n).is_dir()}
    train, test = named.get("train"), named.get("test") or named.get("val")
    if split == "test" and test is None:
        raise NoHeldOutSplit(
            f"no held-out pairs: {base} has no test/ or val/ folder (split 'test' reads it)"
        )
    if not named:
        return [base]
    if split == "train" and train is None:
        raise GankitError(f"no training pairs: {base} has test/ or val/ but no train/ folder")
    chosen = {"train": [train], "test": [test], "all": [train, test]}[split]
    return [d for d in chosen if d is not None]


def _ab(folder: Path) -> tuple[Path, Path] | None:
    """`folder`'s A/ and B/ subfolders, or None when it has neither (side-by-side layout)."""
    a, b = folder / "A", folder / "B"
    if not a.is_dir() and not b.is_dir():
        return None
    for side in (a, b):
        if not side.is_dir():
            problem = f"{side} is a file, not a folder" if side.exists() else f"no folder {side}"
            raise GankitError(f"{problem}: pairs in two folders need both A/ and B/")
    return a, b


def _pair_folders(root: Path, split: str) -> list[tuple[Path, Path | None]]:
    """(A folder, B folder) of each source of `split`'s pairs; (folder, None) for folders of
    side-by-side images."""
    top = _ab(root)
    if top is not None:  # PATH/A/train beside PATH/B/train, or PATH/A beside PATH/B
        a_root, b_root = top
        return [(d, b_root / d.relative_to(a_root)) for d in _split_dirs(a_root, split)]
    return [_ab(d) or (d, None) for d in _split_dirs(root, split)]


def _pair_files(root: Path, split: str) -> list[tuple[Path, Path | None]]:
    """(A file, B file) of every pair of `split`; (file, None) for side-by-side images."""
    files: list[tuple[Path, Path | None]] = []
    for a_dir, b_dir in _pair_folders(root, split):
        if b_dir is None:
            files += [(path, None) for path in _images_in(a_dir)]
        else:
            files += _matched(a_dir, b_dir)
    return files


def _by_key(folder: Path) -> dict[str, Path]:
    """The images below `folder` by relative path without suffix, the key pairs match on."""
    out: dict[str, Path] = {}
    for path in _images_in(folder):
        key = path.relative_to(folder).with_suffix("").as_posix()
        if key in out:
            raise GankitError(f"{path} and {out[key]} have the same name: which one pairs?")
        out[key] = path
    return out


def _matched(a_dir: Path, b_dir: Path) -> list[tuple[Path, Path]]:
    a, b = _by_key(a_dir), _by_key(b_dir)
    for key in sorted(a.keys() ^ b.keys()):
        path, other = (a[key], b_dir) if key in a else (b[key], a_dir)
        raise GankitError(f"{path} has no partner of the same name in {other}")
    return [(a[key], b[key]) for key in sorted(a)]


def _read_side_by_side(path: Path, resolution: int, channels: int) -> tuple[np.ndarray, ...]:
    # decoded whole, not as a JPEG draft: a draft's rounded size would break the exact 2:1 check
    img = read_8bit(path, channels)
    w, h = img.size  # upright, as the EXIF orientation says
    if w != 2 * h:
        raise GankitError(
            f"{path} is {w}×{h}: a side-by-side pair A|B must be twice as wide as it is high"
        )
    halves = img.crop((0, 0, h, h)), img.crop((h, 0, w, h))
    return tuple(fit_image(half, resolution, channels) for half in halves)


def _read_two(a: Path, b: Path, resolution: int, channels: int) -> tuple[np.ndarray, ...]:
    # decoded whole, not as JPEG drafts, so the sizes in the error are the files' own
    images = [read_8bit(path, channels) for path in (a, b)]
    (wa, ha), (wb, hb) = images[0].size, images[1].size
    if abs(wa / ha - wb / hb) > ASPECT_TOLERANCE * (wa / ha):
        raise GankitError(f"{a} ({wa}×{ha}) and its partner {b} ({wb}×{hb}) differ in shape")
    return tuple(fit_image(img, resolution, channels) for img in images)


@register_dataset(
    "paired",
    kind="paired",
    arg="PATH",
    help="your aligned pairs: side-by-side A|B images, or A/ and B/ folders of matching names",
)
def paired(cfg: DataConfig, arg: str | None) -> PairedDataset:
    assert arg is not None
    root = Path(arg).expanduser()
    require_folder(root, "folder of pairs", "paired")
    resolution = cfg.resolution or DEFAULT_RESOLUTION
    pairs, bad = [], []
    for a, b in _pair_files(root, cfg.split):
        try:
            if b is None:
                pairs.append(_read_side_by_side(a, resolution, cfg.channels))
            else:
                pairs.append(_read_two(a, b, resolution, cfg.channels))
        except UnreadableImage as err:  # names the file of the pair that failed
            bad.append(err)
    warn_unreadable(bad, root, "pair(s)")
    if not pairs:
        raise GankitError(f"none of the pairs under {root} could be read")
    xa = torch.from_numpy(np.stack([p[0] for p in pairs]))  # [N, C, R, R] uint8
    xb = torch.from_numpy(np.stack([p[1] for p in pairs]))
    shape = tuple(xa.shape[1:])
    info = DataInfo(f"paired:{root.name}", "paired", shape, shape_b=shape, domains=("A", "B"))
    return PairedDataset(xa, xb, info)


# --- unpaired:PATH -----------------------------------------------------------------------------


def _domain_dirs(root: Path, split: str, domain: str) -> list[Path]:
    """CycleGAN's folders of one domain ("A" or "B") for `split`, checked to exist."""
    prefixes = {"train": ("train",), "test": ("test",), "all": ("train", "test")}[split]
    dirs = [root / f"{p}{domain}" for p in prefixes]
    if split == "all" and not dirs[1].is_dir():
        dirs = dirs[:1]  # no held-out images: all of them are the training ones
    for d in dirs:
        if d.is_file():
            raise GankitError(f"{d} is a file, not a folder of domain {domain}'s images")
        if not d.is_dir():
            raise GankitError(
                f"no folder {d}: unpaired:PATH reads trainA/ and trainB/ (and testA/ and testB/ "
                "for the test split)"
            )
    return dirs


def _read_domain(
    dirs: list[Path], resolution: int, channels: int
) -> tuple[list[np.ndarray], list[UnreadableImage]]:
    """uint8 [C, R, R] images of the files below `dirs`, and why the others could not be read."""
    images, bad = [], []
    for folder in dirs:
        for path in _images_in(folder):
            try:
                images.append(load_image(path, resolution, channels))
            except UnreadableImage as err:
                bad.append(err)
    return images, bad


@register_dataset(
    "unpaired",
    kind="unpaired",
    arg="PATH",
    help="your two domains: CycleGAN's trainA/, trainB/ (testA/, testB/)",
)
def unpaired(cfg: DataConfig, arg: str | None) -> UnpairedDataset:
    assert arg is not None
    root = Path(arg).expanduser()
    require_folder(root, "folder of domains", "unpaired")
    resolution = cfg.resolution or DEFAULT_RESOLUTION
    dirs = {d: _domain_dirs(root, cfg.split, d) for d in ("A", "B")}
    domains, unreadable = {}, []
    for d, folders in dirs.items():
        images, bad = _read_domain(folders, resolution, cfg.channels)
        unreadable += bad
        domains[d] = images
    warn_unreadable(unreadable, root, "image file(s)")
    for d, images in domains.items():
        if not images:
            names = ", ".join(str(f) for f in dirs[d])
            raise GankitError(f"none of the image files under {names} could be read")
    a = torch.from_numpy(np.stack(domains["A"]))  # [N_a, C, R, R] uint8
    b = torch.from_numpy(np.stack(domains["B"]))  # [N_b, C, R, R] uint8
    shape = tuple(a.shape[1:])
    info = DataInfo(f"unpaired:{root.name}", "unpaired", shape, shape_b=shape, domains=("A", "B"))
    return UnpairedDataset(a, b, info, seed=cfg.seed)
