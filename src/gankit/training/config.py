"""The run config (model + data + train) and how it is resolved from defaults, presets and flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any, Literal

from gankit.augment.diffaugment import parse_policy
from gankit.config import (
    NonNegInt,
    PosFloat,
    PosInt,
    Range,
    UnitFloat,
    check_fields,
    dump_yaml,
    from_dict,
    load_yaml,
    merge,
    parse_override,
    set_path,
    to_dict,
)
from gankit.data.base import DataConfig, split_spec
from gankit.errors import GankitError
from gankit.models.base import MODELS, GANModel, ModelConfig
from gankit.training.distributed import parse_device


@dataclass
class TrainConfig:
    """How to train.

    Args:
        steps: generator updates (one step runs every phase once; D may update n_critic times).
        batch_size: global batch size (split evenly across processes under torchrun).
        seed: seeds initialisation, noise and data order; the same seed gives the same run.
        device: `auto` (CUDA, then MPS, then CPU), or a torch device string.
        precision: `fp32`, `bf16` (autocast) or `fp16` (autocast + gradient scaling; CUDA only).
        ema: keep an exponential moving average of G's weights; None: the model's default.
        ema_decay: EMA decay per step; `ema_start`: steps before which the EMA copies G.
        log_every: steps between lines of metrics.jsonl (and the progress bar's losses).
        sample_every: steps between fixed-z sample grids in samples/ (0: only at the end).
        samples: number of fixed-z samples in each grid.
        checkpoint_every: steps between checkpoints (0: only at the end).
        keep_checkpoints: newest checkpoints kept on disk (0: all).
        tensorboard: also log to TensorBoard (needs the `tensorboard` extra).
        progress: show a progress bar.
        channels_last: keep image models and batches in channels-last memory layout on CPU and
            CUDA; null: the model's default, on where it pays (1.1× on the README's CPU DCGAN,
            1.4× on SAGAN; off for StyleGAN2 and CycleGAN, which it does not speed up:
            benchmarks/results/channels-last.md).
        augment: differentiable augmentation of everything the discriminator sees (image
            models; see `gankit.augment`): `none`, `diffaugment` (Zhao et al. 2020) or `ada`
            (Karras et al. 2020).
        diffaugment: DiffAugment's policy, a comma-separated list of color, translation, cutout.
        ada_pipe: ADA's transforms: b (pixel blitting), g (geometric), c (colour), or a mix.
        ada_p: ADA's probability p at the start of a run.
        ada_target: the r_t that ADA steers toward (0.6); null keeps p at `ada_p`.
        ada_interval: steps between adjustments of p (4).
        ada_kimg: thousands of images over which p can move by 1 (500, the paper's).
        reuse_fake: train G on the samples D was just trained on (D's step on `fake.detach()`,
            then G's on the same `fake`), running G once per step instead of twice, for the
            models that allow it (one D update per step); null: the model's default, on where
            the paper's code does it (dcgan, pix2pix). Same expected gradients;
            the runs differ in their random draws.
        compile: compile the model's networks with `torch.compile`, in place, so checkpoints
            keep their names (the first steps are slower while it compiles; on a CPU it needs a
            C++ compiler).
        threads: CPU threads for PyTorch's operators; 0 keeps PyTorch's default (one per
            core).
        init: a run (or checkpoint) whose weights (G, D and their EMA; not the optimisers')
            this run starts from; recorded as the checkpoint's path.
    """

    steps: PosInt = 10_000
    batch_size: PosInt = 64
    seed: NonNegInt = 0
    device: str = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    ema: bool | None = None
    ema_decay: Annotated[float, Range(0, 1, high_open=True)] = 0.999
    ema_start: NonNegInt = 0
    log_every: NonNegInt = 50
    sample_every: NonNegInt = 500
    samples: PosInt = 64
    checkpoint_every: NonNegInt = 1000
    keep_checkpoints: NonNegInt = 3
    tensorboard: bool = False
    progress: bool = True
    channels_last: bool | None = None
    augment: Literal["none", "diffaugment", "ada"] = "none"
    diffaugment: str = "color,translation,cutout"
    ada_pipe: Literal["b", "g", "c", "bg", "bc", "gc", "bgc"] = "bgc"
    ada_p: UnitFloat = 0.0
    ada_target: UnitFloat | None = 0.6
    ada_interval: PosInt = 4
    ada_kimg: PosFloat = 500.0
    reuse_fake: bool | None = None
    compile: bool = False
    threads: NonNegInt = 0
    init: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        parse_policy(self.diffaugment)
        parse_device(self.device)  # its spelling; whether this machine has it, at training


@dataclass
class RunConfig:
    """Everything needed to rebuild and continue a run."""

    model_name: str
    model: ModelConfig
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def model_cls(self) -> type[GANModel]:
        return MODELS.get(self.model_name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model_name, **to_dict(self.model)},
            "data": to_dict(self.data),
            "train": to_dict(self.train),
        }

    @classmethod
    def from_dict(cls, tree: dict[str, Any]) -> RunConfig:
        unknown = sorted(set(tree) - {"model", "data", "train"})
        if unknown:
            raise GankitError(f"unknown config section(s): {', '.join(unknown)}")
        model = tree.get("model") or {}
        if not isinstance(model, dict):
            raise GankitError(f"model must be a mapping of keys to values, got {model!r}")
        model = dict(model)
        name = model.pop("name", None)
        if not name:
            raise GankitError("the config names no model (model.name)")
        model_cls = MODELS.get(name)
        cfg = cls(
            model_name=name,
            model=from_dict(model_cls.Config, model, where="model."),
            data=from_dict(DataConfig, tree.get("data"), where="data."),
            train=from_dict(TrainConfig, tree.get("train"), where="train."),
        )
        return cfg

    def to_yaml(self) -> str:
        return dump_yaml(self.to_dict())


def preset(model: str, dataset: str) -> dict[str, Any]:
    """The bundled preset for this model × dataset (configs/MODEL-DATASET.yaml), or {}."""
    path = resources.files("gankit") / "configs" / f"{model}-{dataset}.yaml"
    if not path.is_file():
        return {}
    with resources.as_file(path) as p:
        return load_yaml(p)


def resolve_run_config(
    model: str,
    data: str,
    *,
    config_file: str | None = None,
    flags: dict[str, Any] | None = None,
    sets: Sequence[str] = (),
) -> RunConfig:
    """Resolve a run's config: defaults < model's training defaults < preset < `config_file` <
    `flags` (a nested dict, e.g. {"train": {"steps": 100}}) < `sets` ("a.b=value" strings)."""
    model_cls = MODELS.get(model)
    dataset, _ = split_spec(data)
    tree: dict[str, Any] = {"model": {"name": model}, "data": {"spec": data}}
    tree = merge(tree, {"train": dict(model_cls.train_defaults)})
    tree = merge(tree, preset(model, dataset))
    if config_file:
        tree = merge(tree, load_yaml(config_file))
    tree = merge(tree, flags or {})
    for text in sets:
        path, value = parse_override(text)
        set_path(tree, path, value)
    section = tree.get("model")
    if not isinstance(section, dict):
        raise GankitError(f"model must be a mapping of keys to values, got {section!r}")
    if section.get("name") != model:
        raise GankitError("model.name cannot be changed by a config file or --set")
    return RunConfig.from_dict(tree)
