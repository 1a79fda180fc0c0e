"""The shipped shapes attribute classifier and the text-to-image scores built on it."""

from __future__ import annotations

from gankit.data.shapes import ATTRIBUTES, shapes_split
from gankit.metrics.shapes import caption_consistency, predict_attributes, shapes_classifier_card
from gankit.metrics.text import r_precision


def _real(resolution: int):
    test = shapes_split("test", resolution=resolution)
    return test, test.x.float().div(127.5).sub(1.0)


def test_classifier_judges_real_held_out_scenes_seen_and_unseen() -> None:
    test, x = _real(32)
    scores = caption_consistency(x, test.attributes)
    assert set(scores) == {*ATTRIBUTES, "kind+colour", "all"}
    for keep in (test.seen, ~test.seen):  # the judge knows the held-out combinations too
        part = caption_consistency(x[keep], test.attributes[keep])
        assert part["all"] >= 0.9, part
    card = shapes_classifier_card()
    assert card["test_accuracy"]["all"] >= 0.9  # type: ignore[index]


def test_consistency_falls_for_the_wrong_captions() -> None:
    test, x = _real(64)
    wrong = test.attributes.roll(1, 0)
    assert caption_consistency(x, wrong)["all"] < 0.1
    assert predict_attributes(x[:3]).shape == (3, len(ATTRIBUTES))


def test_r_precision_of_real_images_is_high_and_of_shuffled_ones_at_chance() -> None:
    test, x = _real(32)
    n = 300
    captions = test.captions[: 5 * n : 5]  # the first of each scene's five
    assert test.image_index[: 5 * n : 5].tolist() == list(range(n))
    real = r_precision(x[:n], captions, test, "shapes")
    shuffled = r_precision(x[:n].roll(1, 0), captions, test, "shapes")
    # measured: 1.000 and 0.007 (chance: 0.01)
    assert real >= 0.9, real
    assert shuffled <= 0.05, shuffled
