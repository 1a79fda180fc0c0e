"""Equalized learning rate layers, PixelNorm and MinibatchStdDev (Karras et al. 2018): their
defining properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm


@pytest.mark.parametrize("lr_mul", [1.0, 0.01])
def test_linear_scales_its_stored_weight_at_run_time(lr_mul):
    torch.manual_seed(0)
    layer = EqualizedLinear(64, 8, bias_init=1.0, lr_mul=lr_mul, gain=1.0)
    assert layer.scale == pytest.approx(1 / math.sqrt(64) * lr_mul)
    # stored ~ N(0, 1/lr_mul²), so the effective weight starts ~ N(0, gain² / fan_in)
    effective = layer.weight * layer.scale
    assert effective.std().item() == pytest.approx(1 / 8, rel=0.1)
    torch.testing.assert_close(layer.bias * lr_mul, torch.ones(8))
    x = torch.randn(5, 64)
    expected = F.linear(x, layer.weight * layer.scale, layer.bias * lr_mul)
    torch.testing.assert_close(layer(x), expected)


def test_conv_scales_by_he_constant_of_its_fan_in():
    torch.manual_seed(0)
    conv = EqualizedConv2d(6, 4, 3)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(6 * 9))
    assert conv.padding == 1
    x = torch.randn(2, 6, 5, 5)
    expected = F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1)
    torch.testing.assert_close(conv(x), expected)
    strided = EqualizedConv2d(6, 4, 4, stride=2, padding=1, bias=False, lr_mul=0.5, gain=1.0)
    assert strided.bias is None
    assert strided.scale == pytest.approx(0.5 / math.sqrt(6 * 16))
    assert strided(x).shape == (2, 4, 2, 2)


def _relative_update(layer: nn.Module, x: torch.Tensor, lr: float = 1e-3) -> float:
    """||Δw_eff|| / ||w_eff|| of the effective weight after one Adam step on a random loss."""
    scale = getattr(layer, "scale", 1.0)
    before = layer.weight.detach() * scale
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    layer(x).pow(2).mean().backward()
    opt.step()
    after = layer.weight.detach() * scale
    return ((after - before).norm() / before.norm()).item()


def test_effective_learning_rate_does_not_depend_on_fan_in():
    torch.manual_seed(0)
    equalized = [
        _relative_update(EqualizedLinear(fan_in, 64), torch.randn(32, fan_in))
        for fan_in in (16, 1024)
    ]
    # Adam's first step moves every stored weight by lr: relative to the N(0, 1) stored weights
    # that is lr in both layers...
    assert equalized[0] == pytest.approx(equalized[1], rel=0.1)
    assert equalized[0] == pytest.approx(1e-3, rel=0.1)
    # ...whereas with He's init in the weights the small-fan-in layer learns 8× slower
    plain = []
    for fan_in in (16, 1024):
        layer = nn.Linear(fan_in, 64)
        nn.init.normal_(layer.weight, std=math.sqrt(2 / fan_in))
        plain.append(_relative_update(layer, torch.randn(32, fan_in)))
    assert plain[1] / plain[0] == pytest.approx(8, rel=0.15)


def test_lr_mul_scales_the_effective_update():
    x = torch.randn(16, 32, dtype=torch.float64)
    deltas, starts = [], []
    for lr_mul in (1.0, 0.1):
        torch.manual_seed(0)
        layer = EqualizedLinear(32, 8, lr_mul=lr_mul).double()
        before = layer.weight.detach() * layer.scale
        # (Adam's eps would otherwise damp the smaller stored gradients of lr_mul < 1 a little)
        opt = torch.optim.Adam(layer.parameters(), lr=1e-2, eps=1e-20)
        layer(x).pow(2).mean().backward()
        opt.step()
        starts.append(before)
        deltas.append(layer.weight.detach() * layer.scale - before)
    torch.testing.assert_close(starts[0], starts[1])  # the same effective initial weights
    torch.testing.assert_close(deltas[1], deltas[0] * 0.1, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 16), (4, 16, 5, 3)])
def test_pixel_norm_gives_unit_mean_square_per_pixel(shape):
    x = torch.randn(shape) * 7 + 2
    y = PixelNorm()(x)
    torch.testing.assert_close(y.pow(2).mean(dim=1), torch.ones(shape[:1] + shape[2:]))
    # direction kept: a positive rescaling per pixel
    torch.testing.assert_close(PixelNorm()(x * 3), y)


def _stddev_numpy(x: np.ndarray, group: int, features: int) -> np.ndarray:
    """The statistic for each sample, straight from the definition: sample i's group holds the
    samples j ≡ i (mod N / group)."""
    n, c = x.shape[:2]
    m = n // group
    out = np.empty((n, features))
    for i in range(n):
        members = x[[j for j in range(n) if j % m == i % m]]  # [G, C, H, W]
        std = np.sqrt(members.var(axis=0) + 1e-8)  # [C, H, W]
        for f in range(features):
            out[i, f] = std[f * c // features : (f + 1) * c // features].mean()
    return out


@pytest.mark.parametrize(("n", "group", "features"), [(8, 4, 1), (12, 4, 2), (3, 4, 1)])
def test_minibatch_stddev_matches_its_definition(n, group, features):
    x = torch.randn(n, 6, 4, 4, dtype=torch.float64)
    y = MinibatchStdDev(group, features)(x)
    assert y.shape == (n, 6 + features, 4, 4)
    torch.testing.assert_close(y[:, :6], x)
    expected = _stddev_numpy(x.numpy(), min(group, n), features)
    expected = torch.from_numpy(expected)[:, :, None, None].expand(-1, -1, 4, 4)
    torch.testing.assert_close(y[:, 6:], expected)


def test_minibatch_stddev_of_identical_samples_is_zero():
    x = torch.randn(1, 5, 4, 4).expand(8, -1, -1, -1)
    y = MinibatchStdDev()(x)
    torch.testing.assert_close(y[:, 5:], torch.zeros(8, 1, 4, 4), atol=2e-4, rtol=0)  # √eps
    different = MinibatchStdDev()(torch.randn(8, 5, 4, 4))
    assert (different[:, 5:] > 0.5).all()


def test_minibatch_stddev_rejects_a_batch_the_groups_do_not_divide():
    with pytest.raises(GankitError, match="divisible by the group size 4"):
        MinibatchStdDev(4)(torch.randn(6, 2, 4, 4))
