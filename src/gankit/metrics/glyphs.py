"""The shipped glyph classifiers and the translation metrics built on them.

Three small CNNs, trained by `scripts/train_glyph_classifiers.py` on training splits only (the
held-out accuracies are in each file's card, `glyph_classifier_card`), with weights in
`weights/glyph_*.safetensors`:

- `characters`: the 62 classes of `glyphs` (0-9, A-Z, a-z), trained on the twenty fonts. Its
  few errors on fresh renderings (about 1%) are nearly all I↔l and O↔0, which some fonts draw
  alike.
- `digits`: 10 classes, trained on handwritten digits (`digits`) and font digits (at the sizes of
  both `glyphs` and `digits2glyphs`), so it reads either side of `digits2glyphs`. It is a separate
  net rather than the digit rows of the character net, because a handwritten 1, 0 or 9 is, to a
  net that knows only fonts, as much an l, O or g as a digit; a dedicated 10-way net has no such
  rivals to confuse them with, and costs little.
- `domains`: one trunk with a logit per style task (`TASKS`), each trained on the two domains of
  its dataset: `sans2serif` (glyphs-sans2serif: DejaVu Sans vs Serif), `regular2bold`
  (glyphs-regular2bold: regular vs bold of five fonts) and `digits2glyphs` (handwritten vs font
  digits). The glyph heads also see every character from `glyphs`' training renderings of
  those fonts, so they can judge translations of the sets' held-out characters; their held-out
  accuracy is measured on the sets' test splits (fresh renderings). A logit > 0 means domain B
  (serif, bold, font).

Every net reads grayscale images [N, 1, H, W] in [−1, 1] at 32×32; other sizes are resized
first, so models trained at any resolution are judged alike.
"""

from __future__ import annotations

import functools
from typing import Literal

import torch
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.metrics.classifier import GrayClassifier, conv_block, load_shipped, weights_card

ClassifierName = Literal["characters", "digits", "domains"]
TASKS = ("sans2serif", "regular2bold", "digits2glyphs")
OUTPUTS: dict[str, int] = {"characters": 62, "digits": 10, "domains": len(TASKS)}
CONTENT_CLASSES = ("characters", "digits")


def weights_file(name: str) -> str:
    return f"glyph_{name}.safetensors"


class GlyphClassifier(GrayClassifier):
    """Three conv blocks and a 128-d embedding: [N, 1, H, W] in [−1, 1] -> logits [N, outputs].

    Args:
        outputs: number of logits (classes, or one per binary task).
        width: channels of the first block (doubled by each next one).

    `features` returns the 128-d penultimate activations.
    """

    resolution = 32
    feature_dim = 128

    def __init__(self, outputs: int, width: int = 16) -> None:
        super().__init__()

        self.trunk = nn.Sequential(
            *conv_block(1, width),  # [N, w, 16, 16]
            *conv_block(width, 2 * width),  # [N, 2w, 8, 8]
            *conv_block(2 * width, 4 * width),  # [N, 4w, 4, 4]
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(4 * width * 16, self.feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(self.feature_dim, outputs))


def glyph_classifier_card(name: ClassifierName) -> dict[str, object]:
    """The training record stored with classifier `name` (held-out accuracy, data, command)."""
    return weights_card(weights_file(name))


@functools.lru_cache(maxsize=len(OUTPUTS))
def load_glyph_classifier(name: ClassifierName) -> GlyphClassifier:
    """The shipped classifier `name` (CPU, eval mode, cached)."""
    if name not in OUTPUTS:
        raise GankitError(f"unknown glyph classifier {name!r}; choose from: {', '.join(OUTPUTS)}")
    width = int(glyph_classifier_card(name).get("width", 16))  # type: ignore[call-overload]
    return load_shipped(GlyphClassifier(OUTPUTS[name], width), weights_file(name))


@torch.no_grad()
def _logits(name: ClassifierName, x: Tensor, batch_size: int = 1024) -> Tensor:
    model = load_glyph_classifier(name)
    if not len(x):
        return torch.zeros(0, OUTPUTS[name])
    return torch.cat([model(chunk) for chunk in x.detach().float().cpu().split(batch_size)])


def character_logits(x: Tensor) -> Tensor:
    """Character logits [N, 62] (classes in `gankit.data.glyphs.CHARACTERS` order) of glyph
    images [N, 1, H, W] in [−1, 1]."""
    return _logits("characters", x)


def digit_logits(x: Tensor) -> Tensor:
    """Digit logits [N, 10] of handwritten or font digits [N, 1, H, W] in [−1, 1]."""
    return _logits("digits", x)


def _task_index(task: str) -> int:
    if task not in TASKS:
        raise GankitError(f"unknown style task {task!r}; choose from: {', '.join(TASKS)}")
    return TASKS.index(task)


def domain_logits(x: Tensor, task: str) -> Tensor:
    """Domain logits [N] of images [N, 1, H, W] for `task` (one of `TASKS`): > 0 means the image
    looks like domain B of the task's dataset (serif, bold, font), < 0 like domain A."""
    return _logits("domains", x)[:, _task_index(task)]


def content_preservation(
    source_labels: Tensor,
    translated_images: Tensor,
    classes: str = "characters",
) -> float:
    """Fraction of translations [N, 1, H, W] that the classifier reads as their source's class.

    Args:
        source_labels: [N] classes of the source images (character or digit indices).
        translated_images: [N, 1, H, W] in [−1, 1].
        classes: `characters` (62-way character net) or `digits` (10-way digit net).
    """
    if classes not in CONTENT_CLASSES:
        raise GankitError(f"unknown classes {classes!r}; choose from: characters, digits")
    if len(source_labels) != len(translated_images) or not len(source_labels):
        raise GankitError(
            f"need as many labels as images, at least one: got {len(source_labels)} labels "
            f"and {len(translated_images)} images"
        )
    logits = (character_logits if classes == "characters" else digit_logits)(translated_images)
    return (logits.argmax(1) == source_labels.cpu()).float().mean().item()


def domain_accuracy(translated_images: Tensor, task: str, target: str = "B") -> float:
    """Fraction of images [N, 1, H, W] that the style classifier of `task` places in domain
    `target` ("A" or "B"): translations A→B should score high with target "B", B→A with
    target "A"."""
    if target not in ("A", "B"):
        raise GankitError(f"target domain must be 'A' or 'B', got {target!r}")
    if not len(translated_images):
        raise GankitError("domain accuracy needs at least one image")
    logits = domain_logits(translated_images, task)
    hits = logits > 0 if target == "B" else logits <= 0
    return hits.float().mean().item()
