"""The residual generator and discriminator of SAGAN and BigGAN, and the class conditioning of
their generators.

SAGAN (Zhang et al. 2019) and BigGAN (Brock et al. 2019) share one architecture, SN-GAN's
residual networks (Miyato et al. 2018) widened: G upsamples 4×4 features through one residual
block per resolution, D downsamples through one per resolution and projects the class
(Miyato & Koyama 2018). They differ in how G sees the class:

- SAGAN: conditional batch norm whose gain and bias are looked up per class
  (`ClassBatchNorm2d`); z enters only through the first linear layer.
- BigGAN: one *shared* class embedding (128-d), and a *hierarchical* z split into chunks, one
  for the first linear layer and one per block; each block's batch norms get their gains and
  biases as linear projections of [embedding(y), z_chunk] (`ConditionalBatchNorm2d`).

Widths follow the authors' code (BigGAN-PyTorch's `G_arch` / `D_arch`, the same as SAGAN's
TensorFlow release at 128×128): channel multipliers of a width `ch`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.nn.attention import SelfAttention2d

Init = Literal["ortho", "xavier", "default"]

# the authors' channel multipliers at the resolutions they trained; [4×4 input, block outputs…]
_G_WIDTHS = {256: (16, 16, 8, 8, 4, 2, 1), 512: (16, 16, 8, 8, 4, 2, 1, 1)}
_D_WIDTHS = {256: (1, 2, 4, 8, 8, 16, 16), 512: (1, 1, 2, 4, 8, 8, 16, 16)}


def generator_widths(resolution: int, ch: int) -> list[int]:
    """G's channels: at 4×4, then after each 2× upsampling block up to `resolution`.

    At 64 and 128 the authors' multipliers are 16·ch at 4×4 and 128/r·ch at resolution r (at
    most 16); smaller resolutions follow the same rule, 256 and 512 their own tables."""
    if resolution in _G_WIDTHS:
        return [m * ch for m in _G_WIDTHS[resolution]]
    sides = [2**k for k in range(3, int(math.log2(resolution)) + 1)]  # 8, 16, …, resolution
    return [16 * ch] + [min(16, 128 // r) * ch for r in sides]


def discriminator_widths(resolution: int, ch: int) -> list[int]:
    """D's channels after each block: one 2× downsampling block per resolution down to 4×4, then
    one block at 4×4 (which doubles the width, up to 16·ch)."""
    if resolution in _D_WIDTHS:
        return [m * ch for m in _D_WIDTHS[resolution]]
    down = [2**k for k in range(int(math.log2(resolution)) - 2)]  # 1, 2, 4, …
    return [m * ch for m in [*down, min(16, 2 * down[-1])]]


def z_chunks(z_dim: int, parts: int) -> list[int]:
    """Sizes of BigGAN's hierarchical z chunks: `parts` near-equal pieces of z (the first ones
    one longer when z_dim is not a multiple; the authors' code truncates z instead)."""
    if z_dim < parts:
        raise ValueError(f"z of {z_dim} features does not split into {parts} chunks")
    return [z_dim // parts + (i < z_dim % parts) for i in range(parts)]


def init_weights_(module: nn.Module, kind: Init) -> nn.Module:
    """The papers' initialisation of every conv, linear and embedding weight: orthogonal
    (BigGAN, after Saxe et al. 2014) or Glorot-uniform (SAGAN's TensorFlow code); biases 0.
    "default" keeps PyTorch's. Apply before spectral normalisation."""
    if kind == "default":
        return module
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear | nn.Embedding):
            if kind == "ortho":
                nn.init.orthogonal_(m.weight)
            else:
                nn.init.xavier_uniform_(m.weight)
            bias = getattr(m, "bias", None)
            if isinstance(bias, Tensor):
                nn.init.zeros_(bias)
    return module


# ---------------------------------------------------------------------- conditional batch norm
class ClassBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are looked up per class (de Vries et al. 2017; Miyato &
    Koyama 2018; SAGAN's generator): gains start at 1, biases at 0.

    Shapes: x [B, C, H, W], y [B] (class indices) -> [B, C, H, W].
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        # plain tables, not nn.Embedding: they are gains and biases, never spectrally normalised
        self.gain = nn.Parameter(torch.ones(num_classes, channels))
        self.bias = nn.Parameter(torch.zeros(num_classes, channels))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        gain, bias = self.gain[y], self.bias[y]  # [B, C]
        return self.bn(x) * gain[:, :, None, None] + bias[:, :, None, None]


class ConditionalBatchNorm2d(nn.Module):
    """BigGAN's conditional batch norm: gain = 1 + W_γ·c and bias = W_β·c, linear projections
    (without bias) of a condition vector c, [shared embedding(y), z chunk].

    Shapes: x [B, C, H, W], c [B, cond_dim] -> [B, C, H, W].
    """

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(cond_dim, channels, bias=False)
        self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        gain = 1 + self.gain(c)  # [B, C], around 1 from the start
        return self.bn(x) * gain[:, :, None, None] + self.bias(c)[:, :, None, None]


# ---------------------------------------------------------------------- residual blocks
class GBlock(nn.Module):
    """G's residual block: CBN-ReLU-upsample-conv3×3-CBN-ReLU-conv3×3, plus an upsampled 1×1
    convolution of the input.

    Args:
        norm: builds a conditional batch norm for a number of channels; the block passes its
            condition (labels or vectors) to both.

    Shapes: x [B, C_in, H, W], condition -> [B, C_out, 2H, 2W].
    """

    def __init__(self, in_ch: int, out_ch: int, norm: Callable[[int], nn.Module]) -> None:
        super().__init__()
        self.norm1, self.norm2 = norm(in_ch), norm(out_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.norm1(x, cond)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), cond)))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """D's residual block: (ReLU-)conv3×3-ReLU-conv3×3(-avgpool), plus a shortcut that is a 1×1
    convolution where the width or the size changes.

    Args:
        preactivation: start with a ReLU (all blocks but the first, which sees the image);
            the shortcut then convolves before pooling, else after.
        downsample: halve the resolution by 2×2 average pooling.

    Shapes: x [B, C_in, H, W] -> [B, C_out, H/2, W/2] (or [B, C_out, H, W]).
    """

    def __init__(self, in_ch: int, out_ch: int, *, downsample: bool, preactivation: bool) -> None:
        super().__init__()
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)  # "wide": hidden width is out_ch
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch or downsample else None

    def _pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def _shortcut(self, x: Tensor) -> Tensor:
        if self.skip is None:
            return x
        # (pooling first is cheaper; the first block must not pool after a ReLU it lacks)
        return self._pool(self.skip(x)) if self.preactivation else self.skip(self._pool(x))

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        return self._pool(h) + self._shortcut(x)


# ---------------------------------------------------------------------- networks
class BigGANGenerator(nn.Module):
    """The residual generator of SAGAN and BigGAN, class-conditional.

    Args:
        z_dim: latent features.
        num_classes: classes of the labels y.
        resolution: output side, a power of two ≥ 8.
        out_channels: image channels.
        ch: width multiplier (64 in SAGAN, 96 in BigGAN at 128×128).
        attention: add self-attention after the block that outputs this side (0: none).
        shared_dim: 0 for per-class batch-norm gains (SAGAN); > 0 for BigGAN's shared class
            embedding of this size, projected linearly into every batch norm.
        hierarchical: BigGAN's hierarchical z (needs `shared_dim`): z splits into one chunk
            for the first linear layer and one per block, concatenated to the embedding.

    Shapes: z [B, z_dim], y [B] -> x [B, out_channels, resolution, resolution] in (−1, 1).
    """

    def __init__(
        self,
        z_dim: int,
        num_classes: int,
        resolution: int,
        out_channels: int = 3,
        *,
        ch: int = 64,
        attention: int = 0,
        shared_dim: int = 0,
        hierarchical: bool = False,
    ) -> None:
        super().__init__()
        if hierarchical and not shared_dim:
            raise ValueError("a hierarchical z enters through the shared embedding's projections")
        widths = generator_widths(resolution, ch)
        n = len(widths) - 1
        self.chunks = z_chunks(z_dim, n + 1) if hierarchical else [z_dim]
        self.hierarchical = hierarchical
        self.shared = nn.Embedding(num_classes, shared_dim) if shared_dim else None
        self.linear = nn.Linear(self.chunks[0], widths[0] * 16)
        self.blocks = nn.ModuleList(
            GBlock(widths[i], widths[i + 1], self._norm_factory(i, num_classes, shared_dim))
            for i in range(n)
        )
        sides = [8 * 2**i for i in range(n)]  # each block's output side
        self.attention_after = sides.index(attention) if attention in sides else -1
        self.attention = (
            SelfAttention2d(widths[self.attention_after + 1]) if attention in sides else None
        )
        self.out = nn.Sequential(
            nn.BatchNorm2d(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], out_channels, 3, padding=1)
        )

    def _norm_factory(
        self, block: int, num_classes: int, shared_dim: int
    ) -> Callable[[int], nn.Module]:
        if not shared_dim:
            return lambda c: ClassBatchNorm2d(c, num_classes)
        cond_dim = shared_dim + (self.chunks[block + 1] if self.hierarchical else 0)
        return lambda c: ConditionalBatchNorm2d(c, cond_dim)

    def conditions(self, z: Tensor, y: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The first linear layer's input and each block's condition."""
        if self.shared is None:
            return z, [y] * len(self.blocks)
        e = self.shared(y).to(z.dtype)  # [B, shared_dim]
        if not self.hierarchical:
            return z, [e] * len(self.blocks)
        first, *rest = z.split(self.chunks, dim=1)
        return first, [torch.cat([e, chunk], 1) for chunk in rest]

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if y is None:
            raise ValueError("this generator is class-conditional: pass labels y [B]")
        first, conds = self.conditions(z, y)
        h = self.linear(first).unflatten(1, (-1, 4, 4))  # [B, 16·ch, 4, 4]
        for i, block in enumerate(self.blocks):
            h = block(h, conds[i])  # [B, C_i, 8·2^i, 8·2^i]
            if i == self.attention_after and self.attention is not None:
                h = self.attention(h)
        return torch.tanh(self.out(h))


class BigGANDiscriminator(nn.Module):
    """The residual discriminator of SAGAN and BigGAN, before its class projection: wrap it in
    `ProjectionDiscriminator` (which reads `features`, `head` and `feature_dim`).

    Args:
        in_channels: image channels.
        resolution: input side, a power of two ≥ 8.
        ch: width multiplier.
        attention: add self-attention after the block that outputs this side (0: none).

    Shapes: features: x [B, C, R, R] -> [B, 16·ch] (ReLU, then summed over positions);
    forward: -> unconditional logits [B].
    """

    def __init__(self, in_channels: int, resolution: int, *, ch: int = 64, attention: int = 0):
        super().__init__()
        widths = discriminator_widths(resolution, ch)
        ins = [in_channels, *widths[:-1]]
        n = len(widths)
        self.blocks = nn.ModuleList(
            DBlock(ins[i], widths[i], downsample=i < n - 1, preactivation=i > 0) for i in range(n)
        )
        sides = [max(resolution // 2 ** (i + 1), 4) for i in range(n)]  # each block's output
        self.attention_after = sides.index(attention) if attention in sides else -1
        self.attention = (
            SelfAttention2d(widths[self.attention_after]) if attention in sides else None
        )
        self.feature_dim = widths[-1]
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: Tensor) -> Tensor:
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_after and self.attention is not None:
                h = self.attention(h)
        return F.relu(h).sum(dim=(2, 3))  # [B, 16·ch]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).flatten()
