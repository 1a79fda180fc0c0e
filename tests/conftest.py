"""Shared test helpers: tiny, fast configurations of every registered model."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from gankit.training.config import RunConfig, resolve_run_config


@dataclass(frozen=True)
class Tiny:
    """A small, fast configuration of one model on one dataset."""

    data: str
    sets: tuple[str, ...] = ()
    resolution: int | None = None
    batch_size: int = 16
    extra: dict = field(default_factory=dict)


# Every registered model needs an entry here (test_models.py checks): the parametrised model tests
# run on these.
TINY: dict[str, Tiny] = {
    "gan": Tiny("ring8", ("model.g_hidden=[32, 32]", "model.d_hidden=[32, 32]", "model.z_dim=4")),
    "dcgan": Tiny("digits", ("model.g_channels=8", "model.d_channels=8"), resolution=16),
    "wgan-gp": Tiny(
        "ring8", ("model.mlp_width=32", "model.mlp_layers=2", "model.z_dim=4", "model.n_critic=2")
    ),
}

# Image variants of models that also run on points (conv or flattened-image paths).
TINY_IMAGES: dict[str, Tiny] = {
    "gan": Tiny("digits", ("model.g_hidden=[32]", "model.d_hidden=[32]"), resolution=8),
    "wgan-gp": Tiny(
        "digits",
        ("model.g_channels=8", "model.d_channels=8", "model.n_critic=2"),
        resolution=16,
    ),
}


def tiny_config(model: str, tiny: Tiny | None = None, *, steps: int = 4, **train) -> RunConfig:
    """The tiny run config of `model`, with `train` overrides (all writes rare by default)."""
    t = tiny or TINY[model]
    flags = {
        "train": {
            "steps": steps,
            "batch_size": t.batch_size,
            "progress": False,
            "log_every": 1,
            "sample_every": 0,
            "checkpoint_every": 0,
            "samples": 8,
            **train,
        }
    }
    if t.resolution:
        flags["data"] = {"resolution": t.resolution}
    if t.data in ("ring8", "grid25"):
        flags.setdefault("data", {})["size"] = 2048
    return resolve_run_config(model, t.data, flags=flags, sets=list(t.sets))


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # the same thread count in every test keeps CPU reductions reproducible
    torch.set_num_threads(2)
    yield
