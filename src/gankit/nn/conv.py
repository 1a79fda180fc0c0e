"""DCGAN's all-convolutional generator and discriminator (Radford et al. 2016), any power-of-two
resolution from 8 up.

The architecture guidelines of the paper: strided (transposed) convolutions instead of pooling,
batch norm everywhere except the generator's output and the discriminator's input, ReLU in G with
tanh at the output, LeakyReLU(0.2) in D, no fully connected hidden layers (the projection of z is a
4×4 transposed convolution of the 1×1 input, which is the paper's "project and reshape").
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

from torch import Tensor, nn

from gankit.errors import GankitError

Norm = Literal["batch", "layer", "none"]


def check_resolution(resolution: int, *, minimum: int = 8, model: str | None = None) -> int:
    """Number of 2× stages between 4×4 and `resolution`; a power of two ≥ `minimum` (itself a
    power of two) is required.

    Args:
        model: who needs it, for the message ("dcgan"); given, the message also names the
            nearest sides that work, as `--resolution` values.

    Raises:
        GankitError: naming `model`, what it accepts, and the nearest accepted sides.
    """
    if resolution >= minimum and not resolution & (resolution - 1):
        return int(math.log2(resolution)) - 2
    if model is None:
        raise GankitError(
            f"resolution must be a power of two of at least {minimum}, got {resolution}"
        )
    odd = " (not a power of two)" if resolution > minimum else ""
    raise GankitError(
        f"{model} needs a power-of-two resolution of at least {minimum}, got {resolution}{odd}: "
        f"{resolution_hint(power_of_two_sides(resolution, minimum))}"
    )


def power_of_two_sides(resolution: int, minimum: int) -> list[int]:
    """The powers of two ≥ `minimum` nearest to `resolution`: the one below it and the one above
    (only `minimum` when `resolution` is below it)."""
    if resolution <= minimum:
        return [minimum]
    below = 1 << (resolution.bit_length() - 1)
    return [below] if below == resolution else [below, 2 * below]


def resolution_hint(sides: list[int]) -> str:
    """What to do, in the CLI's words: `use --resolution 16 or 32`."""
    return "use --resolution " + " or ".join(str(s) for s in sides)


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # normalises over (C, H, W) per sample: no batch dependence (WGAN-GP)
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def _widths(stages: int, base: int, maximum: int) -> list[int]:
    """Channels per stage, from the highest resolution (base) doubling toward 4×4 (capped)."""
    return [min(maximum, base * 2**i) for i in range(stages)]


class DCGANGenerator(nn.Module):
    """z [B, z_dim] -> images [B, C, R, R] in (−1, 1).

    Args:
        z_dim: latent size.
        channels: output image channels.
        resolution: output side, a power of two ≥ 8.
        base: channels of the last hidden layer (at R/2); each earlier stage doubles it up to
            `maximum` (the paper's 64×64 model: base 128 → 1024 channels at 4×4).
        norm: normalisation of the hidden layers.
    """

    def __init__(
        self,
        z_dim: int,
        channels: int,
        resolution: int,
        *,
        base: int = 128,
        maximum: int = 1024,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        stages = check_resolution(resolution)
        widths = _widths(stages, base, maximum)[::-1]  # 4×4 first
        bias = norm == "none"
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=bias),  # [B, w0, 4, 4]
            _norm(norm, widths[0]),
            nn.ReLU(),
        ]
        for w_in, w_out in itertools.pairwise(widths):
            layers += [
                nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=bias),
                _norm(norm, w_out),
                nn.ReLU(),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images [B, C, R, R] -> logits [B].

    Args:
        channels, resolution: input images.
        base: channels of the first layer; each later stage doubles it up to `maximum`.
        norm: normalisation after every conv but the first (`layer` or `none` for a WGAN-GP
            critic, whose penalty is per sample and so forbids batch norm).
    """

    def __init__(
        self,
        channels: int,
        resolution: int,
        *,
        base: int = 128,
        maximum: int = 1024,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        stages = check_resolution(resolution)
        widths = _widths(stages, base, maximum)
        bias = norm == "none"
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for w_in, w_out in itertools.pairwise(widths):
            layers += [
                nn.Conv2d(w_in, w_out, 4, 2, 1, bias=bias),
                _norm(norm, w_out),
                nn.LeakyReLU(0.2),
            ]
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 0))  # [B, 1, 1, 1]: one logit per image
        self.net = nn.Sequential(*layers)
        self.feature_dim = widths[-1] * 16

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()

    def features(self, x: Tensor) -> Tensor:
        """The last 4×4 feature map [B, C, 4, 4], before the output layer (`head`)."""
        return self.net[:-1](x)

    @property
    def head(self) -> nn.Module:
        return self.net[-1]
