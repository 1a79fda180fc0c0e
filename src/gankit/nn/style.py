"""StyleGAN's building blocks: the mapping network, AdaIN, noise inputs (Karras et al. 2019, "A
Style-Based Generator Architecture for Generative Adversarial Networks") and the modulated
convolution of StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN"), with the FIR resampling filters both use.

Styles: a latent w [N, w_dim] is turned into per-channel statistics by a learned affine map
(an equalized dense layer). StyleGAN applies them after instance normalisation (AdaIN);
StyleGAN2 folds them into the convolution weights instead and normalises the weights
("demodulation"), which removes the droplet artifacts caused by AdaIN.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.nn.equalized import EqualizedLinear, PixelNorm

NoiseMode = Literal["random", "const", "none"]


# ---------------------------------------------------------------------------- FIR resampling
def fir_kernel(taps: Sequence[float]) -> Tensor:
    """The separable 2-D low-pass filter of 1-D `taps` ([1, 2, 1] in StyleGAN, [1, 3, 3, 1]
    in StyleGAN2), normalised to sum 1: [k, k]."""
    t = torch.tensor(taps, dtype=torch.float32)
    k = torch.outer(t, t)
    return k / k.sum()


def upfirdn2d(
    x: Tensor, kernel: Tensor, *, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)
) -> Tensor:
    """Upsample by zero insertion, pad, filter with `kernel` [k, k] (per channel), downsample
    by taking every `down`-th pixel: the resampling primitive of StyleGAN2.

    Shapes: [N, C, H, W] -> [N, C, (H·up + p0 + p1 − k) // down + 1, ...] (square padding
    (p0, p1) on each side). Upsampling multiplies the kernel by up² to keep the mean.
    """
    n, c, h, w = x.shape
    if up > 1:  # zero insertion: x lands on every up-th pixel
        z = x.new_zeros(n, c, h, up, w, up)
        z[:, :, :, 0, :, 0] = x
        x = z.reshape(n, c, h * up, w * up)
        kernel = kernel * up**2
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = kernel.flip([0, 1]).to(x).expand(c, 1, *kernel.shape)  # depthwise, true convolution
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


class Blur(nn.Module):
    """A fixed low-pass FIR filter [N, C, H, W] -> same size ('same' padding for odd taps;
    for even taps, `pad` says how)."""

    kernel: Tensor

    def __init__(self, taps: Sequence[float], *, pad: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.register_buffer("kernel", fir_kernel(taps), persistent=False)
        k = len(taps)
        self.pad = pad if pad is not None else ((k - 1) // 2, k // 2)

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


def upsample2d(x: Tensor, kernel: Tensor) -> Tensor:
    """×2 upsampling through an even FIR kernel (StyleGAN2's skip-generator image path)."""
    p = kernel.shape[0] - 2
    return upfirdn2d(x, kernel, up=2, pad=((p + 1) // 2 + 1, p // 2))


def downsample2d(x: Tensor, kernel: Tensor) -> Tensor:
    """×2 downsampling through an even FIR kernel (StyleGAN2's residual skip path)."""
    p = kernel.shape[0] - 2
    return upfirdn2d(x, kernel, down=2, pad=((p + 1) // 2, p // 2))


# ---------------------------------------------------------------------------- mapping
class MappingNetwork(nn.Module):
    """f: z [N, z_dim] -> w [N, w_dim], StyleGAN's 8-layer MLP (§2).

    z is normalised to unit mean square first (PixelNorm), then passes `layers` equalized dense
    layers with leaky ReLU(0.2). Every layer learns `lr_mul` (0.01) times slower than the
    synthesis network (appendix C: "we reduce the learning rate by two orders of magnitude for
    the mapping network"): the weights are stored divided by `lr_mul` and multiplied back at
    run time, so an optimiser step on the stored weights moves the effective ones lr_mul times
    as far.

    Args:
        z_dim, w_dim: latent sizes (512, 512).
        layers: dense layers (8).
        hidden: width of the hidden layers (512).
        lr_mul: learning-rate multiplier (0.01).
    """

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        *,
        layers: int = 8,
        hidden: int = 512,
        lr_mul: float = 0.01,
    ) -> None:
        super().__init__()
        if layers < 1:
            raise GankitError(f"the mapping network needs at least one layer, got {layers}")
        widths = [z_dim] + [hidden] * (layers - 1) + [w_dim]
        self.norm = PixelNorm()
        self.layers = nn.ModuleList(
            EqualizedLinear(a, b, lr_mul=lr_mul) for a, b in itertools.pairwise(widths)
        )
        self.z_dim, self.w_dim = z_dim, w_dim

    def forward(self, z: Tensor) -> Tensor:
        x = self.norm(z)  # [N, z_dim]
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
        return x  # [N, w_dim]


# ---------------------------------------------------------------------------- StyleGAN v1
class AdaIN(nn.Module):
    """Adaptive instance normalisation (StyleGAN §2, eq. 1): each channel of each sample is
    normalised to zero mean and unit variance over its pixels, then scaled and shifted by a
    style y = (y_s, y_b) = A(w), a learned affine map of w.

    As in the official code the scale is 1 + (affine output), so that a fresh layer starts near
    the identity. Shapes: x [N, C, H, W], w [N, w_dim] -> [N, C, H, W].
    """

    def __init__(self, channels: int, w_dim: int, *, eps: float = 1e-8) -> None:
        super().__init__()
        self.style = EqualizedLinear(w_dim, 2 * channels, gain=1.0)
        self.channels, self.eps = channels, eps

    def styles(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """(scale, bias) [N, C] each, from w [N, w_dim]."""
        s = self.style(w)
        return 1 + s[:, : self.channels], s[:, self.channels :]

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        x = x - x.mean(dim=(2, 3), keepdim=True)
        x = x * torch.rsqrt(x.square().mean(dim=(2, 3), keepdim=True) + self.eps)
        scale, bias = self.styles(w)
        return x * scale[:, :, None, None] + bias[:, :, None, None]


class NoiseInput(nn.Module):
    """Per-pixel noise inputs (StyleGAN §3.2): one N(0, 1) image per sample [N, 1, H, W],
    shared by all channels, added with a learned per-channel weight that starts at 0.

    Args:
        channels: feature maps of the layer; None learns one scalar strength for all of them
            (StyleGAN2's `noise_strength`).
        resolution: side of the layer's feature maps; when given, a fixed noise image is kept
            in a buffer for deterministic output (`mode="const"`, the official code's
            `randomize_noise=False` / `noise_mode='const'`).

    Modes of `forward`: "random" draws fresh noise from the global RNG, "const" adds the fixed
    buffer, "none" adds nothing.
    """

    fixed: Tensor | None

    def __init__(self, channels: int | None, resolution: int | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels if channels is not None else ()))
        fixed = torch.randn(1, 1, resolution, resolution) if resolution else None
        self.register_buffer("fixed", fixed)

    def forward(self, x: Tensor, mode: NoiseMode = "random") -> Tensor:
        n, _, h, w = x.shape
        if mode == "none":
            return x
        if mode == "const":
            if self.fixed is None or self.fixed.shape[-1] != w:
                raise GankitError("this noise input keeps no fixed noise of the right size")
            noise = self.fixed.to(x)
        else:
            noise = torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)
        weight = self.weight.view(1, -1, 1, 1) if self.weight.dim() else self.weight
        return x + noise * weight


# ---------------------------------------------------------------------------- StyleGAN2
class ModulatedConv2d(nn.Module):
    """StyleGAN2's weight (de)modulation (§2.2, eq. 1 and 3): the style s = A(w) [N, C_in]
    scales the input channels of the weight, w'_ijk = s_i · w_ijk, and demodulation rescales
    every output channel to unit norm, w''_ijk = w'_ijk / sqrt(Σ_ik w'_ijk² + ε), so that unit
    variance inputs give unit variance outputs — the statistics AdaIN enforced on the data,
    now enforced on the weights. Each sample has its own weights; the batch runs as one grouped
    convolution.

    Args:
        in_channels, out_channels: channels.
        kernel_size: odd square kernel (3; 1 for toRGB).
        w_dim: style latent size.
        demodulate: normalise the modulated weights (False for toRGB).
        up: ×2 upsampling: a transposed convolution with stride 2 followed by the FIR filter
            `fir` (StyleGAN2's [1, 3, 3, 1]).

    Shapes: x [N, C_in, H, W], w [N, w_dim] -> [N, C_out, H·(2 if up), W·(2 if up)].
    """

    fir: Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        *,
        demodulate: bool = True,
        up: bool = False,
        fir: Sequence[float] = (1, 3, 3, 1),
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.randn(shape))
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)  # equalized learning rate
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0, gain=1.0)
        self.register_buffer("fir", fir_kernel(fir), persistent=False)
        self.demodulate, self.up, self.eps = demodulate, up, eps
        self.padding = kernel_size // 2

    def modulated_weight(self, w: Tensor) -> Tensor:
        """The per-sample weights [N, C_out, C_in, k, k] for styles of w [N, w_dim]."""
        s = self.affine(w)  # [N, C_in]
        weight = self.weight[None] * self.scale * s[:, None, :, None, None]
        if self.demodulate:
            d = torch.rsqrt(weight.square().sum(dim=(2, 3, 4), keepdim=True) + self.eps)
            weight = weight * d
        return weight

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        n, c, h, width = x.shape
        weight = self.modulated_weight(w)  # [N, O, I, k, k]
        o, k = weight.shape[1], weight.shape[-1]
        x = x.reshape(1, n * c, h, width)  # the batch as groups of one grouped convolution
        if not self.up:
            out = F.conv2d(x, weight.reshape(n * o, c, k, k), padding=self.padding, groups=n)
            return out.reshape(n, o, h, width)
        # transposed conv: weights [N·I, O, k, k]; the flip makes it "zero-insert, then the
        # same correlation as conv2d", as in the official code
        wt = weight.flip([3, 4]).transpose(1, 2).reshape(n * c, o, k, k)
        out = F.conv_transpose2d(x, wt, stride=2, groups=n)  # [1, N·O, 2H + k − 2, ...]
        out = out.reshape(n, o, *out.shape[-2:])
        # the FIR filter (gain 4 = up², as zero insertion left 3 of 4 pixels empty) trims the
        # result back to 2H: the official code's padding for this case
        p = self.fir.shape[0] - 2 - (k - 1)
        return upfirdn2d(out, self.fir * 4, pad=((p + 1) // 2 + 1, p // 2 + 1))
