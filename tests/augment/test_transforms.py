"""The transforms of DiffAugment and ADA on their own: shapes, what each does, gradients."""

from __future__ import annotations

import pytest
import torch

from gankit.augment import Augmentation, ada_augment, diff_augment
from gankit.augment.ada import colour_matrix, geometric_matrix
from gankit.augment.diffaugment import TRANSFORMS, parse_policy
from gankit.errors import GankitError


def _images(n: int = 8, c: int = 3, side: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, side, side, generator=g) * 2 - 1


# every single transform, so that a gradient test fails on the one that breaks the chain
SINGLE = [("diffaugment", name) for name in TRANSFORMS] + [("ada", pipe) for pipe in "bgc"]


def _apply(kind: str, what: str, images: list[torch.Tensor]) -> list[torch.Tensor]:
    if kind == "diffaugment":
        return diff_augment(images, what)
    return ada_augment(images, 1.0, what)


@pytest.mark.parametrize(("kind", "what"), SINGLE)
@pytest.mark.parametrize("channels", [1, 3])
def test_shape_dtype_and_gradient_of_every_transform(kind: str, what: str, channels: int) -> None:
    torch.manual_seed(0)
    x = _images(c=channels).requires_grad_(True)
    (y,) = _apply(kind, what, [x])
    assert y.shape == x.shape and y.dtype == x.dtype
    assert not torch.equal(y, x)  # it did something
    weights = torch.randn_like(y)
    (y * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0, f"no gradient reaches the input through {what}"


@pytest.mark.parametrize(("kind", "what"), SINGLE)
def test_same_seed_same_draws_and_parts_move_alike(kind: str, what: str) -> None:
    x = _images()
    torch.manual_seed(3)
    a, b = _apply(kind, what, [x, x])
    torch.manual_seed(3)
    (again,) = _apply(kind, what, [x])
    assert torch.equal(a, b)  # the parts of one input share every draw
    assert torch.equal(a, again)  # and the draws come from torch's seeded generator


def test_translation_moves_whole_pixels_with_zeros_shifted_in() -> None:
    torch.manual_seed(0)
    x = _images(n=32, c=1, side=16) * 0.5 + 0.6  # no zeros in the input
    (y,) = diff_augment([x], "translation")
    for xi, yi in zip(x, y):
        values = set(xi.flatten().tolist())
        assert all(v in values or v == 0 for v in yi.flatten().tolist())
        zero_rows = (yi[0] == 0).all(1).sum() + (yi[0] == 0).all(0).sum()
        assert zero_rows <= 2 * 2  # at most ⅛ of 16 = 2 rows and 2 columns shifted in


def test_cutout_zeroes_one_square_of_half_the_side() -> None:
    torch.manual_seed(0)
    x = torch.ones(64, 1, 16, 16)
    (y,) = diff_augment([x], "cutout")
    cut = (y == 0).sum((1, 2, 3))
    assert cut.max() == 64  # an 8×8 square when it lies inside
    assert cut.min() >= 4 * 4  # at worst a quarter of it, centred on a corner


def test_color_draws_within_the_papers_ranges() -> None:
    torch.manual_seed(0)
    x = torch.zeros(256, 3, 4, 4)  # brightness alone moves a black image
    (y,) = diff_augment([x], "color")
    shift = y.mean((1, 2, 3))
    assert shift.min() >= -0.5 and shift.max() <= 0.5 and shift.std() > 0.2


def test_bad_policy_is_refused() -> None:
    with pytest.raises(GankitError, match="color, translation, cutout"):
        parse_policy("color,zoom")
    with pytest.raises(GankitError):
        parse_policy("")


def test_ada_at_p_zero_is_the_identity() -> None:
    x = _images()
    torch.manual_seed(0)
    (y,) = ada_augment([x], 0.0, "bgc")
    assert torch.equal(y, x)


def test_ada_blit_only_moves_pixels() -> None:
    """Flips, quarter turns and whole-pixel shifts (with reflection) keep every pixel value."""
    torch.manual_seed(0)
    x = _images(n=16, c=1, side=8)
    (y,) = ada_augment([x], 1.0, "b")
    for xi, yi in zip(x, y):
        d = (yi.flatten()[:, None] - xi.flatten()[None]).abs().min(1).values
        assert d.max() < 1e-5


def test_ada_probability_is_per_transform() -> None:
    """At p the share of images whose x-flip was drawn is p/2 (a flip is drawn, then chosen
    with probability ½); checked on the geometric matrices themselves."""
    torch.manual_seed(0)
    n, p = 20000, 0.4
    like = torch.zeros(1)
    g = geometric_matrix(n, p, "b", like, (16, 16))
    det = torch.linalg.det(g[:, :2, :2])
    flipped = (det < 0).float().mean().item()
    assert abs(flipped - p / 2) < 0.02


def test_ada_colour_keeps_gray_gray_and_acts_on_one_channel() -> None:
    """Hue rotation and saturation turn about the gray axis, and luma flip reflects through
    it: a gray RGB image stays gray; a 1-channel image gets brightness and contrast."""
    torch.manual_seed(0)
    gray = _images(n=32, c=1).expand(-1, 3, -1, -1).contiguous()
    (y,) = ada_augment([gray], 1.0, "c")
    assert torch.allclose(y[:, 0], y[:, 1], atol=1e-5) and torch.allclose(
        y[:, 1], y[:, 2], atol=1e-5
    )
    c = colour_matrix(4, 1.0, torch.zeros(1), 3)
    assert c.shape == (4, 4, 4)
    torch.manual_seed(0)
    (one,) = ada_augment([_images(c=1)], 1.0, "c")
    assert one.shape == (8, 1, 16, 16)


def test_augmentation_hooks_transform_only_while_applied() -> None:
    torch.manual_seed(0)
    d = torch.nn.Conv2d(3, 1, 3)
    aug = Augmentation("diffaugment")
    x = _images()
    before = d(x)
    model = torch.nn.Module()
    model.D = d
    aug.install(model, {"D": None})
    assert torch.equal(d(x), before)  # not applied: untouched
    with aug.applied():
        assert not torch.equal(d(x), before)
    assert torch.equal(d(x), before)
    aug.remove()


def test_channel_groups_split_colour_but_share_geometry() -> None:
    """pix2pix's D reads a 1-channel condition and a 3-channel image stacked: one geometric
    transform for both."""
    aug = Augmentation("ada", p=1.0, target=None, pipe="b")
    a = _images(c=1)
    b = a.expand(-1, 3, -1, -1)
    torch.manual_seed(0)
    (out,) = aug.transform_args((torch.cat([a, b], 1),), (1, 3))
    assert out.shape == (8, 4, 16, 16)
    assert torch.allclose(out[:, :1].expand(-1, 3, -1, -1), out[:, 1:], atol=1e-6)
    with pytest.raises(ValueError, match="do not add up"):
        aug.transform_args((torch.cat([a, b], 1),), (1, 2))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_p_follows_the_sign_of_r_t(sign: float) -> None:
    """A D that is always right on reals (r_t = 1 > 0.6) raises p by the paper's speed at every
    interval; one that is always wrong (r_t = −1) lowers it, never below 0."""
    aug = Augmentation("ada", p=0.5, target=0.6, interval=2, kimg=1.0, batch_size=50)
    ps = []
    for step in range(8):
        aug.observe({"real_sign": torch.tensor(sign)})
        aug.adjust(step)
        ps.append(aug.p)
    speed = 50 * 2 / 1000
    expected = [0.5 + sign * speed * ((s + 1) // 2) for s in range(8)]
    assert ps == pytest.approx([min(max(e, 0.0), 1.0) for e in expected])
    assert aug.rt == sign


def test_fixed_p_does_not_move() -> None:
    aug = Augmentation("ada", p=0.3, target=None, interval=1)
    for step in range(4):
        aug.observe({"real_sign": torch.tensor(1.0)})
        aug.adjust(step)
    assert aug.p == 0.3 and aug.rt is None
