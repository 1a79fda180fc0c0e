"""The shipped Fashion-MNIST classifier (its weights, card and outputs; no dataset needed)."""

from __future__ import annotations

import pytest
import torch

from gankit.data.base import resize_images
from gankit.metrics.fashion import (
    FASHION_CLASSES,
    FashionClassifier,
    fashion_card,
    fashion_outputs,
    load_fashion_classifier,
)

# Held-out accuracy measured when the shipped weights were trained (see the card), less a margin.
TEST_ACCURACY = 0.9


def _images(n: int, size: int = 28, seed: int = 0) -> torch.Tensor:
    """Smooth random blobs on the black background, [n, 1, size, size] in [−1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 7, 7, generator=gen)
    x = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear")
    return (x * 2 - 1).clamp(-1, 1)


def _garments(value: float = 0.5) -> torch.Tensor:
    """Flat silhouettes drawn by hand, [4, 1, 28, 28]: `GARMENTS` in order."""
    x = torch.full((4, 1, 28, 28), -1.0)
    x[0, :, 2:6, 9:19] = value  # trousers: a waistband and two legs
    x[0, :, 6:27, 9:13] = value
    x[0, :, 6:27, 15:19] = value
    x[1, :, 4:12, 3:25] = value  # a T-shirt: short sleeves and a body
    x[1, :, 4:26, 8:20] = value
    x[2, :, 2:12, 10:18] = value  # a dress: a bodice and a flared skirt
    for row in range(12, 27):
        flare = (row - 12) // 2
        x[2, :, row, 10 - flare : 18 + flare] = value
    x[3, :, 10:25, 4:24] = value  # a bag with a handle
    x[3, :, 4:6, 9:19] = value
    x[3, :, 6:10, 9:11] = value
    x[3, :, 6:10, 17:19] = value
    return x


GARMENTS = ("Trouser", "T-shirt/top", "Dress", "Bag")


def test_card_records_held_out_accuracy_and_how_it_was_trained() -> None:
    card = fashion_card()
    assert card["test_accuracy"] >= TEST_ACCURACY  # type: ignore[operator]
    for resolution in ("28", "32", "64"):
        assert card["test_accuracy_by_resolution"][resolution] >= TEST_ACCURACY  # type: ignore[index]
    assert str(card["command"]).startswith("python scripts/train_fashion_classifier.py")
    assert card["threads"] == 1 and card["feature_dim"] == 128
    assert len(card["data_sha256"]) == 4  # type: ignore[arg-type]
    assert f"--epochs {card['epochs']} --seed {card['seed']}" in str(card["command"])
    assert str(card["train_split"]).startswith("Fashion-MNIST train (60,000")


def test_classifier_is_cached_frozen_and_built_as_its_card_says() -> None:
    model = load_fashion_classifier()
    assert model is load_fashion_classifier()
    assert isinstance(model, FashionClassifier) and model.resolution == 28
    assert model.state_dict()["trunk.0.weight"].shape[0] == fashion_card()["width"]
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert len(FASHION_CLASSES) == 10 and FASHION_CLASSES[9] == "Ankle boot"


def test_outputs_shapes_and_probabilities() -> None:
    x = _images(5)
    feats, probs = fashion_outputs(x, batch_size=2)  # three chunks
    assert feats.shape == (5, 128) and probs.shape == (5, 10)
    assert feats.dtype == probs.dtype == torch.float32
    torch.testing.assert_close(probs.sum(1), torch.ones(5))
    assert (probs >= 0).all() and (feats >= 0).all()  # softmax rows; ReLU features
    # the same as the module itself gives, chunked or not
    with torch.no_grad():
        logits = load_fashion_classifier()(x)
    torch.testing.assert_close(probs, torch.softmax(logits, 1))
    torch.testing.assert_close(fashion_outputs(x)[0], feats)
    empty = fashion_outputs(torch.zeros(0, 1, 28, 28))
    assert empty[0].shape == (0, 128) and empty[1].shape == (0, 10)


def test_it_recognises_garments_drawn_by_hand() -> None:
    # measured: each drawn garment gets its class with probability >= 0.82 at any of these
    # sizes, brightnesses and shifts of 2 pixels
    want = torch.tensor([FASHION_CLASSES.index(name) for name in GARMENTS])
    for size in (28, 32, 64):
        x = resize_images(_garments(), size)  # [4, 1, size, size]
        feats, probs = fashion_outputs(x)
        assert feats.shape == (4, 128) and probs.shape == (4, 10)
        torch.testing.assert_close(probs.argmax(1), want)
        assert probs[torch.arange(4), want].min() > 0.6, size
    shifted = _garments(0.0).roll((2, -2), (2, 3))
    torch.testing.assert_close(fashion_outputs(shifted)[1].argmax(1), want)


def test_other_resolutions_are_resized_to_28() -> None:
    # an image at 56×56 (each pixel doubled) reads as the same image at 28×28
    x = _garments()
    big = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    feats, probs = fashion_outputs(x)
    feats_big, probs_big = fashion_outputs(big)
    torch.testing.assert_close(probs_big, probs, rtol=0, atol=0.05)
    # measured: 11-17% of a feature vector's length apart, where two garments are ~100% apart
    moved = torch.linalg.vector_norm(feats_big - feats, dim=1) / torch.linalg.vector_norm(
        feats, dim=1
    )
    assert moved.max() < 0.3


def test_outputs_are_deterministic_and_tell_images_apart() -> None:
    x = _images(2, seed=1)
    feats, probs = fashion_outputs(x)
    again = fashion_outputs(x.clone())
    torch.testing.assert_close(again[0], feats, rtol=0, atol=0)
    torch.testing.assert_close(again[1], probs, rtol=0, atol=0)
    assert (feats[0] - feats[1]).abs().max() > 0.1
    # different garments are far apart in feature space, a garment and its shift close
    garments = _garments()
    f = fashion_outputs(torch.cat([garments, garments[:1].roll(1, 3)]))[0]  # [5, 128]
    distances = torch.cdist(f[:4], f[:4])
    nearest_other = (distances + torch.eye(4) * 1e9).min().item()
    assert torch.linalg.vector_norm(f[4] - f[0]).item() < nearest_other / 2


@pytest.mark.parametrize("shape", [(2, 3, 28, 28), (2, 2, 28, 28), (2, 28, 28)])
def test_only_grayscale_images_are_accepted(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="grayscale"):
        fashion_outputs(torch.zeros(shape))
