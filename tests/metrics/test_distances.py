"""FID and KID against direct reference computations, plus their defining properties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from gankit.metrics.distances import (
    feature_stats,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
)


def _fid_sqrtm(a: np.ndarray, b: np.ndarray) -> float:
    """Textbook FID with scipy's general matrix square root of the covariance product."""
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(sa @ sb)
    diff = a.mean(axis=0) - b.mean(axis=0)
    return float(diff @ diff + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(covmean).real)


def _mmd2_loop(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic kernel, written as explicit sums over pairs."""
    m, d = x.shape

    def k(u: np.ndarray, v: np.ndarray) -> float:
        return (float(u @ v) / d + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (m * m)


@pytest.mark.parametrize(
    ("n", "d"),
    [(400, 8), (300, 32), (20, 64)],  # the last has N < D: both covariances are singular
)
def test_fid_matches_sqrtm_reference(n: int, d: int) -> None:
    rng = np.random.default_rng(n + d)
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3
    b = rng.normal(loc=0.5, scale=1.3, size=(n + 7, d))
    np.testing.assert_allclose(frechet_distance(a, b), _fid_sqrtm(a, b), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("na", "nb"), [(30, 45), (64, 200), (5, 3)])
def test_fid_with_fewer_samples_than_dimensions_equals_the_covariance_route(na, nb) -> None:
    """N <= D takes the singular-value route (no D×D matrix); it must equal the route through
    the covariances, which every larger set takes."""
    rng = np.random.default_rng(na * nb)
    d = 64
    a = np.maximum(rng.normal(size=(na, d)) @ rng.normal(size=(d, d)), 0)  # ReLU-like
    b = np.maximum(rng.normal(0.2, size=(nb, d)) @ rng.normal(size=(d, d)), 0)
    stats = frechet_distance_from_stats(*feature_stats(a), *feature_stats(b))
    np.testing.assert_allclose(frechet_distance(a, b), stats, rtol=1e-7)
    np.testing.assert_allclose(frechet_distance(a, a), 0.0, rtol=0, atol=1e-9)


def test_fid_identical_is_zero_and_symmetric() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 16))
    b = rng.normal(scale=2.0, size=(150, 16))
    np.testing.assert_allclose(frechet_distance(a, a), 0.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(frechet_distance(a, b), frechet_distance(b, a), rtol=1e-10)


def test_fid_mean_shift_adds_squared_norm() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 10))
    shift = rng.normal(size=10)
    # Same covariance, so the trace term vanishes and only ||shift||^2 remains.
    np.testing.assert_allclose(frechet_distance(a, a + shift), shift @ shift, rtol=1e-8)


def test_fid_one_dimensional_closed_form() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(50, 1)), rng.normal(2.0, 3.0, size=(60, 1))
    va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    expected = (a.mean() - b.mean()) ** 2 + (np.sqrt(va) - np.sqrt(vb)) ** 2
    np.testing.assert_allclose(frechet_distance(a, b), expected, rtol=1e-10)


def test_feature_stats_and_cached_stats_path() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(80, 6)), rng.normal(1.0, size=(90, 6))
    mu, sigma = feature_stats(a)
    np.testing.assert_allclose(mu, a.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(a, rowvar=False, ddof=1), rtol=1e-12)
    assert feature_stats(a[:, :1])[1].shape == (1, 1)
    from_stats = frechet_distance_from_stats(*feature_stats(a), *feature_stats(b))
    np.testing.assert_allclose(from_stats, frechet_distance(a, b), rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(5), np.zeros((5, 2))), "2-D"),
        ((np.zeros((5, 2)), np.zeros((5, 3))), "different feature dimensions"),
        ((np.zeros((1, 2)), np.zeros((5, 2))), "at least 2 samples"),
        ((np.full((5, 2), np.nan), np.zeros((5, 2))), "NaN"),
    ],
)
def test_fid_rejects_bad_features(args: tuple[np.ndarray, np.ndarray], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        frechet_distance(*args)


def test_fid_from_stats_rejects_bad_shapes() -> None:
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match="sigma_b"):
        frechet_distance_from_stats(mu, sigma, mu, np.eye(2))
    with pytest.raises(ValueError, match="mu_a"):
        frechet_distance_from_stats(np.zeros((3, 1)), sigma, mu, sigma)
    with pytest.raises(ValueError, match="different feature dimensions"):
        frechet_distance_from_stats(mu, sigma, np.zeros(2), np.eye(2))


def test_kid_matches_loop_mmd_on_same_subsets() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(50, 4)), rng.normal(0.3, size=(45, 4))
    subsets, size, seed = 4, 20, 123
    mean, std = kernel_inception_distance(a, b, subsets=subsets, subset_size=size, seed=seed)
    # Re-draw the subsets with the documented protocol: rows of a, then rows of b, per subset.
    draw = np.random.default_rng(seed)
    expected = []
    for _ in range(subsets):
        ia = draw.choice(len(a), size, replace=False)
        ib = draw.choice(len(b), size, replace=False)
        expected.append(_mmd2_loop(a[ia], b[ib]))
    np.testing.assert_allclose(mean, np.mean(expected), rtol=1e-9)
    np.testing.assert_allclose(std, np.std(expected), rtol=1e-9)


def test_kid_full_set_without_sampling() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(25, 3)), rng.normal(size=(25, 3)) * 2.0
    # One subset of every row: the draw only permutes rows, which MMD does not see.
    mean, std = kernel_inception_distance(a, b, subsets=1, subset_size=25)
    np.testing.assert_allclose(mean, _mmd2_loop(a, b), rtol=1e-9)
    assert std == 0.0


def test_kid_near_zero_for_same_distribution_positive_for_shift() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same, same_std = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    shifted, _ = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=200)
    np.testing.assert_allclose(same, 0.0, atol=0.02)
    assert same_std > 0.0
    assert shifted > 1.0 > 50 * abs(same)


def test_kid_is_deterministic_given_seed() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(60, 5)), rng.normal(size=(70, 5))
    first = kernel_inception_distance(a, b, subsets=3, subset_size=30, seed=9)
    assert kernel_inception_distance(a, b, subsets=3, subset_size=30, seed=9) == first


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subset_size": 31}, "exceeds the number of samples"),
        ({"subset_size": 1}, "subset_size must be >= 2"),
        ({"subsets": 0}, "subsets must be >= 1"),
    ],
)
def test_kid_rejects_bad_arguments(kwargs: dict[str, int], match: str) -> None:
    a, b = np.zeros((30, 2)), np.ones((40, 2))
    with pytest.raises(ValueError, match=match):
        kernel_inception_distance(a, b, **kwargs)


def test_kid_rejects_mismatched_dimensions() -> None:
    with pytest.raises(ValueError, match="different feature dimensions"):
        kernel_inception_distance(np.zeros((10, 2)), np.zeros((10, 3)), subset_size=5)
