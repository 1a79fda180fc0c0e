"""Projection of images into the latent space (gankit.projection, Generator.project): the
projector's schedules, recovery of self-generated images in w, w+ and z, determinism, the
independence of a batch, the priors' constraints, refusals, and projected latents in
generate / interpolate / arithmetic and in files."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import gankit
from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.projection import (
    Latents,
    ProjectSettings,
    check_projectable,
    learning_rate,
    noise_regularization,
    noise_scale,
    project_simplex,
)
from gankit.training.trainer import Trainer

from .conftest import TINY, tiny_config


def _trained(name: str, tmp_path: Path, steps: int = 2) -> gankit.Generator:
    Trainer(tiny_config(name, TINY[name], steps=steps), run_dir=tmp_path / name).fit()
    return gankit.load(tmp_path / name)


@pytest.fixture(scope="module")
def style(tmp_path_factory) -> gankit.Generator:
    return _trained("stylegan", tmp_path_factory.mktemp("projection"))


@pytest.fixture(scope="module")
def progan(tmp_path_factory) -> gankit.Generator:
    return _trained("progan", tmp_path_factory.mktemp("projection"), steps=4)


@pytest.fixture(scope="module")
def cgan(tmp_path_factory) -> gankit.Generator:
    return _trained("cgan", tmp_path_factory.mktemp("projection"))


@pytest.fixture(scope="module")
def style_projection(style) -> tuple[torch.Tensor, gankit.projection.ProjectionResult]:
    target = style.sample(2, seed=5)  # images the model itself drew from known latents
    return target, style.project(target, steps=300, seed=1)


# ---------------------------------------------------------------- the projector's pieces
def test_schedules_are_the_reference_projectors() -> None:
    s = ProjectSettings(steps=1000)
    assert learning_rate(0, s) == 0.0  # the warm-up starts at 0
    assert learning_rate(25, s) == pytest.approx(0.05)  # half-way up the 5% warm-up
    assert learning_rate(500, s) == pytest.approx(0.1)
    assert learning_rate(875, s) == pytest.approx(0.05)  # half-way down the cosine
    assert learning_rate(999, s) == pytest.approx(0.1 * (0.5 - 0.5 * math.cos(0.004 * math.pi)))
    assert noise_scale(0, s) == pytest.approx(0.05)
    assert noise_scale(375, s) == pytest.approx(0.05 * 0.25)
    assert noise_scale(750, s) == 0.0 and noise_scale(900, s) == 0.0


def test_noise_regularization_counts_every_scale_down_to_8() -> None:
    ones = torch.ones(2, 1, 32, 32)  # every autocorrelation is 1: 2 shifts × 3 scales (32, 16, 8)
    torch.testing.assert_close(noise_regularization([ones]), torch.full((2,), 6.0))
    assert noise_regularization([torch.ones(1, 1, 4, 4)]).item() == pytest.approx(2.0)
    white = torch.randn(3, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    smooth = torch.nn.functional.interpolate(white[:, :, :8, :8], size=64, mode="bilinear")
    smooth = (smooth - smooth.mean()) / smooth.std()
    assert noise_regularization([white]).max() < 1e-2 < noise_regularization([smooth]).min()


def test_simplex_projection() -> None:
    v = torch.tensor([[2.0, 0.5, 0.5], [0.2, 0.3, 0.5], [-1.0, 0.0, 0.4]])
    p = project_simplex(v)
    torch.testing.assert_close(p[0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(p[1], v[1])  # already on the simplex
    torch.testing.assert_close(p.sum(1), torch.ones(3))
    assert (p >= 0).all()


def test_settings_are_checked() -> None:
    with pytest.raises(GankitError, match="at least one step"):
        ProjectSettings(steps=0)
    with pytest.raises(GankitError, match="space must be one of"):
        ProjectSettings(space="q")  # type: ignore[arg-type]
    with pytest.raises(GankitError, match="features must be one of"):
        ProjectSettings(features="lpips")  # type: ignore[arg-type]


# ---------------------------------------------------------------- StyleGAN: w and w+
def test_w_projection_recovers_a_generated_image(style, style_projection) -> None:
    target, result = style_projection
    assert result.latents.space == "w"
    assert result.latents.values.shape == (2, style.model.config.w_dim)
    assert result.features == "digits-classifier conv features"  # the run's data: digits
    losses = result.losses
    assert (losses["mse"] < 0.5 * losses["mse_start"]).all(), losses
    assert (losses["psnr"] > losses["psnr_start"] + 3).all(), losses
    assert (result.history[-1] < 0.5 * result.history[0]).all()
    torch.testing.assert_close(result.targets, target)
    # the projections are what the latents generate, with the model's own noise inputs
    assert torch.equal(result.images, style.generate(result.latents))
    assert torch.equal(result.start[0], result.start[1])  # both start at w̄


def test_w_plus_has_one_w_per_layer_and_renormalised_noise_maps(style) -> None:
    target = style.sample(1, seed=7)
    result = style.project(target, steps=20, space="w+", seed=0)
    model = style.model
    assert result.latents.space == "w+"
    assert result.latents.values.shape == (1, model.num_ws, model.config.w_dim)
    assert result.noise is not None and len(result.noise) == model.num_ws  # v1: one per layer
    for maps in result.noise:
        assert maps.shape[:2] == (1, 1)
        torch.testing.assert_close(maps.mean(), torch.tensor(0.0), atol=1e-5, rtol=0)
        torch.testing.assert_close(maps.square().mean(), torch.tensor(1.0), atol=1e-4, rtol=0)
    assert torch.equal(result.images, style.generate(result.latents))


def test_projection_is_deterministic_under_a_seed(style) -> None:
    target = style.sample(2, seed=3)
    a = style.project(target, steps=15, seed=4)
    b = style.project(target, steps=15, seed=4)
    c = style.project(target, steps=15, seed=5)
    assert torch.equal(a.latents.values, b.latents.values)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.latents.values, c.latents.values)


def test_images_of_a_batch_get_independent_latents(style) -> None:
    a, b, c = style.sample(3, seed=11)
    quiet = ProjectSettings(noise_start=0.0, optimize_noise=False)  # no draws in the loop
    ab = style.project(torch.stack([a, b]), steps=40, settings=quiet).latents.values
    ac = style.project(torch.stack([a, c]), steps=40, settings=quiet).latents.values
    aa = style.project(torch.stack([a, a]), steps=40, settings=quiet).latents.values
    # a's latent is the same whatever shares its batch (the batch size kept, so that the
    # arithmetic is too: Adam turns last-bit differences of near-zero gradients into steps)
    torch.testing.assert_close(ab[0], ac[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(aa[0], aa[1], rtol=0, atol=1e-6)
    assert not torch.allclose(ab[1], ac[1])


# ---------------------------------------------------------------- z
def test_z_projection_of_a_gaussian_latent_model(progan) -> None:
    target = progan.sample(2, seed=5)
    result = progan.project(target, steps=300, seed=0)
    assert result.latents.space == "z"
    assert result.latents.values.shape == (2, progan.model.latent_dim)
    losses = result.losses  # non-convex: one image may end in a local minimum
    assert (losses["psnr"] > losses["psnr_start"]).all(), losses
    assert losses["psnr"].max() > 40 and losses["mse"].mean() < 0.5 * losses["mse_start"].mean()
    assert torch.equal(result.images, progan.generate(result.latents))
    with pytest.raises(GankitError, match="no w space"):
        progan.project(target, steps=1, space="w")


def test_conditional_projection_takes_the_class(cgan) -> None:
    target = cgan.sample(2, seed=5, labels=3)
    with pytest.raises(GankitError, match="class-conditional: give the class"):
        cgan.project(target, steps=1)
    result = cgan.project(target, steps=100, label=3)
    assert result.latents.labels is not None and result.latents.labels.tolist() == [3, 3]
    assert (result.latents.values.abs() <= 1).all()  # U[−1, 1]: clipped to the support
    assert (result.losses["psnr"] > result.losses["psnr_start"]).all()
    assert torch.equal(result.images, cgan.generate(result.latents))
    assert torch.equal(result.images, cgan.generate(result.latents.values, 3))


def test_infogan_codes_end_as_the_prior_draws_them(tmp_path) -> None:
    gen = _trained("infogan", tmp_path)
    result = gen.project(gen.sample(3, seed=2), steps=12, seed=0)
    z = result.latents.values
    model = gen.model
    for code in model.codes:
        part = z[:, code.start : code.start + code.size]
        if code.kind == "categorical":
            assert ((part == 0) | (part == 1)).all() and (part.sum(1) == 1).all()
        else:
            assert (part.abs() <= 1).all()
    assert (z[:, : model.config.z_dim].abs() <= 1).all()


# ---------------------------------------------------------------- input and refusals
def test_images_are_checked_and_resized(style) -> None:
    with pytest.raises(GankitError, match="3 channels, this stylegan draws 1 \\(grey\\)"):
        style.project(torch.zeros(1, 3, 16, 16), steps=1)
    with pytest.raises(GankitError, match=r"values in \[-1, 1\].*\[0, 255\]"):
        style.project(
            torch.full((1, 1, 16, 16), 255.0).index_fill(2, torch.tensor([0]), 0), steps=1
        )
    with pytest.raises(GankitError, match="expected images"):
        style.project(torch.zeros(16, 16), steps=1)
    wide = torch.linspace(-1, 1, 48).expand(1, 1, 32, 48)  # not square, not 16×16
    x = style.prepare_images(wide)
    assert x.shape == (1, 1, 16, 16)
    torch.testing.assert_close(x, style.prepare_images(wide[..., 8:40]))  # the centre square
    assert style.prepare_images(torch.zeros(1, 16, 16)).shape == (1, 1, 16, 16)  # one image


def _model(name: str, data: str, kind: str, shape, **info) -> gankit.GANModel:
    tiny = TINY[name]
    config = tiny_config(name, replace(tiny, data=data) if data != tiny.data else tiny)
    return config.model_cls(config.model, DataInfo(data, kind, shape, **info))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "data", "kind", "shape", "info", "message"),
    [
        ("pix2pix", "photos-gray2color", "paired", (1, 16, 16), {"shape_b": (3, 16, 16)},
         "translates images rather than drawing them"),
        ("cogan", "digits-negative", "unpaired", (1, 16, 16), {"shape_b": (1, 16, 16)},
         "pairs of images in two domains"),
        ("gan", "ring8", "points", (2,), {}, "generates points, not images"),
    ],
)  # fmt: skip
def test_models_without_a_latent_to_image_generator_are_refused(
    name, data, kind, shape, info, message
) -> None:
    with pytest.raises(GankitError, match=message):
        check_projectable(_model(name, data, kind, shape, **info), None)


def test_text_to_image_models_are_refused() -> None:
    model = _model("gan-int-cls", "shapes", "captioned", (3, 16, 16))
    with pytest.raises(GankitError, match="draws images of captions"):
        check_projectable(model, None)


# ---------------------------------------------------------------- projected latents in use
def test_interpolate_and_arithmetic_take_projected_latents(style, style_projection) -> None:
    _, result = style_projection
    latents = result.latents
    walk = style.interpolate(latents, 4)
    assert walk.shape == (4, 1, 16, 16)
    torch.testing.assert_close(walk[0], result.images[0])  # the ends are the projections
    torch.testing.assert_close(walk[-1], result.images[1])
    middle = Latents((latents.values[0] + latents.values[1])[None] / 2, "w")
    torch.testing.assert_close(style.interpolate(latents, 3)[1], style.generate(middle)[0])
    images, nrow = style.arithmetic(latents.rows([0]), [1, 2], latents.rows([1]), variations=2)
    assert nrow == 3 and images.shape == (12, 1, 16, 16)
    torch.testing.assert_close(images[0], result.images[0])  # group a: the projection
    # seeds meet projected w in w: mapping(z) broadcast draws the seed's own sample
    torch.testing.assert_close(images[3], style.sample(1, seed=1)[0])
    torch.testing.assert_close(images[4], style.sample(1, seed=2)[0])
    w = style.model.G.mapping(style.latents([1, 2]))
    result_w = latents.values[0] - w.mean(0) + latents.values[1]
    torch.testing.assert_close(images[9], style.generate(Latents(result_w[None], "w"))[0])


def test_w_plus_and_w_meet_in_w_plus(style, style_projection) -> None:
    _, result = style_projection
    plus = Latents(result.latents.values[:, None].expand(-1, style.model.num_ws, -1), "w+")
    images, _ = style.arithmetic(result.latents.rows([0]), plus.rows([1]), [3], variations=1)
    torch.testing.assert_close(images[0], result.images[0])  # w broadcast: the same image
    torch.testing.assert_close(images[2], result.images[1])


def test_latents_files_round_trip_and_wrong_ones_are_refused(
    style, style_projection, progan, tmp_path
) -> None:
    _, result = style_projection
    path = result.latents.save(tmp_path / "latents.npy", images=["a.png", "b.png"])
    back = style.load_latents(path)
    assert back.space == "w" and torch.equal(back.values, result.latents.values)
    assert back.meta["model"] == "stylegan" and back.meta["images"] == ["a.png", "b.png"]
    assert torch.equal(style.generate(back), result.images)
    with pytest.raises(GankitError, match=r"of model stylegan .*this run.s model is progan"):
        progan.load_latents(path)
    plus = Latents(result.latents.values[:, None].expand(-1, 6, -1), "w+")
    plus.save(tmp_path / "plus.npy")
    (tmp_path / "plus.json").unlink()  # a bare array is read as z: [N, L, D] is not z
    with pytest.raises(GankitError, match=r"plus\.npy: .*read as z latents.*need their \.json"):
        style.load_latents(tmp_path / "plus.npy")
    np.save(tmp_path / "narrow.npy", np.zeros((2, 3), np.float32))
    with pytest.raises(GankitError, match="z latents are 16 wide, these are 3"):
        progan.load_latents(tmp_path / "narrow.npy")
    (tmp_path / "junk.npy").write_text("not an array")
    with pytest.raises(GankitError, match=r"not a NumPy \.npy array"):
        progan.load_latents(tmp_path / "junk.npy")
    with pytest.raises(GankitError, match="no such latents file"):
        progan.load_latents(tmp_path / "none.npy")
