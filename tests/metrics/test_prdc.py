"""Precision/recall/density/coverage against a brute-force, full-matrix reference."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from gankit.metrics.prdc import prdc


def _kth_neighbour_radius(x: np.ndarray, k: int) -> np.ndarray:
    """Distance to the k-th nearest *other* point: exclude self by setting it to infinity."""
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def _prdc_reference(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict:
    d_fr = cdist(fake, real)  # [M, N]
    in_real_pr = d_fr <= _kth_neighbour_radius(real, k_pr)[None, :]
    in_fake_pr = d_fr <= _kth_neighbour_radius(fake, k_pr)[:, None]
    in_real_dc = d_fr <= _kth_neighbour_radius(real, k_dc)[None, :]
    return {
        "precision": in_real_pr.any(axis=1).mean(),
        "recall": in_fake_pr.any(axis=0).mean(),
        "density": in_real_dc.sum() / (k_dc * len(fake)),
        "coverage": in_real_dc.any(axis=0).mean(),
    }


def _sets(seed: int, n: int = 120, m: int = 90, d: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(0.4, 1.2, size=(m, d))


def _assert_matches(got: dict[str, float], expected: dict) -> None:
    assert set(got) == {"precision", "recall", "density", "coverage"}
    for key, value in expected.items():
        assert isinstance(got[key], float)
        np.testing.assert_allclose(got[key], value, rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("chunk_size", [2048, 37, 1])
def test_prdc_default_k_matches_reference(chunk_size: int) -> None:
    real, fake = _sets(0)
    got = prdc(real, fake, chunk_size=chunk_size)
    _assert_matches(got, _prdc_reference(real, fake, k_pr=3, k_dc=5))


@pytest.mark.parametrize(("k", "chunk_size"), [(1, 16), (2, 50), (7, 2048)])
def test_prdc_explicit_k_overrides_both(k: int, chunk_size: int) -> None:
    real, fake = _sets(k, n=70, m=110)
    got = prdc(real, fake, k=k, chunk_size=chunk_size)
    _assert_matches(got, _prdc_reference(real, fake, k_pr=k, k_dc=k))


def test_prdc_never_builds_full_distance_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    real, fake = _sets(3, n=100, m=80)
    shapes: list[tuple[int, int]] = []

    def recording_cdist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        shapes.append((len(x), len(y)))
        return cdist(x, y)

    # the package re-exports the function `prdc`, which hides the module of the same name
    prdc_module = importlib.import_module("gankit.metrics.prdc")
    monkeypatch.setattr(prdc_module, "cdist", recording_cdist)
    got = prdc(real, fake, chunk_size=16)
    assert shapes and max(rows for rows, _ in shapes) <= 16
    _assert_matches(got, _prdc_reference(real, fake, k_pr=3, k_dc=5))


def test_prdc_ball_boundary_is_inclusive() -> None:
    # 1-NN radii of the real points 0, 1, 2, 3 are all 1; the fake at 4 sits exactly on the
    # boundary of the ball around 3, the fake at 10 is outside every real ball.
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[4.0], [10.0]])
    got = prdc(real, fake, k=1)
    # Both fake balls have radius 6, and the one at 4 holds every real point.
    expected = {"precision": 0.5, "recall": 1.0, "density": 0.5, "coverage": 0.25}
    _assert_matches(got, expected)


def test_prdc_identical_and_disjoint_sets() -> None:
    real, _ = _sets(4)
    same = prdc(real, real.copy())
    for key in ("precision", "recall", "coverage"):
        np.testing.assert_allclose(same[key], 1.0, rtol=0, atol=0)
    far = prdc(real, real + 1e3)
    for key in ("precision", "recall", "density", "coverage"):
        np.testing.assert_allclose(far[key], 0.0, rtol=0, atol=0)


def test_prdc_handles_duplicate_points() -> None:
    real, fake = _sets(5, n=40, m=40)
    real = np.concatenate([real, real[:10]])  # exact duplicates give zero-distance neighbours
    _assert_matches(prdc(real, fake, chunk_size=9), _prdc_reference(real, fake, 3, 5))


@pytest.mark.parametrize(
    ("real", "fake", "kwargs", "match"),
    [
        (np.zeros((5, 2)), np.zeros((10, 2)), {}, "real needs at least 6 samples"),
        (np.zeros((10, 2)), np.zeros((3, 2)), {"k": 3}, "fake needs at least 4 samples"),
        (np.zeros((10, 2)), np.zeros((10, 3)), {}, "different feature dimensions"),
        (np.zeros(10), np.zeros((10, 2)), {}, "2-D"),
        (np.zeros((10, 2)), np.zeros((10, 2)), {"k": 0}, "k must be >= 1"),
        (np.zeros((10, 2)), np.zeros((10, 2)), {"chunk_size": 0}, "chunk_size must be >= 1"),
    ],
)
def test_prdc_rejects_bad_input(
    real: np.ndarray, fake: np.ndarray, kwargs: dict[str, int], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        prdc(real, fake, **kwargs)
