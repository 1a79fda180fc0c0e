"""GAN: Goodfellow et al. 2014, "Generative Adversarial Nets" — MLP generator and maxout
discriminator, with the minimax or the non-saturating generator loss."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from torch import Tensor, nn

from gankit import losses
from gankit.models.adversarial import AdversarialConfig, AdversarialModel, mean_prob
from gankit.models.base import OptimConfig, register_model
from gankit.nn import MLP


@dataclass
class BCEConfig(AdversarialConfig):
    """The cross-entropy game's choice of generator loss: `nonsaturating` (−log D(G(z)), the
    paper's practical choice) or `minimax` (log(1 − D(G(z))), the game as written)."""

    loss: Literal["nonsaturating", "minimax"] = "nonsaturating"


@dataclass
class GANConfig(BCEConfig):
    """Goodfellow et al.'s MNIST model: z ~ U[-1, 1]^100; G with two 1200-unit ReLU layers; D with
    two 240-unit maxout layers (5 pieces) and dropout (0.2 on the input, 0.5 inside).

    The paper trained with SGD and a hand-tuned momentum/learning-rate schedule; the default here
    is Adam(2e-4, β1 0.5), which later work (DCGAN, PacGAN) adopted for the same MLPs and which
    converges without that schedule. `g_opt.name=sgd` restores plain SGD with momentum.

    Args:
        g_hidden, g_norm: generator hidden widths and normalisation.
        d_hidden, d_maxout: discriminator hidden widths and maxout pieces (1: LeakyReLU units).
        d_dropout, d_input_dropout: discriminator dropout.
    """

    z_dist: Literal["normal", "uniform"] = "uniform"
    g_hidden: tuple[int, ...] = (1200, 1200)
    g_norm: Literal["none", "batch"] = "none"
    d_hidden: tuple[int, ...] = (240, 240)
    d_maxout: int = 5
    d_dropout: float = 0.5
    d_input_dropout: float = 0.2
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))


class BCELosses:
    """The cross-entropy game of Goodfellow et al., shared by GAN and DCGAN."""

    config: BCEConfig

    def d_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        r, f = self.D(real), self.D(fake)  # type: ignore[attr-defined]
        return {"loss": losses.bce_d(r, f), "p_real": mean_prob(r), "p_fake": mean_prob(f)}

    def g_loss(self, fake: Tensor) -> dict[str, Tensor]:
        f = self.D(fake)  # type: ignore[attr-defined]
        return {"loss": losses.GENERATOR_BCE[self.config.loss](f), "p_fake": mean_prob(f)}


@register_model("gan", help="Goodfellow et al. 2014: MLP G, maxout D; minimax or non-saturating")
class GAN(BCELosses, AdversarialModel):
    """The original GAN on points or flattened images (any data shape).

    Shapes: G: z [B, z_dim] -> x [B, *shape]; D: x [B, *shape] -> logits [B].
    """

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 100}
    Config = GANConfig
    config: GANConfig

    def build_generator(self) -> nn.Module:
        cfg, dim = self.config, math.prod(self.info.shape)
        out_act: Literal["tanh"] | None = "tanh" if self.info.kind == "image" else None
        mlp = MLP(cfg.z_dim, cfg.g_hidden, dim, norm=cfg.g_norm, out_act=out_act)
        return nn.Sequential(mlp, nn.Unflatten(1, self.info.shape))

    def build_discriminator(self) -> nn.Module:
        cfg, dim = self.config, math.prod(self.info.shape)
        act: Literal["maxout", "leaky_relu"] = "maxout" if cfg.d_maxout > 1 else "leaky_relu"
        mlp = MLP(
            dim,
            cfg.d_hidden,
            1,
            act=act,
            pieces=cfg.d_maxout,
            dropout=cfg.d_dropout,
            input_dropout=cfg.d_input_dropout,
        )
        return nn.Sequential(nn.Flatten(), mlp, nn.Flatten(0))
