"""Latent tools: interpolation paths, slerp's norm, vector arithmetic, truncation, and the
generator handle's use of them (endpoints are the seeds' own samples)."""

from __future__ import annotations

import math

import pytest
import torch

import gankit
from gankit.errors import GankitError
from gankit.latent import interpolate_path, lerp, slerp, vector_arithmetic
from gankit.models.base import sample_noise
from gankit.training.trainer import Trainer

from ..conftest import TINY, Tiny, tiny_config


def test_lerp_and_slerp_hit_both_ends() -> None:
    a, b = torch.randn(16, generator=torch.Generator().manual_seed(0)), torch.randn(16)
    t = torch.linspace(0, 1, 5)
    for fn in (lerp, slerp):
        path = fn(a, b, t)
        assert path.shape == (5, 16)
        torch.testing.assert_close(path[0], a)
        torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(lerp(a, b, t)[2], (a + b) / 2)


def test_slerp_keeps_the_norm_of_equal_norm_ends() -> None:
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(64, generator=gen), torch.randn(64, generator=gen)
    b = b / b.norm() * a.norm()
    norms = slerp(a, b, torch.linspace(0, 1, 11)).norm(dim=1)
    torch.testing.assert_close(norms, torch.full_like(norms, float(a.norm())))
    # a straight line cuts through the inside of the sphere
    assert lerp(a, b, torch.tensor([0.5])).norm() < 0.9 * a.norm()


def test_slerp_moves_at_constant_angle_and_interpolates_the_norm() -> None:
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 4.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    angles = torch.atan2(path[:, 1], path[:, 0])
    torch.testing.assert_close(angles, torch.linspace(0, math.pi / 2, 5))
    torch.testing.assert_close(path.norm(dim=1), torch.linspace(2, 4, 5))
    # parallel ends fall back to a straight line without dividing by zero
    torch.testing.assert_close(slerp(a, 3 * a, torch.tensor([0.5]))[0], 2 * a)


def test_interpolate_path_counts_shared_ends_once() -> None:
    z = torch.randn(3, 8)
    path = interpolate_path(z, 4, spherical=True)
    assert path.shape == (7, 8)
    assert torch.equal(path[0], z[0]) and torch.equal(path[3], z[1]) and torch.equal(path[6], z[2])


def test_vector_arithmetic_averages_each_group() -> None:
    a, b, c = torch.ones(3, 4), 2 * torch.ones(2, 4), torch.arange(8.0).view(2, 4)
    means, result = vector_arithmetic(a, b, c)
    torch.testing.assert_close(means[2], torch.tensor([2.0, 3.0, 4.0, 5.0]))
    torch.testing.assert_close(result, torch.tensor([1.0, 2.0, 3.0, 4.0]))


def test_truncation_bounds_gaussian_latents_and_is_deterministic() -> None:
    draw = lambda: sample_noise(  # noqa: E731
        500, 8, "normal", torch.device("cpu"), torch.Generator().manual_seed(3), 0.5
    )
    z = draw()
    assert z.abs().max() <= 0.5 and z.std() > 0.2
    assert torch.equal(z, draw())
    with pytest.raises(GankitError, match="Gaussian"):
        sample_noise(4, 2, "uniform", torch.device("cpu"), None, 0.5)
    with pytest.raises(GankitError, match="positive"):
        sample_noise(4, 2, "normal", torch.device("cpu"), None, -1.0)


# ---------------------------------------------------------------- on the generator handle
def _trained(name: str, tiny: Tiny, tmp_path, steps: int = 2) -> gankit.Generator:
    Trainer(tiny_config(name, tiny, steps=steps), run_dir=tmp_path / name).fit()
    return gankit.load(tmp_path / name)


@pytest.fixture(scope="module")
def points_run(tmp_path_factory) -> gankit.Generator:
    return _trained("wgan-gp", TINY["wgan-gp"], tmp_path_factory.mktemp("latent"))


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory) -> gankit.Generator:
    tiny = Tiny("digits", ("model.g_channels=8", "model.d_channels=8", "model.conditional=true"))
    tiny = Tiny(tiny.data, tiny.sets, resolution=16)
    return _trained("dcgan", tiny, tmp_path_factory.mktemp("latent"))


@pytest.mark.parametrize("spherical", [False, True])
def test_interpolation_ends_are_the_seeds_own_samples(points_run, spherical) -> None:
    walk = points_run.interpolate([4, 9, 2], 5, spherical=spherical)
    assert walk.shape == (9, 2)
    for index, seed in ((0, 4), (4, 9), (8, 2)):
        torch.testing.assert_close(walk[index], points_run.sample(1, seed=seed)[0])


def test_interpolation_keeps_the_class_of_a_conditional_model(conditional_run) -> None:
    handle = conditional_run
    walk = handle.interpolate([1, 2], 4, label=7)
    assert walk.shape == (4, 1, 16, 16)
    torch.testing.assert_close(walk[0], handle.sample(1, seed=1, labels=7)[0])
    torch.testing.assert_close(walk[-1], handle.sample(1, seed=2, labels=7)[0])
    # without a class, the first seed's own draw is kept
    drawn = handle.interpolate([1, 2], 3)
    torch.testing.assert_close(drawn[0], handle.sample(1, seed=1)[0])


def test_handle_truncation(points_run, conditional_run) -> None:
    a = points_run.sample(200, seed=0, truncation=0.3)
    b = points_run.sample(200, seed=0)
    assert not torch.equal(a, b)
    assert torch.equal(a, points_run.sample(200, seed=0, truncation=0.3))
    with pytest.raises(GankitError, match="Gaussian"):  # DCGAN's z is uniform
        conditional_run.sample(4, seed=0, truncation=0.5)


def test_class_grid_and_labels(conditional_run, points_run) -> None:
    handle = conditional_run
    images, nrow = handle.class_grid(3, seed=0)
    assert images.shape == (30, 1, 16, 16) and nrow == 3
    # row k holds class k: the same as asking for class k with those latents
    z = handle.model.sample_latent(30, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(images[6:9], handle.generate(z[6:9], 2))
    assert not torch.equal(handle.generate(z[:4], 0), handle.generate(z[:4], 1))
    with pytest.raises(GankitError, match=r"0\.\.9"):
        handle.sample(2, labels=10)
    with pytest.raises(GankitError, match="not class-conditional"):
        points_run.sample(2, labels=1)


def test_arithmetic_figure(conditional_run, points_run) -> None:
    images, nrow = conditional_run.arithmetic([1, 2, 3], [4], [5, 6], variations=4)
    assert nrow == 5 and images.shape == (20, 1, 16, 16)
    # the last cell of the first row is the sample of the group's mean latent
    mean = conditional_run.latents([1, 2, 3]).mean(0, keepdim=True)
    torch.testing.assert_close(images[3], conditional_run.generate(mean, 0)[0])
    with pytest.raises(GankitError, match="points"):
        points_run.arithmetic([1], [2], [3])
