"""The model interface: a GANModel owns its networks and computes losses phase by phase; the
Trainer runs backward and the optimisers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.registry import Registry


@dataclass
class OptimConfig:
    """One optimiser. `betas` are Adam's; `alpha` and `momentum` are RMSprop's (and SGD's)."""

    name: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    alpha: float = 0.99
    momentum: float = 0.0
    eps: float = 1e-8
    weight_decay: float = 0.0


def make_optimizer(params: list[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    if cfg.name == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=cfg.lr,
            alpha=cfg.alpha,
            eps=cfg.eps,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


@dataclass
class Phase:
    """One kind of update: which parameters, with which optimiser, how often.

    Args:
        name: also the key passed to `GANModel.loss` and the prefix of its logged values.
        params: the parameters this phase updates (and the only ones that get gradients).
        optim: optimiser settings.
        repeat: updates per training step (WGAN's n_critic), or a function of the step.
        every: run only on steps divisible by this (lazy regularisation).
    """

    name: str
    params: list[nn.Parameter]
    optim: OptimConfig
    repeat: int | Callable[[int], int] = 1
    every: int = 1

    def runs_at(self, step: int) -> int:
        """How many updates this phase makes at (0-based) training step `step`."""
        if step % self.every:
            return 0
        return self.repeat(step) if callable(self.repeat) else self.repeat


@dataclass
class ModelConfig:
    """Fields every model shares: the latent prior."""

    z_dim: int = 100
    z_dist: Literal["normal", "uniform"] = "normal"


class GANModel(nn.Module):
    """Base of every model: its networks, its phases and its losses.

    A model never calls backward, never steps an optimiser, never moves itself between devices,
    and knows nothing of files, logging or ranks.

    Subclasses set `Config` (their dataclass, which mirrors the constructor) and register with
    `@register_model("name")`.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[ModelConfig]] = ModelConfig
    data_kinds: ClassVar[tuple[str, ...]] = ("image", "points")
    needs_labels: ClassVar[bool] = False
    default_ema: ClassVar[bool] = False  # EMA of G on by default (where the paper used it)
    default_resolution: ClassVar[int | None] = None  # the paper's image resolution
    ema_targets: ClassVar[tuple[str, ...]] = ("G",)  # submodules that EMA tracks
    train_defaults: ClassVar[dict[str, Any]] = {}  # the paper's training settings (batch size)

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__()
        self.config, self.info = config, info

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        """Raise GankitError when this model cannot train on data described by `info`."""
        if info.kind not in cls.data_kinds:
            kinds = " or ".join(cls.data_kinds)
            raise GankitError(
                f"model {cls.name!r} needs {kinds} data, but {info.name!r} holds {info.kind}"
            )
        if cls.needs_labels and not info.num_classes:
            raise GankitError(f"model {cls.name!r} needs labelled data; {info.name!r} has none")

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        """The losses of `phase` on `batch`: the scalar to minimise under "loss", others logged."""
        raise NotImplementedError

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Samples from latents z [N, z_dim] (and labels y [N] for conditional models)."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """z [n, z_dim] from the prior; drawn on `generator`'s device, returned on the model's."""
        cfg = self.config
        device = generator.device if generator is not None else self.device
        if cfg.z_dist == "uniform":  # U[-1, 1]
            z = torch.rand(n, cfg.z_dim, generator=generator, device=device) * 2 - 1
        else:
            z = torch.randn(n, cfg.z_dim, generator=generator, device=device)
        return z.to(self.device)

    @torch.no_grad()
    def sample(
        self, n: int, *, y: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        return self.generate(self.sample_latent(n, generator=generator), y)


MODELS: Registry[type[GANModel]] = Registry("model")


def register_model(name: str, *, help: str = "") -> Callable[[type[GANModel]], type[GANModel]]:
    def decorate(cls: type[GANModel]) -> type[GANModel]:
        cls.name = name
        return MODELS.register(name, help=help)(cls)

    return decorate
