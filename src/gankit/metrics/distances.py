"""Distances between two sets of feature vectors: Fréchet (FID) and kernel (KID) distances.

Both take features already extracted by some network (Inception pool3 for the classic FID/KID,
any embedding otherwise), as arrays ``[N, D]``. Everything is computed in float64 with NumPy
(and SciPy's LAPACK for FID's eigenvalues), so the numbers do not depend on the device or
precision the features came from.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike
from scipy.linalg.blas import dsyrk


def _as_features(x: ArrayLike, name: str, min_rows: int = 1) -> np.ndarray:
    """Convert ``x`` to a finite float64 matrix ``[N, D]`` with at least ``min_rows`` rows.

    Shared by the metric modules so that every metric rejects bad input with the same messages.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape [N, D], got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no feature dimensions (shape {arr.shape})")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_same_dim(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{name_a} and {name_b} have different feature dimensions: "
            f"{a.shape[-1]} vs {b.shape[-1]}"
        )


def feature_stats(feats: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of a feature set, the sufficient statistics of FID.

    Computing these once for a reference set (e.g. the training images) and caching them lets
    :func:`frechet_distance_from_stats` score many generators without re-reading the data.

    Args:
        feats: Features, shape ``[N, D]`` with ``N >= 2``.

    Returns:
        ``(mu, sigma)``: the mean, shape ``[D]``, and the covariance with ``ddof=1``, shape
        ``[D, D]``, both float64.

    Raises:
        ValueError: If ``feats`` is not a finite 2-D array with at least two rows.
    """
    # Two rows is the minimum for an unbiased (ddof=1) covariance.
    x = _as_features(feats, "feats", min_rows=2)
    mu = x.mean(axis=0)
    centred = x - mu  # [N, D], C order: its transpose is a Fortran-order [D, N], no copy
    # C^T C by BLAS's symmetric rank-k update: half the flops of np.cov's general product,
    # for the one triangle it fills, mirrored below.
    upper = dsyrk(1.0 / (len(x) - 1), centred.T, trans=0, lower=0)
    return mu, np.triu(upper) + np.triu(upper, 1).T


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix via its eigendecomposition."""
    evals, evecs = np.linalg.eigh(sigma)
    # Rounding can push zero eigenvalues (rank-deficient covariances, N <= D) slightly negative.
    evals = np.clip(evals, 0.0, None)
    return (evecs * np.sqrt(evals)) @ evecs.T


def _trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """``tr((Sa Sb)^{1/2})`` for PSD ``Sa``, ``Sb`` without a general (non-symmetric) sqrtm.

    For any factor ``Sa = F F^T``, ``Sa Sb = F (F^T Sb)`` has the same eigenvalues as
    ``F^T Sb F``, which is symmetric PSD; so the trace is the sum of square roots of the
    eigenvalues of ``F^T Sb F``. This stays real and stable for singular covariances, where
    ``scipy.linalg.sqrtm`` of the non-symmetric product returns complex noise.

    When ``Sa`` is positive definite (the usual case, more samples than dimensions) ``F`` is its
    Cholesky factor and LAPACK does it all in one call: the generalized symmetric eigenproblem
    ``Sb Sa v = w v`` (``eigh`` type 2) factors ``Sa``, forms ``F^T Sb F`` exploiting symmetry
    and takes its eigenvalues: about 2.7·D^3 flops, several times less than the fallback below
    (eigh of ``Sa`` with eigenvectors, three general products, eigvalsh). Type 2 never inverts
    the factor, so an ill-conditioned ``Sa`` costs no accuracy. A singular ``Sa`` (N <= D)
    makes the Cholesky step fail, and ``F = Sa^{1/2}`` from ``eigh`` takes over.
    """
    try:
        # driver "gv" (dsygv): for eigenvalues alone it measured faster than "gvd" here.
        evals = scipy.linalg.eigh(
            sigma_b, sigma_a, type=2, eigvals_only=True, driver="gv", check_finite=False
        )
    except np.linalg.LinAlgError:
        root = _sqrt_psd(sigma_a)
        m = root @ sigma_b @ root
        # Symmetrise: the products break exact symmetry by rounding, and eigvalsh assumes it.
        evals = np.linalg.eigvalsh(0.5 * (m + m.T))
    # Rounding can push the zero eigenvalues of singular products slightly negative.
    return float(np.sqrt(np.clip(evals, 0.0, None)).sum())


def _as_stats(mu: ArrayLike, sigma: ArrayLike, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one set of Gaussian statistics: a finite ``[D]`` mean and ``[D, D]`` covariance."""
    mu_arr = np.asarray(mu, dtype=np.float64)
    sigma_arr = np.asarray(sigma, dtype=np.float64)
    if mu_arr.ndim != 1 or mu_arr.shape[0] == 0:
        raise ValueError(f"mu_{tag} must be a non-empty 1-D array [D], got shape {mu_arr.shape}")
    d = mu_arr.shape[0]
    if sigma_arr.shape != (d, d):
        raise ValueError(
            f"sigma_{tag} must have shape [D, D] = ({d}, {d}) to match mu_{tag}, "
            f"got {sigma_arr.shape}"
        )
    if not (np.isfinite(mu_arr).all() and np.isfinite(sigma_arr).all()):
        raise ValueError(f"mu_{tag} and sigma_{tag} must be finite")
    return mu_arr, sigma_arr


def frechet_distance_from_stats(
    mu_a: ArrayLike, sigma_a: ArrayLike, mu_b: ArrayLike, sigma_b: ArrayLike
) -> float:
    """Fréchet distance between two Gaussians given their means and covariances.

    ``||mu_a - mu_b||^2 + tr(Sa + Sb - 2 (Sa Sb)^{1/2})`` (Heusel et al. 2017, "GANs Trained by
    a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium"; Dowson & Landau 1982).

    Args:
        mu_a: Mean of the first set, shape ``[D]``.
        sigma_a: Covariance of the first set, shape ``[D, D]``, positive semi-definite.
        mu_b: Mean of the second set, shape ``[D]``.
        sigma_b: Covariance of the second set, shape ``[D, D]``, positive semi-definite.

    Returns:
        The squared Fréchet distance (the quantity reported as FID), ``>= 0``.

    Raises:
        ValueError: If the shapes are not ``[D]`` / ``[D, D]`` with one common ``D``, or any
            value is not finite.
    """
    m_a, s_a = _as_stats(mu_a, sigma_a, "a")
    m_b, s_b = _as_stats(mu_b, sigma_b, "b")
    _check_same_dim(m_a, m_b, "mu_a", "mu_b")
    # Covariances are symmetric in exact arithmetic; cached ones may carry rounding asymmetry.
    sa, sb = 0.5 * (s_a + s_a.T), 0.5 * (s_b + s_b.T)
    diff = m_a - m_b
    fid = diff @ diff + np.trace(sa) + np.trace(sb) - 2.0 * _trace_sqrt_product(sa, sb)
    # The true value is >= 0; clip the ~1e-12 negative rounding residue of identical inputs.
    return max(float(fid), 0.0)


def frechet_distance(feats_a: ArrayLike, feats_b: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features).

    Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
    Equilibrium". Symmetric in its arguments, and zero for identical sets.

    Args:
        feats_a: Features of the first set, shape ``[N_a, D]``, ``N_a >= 2``.
        feats_b: Features of the second set, shape ``[N_b, D]``, ``N_b >= 2``.

    Returns:
        The squared Fréchet distance, ``>= 0``.

    Raises:
        ValueError: If either input is not a finite 2-D array with at least two rows, or the
            feature dimensions differ.
    """
    a = _as_features(feats_a, "feats_a", min_rows=2)
    b = _as_features(feats_b, "feats_b", min_rows=2)
    _check_same_dim(a, b, "feats_a", "feats_b")
    if min(len(a), len(b)) <= a.shape[1]:
        return _frechet_distance_few(a, b)
    return frechet_distance_from_stats(*feature_stats(a), *feature_stats(b))


def _frechet_distance_few(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance when a set has no more samples than dimensions (a folder of a few
    hundred images against 2,048 Inception features): exact, without any D×D matrix.

    With the centred features ``Ca`` [Na, D], ``Sa = Ca^T Ca / (Na - 1)``, and likewise for b,
    the non-zero eigenvalues of ``Sa Sb`` are those of ``K K^T / ((Na - 1)(Nb - 1))`` with
    ``K = Ca Cb^T`` [Na, Nb] (move ``Ca^T`` from the front to the back: the same non-zero
    spectrum), that is the squared singular values of ``K``, scaled. So
    ``tr((Sa Sb)^{1/2})`` is the sum of the singular values of ``K`` over
    ``sqrt((Na - 1)(Nb - 1))``, and ``tr(Sa) = ||Ca||² / (Na - 1)``. This costs Na·Nb·D for K
    and an SVD of an Na×Nb matrix, where the covariance route pays D³ whatever N is; and it
    has exact zeros where the covariance route rounds the singular product's zero eigenvalues.
    """
    ca, cb = a - a.mean(axis=0), b - b.mean(axis=0)
    scale_a, scale_b = len(a) - 1, len(b) - 1
    singular = np.linalg.svd(ca @ cb.T, compute_uv=False)
    diff = a.mean(axis=0) - b.mean(axis=0)
    trace_sqrt = singular.sum() / np.sqrt(scale_a * scale_b)
    fid = diff @ diff + (ca * ca).sum() / scale_a + (cb * cb).sum() / scale_b - 2.0 * trace_sqrt
    return max(float(fid), 0.0)


def _mmd2_unbiased_poly(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between equal-size sets under the kernel ``(x·y / d + 1)^3``."""
    m, d = x.shape
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    # Unbiased: a sample is never compared with itself, so drop the diagonals of K_xx and K_yy.
    off_diag = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(off_diag - 2.0 * k_xy.mean())


def kernel_inception_distance(
    feats_a: ArrayLike,
    feats_b: ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel, over subsets.

    Binkowski et al. 2018, "Demystifying MMD GANs". The kernel is ``k(x, y) = (x·y / d + 1)^3``.
    Unlike FID the estimator is unbiased, so it can be compared across sample sizes, and it may
    be slightly negative when the two sets come from the same distribution.

    Sampling protocol (so results are reproducible): ``rng = np.random.default_rng(seed)``;
    for each subset, ``rng.choice(N_a, subset_size, replace=False)`` picks rows of ``feats_a``,
    then ``rng.choice(N_b, subset_size, replace=False)`` picks rows of ``feats_b``.

    Args:
        feats_a: Features of the first set, shape ``[N_a, D]``.
        feats_b: Features of the second set, shape ``[N_b, D]``.
        subsets: Number of subsets to average over, ``>= 1``.
        subset_size: Rows drawn from each set per subset, ``2 <= subset_size <= min(N_a, N_b)``.
        seed: Seed of the generator that draws the subsets.

    Returns:
        ``(mean, std)`` of the per-subset MMD^2 estimates (population std, ``ddof=0``).

    Raises:
        ValueError: On bad shapes, differing feature dimensions, ``subsets < 1``,
            ``subset_size < 2``, or ``subset_size`` larger than either set.
    """
    a = _as_features(feats_a, "feats_a")
    b = _as_features(feats_b, "feats_b")
    _check_same_dim(a, b, "feats_a", "feats_b")
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    if subset_size < 2:
        # The unbiased estimator averages over pairs of distinct samples, so it needs two.
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")
    if subset_size > min(len(a), len(b)):
        raise ValueError(
            f"subset_size={subset_size} exceeds the number of samples "
            f"(feats_a has {len(a)}, feats_b has {len(b)}); pass a smaller subset_size"
        )
    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets, dtype=np.float64)
    for s in range(subsets):
        idx_a = rng.choice(len(a), subset_size, replace=False)
        idx_b = rng.choice(len(b), subset_size, replace=False)
        estimates[s] = _mmd2_unbiased_poly(a[idx_a], b[idx_b])
    return float(estimates.mean()), float(estimates.std())
