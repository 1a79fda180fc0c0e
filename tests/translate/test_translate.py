"""Translating images of any size: padding to the model's multiple, tiling without seams."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from torch import Tensor, nn

from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models.base import GANModel, ModelConfig
from gankit.translate import translate


class ToyTranslator(GANModel):
    """Three 3×3 convolutions (receptive field 7×7), optionally ×`scale` by pixel shuffle, and
    a check that inputs are multiples of `multiple`: enough to pin down translate()."""

    name = "toy"
    directions: ClassVar[tuple[str, ...]] = ("AtoB", "BtoA")

    def __init__(self, info: DataInfo, *, scale: int = 1, multiple: int = 1) -> None:
        super().__init__(ModelConfig(), info)
        c_in, c_out = info.shape[0], info.shape_b[0]
        self.multiple = multiple
        self.net = nn.Sequential(
            nn.Conv2d(c_in, 8, 3, padding=1),
            nn.Tanh(),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.Tanh(),
            nn.Conv2d(8, c_out * scale * scale, 3, padding=1),
            nn.PixelShuffle(scale),
        )
        self.back = nn.Conv2d(c_out, c_in, 1)

    @property
    def input_multiple(self) -> int:
        return self.multiple

    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        assert x.shape[-1] % self.multiple == 0 and x.shape[-2] % self.multiple == 0
        return self.net(x) if direction == "AtoB" else self.back(x)


def _toy(scale: int = 1, multiple: int = 1, c_in: int = 1, c_out: int = 3) -> ToyTranslator:
    info = DataInfo("toy", "paired", (c_in, 8, 8), shape_b=(c_out, 8 * scale, 8 * scale))
    torch.manual_seed(0)
    return ToyTranslator(info, scale=scale, multiple=multiple).eval()


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (5, 70)])
def test_any_size_is_padded_to_the_multiple_and_cropped_back(size: tuple[int, int]) -> None:
    model = _toy(multiple=16)
    x = torch.rand(2, 1, *size) * 2 - 1
    y = translate(model, x)
    assert y.shape == (2, 3, *size)
    # where the padding is out of reach of the receptive field, the result is the plain one
    h, w = size
    plain = model.net(torch.nn.functional.pad(x, (0, (-w) % 16, 0, (-h) % 16), mode="replicate"))
    torch.testing.assert_close(y[..., : h - 3, : w - 3], plain[..., : h - 3, : w - 3])


@pytest.mark.parametrize("scale", [1, 4])
def test_tiles_meet_without_seams(scale: int) -> None:
    """With a margin beyond the receptive field, tiling gives exactly the whole-image result."""
    model = _toy(scale=scale)
    x = torch.rand(1, 1, 150, 97) * 2 - 1
    whole = translate(model, x)
    tiled = translate(model, x, tile=40, margin=6)
    assert tiled.shape == whole.shape == (1, 3, 150 * scale, 97 * scale)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=1e-5)


def test_tiles_cover_the_image_when_it_is_smaller_than_a_tile() -> None:
    model = _toy()
    x = torch.rand(1, 1, 30, 20)
    torch.testing.assert_close(translate(model, x, tile=64), translate(model, x))


def test_direction_and_channels_are_checked() -> None:
    model = _toy()
    with pytest.raises(GankitError, match=r"\[N, 1, H, W\]"):
        translate(model, torch.rand(1, 3, 16, 16))
    assert translate(model, torch.rand(1, 3, 16, 16), "BtoA").shape == (1, 1, 16, 16)
    model.directions = ("AtoB",)
    with pytest.raises(GankitError, match="translates AtoB, not 'BtoA'"):
        translate(model, torch.rand(1, 3, 16, 16), "BtoA")
    with pytest.raises(GankitError, match="tile"):
        translate(model, torch.rand(1, 1, 100, 100), tile=20, margin=10)
