"""BigGAN: Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from torch import Tensor, nn

from gankit.config import NonNegFloat, NonNegInt, PosInt
from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.losses import hinge_g, orthogonal_reg
from gankit.models.base import ModelConfig, OptimConfig, register_model
from gankit.models.sagan import SAGAN, SAGANConfig
from gankit.nn.biggan import Init


@dataclass
class BigGANConfig(SAGANConfig):
    """The paper's settings at 128×128 (Table 1, last row; Appendix B and C).

    Args:
        z_dim: 120, split into one chunk per G block plus one for the first layer (20 each at
            128×128; near-equal chunks where it does not divide).
        shared_dim: the shared class embedding's size (128); 0 gives SAGAN's per-class gains.
        hierarchical: feed z chunks to every block (the paper's "skip-z").
        g_channels, d_channels: width multiplier ch (96).
        attention_resolution: self-attention in G and D at R/2 (64×64 at 128×128); see
            `SAGANConfig` for the forms it takes and how a fraction is fitted.
        ortho: β of the orthogonal regularisation of G's weights (1e-4), all but the shared
            embedding's.
        n_critic: two D steps per G step.
        g_opt, d_opt: Adam with β = (0, 0.999): G 5e-5, D 2e-4 (half SAGAN's); ε 1e-6 as in the
            authors' PyTorch code (the paper does not give it).
        init: orthogonal (Saxe et al. 2014).
    """

    z_dim: PosInt = 120
    shared_dim: NonNegInt = 128
    hierarchical: bool = True
    g_channels: PosInt = 96
    d_channels: PosInt = 96
    attention_resolution: NonNegInt | str = "R/2"
    ortho: NonNegFloat = 1e-4
    n_critic: PosInt = 2
    init: Init = "ortho"
    g_opt: OptimConfig = field(
        default_factory=lambda: OptimConfig("adam", 5e-5, (0.0, 0.999), eps=1e-6)
    )
    d_opt: OptimConfig = field(
        default_factory=lambda: OptimConfig("adam", 2e-4, (0.0, 0.999), eps=1e-6)
    )


@register_model("biggan", help="Brock et al. 2019: SAGAN scaled up, shared embedding, skip-z")
class BigGAN(SAGAN):
    """BigGAN (not BigGAN-deep) at any power-of-two resolution from 16 to 512: SAGAN's networks
    wider, with a shared class embedding and hierarchical z feeding G's conditional batch
    norms, orthogonal regularisation of G, two D steps per G step, and an EMA of G (decay
    0.9999, started at step 20,000 as in the authors' code) for sampling. Sample with
    `truncation` for the truncation trick: it redraws out-of-range entries of the whole z,
    every chunk included.

    Shapes: G: z [B, z_dim], y [B] -> x [B, C, R, R] in (−1, 1); D: x, y -> logits [B].
    """

    Config = BigGANConfig
    config: BigGANConfig
    default_ema = True
    # the paper's batch of 2,048; EMA per the paper (decay) and the authors' code (start)
    train_defaults: ClassVar[dict[str, Any]] = {
        "batch_size": 2048,
        "ema_decay": 0.9999,
        "ema_start": 20_000,
    }

    def generator_options(self) -> dict[str, Any]:
        return {"shared_dim": self.config.shared_dim, "hierarchical": self.config.hierarchical}

    def sn_exempt(self) -> tuple[nn.Module, ...]:
        # the authors' code: spectral norm on G's shared embedding "seems to randomly cripple G"
        shared = self.G.shared
        return (shared,) if isinstance(shared, nn.Module) else ()

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """SAGAN's rules, and a hierarchical z long enough for one chunk per generator block
        (log2(R) − 2 of them) plus one."""
        super().check_resolution(config, resolution)
        assert isinstance(config, BigGANConfig)
        chunks = resolution.bit_length() - 2
        if config.hierarchical and config.z_dim < chunks:
            raise GankitError(
                f"biggan splits z into one chunk per generator block plus one, {chunks} at "
                f"{resolution}×{resolution}: model.z_dim {config.z_dim} does not split into "
                f"{chunks} chunks; raise model.z_dim to at least {chunks}"
            )

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, BigGANConfig)
        if config.hierarchical and not config.shared_dim:
            raise GankitError("model.hierarchical needs a shared embedding (model.shared_dim > 0)")

    def ortho_weights(self) -> list[Tensor]:
        """G's weights under orthogonal regularisation: every matrix or filter bank (the raw
        weights under spectral norm) but the shared embedding's, as in the authors' code."""
        return [
            p
            for name, p in self.G.named_parameters()
            if p.dim() >= 2 and not name.startswith("shared.")
        ]

    def g_loss(self, d_fake: Tensor) -> dict[str, Tensor]:
        adversarial = hinge_g(d_fake)
        if not self.config.ortho:
            return {"loss": adversarial}
        ortho = orthogonal_reg(self.ortho_weights())
        return {"loss": adversarial + self.config.ortho * ortho, "ortho": ortho.detach()}
