"""Fully connected networks: the GAN paper's MLPs and the toy-data networks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from torch import Tensor, nn


class Maxout(nn.Module):
    """Goodfellow et al. 2013: each unit is the max over `pieces` linear functions of the input."""

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:  # [B, in] -> [B, out]
        y = self.linear(x).view(x.shape[0], self.out_features, self.pieces)
        return y.amax(dim=2)


class MLP(nn.Sequential):
    """A multilayer perceptron.

    Args:
        in_dim, out_dim: input and output widths.
        hidden: widths of the hidden layers.
        act: hidden activation; `maxout` uses `pieces` linear pieces per unit.
        norm: normalisation after each hidden linear layer (before the activation).
        dropout: dropout on the input of each hidden-to-next layer; `input_dropout` on the input.
        out_act: activation on the output (None for logits or unbounded points).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        *,
        act: Literal["relu", "leaky_relu", "maxout"] = "relu",
        pieces: int = 5,
        norm: Literal["none", "batch", "layer"] = "none",
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        out_act: Literal["tanh", "sigmoid"] | None = None,
    ) -> None:
        layers: list[nn.Module] = []
        if input_dropout:
            layers.append(nn.Dropout(input_dropout))
        width = in_dim
        for i, h in enumerate(hidden):
            if i and dropout:
                layers.append(nn.Dropout(dropout))
            if act == "maxout":
                layers.append(Maxout(width, h, pieces))
            else:
                layers.append(nn.Linear(width, h, bias=norm != "batch"))
                if norm == "batch":
                    layers.append(nn.BatchNorm1d(h))
                elif norm == "layer":
                    layers.append(nn.LayerNorm(h))
                layers.append(nn.ReLU() if act == "relu" else nn.LeakyReLU(0.2))
            width = h
        if hidden and dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, out_dim))
        if out_act == "tanh":
            layers.append(nn.Tanh())
        elif out_act == "sigmoid":
            layers.append(nn.Sigmoid())
        super().__init__(*layers)


class MLPDiscriminator(nn.Sequential):
    """x [B, ...] (flattened) -> logits [B], an MLP with one output.

    `features(x)` are the last hidden layer's activations [B, feature_dim] and `head` the output
    layer, for a projection discriminator.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], **mlp_kwargs: Any) -> None:
        if not hidden:
            raise ValueError("a discriminator needs at least one hidden layer")
        super().__init__(nn.Flatten(), MLP(in_dim, hidden, 1, **mlp_kwargs), nn.Flatten(0))
        self.feature_dim = hidden[-1]

    @property
    def mlp(self) -> MLP:
        mlp = self[1]
        assert isinstance(mlp, MLP)
        return mlp

    def features(self, x: Tensor) -> Tensor:
        h = x.flatten(1)
        for layer in list(self.mlp)[:-1]:
            h = layer(h)
        return h

    @property
    def head(self) -> nn.Module:
        return self.mlp[-1]
