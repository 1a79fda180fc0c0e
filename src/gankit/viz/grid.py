"""Image grids and scatter plots of samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from gankit.data.base import DataInfo
from gankit.data.points import MIXTURES
from gankit.errors import GankitError
from gankit.files import atomic_write, output_path, save_npy

MIN_CELL = 64  # small images are enlarged (nearest neighbour) to at least this many pixels


def pixels(images: Tensor) -> Tensor:
    """[N, C, H, W] floats in [-1, 1] -> the [N, C, H, W] uint8 pixels a saved PNG holds."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def to_uint8(images: Tensor) -> np.ndarray:
    """[N, C, H, W] floats in [-1, 1] -> [N, H, W, C] uint8."""
    return pixels(images).permute(0, 2, 3, 1).numpy()


def image_grid(images: Tensor, *, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile images [N, C, H, W] in [-1, 1] into one uint8 picture [H', W', C] (C = 1 or 3).

    Rows hold `nrow` images (default: a square grid); small images are enlarged so a digit of
    8×8 pixels is still visible.
    """
    if images.dim() == 5:  # tuples of images (CoGAN's pairs [N, k, C, H, W]): side by side
        nrow = (nrow or 8) * images.shape[1]
        images = images.flatten(0, 1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images [N, 1 or 3, H, W], got {tuple(images.shape)}")
    n, c, h, w = images.shape
    scale = max(1, math.ceil(MIN_CELL / max(h, w)))
    cells = to_uint8(images).repeat(scale, axis=1).repeat(scale, axis=2)
    h, w = h * scale, w * scale
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = cells[i]
    return grid


def _pil_format(path: Path) -> str:
    """PIL's format name for `path`'s suffix (saving goes through a temporary name)."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise GankitError(f"cannot write {path}: unknown image type {path.suffix or '(none)'}")
    return fmt


def save_array(array: np.ndarray, path: str | Path) -> Path:
    """Save a uint8 picture [H, W, 1 or 3] (PNG, JPEG, ... by suffix), atomically."""
    path = Path(path)
    fmt = _pil_format(path)
    picture = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)  # L or RGB
    return atomic_write(path, lambda tmp: picture.save(tmp, format=fmt))


def save_image(image: Tensor, path: str | Path) -> Path:
    """Save one image [C, H, W] in [-1, 1] at its own size (PNG, JPEG, ... by suffix)."""
    return save_array(to_uint8(image[None])[0], path)


def save_grid(images: Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
    return save_array(image_grid(images, nrow=nrow), path)


def save_scatter(
    points: Tensor | np.ndarray,
    path: str | Path,
    *,
    modes: np.ndarray | None = None,
    title: str | None = None,
) -> Path:
    """Scatter the first two coordinates of points [N, D] (with true mode centres, if given).

    Draws on a bare `Figure`, not pyplot: a library call must not switch the caller's backend
    (a notebook's inline plots) or leave figures in pyplot's global list."""
    from matplotlib.figure import Figure

    pts = np.asarray(points.detach().cpu() if isinstance(points, Tensor) else points)
    if pts.ndim != 2:
        raise ValueError(f"expected points [N, D], got {pts.shape}")
    if pts.shape[1] == 1:
        pts = np.concatenate([pts, np.zeros_like(pts)], 1)
    fig = Figure(figsize=(5, 5), dpi=100)
    ax = fig.subplots()
    ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.4, c="tab:blue", linewidths=0)
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=30, marker="x", c="tab:red", label="true modes")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt))
    return path


def save_gif(frames: Tensor, path: str | Path, *, duration_ms: int = 120) -> Path:
    """An animated GIF of images [T, C, H, W] in [-1, 1] that plays forward then back."""
    path = Path(path)
    cells = to_uint8(frames)
    scale = max(1, math.ceil(MIN_CELL / max(cells.shape[1:3])))
    cells = cells.repeat(scale, axis=1).repeat(scale, axis=2)
    images = [Image.fromarray(c[..., 0] if c.shape[-1] == 1 else c) for c in cells]
    loop = images + images[-2:0:-1]
    return atomic_write(
        path,
        lambda tmp: loop[0].save(
            tmp, format="GIF", save_all=True, append_images=loop[1:], duration=duration_ms, loop=0
        ),
    )


def save_samples(
    samples: Tensor,
    path: str | Path,
    info: DataInfo,
    *,
    title: str | None = None,
    nrow: int | None = None,
    gif: bool = False,
) -> Path:
    """Save samples of data described by `info`, by file type: `.npy` the raw array; `.png`/`.jpg`
    a grid (images, `nrow` per row) or a scatter plot over the true modes of a built-in mixture
    (points); `.gif` (images, where `gif` allows it) an animation of the samples in order."""
    path = output_path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return save_npy(path, samples.detach().cpu().numpy())
    if suffix == ".gif" and gif and info.kind == "image":
        return save_gif(samples, path)
    if suffix not in (".png", ".jpg", ".jpeg"):
        kinds = ".png, .jpg, .npy" + (" or .gif" if gif and info.kind == "image" else "")
        raise GankitError(f"unsupported output type {suffix or '(none)'}: use {kinds}")
    if info.kind != "points":
        return save_grid(samples, path, nrow=nrow)
    mixture = MIXTURES.get(info.name)
    modes = mixture.means if mixture is not None else None
    return save_scatter(samples, path, modes=modes, title=title)
