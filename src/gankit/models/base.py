"""The model interface: a GANModel owns its networks and computes losses phase by phase; the
Trainer runs backward and the optimisers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import Beta, NonNegFloat, PosInt, UnitFloat, check_fields
from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.registry import Registry

T = TypeVar("T")


@dataclass
class OptimConfig:
    """One optimiser. `betas` are Adam's; `alpha` and `momentum` are RMSprop's (and SGD's)."""

    name: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: NonNegFloat = 2e-4
    betas: tuple[Beta, Beta] = (0.5, 0.999)
    alpha: UnitFloat = 0.99
    momentum: NonNegFloat = 0.0
    eps: NonNegFloat = 1e-8
    weight_decay: NonNegFloat = 0.0

    def __post_init__(self) -> None:
        check_fields(self)


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
        after_step: called (without gradients) after each optimiser step of this phase, e.g.
            WGAN's weight clipping.
        lr_scale: `f(step, total_steps)`, the learning rate's factor at (0-based) training step
            `step` of a run of `total_steps`; a pure function, so that a resumed run follows the
            same schedule (CycleGAN's constant then linearly decaying rate). None keeps `optim.lr`.
        shares: the name of an earlier phase whose optimiser (and its moment estimates) this
            phase steps instead of its own; its params must be among that phase's. StyleGAN's
            lazy regularisers step D's and G's own Adam: with an optimiser of their own, Adam's
            normalisation would make each lazy step about lr in size whatever the penalty's
            weight.
        reuses: the name of the phase just before this one whose generator output this phase
            may continue from (the D step on `fake.detach()`, then the G step on the same
            `fake`, as the DCGAN tutorial's loop does), instead of running G again on fresh
            latents and a fresh batch. The model declares it where the two are the same in
            expectation (G is not updated in between, and the earlier phase runs once per step);
            `train.reuse_fake` decides whether the Trainer uses it (see `GANModel.generated`).
    """

    name: str
    params: list[nn.Parameter]
    optim: OptimConfig
    repeat: int | Callable[[int], int] = 1
    every: int = 1
    after_step: Callable[[], None] | None = None
    lr_scale: Callable[[int, int], float] | None = None
    shares: str | None = None
    reuses: str | None = None

    def runs_at(self, step: int) -> int:
        """How many updates this phase makes at (0-based) training step `step`."""
        if step % self.every:
            return 0
        return self.repeat(step) if callable(self.repeat) else self.repeat


@dataclass(frozen=True)
class Code:
    """One latent code: its name (c1, c2, ...), kind, and columns in the latent vector."""

    name: str
    kind: Literal["categorical", "continuous"]
    start: int
    size: int  # categories (one-hot columns), or 1 for a continuous code


@dataclass
class ModelConfig:
    """Fields every model shares: the latent prior."""

    z_dim: PosInt = 100
    z_dist: Literal["normal", "uniform"] = "normal"

    def __post_init__(self) -> None:
        check_fields(self)


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
    # image-to-image models: the directions `translate` takes ("AtoB", and "BtoA" for the cycle
    # models); empty for models that generate from a latent
    directions: ClassVar[tuple[str, ...]] = ()
    # where sampling's truncation acts: "z" redraws latent entries beyond ±t (Brock et al.);
    # "w" pulls the intermediate latent toward its average by ψ (StyleGAN), inside `generate`,
    # which then takes a `truncation` keyword
    truncation_space: ClassVar[Literal["z", "w"]] = "z"
    # whether `train.reuse_fake` defaults on: where the paper's own code runs G once per step
    # and trains D and G on the same samples (see `Phase.reuses`)
    default_reuse_fake: ClassVar[bool] = False

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__()
        self.config, self.info = config, info
        self.codes: list[Code] = []  # interpretable latent codes (InfoGAN's), in latent order
        self._kept: Any = None  # G's output kept by `generated` from one phase for the next

    @classmethod
    def channels_last(cls, config: ModelConfig) -> bool:
        """Whether `train.channels_last` defaults on: where the channels-last layout makes this
        model's convolutions faster (benchmarks/results/channels-last.md)."""
        return True

    @classmethod
    def check_kind(cls, kind: str, name: str) -> None:
        """Raise GankitError when this model cannot train on data of `kind` (dataset `name`);
        the Trainer asks before it reads any data."""
        if kind not in cls.data_kinds:
            kinds = " or ".join(cls.data_kinds)
            raise GankitError(f"model {cls.name!r} needs {kinds} data, but {name!r} holds {kind}")

    @classmethod
    def check_data(cls, config: ModelConfig, info: DataInfo) -> None:
        """Raise GankitError when this model cannot train on data described by `info`."""
        cls.check_kind(info.kind, info.name)
        if cls.needs_labels and not info.num_classes:
            raise GankitError(f"model {cls.name!r} needs labelled data; {info.name!r} has none")

    @classmethod
    def check_resolution(cls, config: ModelConfig, resolution: int) -> None:
        """Raise GankitError when this model cannot be built at image side `resolution` (what
        `data.resolution` means for the data: domain B's side for two-domain sets). Called
        before any data is read or network built, so a size the model cannot take costs
        nothing; `check_data` checks the same on the built data."""

    @classmethod
    def schedule_note(
        cls, config: ModelConfig, info: DataInfo, steps: int, batch_size: int
    ) -> str | None:
        """A warning when a run of `steps` steps of `batch_size` would not finish the model's
        schedule (ProGAN that never reaches its full resolution); None when it does or when
        the model has no schedule. The Trainer logs it when a run starts."""
        return None

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def load_pretrained(self) -> None:
        """Load the weights that the config points to outside the run (StackGAN's Stage-I run),
        raising GankitError when they cannot be read. Called by the Trainer for a new run only:
        a resumed run and a loaded checkpoint already hold them."""

    def set_progress(self, images: int) -> None:
        """Told by the Trainer how many training images the run has shown (steps × global
        batch size) before every step, before progress pictures and before checkpoints.

        Models whose architecture follows a schedule (ProGAN's growth and fade-in) set their
        state from it here; it must be a pure function of `images`, so that a resumed run and a
        loaded checkpoint land on the same state. Others ignore it.
        """

    def loss(self, phase: str, batch: Batch) -> dict[str, Tensor]:
        """The losses of `phase` on `batch`: the scalar to minimise under "loss", others logged."""
        raise NotImplementedError

    def generated(self, phase: str, draw: Callable[[], T]) -> T:
        """G's part of a step, `draw()` (latents drawn, then G run on them: a tensor or a tuple
        of tensors), computed once for two phases where the Trainer allows it.

        In phase "D" the result comes back detached. When it carries G's graph (the Trainer
        builds it when phase "G" `reuses` "D" and `train.reuse_fake` is on) it is also kept,
        and phase "G" then continues from it, latents and all, instead of drawing afresh. G is
        not updated between the two phases, so the kept samples are exactly what G would give
        again for the same latents; and they are as random as fresh ones. Without G's graph
        nothing is kept, and phase "G" draws its own latents, as before.
        """
        if phase == "G" and self._kept is not None:
            kept, self._kept = self._kept, None
            return cast(T, kept)
        out = draw()
        if phase != "D":
            return out
        parts: tuple[Tensor, ...] = out if isinstance(out, tuple) else (cast(Tensor, out),)
        self._kept = out if any(t.requires_grad for t in parts) else None
        detached = tuple(t.detach() for t in parts)
        return cast(T, detached if isinstance(out, tuple) else detached[0])

    def forget_generated(self) -> None:
        """Drop what `generated` kept (the Trainer calls this at the end of every step)."""
        self._kept = None

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Samples from latents z [N, z_dim] (and labels y [N] for conditional models)."""
        raise NotImplementedError

    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        """Image-to-image models: the translation of images x [N, C, H, W] in [-1, 1] (domain A
        for "AtoB", B for "BtoA"); the output is in the other domain's channels and scale."""
        raise GankitError(f"model {self.name!r} does not translate images; it samples")

    @property
    def input_multiple(self) -> int:
        """Translation models: input sides must be multiples of this (the total downsampling of
        a U-Net or encoder); `gankit translate` pads other sizes by reflection and crops back."""
        return 1

    def check_direction(self, direction: str) -> None:
        if not self.directions:
            raise GankitError(f"model {self.name!r} does not translate images; it samples")
        if direction not in self.directions:
            raise GankitError(
                f"model {self.name!r} translates {' or '.join(self.directions)}, not {direction!r}"
            )

    @torch.no_grad()
    def preview(self, batch: Batch) -> tuple[Tensor, int]:
        """Models that `shows_data`: what the Trainer saves every `sample_every` steps for a
        fixed batch, and how many images make a row. By default one row per example: its input and
        translation in each direction (`a`, A→B(a), then `b`, B→A(b) for two-way models), shown
        at the largest size with three channels when the sides differ. Cycle models override
        this to add reconstructions."""
        columns = []
        for direction in self.directions:
            source = batch["a"] if direction == "AtoB" else batch["b"]
            columns += [source, self.translate(source, direction)]
        return preview_rows(columns), len(columns)

    def augmented_inputs(self) -> dict[str, tuple[int, ...] | None]:
        """The submodules (dotted names) whose image arguments are what the discriminator sees,
        each with the channel groups of that input, or None for one image. `train.augment`
        transforms every 4-D tensor argument of their forward calls, in every phase.

        By default `D`. A model whose discriminator input stacks images (pix2pix's condition
        and output) gives their channel counts, so that colour transforms act on each image and
        every geometric transform on all of them alike."""
        return {"D": None}

    @property
    def shows_data(self) -> bool:
        """Whether progress pictures come from a fixed batch of data (`preview`) rather than
        from fixed latents: translation and text-to-image models."""
        return bool(self.directions)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def latent_dim(self) -> int:
        """Width of the generator's whole latent input (z, plus codes for InfoGAN)."""
        return self.config.z_dim

    @property
    def conditional(self) -> bool:
        """Whether `generate` takes class labels."""
        return False

    def draw_device(self, generator: torch.Generator | None) -> torch.device:
        """Where random draws happen: on `generator`'s device when one is given (so that a
        seeded CPU generator gives the same latents whatever device the model is on), else on
        the model's. Draws are moved to the model's device afterwards."""
        return generator.device if generator is not None else self.device

    def sample_latent(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        truncation: float | None = None,
    ) -> Tensor:
        """Latents [n, latent_dim] from the prior; drawn on `generator`'s device, returned on the
        model's.

        Args:
            truncation: the truncation trick (Brock et al. 2019) for Gaussian latents: entries
                beyond ±truncation are redrawn, trading variety for fidelity.
        """
        device = self.draw_device(generator)
        cfg = self.config
        return sample_noise(n, cfg.z_dim, cfg.z_dist, device, generator, truncation).to(self.device)

    def code(self, name: str) -> Code:
        """The latent code called `name` (c1, c2, ...)."""
        if not self.codes:
            raise GankitError(f"model {self.name!r} has no latent codes to vary (infogan has)")
        for code in self.codes:
            if code.name == name:
                return code
        names = ", ".join(c.name for c in self.codes)
        raise GankitError(f"no latent code {name!r}; this model has {names}")

    def set_code(self, latent: Tensor, name: str, value: float) -> Tensor:
        """A copy of `latent` with code `name` set to `value` (a category index, or a real)."""
        code, out = self.code(name), latent.clone()
        columns = slice(code.start, code.start + code.size)
        if code.kind == "categorical":
            if not (0 <= value < code.size and float(value).is_integer()):
                raise GankitError(f"{name} takes a category 0..{code.size - 1}, got {value}")
            out[:, columns] = F.one_hot(torch.tensor(int(value)), code.size).to(out)
        else:
            out[:, columns] = value
        return out

    def code_values(self, name: str, steps: int = 10, span: float = 2.0) -> list[float]:
        """The values a sweep of code `name` shows: every category, or `steps` evenly spaced
        reals in [−span, span] (the paper goes beyond the training range [−1, 1])."""
        code = self.code(name)
        if code.kind == "categorical":
            return [float(i) for i in range(code.size)]
        return torch.linspace(-span, span, steps).tolist()

    def sample_labels(self, n: int, *, generator: torch.Generator | None = None) -> Tensor | None:
        """Uniformly drawn class labels [n] for a conditional model; None otherwise."""
        if not self.conditional:
            return None
        device = self.draw_device(generator)
        y = torch.randint(self.info.num_classes, (n,), generator=generator, device=device)
        return y.to(self.device)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        y: Tensor | None = None,
        generator: torch.Generator | None = None,
        truncation: float | None = None,
    ) -> Tensor:
        """n samples; a conditional model draws labels uniformly unless `y` gives them.
        `truncation` cuts z (see `sample_latent`), or is ψ for a model that truncates in w."""
        in_w = self.truncation_space == "w" and truncation is not None
        z = self.sample_latent(n, generator=generator, truncation=None if in_w else truncation)
        if y is None:
            y = self.sample_labels(n, generator=generator)
        if in_w:
            return self.generate(z, y, truncation=truncation)  # type: ignore[call-arg]
        return self.generate(z, y)


def critic_then_generator(
    D: nn.Module,
    G: nn.Module,
    d_opt: OptimConfig,
    g_opt: OptimConfig,
    n_critic: int = 1,
    *,
    reusable: bool = True,
) -> list[Phase]:
    """The two phases of a G/D pair: "D", `n_critic` updates per step, then "G".

    With one D update, G may continue from D's samples (`Phase.reuses`) unless `reusable` is
    False: a G whose forward pass changes it (spectral norm's power iteration) would give other
    samples if run again. With more D updates, D's last samples would serve too, but G's graph
    would be held through every critic update to save one forward pass in n_critic + 1, and the
    papers that use n_critic > 1 draw fresh latents for G."""
    return [
        Phase("D", list(D.parameters()), d_opt, repeat=n_critic),
        Phase("G", list(G.parameters()), g_opt, reuses="D" if n_critic == 1 and reusable else None),
    ]


def preview_rows(columns: list[Tensor]) -> Tensor:
    """Interleave image columns [N, C_i, H_i, W_i] into rows of one example each ([N·k, C, H, W]):
    smaller images are upsampled (nearest) to the largest size and gray ones repeated to RGB
    when the columns mix channel counts."""
    size = max(c.shape[-1] for c in columns)
    channels = max(c.shape[1] for c in columns)
    shown = []
    for c in columns:
        c = c.float()
        if c.shape[-1] != size:
            c = F.interpolate(c, size=(size, size), mode="nearest")
        if c.shape[1] != channels:
            c = c.expand(-1, channels, -1, -1)
        shown.append(c)
    return torch.stack(shown, 1).flatten(0, 1)


def sample_noise(
    n: int,
    dim: int,
    dist: str,
    device: torch.device,
    generator: torch.Generator | None = None,
    truncation: float | None = None,
) -> Tensor:
    """z [n, dim] ~ N(0, I) or U[-1, 1] on `device` (that of `generator`, if given); a Gaussian
    may be truncated at ±truncation by redrawing the entries beyond it."""
    if dist == "uniform":
        if truncation is not None:
            raise GankitError("truncation needs a Gaussian latent; this model draws z uniformly")
        return torch.rand(n, dim, generator=generator, device=device) * 2 - 1
    z = torch.randn(n, dim, generator=generator, device=device)
    if truncation is not None:
        if truncation <= 0:
            raise GankitError(f"truncation must be positive, got {truncation}")
        outside = z.abs() > truncation
        while outside.any():
            z[outside] = torch.randn(int(outside.sum()), generator=generator, device=device)
            outside = z.abs() > truncation
    return z


MODELS: Registry[type[GANModel]] = Registry("model")


def register_model(name: str, *, help: str = "") -> Callable[[type[GANModel]], type[GANModel]]:
    def decorate(cls: type[GANModel]) -> type[GANModel]:
        cls.name = name
        return MODELS.register(name, help=help)(cls)

    return decorate
