"""The two-way translation models on unpaired domains: CycleGAN (Zhu et al. 2017, "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks") and DiscoGAN (Kim et al.
2017, "Learning to Discover Cross-Domain Relations with Generative Adversarial Networks").

Both train two generators, G_AB: A → B and G_BA: B → A, each against a discriminator of its
target domain (D_B judges B images, D_A judges A images), and ask that translating there and
back returns the input. They differ in their networks and their losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import losses
from gankit.config import NonNegFloat, NonNegInt, PosFloat, PosInt, UnitFloat
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.models.adversarial import mean_prob
from gankit.models.base import (
    GANModel,
    ModelConfig,
    OptimConfig,
    Phase,
    preview_rows,
    register_model,
)
from gankit.nn import normal_init_
from gankit.nn.conv import resolution_hint
from gankit.nn.image2image import (
    EncoderDecoderGenerator,
    EncoderDiscriminator,
    ImagePool,
    PatchDiscriminator,
    ResNetGenerator,
    check_images,
    check_patch_layers,
    check_power_of_two,
    constant_then_linear,
    patch_layers,
    resnet_blocks,
)


class TwoWayModel(GANModel):
    """What CycleGAN and DiscoGAN share: generators G_AB and G_BA, discriminators D_A and D_B,
    both translation directions, and a preview with the round trips.

    Subclasses build the networks (`build_generator`, `build_discriminator`) and define the
    phases and losses.
    """

    data_kinds = ("unpaired",)
    directions: ClassVar[tuple[str, ...]] = ("AtoB", "BtoA")
    ema_targets: ClassVar[tuple[str, ...]] = ("G_AB", "G_BA")
    G_AB: ResNetGenerator | EncoderDecoderGenerator
    G_BA: ResNetGenerator | EncoderDecoderGenerator

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        c_a, c_b = info.shape[0], info.shape_b[0]
        self.G_AB = self.build_generator(c_a, c_b)
        self.G_BA = self.build_generator(c_b, c_a)
        self.D_A = self.build_discriminator(c_a)
        self.D_B = self.build_discriminator(c_b)

    def augmented_inputs(self) -> dict[str, tuple[int, ...] | None]:
        return {"D_A": None, "D_B": None}

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        if info.shape[1:] != info.shape_b[1:]:
            raise GankitError(
                f"{cls.name} translates between images of one size, but {info.name!r} holds "
                f"{info.shape[1:]} in A and {info.shape_b[1:]} in B"
            )
        cls.check_resolution(config, info.shape_b[-1])

    def build_generator(self, c_in: int, c_out: int) -> ResNetGenerator | EncoderDecoderGenerator:
        raise NotImplementedError

    def build_discriminator(self, channels: int) -> nn.Module:
        raise NotImplementedError

    @property
    def input_multiple(self) -> int:
        return self.G_AB.multiple

    def generators(self) -> list[nn.Parameter]:
        return [*self.G_AB.parameters(), *self.G_BA.parameters()]

    def discriminators(self) -> list[nn.Parameter]:
        return [*self.D_A.parameters(), *self.D_B.parameters()]

    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        """G_AB(x) for A images x [N, C_A, H, W] ("AtoB"), G_BA(x) for B images [N, C_B, H, W]
        ("BtoA"); the output has the other domain's channels."""
        self.check_direction(direction)
        channels = self.info.shape[0] if direction == "AtoB" else self.info.shape_b[0]
        check_images(x, channels, self.input_multiple, what=f"{self.name} {direction}")
        return self.G_AB(x) if direction == "AtoB" else self.G_BA(x)

    @torch.no_grad()
    def preview(self, batch: Batch) -> tuple[Tensor, int]:
        """One row per example: a, A→B(a), B→A(A→B(a)), b, B→A(b), A→B(B→A(b))."""
        a, b = batch["a"], batch["b"]
        ab, ba = self.G_AB(a), self.G_BA(b)
        columns = [a, ab, self.G_BA(ab), b, ba, self.G_AB(ba)]
        return preview_rows(columns), len(columns)

    def cycle(self, a: Tensor, b: Tensor) -> dict[str, Tensor]:
        """Both translations and both round trips: fake_b = G_AB(a), rec_a = G_BA(fake_b),
        fake_a = G_BA(b), rec_b = G_AB(fake_a), each the shape of its domain's images."""
        fake_b, fake_a = self.G_AB(a), self.G_BA(b)
        return {
            "fake_b": fake_b,
            "fake_a": fake_a,
            "rec_a": self.G_BA(fake_b),
            "rec_b": self.G_AB(fake_a),
        }


# ---------------------------------------------------------------------------- CycleGAN
@dataclass
class CycleGANConfig(ModelConfig):
    """The paper's settings (section 4 and appendix 7): ResNet generators, 70×70 PatchGAN
    discriminators with instance norm, the least-squares GAN loss, λ_cycle = 10, an identity
    loss of 0.5·λ_cycle (the official code's default; the paper uses it for paintings ↔ photos),
    50-image histories of fakes for the discriminators, D's objective halved, weights ~
    N(0, 0.02), Adam(2e-4, β (0.5, 0.999)) constant for the first half of training then falling
    linearly to 0 (100 + 100 epochs), batch size 1, 256×256 images. There is no latent z
    (`z_dim` is unused).

    Args:
        cycle: λ_cycle, the weight of the L1 cycle-consistency loss in each direction.
        identity: the identity loss's weight as a fraction of `cycle` (λ_identity): G_AB(b) ≈ b
            and G_BA(a) ≈ a, in L1. It needs A and B to have the same channels; with different
            channels (gray ↔ colour) it is off whatever its value.
        pool_size: images kept in each discriminator's history (0: D sees only the newest).
        g_channels, d_channels, max_channels: the generators' first-layer channels (64) and the
            PatchGANs' (64, doubling up to `max_channels`, 512).
        blocks: residual blocks of each generator; None: 9 for 256×256 and larger, 6 below.
        d_layers: the PatchGANs' stride-2 layers; None scales them with the resolution: 3 at 256
            (70×70 patches), one fewer per halving (`patch_layers`).
        init_std: weights ~ N(0, init_std); None keeps PyTorch's defaults.
        decay_start: the fraction of the run after which the learning rates fall linearly to 0
            (0.5: the paper's 100 + 100 epochs; 1.0 keeps them constant).
        g_opt, d_opt: the optimisers of both generators and of both discriminators.
    """

    cycle: NonNegFloat = 10.0
    identity: NonNegFloat = 0.5
    pool_size: NonNegInt = 50
    g_channels: PosInt = 64
    d_channels: PosInt = 64
    max_channels: PosInt = 512
    blocks: NonNegInt | None = None
    d_layers: PosInt | None = None
    init_std: PosFloat | None = 0.02
    decay_start: UnitFloat = 0.5
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))


@register_model(
    "cyclegan", help="Zhu et al. 2017: two ResNet Gs, PatchGAN Ds, LSGAN + cycle loss, unpaired"
)
class CycleGAN(TwoWayModel):
    """CycleGAN on unpaired domains A and B of one image size (their channels may differ).

    The "G" phase updates both generators on adversarial + λ·cycle (+ identity) losses and keeps
    its (detached) translations; the "D" phase shows each discriminator its domain's real
    images against `ImagePool.query` of those translations (generated afresh from its own
    batch when no G phase has left any, e.g. when D runs first).

    Shapes: G_AB: [N, C_A, H, W] -> [N, C_B, H, W] and G_BA back, H and W multiples of 4;
    D_A, D_B: images -> patch logits [N, 1, H / 2^d_layers − 2, W / 2^d_layers − 2].
    """

    Config = CycleGANConfig
    config: CycleGANConfig
    default_resolution: ClassVar[int | None] = 256

    @classmethod
    def channels_last(cls, config: ModelConfig) -> bool:
        return False  # reflection padding and instance norm: 2–4% slower channels-last (CPU)

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1}

    def __init__(self, config: CycleGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.pool_A = ImagePool(config.pool_size, info.shape)  # fakes of A, for D_A
        self.pool_B = ImagePool(config.pool_size, info.shape_b)  # fakes of B, for D_B
        # the G phase's latest translations, taken (once) by the next D phase: a step's state,
        # not the run's, so it is never saved (every step ends with the D phase)
        self._latest: dict[str, Tensor] = {}
        if config.init_std is not None:
            normal_init_(self, config.init_std)

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Multiples of 4 from 16 (G downsamples twice by 2), and PatchGANs that leave patches
        (`model.d_layers`, when set)."""
        assert isinstance(config, CycleGANConfig)
        if resolution < 16 or resolution % 4:
            below = max(16, resolution // 4 * 4)
            sides = [below] if below >= resolution else [below, below + 4]
            raise GankitError(
                "cyclegan's generators downsample twice by 2: it needs a resolution that is a "
                f"multiple of 4 and at least 16, got {resolution}: {resolution_hint(sides)}"
            )
        if config.d_layers is not None:
            check_patch_layers(resolution, config.d_layers, model=cls.name)

    def build_generator(self, c_in: int, c_out: int) -> ResNetGenerator:
        cfg = self.config
        blocks = resnet_blocks(self.info.shape[-1]) if cfg.blocks is None else cfg.blocks
        return ResNetGenerator(c_in, c_out, base=cfg.g_channels, blocks=blocks)

    def build_discriminator(self, channels: int) -> nn.Module:
        cfg = self.config
        layers = cfg.d_layers or patch_layers(self.info.shape[-1])
        return PatchDiscriminator(
            channels, layers=layers, base=cfg.d_channels, maximum=cfg.max_channels, norm="instance"
        )

    @property
    def uses_identity(self) -> bool:
        """Whether the G loss has the identity term: a positive weight and A, B of one channel
        count (G_AB(b) must be comparable to b)."""
        return self.config.identity > 0 and self.info.shape[0] == self.info.shape_b[0]

    def phases(self) -> list[Phase]:
        cfg = self.config
        schedule = constant_then_linear(cfg.decay_start)
        return [
            Phase("G", self.generators(), cfg.g_opt, lr_scale=schedule),
            Phase("D", self.discriminators(), cfg.d_opt, lr_scale=schedule),
        ]

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        a, b = batch["a"], batch["b"]  # [N, C_A, H, W], [N, C_B, H, W]
        if phase == "G":
            return self.g_loss(a, b)
        if phase == "D":
            return self.d_loss(a, b)
        raise KeyError(phase)

    def g_loss(self, a: Tensor, b: Tensor) -> dict[str, Tensor]:
        cfg, out = self.config, self.cycle(a, b)
        self._latest = {"a": out["fake_a"].detach(), "b": out["fake_b"].detach()}
        # the paper's generator term is E[(D(G(x)) − 1)²]: twice Mao et al.'s ½E[...]
        adv_b = 2 * losses.least_squares_g(self.D_B(out["fake_b"]))
        adv_a = 2 * losses.least_squares_g(self.D_A(out["fake_a"]))
        cycle = (out["rec_a"] - a).abs().mean() + (out["rec_b"] - b).abs().mean()
        logs = {"adv_a": adv_a, "adv_b": adv_b, "cycle": cycle}
        total = adv_a + adv_b + cfg.cycle * cycle
        if self.uses_identity:
            identity = (self.G_AB(b) - b).abs().mean() + (self.G_BA(a) - a).abs().mean()
            total = total + cfg.cycle * cfg.identity * identity
            logs["identity"] = identity
        return {"loss": total, **logs}

    def d_loss(self, a: Tensor, b: Tensor) -> dict[str, Tensor]:
        fakes, self._latest = self._latest, {}
        if not fakes:
            with torch.no_grad():
                fakes = {"a": self.G_BA(b), "b": self.G_AB(a)}
        fake_a, fake_b = self.pool_A.query(fakes["a"]), self.pool_B.query(fakes["b"])
        # least_squares_d is ½E[(D(x) − 1)²] + ½E[D(G(z))²]: the paper's halved D objective
        real_a, real_b = self.D_A(a), self.D_B(b)
        d_a = losses.least_squares_d(real_a, self.D_A(fake_a))
        d_b = losses.least_squares_d(real_b, self.D_B(fake_b))
        # least squares with targets 1 (real) and 0 (fake): undecided at ½
        sign = losses.real_sign(torch.cat([real_a.flatten(), real_b.flatten()]), 0.5)
        return {"loss": d_a + d_b, "d_a": d_a, "d_b": d_b, "real_sign": sign}


# ---------------------------------------------------------------------------- DiscoGAN
@dataclass
class DiscoGANConfig(ModelConfig):
    """DiscoGAN as its official code trains it (the paper gives the networks and the losses,
    the code their weights): 64×64 images, batches of 64, encoder-decoder generators and
    convolutional discriminators with batch norm, the cross-entropy GAN loss, reconstructions
    compared by mean squared error, Adam(2e-4, β (0.5, 0.999)) with weight decay 1e-5, PyTorch's
    default initialisation. There is no latent z (`z_dim` is unused).

    The paper's generator loss per direction is L_GAN + L_CONST, the distance left open (the
    code: MSE). The code, whose runs are the paper's results, also (a) splits the adversarial
    term into 0.1 × the GAN loss + 0.9 × feature matching (Salimans et al. 2016: the squared
    distance between the batch means of D's hidden activations on real and translated images),
    (b) weighs it against the reconstruction as (1 − w)·adversarial + w·reconstruction, with
    w = 0.01 for the first 10,000 iterations (a GAN-led start) and 0.5 after, and (c) updates D
    on every third iteration and the generators on the other two. These are the defaults;
    `fm_weight=0`, `curriculum=0` and `update_interval=1` give the paper's plain objective and
    alternation. Reconstruction errors are measured on the [0, 1] scale of the official code's
    images (a quarter of the MSE in gankit's [-1, 1]), so that w weighs the same quantities.

    Args:
        recon_weight: w after the curriculum (0.5).
        start_recon_weight: w during the first `curriculum` updates (0.01).
        curriculum: updates (of either network, as the code's iterations count) run with
            `start_recon_weight`.
        fm_weight: feature matching's share of the adversarial term (0.9; 0 is the plain GAN
            loss of the paper).
        update_interval: D updates on steps divisible by it and the generators on the others;
            1 updates both on every step.
        g_channels, d_channels, max_channels: first-stage channels (64), doubling per stage up to
            `max_channels` (512).
        init_std: weights ~ N(0, init_std); None (the code's) keeps PyTorch's defaults.
        g_opt, d_opt: the optimisers of both generators and of both discriminators.
    """

    recon_weight: UnitFloat = 0.5
    start_recon_weight: UnitFloat = 0.01
    curriculum: NonNegInt = 10_000
    fm_weight: UnitFloat = 0.9
    update_interval: PosInt = 3
    g_channels: PosInt = 64
    d_channels: PosInt = 64
    max_channels: PosInt = 512
    init_std: PosFloat | None = None
    g_opt: OptimConfig = field(
        default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999), weight_decay=1e-5)
    )
    d_opt: OptimConfig = field(
        default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999), weight_decay=1e-5)
    )


@register_model(
    "discogan", help="Kim et al. 2017: two encoder-decoder Gs, BCE + reconstruction, unpaired"
)
class DiscoGAN(TwoWayModel):
    """DiscoGAN on unpaired domains A and B of one power-of-two size (channels may differ).

    Shapes: G_AB: [N, C_A, H, W] -> [N, C_B, H, W] and G_BA back, H and W multiples of
    `input_multiple` (R / 4, the bottleneck being 4×4 at the training resolution R);
    D_A, D_B: [N, C, R, R] -> logits [N].
    """

    Config = DiscoGANConfig
    config: DiscoGANConfig
    default_resolution: ClassVar[int | None] = 64
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}
    D_A: EncoderDiscriminator
    D_B: EncoderDiscriminator
    updates: Tensor

    def __init__(self, config: DiscoGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        # updates made so far (either phase), for the curriculum; a buffer so resume is exact
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))
        if config.init_std is not None:
            normal_init_(self, config.init_std)

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Power-of-two sides from 8: G and D halve the image down to 4×4."""
        check_power_of_two(resolution, minimum=8, model=cls.name)

    def build_generator(self, c_in: int, c_out: int) -> EncoderDecoderGenerator:
        cfg = self.config
        return EncoderDecoderGenerator(
            c_in, c_out, self.info.shape[-1], base=cfg.g_channels, maximum=cfg.max_channels
        )

    def build_discriminator(self, channels: int) -> EncoderDiscriminator:
        cfg = self.config
        return EncoderDiscriminator(
            channels, self.info.shape[-1], base=cfg.d_channels, maximum=cfg.max_channels
        )

    @property
    def current_recon_weight(self) -> float:
        """w, the reconstruction's weight against the adversarial term, at this update."""
        cfg = self.config
        early = int(self.updates) < cfg.curriculum
        return cfg.start_recon_weight if early else cfg.recon_weight

    def _count_update(self) -> None:
        self.updates.add_(1)

    def phases(self) -> list[Phase]:
        cfg, k = self.config, self.config.update_interval
        return [
            Phase("D", self.discriminators(), cfg.d_opt, every=k, after_step=self._count_update),
            Phase(
                "G",
                self.generators(),
                cfg.g_opt,
                repeat=(lambda step: int(step % k != 0)) if k > 1 else 1,
                after_step=self._count_update,
            ),
        ]

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        a, b = batch["a"], batch["b"]  # [N, C_A, R, R], [N, C_B, R, R]
        if phase == "D":
            return self.d_loss(a, b)
        if phase == "G":
            return self.g_loss(a, b)
        raise KeyError(phase)

    def d_loss(self, a: Tensor, b: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            fake_a, fake_b = self.G_BA(b), self.G_AB(a)
        real_a, real_b = self.D_A(a), self.D_B(b)
        fake_a_logits, fake_b_logits = self.D_A(fake_a), self.D_B(fake_b)
        # the code halves each discriminator's objective, then sums the two
        d_a = 0.5 * losses.bce_d(real_a, fake_a_logits)
        d_b = 0.5 * losses.bce_d(real_b, fake_b_logits)
        return {
            "loss": d_a + d_b,
            "d_a": d_a,
            "d_b": d_b,
            "p_real": mean_prob(torch.cat([real_a, real_b])),
            "p_fake": mean_prob(torch.cat([fake_a_logits, fake_b_logits])),
            "real_sign": losses.real_sign(torch.cat([real_a, real_b])),
        }

    def adversarial(
        self, D: EncoderDiscriminator, real: Tensor, fake: Tensor
    ) -> tuple[Tensor, Tensor]:
        """(GAN loss, feature-matching loss) of translations `fake` against discriminator D of
        their target domain, whose real images are `real`."""
        logits, fake_feats = D.features(fake)
        with torch.no_grad():  # the real side is a constant target
            _, real_feats = D.features(real)
        fm = sum(((r.mean(0) - f.mean(0)) ** 2).mean() for r, f in zip(real_feats, fake_feats))
        return losses.nonsaturating_g(logits), torch.as_tensor(fm, device=logits.device)

    def g_loss(self, a: Tensor, b: Tensor) -> dict[str, Tensor]:
        cfg, out = self.config, self.cycle(a, b)
        gan_b, fm_b = self.adversarial(self.D_B, b, out["fake_b"])
        gan_a, fm_a = self.adversarial(self.D_A, a, out["fake_a"])
        # MSE of [0, 1] images, as the official code: a quarter of the MSE in [-1, 1]
        recon_a = F.mse_loss(out["rec_a"], a) / 4
        recon_b = F.mse_loss(out["rec_b"], b) / 4
        adv = (1 - cfg.fm_weight) * (gan_a + gan_b) + cfg.fm_weight * (fm_a + fm_b)
        w = self.current_recon_weight
        return {
            "loss": (1 - w) * adv + w * (recon_a + recon_b),
            "gan": gan_a + gan_b,
            "fm": fm_a + fm_b,
            "recon_a": recon_a,
            "recon_b": recon_b,
        }
