"""Feature extractors for FID, KID, IS and PRDC, and streaming extraction.

An extractor maps a batch of images in [-1, 1] to features (for FID, KID, PRDC) and class
probabilities (for IS). Three kinds exist:

- the shipped offline classifiers, each for the data it was trained on: the digits classifier for
  `digits` and `stacked-digits` (each channel one digit), the Fashion-MNIST classifier for
  `fashion-mnist`. Their numbers compare only with other gankit numbers on the same data.
- InceptionV3, the network of the FID reference (`gankit.metrics.inception`), for any images,
  with weights the user provides. Images go in as the 8-bit pixels a saved PNG would hold, as the
  reference implementations take them, and its 2,048-d pool features and its 1,008-way softmax
  (of the logits without the classifier's bias, as the original Inception Score code computes
  them) come out.

`choose_extractor` picks one for a dataset: `classifier` (the shipped one, or an error saying
there is none), `inception`, or `auto` (the shipped classifier where one exists, else Inception
if its weights are found, else an error saying how to get them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from gankit.errors import GankitError
from gankit.files import file_sha256
from gankit.viz.grid import pixels

FeatureChoice = Literal["auto", "classifier", "inception"]
FEATURE_CHOICES: tuple[FeatureChoice, ...] = ("auto", "classifier", "inception")
# datasets with a shipped classifier -> its name
CLASSIFIERS = {"digits": "digits", "stacked-digits": "digits", "fashion-mnist": "fashion"}


@dataclass(frozen=True)
class Extractor:
    """A feature extractor.

    Attributes:
        name: what it is (`digits-classifier`, `fashion-classifier`, `inception-v3`).
        weights: SHA-256 of its weights file (part of every cache key).
        run: one batch [B, C, H, W] in [-1, 1] -> (features [B, D], probabilities [B, K]).
        batch_size: images per call, to bound memory.
        comparable: whether its numbers compare with published ones (the reference Inception
            weights only).
    """

    name: str
    weights: str
    run: Callable[[Tensor], tuple[Tensor, Tensor]]
    batch_size: int
    comparable: bool = False


@functools.cache
def _shipped_sha256(filename: str) -> str:
    with resources.as_file(resources.files("gankit.metrics") / "weights" / filename) as path:
        return file_sha256(path)


def digits_extractor() -> Extractor:
    """The digits classifier per channel: features [B, C·64], probabilities over the 10^C digit
    tuples (the channels' digits taken as independent)."""
    from gankit.metrics.classifier import WEIGHTS, digit_outputs

    def run(x: Tensor) -> tuple[Tensor, Tensor]:
        feats, probs = digit_outputs(x)  # [B, C·64], [B, C, 10]
        joint = probs[:, 0]
        for c in range(1, probs.shape[1]):
            joint = (joint[:, :, None] * probs[:, c, None, :]).reshape(len(probs), -1)
        return feats, joint

    return Extractor("digits-classifier", _shipped_sha256(WEIGHTS), run, 1000)


def fashion_extractor() -> Extractor:
    """The shipped Fashion-MNIST classifier: its embedding and its 10-way softmax."""
    from gankit.metrics.fashion import WEIGHTS, fashion_outputs

    return Extractor("fashion-classifier", _shipped_sha256(WEIGHTS), fashion_outputs, 1000)


def inception_extractor(
    path: str | Path | None = None, device: str | torch.device = "cpu"
) -> Extractor:
    """InceptionV3 with the weights at `path` (else where `inception_weights_path` finds them)."""
    from gankit.metrics.inception import INCEPTION_SHA256, inception_outputs, load_inception

    model, sha = load_inception(path, device=device)

    def run(x: Tensor) -> tuple[Tensor, Tensor]:
        if x.shape[1] not in (1, 3):
            raise GankitError(f"Inception reads grayscale or RGB images, not {x.shape[1]} channels")
        out = inception_outputs(model, pixels(x).to(device))
        return out["pool"], torch.softmax(out["logits_unbiased"].double(), dim=1)

    return Extractor("inception-v3", sha, run, 64, comparable=sha == INCEPTION_SHA256)


def has_classifier(dataset: str) -> bool:
    return dataset in CLASSIFIERS


def classifier_extractor(dataset: str) -> Extractor:
    """The shipped classifier of `dataset`; a GankitError naming those that exist otherwise."""
    if dataset not in CLASSIFIERS:
        known = ", ".join(sorted(CLASSIFIERS))
        raise GankitError(
            f"no shipped classifier for {dataset!r} (there are for {known}): use "
            "--features inception"
        )
    return digits_extractor() if CLASSIFIERS[dataset] == "digits" else fashion_extractor()


def choose_extractor(
    dataset: str, features: FeatureChoice = "auto", inception: str | Path | None = None
) -> Extractor:
    """The extractor for images of `dataset` (see the module docstring)."""
    if features not in FEATURE_CHOICES:
        raise GankitError(
            f"--features must be one of {', '.join(FEATURE_CHOICES)}, not {features!r}"
        )
    if features == "classifier" or (features == "auto" and dataset in CLASSIFIERS):
        return classifier_extractor(dataset)
    if features == "auto" and inception is None:
        from gankit.metrics.inception import inception_weights_path

        try:
            inception = inception_weights_path(None)  # found once, then loaded from there
        except GankitError as err:
            raise GankitError(
                f"no offline feature extractor for {dataset!r}: gankit ships classifiers only "
                f"for {', '.join(sorted(CLASSIFIERS))}. For any other images the metrics use "
                f"InceptionV3, whose weights were not found: {err}"
            ) from None
    return inception_extractor(inception)


def extract(
    extractor: Extractor,
    batches: Iterable[Tensor],
    total: int,
    *,
    desc: str = "features",
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Features [N, D] (float64) and probabilities [N, K] of the images that `batches` yields
    ([B, C, H, W] in [-1, 1]), one extractor batch at a time, so that only the features of all
    N images are ever held, never the images."""
    feats, probs = [], []
    with tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False) as bar:
        for batch in batches:
            for chunk in batch.split(extractor.batch_size):
                with torch.no_grad():
                    f, p = extractor.run(chunk)
                feats.append(f.double().cpu().numpy())
                probs.append(p.double().cpu().numpy())
                bar.update(len(chunk))
    if not feats:
        raise GankitError(f"no images to extract {desc} from")
    return np.concatenate(feats), np.concatenate(probs)
