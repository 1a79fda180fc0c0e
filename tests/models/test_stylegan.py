"""StyleGAN (v1) and StyleGAN2 (v2): full-scale sizes, truncation, style mixing, w_avg, and the
lazy R1 and path-length phases."""

from __future__ import annotations

import pytest
import torch

from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models.stylegan import StyleGAN, StyleGANConfig
from gankit.training.trainer import Trainer

from ..conftest import TINY, tiny_config

DIGITS = DataInfo("digits", "image", (1, 16, 16), num_classes=10)
SMALL = {"z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 64, "channel_max": 16}


def _model(version: int = 1, **over) -> StyleGAN:
    torch.manual_seed(0)
    cfg = StyleGANConfig(version=version, **{**SMALL, **over})
    StyleGAN.check_data(cfg, DIGITS)
    return StyleGAN(cfg, DIGITS)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- faithful at full scale
def test_full_scale_parameter_counts() -> None:
    """FFHQ 1024², the papers' widths, built on the meta device.

    - v1 G: 26.2M (StyleGAN §2: "26.2M" for the style-based generator vs 23.1M traditional);
      v1 D is ProGAN's: 23.1M (ProGAN Table 2's 1024² discriminator).
    - v2 config F: G 30,370,060 and D 29,012,513, the official stylegan2-ada-pytorch network
      summary at 1024² (its printed "Total" rows; with a 2-layer mapping its G reads
      28,794,124 = 30,370,060 − 6 × 262,656).
    """
    info = DataInfo("ffhq", "image", (3, 1024, 1024))
    expected = {1: (26.2e6, 23.1e6), 2: (30_370_060, 29_012_513)}
    for version, (g, d) in expected.items():
        with torch.device("meta"):
            model = StyleGAN(StyleGANConfig(version=version), info)
        assert model.num_ws == 18
        assert _count(model.G) == pytest.approx(g, rel=0.01)
        assert _count(model.D) == pytest.approx(d, rel=0.01)
        assert _count(model.G.mapping) == 8 * (512 * 512 + 512)


# ---------------------------------------------------------------- sampling API
def _with_noise_and_w_avg(model: StyleGAN) -> StyleGAN:
    """Make truncation meaningful: a non-zero w_avg and noise inputs that matter."""
    with torch.no_grad():
        model.G.w_avg.normal_()
        for name, p in model.G.named_parameters():
            if name.endswith("noise.weight"):
                p.fill_(0.5)
    return model.eval()


@pytest.mark.parametrize("version", [1, 2])
def test_truncation_zero_gives_the_average_image(version: int) -> None:
    model = _with_noise_and_w_avg(_model(version))
    z = torch.randn(5, 8)
    with torch.no_grad():
        images = model.generate(z, truncation=0.0)
        average = model.synthesize(model.G.w_avg.expand(1, model.num_ws, -1))
        untruncated = model.generate(z)
    torch.testing.assert_close(images, average.expand_as(images))
    assert images.std() > 0.01  # not trivially blank
    assert (untruncated - untruncated[:1]).abs().amax() > 0.01  # while z alone varies them
    torch.testing.assert_close(model.generate(z, truncation=1.0), untruncated)
    # ψ interpolates between the two in w space
    ws = model.style_latents(z, truncation=0.25)
    torch.testing.assert_close(ws, model.G.w_avg + 0.25 * (model.style_latents(z) - model.G.w_avg))


def test_truncation_cutoff_keeps_fine_styles() -> None:
    model = _with_noise_and_w_avg(_model(1, truncation_cutoff=2))
    z = torch.randn(3, 8)
    ws = model.style_latents(z, truncation=0.0)
    torch.testing.assert_close(ws[:, :2], model.G.w_avg.expand(3, 2, -1))
    torch.testing.assert_close(ws[:, 2:], model.style_latents(z)[:, 2:])
    assert _model(1).truncation_layers == 6  # v1's 8 layers, capped at 16²'s 6 styles
    assert _model(2).truncation_layers == 6


@pytest.mark.parametrize("version", [1, 2])
def test_style_mixing_grid(version: int) -> None:
    model = _with_noise_and_w_avg(_model(version))
    rows, cols = torch.randn(2, 8), torch.randn(3, 8)
    with torch.no_grad():
        grid = model.mix(rows, cols)
        assert grid.shape == (2, 3, 1, 16, 16)
        # identical row and column latents: the unmixed sample
        same = model.mix(cols, cols, crossover=3)
        plain = model.generate(cols)
        for i in range(3):
            torch.testing.assert_close(same[i, i], plain[i])
        # crossover 0: all styles from the column; num_ws: all from the row
        torch.testing.assert_close(model.mix(rows, cols, crossover=0)[1], plain)
        torch.testing.assert_close(model.mix(rows, cols, crossover=6)[:, 0], model.generate(rows))
        # the default split: coarse (4²–8², 4 styles) from the row, the rest from the column
        ws = torch.cat([model.style_latents(rows)[:1, :4], model.style_latents(cols)[2:, 4:]], 1)
        torch.testing.assert_close(grid[0, 2], model.synthesize(ws)[0])
    with pytest.raises(GankitError, match="crossover"):
        model.mix(rows, cols, crossover=7)


def test_sampling_noise_is_fixed_in_eval_mode() -> None:
    model = _with_noise_and_w_avg(_model(1))
    z = torch.randn(4, 8)
    with torch.no_grad():
        a, b = model.generate(z), model.generate(z)
        r1, r2 = model.generate(z, noise="random"), model.generate(z, noise="random")
    assert torch.equal(a, b)
    assert not torch.equal(r1, r2)
    assert a.min() >= -1 and a.max() <= 1
    assert model.sample(3, truncation=0.0).std(0).amax() < 1e-6  # sample's ψ is in w space


# ---------------------------------------------------------------- training
def test_w_avg_is_tracked_by_the_d_phase() -> None:
    model = _model(1).train()
    batch = {"x": torch.rand(8, 1, 16, 16) * 2 - 1}
    torch.manual_seed(3)
    model.loss("D", batch)
    torch.manual_seed(3)
    w = model.G.mapping(model.sample_latent(8))
    torch.testing.assert_close(model.G.w_avg, 0.005 * w.mean(0).detach())  # decay 0.995
    before = model.G.w_avg.clone()
    model.loss("G", batch)
    assert torch.equal(model.G.w_avg, before)
    trainer = Trainer(tiny_config("stylegan", steps=3), write=False)
    trainer.fit()
    assert trainer.model.G.w_avg.abs().sum() > 0


def test_r1_is_a_lazy_phase_with_the_scaled_penalty() -> None:
    model = _model(1, r1_gamma=3.0)
    phases = {p.name: p for p in model.phases()}
    assert list(phases) == ["G", "D", "R1"]  # v1: no path-length phase by default
    r1 = phases["R1"]
    assert [r1.runs_at(s) for s in (0, 1, 15, 16, 17, 32)] == [1, 0, 0, 1, 0, 1]
    # its parameters: D's weights (no bias enters ∇ₓD), updated with D's settings
    assert {id(p) for p in r1.params} < {id(p) for p in model.D.parameters()}
    assert r1.optim == model.config.d_opt
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    out = model.loss("R1", {"x": real})
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model.D(x).sum(), x)
    expected = 3.0 / 2 * grad.square().sum(dim=(1, 2, 3)).mean() * 16
    torch.testing.assert_close(out["loss"], expected)
    # the trainer runs it at steps 0 and 16 only
    trainer = Trainer(tiny_config("stylegan", steps=17), write=False)
    ran = [s for s in range(17) if "R1/loss" in trainer.train_step(s)]
    assert ran == [0, 16]


def test_r1_every_step_joins_the_d_phase() -> None:
    model = _model(1, r1_every=1)
    assert [p.name for p in model.phases()] == ["G", "D"]
    out = model.loss("D", {"x": torch.rand(4, 1, 16, 16) * 2 - 1})
    assert out["r1"] > 0


def test_version2_trains_one_step_with_every_phase() -> None:
    trainer = Trainer(_tiny(version=2), write=False)
    assert [p.name for p in trainer.phases] == ["G", "PL", "D", "R1"]
    result = trainer.fit()
    assert result.step == 1
    assert {"G/loss", "PL/loss", "D/loss", "R1/loss"} <= set(result.logs)
    assert all(torch.isfinite(torch.tensor(v)) for v in result.logs.values())


def test_version2_trains_under_bf16_autocast_path_length_included() -> None:
    """The path-length phase under autocast: bf16 gradients, an fp32 running mean (it failed
    with a dtype error before the norm was taken in fp32)."""
    config = _tiny(version=2)
    config.train.precision = "bf16"
    trainer = Trainer(config, write=False)
    result = trainer.fit()
    assert "PL/loss" in result.logs and all(
        torch.isfinite(torch.tensor(v)) for v in result.logs.values()
    )
    assert trainer.model.pl_mean.dtype == torch.float32


def test_path_length_phase() -> None:
    model = _model(2)
    phases = {p.name: p for p in model.phases()}
    pl = phases["PL"]
    assert [pl.runs_at(s) for s in range(6)] == [1, 0, 0, 0, 1, 0]
    # every G parameter but the toRGB biases (a constant shift never enters the Jacobian)
    left_out = {id(p) for p in model.G.parameters()} - {id(p) for p in pl.params}
    rgb_biases = {id(m.bias) for m in model.G.synthesis.torgbs}
    assert left_out == rgb_biases
    batch = {"x": torch.zeros(8, 1, 16, 16)}
    out = model.loss("PL", batch)  # pl_mean starts at 0: lerp(0, mean length, 0.01)
    torch.testing.assert_close(model.pl_mean, 0.01 * out["lengths"])
    assert out["loss"] > 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert model.G.synthesis.convs[0].conv.weight.grad.abs().sum() > 0
    assert "PL" not in {p.name for p in _model(2, pl_weight=0.0).phases()}
    assert "PL" in {p.name for p in _model(1, pl_weight=2.0).phases()}


def test_config_errors() -> None:
    with pytest.raises(GankitError, match="version"):
        _model(3)
    with pytest.raises(GankitError, match="r1_every"):
        _model(1, r1_every=0)
    with pytest.raises(GankitError, match="style_mixing"):
        _model(1, style_mixing=1.5)


def _tiny(**model):
    """The TINY stylegan run config with `model.KEY=VALUE` overrides, one step."""
    t = TINY["stylegan"]
    sets = (*t.sets, *(f"model.{k}={v}" for k, v in model.items()))
    return tiny_config("stylegan", type(t)(t.data, sets, t.resolution, t.batch_size), steps=1)
