"""Scores of a single sample set from classifier outputs: the Inception Score."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# Only keeps log() finite where a probability is exactly zero; such terms are multiplied by that
# zero, so they vanish (0·log 0 = 0) and the offset does not bias any non-zero term measurably.
_EPS = np.finfo(np.float64).tiny

# Softmax outputs stored in float32 do not sum to 1 exactly; beyond this they are not
# probabilities at all (logits or unnormalised scores passed by mistake).
_SUM_TOL = 1e-3


def _as_probs(probs: ArrayLike) -> np.ndarray:
    """Validate class probabilities ``[N, K]`` and renormalise rows to sum to 1 exactly."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"probs must be a 2-D array of shape [N, K], got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("probs contains NaN or infinite values")
    if (p < 0).any():
        raise ValueError("probs must be non-negative (pass softmax outputs, not logits)")
    sums = p.sum(axis=1)
    worst = np.abs(sums - 1.0).max()
    if worst > _SUM_TOL:
        raise ValueError(
            f"each row of probs must sum to 1 (tolerance {_SUM_TOL}); "
            f"the worst row is off by {worst:.3g}"
        )
    # Within tolerance, treat the residual as rounding: renormalise so each row is a distribution.
    return p / sums[:, None]


def inception_score(probs: ArrayLike, splits: int = 10) -> tuple[float, float]:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))``, averaged over splits of the samples.

    Salimans et al. 2016, "Improved Techniques for Training GANs". High when each sample is
    classified confidently (low-entropy ``p(y|x)``) and the classes are varied (high-entropy
    marginal ``p(y)``); it ranges from 1 to ``K``. As in the original protocol the marginal
    ``p(y)`` is estimated within each split, and the splits are the contiguous chunks that
    ``np.array_split(probs, splits)`` makes.

    Args:
        probs: Class probabilities ``p(y|x)``, shape ``[N, K]``, rows non-negative and summing to
            1 (within 1e-3; rows are renormalised).
        splits: Number of splits, ``1 <= splits <= N``.

    Returns:
        ``(mean, std)`` of the per-split scores (population std, ``ddof=0``).

    Raises:
        ValueError: If ``probs`` is not a valid ``[N, K]`` probability matrix, or ``splits`` is
            less than 1 or greater than ``N``.
    """
    p = _as_probs(probs)
    if splits < 1:
        raise ValueError(f"splits must be >= 1, got {splits}")
    if p.shape[0] < splits:
        raise ValueError(f"need at least splits={splits} samples, got {p.shape[0]}")
    scores = np.empty(splits, dtype=np.float64)
    for i, part in enumerate(np.array_split(p, splits)):
        marginal = part.mean(axis=0, keepdims=True)
        # Per-sample KL(p(y|x) || p(y)) = sum_y p log p - p log p(y).
        kl = (part * (np.log(part + _EPS) - np.log(marginal + _EPS))).sum(axis=1)
        scores[i] = np.exp(kl.mean())
    return float(scores.mean()), float(scores.std())
