"""Equalized learning rate layers, pixel-wise feature normalisation and the minibatch standard
deviation layer (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation", §3 and §4).

Equalized learning rate (§4.1): weights are stored as N(0, 1) and scaled at run time by He's
constant c = gain / sqrt(fan_in). Adaptive optimisers (Adam) normalise each update by its own
gradient's scale, so the update of the *stored* weight has the same size in every layer; scaling
at run time then makes the *effective* weight move at a rate relative to its own scale that is the
same in every layer, whatever its fan-in.

StyleGAN's learning-rate multiplier (Karras et al. 2019, appendix C) extends the trick: storing
w / lr_mul and multiplying by lr_mul at run time makes the effective learning rate lr · lr_mul
(the mapping network uses lr_mul = 0.01).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import GankitError


class EqualizedLinear(nn.Module):
    """Dense layer with equalized learning rate: x [N, in] -> [N, out].

    Args:
        in_features: input size (the fan-in).
        out_features: output size.
        bias: whether to add a bias.
        bias_init: initial value of the effective bias (StyleGAN initialises the style
            projection's bias to 1).
        lr_mul: learning-rate multiplier; the effective weight is `weight · scale` with
            `weight ~ N(0, 1 / lr_mul²)`, so it starts N(0, (gain²/fan_in)) and learns lr_mul
            times faster (or slower).
        gain: He's gain: sqrt(2) before a (leaky) ReLU, 1 for a linear output.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        gain: float = math.sqrt(2),
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.lr_mul = lr_mul
        self.scale = gain / math.sqrt(in_features) * lr_mul
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return F.linear(x, self.weight * self.scale, bias)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, bias={self.bias is not None}, "
            f"lr_mul={self.lr_mul}, scale={self.scale:.4g}"
        )


class EqualizedConv2d(nn.Module):
    """2-D convolution with equalized learning rate: [N, C_in, H, W] -> [N, C_out, H', W'].

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel side k; fan-in is in_channels · k².
        stride: convolution stride.
        padding: zero padding; default k // 2 ("same" for odd k at stride 1).
        bias: whether to add a bias (initialised to zero).
        lr_mul: learning-rate multiplier, as in `EqualizedLinear`.
        gain: He's gain: sqrt(2) before a (leaky) ReLU, 1 for a linear output (toRGB).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int | None = None,
        bias: bool = True,
        lr_mul: float = 1.0,
        gain: float = math.sqrt(2),
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding
        self.lr_mul = lr_mul
        self.scale = gain / math.sqrt(in_channels * kernel_size**2) * lr_mul
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.randn(shape) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return F.conv2d(x, self.weight * self.scale, bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}, "
            f"lr_mul={self.lr_mul}, scale={self.scale:.4g}"
        )


class PixelNorm(nn.Module):
    """Pixel-wise feature vector normalisation (ProGAN §4.2): each pixel's feature vector is
    scaled to unit mean square over channels, x / sqrt(mean_c(x²) + eps).

    Works on [N, C] (a latent) and [N, C, H, W] (feature maps): channels are dim 1.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (ProGAN §3): [N, C, H, W] -> [N, C + F, H, W].

    The batch is split into groups of G = min(group_size, N) samples (sample i belongs to group
    i mod N/G, as in the official code); for each group the standard deviation of every feature at
    every pixel over the G samples is averaged over the channels of each of F feature splits and
    over all pixels, and the resulting F scalars are appended as constant channels to every sample
    of the group. The discriminator thus sees the variation within the batch and can penalise a
    generator that has collapsed.

    Args:
        group_size: samples per group (4 in the paper); N must be divisible by min(group_size, N).
        num_features: F, the number of channel splits each giving one statistic (1 in ProGAN).
    """

    def __init__(self, group_size: int = 4, num_features: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size = group_size
        self.num_features = num_features
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        f = self.num_features
        if n % g:
            raise GankitError(
                f"minibatch stddev: batch size {n} is not divisible by the group size {g}; "
                "use a batch size that is a multiple of it"
            )
        if c % f:
            raise GankitError(f"minibatch stddev: {c} channels do not split into {f} features")
        y = x.reshape(g, n // g, f, c // f, h, w)  # [G, M, F, C/F, H, W]
        y = y - y.mean(dim=0)  # deviation from the group mean
        y = (y.pow(2).mean(dim=0) + self.eps).sqrt()  # std over the group  [M, F, C/F, H, W]
        y = y.mean(dim=(2, 3, 4))  # average over channels and pixels  [M, F]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)  # back to every sample  [N, F, H, W]
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_features={self.num_features}"
