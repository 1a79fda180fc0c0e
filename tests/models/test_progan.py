"""ProGAN (Karras et al. 2018): the growth schedule, the continuity of a fade-in, sampling at every
level, resuming in the middle of a fade, and the paper's parameter counts at 1024×1024."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models.progan import ProGAN, ProGANConfig, grow_schedule, progress_at
from gankit.training.checkpoint import load_checkpoint
from gankit.training.trainer import Trainer

from ..conftest import Tiny, tiny_config


def _tiny_model(resolution: int = 16, seed: int = 0, **cfg) -> ProGAN:
    torch.manual_seed(seed)
    config = ProGANConfig(z_dim=8, fmap_base=32, fmap_max=8, **cfg)
    return ProGAN(config, DataInfo("digits", "image", (1, resolution, resolution)))


# ---------------------------------------------------------------------------- the schedule
def test_alpha_rises_linearly_through_a_fade_and_is_one_when_stable():
    p = 100
    assert [progress_at(i, 3, p) for i in (0, 50, 99)] == [(0, 1.0)] * 3  # 4×4
    for level in (1, 2, 3):
        fade = (2 * level - 1) * p
        for i in range(p):
            assert progress_at(fade + i, 3, p) == (level, pytest.approx(i / p))
            assert progress_at(fade + p + i, 3, p) == (level, 1.0)  # its stabilisation
    assert progress_at(7 * p, 3, p) == progress_at(10**9, 3, p) == (3, 1.0)  # grown: stays
    assert progress_at(0, 3, 0) == (3, 1.0)  # phase_images 0: no growing


def test_set_progress_sets_the_buffers():
    model = _tiny_model(phase_images=10)
    assert model.state == (2, 1.0)  # untold: the grown network
    model.set_progress(35)  # phase 3: the fade-in of level 2, halfway
    assert model.state == (2, 0.5)
    state = model.state_dict()
    assert int(state["level"]) == 2 and float(state["alpha"]) == 0.5


def test_grow_schedule_lists_the_phases_in_order():
    config = ProGANConfig(phase_images=100)
    rows = grow_schedule(config, 32, batch_size=10, steps=100)
    assert [(r.resolution, r.kind) for r in rows] == [
        (4, "stable"),
        (8, "fade"),
        (8, "stable"),
        (16, "fade"),
        (16, "stable"),
        (32, "fade"),
        (32, "stable"),
    ]
    assert [(r.first_image, r.last_image) for r in rows][:2] == [(0, 99), (100, 199)]
    assert [(r.first_step, r.last_step) for r in rows][:2] == [(0, 9), (10, 19)]
    assert (rows[-1].first_image, rows[-1].last_image, rows[-1].last_step) == (600, 999, 99)
    # every step lands in its row's phase, as set_progress sees it
    for r in rows:
        for step in range(r.first_step, r.last_step + 1):
            level, alpha = progress_at(step * 10, 3, 100)
            assert 4 * 2**level == r.resolution
            assert (alpha < 1) == (r.kind == "fade") or step * 10 == r.first_image
    # a short run stops mid-schedule; without growing there is one phase
    short = grow_schedule(config, 32, batch_size=16, steps=10)
    assert [(r.resolution, r.kind, r.last_image, r.last_step) for r in short] == [
        (4, "stable", 99, 6),
        (8, "fade", 159, 9),
    ]
    flat = grow_schedule(ProGANConfig(phase_images=0), 32, batch_size=16, steps=10)
    assert [(r.resolution, r.kind, r.first_step, r.last_step) for r in flat] == [
        (32, "stable", 0, 9)
    ]


# ---------------------------------------------------------------------------- the networks
def test_generate_returns_full_resolution_images_at_every_level():
    model = _tiny_model(phase_images=8).eval()
    z = model.sample_latent(4)
    for images in range(0, 60, 4):
        model.set_progress(images)
        level, _ = model.state
        x = model.generate(z)
        assert x.shape == (4, 1, 16, 16)
        assert x.min() >= -1 and x.max() <= 1
        assert model.generate_native(z).shape == (4, 1, 4 * 2**level, 4 * 2**level)
    for level in range(3):
        x = model.generate(z, level=level)
        assert x.shape == (4, 1, 16, 16)
        native = model.generate_native(z, level=level)
        factor = 16 // native.shape[-1]
        torch.testing.assert_close(x, F.interpolate(native, scale_factor=factor))
    with pytest.raises(GankitError, match=r"level must be in 0\.\.2"):
        model.generate(z, level=3)


@pytest.mark.parametrize("level", [1, 2])
def test_a_fade_in_starts_where_the_previous_level_left_off(level):
    model = _tiny_model(seed=level)
    z, x = torch.randn(8, 8), torch.rand(8, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        previous = model.G(z, level - 1)  # [N, 1, r/2, r/2]
        torch.testing.assert_close(
            model.G(z, level, 0.0), F.interpolate(previous, scale_factor=2), rtol=0, atol=1e-6
        )
        real, low = model.reals_at(x, level, 0.0), model.reals_at(x, level - 1, 1.0)
        torch.testing.assert_close(real, F.interpolate(low, scale_factor=2))
        torch.testing.assert_close(model.D(real, level, 0.0), model.D(low, level - 1))
        # linear in α in between, ending at the grown network's own output
        ends = model.G(z, level, 0.0), model.G(z, level, 1.0)
        torch.testing.assert_close(model.G(z, level, 0.25), torch.lerp(*ends, 0.25))
        assert model.D(model.reals_at(x, level, 1.0), level).shape == (8,)


def test_full_scale_parameter_counts_match_the_paper():
    """Table 2 of the paper (CelebA-HQ, 1024×1024): 23.1M parameters in G and in D."""
    with torch.device("meta"):
        model = ProGAN(ProGANConfig(), DataInfo("celeba-hq", "image", (3, 1024, 1024)))
    g = sum(p.numel() for p in model.G.parameters())
    d = sum(p.numel() for p in model.D.parameters())
    assert g == pytest.approx(23.1e6, rel=0.02)
    assert d == pytest.approx(23.1e6, rel=0.02)
    # the official widths: 512 up to 32×32, then halving to 16 at 1024×1024
    widths = [rgb.in_channels for rgb in model.G.to_rgb]
    assert widths == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert model.D.blocks[0].dense0.out_features == 512


# ---------------------------------------------------------------------------- resuming
# 48 images per phase in batches of 16: steps 3, 4, 5 fade 8×8 in (α = 0, 1/3, 2/3)
_FADE = Tiny(
    "digits",
    ("model.z_dim=16", "model.fmap_base=64", "model.fmap_max=16", "model.phase_images=48"),
    resolution=8,
)


def test_resuming_in_the_middle_of_a_fade_restores_alpha_and_is_bit_exact(tmp_path):
    opts = {"checkpoint_every": 4, "keep_checkpoints": 0, "ema": True}
    Trainer(tiny_config("progan", _FADE, steps=8, **opts), run_dir=tmp_path / "straight").fit()
    Trainer(tiny_config("progan", _FADE, steps=4, **opts), run_dir=tmp_path / "resumed").fit()
    handle = gankit.load(tmp_path / "resumed")
    assert handle.step == 4 and handle.model.state == (1, pytest.approx(1 / 3))
    tensors, meta, _ = load_checkpoint(tmp_path / "resumed")
    trainer = Trainer(meta_config(meta, steps=8), checkpoint=(tensors, meta), write=False)
    assert trainer.model.state == (1, pytest.approx(1 / 3))
    gankit.train(resume=tmp_path / "resumed", steps=8)
    straight, _, _ = load_checkpoint(tmp_path / "straight")
    resumed, meta, _ = load_checkpoint(tmp_path / "resumed")
    assert meta["step"] == 8
    assert sorted(straight) == sorted(resumed)
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), f"{key} differs"
    assert float(resumed["model.alpha"]) == 1.0 and int(resumed["model.level"]) == 1


def meta_config(meta: dict, *, steps: int):
    """The run config a checkpoint was saved with, lengthened to `steps`."""
    from gankit.training.config import RunConfig

    config = RunConfig.from_dict(meta["config"])
    config.train.steps = steps
    return config


def test_a_run_too_short_to_finish_growing_is_told_so() -> None:
    from gankit.data.base import DataInfo
    from gankit.models.progan import ProGAN, ProGANConfig

    config, info = ProGANConfig(phase_images=32), DataInfo("d", "image", (1, 16, 16))
    # 4×4 for images 0-31, 8×8 fade and stable, 16×16 fade (96-127), stable from step 8
    for steps in (4, 5, 8):
        note = ProGAN.schedule_note(config, info, steps, 16)
        assert note and "before 16×16 is stable; 9 steps or more reach it" in note
    assert ProGAN.schedule_note(config, info, 9, 16) is None
    assert ProGAN.schedule_note(ProGANConfig(phase_images=0), info, 1, 16) is None


def test_a_fade_in_trains_under_bf16_autocast() -> None:
    """Found by benchmarks/gpu_check.py on an H200: under CUDA's autocast the upsampled old
    branch stays fp32 while the new one is bf16 or fp16, and `lerp` refused the pair. CPU
    autocast gives both branches one dtype, so the mix itself is checked on `fade`."""
    from gankit.models.progan import fade

    old, new = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4, dtype=torch.bfloat16)
    with pytest.raises(RuntimeError):
        torch.lerp(old, new, 0.25)  # what the fade-in did
    mixed = fade(old, new, 0.25)
    assert mixed.dtype == torch.bfloat16 and torch.all(mixed == 0.75)
    config = tiny_config("progan", _FADE, steps=6, precision="bf16")
    result = Trainer(config, write=False).fit()
    assert result.model.state[0] == 1  # reached the 8×8 level, through its fade-in
    assert all(torch.isfinite(torch.tensor(v)) for v in result.logs.values())
