"""Shared test helpers: tiny, fast configurations of every registered model."""

from __future__ import annotations

import os
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
_SMALL_MLP = ("model.g_hidden=[32, 32]", "model.d_hidden=[32, 32]", "model.z_dim=4")
_SMALL_CONV = ("model.g_channels=8", "model.d_channels=8")

_SMALL_STYLE = (
    "model.z_dim=8",
    "model.w_dim=8",
    "model.mapping_layers=2",
    "model.channel_base=64",
    "model.channel_max=16",
)

TINY: dict[str, Tiny] = {
    "gan": Tiny("ring8", _SMALL_MLP),
    "cgan": Tiny("digits", ("model.g_hidden=[32]", "model.d_hidden=[32]"), resolution=8),
    "dcgan": Tiny("digits", _SMALL_CONV, resolution=16),
    "lsgan": Tiny("ring8", _SMALL_MLP),
    "wgan": Tiny("ring8", (*_SMALL_MLP, "model.n_critic=2", "model.warmup_critic=3")),
    "wgan-gp": Tiny("ring8", (*_SMALL_MLP, "model.n_critic=2")),
    "pix2pix": Tiny(
        "photos-gray2color",
        ("model.g_channels=4", "model.d_channels=4", "model.max_channels=16"),
        resolution=16,
        batch_size=2,
    ),
    "cyclegan": Tiny(
        "digits-negative",
        (
            "model.g_channels=4",
            "model.d_channels=4",
            "model.blocks=1",
            "model.pool_size=4",
            "model.decay_start=1.0",  # a constant rate: resume tests lengthen the run
        ),
        resolution=16,
        batch_size=2,
    ),
    "discogan": Tiny(
        "digits-negative",
        ("model.g_channels=4", "model.d_channels=4", "model.curriculum=3"),
        resolution=16,
        batch_size=8,
    ),
    "cogan": Tiny(
        "digits-negative",
        (
            "model.g_channels=8",
            "model.d_channels=[8, 16]",
            "model.d_hidden=32",
            "model.z_dim=16",
        ),
        resolution=16,
    ),
    "srgan": Tiny(
        "photos-sr4",
        ("model.channels=8", "model.blocks=2", "model.d_channels=8", "model.d_dense=16"),
        resolution=32,
        batch_size=4,
    ),
    "infogan": Tiny(
        "digits",
        ("model.channels=8", "model.g_fc=32", "model.q_hidden=16", "model.z_dim=8"),
        resolution=8,
    ),
    # 32 images per phase (2 steps of 16): 4-step runs show 4×4, the fade-in to 8×8 (α 0, 0.5)
    # and 8×8 stable; the resume test (3 + 3 steps) resumes mid-fade
    "progan": Tiny(
        "digits",
        ("model.z_dim=16", "model.fmap_base=64", "model.fmap_max=16", "model.phase_images=32"),
        resolution=8,
    ),
    # no self-attention here: its γ starts at 0, so its convolutions get exactly zero gradient
    # on a first update, which the one-update test forbids; test_sagan_biggan.py trains,
    # saves and resumes both models with attention on
    "sagan": Tiny(
        "digits",
        (
            "model.g_channels=4",
            "model.d_channels=4",
            "model.z_dim=16",
            "model.attention_resolution=0",
        ),
        resolution=16,
    ),
    "biggan": Tiny(
        "digits",
        (
            "model.g_channels=4",
            "model.d_channels=4",
            "model.z_dim=15",
            "model.shared_dim=8",
            "model.attention_resolution=0",
        ),
        resolution=16,
    ),
    "stylegan": Tiny("digits", _SMALL_STYLE, resolution=16),
    "gan-int-cls": Tiny(
        "shapes",
        ("model.g_channels=8", "model.d_channels=8", "model.z_dim=8", "model.text_dim=16"),
        resolution=16,
    ),
    "stackgan": Tiny(
        "shapes",
        (
            "model.g_channels=4",
            "model.d_channels=8",
            "model.z_dim=8",
            "model.c_dim=8",
            "model.text_dim=16",
        ),
        resolution=16,
    ),
}

# More variants the parametrised model tests run: the image paths of models that also run on
# points, and the shared conditioning on every architecture and discriminator kind.
VARIANTS: list[tuple[str, Tiny]] = [
    ("gan", Tiny("digits", ("model.g_hidden=[32]", "model.d_hidden=[32]"), resolution=8)),
    ("lsgan", Tiny("digits", _SMALL_CONV, resolution=16)),
    (
        "wgan",
        Tiny("digits", (*_SMALL_CONV, "model.n_critic=2", "model.warmup_critic=0"), resolution=16),
    ),
    ("wgan-gp", Tiny("digits", (*_SMALL_CONV, "model.n_critic=2"), resolution=16)),
    ("cgan", Tiny("grid25", (*_SMALL_MLP, "model.projection=true", "model.d_act=leaky_relu"))),
    (
        "cgan",
        Tiny("digits", (*_SMALL_CONV, "model.arch=dcgan", "model.projection=true"), resolution=16),
    ),
    (
        "dcgan",
        Tiny(
            "digits", (*_SMALL_CONV, "model.conditional=true", "model.label_embed=6"), resolution=16
        ),
    ),
    ("wgan-gp", Tiny("ring8", (*_SMALL_MLP, "model.conditional=true", "model.n_critic=1"))),
    ("dcgan", Tiny("digits", (*_SMALL_CONV, "model.pack=2"), resolution=16)),
    ("wgan-gp", Tiny("ring8", (*_SMALL_MLP, "model.pack=4", "model.n_critic=1"))),
    # SRResNet: SRGAN's generator alone, trained on pixel MSE (the paper's middle row)
    (
        "srgan",
        Tiny(
            "photos-sr4",
            (
                "model.channels=8",
                "model.blocks=2",
                "model.content=mse",
                "model.adversarial_weight=0",
            ),
            resolution=32,
            batch_size=4,
        ),
    ),
    # pix2pix on the other paired photo task (1-channel edges in, RGB out)
    (
        "pix2pix",
        Tiny(
            "photos-edges2photo",
            ("model.g_channels=4", "model.d_channels=4", "model.max_channels=16"),
            resolution=16,
            batch_size=2,
        ),
    ),
    # StyleGAN2: modulated convolutions, skip G, residual D, path-length phase
    ("stylegan", Tiny("digits", (*_SMALL_STYLE, "model.version=2"), resolution=16)),
]


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
    if t.data == "shapes":
        flags.setdefault("data", {})["size"] = 200  # scenes, five captions each
    return resolve_run_config(model, t.data, flags=flags, sets=list(t.sets))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The tests' own cache and data folders: features cached by one test run never leak into
    the user's ~/.cache, and a developer's GANKIT_* settings do not change what tests see."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        for name in ("GANKIT_DATA", "GANKIT_INCEPTION_WEIGHTS"):
            mp.delenv(name, raising=False)
        yield


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # the same thread count in every test keeps CPU reductions reproducible (GANKIT_TEST_THREADS
    # lowers it when the tests share the machine with other work)
    torch.set_num_threads(int(os.environ.get("GANKIT_TEST_THREADS", "2")))
    yield
