"""The shipped Fashion-MNIST classifier: features and class probabilities of clothing images.

An offline stand-in for the Inception network of FID/IS, so that every image model trained on
Fashion-MNIST (Xiao et al., 2017) gets classifier-FID, KID, IS, PRDC and class accuracy without a
download. A small CNN trained by `scripts/train_fashion_classifier.py` on the 60,000 images of
the training split only (Adam, cosine schedule, random shifts of up to 2 pixels, images also
passed through 32×32 and 64×64 as generated samples will be), so the 10,000 of the test split
stay held out: on them it scores 91.7% at 28×28, 32×32 and 64×64 alike (the exact figures, the
data's SHA-256 and the command are in its card, `fashion_card()`). Its weights are
`weights/fashion_classifier.safetensors` (0.9 MB).

It reads 28×28 grayscale images in [−1, 1]; images of any other size are resized first, so
models trained at any resolution are judged alike. Its numbers are comparable only with other
gankit numbers on Fashion-MNIST, never with Inception FID/IS published elsewhere.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from gankit.data.mnist import FASHION_CLASSES
from gankit.metrics.classifier import GrayClassifier, conv_block, load_shipped, weights_card

WEIGHTS = "fashion_classifier.safetensors"


class FashionClassifier(GrayClassifier):
    """Two conv blocks and a 128-d embedding: [N, 1, H, W] in [−1, 1] -> logits [N, 10].

    Args:
        width: channels of the first block (doubled by the second).

    `features` returns the 128-d penultimate activations used for FID, KID and PRDC.
    """

    resolution = 28
    feature_dim = 128

    def __init__(self, width: int = 16) -> None:
        super().__init__()

        self.trunk = nn.Sequential(
            *conv_block(1, width),  # [N, w, 14, 14]
            *conv_block(width, 2 * width),  # [N, 2w, 7, 7]
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(2 * width * 49, self.feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Dropout(0.3), nn.Linear(self.feature_dim, len(FASHION_CLASSES))
        )


def fashion_card() -> dict[str, object]:
    """The training record stored with the shipped weights (test accuracy, data, command)."""
    return weights_card(WEIGHTS)


@functools.lru_cache(maxsize=1)
def load_fashion_classifier() -> FashionClassifier:
    """The shipped classifier (CPU, eval mode, cached)."""
    width = int(fashion_card().get("width", 16))  # type: ignore[call-overload]
    return load_shipped(FashionClassifier(width), WEIGHTS)


@torch.no_grad()
def fashion_outputs(images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """(features [N, 128], probabilities [N, 10]) of grayscale images [N, 1, H, W] in [−1, 1].

    Raises:
        ValueError: the images are not [N, 1, H, W] (colour images have no Fashion-MNIST
            features).
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"expected grayscale images [N, 1, H, W], got {tuple(images.shape)}")
    model = load_fashion_classifier()
    feats = [torch.zeros(0, model.feature_dim)]
    probs = [torch.zeros(0, len(FASHION_CLASSES))]
    for chunk in images.detach().float().cpu().split(batch_size):
        f = model.features(chunk)  # [n, 128]
        feats.append(f)
        probs.append(torch.softmax(model.head(f), dim=1))
    return torch.cat(feats), torch.cat(probs)
