"""Two-domain datasets for image-to-image models: aligned pairs and unpaired domains.

Batches hold `a` [B, C, H, W] and `b` [B, C', H', W'] as floats in [-1, 1]; optional class labels
of each side come as `ya` and `yb` (a glyph's character, a digit's class), used by the metrics.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.data.base import Batch, DataInfo, GANDataset


def _scaled(x: Tensor) -> Tensor:
    return x.float().div_(127.5).sub_(1.0) if x.dtype == torch.uint8 else x


class TwoDomainDataset(GANDataset):
    """Images of two domains `a` and `b` with optional labels `ya`, `yb` (see the subclasses)."""

    kind = ""

    def __init__(
        self, a: Tensor, b: Tensor, info: DataInfo, ya: Tensor | None, yb: Tensor | None
    ) -> None:
        if info.kind != self.kind or (tuple(a.shape[1:]), tuple(b.shape[1:])) != (
            info.shape,
            info.shape_b,
        ):
            raise ValueError(f"info {info} does not describe {self.kind} {a.shape} / {b.shape}")
        self.a, self.b, self.ya, self.yb, self.info = a, b, ya, yb, info

    def _batch(self, ia: Tensor, ib: Tensor) -> Batch:
        out = {"a": _scaled(self.a[ia]), "b": _scaled(self.b[ib])}
        if self.ya is not None:
            out["ya"] = self.ya[ia]
        if self.yb is not None:
            out["yb"] = self.yb[ib]
        return out

    def to(self, device: torch.device) -> TwoDomainDataset:
        self.a, self.b = self.a.to(device), self.b.to(device)
        self.ya = None if self.ya is None else self.ya.to(device)
        self.yb = None if self.yb is None else self.yb.to(device)
        return self


class PairedDataset(TwoDomainDataset):
    """Aligned pairs: `b[i]` is the target of `a[i]` (pix2pix's A|B images, SR's LR/HR crops).

    Args:
        a, b: images [N, C, H, W] (uint8, scaled to [-1, 1] per batch, or float in [-1, 1]);
            the two sides may differ in channels and size.
        info: kind "paired", with `shape` = a's and `shape_b` = b's sample shape.
        ya, yb: optional labels [N] of each side.
    """

    kind = "paired"

    def __init__(
        self,
        a: Tensor,
        b: Tensor,
        info: DataInfo,
        *,
        ya: Tensor | None = None,
        yb: Tensor | None = None,
    ) -> None:
        if len(a) != len(b):
            raise ValueError(f"paired sides differ in length: {len(a)} and {len(b)}")
        super().__init__(a, b, info, ya, yb)

    def __len__(self) -> int:
        return len(self.a)

    def batch(self, indices: Tensor) -> Batch:
        indices = indices.to(self.a.device)
        return self._batch(indices, indices)


class UnpairedDataset(TwoDomainDataset):
    """Two domains with no correspondence (CycleGAN's trainA/trainB).

    Item i draws `a[i mod N_a]` and `b[perm[i] mod N_b]`, where `perm` is a fixed seeded
    permutation of range(len): the partner of each A image is arbitrary but reproducible, and
    since the stream reshuffles the indices each epoch, a batch's A and B images come from
    unrelated places. The length is max(N_a, N_b), so an epoch shows every image of both domains.

    Args:
        a, b: images of each domain [N_a, C, H, W] and [N_b, C', H', W'].
        info: kind "unpaired", `shape` = a's and `shape_b` = b's sample shape.
        ya, yb: optional labels of each domain ([N_a], [N_b]).
        seed: seed of the pairing permutation.
    """

    kind = "unpaired"

    def __init__(
        self,
        a: Tensor,
        b: Tensor,
        info: DataInfo,
        *,
        ya: Tensor | None = None,
        yb: Tensor | None = None,
        seed: int = 0,
    ) -> None:
        if not len(a) or not len(b):
            raise ValueError("both domains need images")
        super().__init__(a, b, info, ya, yb)
        gen = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(max(len(a), len(b)), generator=gen)

    def __len__(self) -> int:
        return len(self.perm)

    def batch(self, indices: Tensor) -> Batch:
        ia = indices.to(self.a.device) % len(self.a)
        ib = self.perm.to(self.b.device)[indices.to(self.b.device)] % len(self.b)
        return self._batch(ia, ib)
