"""`--resolution` against every model and preset: each registered model, with each of its bundled
presets (configs/MODEL-DATASET.yaml; the model's defaults on a dataset it takes where it has
none), builds and trains one step at every side from 16 to 64, or refuses the side with a
message that says why and what to do. No preset setting may break the flag.

What the tests shrink to stay fast: widths and latent sizes only (the `SMALL` overrides), the
batch (2) and the synthetic sets (`data.size`). Nothing that depends on the resolution is
overridden (`RESOLUTION_KEYS`, checked below): the presets' attention sides, residual blocks,
PatchGAN depths, width rules and growth schedules are what these tests are for. ProGAN trains
its step fully grown (`_grown_step`), where its networks work at the data's side.

The refusals expected here are listed in `REFUSED` with their reason, so a model that starts to
refuse a side it took fails, and one that starts to take a side it refused does too.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pytest
import torch

import gankit
from gankit.data.base import DataInfo
from gankit.data.standard import STANDARD_SETS
from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.models.progan import ProGAN
from gankit.models.sagan import SAGAN
from gankit.training.config import RunConfig, preset, resolve_run_config
from gankit.training.trainer import Trainer

RESOLUTIONS = (16, 32, 64)
CONFIGS = Path(gankit.__file__).parent / "configs"
BATCH = 2

# a dataset each model takes, for the models without a bundled preset (none today; a new model
# without a preset is covered through this, and test_every_model_is_covered asks for an entry)
DEFAULT_DATA = {
    "gan": "digits",
    "cgan": "digits",
    "dcgan": "digits",
    "lsgan": "digits",
    "wgan": "digits",
    "wgan-gp": "digits",
    "infogan": "digits",
    "cogan": "digits-negative",
    "cyclegan": "digits-negative",
    "discogan": "digits-negative",
    "pix2pix": "photos-gray2color",
    "srgan": "photos-sr4",
    "progan": "digits",
    "stylegan": "digits",
    "sagan": "digits",
    "biggan": "digits",
    "gan-int-cls": "shapes",
    "stackgan": "shapes",
}

# a spec for each preset of a set that takes an argument (the preset applies to all of them)
SPEC_EXAMPLES = {"glyphs-pairs": "glyphs-pairs:sans>serif"}

# widths and latent sizes only (and WGAN's warm-up): none of these depends on the resolution
_ADVERSARIAL = (
    "model.g_channels=4",
    "model.d_channels=4",
    "model.max_channels=16",
    "model.g_hidden=[16]",
    "model.d_hidden=[16]",
    "model.z_dim=8",
)
_IMAGE2IMAGE = ("model.g_channels=4", "model.d_channels=4", "model.max_channels=16")
SMALL: dict[str, tuple[str, ...]] = {
    "gan": ("model.g_hidden=[16]", "model.d_hidden=[16]", "model.z_dim=8"),
    "cgan": ("model.g_hidden=[16]", "model.d_hidden=[16]", "model.z_dim=8"),
    "dcgan": _ADVERSARIAL,
    "lsgan": _ADVERSARIAL,
    # and no warm-up: its 100 critic updates at step 0 would make the one step a hundred
    "wgan": (*_ADVERSARIAL, "model.warmup_critic=0"),
    "wgan-gp": _ADVERSARIAL,
    "infogan": ("model.channels=4", "model.g_fc=16", "model.q_hidden=8", "model.z_dim=4"),
    "cogan": ("model.g_channels=4", "model.d_channels=[4, 8]", "model.d_hidden=16"),
    "cyclegan": _IMAGE2IMAGE,
    "discogan": _IMAGE2IMAGE,
    "pix2pix": _IMAGE2IMAGE,
    "srgan": ("model.channels=4", "model.d_channels=4", "model.d_dense=16"),
    "progan": ("model.z_dim=8", "model.fmap_max=16"),
    "stylegan": (
        "model.z_dim=8",
        "model.w_dim=8",
        "model.mapping_layers=2",
        "model.channel_max=16",
    ),
    # the presets' widths are already the narrowest that attend at R/2 (D's 8 channels there);
    # BigGAN's z_dim is left alone: its hierarchical chunks depend on the resolution
    "sagan": (),
    "biggan": (),
    "gan-int-cls": (
        "model.g_channels=4",
        "model.d_channels=4",
        "model.max_channels=16",
        "model.z_dim=4",
        "model.text_dim=8",
    ),
    "stackgan": (
        "model.g_channels=4",
        "model.g2_channels=8",
        "model.d_channels=4",
        "model.max_channels=16",
        "model.z_dim=4",
        "model.c_dim=4",
        "model.text_dim=8",
    ),
}
# settings that depend on the resolution or scale with it (attention sides, CycleGAN's blocks,
# PatchGAN depths, ProGAN's schedule, the width rules per side, the styles truncation reaches):
# never overridden here
RESOLUTION_KEYS = {
    "attention_resolution",
    "blocks",
    "d_layers",
    "phase_images",
    "channel_base",
    "fmap_base",
    "truncation_cutoff",
}
# StackGAN's stage 2 (the README's second step: the preset with model.stage=2 and the Stage-I
# run), trained on a Stage-I run at a quarter of the side (made by the `stage_one` fixture)
STAGE_TWO = "shapes/stage-2"

# (model, dataset, resolution) -> what the refusal must say. A regression that newly refuses a
# side fails (it is not listed), and so does one that newly accepts a listed side.
REFUSED: dict[tuple[str, str, int], str] = {
    # Stage-II draws at 4× its Stage-I, whose smallest side is 8: nothing below 32
    ("stackgan", STAGE_TWO, 16): re.escape(
        "stackgan stage 2 draws at 4× its Stage-I: give --resolution 64 for a 16×16 Stage-I "
        "(needs a power of two of at least 32, got 16)"
    ),
}


def _presets() -> list[tuple[str, str]]:
    """(model, dataset) of every bundled preset, and (model, a dataset it takes) for every
    model without one."""
    found: dict[str, list[str]] = {}
    for model, dataset in _bundled():
        if dataset not in STANDARD_SETS:  # files on disk, not in CI: see the test below
            found.setdefault(model, []).append(dataset)
    return [
        (model, dataset)
        for model in MODELS.names()
        for dataset in found.get(model, [DEFAULT_DATA[model]])
    ]


def _bundled() -> list[tuple[str, str]]:
    """(model, dataset) of every bundled preset file."""
    names = sorted(MODELS.names(), key=len, reverse=True)  # "wgan-gp-digits" is wgan-gp's
    out = []
    for path in sorted(CONFIGS.glob("*.yaml")):
        model = next(n for n in names if path.stem.startswith(f"{n}-"))
        out.append((model, path.stem[len(model) + 1 :]))
    return out


PRESETS = _presets()


@pytest.mark.parametrize(
    ("model", "dataset"), [(m, d) for m, d in _bundled() if d in STANDARD_SETS], ids=str
)
def test_standard_set_presets_are_their_digits_jobs(model: str, dataset: str) -> None:
    """The presets of the standard sets (read from files the tests do not have) set exactly
    what their digits presets set, so the matrix below covers them through those."""
    assert preset(model, dataset) == preset(model, "digits")


CASES = [(m, d, r) for m, d in [*PRESETS, ("stackgan", STAGE_TWO)] for r in RESOLUTIONS]


@pytest.fixture(scope="module")
def stage_one(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Stage-I StackGAN runs (one step) at 8 and 16, for Stage-II at 32 and 64."""
    runs = {}
    for side in (8, 16):
        run = tmp_path_factory.mktemp(f"stage1-{side}")
        Trainer(_config("stackgan", "shapes", side), run_dir=run).fit()
        runs[side] = run
    return runs


def _config(model: str, dataset: str, resolution: int, *sets: str) -> RunConfig:
    flags = {
        "data": {"resolution": resolution, "size": 8},  # size: synthetic sets only
        "train": {
            "steps": 1,
            "batch_size": BATCH,
            "progress": False,
            "samples": 2,
            "sample_every": 0,
            "checkpoint_every": 0,
            "log_every": 1,
        },
    }
    spec = SPEC_EXAMPLES.get(dataset, dataset)
    return resolve_run_config(model, spec, flags=flags, sets=[*SMALL[model], *sets])


def _grown_step(trainer: Trainer) -> int:
    """The first step at which the model is at its full size: ProGAN grows from 4×4 by its
    preset's schedule, so its networks at the data's side run only once fully grown."""
    model = trainer.model
    if isinstance(model, ProGAN) and model.config.phase_images:
        images = 2 * model.levels * model.config.phase_images
        return math.ceil(images / trainer.config.train.batch_size)
    return 0


def test_every_model_is_covered() -> None:
    assert set(SMALL) == set(MODELS.names()) == set(DEFAULT_DATA)
    overridden = {s.split("=")[0].removeprefix("model.") for sets in SMALL.values() for s in sets}
    assert not overridden & RESOLUTION_KEYS


@pytest.mark.parametrize(("model", "dataset", "resolution"), CASES, ids=str)
def test_preset_trains_one_step_at_the_resolution_or_refuses_it_saying_why(
    model: str, dataset: str, resolution: int, request: pytest.FixtureRequest
) -> None:
    sets: list[str] = []
    if dataset == STAGE_TWO:
        dataset, sets = "shapes", ["model.stage=2"]
        if resolution >= 32:  # below it the side is refused before the Stage-I run is read
            run = request.getfixturevalue("stage_one")[resolution // 4]
            sets.append(f"model.stage1={run}")
    key = (model, STAGE_TWO if sets else dataset, resolution)
    cfg = _config(model, dataset, resolution, *sets)
    try:
        trainer = Trainer(cfg, write=False)
    except GankitError as err:
        assert key in REFUSED, f"{model} on {dataset} refuses --resolution {resolution}: {err}"
        assert re.search(REFUSED[key], str(err)), str(err)
        return
    assert key not in REFUSED, f"{model} on {dataset} now takes --resolution {resolution}"
    info = trainer.model.info
    assert info.resolution in (resolution, None)  # None: points, which have no side
    logs = trainer.train_step(_grown_step(trainer))
    assert logs and all(torch.isfinite(v).all() for v in logs.values())
    if isinstance(trainer.model, SAGAN):  # the presets' R/2 exists at every side
        assert trainer.model.attention_side == resolution // 2
        assert trainer.model.G.attention is not None


# ---------------------------------------------------------------- refused before any data
@pytest.mark.parametrize("model", MODELS.names())
def test_a_side_the_model_cannot_take_is_refused_before_the_data_is_built(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3001 fits no model with a rule (a power of two, a multiple of 4); CoGAN takes any side
    from 16 and is asked for 8; the MLP models (gan, cgan) flatten images of any side."""
    import gankit.training.trainer as trainer_module

    def no_data(*args, **kwargs):
        raise AssertionError("the dataset was built")

    monkeypatch.setattr(trainer_module, "build_dataset", no_data)
    dataset = next(d for m, d in PRESETS if m == model)
    side = 8 if model == "cogan" else 3001
    cfg = _config(model, dataset, side)
    if model in ("gan", "cgan"):
        with pytest.raises(AssertionError, match="the dataset was built"):
            Trainer(cfg, write=False)
        return
    with pytest.raises(GankitError, match=rf"{re.escape(model)}.*{side}") as err:
        Trainer(cfg, write=False)
    assert "use --resolution" in str(err.value)


# ---------------------------------------------------------------- beyond 64
@pytest.mark.parametrize("model", ["progan", "stylegan"])
def test_narrow_presets_build_at_the_models_own_default_side(model: str) -> None:
    """The digits presets' width rules (fmap_base / channel_base 256) fall below one channel
    above 512; widths are floored at 1 (StyleGAN2's fmap_min), so `--resolution 1024`, the
    papers' side, still builds (on the meta device here: shapes only, no memory)."""
    cfg = resolve_run_config(model, "digits")
    cfg.model_cls.check_resolution(cfg.model, 1024)
    info = DataInfo("digits", "image", (1, 1024, 1024), num_classes=10)
    with torch.device("meta"):
        net = cfg.model_cls(cfg.model, info)
        grown = {"level": net.levels} if isinstance(net, ProGAN) else {}  # (meta: no .item())
        assert net.generate(net.sample_latent(2), **grown).shape == (2, 1, 1024, 1024)
    assert min(p.shape[0] for p in net.G.parameters() if p.dim() == 4) == 1


@pytest.mark.parametrize("model", ["sagan", "biggan"])
def test_sides_beyond_the_authors_width_tables_are_refused(model: str) -> None:
    cfg = resolve_run_config(model, "digits")
    cfg.model_cls.check_resolution(cfg.model, 512)
    with pytest.raises(GankitError, match=rf"{model}'s networks follow the authors' width tables"):
        cfg.model_cls.check_resolution(cfg.model, 1024)


# ---------------------------------------------------------------- SAGAN's and BigGAN's attention
def _attention(model: str, resolution: int, *sets: str) -> int:
    """Where `model` on the digits preset with `sets` attends at `resolution` (its checks run
    first; built on the meta device: shapes only)."""
    cfg = _config(model, "digits", resolution, *sets)
    cfg.model_cls.check_resolution(cfg.model, resolution)
    info = DataInfo("digits", "image", (1, resolution, resolution), num_classes=10)
    with torch.device("meta"):
        return cfg.model_cls(cfg.model, info).attention_side


def test_a_relative_attention_side_moves_to_the_nearest_that_exists_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # SAGAN's default, R/4 (the paper code's 32 at 128), is 4×4 at 16: G and D attend at 8,
    # and the run says so once
    with caplog.at_level(logging.INFO, logger="gankit"):
        cfg = _config("sagan", "digits", 16, "model.attention_resolution=R/4")
        assert Trainer(cfg, write=False).model.attention_side == 8
    notes = [r.getMessage() for r in caplog.records if "attends at" in r.getMessage()]
    assert notes == [
        "sagan attends at 8×8: model.attention_resolution=R/4 is 4×4 at 16×16, where G and D "
        "cannot attend (they can at 8); this is the nearest side that can"
    ]
    assert _attention("sagan", 64, "model.attention_resolution=R/4") == 16  # R/4 exists there
    assert _attention("biggan", 32) == 16  # BigGAN's default, R/2 (64 at 128)


def test_fitting_also_skips_sides_too_narrow_to_attend() -> None:
    from gankit.models.sagan import SAGANConfig, attention_side

    # the preset's widths at 512: G has 4 channels at 256 (keys need 8), so R/2 lands on 128
    cfg = SAGANConfig(g_channels=4, d_channels=8, attention_resolution="R/2")
    side, note = attention_side(cfg, 512, "sagan")
    assert side == 128 and note is not None and "R/2 is 256×256" in note
    assert attention_side(cfg, 128, "sagan") == (64, None)
    with pytest.raises(GankitError, match=r"sagan can attend nowhere at 16×16.*widen them"):
        attention_side(SAGANConfig(d_channels=4, attention_resolution="R/2"), 16, "sagan")


def test_an_explicit_attention_side_is_taken_as_asked() -> None:
    """A number is the user's exact choice: one that does not exist at the side is an error
    (a relative form follows the resolution instead), and one that does is kept."""
    with pytest.raises(GankitError) as err:
        _attention("sagan", 16, "model.attention_resolution=16")
    assert str(err.value) == (
        "sagan: model.attention_resolution must be one of [8] at 16×16 (or 0 for none, or a "
        "fraction of the resolution such as R/2, which follows --resolution), got 16"
    )
    with pytest.raises(GankitError, match=r"biggan's self-attention at 32×32 needs at least 8"):
        _attention("biggan", 64, "model.attention_resolution=32", "model.d_channels=4")
    assert _attention("sagan", 64, "model.attention_resolution=8") == 8


@pytest.mark.parametrize("value", ["R/3", "R/1", "half", "R/0", -1])
def test_a_bad_attention_setting_is_a_config_error(value) -> None:
    with pytest.raises(GankitError, match=r"model\.attention_resolution takes a fraction"):
        resolve_run_config("sagan", "digits", sets=[f"model.attention_resolution={value}"])


def test_saved_configs_with_a_numeric_side_still_load_and_build() -> None:
    """Runs saved before relative sides hold `attention_resolution: 16` at 32×32."""
    tree = _config("sagan", "digits", 32).to_dict()
    tree["model"]["attention_resolution"] = 16
    cfg = RunConfig.from_dict(tree)
    assert cfg.model.attention_resolution == 16
    info = DataInfo("digits", "image", (1, 32, 32), num_classes=10)
    cfg.model_cls.check_data(cfg.model, info)
    with torch.device("meta"):
        assert cfg.model_cls(cfg.model, info).attention_side == 16
