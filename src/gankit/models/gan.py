"""GAN: Goodfellow et al. 2014, "Generative Adversarial Nets" — MLP generator and maxout
discriminator, with the minimax or the non-saturating generator loss; and CGAN: Mirza & Osindero
2014, "Conditional Generative Adversarial Nets" — the same game with the class label given to
both networks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from torch import Tensor

from gankit import losses
from gankit.config import Dropout, PosInt
from gankit.models.adversarial import AdversarialConfig, AdversarialModel, Arch, mean_prob
from gankit.models.base import OptimConfig, register_model


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
    """

    z_dist: Literal["normal", "uniform"] = "uniform"
    arch: Arch = "mlp"
    g_hidden: tuple[PosInt, ...] = (1200, 1200)
    d_hidden: tuple[PosInt, ...] = (240, 240)
    d_act: Literal["relu", "leaky_relu", "maxout"] = "maxout"
    d_maxout: PosInt = 5
    d_dropout: Dropout = 0.5
    d_input_dropout: Dropout = 0.2
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))


class BCELosses:
    """The cross-entropy game of Goodfellow et al., shared by GAN, CGAN and DCGAN."""

    config: BCEConfig

    def d_loss(self, real: Tensor, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        r = self.discriminate(real, y)  # type: ignore[attr-defined]
        f = self.discriminate(fake, y)  # type: ignore[attr-defined]
        return {
            "loss": losses.bce_d(r, f),
            "p_real": mean_prob(r),
            "p_fake": mean_prob(f),
            "real_sign": losses.real_sign(r),
        }

    def g_loss(self, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        f = self.discriminate(fake, y)  # type: ignore[attr-defined]
        return {"loss": losses.GENERATOR_BCE[self.config.loss](f), "p_fake": mean_prob(f)}


@register_model("gan", help="Goodfellow et al. 2014: MLP G, maxout D; minimax or non-saturating")
class GAN(BCELosses, AdversarialModel):
    """The original GAN on points or flattened images (any data shape).

    Shapes: G: z [B, z_dim] -> x [B, *shape]; D: x [B, *shape] -> logits [B].
    """

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 100}
    archs: ClassVar[tuple[str, ...]] = ("mlp",)
    Config = GANConfig
    config: GANConfig


@dataclass
class CGANConfig(GANConfig):
    """Mirza & Osindero's MNIST model: the GAN's MLPs (ReLU generator, maxout discriminator with
    dropout 0.5), z ~ U[-1, 1]^100, with one-hot labels joined to the input of both networks.

    The paper first maps z and y through separate layers (200 and 1,000 ReLU units in G, 240 and
    50 maxout units in D) and joins them after; here the labels join the inputs directly, the
    form later work uses and the one shared by every conditional model in gankit. Its SGD
    schedule is replaced by Adam(2e-4, β1 0.5), as for `gan`.
    """

    conditional: bool = True
    d_input_dropout: Dropout = 0.0


@register_model("cgan", help="Mirza & Osindero 2014: the label conditions G and D")
class CGAN(GAN):
    """A class-conditional GAN: G(z, y), D(x, y); `arch=dcgan` gives a conditional DCGAN and
    `projection=true` a projection discriminator.

    Shapes: G: z [B, z_dim], y [B] -> x [B, *shape]; D: x, y -> logits [B].
    """

    archs: ClassVar[tuple[str, ...]] = ("mlp", "dcgan")
    needs_labels = True
    Config = CGANConfig
    config: CGANConfig
