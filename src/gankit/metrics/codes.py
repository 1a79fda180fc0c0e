"""How well generated samples follow the labels or codes they were drawn with: class accuracy of
a conditional generator, and the purity of an InfoGAN categorical code."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment


def code_purity(codes: ArrayLike, classes: ArrayLike) -> dict[str, float]:
    """How well an unsupervised categorical code predicts a class.

    Args:
        codes: the code value each sample was generated with [N] (ints).
        classes: the class a classifier gives each sample [N] (ints).

    Returns:
        `purity`: accuracy of the best one-to-one matching of code values to classes (Hungarian
        algorithm on the confusion matrix; unmatched codes count as wrong), the measure of
        InfoGAN's "5% error" on MNIST; `purity_majority`: accuracy when each code value predicts
        its most frequent class (many-to-one, an upper bound of the former).
    """
    codes, classes = np.asarray(codes, dtype=np.int64), np.asarray(classes, dtype=np.int64)
    if codes.shape != classes.shape or codes.ndim != 1 or codes.size == 0:
        raise ValueError("codes and classes must be non-empty 1-D arrays of one length")
    if codes.min() < 0 or classes.min() < 0:
        raise ValueError("codes and classes must be non-negative integers")
    confusion = np.zeros((codes.max() + 1, classes.max() + 1), dtype=np.int64)
    np.add.at(confusion, (codes, classes), 1)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    n = codes.size
    return {
        "purity": float(confusion[rows, cols].sum() / n),
        "purity_majority": float(confusion.max(axis=1).sum() / n),
    }
