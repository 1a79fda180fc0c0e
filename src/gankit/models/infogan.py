"""InfoGAN: Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import losses
from gankit.config import NonNegFloat, NonNegInt, PosFloat, PosInt, Range
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.models.adversarial import mean_prob
from gankit.models.base import Code, GANModel, ModelConfig, OptimConfig, Phase, register_model
from gankit.nn import normal_init_
from gankit.nn.conv import resolution_hint


@dataclass
class InfoGANConfig(ModelConfig):
    """The paper's MNIST model (Appendix C.1): 62 noise variables ~ U[-1, 1], one 10-way
    categorical code and two continuous codes ~ U[-1, 1]; λ = 1; Adam with 1e-3 for G and 2e-4
    for D and Q, β1 0.5; batches of 64.

    Args:
        z_dim: incompressible noise variables (the latent is noise, then codes).
        categorical: the size of each categorical code (c1, c2, ... in this order).
        continuous: the number of continuous codes (after the categorical ones).
        info_weight: λ, the weight of the mutual-information term in both players' losses.
        continuous_weight: the continuous codes' share of it (Q models them as Gaussians of
            unit variance, so the term is ½(c − μ)²).
        g_fc, channels: widths: G's first FC layer and D's last (1024), and the conv channels
            next to the image (64, doubled once).
        q_hidden: the Q head's hidden layer (128).
    """

    z_dim: PosInt = 62
    z_dist: Literal["normal", "uniform"] = "uniform"
    categorical: tuple[Annotated[int, Range(2)], ...] = (10,)
    continuous: NonNegInt = 2
    info_weight: NonNegFloat = 1.0
    continuous_weight: NonNegFloat = 1.0
    g_fc: PosInt = 1024
    channels: PosInt = 64
    q_hidden: PosInt = 128
    init_std: PosFloat | None = 0.02
    g_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 1e-3, (0.5, 0.999)))
    d_opt: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, (0.5, 0.999)))


class InfoGenerator(nn.Module):
    """latent [B, L] -> images [B, C, R, R]: FC g_fc, FC (R/4)²·2ch, then two 4×4 stride-2
    transposed convolutions (batch norm and ReLU inside, tanh out)."""

    def __init__(self, latent_dim: int, channels: int, resolution: int, cfg: InfoGANConfig):
        super().__init__()
        wide, side = 2 * cfg.channels, resolution // 4
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, cfg.g_fc, bias=False),
            nn.BatchNorm1d(cfg.g_fc),
            nn.ReLU(),
            nn.Linear(cfg.g_fc, wide * side * side, bias=False),
            nn.BatchNorm1d(wide * side * side),
            nn.ReLU(),
            nn.Unflatten(1, (wide, side, side)),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(wide, cfg.channels, 4, 2, 1, bias=False),
            nn.BatchNorm2d(cfg.channels),
            nn.ReLU(),
            nn.ConvTranspose2d(cfg.channels, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, latent: Tensor) -> Tensor:
        return self.conv(self.fc(latent))


def _trunk(channels: int, resolution: int, cfg: InfoGANConfig) -> nn.Sequential:
    """The layers D and Q share: two 4×4 stride-2 convs, then FC g_fc (LeakyReLU 0.1)."""
    wide, side = 2 * cfg.channels, resolution // 4
    return nn.Sequential(
        nn.Conv2d(channels, cfg.channels, 4, 2, 1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(cfg.channels, wide, 4, 2, 1, bias=False),
        nn.BatchNorm2d(wide),
        nn.LeakyReLU(0.1),
        nn.Flatten(),
        nn.Linear(wide * side * side, cfg.g_fc, bias=False),
        nn.BatchNorm1d(cfg.g_fc),
        nn.LeakyReLU(0.1),
    )


@register_model("infogan", help="Chen et al. 2016: latent codes recovered by a Q head (MI loss)")
class InfoGAN(GANModel):
    """InfoGAN on images: G(noise, codes); D and Q share a trunk; both players also minimise
    λ·(cross-entropy of the categorical codes + continuous_weight · ½‖c − μ‖²), a lower bound on
    −I(c; G(z, c)).

    Shapes: G: latent [B, z_dim + Σcategories + continuous] -> x [B, C, R, R]; D: x -> logits [B];
    Q: x -> [B, Σcategories + continuous] (category logits, then means of the continuous codes).
    """

    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}
    Config = InfoGANConfig
    config: InfoGANConfig
    data_kinds = ("image",)
    default_resolution: ClassVar[int | None] = 28

    def __init__(self, config: InfoGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        c, r = info.shape[0], info.shape[-1]
        start = config.z_dim
        for k in config.categorical:
            self.codes.append(Code(f"c{len(self.codes) + 1}", "categorical", start, k))
            start += k
        for _ in range(config.continuous):
            self.codes.append(Code(f"c{len(self.codes) + 1}", "continuous", start, 1))
            start += 1
        self.G = InfoGenerator(self.latent_dim, c, r, config)
        # docs:start heads
        self.trunk = _trunk(c, r, config)
        self.d_head = nn.Linear(config.g_fc, 1)
        code_width = sum(config.categorical) + config.continuous
        self.q_head = nn.Sequential(
            nn.Linear(config.g_fc, config.q_hidden, bias=False),
            nn.BatchNorm1d(config.q_hidden),
            nn.LeakyReLU(0.1),
            nn.Linear(config.q_hidden, code_width),
        )
        # docs:end heads
        if config.init_std is not None:
            normal_init_(self, config.init_std)

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        super().check_data(config, info)
        assert isinstance(config, InfoGANConfig)
        h, w = info.shape[-2:]
        if h != w:
            raise GankitError(f"infogan needs square images, got {h}×{w}")
        cls.check_resolution(config, w)
        if any(k < 2 for k in config.categorical) or config.continuous < 0:
            raise GankitError("infogan's categorical codes need ≥ 2 categories each")
        if not config.categorical and not config.continuous:
            raise GankitError("infogan needs at least one latent code")

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """G draws at R/4 and D reads at R/4 (two 2× convolutions each): R must be a multiple of
        4, and at least 8."""
        if resolution >= 8 and resolution % 4 == 0:
            return
        below = resolution // 4 * 4
        sides = [s for s in (below, below + 4) if s >= 8] or [8]
        raise GankitError(
            f"infogan draws and reads images at a quarter of their side (two 2× convolutions): "
            f"it needs a resolution that is a multiple of 4 and at least 8, got {resolution}: "
            f"{resolution_hint(sides)}"
        )

    @property
    def latent_dim(self) -> int:
        cfg = self.config
        return cfg.z_dim + sum(cfg.categorical) + cfg.continuous

    # ------------------------------------------------------------------ latents
    def sample_latent(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        truncation: float | None = None,
    ) -> Tensor:
        """[noise, one-hot categorical codes, continuous codes ~ U[-1, 1]] (truncation applies
        to the noise only)."""
        noise = super().sample_latent(n, generator=generator, truncation=truncation)
        device = self.draw_device(generator)
        parts = [noise]
        for code in self.codes:
            if code.kind == "categorical":
                index = torch.randint(code.size, (n,), generator=generator, device=device)
                parts.append(F.one_hot(index, code.size).float().to(self.device))
            else:
                u = torch.rand(n, 1, generator=generator, device=device) * 2 - 1
                parts.append(u.to(self.device))
        return torch.cat(parts, 1)

    # ------------------------------------------------------------------ networks and losses
    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.G(z)

    def augmented_inputs(self) -> dict[str, tuple[int, ...] | None]:
        """The trunk that D and Q share reads the images (Q sees the augmented fakes too)."""
        return {"trunk": None}

    def discriminate(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(D's logits [B], Q's outputs [B, Σcategories + continuous])."""
        h = self.trunk(x)
        return self.d_head(h).flatten(), self.q_head(h)

    def information_loss(self, q: Tensor, latent: Tensor) -> dict[str, Tensor]:
        """−(lower bound on I(c; G(z, c))) up to constants: cross-entropy of each categorical
        code plus continuous_weight · ½(c − μ)² of each continuous one."""
        cfg = self.config
        cat = q.new_zeros(())
        cont = q.new_zeros(())
        offset = 0
        for code in self.codes:
            target = latent[:, code.start : code.start + code.size]
            pred = q[:, offset : offset + code.size]
            offset += code.size
            if code.kind == "categorical":
                cat = cat + F.cross_entropy(pred.float(), target.argmax(1))
            else:
                cont = cont + 0.5 * ((pred.float() - target) ** 2).mean()
        total = cfg.info_weight * (cat + cfg.continuous_weight * cont)
        return {"info": total, "info_cat": cat.detach(), "info_cont": cont.detach()}

    def phases(self) -> list[Phase]:
        d_params = [*self.trunk.parameters(), *self.d_head.parameters()]
        d_params += list(self.q_head.parameters())
        return [
            Phase("D", d_params, self.config.d_opt),
            Phase("G", list(self.G.parameters()), self.config.g_opt, reuses="D"),
        ]

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        real = batch["x"]

        def draw() -> tuple[Tensor, Tensor]:
            latent = self.sample_latent(real.shape[0])
            return latent, self.G(latent)

        latent, fake = self.generated(phase, draw)
        if phase == "D":
            r, _ = self.discriminate(real)
            f, q = self.discriminate(fake)
            info = self.information_loss(q, latent)
            adversarial = losses.bce_d(r, f)
            return {
                "loss": adversarial + info["info"],
                "adv": adversarial.detach(),
                **{k: v.detach() for k, v in info.items()},
                "p_real": mean_prob(r),
                "p_fake": mean_prob(f),
                "real_sign": losses.real_sign(r),
            }
        if phase == "G":
            f, q = self.discriminate(fake)
            info = self.information_loss(q, latent)
            adversarial = losses.nonsaturating_g(f)
            return {
                "loss": adversarial + info["info"],
                "adv": adversarial.detach(),
                **{k: v.detach() for k, v in info.items()},
            }
        raise KeyError(phase)
