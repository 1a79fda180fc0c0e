"""Metrics of sample quality and diversity.

Array-level functions (NumPy, on feature arrays): `frechet_distance`, `kernel_inception_distance`,
`inception_score`, `prdc`, `mixture_mode_coverage`, `label_mode_coverage`; on image batches:
`psnr`, `ssim`, `bicubic_upscale` (the super-resolution baseline). Run-level:
`evaluate(handle, metrics)` and `mode_coverage(samples, dataset)`, with features from the shipped
digits classifier (`load_digits_classifier`).
"""

from gankit.metrics import translation  # noqa: F401  (registers the image-to-image metrics)
from gankit.metrics.classifier import DigitsClassifier, digit_outputs, load_digits_classifier
from gankit.metrics.codes import code_purity
from gankit.metrics.distances import (
    feature_stats,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
)
from gankit.metrics.evaluate import METRICS, EvalContext, applicable, evaluate, mode_coverage
from gankit.metrics.image import bicubic_upscale, psnr, ssim
from gankit.metrics.modes import label_mode_coverage, mixture_mode_coverage
from gankit.metrics.prdc import prdc
from gankit.metrics.scores import inception_score

__all__ = [
    "METRICS",
    "DigitsClassifier",
    "EvalContext",
    "applicable",
    "bicubic_upscale",
    "code_purity",
    "digit_outputs",
    "evaluate",
    "feature_stats",
    "frechet_distance",
    "frechet_distance_from_stats",
    "inception_score",
    "kernel_inception_distance",
    "label_mode_coverage",
    "load_digits_classifier",
    "mixture_mode_coverage",
    "mode_coverage",
    "prdc",
    "psnr",
    "ssim",
]
