"""Dataset specs, the data each model is told about (`DataInfo`), and in-memory datasets.

A dataset spec is a string: a built-in name (`digits`, `grid25`), `name:ARG` for user data
(`folder:~/faces`, `points:cloud.csv`), or a standard set's name with an optional folder
(`mnist`, `mnist:~/data/mnist`; see standard.py). Datasets of one domain yield batches
`{"x": [B, ...], "y": [B]}` where images are float in [-1, 1] with shape [B, C, H, W], points are
[B, D], and `y` (class labels) is present only for labelled sets. Two-domain sets (image-to-image)
yield `{"a": [B, C, H, W], "b": [B, C', H', W']}`: aligned pairs (`paired`: b is a's target, e.g.
its high-resolution original) or independent draws from each domain (`unpaired`); see pairs.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import NonNegInt, PosInt, Range, check_fields
from gankit.errors import GankitError
from gankit.registry import Registry

Batch = dict[str, Tensor]
DataKind = Literal["image", "points", "paired", "unpaired", "captioned"]
MAX_RESOLUTION = 4096  # the largest image side gankit builds a dataset or a model at


@dataclass
class DataConfig:
    """What to train on.

    Args:
        spec: dataset spec, e.g. `digits`, `ring8`, `folder:PATH`, `points:FILE.csv`, or a
            standard set by name with an optional folder: `mnist`, `cifar10:~/data/cifar`.
        resolution: image side length; None uses the model's preferred resolution, else the
            dataset's native one (28 for MNIST, 32 for CIFAR, 64 for CelebA).
        split: `train` (default for training), `test` (held out for evaluation) or `all`.
        size: number of samples of synthetic sets (`ring8`, `grid25`, `stacked-digits`,
            `stacked-mnist`).
        seed: seed of synthetic sets; separate from the training seed so that runs with different
            training seeds see the same data.
        channels: colour channels of folder images and of the colour standard sets (`cifar10`,
            `cifar100`, `celeba`): 3 (RGB) or 1 (grayscale, ITU-R 601 luminance). MNIST and
            Fashion-MNIST are always 1 channel, `stacked-mnist` always 3.
        holdout: your own data (`folder:`, `points:`): the share kept out of training for
            `gankit eval` to compare against. Each file (each row of a points file) is held out
            or not by a hash of its path (its row number), so the same ones stay out when a
            folder grows. 0 (the default) trains on everything, and `gankit eval` then
            compares with the training data itself, and says so.
        attribute: `celeba` only: one of its 40 attributes (`Smiling`, `Eyeglasses`, ...) to
            label the images by, with 2 classes ("not Smiling", "Smiling") for conditional
            models; None (the default) leaves CelebA unlabelled.
    """

    spec: str = "digits"
    resolution: Annotated[int, Range(1, MAX_RESOLUTION)] | None = None
    split: Literal["train", "test", "all"] = "train"
    size: PosInt | None = None
    seed: NonNegInt = 0
    channels: Literal[1, 3] = 3
    holdout: Annotated[float, Range(0, 1, high_open=True)] = 0.0
    attribute: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data to build its networks.

    Saved with every checkpoint, so a trained model can be rebuilt without the dataset.
    """

    name: str
    kind: DataKind
    shape: tuple[int, ...]  # one sample: (C, H, W) for images (domain A's), (D,) for points
    num_classes: int = 0  # 0: unlabelled
    class_names: tuple[str, ...] = field(default=())
    shape_b: tuple[int, ...] = ()  # two-domain sets: one sample of domain B (C, H, W)
    domains: tuple[str, ...] = ()  # two-domain sets: the names of A and B ("sans", "serif")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "shape_b": list(self.shape_b),
            "domains": list(self.domains),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        return cls(
            name=d["name"],
            kind=d["kind"],
            shape=tuple(d["shape"]),
            num_classes=int(d.get("num_classes", 0)),
            class_names=tuple(d.get("class_names", ())),
            shape_b=tuple(d.get("shape_b", ())),
            domains=tuple(d.get("domains", ())),
        )

    @property
    def two_domain(self) -> bool:
        return self.kind in ("paired", "unpaired")

    @property
    def resolution(self) -> int | None:
        """The image side the config's `data.resolution` means: domain B's for two-domain sets
        (the target side: a super-resolution set's high-resolution crops)."""
        if self.kind == "points":
            return None
        return self.shape_b[-1] if self.two_domain else self.shape[-1]


class GANDataset(torch.utils.data.Dataset):
    """A dataset that fetches whole batches at once (`batch(indices)`)."""

    info: DataInfo

    def __len__(self) -> int:
        raise NotImplementedError

    def batch(self, indices: Tensor) -> Batch:
        """The samples at `indices` ([B] int64), collated."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Batch:
        return {k: v[0] for k, v in self.batch(torch.tensor([index])).items()}

    def to(self, device: torch.device) -> GANDataset:
        """Move in-memory storage to `device` (a no-op for datasets that read lazily)."""
        return self


class ArrayDataset(GANDataset):
    """Samples held in one tensor; uint8 images are scaled to [-1, 1] per batch."""

    def __init__(self, x: Tensor, y: Tensor | None, info: DataInfo) -> None:
        if y is not None and len(y) != len(x):
            raise ValueError("x and y differ in length")
        self.x, self.y, self.info = x, y, info

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, indices: Tensor) -> Batch:
        indices = indices.to(self.x.device)
        x = self.x[indices]
        if x.dtype == torch.uint8:
            x = x.float().div_(127.5).sub_(1.0)
        out = {"x": x}
        if self.y is not None:
            out["y"] = self.y[indices]
        return out

    def to(self, device: torch.device) -> ArrayDataset:
        self.x = self.x.to(device)
        self.y = None if self.y is None else self.y.to(device)
        return self


DatasetBuilder = Callable[[DataConfig, str | None], GANDataset]
DATASETS: Registry[DatasetBuilder] = Registry("dataset")
# names whose spec carries an argument after the colon, e.g. folder:PATH
_ARGS: dict[str, str] = {}
_OPTIONAL_ARG: set[str] = set()  # of those, the ones that may go without (mnist, mnist:PATH)
_USES_ATTRIBUTE: set[str] = set()  # the datasets that `data.attribute` applies to
_KINDS: dict[str, DataKind] = {}


def register_dataset(
    name: str,
    *,
    kind: DataKind,
    help: str,
    arg: str | None = None,
    optional: bool = False,
    uses_attribute: bool = False,
) -> Callable[[DatasetBuilder], DatasetBuilder]:
    """Register a builder `f(cfg, arg) -> GANDataset` of data of `kind` (what its `DataInfo`
    says, known before anything is read, so that a model that cannot use it is refused at
    once).

    Args:
        arg: the name of the spec's argument (`PATH` in `folder:PATH`), if it takes one.
        optional: the argument may be left out (`mnist` and `mnist:PATH`); the builder then
            gets None.
        uses_attribute: the builder reads `data.attribute` (any other dataset refuses it).
    """
    if optional and arg is None:
        raise ValueError(f"dataset {name!r}: an optional argument needs a name (arg=...)")
    if arg is not None:
        _ARGS[name] = arg
    if optional:
        _OPTIONAL_ARG.add(name)
    if uses_attribute:
        _USES_ATTRIBUTE.add(name)
    _KINDS[name] = kind
    return DATASETS.register(name, help=help)


def spec_kind(spec: str) -> DataKind:
    """The kind of data the dataset spec gives, without building it."""
    return _KINDS[split_spec(spec)[0]]


def split_spec(spec: str) -> tuple[str, str | None]:
    """`folder:~/x` -> ("folder", "~/x"); `digits` -> ("digits", None); `mnist` -> ("mnist",
    None); checks the name, and the argument's presence."""
    name, sep, arg = spec.partition(":")
    DATASETS.entry(name)  # raises a clear error for unknown names
    if name not in _ARGS:
        if sep:
            raise GankitError(f"dataset {name!r} takes no argument (got {spec!r})")
        return name, None
    if sep and not arg:  # `mnist:` says a PATH was meant and left out
        raise GankitError(f"dataset {name!r} needs an argument after the colon: {spec_usage(name)}")
    if not sep and name not in _OPTIONAL_ARG:
        raise GankitError(f"dataset {name!r} needs an argument: {spec_usage(name)}")
    return name, (arg if sep else None)


def spec_usage(name: str) -> str:
    """How to write the spec: `digits`, `folder:PATH`, `mnist[:PATH]`."""
    if name not in _ARGS:
        return name
    return f"{name}[:{_ARGS[name]}]" if name in _OPTIONAL_ARG else f"{name}:{_ARGS[name]}"


def build_dataset(cfg: DataConfig) -> GANDataset:
    """Resolve `cfg.spec` to a dataset."""
    name, arg = split_spec(cfg.spec)
    if cfg.attribute is not None and name not in _USES_ATTRIBUTE:
        which = ", ".join(sorted(_USES_ATTRIBUTE)) or "none"
        raise GankitError(
            f"data.attribute={cfg.attribute} labels images by an attribute, which dataset "
            f"{name!r} has not (it applies to: {which})"
        )
    return DATASETS.get(name)(cfg, arg)


class NoHeldOutSplit(GankitError):
    """The dataset keeps nothing out of training (split `test` asked of it)."""


def held_out(keys: list[str], fraction: float) -> list[bool]:
    """Which of `keys` (relative paths, row numbers) fall in the held-out `fraction`: decided by
    a hash of each key alone, so a key keeps its side however many others join it."""
    return [
        int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") < fraction * 2**64
        for key in keys
    ]


def choose_split(keys: list[str], cfg: DataConfig, what: str) -> list[int]:
    """The indices of `keys` in `cfg.split` of user data held out by `cfg.holdout` (see
    `held_out`). Raises NoHeldOutSplit for `test` without a held-out share, and GankitError when
    a split comes out empty."""
    if cfg.split == "all":
        return list(range(len(keys)))
    if cfg.holdout == 0:
        if cfg.split == "test":
            raise NoHeldOutSplit(
                f"{what} has no held-out part: train with --set data.holdout=0.1 to keep one"
            )
        return list(range(len(keys)))
    out = held_out(keys, cfg.holdout)
    chosen = [i for i, o in enumerate(out) if o == (cfg.split == "test")]
    if not chosen:
        side = "held out" if cfg.split == "test" else "left for training"
        raise GankitError(
            f"of the {len(keys)} items of {what}, none is {side} with data.holdout="
            f"{cfg.holdout:g}; choose another data.holdout"
        )
    return chosen


def resize_images(x: Tensor, size: int) -> Tensor:
    """Resize float images [N, C, h, w] to [N, C, size, size] (bilinear; antialiased when
    shrinking)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    from gankit.training.memory import require_memory

    n, c = x.shape[:2]
    require_memory(n * c * size * size * x.element_size(), f"{n:,} images at {size}×{size}")
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
