"""The shipped attribute classifier of the `shapes` scenes, and text–image consistency.

A small CNN with one head per attribute (the first shape's kind, colour, size and position, and
the background), trained by `scripts/train_shapes_classifier.py` on the renderer's own `judge`
scenes (one shape, any combination, never shown to a generative model); its accuracy on the
held-out test split, seen and unseen combinations apart, is in its card.
It reads RGB images in [−1, 1] resized to 32×32, so samples of any resolution are judged alike.

`caption_consistency(images, attributes)`: how often each attribute of a generated image is
what its caption said (the scenes' ground truth), how often kind and colour both are, and how
often all five are.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from gankit.data.base import resize_images
from gankit.data.shapes import ATTRIBUTES, VALUES
from gankit.metrics.classifier import conv_block, load_shipped, weights_card

WEIGHTS = "shapes_classifier.safetensors"


class ShapesClassifier(nn.Module):
    """Three conv blocks and a 128-d embedding: [N, 3, H, W] in [−1, 1] -> one logit vector per
    attribute ({"kind": [N, 4], "colour": [N, 6], ...})."""

    resolution = 32

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            *conv_block(3, width),  # [N, w, 16, 16]
            *conv_block(width, 2 * width),  # [N, 2w, 8, 8]
            *conv_block(2 * width, 4 * width),  # [N, 4w, 4, 4]
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(4 * width * 16, 128),
            nn.ReLU(),
        )
        self.heads = nn.ModuleDict({a: nn.Linear(128, len(VALUES[a])) for a in ATTRIBUTES})

    def features(self, x: Tensor) -> Tensor:
        """The 128-d penultimate activations (for classifier-FID and diversity)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected RGB images [N, 3, H, W], got {tuple(x.shape)}")
        return self.trunk(resize_images(x.float(), self.resolution))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.features(x)
        return {a: head(h) for a, head in self.heads.items()}


@functools.lru_cache(maxsize=1)
def load_shapes_classifier() -> ShapesClassifier:
    """The shipped classifier (CPU, eval mode, cached)."""
    return load_shipped(ShapesClassifier(), WEIGHTS)


def shapes_classifier_card() -> dict[str, object]:
    return weights_card(WEIGHTS)


@torch.no_grad()
def predict_attributes(images: Tensor, batch_size: int = 500) -> Tensor:
    """The classifier's attributes [N, 5] (indices into `VALUES[a]`, in `ATTRIBUTES` order)."""
    model = load_shapes_classifier()
    rows = []
    for chunk in images.float().cpu().split(batch_size):
        out = model(chunk)
        rows.append(torch.stack([out[a].argmax(1) for a in ATTRIBUTES], 1))
    return torch.cat(rows)


@torch.no_grad()
def shapes_features(images: Tensor, batch_size: int = 500) -> Tensor:
    """The classifier's features [N, 128] of images [N, 3, H, W]."""
    model = load_shapes_classifier()
    return torch.cat([model.features(c) for c in images.float().cpu().split(batch_size)])


def caption_consistency(images: Tensor, attributes: Tensor) -> dict[str, float]:
    """Per-attribute agreement of generated images [N, 3, H, W] with the attributes [N, 5] their
    captions said, `kind+colour` (both right: the shape asked for) and `all` (every attribute
    right)."""
    right = predict_attributes(images) == attributes.cpu()
    out = {a: float(right[:, k].float().mean()) for k, a in enumerate(ATTRIBUTES)}
    out["kind+colour"] = float(right[:, :2].all(1).float().mean())
    out["all"] = float(right.all(1).float().mean())
    return out
