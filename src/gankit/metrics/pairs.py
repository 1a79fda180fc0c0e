"""Pair agreement: how often the two images of a generated pair show the same thing.

CoGAN (Liu & Tuzel 2016) draws a pair of images, one per domain, from one latent vector; it
has learned the joint distribution when the pair shows one content in two renderings (a digit
and its negative). With a classifier for the content of each domain, the share of pairs whose
two images get the same class measures that: 1 for perfectly coupled pairs, about 1 / classes
(0.1 for digits) for two independent generators.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.metrics.classifier import digit_outputs

Classifier = Callable[[Tensor], Tensor]  # images [N, C, H, W] -> logits (or probabilities) [N, K]


@torch.no_grad()
def pair_agreement(
    a_images: Tensor,
    b_images: Tensor,
    classify_a: Classifier,
    classify_b: Classifier,
    *,
    batch_size: int = 1000,
) -> float:
    """Fraction of pairs (a_images[i], b_images[i]) whose images get the same class.

    Args:
        a_images, b_images: the two sides of N pairs, [N, C, H, W] each (domains A and B).
        classify_a, classify_b: each domain's classifier, images -> logits [n, K] (any scores
            whose argmax is the class, e.g. probabilities).
        batch_size: images classified at once.
    """
    if len(a_images) != len(b_images):
        raise ValueError(f"pairs need as many A as B images: {len(a_images)} vs {len(b_images)}")
    if not len(a_images):
        raise ValueError("pair agreement of no pairs")
    same = 0
    for a, b in zip(a_images.split(batch_size), b_images.split(batch_size)):
        same += int((classify_a(a).argmax(-1) == classify_b(b).argmax(-1)).sum())
    return same / len(a_images)


def digit_class_probs(images: Tensor) -> Tensor:
    """The shipped digits classifier's class probabilities [N, 10] of digits [N, 1, H, W]."""
    return digit_outputs(images)[1][:, 0]


def negative_digit_class_probs(images: Tensor) -> Tensor:
    """The same for negative digits (dark ink on light paper): the ink is flipped back first
    (−x in [−1, 1]), since the classifier only knows light ink."""
    return digit_outputs(-images)[1][:, 0]


def digits_negative_agreement(a_images: Tensor, b_images: Tensor) -> float:
    """Pair agreement for `digits-negative`: A digits vs B negative digits, [N, 1, H, W] each."""
    return pair_agreement(a_images, b_images, digit_class_probs, negative_digit_class_probs)


def character_class_logits(images: Tensor) -> Tensor:
    """The shipped glyph character classifier's logits [N, 62] of glyphs [N, 1, H, W] (of any
    font and weight)."""
    from gankit.metrics.glyphs import character_logits  # its weights load on first use

    return character_logits(images)


# datasets -> the classifiers of their two domains
PAIR_CLASSIFIERS: dict[str, tuple[Classifier, Classifier]] = {
    "digits-negative": (digit_class_probs, negative_digit_class_probs),
    "glyphs-regular2bold": (character_class_logits, character_class_logits),
}


def pair_agreement_of(a_images: Tensor, b_images: Tensor, dataset: str) -> float:
    """Pair agreement of pairs drawn for the built-in two-domain set `dataset`."""
    if dataset not in PAIR_CLASSIFIERS:
        known = ", ".join(PAIR_CLASSIFIERS)
        raise GankitError(f"no pair classifiers for {dataset!r} (pair agreement knows {known})")
    classify_a, classify_b = PAIR_CLASSIFIERS[dataset]
    return pair_agreement(a_images, b_images, classify_a, classify_b)
