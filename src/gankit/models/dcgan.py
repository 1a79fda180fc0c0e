"""DCGAN: Radford et al. 2016, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from gankit.config import PosFloat, PosInt
from gankit.models.adversarial import AdversarialModel, Arch
from gankit.models.base import OptimConfig, register_model
from gankit.models.gan import BCEConfig, BCELosses


@dataclass
class DCGANConfig(BCEConfig):
    """The paper's settings: z ~ U[-1, 1]^100, weights ~ N(0, 0.02), Adam(2e-4, β1 0.5),
    mini-batches of 128, 64×64 images with 1024 channels at 4×4 (g_channels 128).

    Args:
        g_channels: generator channels at R/2, doubling toward 4×4 up to `max_channels`.
        d_channels: discriminator channels of its first layer, doubling likewise.
    """

    z_dist: Literal["normal", "uniform"] = "uniform"
    init_std: PosFloat | None = 0.02
    arch: Arch = "dcgan"
    g_channels: PosInt = 128
    d_channels: PosInt = 128
    max_channels: PosInt = 1024
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))


@register_model("dcgan", help="Radford et al. 2016: all-convolutional G and D with batch norm")
class DCGAN(BCELosses, AdversarialModel):
    """DCGAN at any power-of-two resolution ≥ 8 (class-conditional with `conditional=true`).

    Shapes: G: z [B, z_dim] -> x [B, C, R, R] in (−1, 1); D: x -> logits [B].
    """

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 128}
    archs: ClassVar[tuple[str, ...]] = ("dcgan",)
    Config = DCGANConfig
    config: DCGANConfig
    data_kinds = ("image",)
    default_resolution: ClassVar[int | None] = 64
    # dcgan.torch trains G on the samples of D's step ("already executed in fDx")
    default_reuse_fake: ClassVar[bool] = True
