"""Translating images of any size with a trained image-to-image model.

Fully convolutional generators take any input whose sides are multiples of their total
downsampling (`GANModel.input_multiple`); other sizes are padded by reflection and the output
cropped back. Large inputs can be processed in overlapping tiles, so that memory stays bounded (a
4× super-resolution of a photograph): each tile is translated with a margin of context on every
side and only its centre is kept, so neighbouring tiles meet without seams as long as the margin
covers the generator's receptive field.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import GankitError
from gankit.models.base import GANModel


def _pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, int, int]:
    """Pad x [N, C, H, W] at the bottom/right to sides divisible by `multiple` (reflection where
    the image is large enough, else replication). Returns (padded, H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, h, w


@torch.no_grad()
def translate_whole(model: GANModel, x: Tensor, direction: str = "AtoB") -> Tensor:
    """Translate x [N, C, H, W] in [-1, 1] in one pass, padding to the model's multiple."""
    padded, h, w = _pad_to_multiple(x, model.input_multiple)
    out = model.translate(padded, direction)
    scale = out.shape[-1] // padded.shape[-1]  # 4 for super-resolution, else 1
    return out[..., : h * scale, : w * scale]


def _starts(size: int, tile: int, margin: int) -> list[int]:
    """Tile origins along one side: tiles of `tile` pixels whose centres (tile − 2·margin) cover
    [0, size) without gaps."""
    if size <= tile:
        return [0]
    core = tile - 2 * margin
    count = math.ceil((size - 2 * margin) / core)
    starts = [min(i * core, size - tile) for i in range(count)]
    return sorted(set(starts))


@torch.no_grad()
def translate_tiled(
    model: GANModel, x: Tensor, direction: str = "AtoB", *, tile: int = 128, margin: int = 16
) -> Tensor:
    """Translate x [N, C, H, W] tile by tile: tiles of `tile` input pixels overlapping by
    2·`margin`; each output pixel comes from the tile in which it lies farthest from a cut edge
    (at least `margin` input pixels inside, except at the image border)."""
    if tile <= 2 * margin:
        raise GankitError(f"tile ({tile}) must be larger than twice the margin ({margin})")
    h, w = x.shape[-2:]
    if h <= tile and w <= tile:
        return translate_whole(model, x, direction)
    ys, xs = _starts(h, tile, margin), _starts(w, tile, margin)
    out: Tensor | None = None
    for i, y0 in enumerate(ys):
        for j, x0 in enumerate(xs):
            piece = x[..., y0 : y0 + tile, x0 : x0 + tile]
            result = translate_whole(model, piece, direction)
            s = result.shape[-1] // piece.shape[-1]
            if out is None:
                out = result.new_empty(*x.shape[:-3], result.shape[-3], h * s, w * s)
            # keep [lo, hi) of this tile: up to the midpoint of the overlap with each neighbour
            top = 0 if i == 0 else (y0 + ys[i - 1] + tile) // 2
            bottom = h if i == len(ys) - 1 else (ys[i + 1] + y0 + tile) // 2
            left = 0 if j == 0 else (x0 + xs[j - 1] + tile) // 2
            right = w if j == len(xs) - 1 else (xs[j + 1] + x0 + tile) // 2
            out[..., top * s : bottom * s, left * s : right * s] = result[
                ..., (top - y0) * s : (bottom - y0) * s, (left - x0) * s : (right - x0) * s
            ]
    assert out is not None
    return out


def translate(
    model: GANModel,
    x: Tensor,
    direction: str = "AtoB",
    *,
    tile: int | None = None,
    margin: int = 16,
) -> Tensor:
    """Translate images x [N, C, H, W] in [-1, 1] of any size with a translation model.

    Args:
        model: a model with `directions` (pix2pix, cyclegan, discogan, srgan).
        x: inputs with the channels of the source domain (A for "AtoB", B for "BtoA").
        direction: "AtoB" or "BtoA" (two-way models).
        tile: process inputs larger than `tile`×`tile` in overlapping tiles of that size.
        margin: context on each side of a tile that is translated but not kept.

    Returns:
        The translations [N, C', H·s, W·s] (s = 4 for super-resolution, else 1), on x's device.
    """
    model.check_direction(direction)
    info = model.info
    channels = (info.shape if direction == "AtoB" else info.shape_b)[0]
    if x.dim() != 4 or x.shape[1] != channels:
        raise GankitError(
            f"{model.name} {direction} takes images [N, {channels}, H, W], got {list(x.shape)}"
        )
    x = x.to(model.device, torch.float32)
    if tile is None:
        return translate_whole(model, x, direction)
    return translate_tiled(model, x, direction, tile=tile, margin=margin)
