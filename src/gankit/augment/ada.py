"""The augmentation pipeline of StyleGAN2-ADA (Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data"), its default `bgc`: pixel blitting, general geometric
transforms and colour transforms, each applied to an image with probability p.

Transforms, in the paper's order, each drawn independently per image and skipped (identity)
unless a uniform draw falls below its probability:

- blit (`b`): horizontal flip; rotation by a multiple of 90°; integer translation, uniform in
  ±⅛ of the side, rounded to whole pixels.
- geometric (`g`): isotropic scaling by 2^N(0, 0.2²); rotation, uniform in ±180°; anisotropic
  scaling by 2^N(0, 0.2²) in x (and its inverse in y); fractional translation N(0, (⅛ side)²).
  The two rotations (before and after the anisotropic scaling) have probability
  1 − √(1 − p) each, so that some rotation happens with probability p.
- colour (`c`): brightness + N(0, 0.2²); contrast × 2^N(0, 0.5²); luma flip (reflect the colour
  about the grey axis) with probability ½; hue rotation about the grey axis, uniform in ±180°;
  saturation (distance from the grey axis) × 2^N(0, 1). Hue and saturation act on 3-channel
  images only; a gray image gets the mean of the colour matrix's rows, as in the paper's code.

The geometric transforms compose into one 3×3 matrix per image, which samples the image once;
the colour transforms compose into one 4×4 matrix. Where this differs from the official code,
on purpose:

- The image is sampled once, bilinearly, at its own resolution, with reflection beyond the
  edges (`grid_sample`'s `reflection`). The official code pads by reflection, upsamples 2× with
  a symmetric wavelet filter, samples, and filters back down, which removes aliasing from
  rotations and zooms out. The blit transforms (flips, quarter turns, whole-pixel shifts) are
  exact here as there, and a batch whose draws are all identity (p = 0) is returned unchanged.
- Coordinates are normalised to [−1, 1] on each axis, so on a non-square image a rotation is
  one in that normalised frame (gankit's images are square).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

# the paper's strengths (augment.py's defaults for its `bgc` pipeline)
XINT_MAX = 0.125
SCALE_STD = 0.2
ROTATE_MAX = 1.0  # × π
ANISO_STD = 0.2
XFRAC_STD = 0.125
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5
HUE_MAX = 1.0  # × π
SATURATION_STD = 1.0

PIPES = ("b", "g", "c", "bg", "bc", "gc", "bgc")


def _where(chance: Tensor, p: float, value: Tensor, identity: float) -> Tensor:
    """`value` where this example's transform is applied (a draw below p), else identity."""
    return torch.where(chance < p, value, torch.full_like(value, identity))


def _eye(n: int, size: int, like: Tensor) -> Tensor:
    return torch.eye(size, device=like.device, dtype=like.dtype).repeat(n, 1, 1)


def _scale2d(sx: Tensor, sy: Tensor) -> Tensor:
    m = _eye(len(sx), 3, sx)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _translate2d(tx: Tensor, ty: Tensor) -> Tensor:
    m = _eye(len(tx), 3, tx)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _rotate2d(theta: Tensor) -> Tensor:
    m = _eye(len(theta), 3, theta)
    c, s = theta.cos(), theta.sin()
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


def geometric_matrix(n: int, p: float, pipe: str, like: Tensor, side: tuple[int, int]) -> Tensor:
    """The per-image 3×3 matrices [n, 3, 3] that map output coordinates (normalised, [−1, 1])
    to input coordinates: the inverse of each drawn transform, composed in the paper's order."""
    h, w = side
    dev: dict[str, Any] = {"device": like.device, "dtype": torch.float32}
    g = torch.eye(3, **dev).repeat(n, 1, 1)
    if "b" in pipe:
        flip = _where(torch.rand(n, **dev), p, torch.floor(torch.rand(n, **dev) * 2), 0.0)
        g = g @ _scale2d(1 - 2 * flip, torch.ones_like(flip))
        quarter = _where(torch.rand(n, **dev), p, torch.floor(torch.rand(n, **dev) * 4), 0.0)
        g = g @ _rotate2d(math.pi / 2 * quarter)
        shift = (torch.rand(n, 2, **dev) * 2 - 1) * XINT_MAX
        shift = _where(torch.rand(n, 1, **dev), p, shift, 0.0)
        # whole pixels, as fractions of the normalised side (2 units wide)
        tx, ty = torch.round(shift[:, 0] * w) * 2 / w, torch.round(shift[:, 1] * h) * 2 / h
        g = g @ _translate2d(-tx, -ty)
    if "g" in pipe:
        p_rot = 1 - math.sqrt(max(0.0, 1 - p))  # two rotations: some rotation with chance p
        s = _where(torch.rand(n, **dev), p, torch.exp2(torch.randn(n, **dev) * SCALE_STD), 1.0)
        g = g @ _scale2d(1 / s, 1 / s)
        theta = (torch.rand(n, **dev) * 2 - 1) * math.pi * ROTATE_MAX
        g = g @ _rotate2d(_where(torch.rand(n, **dev), p_rot, theta, 0.0))
        s = _where(torch.rand(n, **dev), p, torch.exp2(torch.randn(n, **dev) * ANISO_STD), 1.0)
        g = g @ _scale2d(1 / s, s)
        theta = (torch.rand(n, **dev) * 2 - 1) * math.pi * ROTATE_MAX
        g = g @ _rotate2d(_where(torch.rand(n, **dev), p_rot, theta, 0.0))
        shift = _where(torch.rand(n, 1, **dev), p, torch.randn(n, 2, **dev) * XFRAC_STD, 0.0)
        g = g @ _translate2d(-2 * shift[:, 0], -2 * shift[:, 1])
    return g


def colour_matrix(n: int, p: float, like: Tensor, channels: int) -> Tensor:
    """The per-image 4×4 colour matrices [n, 4, 4] (RGB and a constant 1)."""
    dev: dict[str, Any] = {"device": like.device, "dtype": torch.float32}
    c = torch.eye(4, **dev).repeat(n, 1, 1)
    grey = torch.tensor([1.0, 1.0, 1.0, 0.0], **dev) / math.sqrt(3)  # the luma axis
    outer = torch.outer(grey, grey)
    eye = torch.eye(4, **dev)
    b = _where(torch.rand(n, **dev), p, torch.randn(n, **dev) * BRIGHTNESS_STD, 0.0)
    shift = eye.repeat(n, 1, 1)
    shift[:, :3, 3] = b[:, None]
    c = shift @ c
    k = _where(torch.rand(n, **dev), p, torch.exp2(torch.randn(n, **dev) * CONTRAST_STD), 1.0)
    scale = eye.repeat(n, 1, 1)
    scale[:, 0, 0] = scale[:, 1, 1] = scale[:, 2, 2] = k
    c = scale @ c
    flip = _where(torch.rand(n, **dev), p, torch.floor(torch.rand(n, **dev) * 2), 0.0)
    c = (eye - 2 * outer * flip[:, None, None]) @ c
    if channels > 1:
        theta = (torch.rand(n, **dev) * 2 - 1) * math.pi * HUE_MAX
        theta = _where(torch.rand(n, **dev), p, theta, 0.0)
        c = _rotate_about(grey[:3], theta) @ c
        s = torch.exp2(torch.randn(n, **dev) * SATURATION_STD)
        s = _where(torch.rand(n, **dev), p, s, 1.0)
        c = (outer + (eye - outer) * s[:, None, None]) @ c
    return c


def _rotate_about(axis: Tensor, theta: Tensor) -> Tensor:
    """4×4 matrices [n, 4, 4] rotating RGB by `theta` about unit `axis` (Rodrigues' formula)."""
    x, y, z = axis.tolist()
    k = torch.tensor([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]], device=theta.device)
    eye3 = torch.eye(3, device=theta.device)
    s, c = theta.sin()[:, None, None], theta.cos()[:, None, None]
    r = eye3 + s * k + (1 - c) * (k @ k)
    m = torch.eye(4, device=theta.device).repeat(len(theta), 1, 1)
    m[:, :3, :3] = r
    return m


def _apply_colour(x: Tensor, c: Tensor) -> Tensor:
    """x [N, C, H, W] through colour matrices c [N, 4, 4]: RGB images by the matrix, any other
    channel count channel by channel as gray (the rows of the RGB part averaged)."""
    n, channels, h, w = x.shape
    flat = x.reshape(n, channels, h * w)
    if channels == 3:
        out = c[:, :3, :3] @ flat + c[:, :3, 3:]
    else:
        rows = c[:, :3, :].mean(1, keepdim=True)  # [N, 1, 4]
        out = flat * rows[:, :, :3].sum(2, keepdim=True) + rows[:, :, 3:]
    return out.reshape(n, channels, h, w)


def ada_augment(images: list[Tensor], p: float, pipe: str = "bgc") -> list[Tensor]:
    """Augment images [N, C_i, H, W] (sharing N, H, W) with probability p per transform; the
    parts of one input share every draw (one geometric transform and one colour matrix per
    example). Computed in float32 and returned in each image's dtype."""
    first = images[0].float()
    n, _, h, w = first.shape
    out = [x.float() for x in images]
    if "b" in pipe or "g" in pipe:
        g = geometric_matrix(n, p, pipe, first, (h, w))
        if not torch.equal(g, torch.eye(3, device=g.device).expand_as(g)):
            grid = F.affine_grid(g[:, :2, :], [n, 1, h, w], align_corners=False)
            out = [
                F.grid_sample(
                    x, grid, mode="bilinear", padding_mode="reflection", align_corners=False
                )
                for x in out
            ]
    if "c" in pipe:
        channels = max(x.shape[1] for x in images)
        c = colour_matrix(n, p, first, channels)
        if not torch.equal(c, torch.eye(4, device=c.device).expand_as(c)):
            out = [_apply_colour(x, c) for x in out]
    return [o.to(x.dtype) for o, x in zip(out, images)]
