"""Inception Score against a scipy.stats.entropy reference, plus its extreme values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from gankit.metrics.scores import inception_score


def _is_reference(probs: np.ndarray, splits: int) -> tuple[float, float]:
    """IS via scipy's KL divergence (entropy(p, q)), per sample, per contiguous split."""
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0)
        kls = [entropy(row, marginal) for row in part]
        scores.append(np.exp(np.mean(kls)))
    return float(np.mean(scores)), float(np.std(scores))


def _random_probs(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    probs = rng.dirichlet(np.full(k, 0.3), size=n)
    # Exact zeros exercise the 0·log 0 = 0 convention (including whole empty classes).
    probs[rng.random((n, k)) < 0.2] = 0.0
    probs[:, -1] = 0.0
    probs[probs.sum(axis=1) == 0, 0] = 1.0
    return probs / probs.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(("n", "k", "splits"), [(200, 10, 10), (103, 7, 4), (50, 3, 1)])
def test_is_matches_entropy_reference(n: int, k: int, splits: int) -> None:
    probs = _random_probs(np.random.default_rng(n), n, k)
    mean, std = inception_score(probs, splits=splits)
    ref_mean, ref_std = _is_reference(probs, splits)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-10)
    np.testing.assert_allclose(std, ref_std, rtol=1e-8, atol=1e-12)


def test_is_of_uniform_one_hot_classes_is_num_classes() -> None:
    k = 12
    # Every contiguous split of k rows sees each class exactly once.
    probs = np.eye(k)[np.tile(np.arange(k), 10)]
    mean, std = inception_score(probs, splits=10)
    np.testing.assert_allclose(mean, k, rtol=1e-12)
    np.testing.assert_allclose(std, 0.0, atol=1e-12)


def test_is_of_constant_probs_is_one() -> None:
    probs = np.tile(np.random.default_rng(0).dirichlet(np.ones(5)), (40, 1))
    mean, std = inception_score(probs, splits=4)
    np.testing.assert_allclose(mean, 1.0, rtol=1e-12)
    np.testing.assert_allclose(std, 0.0, atol=1e-12)


def test_is_accepts_float32_rounding_in_row_sums() -> None:
    probs = _random_probs(np.random.default_rng(1), 30, 5)
    nudged = probs * (1.0 + 5e-4)
    np.testing.assert_allclose(
        inception_score(nudged, splits=3), inception_score(probs, splits=3), rtol=1e-9
    )


@pytest.mark.parametrize(
    ("probs", "splits", "match"),
    [
        (np.full(10, 0.1), 1, "2-D"),
        (np.array([[1.2, -0.2], [0.5, 0.5]]), 1, "non-negative"),
        (np.array([[0.6, 0.6], [0.5, 0.5]]), 1, "sum to 1"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), 1, "NaN"),
        (np.full((3, 2), 0.5), 4, "at least splits=4"),
        (np.full((3, 2), 0.5), 0, "splits must be >= 1"),
    ],
)
def test_is_rejects_bad_input(probs: np.ndarray, splits: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        inception_score(probs, splits=splits)
