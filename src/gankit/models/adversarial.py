"""The common shape of the single-generator, single-discriminator GANs: their networks (an MLP
pair for points and flattened images, DCGAN's convolutional pair for images), class
conditioning, and the two-phase D/G loop. GAN, CGAN, DCGAN, LSGAN, WGAN and WGAN-GP differ only
in their defaults and their two losses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from gankit.config import Dropout, NonNegInt, PosFloat, PosInt
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.models.base import (
    GANModel,
    ModelConfig,
    OptimConfig,
    Phase,
    critic_then_generator,
)
from gankit.nn import (
    MLP,
    ConcatDiscriminator,
    ConditionalGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    LabelEncoder,
    MLPDiscriminator,
    ProjectionDiscriminator,
    normal_init_,
)
from gankit.nn.conv import check_resolution

Arch = Literal["auto", "mlp", "dcgan"]


@dataclass
class AdversarialConfig(ModelConfig):
    """Fields of every G/D pair.

    Args:
        n_critic: discriminator updates per generator update (k in Goodfellow et al., n_critic in
            the WGAN papers); each update draws a fresh real batch.
        init_std: initialise weights ~ N(0, init_std) (DCGAN); None keeps PyTorch's defaults.
        arch: `mlp` (fully connected, on points or flattened images), `dcgan` (Radford et al.'s
            convolutional pair, images only) or `auto` (mlp for points, dcgan for images).
        g_hidden, g_norm: the MLP generator's hidden widths and normalisation.
        d_hidden, d_act, d_maxout: the MLP discriminator's hidden widths, activation, and maxout
            pieces (when `d_act` is maxout).
        d_dropout, d_input_dropout: the MLP discriminator's dropout inside and on its input.
        g_channels, d_channels, max_channels: the conv pair's widths (see `dcgan`).
        d_norm: the conv discriminator's normalisation (`layer` or `none` where a per-sample
            penalty forbids batch norm).
        conditional: condition G and D on the class label (Mirza & Osindero 2014).
        label_embed: 0 feeds one-hot labels (the CGAN paper); n > 0 a learned n-d embedding.
        projection: a projection discriminator (Miyato & Koyama 2018) instead of feeding D
            the label with its input.
        pack: PacGAN (Lin et al. 2018): D judges `pack` samples at once, all real or all fake,
            concatenated along the features (channels for images); 1 is the usual D.
        g_opt, d_opt: optimisers of the generator and the discriminator.
    """

    n_critic: PosInt = 1
    init_std: PosFloat | None = None
    arch: Arch = "auto"
    g_hidden: tuple[PosInt, ...] = (512, 512, 512)
    g_norm: Literal["none", "batch", "layer"] = "none"
    d_hidden: tuple[PosInt, ...] = (512, 512, 512)
    d_act: Literal["relu", "leaky_relu", "maxout"] = "leaky_relu"
    d_maxout: PosInt = 5
    d_dropout: Dropout = 0.0
    d_input_dropout: Dropout = 0.0
    g_channels: PosInt = 64
    d_channels: PosInt = 64
    max_channels: PosInt = 512
    d_norm: Literal["batch", "layer", "none"] = "batch"
    conditional: bool = False
    label_embed: NonNegInt = 0
    projection: bool = False
    pack: PosInt = 1
    g_opt: OptimConfig = field(default_factory=OptimConfig)
    d_opt: OptimConfig = field(default_factory=OptimConfig)


class AdversarialModel(GANModel):
    """A generator `G: z (, y) -> sample` and a discriminator `D: sample (, y) -> [B] logits`,
    trained in two phases: "D" (n_critic times per step) then "G". Subclasses define the two
    losses (`d_loss`, `g_loss`) and may narrow the architectures they accept."""

    config: AdversarialConfig
    archs: ClassVar[tuple[str, ...]] = ("mlp", "dcgan")

    def __init__(self, config: AdversarialConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        labels = self._label_encoder()
        self.G = self.build_generator(config.z_dim + (labels.dim if labels else 0))
        if labels is not None:
            self.G = ConditionalGenerator(self.G, labels)
        if labels is None or config.projection:
            self.D = self.build_discriminator(0)
            if labels is not None:
                self.D = ProjectionDiscriminator(self.D, info.num_classes)
        else:
            d_labels = self._label_encoder()
            assert d_labels is not None
            net = self.build_discriminator(d_labels.dim)
            self.D = ConcatDiscriminator(net, d_labels, maps=self.arch == "dcgan")
        if config.init_std is not None:
            normal_init_(self, config.init_std)

    def _label_encoder(self) -> LabelEncoder | None:
        cfg = self.config
        return LabelEncoder(self.info.num_classes, cfg.label_embed) if cfg.conditional else None

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, AdversarialConfig)
        arch = cls.resolve_arch(config, info)
        if arch not in cls.archs:
            raise GankitError(f"model {cls.name!r} has no {arch!r} architecture")
        if arch == "dcgan":
            if info.kind != "image":
                raise GankitError(f"{cls.name}'s dcgan architecture needs image data")
            cls.check_resolution(config, info.shape[-1])
        if config.conditional and not info.num_classes:
            raise GankitError(
                f"model.conditional needs labelled data; {info.name!r} has no class labels"
            )
        if config.pack > 1 and config.conditional:
            raise GankitError("model.pack does not combine with model.conditional")

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """DCGAN's networks take power-of-two sides from 8; the MLPs take any (they flatten).
        An `auto` model is checked as its image networks: `data.resolution` sizes images only."""
        assert isinstance(config, AdversarialConfig)
        if cls.image_arch(config) == "dcgan":
            model = cls.name if cls.archs == ("dcgan",) else f"{cls.name}'s dcgan architecture"
            check_resolution(resolution, model=model)

    @classmethod
    def image_arch(cls, config: AdversarialConfig) -> str:
        """The architecture this model builds for image data (what `data.resolution` sizes)."""
        if config.arch != "auto":
            return config.arch
        return "dcgan" if "dcgan" in cls.archs else cls.archs[0]

    @classmethod
    def resolve_arch(cls, config: AdversarialConfig, info: DataInfo) -> str:
        if info.kind == "image":
            return cls.image_arch(config)
        if config.arch != "auto":
            return config.arch
        return cls.archs[0] if len(cls.archs) == 1 else "mlp"

    @property
    def arch(self) -> str:
        return self.resolve_arch(self.config, self.info)

    @property
    def conditional(self) -> bool:
        return self.config.conditional

    def build_generator(self, in_dim: int) -> nn.Module:
        """G for inputs of `in_dim` features (z, and the label's when conditional)."""
        cfg, shape = self.config, self.info.shape
        if self.arch == "dcgan":
            return DCGANGenerator(
                in_dim, shape[0], shape[-1], base=cfg.g_channels, maximum=cfg.max_channels
            )
        out_act: Literal["tanh"] | None = "tanh" if self.info.kind == "image" else None
        mlp = MLP(in_dim, cfg.g_hidden, math.prod(shape), norm=cfg.g_norm, out_act=out_act)
        return nn.Sequential(mlp, nn.Unflatten(1, shape))

    def build_discriminator(self, label_dim: int) -> nn.Module:
        """D for the data, widened by `label_dim` input features (or channels, for images)."""
        cfg, shape = self.config, self.info.shape
        if self.arch == "dcgan":
            return DCGANDiscriminator(
                shape[0] * cfg.pack + label_dim,
                shape[-1],
                base=cfg.d_channels,
                maximum=cfg.max_channels,
                norm=cfg.d_norm,
            )
        return MLPDiscriminator(
            math.prod(shape) * cfg.pack + label_dim,
            cfg.d_hidden,
            act=cfg.d_act,
            pieces=cfg.d_maxout,
            dropout=cfg.d_dropout,
            input_dropout=cfg.d_input_dropout,
        )

    # ------------------------------------------------------------------ the game
    def d_loss(self, real: Tensor, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        """Losses of the discriminator on real and fake samples (of labels y, if conditional)."""
        raise NotImplementedError

    def g_loss(self, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        raise NotImplementedError

    def discriminate(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D's outputs: [B], or [B / pack] for a packed discriminator."""
        if self.config.pack > 1:
            x = pack_samples(x, self.config.pack)
        return self.D(x, y) if self.conditional else self.D(x)

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.G(z, y) if self.conditional else self.G(z)

    def phases(self) -> list[Phase]:
        cfg = self.config
        return critic_then_generator(self.D, self.G, cfg.d_opt, cfg.g_opt, cfg.n_critic)

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        real = batch["x"]
        y = batch["y"] if self.conditional else None  # fakes take the real batch's labels
        fake = self.generated(phase, lambda: self.generate(self.sample_latent(real.shape[0]), y))
        if phase == "D":
            return self.d_loss(real, fake, y)
        if phase == "G":
            return self.g_loss(fake, y)
        raise KeyError(phase)


def pack_samples(x: Tensor, m: int) -> Tensor:
    """PacGAN's packing: [B, C, ...] -> [B / m, m·C, ...], consecutive samples side by side
    along the first feature axis."""
    if x.shape[0] % m:
        raise GankitError(f"a batch of {x.shape[0]} does not split into packs of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def mean_prob(logits: Tensor) -> Tensor:
    """Mean of sigmoid(logits): D's average belief that the samples are real (for the logs)."""
    return torch.sigmoid(logits.detach().float()).mean()
