"""WGAN-GP: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from torch import Tensor, nn

from gankit import losses
from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models.adversarial import AdversarialConfig, AdversarialModel
from gankit.models.base import ModelConfig, OptimConfig, register_model
from gankit.nn import MLP, DCGANDiscriminator, DCGANGenerator
from gankit.nn.conv import check_resolution


@dataclass
class WGANGPConfig(AdversarialConfig):
    """Algorithm 1's defaults: λ = 10, n_critic = 5, Adam(1e-4, β = (0, 0.9)); z ~ N(0, I)^128.

    Args:
        arch: `mlp` (the paper's toy networks: `mlp_layers` ReLU layers of `mlp_width`), `dcgan`
            (DCGAN's generator; a critic without batch norm), or `auto` (mlp for points, dcgan
            for images).
        gp_weight: λ, the gradient penalty's weight.
        critic_norm: `layer` (the paper's recommended drop-in for batch norm) or `none`.
        g_channels, d_channels, max_channels: conv widths as in `dcgan`.
    """

    z_dim: int = 128
    n_critic: int = 5
    arch: Literal["auto", "mlp", "dcgan"] = "auto"
    gp_weight: float = 10.0
    mlp_width: int = 512
    mlp_layers: int = 3
    critic_norm: Literal["layer", "none"] = "layer"
    g_channels: int = 64
    d_channels: int = 64
    max_channels: int = 512
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 1e-4, (0.0, 0.9)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 1e-4, (0.0, 0.9)))


@register_model("wgan-gp", help="Gulrajani et al. 2017: Wasserstein critic + gradient penalty")
class WGANGP(AdversarialModel):
    """WGAN with gradient penalty, on points (MLP) or images (DCGAN-style, critic without BN).

    Shapes: G: z [B, z_dim] -> x [B, *shape]; critic: x -> values [B].
    """

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}
    Config = WGANGPConfig
    config: WGANGPConfig
    default_resolution: ClassVar[int | None] = 64

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, WGANGPConfig)
        if cls.resolve_arch(config, info) == "dcgan":
            if info.kind != "image":
                raise GankitError("wgan-gp's dcgan architecture needs image data")
            check_resolution(info.shape[-1])

    @staticmethod
    def resolve_arch(config: WGANGPConfig, info: DataInfo) -> str:
        if config.arch != "auto":
            return config.arch
        return "dcgan" if info.kind == "image" else "mlp"

    @property
    def arch(self) -> str:
        return self.resolve_arch(self.config, self.info)

    def build_generator(self) -> nn.Module:
        cfg, shape = self.config, self.info.shape
        if self.arch == "dcgan":
            return DCGANGenerator(
                cfg.z_dim, shape[0], shape[-1], base=cfg.g_channels, maximum=cfg.max_channels
            )
        out_act: Literal["tanh"] | None = "tanh" if self.info.kind == "image" else None
        hidden = [cfg.mlp_width] * cfg.mlp_layers
        mlp = MLP(cfg.z_dim, hidden, math.prod(shape), out_act=out_act)
        return nn.Sequential(mlp, nn.Unflatten(1, shape))

    def build_discriminator(self) -> nn.Module:
        cfg, shape = self.config, self.info.shape
        if self.arch == "dcgan":
            return DCGANDiscriminator(
                shape[0],
                shape[-1],
                base=cfg.d_channels,
                maximum=cfg.max_channels,
                norm=cfg.critic_norm,
            )
        mlp = MLP(math.prod(shape), [cfg.mlp_width] * cfg.mlp_layers, 1)
        return nn.Sequential(nn.Flatten(), mlp, nn.Flatten(0))

    def d_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        r, f = self.D(real), self.D(fake)
        wasserstein = losses.wasserstein_d(r, f)
        gp = losses.gradient_penalty(self.D, real, fake)
        return {
            "loss": wasserstein + self.config.gp_weight * gp,
            "w_dist": -wasserstein.detach(),  # the critic's estimate of W(P_r, P_g)
            "gp": gp.detach(),
        }

    def g_loss(self, fake: Tensor) -> dict[str, Tensor]:
        return {"loss": losses.wasserstein_g(self.D(fake))}
