"""Class conditioning, one mechanism for every generator/discriminator pair.

A conditional generator sees its labels concatenated to z (Mirza & Osindero 2014); a conditional
discriminator sees them either concatenated to its input (one-hot vectors, or one-hot maps
stacked as extra channels of an image) or through a projection (Miyato & Koyama 2018: the logit
gains the inner product of a class embedding with the discriminator's last features).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LabelEncoder(nn.Module):
    """Class labels y [B] -> vectors [B, dim]: one-hot (`embed_dim` 0, the CGAN paper's) or a
    learned embedding of `embed_dim` features."""

    def __init__(self, num_classes: int, embed_dim: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if embed_dim else None
        self.dim = embed_dim or num_classes

    def forward(self, y: Tensor) -> Tensor:
        if self.embed is not None:
            return self.embed(y)
        return F.one_hot(y, self.num_classes).float()


def _check_labels(y: Tensor | None) -> Tensor:
    if y is None:
        raise ValueError("this network is class-conditional: pass labels y [B]")
    return y


class ConditionalGenerator(nn.Module):
    """G(z, y) = net([z, e(y)]): `net` was built for inputs of z_dim + encoder.dim features."""

    def __init__(self, net: nn.Module, labels: LabelEncoder) -> None:
        super().__init__()
        self.net, self.labels = net, labels

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        y = _check_labels(y)
        return self.net(torch.cat([z, self.labels(y).to(z.dtype)], 1))


class ConcatDiscriminator(nn.Module):
    """D(x, y) = net([x, e(y)]): `maps=False` appends the label vector to the flattened input;
    `maps=True` (convolutional nets) stacks it onto images as constant maps, one channel per
    label feature. `net` was built for the widened input."""

    def __init__(self, net: nn.Module, labels: LabelEncoder, *, maps: bool) -> None:
        super().__init__()
        self.net, self.labels, self.maps = net, labels, maps

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        e = self.labels(_check_labels(y)).to(x.dtype)  # [B, dim]
        if self.maps:
            maps = e[:, :, None, None].expand(-1, -1, *x.shape[2:])
            return self.net(torch.cat([x, maps], 1))
        return self.net(torch.cat([x.flatten(1), e], 1))


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = head(φ(x)) + ⟨embed(y), φ(x)⟩, with φ = `net.features` (flattened) and
    `net.head` the unconditional output layer; `net.feature_dim` sizes the class embedding."""

    def __init__(self, net: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.net = net
        self.num_classes = num_classes
        feature_dim: int = net.feature_dim  # type: ignore[assignment]
        self.embed = nn.Embedding(num_classes, feature_dim)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        y = _check_labels(y)
        h = self.net.features(x)  # type: ignore[operator]
        out = self.net.head(h).flatten()  # type: ignore[operator]
        return out + (self.embed(y).to(h.dtype) * h.flatten(1)).sum(1)
