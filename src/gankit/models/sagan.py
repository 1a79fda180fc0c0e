"""SAGAN: Zhang et al. 2019, "Self-Attention Generative Adversarial Networks"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gankit.config import NonNegInt, PosInt
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.losses import hinge_d, hinge_g
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


@dataclass
class SAGANConfig(ModelConfig):
    """The paper's settings (ImageNet 128×128), with its released code's architecture.

    Args:
        g_channels, d_channels: width multipliers `ch` of G and D (64 in the code at 128×128:
            G has 16·ch channels at 4×4 halving toward 1·ch; D doubles from 1·ch to 16·ch).
        attention_resolution: the feature-map side at which G and D attend (0: nowhere). The
            paper found 32 and 64 best; its code attends at 32.
        g_spectral_norm, d_spectral_norm: spectral normalisation of every layer of G / D.
        init: weight initialisation: `xavier` (Glorot-uniform, the code's), `ortho`, `default`.
        n_critic: D updates per G update (1: TTUR replaces extra D steps).
        g_opt, d_opt: TTUR (Heusel et al. 2017): Adam, β = (0, 0.9), G 1e-4, D 4e-4.
    """

    z_dim: PosInt = 128
    g_channels: PosInt = 64
    d_channels: PosInt = 64
    attention_resolution: NonNegInt = 32
    g_spectral_norm: bool = True
    d_spectral_norm: bool = True
    init: Init = "xavier"
    n_critic: PosInt = 1
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 1e-4, (0.0, 0.9)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 4e-4, (0.0, 0.9)))


@register_model("sagan", help="Zhang et al. 2019: self-attention, spectral norm in G and D, hinge")
class SAGAN(GANModel):
    """SAGAN at any power-of-two resolution ≥ 16: residual G with class-conditional batch norm
    and a projection D, both with self-attention and spectral normalisation, trained with the
    hinge loss and TTUR, one D step per G step. Fakes get uniformly drawn labels (as in the
    released code), not those of the real batch.

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
        self.G = init_weights_(self.build_generator(), config.init)
        net = BigGANDiscriminator(
            info.shape[0],
            info.shape[-1],
            ch=config.d_channels,
            attention=config.attention_resolution,
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
            attention=cfg.attention_resolution,
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
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, SAGANConfig)
        resolution = info.shape[-1]
        check_resolution(resolution, minimum=16)
        sides = [2**k for k in range(3, resolution.bit_length() - 1)]  # 8 … R/2: in G and D
        if config.attention_resolution and config.attention_resolution not in sides:
            raise GankitError(
                f"model.attention_resolution must be one of {sides} at {resolution}×{resolution}"
                f" (or 0 for none), got {config.attention_resolution}"
            )
        if config.attention_resolution:
            _check_attention_width(config, resolution)

    @property
    def conditional(self) -> bool:
        return True

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.G(z, y)

    def phases(self) -> list[Phase]:
        cfg = self.config
        return critic_then_generator(self.D, self.G, cfg.d_opt, cfg.g_opt, cfg.n_critic)

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
            }
        if phase == "G":
            return self.g_loss(self.D(self.G(z, y), y))
        raise KeyError(phase)

    def g_loss(self, d_fake: Tensor) -> dict[str, Tensor]:
        """G's losses given D's logits on its samples."""
        return {"loss": hinge_g(d_fake)}


def _check_attention_width(config: SAGANConfig, resolution: int) -> None:
    """Self-attention's keys have C/8 channels: the attended feature maps need C ≥ 8."""
    side = config.attention_resolution
    g = generator_widths(resolution, config.g_channels)[side.bit_length() - 3]
    d = discriminator_widths(resolution, config.d_channels)[(resolution // side).bit_length() - 2]
    if min(g, d) < 8:
        raise GankitError(
            f"self-attention at {side}×{side} needs at least 8 channels there, but G has {g} and "
            f"D {d}: widen model.g_channels / model.d_channels or move the attention"
        )
