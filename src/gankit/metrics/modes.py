"""Mode-collapse metrics for data with known modes: Gaussian mixtures and stacked MNIST.

These follow the evaluation of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018,
"PacGAN: The power of two samples in generative adversarial networks", Tables 1 and 3): count
the modes a generator reaches, and measure how far its histogram over modes is from uniform.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist

from gankit.metrics.distances import _as_features, _check_same_dim


def _kl_to_uniform(counts: np.ndarray) -> float:
    """Reverse KL ``KL(p || uniform)`` of the histogram ``counts`` over ``len(counts)`` modes.

    Empty modes contribute nothing (0·log 0 = 0); an all-zero histogram has no distribution
    to compare, which is reported as ``inf`` (the generator reaches no mode at all).
    """
    total = counts.sum()
    if total == 0:
        return float("inf")
    p = counts[counts > 0] / total
    # KL(p || 1/K) = sum p log(p K): zero exactly when every mode is equally populated.
    return float(np.sum(p * np.log(p * len(counts))))


def mixture_mode_coverage(
    samples: ArrayLike, means: ArrayLike, std: float, threshold: float = 3.0
) -> dict[str, float]:
    """Modes reached and sample quality for a mixture of isotropic Gaussians (e.g. 2-D rings/grids).

    The protocol of VEEGAN and PacGAN (Lin et al. 2018, Table 1): each sample is assigned to its
    nearest mean and counts as *high quality* if it lies strictly within ``threshold · std`` of
    it. A mode is *covered* if at least one high-quality sample is assigned to it.

    Args:
        samples: Generated points, shape ``[N, D]``.
        means: Centres of the mixture components, shape ``[K, D]``.
        std: Standard deviation of every (isotropic) component, ``> 0``.
        threshold: Quality radius in units of ``std``, ``> 0``.

    Returns:
        A dict of floats: ``"modes"`` (covered modes), ``"num_modes"`` (``K``),
        ``"high_quality"`` (percentage, 0–100, of high-quality samples) and ``"kl"``
        (``KL(p_gen || uniform)`` of the high-quality samples' histogram over modes; ``inf`` if
        there are no high-quality samples).

    Raises:
        ValueError: On bad shapes, differing dimensions, or non-positive ``std``/``threshold``.
    """
    x = _as_features(samples, "samples")
    centres = _as_features(means, "means")
    _check_same_dim(x, centres, "samples", "means")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive finite number, got {std}")
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive finite number, got {threshold}")
    # K is small (tens of modes), so the full [N, K] distance matrix is cheap.
    d = cdist(x, centres)
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(x)), nearest] < threshold * std
    counts = np.bincount(nearest[good], minlength=len(centres))
    return {
        "modes": float(np.count_nonzero(counts)),
        "num_modes": float(len(centres)),
        "high_quality": 100.0 * float(good.mean()),
        "kl": _kl_to_uniform(counts),
    }


def label_mode_coverage(labels: ArrayLike, num_modes: int) -> dict[str, float]:
    """Modes reached by classifier-labelled samples, e.g. stacked MNIST (1000 modes).

    For stacked MNIST each sample's label is ``100·d1 + 10·d2 + d3`` from the digits a
    pretrained classifier reads in its three channels, as in VEEGAN and PacGAN (Table 3).

    Args:
        labels: Integer mode labels of the generated samples, shape ``[N]``, each in
            ``[0, num_modes)``.
        num_modes: Total number of modes ``K``, ``>= 1``.

    Returns:
        A dict of floats: ``"modes"`` (distinct labels seen), ``"num_modes"`` (``K``) and
        ``"kl"`` (``KL(p_gen || uniform over K)`` of the label histogram).

    Raises:
        ValueError: If ``labels`` is not a non-empty 1-D integer array within range, or
            ``num_modes < 1``.
    """
    if num_modes < 1:
        raise ValueError(f"num_modes must be >= 1, got {num_modes}")
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array [N], got shape {y.shape}")
    # Bools are integers to NumPy but almost certainly a mistake here; floats would need rounding.
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= num_modes:
        raise ValueError(
            f"labels must lie in [0, {num_modes}), got values from {y.min()} to {y.max()}"
        )
    # bincount refuses uint64 (no safe cast to intp); the range check makes int64 lossless.
    counts = np.bincount(y.astype(np.int64), minlength=num_modes)
    return {
        "modes": float(np.count_nonzero(counts)),
        "num_modes": float(num_modes),
        "kl": _kl_to_uniform(counts),
    }
