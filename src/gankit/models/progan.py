"""ProGAN: Karras et al. 2018, "Progressive Growing of GANs for Improved Quality, Stability, and
Variation".

Both networks start at 4×4 and grow by one 2× block per level. A new block is faded in: while α
rises linearly from 0 to 1, the generator's output is α·toRGB(new block) + (1 − α)·(the previous
level's output upsampled) and the discriminator's features are α·(new block ∘ fromRGB) +
(1 − α)·fromRGB(the input average-pooled), so the grown networks start out computing exactly what
the smaller ones did. The schedule is counted in training images shown: 800k at 4×4, then for each
doubling 800k fading in and 800k stabilising (§3, appendix A.1).

The level and α are buffers of the model, set by `set_progress(images)` (a pure function of the
images shown), so checkpoints carry them and a resumed or loaded model is at the same point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import losses
from gankit.config import NonNegFloat, NonNegInt, PosInt
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.models.base import (
    GANModel,
    ModelConfig,
    OptimConfig,
    Phase,
    critic_then_generator,
    register_model,
)
from gankit.nn.conv import check_resolution
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm


def _paper_adam() -> OptimConfig:
    return OptimConfig("adam", 1e-3, (0.0, 0.99), eps=1e-8)


@dataclass
class ProGANConfig(ModelConfig):
    """The paper's CelebA-HQ settings (§4–5, appendix A.1, and the official code's defaults):
    a 512-d Gaussian latent, widths min(8192 / 2^(level+1), 512) (512 up to 32×32, halving per
    doubling after), WGAN-GP (λ = 10) plus the drift term ε·E[D(x)²] with ε = 0.001, n_critic = 1,
    Adam(0.001, β = (0, 0.99), eps 1e-8), EMA of G (decay 0.999), 800k images per phase.

    Deviations from the paper, kept because the Trainer owns the optimisers and the batch size:
    - one mini-batch size throughout; the paper lowers it from 16 to 14, 6 and 3 at 256², 512²
      and 1024² only to fit in GPU memory.
    - Adam's state is not reset when a new resolution starts. The new block's parameters start
      with fresh state anyway (they have no gradient, so no state, before their fade-in), and with
      β1 = 0 only the older layers' second moments carry over, which forget within ~100 steps.

    Args:
        fmap_base, fmap_max: the width of level l (resolution 4·2^l) is
            min(fmap_base / 2^(l+1), fmap_max), and at least 1 (StyleGAN2's `fmap_min`: a
            narrow preset then still builds at every resolution, its top levels 1 wide); the
            discriminator's dense layer has min(fmap_base, fmap_max) units.
        phase_images: real images shown per phase (stable 4×4, then fade-in and stabilisation
            per doubling); 0 trains the full-resolution networks from the start, without growing
            (the paper's non-progressive baseline).
        mbstd_group: group size of the discriminator's minibatch standard deviation (0: none).
        n_critic: discriminator updates per generator update (1 in the paper; narrow networks
            trained for a few hundred steps need more to keep the critic ahead).
        gp_weight: λ of the gradient penalty.
        drift: ε of the drift term that keeps the critic's values near zero.
        g_opt, d_opt: optimisers of the generator and the discriminator.
    """

    z_dim: PosInt = 512
    z_dist: Literal["normal", "uniform"] = "normal"
    fmap_base: PosInt = 8192
    fmap_max: PosInt = 512
    phase_images: NonNegInt = 800_000
    mbstd_group: NonNegInt = 4
    n_critic: PosInt = 1
    gp_weight: NonNegFloat = 10.0
    drift: NonNegFloat = 0.001
    g_opt: OptimConfig = field(default_factory=_paper_adam)
    d_opt: OptimConfig = field(default_factory=_paper_adam)

    def width(self, stage: int) -> int:
        """The official code's nf(stage): level l's blocks have nf(l + 1) channels."""
        return max(1, min(self.fmap_base // 2**stage, self.fmap_max))


# ---------------------------------------------------------------------------- the schedule
def progress_at(images: int, levels: int, phase_images: int) -> tuple[int, float]:
    """(level, α) after `images` real images: phase k covers images [k·P, (k+1)·P): phase 0 is
    4×4, phase 2l − 1 fades level l in (α from 0 to 1), phase 2l stabilises it (α = 1); the last
    level stays once reached. `levels` is the final level (log2(resolution) − 2)."""
    if phase_images <= 0:
        return levels, 1.0
    k = images // phase_images
    if k >= 2 * levels:
        return levels, 1.0
    level = (k + 1) // 2
    if k % 2:  # a fade-in
        return level, (images - k * phase_images) / phase_images
    return level, 1.0


@dataclass(frozen=True)
class GrowPhase:
    """One phase of the growth schedule of a run: its resolution, kind, and the first and last
    real image and training step (0-based, inclusive) it covers."""

    resolution: int
    kind: Literal["stable", "fade"]
    first_image: int
    last_image: int
    first_step: int
    last_step: int


def fade(old: Tensor, new: Tensor, alpha: float) -> Tensor:
    """The fade-in (1 − α)·old + α·new. Under autocast the two branches can come out in
    different dtypes (a convolution's bf16/fp16 beside an upsampled fp32 map), which `lerp`
    refuses: the old branch takes the new one's dtype."""
    return torch.lerp(old.to(new.dtype), new, alpha)


def grow_schedule(
    config: ProGANConfig, resolution: int, batch_size: int, steps: int
) -> list[GrowPhase]:
    """The phases a run of `steps` steps of `batch_size` images at `resolution` goes through.

    The Trainer sets the progress before each step from the images shown so far
    (step · batch_size), so step s belongs to the phase holding image s · batch_size.
    """
    levels = check_resolution(resolution, minimum=4, model="progan")
    if batch_size < 1 or steps < 1:
        raise GankitError(f"batch size and steps must be positive, got {batch_size} and {steps}")
    total = steps * batch_size
    p = config.phase_images
    count = 2 * levels + 1 if p > 0 else 1
    rows = []
    for k in range(count):
        first = k * p if p > 0 else 0
        last = (k + 1) * p - 1 if p > 0 and k < count - 1 else total - 1
        last = min(last, total - 1)
        if first > last:
            break
        level = levels if p <= 0 else (k + 1) // 2
        first_step = -(-first // batch_size)  # the first step whose progress is ≥ first
        last_step = min(-(-(last + 1) // batch_size) - 1, steps - 1)
        if first_step > last_step:  # a phase shorter than a batch: no step sees it
            continue
        kind: Literal["stable", "fade"] = "fade" if p > 0 and k % 2 else "stable"
        rows.append(GrowPhase(4 * 2**level, kind, first, last, first_step, last_step))
    return rows


# ---------------------------------------------------------------------------- the networks
def _act(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)


class _FirstBlock(nn.Module):
    """G at 4×4: z [N, z] -> [N, w, 4, 4]: a dense layer to 4×4 (the official code's 4×4
    convolution of a 1×1 input, with its gain √2/4 so the init matches that convolution's), then
    a 3×3 convolution; leaky ReLU and pixel norm after each."""

    def __init__(self, z_dim: int, width: int) -> None:
        super().__init__()
        self.width = width
        self.dense = EqualizedLinear(z_dim, width * 16, gain=math.sqrt(2) / 4)
        self.conv = EqualizedConv2d(width, width, 3)
        self.norm = PixelNorm()

    def forward(self, z: Tensor) -> Tensor:
        x = self.dense(z).reshape(-1, self.width, 4, 4)  # [N, w, 4, 4]
        x = self.norm(_act(x))
        return self.norm(_act(self.conv(x)))


class _UpBlock(nn.Module):
    """G's doubling: [N, w_in, H, W] -> [N, w_out, 2H, 2W]: nearest 2× upsampling and two 3×3
    convolutions, each followed by leaky ReLU and pixel norm."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(w_in, w_out, 3)
        self.conv1 = EqualizedConv2d(w_out, w_out, 3)
        self.norm = PixelNorm()

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.norm(_act(self.conv0(x)))
        return self.norm(_act(self.conv1(x)))


class ProGANGenerator(nn.Module):
    """z [N, z_dim] -> images [N, C, 4·2^level, 4·2^level] at a given level and fade α.

    Args:
        z_dim: latent size (normalised by pixel norm on the way in).
        channels: image channels.
        levels: the final level (resolution 4·2^levels).
        config: widths (`ProGANConfig.width`).
    """

    def __init__(self, z_dim: int, channels: int, levels: int, config: ProGANConfig) -> None:
        super().__init__()
        w = config.width
        self.norm = PixelNorm()
        self.blocks = nn.ModuleList(
            [_FirstBlock(z_dim, w(1))] + [_UpBlock(w(lv), w(lv + 1)) for lv in range(1, levels + 1)]
        )
        # toRGB: linear 1×1 convolutions (gain 1), one per resolution
        self.to_rgb = nn.ModuleList(
            EqualizedConv2d(w(lv + 1), channels, 1, gain=1.0) for lv in range(levels + 1)
        )

    def forward(self, z: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        x = self.blocks[0](self.norm(z))  # [N, w, 4, 4]
        for lv in range(1, level):
            x = self.blocks[lv](x)
        if level == 0:
            return self.to_rgb[0](x)
        new = self.to_rgb[level](self.blocks[level](x))  # [N, C, R, R]
        if alpha >= 1.0:
            return new
        old = F.interpolate(self.to_rgb[level - 1](x), scale_factor=2, mode="nearest")
        return fade(old, new, alpha)


class _DownBlock(nn.Module):
    """D's halving: [N, w_in, H, W] -> [N, w_out, H/2, W/2]: two 3×3 convolutions with leaky
    ReLU, then 2× average pooling."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(w_in, w_in, 3)
        self.conv1 = EqualizedConv2d(w_in, w_out, 3)

    def forward(self, x: Tensor) -> Tensor:
        x = _act(self.conv1(_act(self.conv0(x))))
        return F.avg_pool2d(x, 2)


class _LastBlock(nn.Module):
    """D at 4×4: [N, w, 4, 4] -> [N]: minibatch stddev, a 3×3 convolution, a dense layer to
    `hidden` units, and a linear dense output."""

    def __init__(self, width: int, hidden: int, group: int) -> None:
        super().__init__()
        self.mbstd = MinibatchStdDev(group) if group > 0 else nn.Identity()
        self.conv = EqualizedConv2d(width + (group > 0), width, 3)
        self.dense0 = EqualizedLinear(width * 16, hidden)
        self.dense1 = EqualizedLinear(hidden, 1, gain=1.0)

    def forward(self, x: Tensor) -> Tensor:
        x = _act(self.conv(self.mbstd(x)))  # [N, w, 4, 4]
        x = _act(self.dense0(x.flatten(1)))  # [N, hidden]
        return self.dense1(x).squeeze(1)  # [N]


class ProGANDiscriminator(nn.Module):
    """images [N, C, 4·2^level, 4·2^level] -> critic values [N], at a given level and fade α.

    Args:
        channels: image channels.
        levels: the final level.
        config: widths and the minibatch stddev group.
    """

    def __init__(self, channels: int, levels: int, config: ProGANConfig) -> None:
        super().__init__()
        w = config.width
        self.from_rgb = nn.ModuleList(
            EqualizedConv2d(channels, w(lv + 1), 1) for lv in range(levels + 1)
        )
        self.blocks = nn.ModuleList(
            [_LastBlock(w(1), w(0), config.mbstd_group)]
            + [_DownBlock(w(lv + 1), w(lv)) for lv in range(1, levels + 1)]
        )

    def forward(self, x: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        h = _act(self.from_rgb[level](x))  # [N, w, R, R]
        if level > 0:
            h = self.blocks[level](h)  # [N, w', R/2, R/2]
            if alpha < 1.0:
                old = _act(self.from_rgb[level - 1](F.avg_pool2d(x, 2)))
                h = fade(old, h, alpha)
            for lv in range(level - 1, 0, -1):
                h = self.blocks[lv](h)
        return self.blocks[0](h)


# ---------------------------------------------------------------------------- the model
@register_model("progan", help="Karras et al. 2018: progressively grown G and D, WGAN-GP")
class ProGAN(GANModel):
    """ProGAN at any power-of-two resolution ≥ 4, grown from 4×4 by `set_progress`.

    Until told its progress the model is the fully grown network (level = final, α = 1), which
    is also what `phase_images = 0` trains throughout.

    Shapes: G: z [N, z_dim] -> x [N, C, r, r] at the current level's side r; `generate` returns
    [N, C, R, R] at the data's resolution R. D: x [N, C, r, r] -> values [N].
    """

    Config = ProGANConfig
    config: ProGANConfig
    data_kinds = ("image",)
    default_ema = True
    default_resolution: ClassVar[int | None] = 1024
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 16}
    level: Tensor
    alpha: Tensor

    def __init__(self, config: ProGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.levels = check_resolution(info.shape[-1], minimum=4)
        self.G = ProGANGenerator(config.z_dim, info.shape[0], self.levels, config)
        self.D = ProGANDiscriminator(info.shape[0], self.levels, config)
        # where the schedule is: buffers, so that checkpoints carry them
        self.register_buffer("level", torch.tensor(self.levels))
        self.register_buffer("alpha", torch.tensor(1.0))

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Power-of-two sides from 4: the networks grow from 4×4 by doublings."""
        check_resolution(resolution, minimum=4, model=cls.name)

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        cls.check_resolution(config, info.shape[-1])

    @classmethod
    def schedule_note(
        cls, config: ModelConfig, info: DataInfo, steps: int, batch_size: int
    ) -> str | None:
        """Said when the run ends before its full resolution is stable: the last phase is a
        fade-in or a lower resolution, so the final samples are not of a finished model."""
        assert isinstance(config, ProGANConfig)
        resolution = info.shape[-1]
        last = grow_schedule(config, resolution, batch_size, steps)[-1]
        if last.resolution == resolution and last.kind == "stable":
            return None
        levels = resolution.bit_length() - 3  # 2× stages above 4×4
        stable_from = -(-2 * levels * config.phase_images // batch_size)  # its first step
        return (
            f"progan: this run ends in the {last.kind} phase at {last.resolution}×"
            f"{last.resolution}, before {resolution}×{resolution} is stable; {stable_from + 1} "
            "steps or more reach it (or lower model.phase_images; see gankit grow-schedule)"
        )

    # ------------------------------------------------------------------ the schedule
    def set_progress(self, images: int) -> None:
        level, alpha = progress_at(images, self.levels, self.config.phase_images)
        self.level.fill_(level)
        self.alpha.fill_(alpha)

    @property
    def state(self) -> tuple[int, float]:
        """The current (level, α)."""
        return int(self.level), float(self.alpha)

    def reals_at(self, x: Tensor, level: int, alpha: float) -> Tensor:
        """Real images [N, C, R, R] as the networks see them at (level, α): average-pooled to
        the level's side and, during a fade, blended with their half-resolution version
        upsampled, as the generator's output is."""
        factor = 2 ** (self.levels - level)
        if factor > 1:
            x = F.avg_pool2d(x, factor)  # [N, C, r, r]
        if alpha < 1.0 and level > 0:
            low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
            x = fade(low, x, alpha)
        return x

    # ------------------------------------------------------------------ sampling
    def generate(self, z: Tensor, y: Tensor | None = None, *, level: int | None = None) -> Tensor:
        """Images [N, C, R, R] at the data's resolution, clipped to [−1, 1]: the current
        level's output (or the stable output of `level`) upsampled by nearest neighbours.

        The generator's output is linear, as in the paper; training uses it unclipped.
        """
        x = self.generate_native(z, level=level)
        factor = self.info.shape[-1] // x.shape[-1]
        if factor > 1:
            x = F.interpolate(x, scale_factor=factor, mode="nearest")
        return x

    def generate_native(self, z: Tensor, *, level: int | None = None) -> Tensor:
        """Images at the side of the level (`level`, stable, or the current level and α),
        clipped to [−1, 1]: [N, C, 4·2^level, 4·2^level]."""
        if level is None:
            current, alpha = self.state
        elif 0 <= level <= self.levels:
            current, alpha = level, 1.0
        else:
            raise GankitError(f"level must be in 0..{self.levels}, got {level}")
        return self.G(z, current, alpha).clamp(-1, 1)

    # ------------------------------------------------------------------ training
    def phases(self) -> list[Phase]:
        cfg = self.config
        return critic_then_generator(self.D, self.G, cfg.d_opt, cfg.g_opt, cfg.n_critic)

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        level, alpha = self.state
        real = self.reals_at(batch["x"], level, alpha)
        n = real.shape[0]
        fake = self.generated(phase, lambda: self.G(self.sample_latent(n), level, alpha))
        if phase == "D":
            return self.d_loss(real, fake, level, alpha)
        if phase == "G":
            return {"loss": losses.wasserstein_g(self.D(fake, level, alpha))}
        raise KeyError(phase)

    def d_loss(self, real: Tensor, fake: Tensor, level: int, alpha: float) -> dict[str, Tensor]:
        """WGAN-GP plus the drift term, at the networks' current level and α."""
        cfg = self.config

        def critic(x: Tensor) -> Tensor:
            return self.D(x, level, alpha)

        r, f = critic(real), critic(fake)
        wasserstein = losses.wasserstein_d(r, f)
        gp = losses.gradient_penalty(critic, real, fake)
        drift = losses.drift_penalty(r)
        loss = wasserstein + cfg.gp_weight * gp + cfg.drift * drift
        return {
            "loss": loss,
            "w_dist": -wasserstein.detach(),
            "gp": gp.detach(),
            "drift": drift.detach(),
            "real_sign": losses.critic_sign(r, f),
            "level": self.level.float(),  # where the schedule is, for the logs
            "alpha": self.alpha.clone(),
        }
