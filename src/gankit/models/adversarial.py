"""The common shape of the single-generator, single-discriminator GANs."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from gankit.data.base import Batch, DataInfo
from gankit.models.base import GANModel, ModelConfig, OptimConfig, Phase
from gankit.nn import normal_init_


@dataclass
class AdversarialConfig(ModelConfig):
    """Fields of every G/D pair.

    Args:
        n_critic: discriminator updates per generator update (k in Goodfellow et al., n_critic in
            the WGAN papers); each update draws a fresh real batch.
        init_std: initialise weights ~ N(0, init_std) (DCGAN); None keeps PyTorch's defaults.
        g_opt, d_opt: optimisers of the generator and the discriminator.
    """

    n_critic: int = 1
    init_std: float | None = None
    g_opt: OptimConfig = field(default_factory=OptimConfig)
    d_opt: OptimConfig = field(default_factory=OptimConfig)


class AdversarialModel(GANModel):
    """A generator `G: z -> sample` and a discriminator `D: sample -> [B] logits`, trained in two
    phases: "D" (n_critic times per step) then "G". Subclasses build the networks and define the
    two losses."""

    config: AdversarialConfig

    def __init__(self, config: AdversarialConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.G = self.build_generator()
        self.D = self.build_discriminator()
        if config.init_std is not None:
            normal_init_(self, config.init_std)

    def build_generator(self) -> nn.Module:
        raise NotImplementedError

    def build_discriminator(self) -> nn.Module:
        raise NotImplementedError

    def d_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def g_loss(self, fake: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        cfg = self.config
        return [
            Phase("D", list(self.D.parameters()), cfg.d_opt, repeat=cfg.n_critic),
            Phase("G", list(self.G.parameters()), cfg.g_opt),
        ]

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.G(z)

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        real = batch["x"]
        z = self.sample_latent(real.shape[0])
        if phase == "D":
            with torch.no_grad():
                fake = self.generate(z)
            return self.d_loss(real, fake)
        if phase == "G":
            return self.g_loss(self.generate(z))
        raise KeyError(phase)


def mean_prob(logits: Tensor) -> Tensor:
    """Mean of sigmoid(logits): D's average belief that the samples are real (for the logs)."""
    return torch.sigmoid(logits.detach().float()).mean()
