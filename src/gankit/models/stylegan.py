"""StyleGAN: Karras et al. 2019, "A Style-Based Generator Architecture for Generative Adversarial
Networks" (`model.version=1`), and StyleGAN2: Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN" (`model.version=2`, the paper's config F).

The generator maps z through an 8-layer MLP to w, broadcasts w to one style per layer
(`num_ws` = 2·log2(R) − 2) and synthesises the image from a learned constant 4×4 input:
- v1: per resolution two 3×3 convolutions (the first after nearest ×2 upsampling, followed by
  a [1, 2, 1] blur), each followed by per-pixel noise, bias, leaky ReLU and AdaIN; one toRGB.
- v2: modulated/demodulated convolutions (no AdaIN; noise and bias outside the normalisation),
  a "skip" generator that sums the upsampled toRGB outputs of every resolution, and a residual
  discriminator.

Both train with the non-saturating logistic loss, R1 on real images as a lazy phase, style
mixing regularisation, a tracked average w for the truncation trick, and an EMA of G; v2 adds
lazy path-length regularisation.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import losses
from gankit.config import NonNegFloat, NonNegInt, PosFloat, PosInt, UnitFloat
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.models.adversarial import mean_prob
from gankit.models.base import GANModel, ModelConfig, OptimConfig, Phase, register_model
from gankit.nn.conv import check_resolution
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStdDev
from gankit.nn.style import (
    AdaIN,
    Blur,
    MappingNetwork,
    ModulatedConv2d,
    NoiseInput,
    NoiseMode,
    downsample2d,
    fir_kernel,
    upsample2d,
)

SQRT2 = math.sqrt(2)
COARSE_LAYERS = 4  # the styles of 4²–8² (StyleGAN §3.1: "coarse styles", pose and face shape)


def _adam() -> OptimConfig:
    return OptimConfig("adam", 2e-3, (0.0, 0.99), eps=1e-8)


@dataclass
class StyleGANConfig(ModelConfig):
    """The papers' settings (FFHQ 1024²), with these deviations:

    - v1 trains at its final resolution from the start, without progressive growing (the
      official v1 grew from 8² as ProGAN did; StyleGAN2 §4 drops growing), so it has only the
      last toRGB layer (7.6k fewer parameters at 1024²).
    - R1 is lazy for v1 too (every 16 steps, penalty × 16), the StyleGAN2 scheme; the official
      v1 applied it every step (`r1_every=1` does that, inside the D phase).
    - The lazy phases (R1, PL) step D's (G's) own Adam, as the official code does (`shares`),
      but StyleGAN2's lazy adjustment of Adam's lr and β (× 16/17) is not applied.
    - Samples are drawn with the fixed noise buffers in eval mode (`noise_mode='const'` of
      the official generate script), random noise in training.

    Args:
        version: 1 (StyleGAN, AdaIN) or 2 (StyleGAN2 config F: demodulation, skip G,
            residual D, path-length regularisation).
        z_dim, w_dim: latent sizes (512, 512).
        mapping_layers, mapping_lr_mul: the mapping MLP's depth (8) and learning-rate
            multiplier (0.01).
        channel_base, channel_max: feature maps at side 2^r are min(channel_base / 2^(r−1),
            channel_max), and at least 1 (StyleGAN2's `fmap_min`, so that a narrow preset
            still builds at every resolution); None takes the version's official value (v1
            8192: 512 up to 32², then 256, 128, 64, 32, 16 at 1024²; v2 config F 16384: 512 up
            to 64², then 256, 128, 64, 32 at 1024²).
        style_mixing: probability of mixing two latents at a random crossover layer (0.9).
        truncation_cutoff: layers that truncation applies to; None takes the version's
            default (v1: 8, the 4²–32² layers, as the official v1 code; v2: all layers).
        w_avg_decay: EMA decay of the tracked average w (0.995 per step).
        r1_gamma: weight γ of R1, γ/2·E‖∇D(x)‖² on reals (10 for FFHQ).
        r1_every: R1's interval (16); 1 adds it to every D step.
        pl_weight: path-length regularisation weight; None: 2 for v2, 0 (off) for v1.
        pl_every, pl_decay, pl_batch_shrink: its interval (4), the decay of its running
            mean (0.01), and the batch fraction it uses (1/2).
        mbstd_group: minibatch standard deviation group size (4).
        g_opt, d_opt: Adam(0.002, β = (0, 0.99), ε = 1e-8).
    """

    z_dim: PosInt = 512
    w_dim: PosInt = 512
    version: Literal[1, 2] = 1
    mapping_layers: PosInt = 8
    mapping_lr_mul: PosFloat = 0.01
    channel_base: PosInt | None = None
    channel_max: PosInt = 512
    style_mixing: UnitFloat = 0.9
    truncation_cutoff: NonNegInt | None = None
    w_avg_decay: UnitFloat = 0.995
    r1_gamma: NonNegFloat = 10.0
    r1_every: PosInt = 16
    pl_weight: NonNegFloat | None = None
    pl_every: PosInt = 4
    pl_decay: UnitFloat = 0.01
    pl_batch_shrink: PosInt = 2
    mbstd_group: PosInt = 4
    g_opt: OptimConfig = field(default_factory=_adam)
    d_opt: OptimConfig = field(default_factory=_adam)


def _widths(cfg: StyleGANConfig, resolution: int) -> dict[int, int]:
    """Feature maps per side (4, 8, ..., resolution): the official nf(log2(side) − 1)."""
    base = cfg.channel_base or (8192 if cfg.version == 1 else 16384)
    out = {}
    for r in range(2, int(math.log2(resolution)) + 1):
        out[2**r] = max(1, min(base // 2 ** (r - 1), cfg.channel_max))
    return out


# ============================================================================ generator (v1)
class StyleLayer(nn.Module):
    """One StyleGAN layer: [conv (after ×2 upsampling, then blur)] → noise → bias → leaky ReLU
    → AdaIN. Without `in_channels` it has no convolution (the constant input's layer)."""

    def __init__(
        self, in_channels: int | None, channels: int, w_dim: int, side: int, *, up: bool
    ) -> None:
        super().__init__()
        self.conv = EqualizedConv2d(in_channels, channels, 3, bias=False) if in_channels else None
        self.blur = Blur((1, 2, 1)) if up else None
        self.noise = NoiseInput(channels, side)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.adain = AdaIN(channels, w_dim)
        self.up = up

    def forward(self, x: Tensor, w: Tensor, noise: NoiseMode) -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if self.conv is not None:
            x = _dense_conv(self.conv, x)
        if self.blur is not None:
            x = self.blur(x)
        x = self.noise(x, noise) + self.bias.view(1, -1, 1, 1)
        return self.adain(F.leaky_relu(x, 0.2), w)


class SynthesisV1(nn.Module):
    """StyleGAN's synthesis network: ws [N, num_ws, w_dim] -> images [N, C, R, R]."""

    def __init__(self, widths: dict[int, int], w_dim: int, channels: int) -> None:
        super().__init__()
        sides = list(widths)
        self.const = nn.Parameter(torch.randn(1, widths[4], 4, 4))
        layers = [StyleLayer(None, widths[4], w_dim, 4, up=False)]
        layers.append(StyleLayer(widths[4], widths[4], w_dim, 4, up=False))
        for prev, side in itertools.pairwise(sides):
            layers.append(StyleLayer(widths[prev], widths[side], w_dim, side, up=True))
            layers.append(StyleLayer(widths[side], widths[side], w_dim, side, up=False))
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualizedConv2d(widths[sides[-1]], channels, 1, gain=1.0)
        self.num_ws = len(layers)

    def forward(self, ws: Tensor, noise: NoiseMode) -> Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1).contiguous()  # [N, C, 4, 4]
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], noise)
        return _dense_conv(self.to_rgb, x)  # [N, channels, R, R], linear, as the paper's


def _dense_conv(conv: EqualizedConv2d, x: Tensor) -> Tensor:
    """`conv(x)` in the contiguous memory format whatever the layout of its weight: v1's
    linear output sums activations of magnitude ~10, whose rounding differs between the
    channels-last and the contiguous algorithms by more than the images can tolerate; this way a
    generator trained channels-last and the same one loaded afresh sample the same images."""
    weight = (conv.weight * conv.scale).contiguous()
    bias = conv.bias * conv.lr_mul if conv.bias is not None else None
    return F.conv2d(x.contiguous(), weight, bias, stride=conv.stride, padding=conv.padding)


# ============================================================================ generator (v2)
class ModulatedLayer(nn.Module):
    """One StyleGAN2 layer: modulated conv (optionally ×2 up) → noise → bias → leaky ReLU·√2."""

    def __init__(self, in_channels: int, channels: int, w_dim: int, side: int, *, up: bool):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 3, w_dim, up=up)
        self.noise = NoiseInput(None, side)  # one learned strength per layer (official v2)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor, noise: NoiseMode) -> Tensor:
        x = self.noise(self.conv(x, w), noise) + self.bias.view(1, -1, 1, 1)
        return F.leaky_relu(x, 0.2) * SQRT2


class ToRGB(nn.Module):
    """Modulated 1×1 conv without demodulation, plus a bias: features -> image channels."""

    def __init__(self, in_channels: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w) + self.bias.view(1, -1, 1, 1)


class SynthesisV2(nn.Module):
    """StyleGAN2's skip synthesis network: ws [N, num_ws, w_dim] -> images [N, C, R, R].

    Layer i of side s reads style i; the toRGB of side s reads the style of the next side's
    first layer (the official indexing), so num_ws = 2·log2(R) − 2.
    """

    fir: Tensor

    def __init__(self, widths: dict[int, int], w_dim: int, channels: int) -> None:
        super().__init__()
        sides = list(widths)
        self.const = nn.Parameter(torch.randn(1, widths[4], 4, 4))
        self.convs = nn.ModuleList([ModulatedLayer(widths[4], widths[4], w_dim, 4, up=False)])
        self.torgbs = nn.ModuleList([ToRGB(widths[4], channels, w_dim)])
        for prev, side in itertools.pairwise(sides):
            self.convs.append(ModulatedLayer(widths[prev], widths[side], w_dim, side, up=True))
            self.convs.append(ModulatedLayer(widths[side], widths[side], w_dim, side, up=False))
            self.torgbs.append(ToRGB(widths[side], channels, w_dim))
        self.register_buffer("fir", fir_kernel((1, 3, 3, 1)), persistent=False)
        self.num_ws = len(self.convs) + 1

    def forward(self, ws: Tensor, noise: NoiseMode) -> Tensor:
        x = self.convs[0](self.const.expand(ws.shape[0], -1, -1, -1), ws[:, 0], noise)
        img = self.torgbs[0](x, ws[:, 1])  # [N, C, 4, 4]
        for b, torgb in enumerate(self.torgbs[1:], start=1):
            x = self.convs[2 * b - 1](x, ws[:, 2 * b - 1], noise)
            x = self.convs[2 * b](x, ws[:, 2 * b], noise)
            img = upsample2d(img, self.fir) + torgb(x, ws[:, 2 * b + 1])
        return img


class Generator(nn.Module):
    """z -> w (mapping) -> images (synthesis); `w_avg` [w_dim] is the tracked mean of w."""

    w_avg: Tensor

    def __init__(self, cfg: StyleGANConfig, channels: int, resolution: int) -> None:
        super().__init__()
        self.mapping = MappingNetwork(
            cfg.z_dim, cfg.w_dim, layers=cfg.mapping_layers, hidden=cfg.w_dim,
            lr_mul=cfg.mapping_lr_mul,
        )  # fmt: skip
        widths = _widths(cfg, resolution)
        synthesis = SynthesisV1 if cfg.version == 1 else SynthesisV2
        self.synthesis = synthesis(widths, cfg.w_dim, channels)
        self.num_ws = self.synthesis.num_ws
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def jacobian_params(self) -> list[nn.Parameter]:
        """Parameters the path-length penalty can move: all but the toRGB biases, which only
        shift the image by a constant and so never enter its Jacobian."""
        shifts: set[int] = set()
        if isinstance(self.synthesis, SynthesisV2):
            shifts = {id(m.bias) for m in self.synthesis.torgbs if isinstance(m, ToRGB)}
        if isinstance(self.synthesis, SynthesisV1) and self.synthesis.to_rgb.bias is not None:
            shifts.add(id(self.synthesis.to_rgb.bias))
        return [p for p in self.parameters() if id(p) not in shifts]


# ============================================================================ discriminator
class DBlock(nn.Module):
    """One discriminator resolution: [N, C_in, s, s] -> [N, C_out, s/2, s/2].

    v1 (ProGAN's block with StyleGAN's blur): conv 3×3, blur [1, 2, 1], conv 3×3, 2×2 average
    pooling. v2 (residual): conv 3×3, blur [1, 3, 3, 1] and a stride-2 conv 3×3, plus a
    downsampled 1×1-conv skip path, summed and scaled by 1/√2.
    """

    fir: Tensor

    def __init__(self, in_channels: int, out_channels: int, *, version: int) -> None:
        super().__init__()
        gain = SQRT2 if version == 1 else 1.0  # v2 puts the gain on the activation instead
        self.conv0 = EqualizedConv2d(in_channels, in_channels, 3, gain=gain)
        if version == 1:
            self.blur = Blur((1, 2, 1))
            self.conv1 = EqualizedConv2d(in_channels, out_channels, 3, gain=gain)
        else:
            self.blur = Blur((1, 3, 3, 1), pad=(2, 2))
            self.conv1 = EqualizedConv2d(
                in_channels, out_channels, 3, stride=2, padding=0, gain=gain
            )
            self.skip = EqualizedConv2d(in_channels, out_channels, 1, bias=False, gain=1.0)
        self.version = version
        self.register_buffer("fir", fir_kernel((1, 3, 3, 1)), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        y = _act(self.conv0(x), self.version)
        if self.version == 1:
            return _act(F.avg_pool2d(self.conv1(self.blur(y)), 2), 1)
        y = _act(self.conv1(self.blur(y)), 2)
        return (y + self.skip(downsample2d(x, self.fir))) / SQRT2


def _act(x: Tensor, version: int) -> Tensor:
    """Leaky ReLU(0.2); StyleGAN2 multiplies it by √2 (its weights use gain 1)."""
    y = F.leaky_relu(x, 0.2)
    return y * SQRT2 if version == 2 else y


class Discriminator(nn.Module):
    """images [N, C, R, R] -> logits [N]: fromRGB, blocks down to 4×4, then minibatch stddev,
    conv 3×3, dense and a linear output (StyleGAN v1 = ProGAN's D; v2 residual)."""

    def __init__(self, cfg: StyleGANConfig, channels: int, resolution: int) -> None:
        super().__init__()
        widths, v = _widths(cfg, resolution), cfg.version
        gain = SQRT2 if v == 1 else 1.0
        self.from_rgb = EqualizedConv2d(channels, widths[resolution], 1, gain=gain)
        sides = sorted(widths, reverse=True)[:-1]  # resolution, ..., 8
        self.blocks = nn.ModuleList(DBlock(widths[s], widths[s // 2], version=v) for s in sides)
        c4 = widths[4]
        self.mbstd = MinibatchStdDev(cfg.mbstd_group, 1)
        self.conv = EqualizedConv2d(c4 + 1, c4, 3, gain=gain)
        top = min(cfg.channel_base or (8192 if v == 1 else 16384), cfg.channel_max)  # nf(0)
        self.dense = EqualizedLinear(c4 * 16, top, gain=gain)
        self.out = EqualizedLinear(top, 1, gain=1.0)
        self.version = v

    def forward(self, x: Tensor) -> Tensor:
        x = _act(self.from_rgb(x), self.version)
        for block in self.blocks:
            x = block(x)
        x = _act(self.conv(self.mbstd(x)), self.version)  # [N, C4, 4, 4]
        x = _act(self.dense(x.flatten(1)), self.version)
        return self.out(x).flatten()  # [N]

    def input_gradient_params(self) -> list[nn.Parameter]:
        """Parameters R1 can move: the weights. D is piecewise linear in its input and the
        minibatch stddev ignores a shift shared by the batch, so no bias enters ∇ₓD."""
        return [p for n, p in self.named_parameters() if not n.endswith("bias")]


# ============================================================================ the model
@register_model(
    "stylegan",
    help="Karras et al. 2019/2020: style-based G (v1 AdaIN; model.version=2: StyleGAN2), R1",
)
class StyleGAN(GANModel):
    """StyleGAN (v1) and StyleGAN2 (v2, config F), unconditional, any power-of-two R ≥ 8.

    Shapes: G: z [N, z_dim] -> w [N, w_dim] -> ws [N, num_ws, w_dim] -> x [N, C, R, R];
    D: x -> logits [N]. `generate` clamps to [−1, 1]; training sees the unclamped output.
    Phases: "G", "PL" (v2, every `pl_every`), "D", "R1" (every `r1_every`), the official order.
    """

    Config = StyleGANConfig
    config: StyleGANConfig
    data_kinds = ("image",)
    default_ema = True
    default_resolution: ClassVar[int | None] = 1024
    # config F's minibatch; G's EMA half-life of 10k images (official) at that batch
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 32, "ema_decay": 0.9978}
    truncation_space: ClassVar[Literal["z", "w"]] = "w"  # ψ pulls w toward w_avg
    pl_mean: Tensor

    @classmethod
    def channels_last(cls, config: ModelConfig) -> bool:
        # StyleGAN2's modulated convolutions gain nothing channels-last on a CPU (0.90× to 1.01×
        # in this project's runs: benchmarks/results/channels-last.md, speed.md); v1's gain 8–11%
        assert isinstance(config, StyleGANConfig)
        return config.version == 1

    def __init__(self, config: StyleGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        channels, resolution = info.shape[0], info.shape[-1]
        self.G = Generator(config, channels, resolution)
        self.D = Discriminator(config, channels, resolution)
        self.register_buffer("pl_mean", torch.zeros(()))

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Power-of-two sides from 8: G doubles from its 4×4 constant, D halves back to it."""
        check_resolution(resolution, model=cls.name)

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        cls.check_resolution(config, info.shape[-1])

    # ------------------------------------------------------------------ properties
    @property
    def num_ws(self) -> int:
        """Styles per image: one per synthesis layer (18 at 1024²)."""
        return self.G.num_ws

    @property
    def pl_weight(self) -> float:
        cfg = self.config
        return cfg.pl_weight if cfg.pl_weight is not None else (2.0 if cfg.version == 2 else 0.0)

    @property
    def truncation_layers(self) -> int:
        cfg = self.config
        cutoff = cfg.truncation_cutoff
        if cutoff is None:
            cutoff = 8 if cfg.version == 1 else self.num_ws
        return min(cutoff, self.num_ws)

    # ------------------------------------------------------------------ sampling API
    def style_latents(self, z: Tensor, *, truncation: float | None = None) -> Tensor:
        """ws [N, num_ws, w_dim] of z [N, z_dim]; truncation ψ pulls the first
        `truncation_layers` styles toward w_avg: w_avg + ψ·(w − w_avg)."""
        ws = self.G.mapping(z)[:, None].repeat(1, self.num_ws, 1)
        if truncation is not None and truncation != 1:
            k = self.truncation_layers
            ws[:, :k] = self.G.w_avg.lerp(ws[:, :k], truncation)
        return ws

    def synthesize(self, ws: Tensor, *, noise: NoiseMode | None = None) -> Tensor:
        """Images [N, C, R, R] in [−1, 1] from styles ws [N, num_ws, w_dim].

        Args:
            noise: "random" (fresh from the global RNG), "const" (the fixed buffers) or
                "none"; by default random in training mode and const in eval mode, so that a
                latent always gives the same image at inference.
        """
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.config.w_dim):
            raise GankitError(
                f"expected styles [N, {self.num_ws}, {self.config.w_dim}], got {tuple(ws.shape)}"
            )
        mode = noise or ("random" if self.training else "const")
        if mode not in ("random", "const", "none"):
            raise GankitError(f"noise must be random, const or none, got {mode!r}")
        return self.G.synthesis(ws, mode).clamp(-1, 1)

    def generate(
        self,
        z: Tensor,
        y: Tensor | None = None,
        *,
        truncation: float | None = None,
        noise: NoiseMode | None = None,
    ) -> Tensor:
        """Images of z [N, z_dim]; truncation ψ in w space (0: the average image, 1 or None:
        none)."""
        return self.synthesize(self.style_latents(z, truncation=truncation), noise=noise)

    def mix(
        self,
        rows_z: Tensor,
        cols_z: Tensor,
        *,
        crossover: int | None = None,
        truncation: float | None = None,
    ) -> Tensor:
        """StyleGAN's style-mixing grid (Fig. 3): image [r, c] takes the styles of layers
        < crossover from rows_z[r] and the rest from cols_z[c]. Default crossover: the coarse
        styles (4²–8²). Shapes: [R, z_dim], [C, z_dim] -> [R, C, channels, H, W]."""
        k = min(COARSE_LAYERS, self.num_ws) if crossover is None else crossover
        if not 0 <= k <= self.num_ws:
            raise GankitError(f"crossover must be in 0..{self.num_ws}, got {k}")
        rows = self.style_latents(rows_z, truncation=truncation)  # [R, L, D]
        cols = self.style_latents(cols_z, truncation=truncation)  # [C, L, D]
        ws = cols[None].repeat(len(rows), 1, 1, 1)  # [R, C, L, D]
        ws[:, :, :k] = rows[:, None, :k]
        images = self.synthesize(ws.flatten(0, 1))
        return images.reshape(len(rows), len(cols), *images.shape[1:])

    # ------------------------------------------------------------------ training
    def phases(self) -> list[Phase]:
        cfg = self.config
        phases = [Phase("G", list(self.G.parameters()), cfg.g_opt)]
        if self.pl_weight > 0:
            phases.append(
                Phase("PL", self.G.jacobian_params(), cfg.g_opt, every=cfg.pl_every, shares="G")
            )
        phases.append(Phase("D", list(self.D.parameters()), cfg.d_opt))
        if cfg.r1_gamma > 0 and cfg.r1_every > 1:
            params = self.D.input_gradient_params()
            phases.append(Phase("R1", params, cfg.d_opt, every=cfg.r1_every, shares="D"))
        return phases

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        real = batch["x"]
        if phase == "G":
            fake, _ = self._fake(real.shape[0])
            return {"loss": losses.nonsaturating_g(self.D(fake))}
        if phase == "PL":
            return self._path_length_loss(max(real.shape[0] // self.config.pl_batch_shrink, 1))
        if phase == "D":
            return self._d_loss(real)
        if phase == "R1":
            penalty = losses.r1_penalty(self.D, real)
            scale = self.config.r1_gamma / 2 * self.config.r1_every  # lazy: × the interval
            return {"loss": penalty * scale, "r1": penalty.detach()}
        raise KeyError(phase)

    def _fake(self, n: int, *, track_w: bool = False) -> tuple[Tensor, Tensor]:
        """Training fakes (unclamped, random noise) with style mixing, and their ws."""
        w = self.G.mapping(self.sample_latent(n))  # [N, D]
        if track_w:
            with torch.no_grad():  # w_avg ← lerp(batch mean, w_avg, decay)
                self.G.w_avg.lerp_(w.detach().float().mean(0), 1 - self.config.w_avg_decay)
        ws = w[:, None].repeat(1, self.num_ws, 1)  # [N, L, D]
        if self.config.style_mixing > 0 and torch.rand(()) < self.config.style_mixing:
            cutoff = int(torch.randint(1, self.num_ws, ()))
            w2 = self.G.mapping(self.sample_latent(n))
            ws = torch.cat([ws[:, :cutoff], w2[:, None].expand(-1, self.num_ws - cutoff, -1)], 1)
        return self.G.synthesis(ws, "random"), ws

    def _d_loss(self, real: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            fake, _ = self._fake(real.shape[0], track_w=True)
        real_logits, fake_logits = self.D(real), self.D(fake)
        loss = losses.bce_d(real_logits, fake_logits)
        out = {
            "real": mean_prob(real_logits),
            "fake": mean_prob(fake_logits),
            "real_sign": losses.real_sign(real_logits),
        }
        if self.config.r1_gamma > 0 and self.config.r1_every == 1:
            penalty = losses.r1_penalty(self.D, real)
            loss = loss + self.config.r1_gamma / 2 * penalty
            out["r1"] = penalty.detach()
        return {"loss": loss, **out}

    def _path_length_loss(self, n: int) -> dict[str, Tensor]:
        """StyleGAN2 §3.2: E_w,y (‖J_wᵀ y‖₂ − a)², y ~ N(0, I)/√(HW), a the running mean of the
        lengths; × pl_weight × the interval (lazy)."""
        fake, ws = self._fake(n)
        lengths = losses.path_lengths(fake, ws)  # [n]
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.detach().mean(), self.config.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        loss = penalty * self.pl_weight * self.config.pl_every
        return {"loss": loss, "pl_mean": self.pl_mean.clone(), "lengths": lengths.mean().detach()}
