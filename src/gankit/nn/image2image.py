"""Building blocks of the image-to-image models: pix2pix's U-Net and PatchGAN (Isola et al. 2017),
CycleGAN's ResNet generator and history pool (Zhu et al. 2017), DiscoGAN's encoder-decoder and
discriminator (Kim et al. 2017), and the constant-then-linear learning-rate schedule.

Every generator maps images in [-1, 1] to images in [-1, 1] (tanh) of the same side, with any
number of channels in and out; inputs may be any size that is a multiple of the generator's
`multiple` (its total downsampling), not only the training resolution. A convolution followed
by a normalisation has no bias: the normalisation subtracts the channel mean, which would cancel
the bias and leave it a zero gradient (the official CycleGAN code keeps one, to no effect).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.nn.conv import check_resolution

Norm = Literal["batch", "instance"]


# ---------------------------------------------------------------------------- normalisation
class ImageStatsBatchNorm2d(nn.BatchNorm2d):
    """Batch norm that, in eval mode, normalises each image by its own statistics.

    Pix2pix's test-time rule: "we apply batch normalization using the statistics of the test
    batch", at the official test batch of one image. Per-image statistics keep that meaning
    whatever the number of images translated together. Training mode is ordinary batch norm, and
    the running statistics are kept (and saved) so that `image_stats=False` gives the usual
    eval-mode behaviour from the same weights.
    """

    def __init__(self, channels: int, *, image_stats: bool = True) -> None:
        super().__init__(channels)
        self.image_stats = image_stats

    def forward(self, x: Tensor) -> Tensor:
        if self.training or not self.image_stats:
            return super().forward(x)
        # batch norm of one image in training mode is exactly an instance norm with BN's affine
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


class InferenceDropout(nn.Dropout):
    """Dropout that can stay active in eval mode: pix2pix's only source of noise, which the paper
    keeps at test time. `at_test=False` is ordinary dropout."""

    def __init__(self, p: float, *, at_test: bool = True) -> None:
        super().__init__(p)
        self.at_test = at_test

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training or self.at_test)


def norm2d(kind: Norm, channels: int, *, image_stats: bool = False) -> nn.Module:
    """Batch norm (optionally per-image in eval mode) or instance norm without affine parameters
    (CycleGAN's official choice)."""
    if kind == "batch":
        return ImageStatsBatchNorm2d(channels, image_stats=image_stats)
    return nn.InstanceNorm2d(channels)


def _widths(n: int, base: int, maximum: int) -> list[int]:
    """Channels of n stride-2 stages: base, doubling, capped at maximum (C64-C128-C256-C512-...)."""
    return [min(base * 2**i, maximum) for i in range(n)]


def check_power_of_two(resolution: int, *, minimum: int, model: str) -> int:
    """log2(resolution); raises GankitError unless it is a power of two ≥ `minimum` (the rule
    and its message are `gankit.nn.conv.check_resolution`'s)."""
    return check_resolution(resolution, minimum=minimum, model=model) + 2


def check_images(x: Tensor, channels: int, multiple: int, *, what: str) -> None:
    """Raise GankitError unless x is [N, channels, H, W] with H and W multiples of `multiple`."""
    if x.dim() != 4 or x.shape[1] != channels:
        raise GankitError(f"{what} takes images [N, {channels}, H, W], got {tuple(x.shape)}")
    if x.shape[-1] % multiple or x.shape[-2] % multiple:
        raise GankitError(
            f"{what} needs sides that are multiples of {multiple}, got "
            f"{x.shape[-2]}×{x.shape[-1]} (pad the image)"
        )


# ---------------------------------------------------------------------------- pix2pix U-Net
class UNetGenerator(nn.Module):
    """Pix2pix's U-Net (Isola et al. 2017, appendix 6.1.1): encoder C64-C128-C256-C512-C512-...
    down to 1×1 (4×4 convolutions of stride 2, leaky ReLU 0.2), decoder of 4×4 transposed
    convolutions (ReLU) whose every block sees the mirrored encoder block's output concatenated
    to its input, tanh out.

    Args:
        in_channels, out_channels: image channels of the source and the target domain.
        resolution: the training side, a power of two ≥ 8; the depth is log2(resolution), so
            the bottleneck is 1×1 there (8 stages at 256, as the paper).
        base, maximum: channels of the first stage, doubling per stage up to `maximum`.
        dropout, dropout_blocks: dropout rate and how many decoder blocks, from the bottleneck
            out, apply it (the paper's CD512 ×3; the official code shifts them one block outward).
        norm: normalisation of every stage but the first encoder one and the 1×1 bottleneck (a
            single image's 1×1 map has no variance: batch norm at batch 1 would zero it; the
            official code leaves it out there too).
        paper_inference: in eval mode keep dropout on and normalise each image by its own
            statistics, as the paper's test time; False gives the usual eval mode.

    Shapes: [N, in_channels, H, W] -> [N, out_channels, H, W], H and W multiples of `multiple`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        resolution: int,
        *,
        base: int = 64,
        maximum: int = 512,
        dropout: float = 0.5,
        dropout_blocks: int = 3,
        norm: Norm = "batch",
        paper_inference: bool = True,
    ) -> None:
        super().__init__()
        depth = check_power_of_two(resolution, minimum=8, model="the U-Net")
        widths = _widths(depth, base, maximum)
        self.multiple = 2**depth
        self.down = nn.ModuleList()
        for i, w in enumerate(widths):
            normed = 0 < i < depth - 1
            layers: list[nn.Module] = [nn.LeakyReLU(0.2)] if i else []
            layers.append(
                nn.Conv2d(widths[i - 1] if i else in_channels, w, 4, 2, 1, bias=not normed)
            )
            if normed:
                layers.append(norm2d(norm, w, image_stats=paper_inference))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for j, i in enumerate(range(depth - 1, 0, -1)):  # from the bottleneck out
            w_in = widths[i] * (1 if i == depth - 1 else 2)  # inner blocks also see their skip
            layers = [
                nn.ReLU(),
                nn.ConvTranspose2d(w_in, widths[i - 1], 4, 2, 1, bias=False),
                norm2d(norm, widths[i - 1], image_stats=paper_inference),
            ]
            if j < dropout_blocks and dropout > 0:
                layers.append(InferenceDropout(dropout, at_test=paper_inference))
            self.up.append(nn.Sequential(*layers))
        self.out = nn.Sequential(
            nn.ReLU(), nn.ConvTranspose2d(2 * widths[0], out_channels, 4, 2, 1), nn.Tanh()
        )

    @property
    def depth(self) -> int:
        return len(self.down)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for block in self.down:  # [N, w_i, H / 2^(i+1), W / 2^(i+1)]
            x = block(x)
            skips.append(x)
        h = skips.pop()  # the bottleneck [N, w_last, H / 2^depth, W / 2^depth]
        for block in self.up:
            h = torch.cat([block(h), skips.pop()], 1)  # [N, 2·w_i, ...]: output ‖ skip
        return self.out(h)  # [N, out_channels, H, W]


# ---------------------------------------------------------------------------- PatchGAN
def patch_layers(resolution: int) -> int:
    """The PatchGAN's stride-2 layers for a resolution: 3 at 256 (the 70×70 discriminator), one
    fewer per halving and one more per doubling, at least 1. The receptive field (16, 34, 70,
    142, ... for 1, 2, 3, 4, ... layers) so stays about 27% of the image side from 64 up (16/64,
    34/128, 70/256, 142/512); below 64 a single layer sees 16 pixels."""
    return max(1, int(math.log2(resolution)) - 5)


def check_patch_layers(resolution: int, layers: int, *, model: str) -> None:
    """Raise GankitError unless a PatchGAN of `layers` stride-2 layers leaves at least one logit
    on images of side `resolution`: H / 2^layers − 2 ≥ 1, so the side must be ≥ 3·2^layers."""
    smallest = 3 * 2**layers
    if resolution < smallest:
        raise GankitError(
            f"{model}'s PatchGAN with model.d_layers={layers} needs a resolution of at least "
            f"{smallest} (each of its stride-2 layers halves the image, and a patch of logits "
            f"must be left), got {resolution}: lower model.d_layers, or leave it unset to scale "
            "with the resolution"
        )


def patch_receptive_field(layers: int) -> int:
    """The receptive field of one PatchGAN output, in input pixels, for `layers` stride-2 layers:
    the last two 4×4 stride-1 convolutions see 4 + 3 = 7, each stride-2 layer maps r to 2r + 2."""
    r = 7
    for _ in range(layers):
        r = 2 * r + 2
    return r


class PatchDiscriminator(nn.Module):
    """The PatchGAN of pix2pix and CycleGAN: C64-C128-C256 (4×4, stride 2) then C512 (stride 1)
    and a 4×4 convolution to one logit per patch, leaky ReLU 0.2, no normalisation on the first
    layer. With 3 stride-2 layers each logit judges a 70×70 patch.

    Args:
        in_channels: input channels (pix2pix: source and target concatenated).
        layers: stride-2 layers (see `patch_layers` for the rule that scales them).
        base, maximum: channels of the first layer, doubling per layer up to `maximum`.
        norm: batch norm (pix2pix) or instance norm (CycleGAN).

    Shapes: [N, in_channels, H, W] -> logits [N, 1, H', W'], H' = H / 2^layers − 2.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        layers: int = 3,
        base: int = 64,
        maximum: int = 512,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        if layers < 1:
            raise GankitError(f"a PatchGAN needs at least one stride-2 layer, got {layers}")
        widths = _widths(layers + 1, base, maximum)
        seq: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for i in range(1, layers + 1):
            stride = 2 if i < layers else 1  # the last hidden layer keeps the size
            seq += [
                nn.Conv2d(widths[i - 1], widths[i], 4, stride, 1, bias=False),
                norm2d(norm, widths[i]),
                nn.LeakyReLU(0.2),
            ]
        seq.append(nn.Conv2d(widths[-1], 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)
        self.layers = layers

    @property
    def receptive_field(self) -> int:
        return patch_receptive_field(self.layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


# ---------------------------------------------------------------------------- CycleGAN ResNet
class ResidualBlock(nn.Module):
    """CycleGAN's R_k: two 3×3 convolutions with reflection padding and instance norm, ReLU
    between, added to the input. [N, C, H, W] -> [N, C, H, W]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    """CycleGAN's generator (Zhu et al. 2017, appendix 7.2, after Johnson et al. 2016):
    c7s1-64, d128, d256, R256 × blocks, u128, u64, c7s1-C; instance norm and ReLU after every
    convolution but the last (tanh), reflection padding around the 7×7 and residual
    convolutions, 3×3 stride-2 convolutions down and transposed convolutions up.

    Args:
        in_channels, out_channels: image channels of the source and target domain.
        base: channels of the first layer (64); the two downsamplings double it twice.
        blocks: residual blocks (the paper: 6 for 128×128 images, 9 for 256×256 and larger).

    Shapes: [N, in_channels, H, W] -> [N, out_channels, H, W], H and W multiples of 4.
    """

    multiple = 4

    def __init__(self, in_channels: int, out_channels: int, *, base: int = 64, blocks: int = 9):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, base, 7, bias=False),
            nn.InstanceNorm2d(base),
            nn.ReLU(),
        ]
        for w in (base, 2 * base):  # d128, d256
            layers += [
                nn.Conv2d(w, 2 * w, 3, 2, 1, bias=False),
                nn.InstanceNorm2d(2 * w),
                nn.ReLU(),
            ]
        layers += [ResidualBlock(4 * base) for _ in range(blocks)]
        for w in (4 * base, 2 * base):  # u128, u64
            layers += [
                nn.ConvTranspose2d(w, w // 2, 3, 2, 1, output_padding=1, bias=False),
                nn.InstanceNorm2d(w // 2),
                nn.ReLU(),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(base, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    @property
    def blocks(self) -> int:
        return sum(isinstance(m, ResidualBlock) for m in self.net)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def resnet_blocks(resolution: int) -> int:
    """CycleGAN's residual blocks for a training resolution: 9 from 256 up, 6 below."""
    return 9 if resolution >= 256 else 6


# ---------------------------------------------------------------------------- DiscoGAN
def _down(c_in: int, c_out: int, *, normed: bool) -> list[nn.Module]:
    """A 4×4 stride-2 convolution, batch norm (but on the first layer), leaky ReLU 0.2."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)]
    if normed:
        layers.append(nn.BatchNorm2d(c_out))
    return [*layers, nn.LeakyReLU(0.2)]


class EncoderDecoderGenerator(nn.Module):
    """DiscoGAN's generator (Kim et al. 2017): 4×4 stride-2 convolutions with batch norm and
    leaky ReLU 0.2 down to 4×4, then 4×4 stride-2 transposed convolutions with batch norm and
    ReLU back up; no skip connections, so everything passes the 4×4 bottleneck. At 64×64 this
    is the official code's C64-C128-C256-C512 / 256-128-64-C. The official code has no biases
    and a sigmoid out for images in [0, 1]; tanh here, for gankit's [-1, 1].

    Args:
        in_channels, out_channels: image channels of the source and target domain.
        resolution: the training side, a power of two ≥ 8 (log2(R) − 2 stages).
        base, maximum: channels of the first stage, doubling per stage up to `maximum`.

    Shapes: [N, in_channels, H, W] -> [N, out_channels, H, W], H and W multiples of `multiple`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        resolution: int,
        *,
        base: int = 64,
        maximum: int = 512,
    ) -> None:
        super().__init__()
        stages = check_power_of_two(resolution, minimum=8, model="DiscoGAN") - 2
        widths = _widths(stages, base, maximum)
        self.multiple = 2**stages
        layers = _down(in_channels, widths[0], normed=False)
        for w_in, w_out in itertools.pairwise(widths):
            layers += _down(w_in, w_out, normed=True)
        for w_in, w_out in zip(widths[::-1], widths[-2::-1]):
            layers += [
                nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(w_out),
                nn.ReLU(),
            ]
        layers += [nn.ConvTranspose2d(widths[0], out_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class EncoderDiscriminator(nn.Module):
    """DiscoGAN's discriminator: the generator's encoder (4×4 stride-2 convolutions, batch norm
    but on the first, leaky ReLU 0.2) down to 4×4, then a 4×4 convolution to one logit.

    `features(x)` also returns the activations of every normalised stage (the official code's
    relu2-relu4 at 64×64), which the generator matches in the official code's loss.

    Args:
        in_channels: image channels.
        resolution: the image side, a power of two ≥ 8.
        base, maximum: channels of the first stage, doubling up to `maximum`.

    Shapes: [N, in_channels, R, R] -> logits [N].
    """

    def __init__(self, in_channels: int, resolution: int, *, base: int = 64, maximum: int = 512):
        super().__init__()
        stages = check_power_of_two(resolution, minimum=8, model="DiscoGAN") - 2
        widths = _widths(stages, base, maximum)
        self.stages = nn.ModuleList([nn.Sequential(*_down(in_channels, widths[0], normed=False))])
        for w_in, w_out in itertools.pairwise(widths):
            self.stages.append(nn.Sequential(*_down(w_in, w_out, normed=True)))
        self.head = nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)  # 4×4 -> 1×1

    def features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(logits [N], activations of stages 2.. [N, w_i, R / 2^(i+1), R / 2^(i+1)]), through
        `forward`, so that hooks on this module (augmentation) see these calls too."""
        return self(x, features=True)

    def forward(self, x: Tensor, features: bool = False) -> Any:
        feats = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i:
                feats.append(x)
        logits = self.head(x).flatten()
        return (logits, feats) if features else logits


# ---------------------------------------------------------------------------- history pool
class ImagePool(nn.Module):
    """CycleGAN's history of generated images (Shrivastava et al. 2017): the discriminator sees
    a mix of the newest fakes and older ones, which damps oscillation.

    `query(fakes)` stores each image while the pool is filling and returns it unchanged; once
    full, each image is, with probability ½, swapped for a uniformly chosen stored one (which is
    returned, the new image taking its place), else returned as it is. The images and their
    count are buffers, so a checkpoint keeps the pool and a resumed run continues exactly; the
    coin flips come from torch's global (CPU) generator, which the Trainer checkpoints.
    `rank_local`: under torchrun each process keeps its own pool (the Trainer does not average
    these buffers).

    Args:
        size: images kept (50 in the paper); 0 disables the pool (`query` returns its input).
        shape: one image's shape (C, H, W).
    """

    rank_local = True
    images: Tensor
    count: Tensor

    def __init__(self, size: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        if size < 0:
            raise GankitError(f"the history pool size must not be negative, got {size}")
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))  # [size, C, H, W]
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: Tensor) -> Tensor:
        """Images [N, C, H, W] for the discriminator, in place of `fakes` [N, C, H, W]."""
        if self.size == 0:
            return fakes.detach()
        n = fakes.shape[0]
        # drawn for every image, full pool or not, so that the draws do not depend on the fill
        coins, slots = torch.rand(n).tolist(), torch.randint(self.size, (n,)).tolist()
        out, count = fakes.detach().clone(), int(self.count)
        for i in range(n):
            if count < self.size:
                self.images[count] = fakes[i]
                count += 1
            elif coins[i] < 0.5:
                j = slots[i]
                out[i] = self.images[j]
                self.images[j] = fakes[i]
        self.count.fill_(count)
        return out


# ---------------------------------------------------------------------------- schedules
def constant_then_linear(decay_start: float) -> Callable[[int, int], float]:
    """A `Phase.lr_scale`: factor 1 for the first `decay_start` fraction of the run, then falling
    linearly to 0 at its end (CycleGAN's 100 epochs at 2e-4, then 100 decaying to 0, is
    `decay_start` 0.5). 1.0 keeps the rate constant."""
    if not 0.0 <= decay_start <= 1.0:
        raise GankitError(f"decay_start must be a fraction of the run in [0, 1], got {decay_start}")

    def scale(step: int, total_steps: int) -> float:
        start = decay_start * total_steps
        if step < start or total_steps <= start:
            return 1.0
        return max(0.0, (total_steps - step) / (total_steps - start))

    return scale
