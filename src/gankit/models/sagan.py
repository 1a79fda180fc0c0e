"""SAGAN: Zhang et al. 2019, "Self-Attention Generative Adversarial Networks"."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gankit.config import NonNegInt, PosInt
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.losses import hinge_d, hinge_g, real_sign
from gankit.models.base import (
    GANModel,
    ModelConfig,
    OptimConfig,
    Phase,
    critic_then_generator,
    register_model,
)
from gankit.nn.biggan import (
    BigGANDiscriminator,
    BigGANGenerator,
    Init,
    discriminator_widths,
    generator_widths,
    init_weights_,
)
from gankit.nn.conditioning import ProjectionDiscriminator
from gankit.nn.conv import check_resolution
from gankit.nn.spectral import spectral_norm_

log = logging.getLogger("gankit")
# a side relative to the resolution R: "R/2", "R/4", ... (R over a power of two)
_RELATIVE = re.compile(r"\s*R\s*/\s*(\d+)\s*")
ATTENTION_KEY_DIV = 8  # self-attention's keys have C/8 channels: it needs C ≥ 8
# the largest side of the authors' width tables (`gankit.nn.biggan`): beyond it G's rule,
# min(16, 128 / r)·ch channels at side r, reaches 0
MAX_RESOLUTION = 512


@dataclass
class SAGANConfig(ModelConfig):
    """The paper's settings (ImageNet 128×128), with its released code's architecture.

    Args:
        g_channels, d_channels: width multipliers `ch` of G and D (64 in the code at 128×128:
            G has 16·ch channels at 4×4 halving toward 1·ch; D doubles from 1·ch to 16·ch).
        attention_resolution: where G and D attend: a fraction of the resolution R, `R/2`,
            `R/4`, ... (R over a power of two), which follows `--resolution`; a feature-map side
            as a number (32); or 0 for nowhere. G and D can attend at the sides 8 … R/2 where
            both have at least 8 channels (the keys have C/8). A fraction is fitted to them:
            where R/k is not one, G and D attend at the nearest one that is, and the run says
            so in its log, so that a preset's setting never makes a `--resolution` fail. A
            number is taken as asked: one that does not fit the resolution is an error, as it
            names a network other than the one the run could build (and the configs of old
            runs, which hold numbers, rebuild exactly what they trained). R/4 is the paper
            code's 32 at 128×128 (the paper found 32 and 64, R/4 and R/2, best).
        g_spectral_norm, d_spectral_norm: spectral normalisation of every layer of G / D.
        init: weight initialisation: `xavier` (Glorot-uniform, the code's), `ortho`, `default`.
        n_critic: D updates per G update (1: TTUR replaces extra D steps).
        g_opt, d_opt: TTUR (Heusel et al. 2017): Adam, β = (0, 0.9), G 1e-4, D 4e-4.
    """

    z_dim: PosInt = 128
    g_channels: PosInt = 64
    d_channels: PosInt = 64
    attention_resolution: NonNegInt | str = "R/4"
    g_spectral_norm: bool = True
    d_spectral_norm: bool = True
    init: Init = "xavier"
    n_critic: PosInt = 1
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 1e-4, (0.0, 0.9)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 4e-4, (0.0, 0.9)))

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.attention_resolution, str):
            attention_divisor(self.attention_resolution)


@register_model("sagan", help="Zhang et al. 2019: self-attention, spectral norm in G and D, hinge")
class SAGAN(GANModel):
    """SAGAN at any power-of-two resolution from 16 to 512: residual G with class-conditional
    batch norm and a projection D, both with self-attention and spectral normalisation, trained
    with the hinge loss and TTUR, one D step per G step. Fakes get uniformly drawn labels (as in
    the released code), not those of the real batch.

    Shapes: G: z [B, z_dim], y [B] -> x [B, C, R, R] in (−1, 1); D: x, y -> logits [B].
    """

    Config = SAGANConfig
    config: SAGANConfig
    data_kinds = ("image",)
    needs_labels = True
    default_resolution: ClassVar[int | None] = 128
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 256}

    def __init__(self, config: SAGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        # the side G and D attend at (0: nowhere), `attention_resolution` fitted to this one
        self.attention_side = attention_side(config, info.shape[-1], self.name)[0]
        self.G = init_weights_(self.build_generator(), config.init)
        net = BigGANDiscriminator(
            info.shape[0],
            info.shape[-1],
            ch=config.d_channels,
            attention=self.attention_side,
        )
        self.D = init_weights_(ProjectionDiscriminator(net, info.num_classes), config.init)
        if config.g_spectral_norm:
            spectral_norm_(self.G, exclude=self.sn_exempt())
        if config.d_spectral_norm:
            spectral_norm_(self.D)

    def build_generator(self) -> BigGANGenerator:
        cfg, info = self.config, self.info
        return BigGANGenerator(
            cfg.z_dim,
            info.num_classes,
            info.shape[-1],
            info.shape[0],
            ch=cfg.g_channels,
            attention=self.attention_side,
            **self.generator_options(),
        )

    def generator_options(self) -> dict[str, Any]:
        """`BigGANGenerator` arguments that differ by model: SAGAN has per-class gains, no
        shared embedding, and z enters only at the bottom."""
        return {"shared_dim": 0, "hierarchical": False}

    def sn_exempt(self) -> tuple[nn.Module, ...]:
        """G's modules that spectral normalisation leaves alone."""
        return ()

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Power-of-two sides from 16 (so that G and D share a side to attend at, 8) to 512
        (the authors' width tables), and an attention setting that fits (see
        `SAGANConfig.attention_resolution`)."""
        assert isinstance(config, SAGANConfig)
        check_resolution(resolution, minimum=16, model=cls.name)
        if resolution > MAX_RESOLUTION:
            raise GankitError(
                f"{cls.name}'s networks follow the authors' width tables, which end at "
                f"{MAX_RESOLUTION}×{MAX_RESOLUTION} (beyond it the generator's widths reach 0), "
                f"got {resolution}: use --resolution {MAX_RESOLUTION} or less"
            )
        attention_side(config, resolution, cls.name)

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, SAGANConfig)
        resolution = info.shape[-1]
        cls.check_resolution(config, resolution)
        note = attention_side(config, resolution, cls.name)[1]
        if note:  # said when a run starts (the Trainer checks the data), not at every load
            log.info(note)

    @property
    def conditional(self) -> bool:
        return True

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.G(z, y)

    def phases(self) -> list[Phase]:
        cfg = self.config
        # not reusable: each forward pass of G steps its spectral norms' power iteration, so G
        # run once per step is not the G that runs twice
        return critic_then_generator(
            self.D, self.G, cfg.d_opt, cfg.g_opt, cfg.n_critic, reusable=False
        )

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        real, y_real = batch["x"], batch["y"]
        n = real.shape[0]
        z = self.sample_latent(n)
        y = self.sample_labels(n)
        assert y is not None
        if phase == "D":
            with torch.no_grad():
                fake = self.G(z, y)
            # one pass over real and fake: one power-iteration step of D's spectral norms
            logits = self.D(torch.cat([real, fake]), torch.cat([y_real, y]))  # [2B]
            d_real, d_fake = logits.split(n)
            return {
                "loss": hinge_d(d_real, d_fake),
                "real": d_real.detach().mean(),
                "fake": d_fake.detach().mean(),
                "real_sign": real_sign(d_real),
            }
        if phase == "G":
            return self.g_loss(self.D(self.G(z, y), y))
        raise KeyError(phase)

    def g_loss(self, d_fake: Tensor) -> dict[str, Tensor]:
        """G's losses given D's logits on its samples."""
        return {"loss": hinge_g(d_fake)}


def attention_divisor(value: str) -> int:
    """k of a relative attention side `R/k` (k a power of two ≥ 2); GankitError otherwise."""
    match = _RELATIVE.fullmatch(value)
    k = int(match.group(1)) if match else 0
    if k < 2 or k & (k - 1):
        raise GankitError(
            "model.attention_resolution takes a fraction of the resolution (R/2, R/4, ...: R "
            f"over a power of two), a feature-map side (16) or 0 for none, got {value!r}"
        )
    return k


def attention_widths(config: SAGANConfig, resolution: int, side: int) -> tuple[int, int]:
    """The channels of G's and D's feature maps of side `side` (8 … R/2) at `resolution`."""
    g = generator_widths(resolution, config.g_channels)[side.bit_length() - 3]
    d = discriminator_widths(resolution, config.d_channels)[(resolution // side).bit_length() - 2]
    return g, d


def feature_sides(resolution: int) -> list[int]:
    """The feature-map sides that G's blocks and D's share at `resolution`: 8 … R/2."""
    return [2**k for k in range(3, resolution.bit_length() - 1)]


def attention_sides(config: SAGANConfig, resolution: int) -> list[int]:
    """The feature-map sides where G and D can both attend at `resolution`: G's block outputs
    from 8 up that are also D's (R/2 down), with at least 8 channels in both (keys have C/8)."""
    wide = ATTENTION_KEY_DIV
    return [
        s for s in feature_sides(resolution) if min(attention_widths(config, resolution, s)) >= wide
    ]


def attention_side(config: SAGANConfig, resolution: int, model: str) -> tuple[int, str | None]:
    """Where G and D attend at `resolution` (0: nowhere), and, when a relative setting (R/k)
    had to move to the nearest side that can take attention, a note saying so.

    Raises:
        GankitError: a side given as a number that does not fit, or no side that can take
            attention for a relative setting.
    """
    value = config.attention_resolution
    if value == 0:
        return 0, None
    fits = attention_sides(config, resolution)
    if isinstance(value, int):
        _check_side(config, resolution, value, fits, model)
        return value, None
    k = attention_divisor(value)
    if not fits:
        raise GankitError(
            f"{model} can attend nowhere at {resolution}×{resolution}: self-attention needs at "
            f"least {ATTENTION_KEY_DIV} channels in G and D at a side from 8 to "
            f"{resolution // 2}, and model.g_channels={config.g_channels} / "
            f"model.d_channels={config.d_channels} leave fewer: widen them, or set "
            "model.attention_resolution=0"
        )
    target = math.log2(resolution / k)  # may lie outside the sides there are
    side = min(fits, key=lambda s: abs(math.log2(s) - target))
    if side * k == resolution:
        return side, None
    asked = f"{resolution // k}×{resolution // k}" if resolution >= k else "below 1×1"
    note = (
        f"{model} attends at {side}×{side}: model.attention_resolution={value} is {asked} at "
        f"{resolution}×{resolution}, where G and D cannot attend (they can at "
        f"{', '.join(map(str, fits))}); this is the nearest side that can"
    )
    return side, note


def _check_side(
    config: SAGANConfig, resolution: int, side: int, fits: list[int], model: str
) -> None:
    """An attention side given as a number must be one of G's and D's feature-map sides, with
    at least 8 channels there."""
    sides = feature_sides(resolution)
    if side not in sides:
        raise GankitError(
            f"{model}: model.attention_resolution must be one of {sides} at "
            f"{resolution}×{resolution} (or 0 for none, or a fraction of the resolution such as "
            f"R/2, which follows --resolution), got {side}"
        )
    if side not in fits:
        g, d = attention_widths(config, resolution, side)
        move = f"move it to one of {fits}" if fits else "set model.attention_resolution=0"
        raise GankitError(
            f"{model}'s self-attention at {side}×{side} needs at least {ATTENTION_KEY_DIV} "
            f"channels there, but G has {g} and D {d}: widen model.g_channels / "
            f"model.d_channels or {move}"
        )
