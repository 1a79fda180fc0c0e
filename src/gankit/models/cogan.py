"""CoGAN: Liu & Tuzel 2016, "Coupled Generative Adversarial Networks".

Two GANs, one per domain, trained at once on images of both domains with no correspondence
between them. The generators share their first layers (those near z, which decode the
high-level content) and the discriminators their last layers (those that judge it); only the
layers that render or read pixels are the domain's own. Sharing is what couples them: one z then
gives a *pair* of images of the same content in the two domains (a digit and its negative),
learned without ever seeing such a pair.

The default is the paper's digit architecture (as in the authors' Caffe network script and their
PyTorch port):
  G: z ∈ U[−1, 1]^100 -> FC 1024×4×4 -> three 3×3 stride-2 transposed convs (512, 256, 128),
     each with batch norm and PReLU -> 6×6 transposed conv to the image; only that last layer is
     per domain.
  D: conv 5×5 20 -> max-pool 2 -> conv 5×5 50 -> max-pool 2 -> FC 500 + PReLU -> FC 1 (logit);
     only the first conv (and its pool) is per domain. (The Caffe script's dropout after FC 500
     is left out, as in the authors' PyTorch port.)
It is sized by resolution: the transposed convs start from the side that lands exactly on R
(4×4 for 28 and 32), and D's first FC sees whatever map its convs leave (4×4 at 28, 5×5 at 32).
Two changes for this repository's data: the output is tanh, not the paper's sigmoid, as images
here are in [−1, 1]; and the losses are computed from logits (the same BCE, numerically stable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from gankit import losses
from gankit.config import PosInt, Range
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.models.adversarial import mean_prob
from gankit.models.base import GANModel, ModelConfig, OptimConfig, Phase, register_model

G_LAYERS, D_LAYERS = 5, 4  # layers of each generator and discriminator (sharing counts these)
UP_STAGES = 3  # stride-2 transposed convolutions between the FC layer and the output layer
MIN_RESOLUTION = 16  # below it D's two valid 5×5 convs and pools leave nothing


def _adam() -> OptimConfig:
    # the paper's solver: Adam(2e-4, 0.5, 0.999) with weight decay 5e-4 (the authors' Caffe
    # solver and PyTorch trainer both set it)
    return OptimConfig("adam", 2e-4, (0.5, 0.999), weight_decay=5e-4)


@dataclass
class CoGANConfig(ModelConfig):
    """The paper's digit settings: z ~ U[−1, 1]^100, Adam(2e-4, β1 0.5) with weight decay
    5e-4, batches of 128 per domain, 28×28 images.

    Args:
        g_channels: channels of the generator's last hidden layer (128); the earlier ones
            double toward z (1024, 512, 256, 128).
        d_channels: channels of the discriminator's two convolutions (20, 50).
        d_hidden: width of the discriminator's hidden FC layer (500).
        g_shared: generator layers shared by the two domains, counted from z (of 5; the paper
            shares 4, all but the output layer; 0 gives two independent GANs).
        d_shared: discriminator layers shared, counted from the output (of 4; the paper
            shares 3, all but the first conv).
        g_opt, d_opt: optimisers of the generators and of the discriminators.
    """

    z_dist: Literal["normal", "uniform"] = "uniform"
    g_channels: PosInt = 128
    d_channels: tuple[PosInt, PosInt] = (20, 50)
    d_hidden: PosInt = 500
    g_shared: Annotated[int, Range(0, G_LAYERS - 1)] = 4
    d_shared: Annotated[int, Range(0, D_LAYERS - 1)] = 3
    g_opt: OptimConfig = field(default_factory=_adam)
    d_opt: OptimConfig = field(default_factory=_adam)


def generator_sides(resolution: int) -> list[tuple[int, int]]:
    """(side, output_padding) of the FC layer's map and of each stride-2 stage's output: the
    6×6 output layer (padding 1) adds 3 to the side, each 3×3 stride-2 stage (padding 1) maps n
    to 2n − 1 + output_padding; worked back from `resolution` (28: 4, 7, 13, 25 -> 28)."""
    sides = [(resolution - 3, 0)]
    for _ in range(UP_STAGES):
        t = sides[0][0]
        n = (t + 1) // 2
        sides[0] = (t, t - (2 * n - 1))
        sides.insert(0, (n, 0))
    return sides


def discriminator_side(resolution: int) -> int:
    """Side of D's last conv map: two valid 5×5 convs, each followed by 2×2 max-pooling."""
    return ((resolution - 4) // 2 - 4) // 2


class CoupledGenerator(nn.Module):
    """z [N, z_dim] -> pairs [N, 2, C, R, R] in (−1, 1): `shared` (the first `shared` layers,
    one module used for both domains) then `heads[k]`, domain k's own remaining layers."""

    def __init__(self, z_dim: int, channels: int, resolution: int, *, base: int, shared: int):
        super().__init__()
        sides = generator_sides(resolution)
        widths = [base * 2 ** (UP_STAGES - i) for i in range(UP_STAGES + 1)]  # 8b, 4b, 2b, b

        def layer(i: int) -> nn.Module:
            if i == 0:  # the FC layer: a transposed conv of the 1×1 input, kernel = map side
                conv = nn.ConvTranspose2d(z_dim, widths[0], sides[0][0], bias=False)
            elif i <= UP_STAGES:
                pad = sides[i][1]
                conv = nn.ConvTranspose2d(
                    widths[i - 1], widths[i], 3, 2, 1, output_padding=pad, bias=False
                )
            else:  # the output layer
                return nn.Sequential(nn.ConvTranspose2d(widths[-1], channels, 6, 1, 1), nn.Tanh())
            width = conv.out_channels
            return nn.Sequential(conv, nn.BatchNorm2d(width), nn.PReLU(width))

        self.shared = nn.Sequential(*[layer(i) for i in range(shared)])
        self.heads = nn.ModuleList(
            nn.Sequential(*[layer(i) for i in range(shared, G_LAYERS)]) for _ in range(2)
        )
        self.z_dim = z_dim

    def forward(self, z: Tensor) -> Tensor:
        h = self.shared(z.view(z.shape[0], self.z_dim, 1, 1))  # computed once for both domains
        return torch.stack([head(h) for head in self.heads], 1)  # [N, 2, C, R, R]


class CoupledDiscriminator(nn.Module):
    """Images of domain A [N, C, R, R] and of domain B [M, C, R, R] -> logits ([N], [M]):
    `heads[k]`, domain k's own first layers, then `shared`, the last `shared` layers, one module
    judging both domains."""

    def __init__(
        self,
        channels: int,
        resolution: int,
        *,
        widths: tuple[int, int],
        hidden: int,
        shared: int,
    ) -> None:
        super().__init__()
        side = discriminator_side(resolution)

        def layer(i: int) -> nn.Module:
            if i == 0:  # the paper's convolutions have no activation: max-pooling follows
                return nn.Sequential(nn.Conv2d(channels, widths[0], 5), nn.MaxPool2d(2))
            if i == 1:
                return nn.Sequential(nn.Conv2d(widths[0], widths[1], 5), nn.MaxPool2d(2))
            if i == 2:
                return nn.Sequential(
                    nn.Flatten(), nn.Linear(widths[1] * side * side, hidden), nn.PReLU(hidden)
                )
            return nn.Sequential(nn.Linear(hidden, 1), nn.Flatten(0))

        first_shared = D_LAYERS - shared
        self.heads = nn.ModuleList(
            nn.Sequential(*[layer(i) for i in range(first_shared)]) for _ in range(2)
        )
        self.shared = nn.Sequential(*[layer(i) for i in range(first_shared, D_LAYERS)])

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.cat([self.heads[0](a), self.heads[1](b)])  # both domains through `shared` once
        out = self.shared(h).flatten()  # [N + M]
        return out[: a.shape[0]], out[a.shape[0] :]


@register_model("cogan", help="Liu & Tuzel 2016: coupled GANs that learn a joint distribution")
class CoGAN(GANModel):
    """Coupled GANs on two unpaired image domains of the same shape.

    A generative model: `generate(z)` draws pairs [N, 2, C, R, R] (index 1: domain A, B).
    Phases "D" (BCE, real vs generated, in both domains) and "G" (non-saturating BCE in both
    domains); each domain's loss is the plain GAN loss, summed over the two.

    Shapes: G: z [B, z_dim] -> [B, 2, C, R, R]; D: (a [B, C, R, R], b [B, C, R, R]) -> two [B]
    logits.
    """

    Config = CoGANConfig
    config: CoGANConfig
    data_kinds = ("unpaired",)
    default_resolution: ClassVar[int | None] = 28
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 128}

    def __init__(self, config: CoGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        channels, resolution = info.shape[0], info.shape[-1]
        self.G = CoupledGenerator(
            config.z_dim, channels, resolution, base=config.g_channels, shared=config.g_shared
        )
        self.D = CoupledDiscriminator(
            channels,
            resolution,
            widths=config.d_channels,
            hidden=config.d_hidden,
            shared=config.d_shared,
        )

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, CoGANConfig)
        if info.shape != info.shape_b:
            raise GankitError(
                f"cogan draws pairs of images of one shape, but {info.name!r} pairs "
                f"{'×'.join(map(str, info.shape))} with {'×'.join(map(str, info.shape_b))} images"
            )
        h, w = info.shape[-2:]
        if h != w:
            raise GankitError(f"cogan needs square images, got {h}×{w}")
        cls.check_resolution(config, w)

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Any side from 16: G's transposed convolutions are sized to land on it, and below it
        D's two valid 5×5 convolutions and pools leave nothing."""
        if resolution < MIN_RESOLUTION:
            raise GankitError(
                f"cogan needs images of side at least {MIN_RESOLUTION} (below it its "
                f"discriminators' two 5×5 convolutions and pools leave nothing), got "
                f"{resolution}: use --resolution {MIN_RESOLUTION} or more"
            )

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Pairs [N, 2, C, R, R] from z [N, z_dim]: [:, 0] in domain A, [:, 1] in B."""
        return self.G(z)

    def phases(self) -> list[Phase]:
        cfg = self.config
        return [
            Phase("D", list(self.D.parameters()), cfg.d_opt),
            Phase("G", list(self.G.parameters()), cfg.g_opt, reuses="D"),
        ]

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        real_a, real_b = batch["a"], batch["b"]  # [B, C, R, R] each, unrelated images
        fake = self.generated(phase, lambda: self.G(self.sample_latent(real_a.shape[0])))
        if phase == "D":
            ra, rb = self.D(real_a, real_b)
            fa, fb = self.D(fake[:, 0], fake[:, 1])
            return {
                "loss": losses.bce_d(ra, fa) + losses.bce_d(rb, fb),
                "p_real_a": mean_prob(ra),
                "p_real_b": mean_prob(rb),
                "p_fake_a": mean_prob(fa),
                "p_fake_b": mean_prob(fb),
                "real_sign": losses.real_sign(torch.cat([ra, rb])),
            }
        if phase == "G":
            fa, fb = self.D(fake[:, 0], fake[:, 1])
            return {
                "loss": losses.nonsaturating_g(fa) + losses.nonsaturating_g(fb),
                "p_fake_a": mean_prob(fa),
                "p_fake_b": mean_prob(fb),
            }
        raise KeyError(phase)
