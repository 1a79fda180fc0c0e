"""Text-to-image GANs: GAN-INT-CLS (Reed et al. 2016, "Generative Adversarial Text to Image
Synthesis") and StackGAN (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis
with Stacked Generative Adversarial Networks").

The models train on captioned data (`shapes`, `glyphs-captions`, `captioned:PATH`). A frozen,
pretrained text encoder (`gankit.text`; `model.text_encoder` names a shipped one or a file) turns
each caption into an embedding; G and D see that embedding compressed by a learned layer.
`generate(z, e)` takes latents and caption embeddings [N, E]; `embed_texts(["a red circle"])`
makes those from strings, and `gankit.load(run).sample(n, text=[...])` does both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import NonNegFloat, NonNegInt, PosFloat, PosInt, UnitFloat
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.losses import real_sign
from gankit.models.base import (
    GANModel,
    ModelConfig,
    OptimConfig,
    Phase,
    critic_then_generator,
    preview_rows,
    register_model,
    sample_noise,
)
from gankit.nn.conv import DCGANDiscriminator, DCGANGenerator, check_resolution
from gankit.nn.init import normal_init_
from gankit.text.encoder import TextEncoder, text_encoder
from gankit.text.tokens import encode

PREVIEW_CAPTIONS = 8  # captions in a progress picture, one row each
PREVIEW_SAMPLES = 7  # samples per caption, after the real image


def _adam() -> OptimConfig:
    return OptimConfig("adam", 2e-4, (0.5, 0.999))


class TextToImageModel(GANModel):
    """What every text-conditioned model shares: the frozen text encoder, caption embeddings,
    mismatched captions, and a progress picture of captions → samples.

    Subclasses build `G`, `D` and their losses; `generate(z, e)` takes embeddings.
    """

    data_kinds: ClassVar[tuple[str, ...]] = ("captioned",)
    text: TextEncoder
    G: nn.Module
    D: nn.Module

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        # frozen: in no phase, so never updated; saved with the model so a run keeps its encoder
        self.text = text_encoder(config.text_encoder)  # type: ignore[attr-defined]

    @property
    def shows_data(self) -> bool:
        return True  # progress pictures: a fixed batch of captions, each with samples

    @property
    def text_dim(self) -> int:
        """The size of the encoder's caption embeddings."""
        return int(self.text.config["dim"])

    def train(self, mode: bool = True) -> TextToImageModel:
        super().train(mode)
        self.text.eval()  # frozen
        return self

    @torch.no_grad()
    def embed_tokens(self, tokens: Tensor) -> Tensor:
        return self.text(tokens)

    def embed_texts(self, texts: Sequence[str]) -> Tensor:
        """Caption embeddings [N, E] of `texts` on the model's device."""
        if isinstance(texts, str) or not len(texts):
            raise GankitError("give the captions as a non-empty list of strings")
        return self.embed_tokens(encode(list(texts), max_len=max(map(len, texts))).to(self.device))

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Images from latents z and caption embeddings y [N, E] (in the labels' place)."""
        if y is None or y.dim() != 2:
            raise GankitError(f"{self.name} generates from captions: give their embeddings [N, E]")
        return self.draw(z, y)

    def draw(self, z: Tensor, e: Tensor) -> Tensor:
        """The images of latents z and caption embeddings e (checked by `generate`)."""
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        cfg: Any = self.config  # every text model's config has d_opt and g_opt
        return critic_then_generator(self.D, self.G, cfg.d_opt, cfg.g_opt)

    def d_loss(
        self, x: Tensor, e: Tensor, fake: Tensor, images: Tensor, matching_aware: bool = True
    ) -> dict[str, Tensor]:
        """D's loss: real image with its caption → real, fake image with it → fake; when
        `matching_aware` (GAN-CLS), also real image with a wrong caption → fake, the two
        negatives at half weight each."""
        real = self.D(x, e)
        out = {
            "real": bce(real, 1.0),
            "fake": bce(self.D(fake, e), 0.0),
            "real_sign": real_sign(real),
        }
        if not matching_aware:
            out["loss"] = out["real"] + out["fake"]
            return out
        wrong, valid = self.mismatched(e, images)
        out["wrong"] = bce(self.D(x, wrong), 0.0, valid)
        out["loss"] = out["real"] + 0.5 * (out["wrong"] + out["fake"])
        return out

    @staticmethod
    def mismatched(e: Tensor, images: Tensor) -> tuple[Tensor, Tensor]:
        """Each caption's neighbour in the batch as a wrong caption (Reed et al.'s third kind of
        pair), and a mask [B] of the pairs that are really wrong (not two captions of one
        image)."""
        wrong, other = e.roll(1, 0), images.roll(1, 0)
        return wrong, (other != images).float()

    @torch.no_grad()
    def preview(self, batch: Batch) -> tuple[Tensor, int]:
        """One row per caption of the fixed batch: the real image, then samples."""
        x, e = batch["x"][:PREVIEW_CAPTIONS], self.embed_tokens(batch["t"][:PREVIEW_CAPTIONS])
        n = len(e)
        z = self.sample_latent(n * PREVIEW_SAMPLES)
        fakes = self.generate(z, e.repeat_interleave(PREVIEW_SAMPLES, 0)).view(
            n, PREVIEW_SAMPLES, *x.shape[1:]
        )
        columns = [x, *fakes.unbind(1)]
        return preview_rows(columns), len(columns)


@dataclass
class GANINTCLSConfig(ModelConfig):
    """Reed et al.'s settings (their Torch code): z ~ N(0, I)^100, caption embeddings compressed
    to 128 by a linear layer with leaky ReLU in G and in D, DCGAN networks (G 1024 channels at
    4×4 for 64×64, D 512), Adam(2e-4, β1 0.5), batches of 64, 64×64 images.

    Args:
        text_encoder: a shipped encoder (`shapes`, `glyphs`) or the path of an encoder file.
        text_dim: size of the compressed embedding (128).
        g_channels, d_channels, max_channels: DCGAN widths (ngf 128 → 1024 at 4×4; ndf 64).
        matching_aware: GAN-CLS: D also learns that a real image with a wrong caption is fake.
        interpolation: GAN-INT: weight of G's extra loss on interpolated captions β·t1 + (1−β)·t2
            (0 turns it off).
        beta: the interpolation's β (0.5).
    """

    z_dim: PosInt = 100
    z_dist: Literal["normal", "uniform"] = "normal"
    text_encoder: str = "shapes"
    text_dim: PosInt = 128
    g_channels: PosInt = 128
    d_channels: PosInt = 64
    max_channels: PosInt = 1024
    matching_aware: bool = True
    interpolation: NonNegFloat = 1.0
    beta: UnitFloat = 0.5
    init_std: PosFloat = 0.02
    g_opt: OptimConfig = field(default_factory=_adam)
    d_opt: OptimConfig = field(default_factory=_adam)


class TextGenerator(nn.Module):
    """z [B, z_dim], e [B, E] -> images: the compressed caption joins z at the input of a
    DCGAN generator."""

    def __init__(self, cfg: GANINTCLSConfig, text_dim: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.compress = nn.Sequential(nn.Linear(text_dim, cfg.text_dim), nn.LeakyReLU(0.2))
        self.net = DCGANGenerator(
            cfg.z_dim + cfg.text_dim,
            shape[0],
            shape[-1],
            base=cfg.g_channels,
            maximum=cfg.max_channels,
        )

    def forward(self, z: Tensor, e: Tensor) -> Tensor:
        return self.net(torch.cat([z, self.compress(e)], 1))


class TextDiscriminator(nn.Module):
    """images, e -> logits [B]: DCGAN's trunk down to 4×4, the compressed caption replicated
    over the 4×4 map and concatenated, a 1×1 conv, then the 4×4 output conv."""

    def __init__(
        self, cfg: GANINTCLSConfig | StackGANConfig, text_dim: int, shape: tuple[int, ...]
    ) -> None:
        super().__init__()
        dcgan = DCGANDiscriminator(
            shape[0], shape[-1], base=cfg.d_channels, maximum=cfg.max_channels
        )
        self.trunk = dcgan.net[:-1]  # down to the 4×4 features; the joint head replaces its output
        width = dcgan.feature_dim // 16
        self.compress = nn.Sequential(nn.Linear(text_dim, cfg.text_dim), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(
            nn.Conv2d(width + cfg.text_dim, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 4),
        )

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        h = self.trunk(x)  # [B, C, 4, 4]
        t = self.compress(e)[:, :, None, None].expand(-1, -1, *h.shape[-2:])
        return self.joint(torch.cat([h, t], 1)).flatten()


def bce(logits: Tensor, target: float, weight: Tensor | None = None) -> Tensor:
    labels = torch.full_like(logits, target)
    if weight is None:
        return F.binary_cross_entropy_with_logits(logits, labels)
    per = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (per * weight).sum() / weight.sum().clamp(min=1.0)


@register_model("gan-int-cls", help="Reed et al. 2016: text-to-image with a matching-aware D")
class GANINTCLS(TextToImageModel):
    """GAN-INT-CLS at any power-of-two resolution ≥ 8: G(z, φ(t)) and D(x, φ(t)) on DCGAN
    networks. D's loss: real image with its caption → real; with a wrong caption and a fake
    image with the right caption → fake (each half weight). G's: its samples judged real, plus
    the same for samples of interpolated captions (GAN-INT).

    Shapes: G: z [B, z_dim], e [B, E] -> x [B, C, R, R] in (−1, 1); D: x, e -> logits [B].
    """

    Config = GANINTCLSConfig
    config: GANINTCLSConfig
    default_resolution: ClassVar[int | None] = 64
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}

    def __init__(self, config: GANINTCLSConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.G = normal_init_(TextGenerator(config, self.text_dim, info.shape), config.init_std)
        self.D = normal_init_(TextDiscriminator(config, self.text_dim, info.shape), config.init_std)

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """DCGAN's networks: power-of-two sides from 8."""
        check_resolution(resolution, model=cls.name)

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        cls.check_resolution(config, info.shape[-1])

    def draw(self, z: Tensor, e: Tensor) -> Tensor:
        return self.G(z, e)

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        cfg = self.config
        x, e = batch["x"], self.embed_tokens(batch["t"])
        z = self.sample_latent(len(x))
        if phase == "D":
            with torch.no_grad():
                fake = self.G(z, e)
            return self.d_loss(x, e, fake, batch["i"], cfg.matching_aware)
        out = {"adv": bce(self.D(self.G(z, e), e), 1.0)}
        out["loss"] = out["adv"]
        if cfg.interpolation > 0:
            mixed = cfg.beta * e + (1 - cfg.beta) * e.roll(1, 0)
            out["int"] = bce(self.D(self.G(self.sample_latent(len(x)), mixed), mixed), 1.0)
            out["loss"] = out["loss"] + cfg.interpolation * out["int"]
        return out


# --- StackGAN -----------------------------------------------------------------------------------


class ConditioningAugmentation(nn.Module):
    """StackGAN's conditioning augmentation: e [B, E] -> (c, μ, log σ²), c = μ + σ·ε with
    ε ~ N(0, I), so that a caption stands for a neighbourhood of conditioning vectors."""

    def __init__(self, text_dim: int, c_dim: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(text_dim, 2 * c_dim), nn.ReLU())
        self.c_dim = c_dim

    def forward(self, e: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """`eps` [B, c_dim] ~ N(0, I): part of the model's latent, so that a seed fixes c."""
        mu, logvar = self.fc(e).chunk(2, 1)
        c = mu + eps * (0.5 * logvar).exp()
        return c, mu, logvar


def ca_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)), averaged over batch and dimensions as in the authors' code:
    0 exactly when μ = 0 and σ = 1."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    """StackGAN's upsampling block: 2× nearest, 3×3 conv, batch norm, ReLU."""
    return [
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    ]


class ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.body(x))


class StageIGenerator(nn.Module):
    """(z, e) -> a coarse image at R₁ and the CA's (μ, log σ²): [c, z] -> FC to 4×4×(8·ngf),
    then upsampling blocks halving the width, a 3×3 conv to the image."""

    def __init__(self, cfg: StackGANConfig, text_dim: int, channels: int, resolution: int) -> None:
        super().__init__()
        stages = check_resolution(resolution)  # upsamplings from 4×4 to R₁ (log₂ R₁ − 2)
        width = cfg.g_channels * 8
        self.ca = ConditioningAugmentation(text_dim, cfg.c_dim)
        self.fc = nn.Sequential(
            nn.Linear(cfg.c_dim + cfg.z_dim, width * 16, bias=False),
            nn.BatchNorm1d(width * 16),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        for _ in range(stages):
            layers += _up(width, max(width // 2, 8))
            width = max(width // 2, 8)
        layers += [nn.Conv2d(width, channels, 3, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.width0 = cfg.g_channels * 8

    def forward(self, z: Tensor, e: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        c, mu, logvar = self.ca(e, eps)
        h = self.fc(torch.cat([c, z], 1)).view(len(z), self.width0, 4, 4)
        return self.net(h), mu, logvar


class StageIIGenerator(nn.Module):
    """(Stage-I image at R₁, e) -> an image at 4·R₁: encode the image down 4× (two stride-2
    convs), join the replicated CA code, residual blocks, four upsampling blocks (16×)."""

    def __init__(self, cfg: StackGANConfig, text_dim: int, channels: int) -> None:
        super().__init__()
        w = cfg.g2_channels
        self.ca = ConditioningAugmentation(text_dim, cfg.c_dim)
        self.encode = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(),
        )
        self.joint = nn.Sequential(
            nn.Conv2d(4 * w + cfg.c_dim, 4 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(),
            *[ResBlock(4 * w) for _ in range(cfg.residual_blocks)],
        )
        self.up = nn.Sequential(
            *_up(4 * w, 2 * w),
            *_up(2 * w, w),
            *_up(w, max(w // 2, 8)),
            *_up(max(w // 2, 8), max(w // 4, 8)),
            nn.Conv2d(max(w // 4, 8), channels, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, coarse: Tensor, e: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        c, mu, logvar = self.ca(e, eps)
        h = self.encode(coarse)
        h = self.joint(torch.cat([h, c[:, :, None, None].expand(-1, -1, *h.shape[-2:])], 1))
        return self.up(h), mu, logvar


@dataclass
class StackGANConfig(ModelConfig):
    """Zhang et al.'s settings (their code): z ~ N(0, I)^100, conditioning augmentation to 128-d
    c with KL weight 2.0, Stage-I 64×64 and Stage-II 256×256 (4×), Stage-I G 8·ngf = 1024
    channels at 4×4 (ngf 128), Stage-II G 4·ngf at R₁/4 with 4 residual blocks, D ndf 64 with
    the caption compressed to 128 and joined at 4×4, matching-aware D (real/wrong/fake as
    GAN-CLS), Adam(2e-4, β1 0.5), batches of 64.

    Args:
        stage: 1 trains Stage-I at the data's resolution; 2 trains Stage-II at the data's
            resolution on a frozen Stage-I at a quarter of it.
        stage1: stage 2: the Stage-I run whose generator it refines (read when training starts;
            its weights are then kept in this model's checkpoints).
        c_dim: size of the conditioning code c (128).
        kl_weight: weight of the CA's KL term in G's loss (2.0).
        g_channels: Stage-I ngf (8·ngf channels at 4×4); g2_channels: Stage-II ngf.
        residual_blocks: Stage-II's residual blocks (4).
    """

    z_dim: PosInt = 100
    z_dist: Literal["normal", "uniform"] = "normal"
    text_encoder: str = "shapes"
    stage: Literal[1, 2] = 1
    stage1: str | None = None
    c_dim: PosInt = 128
    kl_weight: NonNegFloat = 2.0
    text_dim: PosInt = 128
    g_channels: PosInt = 128
    g2_channels: PosInt = 128
    residual_blocks: NonNegInt = 4
    d_channels: PosInt = 64
    max_channels: PosInt = 512
    init_std: PosFloat = 0.02
    g_opt: OptimConfig = field(default_factory=_adam)
    d_opt: OptimConfig = field(default_factory=_adam)


@register_model("stackgan", help="Zhang et al. 2017: text to image in two stages, with CA")
class StackGAN(TextToImageModel):
    """StackGAN: Stage-I draws a coarse image from (z, c₁), Stage-II redraws it at 4× from
    (image, c₂); c = conditioning augmentation of the caption embedding. Train stage 1, then
    stage 2 with `model.stage=2 model.stage1=RUN` on data at 4× the resolution.
    `generate_stages(z, e)` returns both stages' images.

    Shapes: G: z [B, z_dim], e [B, E] -> x [B, C, R, R] in (−1, 1); D: x, e -> logits [B].
    """

    Config = StackGANConfig
    config: StackGANConfig
    default_resolution: ClassVar[int | None] = 64
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}

    def __init__(self, config: StackGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        channels, resolution = info.shape[0], info.shape[-1]
        std = config.init_std
        if config.stage == 1:
            self.G = normal_init_(StageIGenerator(config, self.text_dim, channels, resolution), std)
        else:
            G1 = StageIGenerator(config, self.text_dim, channels, resolution // 4)
            self.G1 = G1.requires_grad_(False).eval()  # frozen, in no phase
            self.G = normal_init_(StageIIGenerator(config, self.text_dim, channels), std)
        self.D = normal_init_(TextDiscriminator(config, self.text_dim, info.shape), std)

    def load_pretrained(self) -> None:
        """Stage 2: copy the Stage-I run that `model.stage1` names; a path that does not exist
        is an error, never a silently untrained Stage-I."""
        if self.config.stage == 2 and self.config.stage1:
            self.load_stage1(self.config.stage1)

    def train(self, mode: bool = True) -> StackGAN:
        super().train(mode)
        if self.config.stage == 2:
            self.G1.eval()  # frozen: its batch norm keeps its statistics
        return self

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Stage 1: DCGAN-like power-of-two sides from 8. Stage 2 draws at 4× its Stage-I, so
        at powers of two from 32 (a Stage-I of at least 8); its message says which
        `--resolution` fits a Stage-I trained at the side given."""
        assert isinstance(config, StackGANConfig)
        stage_one_side = 8 <= resolution < 32 and not resolution & (resolution - 1)
        if config.stage == 2 and stage_one_side:  # likely Stage-I's --resolution (a preset's)
            raise GankitError(
                f"stackgan stage 2 draws at 4× its Stage-I: give --resolution {4 * resolution} "
                f"for a {resolution}×{resolution} Stage-I (needs a power of two of at least 32, "
                f"got {resolution})"
            )
        minimum = 8 if config.stage == 1 else 32
        check_resolution(resolution, minimum=minimum, model=f"stackgan stage {config.stage}")

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, StackGANConfig)
        cls.check_resolution(config, info.shape[-1])
        if config.stage == 2 and not config.stage1:
            raise GankitError("stage 2 refines a Stage-I run: set model.stage1=RUN_DIR")

    def load_stage1(self, run: str) -> None:
        """Copy the Stage-I generator (its EMA weights if kept) of run directory `run`."""
        import gankit

        if not Path(run).expanduser().exists():
            raise GankitError(f"model.stage1: no such Stage-I run: {run}")
        stage1 = gankit.load(Path(run).expanduser())
        got = stage1.model
        if not isinstance(got, StackGAN) or got.config.stage != 1:
            raise GankitError(f"{run} is not a Stage-I StackGAN run")
        if got.info.shape[-1] * 4 != self.info.shape[-1] or got.info.shape[0] != self.info.shape[0]:
            raise GankitError(
                f"Stage-II at {self.info.shape[-1]}² needs a Stage-I run at a quarter of it, "
                f"{run} draws {got.info.shape[-1]}²"
            )
        try:
            self.G1.load_state_dict(got.G.state_dict())
            self.text.load_state_dict(got.text.state_dict())
        except RuntimeError as err:
            raise GankitError(f"{run}'s Stage-I does not fit this configuration: {err}") from None

    @property
    def latent_dim(self) -> int:
        """z, then the ε of each stage's conditioning augmentation: a seed fixes both."""
        return self.config.z_dim + self.config.c_dim * self.config.stage

    def sample_latent(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        truncation: float | None = None,
    ) -> Tensor:
        z = super().sample_latent(n, generator=generator, truncation=truncation)
        device = self.draw_device(generator)
        extra = self.config.c_dim * self.config.stage
        eps = sample_noise(n, extra, "normal", device, generator).to(self.device)
        return torch.cat([z, eps], 1)

    def _split(self, latent: Tensor) -> list[Tensor]:
        cfg = self.config
        return list(latent.split([cfg.z_dim] + [cfg.c_dim] * cfg.stage, 1))

    def _stages(self, z: Tensor, e: Tensor) -> tuple[list[Tensor], Tensor, Tensor]:
        """Every stage's images from latents [N, latent_dim] and caption embeddings, and the
        (μ, log σ²) of the trained stage's conditioning augmentation. The frozen Stage-I of
        stage 2 needs no gradient tracking: its weights do not require grad."""
        if self.config.stage == 1:
            noise, eps = self._split(z)
            image, mu, logvar = self.G(noise, e, eps)
            return [image], mu, logvar
        noise, eps1, eps2 = self._split(z)
        coarse = self.G1(noise, e, eps1)[0]
        image, mu, logvar = self.G(coarse, e, eps2)
        return [coarse, image], mu, logvar

    def generate_stages(self, z: Tensor, e: Tensor) -> list[Tensor]:
        """The images of every stage there is, from latents [N, latent_dim] and caption
        embeddings: [Stage-I] or [Stage-I, Stage-II]."""
        return self._stages(z, e)[0]

    def draw(self, z: Tensor, e: Tensor) -> Tensor:
        return self.generate_stages(z, e)[-1]

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        x, e = batch["x"], self.embed_tokens(batch["t"])
        z = self.sample_latent(len(x))
        if phase == "D":
            with torch.no_grad():
                fake = self.draw(z, e)
            return self.d_loss(x, e, fake, batch["i"])
        stages, mu, logvar = self._stages(z, e)
        fake = stages[-1]
        out = {"adv": bce(self.D(fake, e), 1.0), "kl": ca_kl(mu, logvar)}
        out["loss"] = out["adv"] + self.config.kl_weight * out["kl"]
        return out

    @torch.no_grad()
    def preview(self, batch: Batch) -> tuple[Tensor, int]:
        """Stage 2: one row per caption: the real image, then Stage-I and Stage-II samples."""
        if self.config.stage == 1:
            return super().preview(batch)
        x, e = batch["x"][:PREVIEW_CAPTIONS], self.embed_tokens(batch["t"][:PREVIEW_CAPTIONS])
        columns = [x]
        for _ in range(3):
            columns += self.generate_stages(self.sample_latent(len(e)), e)
        return preview_rows(columns), len(columns)
