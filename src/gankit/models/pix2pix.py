"""Pix2pix: Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from gankit import losses
from gankit.config import Dropout, NonNegFloat, NonNegInt, PosFloat, PosInt, UnitFloat
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.models.adversarial import mean_prob
from gankit.models.base import GANModel, ModelConfig, OptimConfig, Phase, register_model
from gankit.nn import normal_init_
from gankit.nn.image2image import (
    Norm,
    PatchDiscriminator,
    UNetGenerator,
    check_images,
    check_patch_layers,
    check_power_of_two,
    constant_then_linear,
    patch_layers,
)


@dataclass
class Pix2PixConfig(ModelConfig):
    """The paper's settings (sections 3-4 and appendix 6): a U-Net generator whose only noise is
    dropout 0.5 in its first three decoder blocks, a 70×70 PatchGAN on (input, output) pairs,
    the cross-entropy GAN loss plus λ = 100 times the L1 distance to the target, D's objective
    halved, weights ~ N(0, 0.02), Adam(2e-4, β (0.5, 0.999)), batch norm at batch size 1 (so
    instance norm), 256×256 images. There is no latent z (`z_dim` is unused).

    Args:
        l1: λ, the weight of the L1 distance between the translation and the target.
        g_channels, d_channels, max_channels: the U-Net's and the PatchGAN's first-layer
            channels (64), doubling per stage up to `max_channels` (512).
        dropout, dropout_blocks: the decoder's dropout rate, and how many of its blocks (from the
            bottleneck out) apply it.
        d_layers: the PatchGAN's stride-2 layers; None scales them with the resolution: 3 at 256
            (70×70 patches), one fewer per halving, so each patch stays about 27% of the image
            side (`patch_layers`).
        norm: `batch` (the paper's) or `instance`.
        paper_inference: `translate` in eval mode as the paper's test time: dropout stays on (the
            translations vary from call to call) and batch norm uses each image's own statistics
            (the paper's "statistics of the test batch" at its test batch of one image). False:
            the usual eval mode, deterministic (no dropout, running statistics).
        init_std: weights ~ N(0, init_std); None keeps PyTorch's defaults.
        decay_start: the fraction of the run after which the learning rate falls linearly to 0;
            1.0 (the paper) keeps it constant, 0.5 is the official code's 100 + 100 epochs.
        g_opt, d_opt: the optimisers of the generator and the discriminator.
    """

    l1: NonNegFloat = 100.0
    g_channels: PosInt = 64
    d_channels: PosInt = 64
    max_channels: PosInt = 512
    dropout: Dropout = 0.5
    dropout_blocks: NonNegInt = 3
    d_layers: PosInt | None = None
    norm: Norm = "batch"
    paper_inference: bool = True
    init_std: PosFloat | None = 0.02
    decay_start: UnitFloat = 1.0
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))


@register_model("pix2pix", help="Isola et al. 2017: U-Net G, PatchGAN D, GAN + L1 on image pairs")
class Pix2Pix(GANModel):
    """Pix2pix on aligned pairs (A, B) of the same size; A and B may differ in channels (edges
    to photos, gray to colour).

    Shapes: G: a [N, C_A, H, W] -> b [N, C_B, H, W] in (−1, 1), H and W multiples of
    `input_multiple` (2^depth: the training resolution); D: (a, b) -> patch logits
    [N, 1, H / 2^d_layers − 2, W / 2^d_layers − 2].
    """

    Config = Pix2PixConfig
    config: Pix2PixConfig
    data_kinds = ("paired",)
    default_resolution: ClassVar[int | None] = 256
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1}
    directions: ClassVar[tuple[str, ...]] = ("AtoB",)
    default_reuse_fake: ClassVar[bool] = True  # the authors' code runs G(a) once per iteration

    def __init__(self, config: Pix2PixConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        c_a, c_b, side = info.shape[0], info.shape_b[0], info.shape_b[-1]
        self.G = UNetGenerator(
            c_a,
            c_b,
            side,
            base=config.g_channels,
            maximum=config.max_channels,
            dropout=config.dropout,
            dropout_blocks=config.dropout_blocks,
            norm=config.norm,
            paper_inference=config.paper_inference,
        )
        self.D = PatchDiscriminator(
            c_a + c_b,
            layers=config.d_layers or patch_layers(side),
            base=config.d_channels,
            maximum=config.max_channels,
            norm=config.norm,
        )
        if config.init_std is not None:
            normal_init_(self, config.init_std)

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, Pix2PixConfig)
        if info.shape[1:] != info.shape_b[1:]:
            raise GankitError(
                f"pix2pix translates between images of one size, but {info.name!r} pairs "
                f"{info.shape[1:]} with {info.shape_b[1:]} (super-resolution pairs: use srgan)"
            )
        cls.check_resolution(config, info.shape_b[-1])

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Power-of-two sides from 8 (the U-Net halves the image down to 1×1), and a PatchGAN
        that leaves patches (`model.d_layers`, when set)."""
        assert isinstance(config, Pix2PixConfig)
        check_power_of_two(resolution, minimum=8, model=cls.name)
        if config.d_layers is not None:
            check_patch_layers(resolution, config.d_layers, model=cls.name)

    @property
    def input_multiple(self) -> int:
        return self.G.multiple

    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        """b = G(a) [N, C_B, H, W] for a [N, C_A, H, W] in [-1, 1]. In eval mode the paper's test
        time unless `paper_inference` is off (see `Pix2PixConfig`)."""
        self.check_direction(direction)
        check_images(x, self.info.shape[0], self.input_multiple, what="pix2pix")
        return self.G(x)

    def augmented_inputs(self) -> dict[str, tuple[int, ...] | None]:
        """D reads the condition and the (real or generated) target stacked: both move alike."""
        return {"D": (self.info.shape[0], self.info.shape_b[0])}

    def discriminate(self, a: Tensor, b: Tensor) -> Tensor:
        """Patch logits [N, 1, H', W'] of D judging b as the target of a (conditional D)."""
        return self.D(torch.cat([a, b], 1))

    def phases(self) -> list[Phase]:
        cfg = self.config
        schedule = constant_then_linear(cfg.decay_start)
        return [
            Phase("D", list(self.D.parameters()), cfg.d_opt, lr_scale=schedule),
            Phase("G", list(self.G.parameters()), cfg.g_opt, lr_scale=schedule, reuses="D"),
        ]

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        a, b = batch["a"], batch["b"]  # [N, C_A, H, W], [N, C_B, H, W]
        fake = self.generated(phase, lambda: self.G(a))
        if phase == "D":
            real_logits, fake_logits = self.discriminate(a, b), self.discriminate(a, fake)
            # the paper halves D's objective, which slows D relative to G
            return {
                "loss": 0.5 * losses.bce_d(real_logits, fake_logits),
                "p_real": mean_prob(real_logits),
                "p_fake": mean_prob(fake_logits),
                "real_sign": losses.real_sign(real_logits),
            }
        if phase == "G":
            logits = self.discriminate(a, fake)
            adv, l1 = losses.nonsaturating_g(logits), (fake - b).abs().mean()
            return {
                "loss": adv + self.config.l1 * l1,
                "adv": adv,
                "l1": l1,
                "p_fake": mean_prob(logits),
            }
        raise KeyError(phase)
