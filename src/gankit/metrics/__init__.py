"""Metrics of sample quality and diversity.

Array-level functions (NumPy, on feature arrays): `frechet_distance`, `kernel_inception_distance`,
`inception_score`, `prdc`, `mixture_mode_coverage`, `label_mode_coverage`; on image batches:
`psnr`, `ssim`, `bicubic_upscale` (the super-resolution baseline). Run-level:
`evaluate(handle, metrics)` and `mode_coverage(samples, dataset)`; any two image sets:
`compare(a, b)` (`gankit fid`). Image features come from the shipped classifiers (digits,
Fashion-MNIST) or from InceptionV3 with the user's weights (`choose_extractor`,
`load_inception`).
"""

from gankit.metrics import translation  # noqa: F401  (registers the image-to-image metrics)
from gankit.metrics.classifier import DigitsClassifier, digit_outputs, load_digits_classifier
from gankit.metrics.codes import code_purity
from gankit.metrics.compare import compare
from gankit.metrics.distances import (
    feature_stats,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
)
from gankit.metrics.evaluate import METRICS, EvalContext, applicable, evaluate, mode_coverage
from gankit.metrics.fashion import FashionClassifier, fashion_outputs, load_fashion_classifier
from gankit.metrics.features import Extractor, choose_extractor
from gankit.metrics.image import bicubic_upscale, psnr, ssim
from gankit.metrics.inception import FIDInceptionV3, load_inception
from gankit.metrics.modes import label_mode_coverage, mixture_mode_coverage
from gankit.metrics.prdc import prdc
from gankit.metrics.scores import inception_score

__all__ = [
    "METRICS",
    "DigitsClassifier",
    "EvalContext",
    "Extractor",
    "FIDInceptionV3",
    "FashionClassifier",
    "applicable",
    "bicubic_upscale",
    "choose_extractor",
    "code_purity",
    "compare",
    "digit_outputs",
    "evaluate",
    "fashion_outputs",
    "feature_stats",
    "frechet_distance",
    "frechet_distance_from_stats",
    "inception_score",
    "kernel_inception_distance",
    "label_mode_coverage",
    "load_digits_classifier",
    "load_fashion_classifier",
    "load_inception",
    "mixture_mode_coverage",
    "mode_coverage",
    "prdc",
    "psnr",
    "ssim",
]
