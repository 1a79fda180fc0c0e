"""Mode coverage on hand-built samples with known answers, and against a loop reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from gankit.metrics.modes import label_mode_coverage, mixture_mode_coverage

STD = 0.02
# Eight Gaussians on a ring of radius 2, the classic 2-D mode-collapse benchmark.
RING = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1)


def _samples_around(means: np.ndarray, per_mode: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Half a standard deviation per axis keeps every point well inside 3σ of its own mean.
    noise = rng.uniform(-0.5 * STD, 0.5 * STD, size=(len(means) * per_mode, means.shape[1]))
    return np.repeat(means, per_mode, axis=0) + noise


def test_all_modes_covered_evenly() -> None:
    got = mixture_mode_coverage(_samples_around(RING, 10), RING, STD)
    assert set(got) == {"modes", "num_modes", "high_quality", "kl"}
    assert (got["modes"], got["num_modes"], got["high_quality"]) == (8.0, 8.0, 100.0)
    np.testing.assert_allclose(got["kl"], 0.0, atol=1e-12)


def test_one_collapsed_mode() -> None:
    got = mixture_mode_coverage(_samples_around(RING[1:], 10), RING, STD)
    assert got["modes"] == 7.0 and got["num_modes"] == 8.0
    # Uniform over 7 of 8 modes: KL = sum (1/7) log((1/7) / (1/8)) = log(8/7).
    np.testing.assert_allclose(got["kl"], np.log(8 / 7), rtol=1e-12)


def test_threshold_boundary_is_exclusive() -> None:
    means = np.zeros((1, 2))
    std = 0.5  # 3σ = 1.5 exactly in floating point
    samples = np.array([[1.5, 0.0], [1.4999, 0.0], [0.0, -1.5001], [0.3, 0.4]])
    got = mixture_mode_coverage(samples, means, std)
    np.testing.assert_allclose(got["high_quality"], 50.0, rtol=1e-12)
    assert got["modes"] == 1.0
    np.testing.assert_allclose(got["kl"], 0.0, atol=1e-12)


def test_no_high_quality_samples_gives_infinite_kl() -> None:
    samples = np.full((5, 2), 100.0)
    got = mixture_mode_coverage(samples, RING, STD)
    assert got["modes"] == 0.0 and got["high_quality"] == 0.0
    assert got["kl"] == float("inf")


def test_mixture_matches_loop_reference() -> None:
    rng = np.random.default_rng(1)
    means = rng.uniform(-4, 4, size=(25, 3))
    std, threshold = 0.3, 2.5
    # Uneven mode weights plus wide noise: some samples fail the quality test.
    picks = rng.choice(25, size=500, p=rng.dirichlet(np.ones(25)))
    samples = means[picks] + rng.normal(scale=0.5, size=(500, 3))
    counts, good = np.zeros(25), 0
    for x in samples:
        dists = [np.linalg.norm(x - mu) for mu in means]
        j = int(np.argmin(dists))
        if dists[j] < threshold * std:
            counts[j] += 1
            good += 1
    got = mixture_mode_coverage(samples, means, std, threshold=threshold)
    assert 0 < good < 500  # the test exercises both outcomes
    assert got["modes"] == np.count_nonzero(counts) and got["num_modes"] == 25.0
    np.testing.assert_allclose(got["high_quality"], 100.0 * good / 500, rtol=1e-12)
    np.testing.assert_allclose(got["kl"], entropy(counts, np.ones(25)), rtol=1e-10)


@pytest.mark.parametrize(
    ("samples", "means", "kwargs", "match"),
    [
        (np.zeros((4, 2)), np.zeros((3, 3)), {}, "different feature dimensions"),
        (np.zeros(4), np.zeros((3, 2)), {}, "2-D"),
        (np.zeros((4, 2)), np.zeros((3, 2)), {"std": 0.0}, "std must be"),
        (np.zeros((4, 2)), np.zeros((3, 2)), {"threshold": -1.0}, "threshold must be"),
    ],
)
def test_mixture_rejects_bad_input(
    samples: np.ndarray, means: np.ndarray, kwargs: dict[str, float], match: str
) -> None:
    kwargs = {"std": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        mixture_mode_coverage(samples, means, **kwargs)


def test_labels_all_modes_uniform() -> None:
    got = label_mode_coverage(np.arange(1000), 1000)
    assert got == {"modes": 1000.0, "num_modes": 1000.0, "kl": 0.0}


def test_labels_ten_modes_of_a_thousand() -> None:
    labels = np.repeat(np.arange(0, 1000, 100), 7).astype(np.uint16)
    got = label_mode_coverage(labels, 1000)
    assert got["modes"] == 10.0
    np.testing.assert_allclose(got["kl"], np.log(100.0), rtol=1e-12)


def test_labels_stacked_mnist_matches_entropy_reference() -> None:
    rng = np.random.default_rng(2)
    digits = rng.integers(0, 10, size=(3, 2000))
    digits[0] = np.minimum(digits[0], 4)  # a generator that never makes 5-9 in channel one
    labels = 100 * digits[0] + 10 * digits[1] + digits[2]
    got = label_mode_coverage(labels, 1000)
    counts = np.bincount(labels, minlength=1000)
    assert got["modes"] == np.count_nonzero(counts) <= 500
    np.testing.assert_allclose(got["kl"], entropy(counts, np.ones(1000)), rtol=1e-10)


@pytest.mark.parametrize(
    ("labels", "num_modes", "match"),
    [
        (np.array([0, 1, 10]), 10, r"\[0, 10\)"),
        (np.array([-1, 2]), 10, r"\[0, 10\)"),
        (np.array([0.0, 1.0]), 10, "integers"),
        (np.array([True, False]), 10, "integers"),
        (np.zeros((2, 2), dtype=int), 10, "1-D"),
        (np.array([], dtype=int), 10, "non-empty"),
        (np.array([0]), 0, "num_modes must be >= 1"),
    ],
)
def test_labels_reject_bad_input(labels: np.ndarray, num_modes: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        label_mode_coverage(labels, num_modes)


def test_labels_accept_unsigned_dtypes() -> None:
    got = label_mode_coverage(np.array([0, 1, 1, 3], dtype=np.uint64), 4)
    assert got["modes"] == 3.0
