"""The shipped digits classifier: features and class probabilities for the digit datasets.

An offline stand-in for the Inception network of FID/IS: a small CNN trained by
`scripts/train_digits_classifier.py` on the training split of `digits` only (so the held-out split
stays held out), with its weights in `weights/digits_classifier.safetensors`. It reads 16×16
grayscale digits in [−1, 1]; images of any other size are resized first, so models trained at any
resolution are judged alike.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import TypeVar

import torch
from safetensors.torch import load_file, safe_open, save_file
from torch import Tensor, nn

from gankit.data.base import resize_images
from gankit.files import atomic_write, make_dirs

WEIGHTS = "digits_classifier.safetensors"


def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    """Two 3×3 conv + ReLU layers and a 2× max-pool: the stage of the shipped classifiers."""
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
    ]


class GrayClassifier(nn.Module):
    """A shipped classifier of grayscale images: `trunk` maps images resized to `resolution`
    to `feature_dim` features, `head` maps them to logits. Subclasses build the two."""

    resolution: int
    feature_dim: int
    trunk: nn.Module
    head: nn.Module

    def prepare(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"expected grayscale images [N, 1, H, W], got {tuple(x.shape)}")
        return resize_images(x.float(), self.resolution)

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(self.prepare(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def weights_card(filename: str) -> dict[str, object]:
    """The training record stored in the metadata of shipped weights `filename`."""
    path = resources.files("gankit.metrics") / "weights" / filename
    with resources.as_file(path) as p, safe_open(str(p), "pt") as f:
        return json.loads((f.metadata() or {}).get("card", "{}"))


M = TypeVar("M", bound=nn.Module)


def load_shipped(model: M, filename: str) -> M:
    """`model` with the shipped weights `filename` (from `weights/`), frozen, in eval mode."""
    path = resources.files("gankit.metrics") / "weights" / filename
    with resources.as_file(path) as p:
        model.load_state_dict(load_file(str(p)))
    return model.requires_grad_(False).eval()


def save_shipped(model: nn.Module, path: Path, card: dict[str, object]) -> None:
    """Write `model`'s weights to the safetensors file `path` with `card` (how it was trained,
    what it scores) in the metadata, where `weights_card` reads it: the training scripts'."""
    make_dirs(path.parent)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata={"card": json.dumps(card)}))


class DigitsClassifier(GrayClassifier):
    """Two conv blocks and a 64-d embedding: [N, 1, H, W] in [−1, 1] -> logits [N, 10].

    `features` returns the 64-d penultimate activations used for FID, KID and PRDC.
    """

    resolution = 16
    feature_dim = 64

    def __init__(self, width: int = 32) -> None:
        super().__init__()

        self.trunk = nn.Sequential(
            *conv_block(1, width),  # [N, w, 8, 8]
            *conv_block(width, 2 * width),  # [N, 2w, 4, 4]
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(2 * width * 16, self.feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(self.feature_dim, 10))


@functools.lru_cache(maxsize=1)
def load_digits_classifier() -> DigitsClassifier:
    """The shipped classifier (CPU, eval mode, cached)."""
    return load_shipped(DigitsClassifier(), WEIGHTS)


def classifier_card() -> dict[str, object]:
    """The training record stored with the shipped weights (accuracy, data, command)."""
    return weights_card(WEIGHTS)


@torch.no_grad()
def digit_outputs(images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """(features [N, C·64], probabilities [N, C, 10]) of images [N, C, H, W]; each channel is a
    digit (C = 1 for digits, 3 for stacked digits)."""
    model = load_digits_classifier()
    feats, probs = [], []
    for chunk in images.float().cpu().split(batch_size):
        n, c = chunk.shape[:2]
        flat = chunk.reshape(n * c, 1, *chunk.shape[2:])
        f = model.features(flat)
        feats.append(f.reshape(n, c * model.feature_dim))
        probs.append(torch.softmax(model.head(f), dim=1).reshape(n, c, 10))
    return torch.cat(feats), torch.cat(probs)
