"""WGAN: Arjovsky et al. 2017, "Wasserstein GAN" (weight clipping), and WGAN-GP: Gulrajani et
al. 2017, "Improved Training of Wasserstein GANs" (gradient penalty)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from gankit import losses
from gankit.config import NonNegFloat, NonNegInt, PosFloat, PosInt
from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models.adversarial import AdversarialConfig, AdversarialModel
from gankit.models.base import ModelConfig, OptimConfig, Phase, register_model


class WassersteinLosses:
    """The critic maximises E[C(x)] − E[C(G(z))]; the generator maximises E[C(G(z))]."""

    def critic_loss(self, real: Tensor, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        r = self.discriminate(real, y)  # type: ignore[attr-defined]
        f = self.discriminate(fake, y)  # type: ignore[attr-defined]
        wasserstein = losses.wasserstein_d(r, f)
        return {
            "loss": wasserstein,
            "w_dist": -wasserstein.detach(),  # the critic's W estimate
            "real_sign": losses.critic_sign(r, f),
        }

    def g_loss(self, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        return {"loss": losses.wasserstein_g(self.discriminate(fake, y))}  # type: ignore[attr-defined]


@dataclass
class WGANConfig(AdversarialConfig):
    """The paper's Algorithm 1: RMSprop(5e-5), clipping c = 0.01, n_critic = 5, batches of 64,
    z ~ N(0, I)^100, DCGAN's networks (batch norm kept in the critic) for images and the
    authors' MLPs (three 512-unit ReLU layers) for points.

    Args:
        clip: critic weights are clamped to [−clip, clip] after every critic update.
        warmup_critic, warmup_steps, warmup_every: the authors' schedule: `warmup_critic` critic
            updates for the first `warmup_steps` generator steps and every `warmup_every`-th
            step, to keep the critic near optimal (0 turns it off).
    """

    n_critic: PosInt = 5
    init_std: PosFloat | None = 0.02
    d_act: Literal["relu", "leaky_relu", "maxout"] = "relu"
    clip: PosFloat = 0.01
    warmup_critic: NonNegInt = 100
    warmup_steps: NonNegInt = 25
    warmup_every: NonNegInt = 500
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("rmsprop", 5e-5))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("rmsprop", 5e-5))


@register_model("wgan", help="Arjovsky et al. 2017: Wasserstein critic with weight clipping")
class WGAN(WassersteinLosses, AdversarialModel):
    """WGAN with weight clipping, on points (MLP) or images (DCGAN-style).

    Shapes: G: z [B, z_dim] -> x [B, *shape]; critic: x -> values [B].
    """

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}
    default_resolution: ClassVar[int | None] = 64
    Config = WGANConfig
    config: WGANConfig

    def critic_updates(self, step: int) -> int:
        cfg = self.config
        warm = cfg.warmup_critic and (
            step < cfg.warmup_steps or (cfg.warmup_every and step % cfg.warmup_every == 0)
        )
        return cfg.warmup_critic if warm else cfg.n_critic

    @torch.no_grad()
    def clip_critic(self) -> None:
        for p in self.D.parameters():
            p.clamp_(-self.config.clip, self.config.clip)

    def phases(self) -> list[Phase]:
        cfg = self.config
        critic = Phase(
            "D",
            list(self.D.parameters()),
            cfg.d_opt,
            self.critic_updates,
            after_step=self.clip_critic,
        )
        return [critic, Phase("G", list(self.G.parameters()), cfg.g_opt)]

    def d_loss(self, real: Tensor, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        return self.critic_loss(real, fake, y)


@dataclass
class WGANGPConfig(AdversarialConfig):
    """Algorithm 1's defaults: λ = 10, n_critic = 5, Adam(1e-4, β = (0, 0.9)); z ~ N(0, I)^128.
    The critic has no batch norm (layer norm, the paper's recommended drop-in, for images); the
    MLPs for points are the authors' toy networks (three 512-unit ReLU layers).

    Args:
        gp_weight: λ, the gradient penalty's weight.
    """

    z_dim: PosInt = 128
    n_critic: PosInt = 5
    gp_weight: NonNegFloat = 10.0
    d_act: Literal["relu", "leaky_relu", "maxout"] = "relu"
    d_norm: Literal["batch", "layer", "none"] = "layer"
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 1e-4, (0.0, 0.9)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 1e-4, (0.0, 0.9)))


@register_model("wgan-gp", help="Gulrajani et al. 2017: Wasserstein critic + gradient penalty")
class WGANGP(WassersteinLosses, AdversarialModel):
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
        if cls.resolve_arch(config, info) == "dcgan" and config.d_norm == "batch":
            raise GankitError("wgan-gp's critic cannot use batch norm (the penalty is per sample)")

    def d_loss(self, real: Tensor, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        out = self.critic_loss(real, fake, y)
        gp = losses.gradient_penalty(
            lambda x: self.discriminate(x, y), real, fake, group=self.config.pack
        )
        out["loss"] = out["loss"] + self.config.gp_weight * gp
        out["gp"] = gp.detach()
        return out
