"""Fidelity and diversity from k-nearest-neighbour balls: precision, recall, density, coverage.

Each sample's k-NN ball (centred on it, radius the distance to its k-th nearest neighbour in its
own set) is a local estimate of the support of the distribution it came from. Distances are
computed a chunk of rows at a time, so memory grows as ``chunk_size × N`` rather than ``N × M``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist

from gankit.metrics.distances import _as_features, _check_same_dim

_DEFAULT_K_PR = 3  # Kynkäänniemi et al. 2019
_DEFAULT_K_DC = 5  # Naeem et al. 2020


def _knn_radii(x: np.ndarray, ks: list[int], chunk_size: int) -> np.ndarray:
    """Distance from each row of ``x`` to its k-th nearest other row, for each ``k`` in ``ks``.

    Returns an array ``[len(ks), N]``.
    """
    n = x.shape[0]
    radii = np.empty((len(ks), n), dtype=np.float64)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        d = cdist(x[start:stop], x)
        # Pin self-distances to exactly 0 so that, sorted, index 0 is (a copy of) the point
        # itself and index k is its k-th neighbour, duplicates included.
        rows = np.arange(stop - start)
        d[rows, rows + start] = 0.0
        radii[:, start:stop] = np.partition(d, ks, axis=1)[:, ks].T
    return radii


def _cross_ball_stats(
    x_real: np.ndarray,
    x_fake: np.ndarray,
    real_pr: np.ndarray,
    real_dc: np.ndarray,
    fake_pr: np.ndarray,
    chunk_size: int,
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Ball memberships between the two sets, from one chunked pass over fake-real distances.

    Returns ``(precise [M], recalled [N], ball_hits, covered [N])``: whether each fake lies in a
    real precision/recall ball, whether each real lies in a fake ball, the total number of
    (fake, real density/coverage ball) containments, and whether each real ball holds a fake.
    """
    precise = np.zeros(len(x_fake), dtype=bool)
    recalled = np.zeros(len(x_real), dtype=bool)
    covered = np.zeros(len(x_real), dtype=bool)
    ball_hits = 0
    # Each distance block serves all four statistics, so fake-real distances are computed once.
    for start in range(0, len(x_fake), chunk_size):
        stop = min(start + chunk_size, len(x_fake))
        d = cdist(x_fake[start:stop], x_real)  # [chunk, N]
        precise[start:stop] = (d <= real_pr).any(axis=1)
        recalled |= (d <= fake_pr[start:stop, None]).any(axis=0)
        in_dc = d <= real_dc
        ball_hits += int(in_dc.sum())
        covered |= in_dc.any(axis=0)
    return precise, recalled, ball_hits, covered


def prdc(
    real: ArrayLike, fake: ArrayLike, k: int | None = None, *, chunk_size: int = 2048
) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` with respect to ``real``.

    Precision and recall follow Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric
    for Assessing Generative Models"; density and coverage follow Naeem et al. 2020, "Reliable
    Fidelity and Diversity Metrics for Generative Models". Balls use Euclidean distance and are
    closed (a point at exactly the radius is inside).

    - precision: fraction of fake samples inside at least one real k-NN ball.
    - recall: fraction of real samples inside at least one fake k-NN ball.
    - density: ``(1 / (k M)) Σ_j #{real i : fake_j in ball(real_i)}``; about 1 when the two sets
      match, and unbounded above (it rewards fakes in dense real regions).
    - coverage: fraction of real samples whose k-NN ball contains at least one fake sample.

    Args:
        real: Real features, shape ``[N, D]``.
        fake: Generated features, shape ``[M, D]``.
        k: Neighbourhood size for all four metrics. ``None`` uses each paper's default: 3 for
            precision/recall and 5 for density/coverage.
        chunk_size: Rows of distances computed at once; peak memory is about
            ``chunk_size × max(N, M)`` floats.

    Returns:
        A dict with float values under ``"precision"``, ``"recall"``, ``"density"`` and
        ``"coverage"``.

    Raises:
        ValueError: On bad shapes, differing feature dimensions, ``k < 1``, ``chunk_size < 1``,
            or a set with no more samples than the largest ``k`` in use.
    """
    if k is not None and k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    k_pr, k_dc = (_DEFAULT_K_PR, _DEFAULT_K_DC) if k is None else (k, k)
    # A k-th neighbour other than the point itself exists only with at least k + 1 points.
    min_rows = max(k_pr, k_dc) + 1
    x_real = _as_features(real, "real", min_rows=min_rows)
    x_fake = _as_features(fake, "fake", min_rows=min_rows)
    _check_same_dim(x_real, x_fake, "real", "fake")

    real_pr, real_dc = _knn_radii(x_real, [k_pr, k_dc], chunk_size)
    (fake_pr,) = _knn_radii(x_fake, [k_pr], chunk_size)

    precise, recalled, ball_hits, covered = _cross_ball_stats(
        x_real, x_fake, real_pr, real_dc, fake_pr, chunk_size
    )
    return {
        "precision": float(precise.mean()),
        "recall": float(recalled.mean()),
        "density": ball_hits / (k_dc * len(x_fake)),
        "coverage": float(covered.mean()),
    }
