"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
the same random, differentiable transforms applied to every image the discriminator sees, real
and generated, in both players' losses, so that D cannot memorise a small training set and G's
gradients pass through the transforms.

The paper's policy is a comma-separated list of `color`, `translation` and `cutout`:

- `color`: brightness + U(−½, ½); saturation (distance from the per-pixel channel mean) × U(0, 2);
  contrast (distance from the image mean) × U(½, 3⁄2); one draw of each per image.
- `translation`: a shift by a whole number of pixels, uniform in ±⅛ of each side, with zeros
  (mid-grey in [−1, 1]) shifted in.
- `cutout`: a square of half each side, centred uniformly (it may hang off the edge), set to 0.

All draws come from torch's generator on the images' device, so a seeded run repeats them.
Every function takes a list of images [N, C_i, H, W] that share N, H and W and transforms them
alike (one draw per example): the parts of one discriminator input, such as pix2pix's
condition and output, stay aligned.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gankit.errors import GankitError


def _uniform(images: list[Tensor], low: float, high: float) -> Tensor:
    """One draw per example, [N, 1, 1, 1], in [low, high)."""
    x = images[0]
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * (high - low) + low


def color(images: list[Tensor]) -> list[Tensor]:
    brightness = _uniform(images, -0.5, 0.5)
    images = [x + brightness for x in images]
    saturation = _uniform(images, 0.0, 2.0)
    images = [(x - x.mean(1, keepdim=True)) * saturation + x.mean(1, keepdim=True) for x in images]
    contrast = _uniform(images, 0.5, 1.5)
    return [
        (x - x.mean((1, 2, 3), keepdim=True)) * contrast + x.mean((1, 2, 3), keepdim=True)
        for x in images
    ]


def _shift_index(size: int, shift: Tensor) -> Tensor:
    """For each example, the source index of every output row (or column) after a shift by
    `shift` [N] pixels, into the axis padded by one zero on each side: [N, size]."""
    index = torch.arange(size, device=shift.device) + 1 - shift[:, None]
    return index.clamp(0, size + 1)


def translation(images: list[Tensor], ratio: float = 0.125) -> list[Tensor]:
    n, _, h, w = images[0].shape
    device = images[0].device
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_y, max_y + 1, (n,), device=device)
    dx = torch.randint(-max_x, max_x + 1, (n,), device=device)
    rows, cols = _shift_index(h, dy), _shift_index(w, dx)  # [N, H], [N, W]
    out = []
    for x in images:
        padded = torch.nn.functional.pad(x, (1, 1, 1, 1))  # [N, C, H + 2, W + 2], zeros
        c = x.shape[1]
        picked = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2))
        out.append(picked.gather(3, cols[:, None, None, :].expand(n, c, h, w)))
    return out


def cutout(images: list[Tensor], ratio: float = 0.5) -> list[Tensor]:
    n, _, h, w = images[0].shape
    device = images[0].device
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # the square's centre, uniform over the side (one more position for an even size)
    cy = torch.randint(0, h + (1 - size_y % 2), (n, 1), device=device)
    cx = torch.randint(0, w + (1 - size_x % 2), (n, 1), device=device)
    top, left = cy - size_y // 2, cx - size_x // 2
    ys, xs = torch.arange(h, device=device), torch.arange(w, device=device)
    inside_y = (ys >= top) & (ys < top + size_y)  # [N, H]
    inside_x = (xs >= left) & (xs < left + size_x)  # [N, W]
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])  # [N, H, W]
    return [x * keep[:, None].to(x.dtype) for x in images]


TRANSFORMS: dict[str, Callable[[list[Tensor]], list[Tensor]]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str) -> list[str]:
    """The transforms of a policy string such as "color,translation,cutout", checked."""
    names = [part.strip() for part in policy.split(",") if part.strip()]
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown or not names:
        raise GankitError(
            f"train.diffaugment must be a comma-separated list of {', '.join(TRANSFORMS)}, "
            f"got {policy!r}"
        )
    return names


def diff_augment(images: list[Tensor], policy: str = "color,translation,cutout") -> list[Tensor]:
    """Apply the policy's transforms in order, one draw per example shared by all of `images`."""
    for name in parse_policy(policy):
        images = TRANSFORMS[name](images)
    return images
