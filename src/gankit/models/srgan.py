"""SRGAN: Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network" — the SRResNet generator (×4), the paper's discriminator, and a content
loss plus 10⁻³ × the adversarial loss. SRResNet, the same generator trained on pixel MSE alone,
is this model with `model.content=mse model.adversarial_weight=0` (no discriminator at all).

Content losses (`model.content`):
- `vgg`: the paper's VGG loss, the squared distance between VGG19 features φ5,4 of the output
  and of the target, the features divided by 12.75 (the paper's rescaling, which makes the loss
  comparable to the MSE: ≈ 0.006 × the unscaled loss). It needs a local VGG19 state dict
  (`model.vgg_weights=PATH`, torchvision's `vgg19-dcad8c8d.pth` layout, `.pth` or
  `.safetensors`); gankit never downloads weights.
- `random-features` (the offline substitute, what `auto` picks without weights): pixel MSE plus
  the squared distance between features φ2,2 (the layer of the paper's VGG22 variant) of a
  VGG19 whose weights are *random*: fixed, seeded He-normal filters, the same network in every
  run. Why it is defensible: it is the paper's loss with the one thing that cannot be had
  offline, the trained weights, replaced by the best-studied stand-in — untrained convolutional
  features still describe image structure (images can be reconstructed from random-weight VGG
  features, He, Wang & Hopcroft 2016; textures synthesised from random filters, Ustyuzhaninov
  et al. 2017) — and it runs the same code path as `vgg`. What it does, measured on photos-sr4
  crops: relative to the pixel MSE, the feature term weighs blur 3.6×, bicubic upscaling 3.05×
  and a one-pixel shift 1.5×, so like a perceptual loss it forgives misalignment more than lost
  detail, but far less markedly than trained features would; the MSE term anchors colour and
  low frequencies. What it is not: it is *not* the paper's perceptual (VGG) loss. Random
  filters know nothing of natural images; read results as an SRGAN with a mildly
  structure-weighted MSE, not as a reproduction of SRGAN-VGG54.
- `mse`: pixel MSE (the paper's SRResNet and SRGAN-MSE).
- `auto` (default): `vgg` when `model.vgg_weights` is set, else `random-features`. The model says
  at build which one it uses (one line on the `gankit` logger).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import losses
from gankit.config import NonNegFloat, NonNegInt, PosFloat, PosInt
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
from gankit.nn.conv import resolution_hint
from gankit.nn.vgg import (
    VGG19Features,
    random_vgg19_features,
    read_state_dict,
    vgg19_features,
    vgg19_layer,
)

log = logging.getLogger("gankit")

SCALE = 4  # the paper's upscaling factor: two ×2 sub-pixel blocks
Content = Literal["auto", "vgg", "random-features", "mse"]
# the substitute's fixed network: a shallow layer, 4 of VGG19's 16 convolutions, cheap on a CPU
# (φ4,4 forgives a one-pixel shift more, 0.6× vs blur 3.9×, at about 4× the cost), and a seed
# of its own, so that the training seed never changes the loss
RANDOM_LAYER, RANDOM_SEED = "2_2", 0
# unscaled, the feature term is ≈ 3 × the pixel MSE (bicubic-upscaled photos-sr4 crops: 3.05;
# blurred: 3.6; shifted by one pixel: 1.5 — misalignment costs less than blur, as in a perceptual
# loss, though much less markedly); × 0.5 on the features brings it to ≈ 0.8 × the MSE
RANDOM_SCALE = 0.5


def _adam(lr: float = 1e-4) -> OptimConfig:
    return OptimConfig("adam", lr, (0.9, 0.999))


@dataclass
class SRGANConfig(ModelConfig):
    """The paper's settings: 16 residual blocks of 64 channels, Adam(1e-4, β1 0.9), batches of 16
    96×96 high-resolution crops, adversarial weight 10⁻³, VGG54 content loss.

    Args:
        channels: the generator's width (64).
        blocks: the generator's residual blocks (B = 16).
        d_channels: channels of the discriminator's first two convolutions, doubling every two
            up to 8× (64 → 512).
        d_dense: width of the discriminator's hidden dense layer (1024).
        content: the content loss, see the module docstring.
        vgg_weights: a local VGG19 state dict (`.pth` or `.safetensors`) for `content=vgg`.
        vgg_layer: the VGG feature layer "i_j" or "ij" (φi,j: "5_4" the paper's VGG54, "2_2"
            its VGG22).
        vgg_scale: factor on the VGG features (the paper's 1/12.75).
        adversarial_weight: weight of the adversarial loss (10⁻³); 0 trains without a
            discriminator (SRResNet).
        g_opt, d_opt: optimisers of the generator and the discriminator.
    """

    channels: PosInt = 64
    blocks: NonNegInt = 16
    d_channels: PosInt = 64
    d_dense: PosInt = 1024
    content: Content = "auto"
    vgg_weights: str | None = None
    vgg_layer: str = "5_4"
    vgg_scale: PosFloat = 1 / 12.75
    adversarial_weight: NonNegFloat = 1e-3
    g_opt: OptimConfig = field(default_factory=_adam)
    d_opt: OptimConfig = field(default_factory=_adam)


class ResidualBlock(nn.Module):
    """conv3×3–BN–PReLU–conv3×3–BN plus the identity: [N, C, H, W] -> [N, C, H, W]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """The SRGAN generator: low-resolution images [N, C, h, w] -> [N, C, 4h, 4w] in (−1, 1).

    9×9 conv + PReLU; `blocks` residual blocks; conv–BN joined to the first layer's output by a
    long skip; two ×2 sub-pixel blocks (conv to 4× the channels, pixel shuffle, PReLU); 9×9 conv.
    Fully convolutional, so any input size works. The default has 1,549,462 parameters.

    The output goes through tanh: the targets here are in [−1, 1] (the paper, too, scaled its
    high-resolution images to [−1, 1]), and bounding the output to that range keeps the
    discriminator from judging values no real image has, as in the other generators of gankit.
    """

    def __init__(self, channels: int = 3, *, width: int = 64, blocks: int = 16) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(
            *[ResidualBlock(width) for _ in range(blocks)],
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
        )
        upsample: list[nn.Module] = []
        for _ in range(2):  # ×2 twice: sub-pixel convolution (Shi et al. 2016)
            upsample += [nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2), nn.PReLU()]
        self.upsample = nn.Sequential(*upsample)
        self.tail = nn.Conv2d(width, channels, 9, padding=4)

    def forward(self, x: Tensor) -> Tensor:
        h = self.head(x)  # [N, w, h, w]
        h = h + self.body(h)  # the long skip
        return torch.tanh(self.tail(self.upsample(h)))  # [N, C, 4h, 4w]


class SRGANDiscriminator(nn.Module):
    """Images [N, C, R, R] -> logits [N]: eight 3×3 convolutions, strides 1, 2, 1, 2, ...,
    channels 64, 64, 128, 128, 256, 256, 512, 512, batch norm after all but the first,
    LeakyReLU(0.2); then dense `dense`, LeakyReLU(0.2), dense 1. The first dense layer sees the
    whole last feature map, so the discriminator is tied to its training side R (R/16 per side
    after the four stride-2 convolutions: 6×6×512 for the paper's 96×96 crops)."""

    def __init__(self, channels: int, resolution: int, *, width: int = 64, dense: int = 1024):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, side = channels, resolution
        for i in range(8):
            c_out, stride = width * 2 ** (i // 2), 1 + i % 2
            layers.append(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in, side = c_out, (side + 1) // 2 if stride == 2 else side
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * side * side, dense),
            nn.LeakyReLU(0.2),
            nn.Linear(dense, 1),
        )
        self.resolution = resolution

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.resolution, self.resolution):
            raise ValueError(
                f"this discriminator judges {self.resolution}×{self.resolution} images, "
                f"got {tuple(x.shape[-2:])}"
            )
        return self.head(self.features(x)).flatten()  # [N]


@register_model("srgan", help="Ledig et al. 2017: ×4 SRResNet with VGG content + adversarial loss")
class SRGAN(GANModel):
    """×4 single-image super-resolution on paired data: `a` the low-resolution images
    [B, C, R/4, R/4], `b` their high-resolution originals [B, C, R, R], both in [−1, 1].

    Phases "D" (BCE on high-resolution crops vs the generator's outputs) and "G" (content loss +
    `adversarial_weight` × the non-saturating BCE); "G" alone when `adversarial_weight` is 0.
    `translate(lr)` returns the ×4 image for low-resolution inputs of any size.
    """

    Config = SRGANConfig
    config: SRGANConfig
    data_kinds = ("paired",)
    directions: ClassVar[tuple[str, ...]] = ("AtoB",)
    default_resolution: ClassVar[int | None] = 96  # the paper's high-resolution crops
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 16}

    def __init__(self, config: SRGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        channels = info.shape[0]
        self.G = SRResNet(channels, width=config.channels, blocks=config.blocks)
        self.D = (
            SRGANDiscriminator(
                channels, info.shape_b[-1], width=config.d_channels, dense=config.d_dense
            )
            if config.adversarial_weight > 0
            else None
        )
        # built on the first loss evaluation, not here: a trained run then loads for
        # inference without the VGG weights file (check_data reads it before training)
        self.content_net: VGG19Features | None = None

    # ----------------------------------------------------------------- checks
    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, SRGANConfig)
        (c, h, w), (cb, hb, wb) = info.shape, info.shape_b
        if c != cb:
            raise GankitError(
                f"srgan keeps the colour channels: {info.name!r} pairs {c}-channel inputs with "
                f"{cb}-channel targets"
            )
        if (hb, wb) != (SCALE * h, SCALE * w):
            raise GankitError(
                f"srgan upscales ×{SCALE}: {info.name!r} pairs {h}×{w} inputs with {hb}×{wb} "
                f"targets (need {SCALE * h}×{SCALE * w})"
            )
        cls.check_resolution(config, wb)
        content = resolve_content(config)
        if content in ("vgg", "random-features") and c not in (1, 3):
            raise GankitError(f"the {content} content loss needs RGB or gray images, not {c}")
        if content == "vgg":
            vgg19_layer(config.vgg_layer)
            assert config.vgg_weights is not None
            path = config.vgg_weights
            probe = VGG19Features(config.vgg_layer)  # fail now, not at the first G update
            with torch.no_grad():
                probe.load_torchvision(read_state_dict(path), source=path)
        # said when a run starts (the Trainer checks the data), not whenever a run is loaded
        log.info("srgan content loss: %s", describe_content(config))

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """`resolution` is the targets' (high-resolution) side: a multiple of 4, the inputs
        being a quarter of it, and large enough for the VGG content loss's poolings (φi,j pools
        i − 1 times; at least one pixel must be left)."""
        assert isinstance(config, SRGANConfig)
        if resolution % SCALE:
            below = resolution // SCALE * SCALE
            sides = [s for s in (below, below + SCALE) if s > 0]
            raise GankitError(
                f"srgan upscales ×{SCALE}: --resolution is the side of its high-resolution "
                f"targets, a multiple of {SCALE} (the inputs are a quarter of it), got "
                f"{resolution}: {resolution_hint(sides)}"
            )
        content = resolve_content(config)
        if content == "mse":
            return
        layer = RANDOM_LAYER if content == "random-features" else vgg19_layer(config.vgg_layer)
        smallest = 2 ** (int(layer[0]) - 1)
        if resolution < smallest:
            raise GankitError(
                f"srgan's {content} content loss reads VGG19 features φ{layer.replace('_', ',')}, "
                f"which pool the image {int(layer[0]) - 1} times: it needs a resolution of at "
                f"least {smallest}, got {resolution}: use --resolution {smallest} or more, or an "
                "earlier model.vgg_layer"
            )

    @property
    def content_description(self) -> str:
        return describe_content(self.config)

    # ----------------------------------------------------------------- the game
    def phases(self) -> list[Phase]:
        cfg = self.config
        g = Phase("G", list(self.G.parameters()), cfg.g_opt)
        if self.D is None:
            return [g]
        return [Phase("D", list(self.D.parameters()), cfg.d_opt), g]

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        lr, hr = batch["a"], batch["b"]  # [B, C, R/4, R/4], [B, C, R, R]
        if phase == "D" and self.D is not None:
            with torch.no_grad():
                sr = self.G(lr)
            real, fake = self.D(hr), self.D(sr)
            return {
                "loss": losses.bce_d(real, fake),
                "p_real": mean_prob(real),
                "p_fake": mean_prob(fake),
                "real_sign": losses.real_sign(real),
            }
        if phase == "G":
            return self.g_loss(self.G(lr), hr)
        raise KeyError(phase)

    def g_loss(self, sr: Tensor, hr: Tensor) -> dict[str, Tensor]:
        """Content loss (+ the weighted adversarial loss) of outputs `sr` against targets `hr`."""
        mse = F.mse_loss(sr, hr)
        content = self.content_loss(sr, hr, mse)
        out = {"mse": mse.detach(), "content": content.detach()}
        total = content
        if self.D is not None:
            fake = self.D(sr)
            adversarial = losses.nonsaturating_g(fake)
            total = total + self.config.adversarial_weight * adversarial
            out |= {"adversarial": adversarial.detach(), "p_fake": mean_prob(fake)}
        return {"loss": total, **out}

    def content_loss(self, sr: Tensor, hr: Tensor, mse: Tensor) -> Tensor:
        """The configured content loss; `mse` is the pixel MSE of sr and hr, computed already."""
        content = resolve_content(self.config)
        if content == "mse":
            return mse
        net = self._content_net(sr)
        with torch.no_grad():
            target = net(hr)
        feature = F.mse_loss(net(sr), target)
        return feature if content == "vgg" else mse + feature

    def _content_net(self, like: Tensor) -> VGG19Features:
        """The frozen feature network, built on first use on `like`'s device."""
        if self.content_net is None:
            cfg = self.config
            if resolve_content(cfg) == "vgg":
                assert cfg.vgg_weights is not None
                net = vgg19_features(cfg.vgg_weights, cfg.vgg_layer, scale=cfg.vgg_scale)
            else:
                net = random_vgg19_features(RANDOM_LAYER, seed=RANDOM_SEED, scale=RANDOM_SCALE)
            self.content_net = net.to(like.device)
        return self.content_net

    # ----------------------------------------------------------------- inference
    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        """The ×4 super-resolution of low-resolution images x [N, C, h, w] -> [N, C, 4h, 4w]."""
        self.check_direction(direction)
        return self.G(x)

    @torch.no_grad()
    def preview(self, batch: Batch) -> tuple[Tensor, int]:
        """Rows of: the low-resolution input (enlarged), its ×4 output, the original."""
        columns = [batch["a"], self.translate(batch["a"]), batch["b"]]
        return preview_rows(columns), len(columns)


def resolve_content(config: SRGANConfig) -> str:
    """The content loss `config` asks for, with `auto` resolved; `vgg` without weights is a
    GankitError."""
    if config.content == "auto":
        return "vgg" if config.vgg_weights else "random-features"
    if config.content == "vgg" and not config.vgg_weights:
        raise GankitError(
            "model.content=vgg needs model.vgg_weights=PATH, a local VGG19 state dict "
            "(torchvision's vgg19-dcad8c8d.pth layout, .pth or .safetensors); gankit never "
            "downloads weights. Without one, use model.content=random-features or mse"
        )
    return config.content


def describe_content(cfg: SRGANConfig) -> str:
    """The content loss a config uses, in words (logged when training starts)."""
    content = resolve_content(cfg)
    if content == "vgg":
        layer = vgg19_layer(cfg.vgg_layer).replace("_", ",")
        return f"VGG19 φ{layer} features from {cfg.vgg_weights}"
    if content == "mse":
        return "pixel MSE"
    return (
        "random-features, the offline substitute for the paper's VGG loss (pixel MSE + "
        f"features φ{RANDOM_LAYER.replace('_', ',')} of a VGG19 with fixed random weights; "
        "set model.vgg_weights=PATH to a local VGG19 state dict for the paper's VGG loss)"
    )
