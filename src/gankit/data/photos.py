"""`photos`: square crops of the photographs that scikit-image and scikit-learn ship.

Seven colour photographs are read from the files installed with the two packages (never through
a fetcher that might download): scikit-image's astronaut (512×512), coffee (400×600), rocket
(427×640), motorcycle (the left view of `stereo_motorcycle`, 500×741) and chelsea the cat
(300×451), and scikit-learn's china (a temple, 427×640) and flower (427×640).

Whole photographs are split: chelsea and china are held out (`split="test"`), the other five are
for training (`"train"`), and `"all"` concatenates the training crops and the held-out crops. So
evaluation never sees a training photograph.

Crops are drawn deterministically from `DataConfig.seed`: a photograph uniformly, one of its
scales (the photo itself, and downscaled by 2 and by 4 where the shorter side stays at least R,
so crops show objects as well as texture; a photo smaller than R is enlarged to R instead), a
position uniformly, and a horizontal flip with probability 1/2. Side R = `resolution` (64 by
default). There are 4,096 training and 512 held-out crops at R = 64, fewer at larger R so that a
set stays near 50 MB (at least 512 and 64); `DataConfig.size` sets the count of either split.
Crops are stored as uint8 and scaled to [-1, 1] per batch.

Datasets:
    photos: the RGB crops (kind "image").
    photos-sr4: pairs for 4× super-resolution: A = the crop downscaled to R/4 (bicubic with
        antialiasing, as MATLAB's `imresize` that SRGAN used; rounded to uint8), B = the crop.
    photos-edges2photo: pairs: A = Canny edges of the crop's luminance (one channel, edges +1
        on -1), B = the crop.
    photos-gray2color: pairs: A = the crop's luminance (one channel, ITU-R 601 weights as PIL's
        "L" mode), B = the crop.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from gankit.data.base import ArrayDataset, DataConfig, DataInfo, register_dataset
from gankit.data.pairs import PairedDataset
from gankit.errors import GankitError

# name -> (package, file inside it); installed data files, read directly so nothing is fetched
PHOTO_FILES: dict[str, tuple[str, str]] = {
    "astronaut": ("skimage.data", "astronaut.png"),
    "coffee": ("skimage.data", "coffee.png"),
    "rocket": ("skimage.data", "rocket.jpg"),
    "motorcycle": ("skimage.data", "motorcycle_left.png"),
    "chelsea": ("skimage.data", "chelsea.png"),
    "china": ("sklearn.datasets", "images/china.jpg"),
    "flower": ("sklearn.datasets", "images/flower.jpg"),
}
SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("astronaut", "coffee", "rocket", "motorcycle", "flower"),
    "test": ("chelsea", "china"),
}
DEFAULT_RESOLUTION = 64
SCALES = (1, 2, 4)  # downscaling factors of each photograph
SR_FACTOR = 4
EDGE_SIGMA = 1.5  # Canny's Gaussian smoothing, in pixels of the (scaled) photograph
EDGE_QUANTILES = (0.80, 0.90)  # hysteresis thresholds as quantiles of each photo's gradient
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as PIL's "L" conversion
CHUNK = 1024  # crops converted to float at a time


@functools.cache
def load_photo(name: str) -> np.ndarray:
    """One shipped photograph as uint8 [H, W, 3]."""
    package, file = PHOTO_FILES[name]
    path = resources.files(package).joinpath(file)
    try:
        with resources.as_file(path) as local, Image.open(local) as img:
            photo = np.array(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as err:
        raise GankitError(
            f"cannot read the photograph {name!r} shipped with {package}: {err}"
        ) from err
    photo.flags.writeable = False  # cached and shared
    return photo


def _resize(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Bicubic, antialiased resize of float images [..., C, H, W] (values in 0..255), rounded
    to uint8: the same kernel for photo scales and SR inputs."""
    batch = image if image.ndim == 4 else image[None]
    if tuple(batch.shape[-2:]) != size:
        batch = F.interpolate(batch, size=size, mode="bicubic", antialias=True, align_corners=False)
    out = batch.round().clamp(0, 255).to(torch.uint8)
    return out if image.ndim == 4 else out[0]


@functools.lru_cache(maxsize=16)
def photo_scales(name: str, resolution: int) -> tuple[Tensor, ...]:
    """The scaled copies of photo `name` that crops of side `resolution` are drawn from, each
    uint8 [3, H, W] with min(H, W) >= resolution."""
    photo = torch.tensor(load_photo(name)).permute(2, 0, 1).float()  # [3, H, W], 0..255
    h, w = photo.shape[1:]
    sizes = [(h // s, w // s) for s in SCALES if min(h, w) // s >= resolution]
    if not sizes:  # smaller than a crop: enlarge so the shorter side is the crop's
        scale = resolution / min(h, w)
        sizes = [(max(resolution, round(h * scale)), max(resolution, round(w * scale)))]
    return tuple(_resize(photo, size) for size in sizes)


@functools.lru_cache(maxsize=16)
def edge_scales(name: str, resolution: int) -> tuple[Tensor, ...]:
    """Canny edge maps (bool [H, W]) of each of `photo_scales(name, resolution)`.

    Edges are found on the whole scaled photograph, then cropped with it: a crop's border has
    the same edges as its interior, and one photo costs one Canny pass however many crops."""
    from skimage.feature import canny

    low, high = EDGE_QUANTILES
    maps = []
    for image in photo_scales(name, resolution):
        grey = luminance(image[None])[0, 0].numpy() / 255.0  # [H, W] in [0, 1]
        edges = canny(
            grey, sigma=EDGE_SIGMA, low_threshold=low, high_threshold=high, use_quantiles=True
        )
        maps.append(torch.from_numpy(edges))
    return tuple(maps)


def luminance(rgb: Tensor) -> Tensor:
    """uint8 RGB [N, 3, H, W] -> uint8 luma [N, 1, H, W] (ITU-R 601 weights)."""
    weights = torch.tensor(LUMA, dtype=torch.float32).view(1, 3, 1, 1)
    return (rgb.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)


@dataclass(frozen=True)
class Crops:
    """Where each crop of a set comes from: [N] int64 arrays."""

    photo: np.ndarray  # index into the split's photo names
    scale: np.ndarray  # index into photo_scales(...)
    top: np.ndarray
    left: np.ndarray
    flip: np.ndarray  # bool: mirrored left-right


def default_count(split: str, resolution: int) -> int:
    """4,096 training / 512 held-out crops at side 64, fewer at larger sides (~50 MB a set)."""
    train = max(512, round(4096 * (DEFAULT_RESOLUTION / max(resolution, DEFAULT_RESOLUTION)) ** 2))
    return train if split == "train" else max(64, train // 8)


def _draw_crops(split: str, resolution: int, count: int, seed: int) -> Crops:
    names = SPLITS[split]
    # one stream per (seed, split): the held-out crops do not shift when the training count does
    rng = np.random.default_rng([seed, ("train", "test").index(split)])
    photo = rng.integers(0, len(names), count)
    scale, top, left = (np.zeros(count, dtype=np.int64) for _ in range(3))
    for i, p in enumerate(photo):
        levels = photo_scales(names[p], resolution)
        scale[i] = rng.integers(0, len(levels))
        h, w = levels[scale[i]].shape[1:]
        top[i] = rng.integers(0, h - resolution + 1)
        left[i] = rng.integers(0, w - resolution + 1)
    flip = rng.random(count) < 0.5
    return Crops(photo, scale, top, left, flip)


def _cut(maps: list[tuple[Tensor, ...]], crops: Crops, resolution: int) -> Tensor:
    """Cut every crop out of per-photo image pyramids `maps` ([..., H, W] tensors):
    [N, ..., R, R]."""
    out = []
    for p, s, t, left, f in zip(crops.photo, crops.scale, crops.top, crops.left, crops.flip):
        crop = maps[p][s][..., t : t + resolution, left : left + resolution]
        out.append(crop.flip(-1) if f else crop)
    return torch.stack(out)


@functools.lru_cache(maxsize=2)
def _crops(split: str, resolution: int, count: int | None, seed: int) -> Crops:
    return _draw_crops(split, resolution, count or default_count(split, resolution), seed)


@functools.lru_cache(maxsize=2)
def photo_crops(split: str, resolution: int, count: int | None, seed: int) -> Tensor:
    """uint8 RGB crops [N, 3, R, R] of one split ("train", "test" or "all"); cached, so callers
    must not modify the tensor in place."""
    if split == "all":
        return torch.cat([photo_crops(s, resolution, count, seed) for s in ("train", "test")])
    maps = [photo_scales(name, resolution) for name in SPLITS[split]]
    return _cut(maps, _crops(split, resolution, count, seed), resolution)


@functools.lru_cache(maxsize=2)
def edge_crops(split: str, resolution: int, count: int | None, seed: int) -> Tensor:
    """uint8 edge maps [N, 1, R, R] (255 on edges, 0 elsewhere) of `photo_crops`' crops."""
    if split == "all":
        return torch.cat([edge_crops(s, resolution, count, seed) for s in ("train", "test")])
    maps = [edge_scales(name, resolution) for name in SPLITS[split]]
    edges = _cut(maps, _crops(split, resolution, count, seed), resolution)  # [N, R, R] bool
    return edges[:, None].to(torch.uint8) * 255


def _resolution(cfg: DataConfig) -> int:
    return cfg.resolution or DEFAULT_RESOLUTION


def _hr(cfg: DataConfig) -> Tensor:
    return photo_crops(cfg.split, _resolution(cfg), cfg.size, cfg.seed)


def _paired(name: str, a: Tensor, b: Tensor, domains: tuple[str, str]) -> PairedDataset:
    info = DataInfo(name, "paired", tuple(a.shape[1:]), shape_b=tuple(b.shape[1:]), domains=domains)
    return PairedDataset(a, b, info)


@functools.lru_cache(maxsize=2)
def lr_crops(split: str, resolution: int, count: int | None, seed: int) -> Tensor:
    """uint8 RGB [N, 3, R/4, R/4]: `photo_crops`' crops downscaled 4× (bicubic, antialiased)."""
    hr = photo_crops(split, resolution, count, seed)
    side = resolution // SR_FACTOR
    # in chunks: the float copy of a whole set would be four times its uint8 size
    return torch.cat([_resize(chunk.float(), (side, side)) for chunk in hr.split(CHUNK)])


@functools.lru_cache(maxsize=2)
def gray_crops(split: str, resolution: int, count: int | None, seed: int) -> Tensor:
    """uint8 luma [N, 1, R, R] of `photo_crops`' crops."""
    hr = photo_crops(split, resolution, count, seed)
    return torch.cat([luminance(chunk) for chunk in hr.split(CHUNK)])


@register_dataset(
    "photos",
    kind="image",
    help="crops of 7 photos shipped with scikit-image/-learn (2 held out), RGB",
)
def photos(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    x = _hr(cfg)
    return ArrayDataset(x, None, DataInfo("photos", "image", tuple(x.shape[1:])))


@register_dataset(
    "photos-sr4", kind="paired", help="paired: photo crops downscaled 4× (bicubic) -> the crops"
)
def photos_sr4(cfg: DataConfig, arg: str | None) -> PairedDataset:
    resolution = _resolution(cfg)
    if resolution % SR_FACTOR:
        raise GankitError(
            f"photos-sr4 needs a resolution that is a multiple of {SR_FACTOR} (the low-resolution "
            f"side is a quarter of it), got {resolution}"
        )
    hr = photo_crops(cfg.split, resolution, cfg.size, cfg.seed)  # [N, 3, R, R]
    lr = lr_crops(cfg.split, resolution, cfg.size, cfg.seed)  # [N, 3, R/4, R/4]
    return _paired("photos-sr4", lr, hr, ("lr", "hr"))


@register_dataset(
    "photos-edges2photo", kind="paired", help="paired: Canny edges of photo crops -> the crops"
)
def photos_edges2photo(cfg: DataConfig, arg: str | None) -> PairedDataset:
    resolution = _resolution(cfg)
    edges = edge_crops(cfg.split, resolution, cfg.size, cfg.seed)
    return _paired("photos-edges2photo", edges, _hr(cfg), ("edges", "photo"))


@register_dataset(
    "photos-gray2color", kind="paired", help="paired: grey photo crops -> the colour crops"
)
def photos_gray2color(cfg: DataConfig, arg: str | None) -> PairedDataset:
    resolution = _resolution(cfg)
    gray = gray_crops(cfg.split, resolution, cfg.size, cfg.seed)
    return _paired("photos-gray2color", gray, _hr(cfg), ("gray", "color"))
