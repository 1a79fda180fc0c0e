"""LSGAN: Mao et al. 2017, "Least Squares Generative Adversarial Networks"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from torch import Tensor

from gankit import losses
from gankit.config import PosFloat, Real
from gankit.models.adversarial import AdversarialConfig, AdversarialModel
from gankit.models.base import OptimConfig, register_model


@dataclass
class LSGANConfig(AdversarialConfig):
    """The least-squares game with the paper's a–b–c coding: D pulls fakes to `a` and reals to
    `b`, G pulls fakes to `c`. 0/1/1 (the 0–1 coding) by default; −1/1/0 is the choice for
    which the paper shows the objective minimises the Pearson χ² divergence.

    Networks as DCGAN's (batch norm in both, LeakyReLU in D) for images and MLPs for points;
    Adam(2e-4, β1 0.5), weights ~ N(0, 0.02), z ~ U[-1, 1]^100, as in the DCGAN code the paper
    builds on.
    """

    z_dist: Literal["normal", "uniform"] = "uniform"
    init_std: PosFloat | None = 0.02
    a: Real = 0.0
    b: Real = 1.0
    c: Real = 1.0
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))


@register_model("lsgan", help="Mao et al. 2017: least-squares objective (a-b-c coding)")
class LSGAN(AdversarialModel):
    """LSGAN on points (MLP) or images (DCGAN-style).

    Shapes: G: z [B, z_dim] -> x [B, *shape]; D: x -> scores [B] (no sigmoid).
    """

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}
    default_resolution: ClassVar[int | None] = 64
    Config = LSGANConfig
    config: LSGANConfig

    def d_loss(self, real: Tensor, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        cfg = self.config
        r, f = self.discriminate(real, y), self.discriminate(fake, y)
        return {
            "loss": losses.least_squares_d(r, f, a=cfg.a, b=cfg.b),
            "d_real": r.detach().mean(),
            "d_fake": f.detach().mean(),
            "real_sign": losses.real_sign(r, (cfg.a + cfg.b) / 2),  # midway between the targets
        }

    def g_loss(self, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        f = self.discriminate(fake, y)
        return {"loss": losses.least_squares_g(f, c=self.config.c), "d_fake": f.detach().mean()}
