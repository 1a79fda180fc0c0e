"""PSNR and SSIM against scikit-image, image by image; the bicubic SR baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gankit.metrics.image import bicubic_upscale, psnr, ssim


def _skimage_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """Gaussian SSIM with Wang et al.'s settings, as scikit-image computes it, of [C, H, W]."""
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=data_range,
        channel_axis=0,
    )


def _reference(x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's PSNR of each pair of images in [-1, 1], and its SSIM of the pair mapped
    to [0, 1]."""
    p, s = [], []
    for a, b in zip(x.double().numpy(), y.double().numpy()):
        p.append(peak_signal_noise_ratio(a, b, data_range=2.0))
        s.append(_skimage_ssim((a + 1) / 2, (b + 1) / 2, data_range=1.0))
    return np.array(p), np.array(s)


def _structured(n: int, c: int, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
    """Smooth gradients, stripes and a bright square: images with structure, in [-1, 1]."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    out = torch.empty(n, c, h, w)
    for i in range(n):
        for ch in range(c):
            f = 2 + 6 * torch.rand((), generator=gen)
            phase = 6 * torch.rand((), generator=gen)
            img = 0.6 * torch.sin(f * xx + phase) * torch.cos(0.5 * f * yy) + 0.3 * xx * yy
            img[h // 4 : h // 2, w // 3 : w // 2] = 0.9
            out[i, ch] = img
    return out.clamp(-1, 1)


CASES = [  # (channels, height, width)
    (3, 32, 32),
    (3, 17, 23),  # odd sides
    (1, 24, 19),  # grayscale
    (3, 11, 11),  # the smallest image the 11×11 window fits
]


@pytest.mark.parametrize(("c", "h", "w"), CASES)
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_psnr_and_ssim_match_scikit_image(c: int, h: int, w: int, kind: str) -> None:
    gen = torch.Generator().manual_seed(c * 1000 + h * 10 + w)
    if kind == "random":
        x = torch.rand(4, c, h, w, generator=gen) * 2 - 1
    else:
        x = _structured(4, c, h, w, gen)
    # distortions of increasing strength: noise, blur, a shift in brightness, unrelated noise
    noise = torch.randn(x.shape, generator=gen)
    blur = F.avg_pool2d(x[2:3], 3, stride=1, padding=1, count_include_pad=False)
    y = torch.cat(
        [x[0:1] + 0.05 * noise[0:1], x[1:2] + 0.3 * noise[1:2], blur, x[3:4] * 0 + noise[3:4]]
    ).clamp(-1, 1)
    ref_psnr, ref_ssim = _reference(x, y)
    got_psnr, got_ssim = psnr(x, y), ssim(x, y)
    assert got_psnr.shape == (4,) and got_ssim.shape == (4,)
    assert got_psnr.dtype == torch.float64 and got_ssim.dtype == torch.float64
    torch.testing.assert_close(got_psnr, torch.from_numpy(ref_psnr), rtol=0, atol=1e-4)
    torch.testing.assert_close(got_ssim, torch.from_numpy(ref_ssim), rtol=0, atol=1e-4)
    # the distortions are ordered: stronger noise scores lower on both
    assert got_ssim[0] > got_ssim[1] > got_ssim[3] and got_psnr[0] > got_psnr[1] > got_psnr[3]


def test_ssim_is_that_of_the_images_on_0_to_range() -> None:
    # zero-centred images whose local means differ in sign: taken literally, SSIM's luminance
    # term makes these well-correlated images score below zero
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(1, 1, 11, 11, generator=gen) * 0.4 - 0.2
    y = x + 0.15
    literal = _skimage_ssim(x[0].double().numpy(), y[0].double().numpy(), data_range=2.0)
    assert literal < 0.5
    got = ssim(x, y).item()
    assert got > 0.95
    on_unit = _skimage_ssim((x[0].double().numpy() + 1) / 2, (y[0].double().numpy() + 1) / 2, 1.0)
    torch.testing.assert_close(got, on_unit, rtol=0, atol=1e-10)
    # other ranges: images in [-128, 128] are those in [0, 256] (shifted)
    big = torch.rand(2, 3, 16, 16, generator=gen) * 256 - 128
    noisy = (big + 20 * torch.randn(big.shape, generator=gen)).clamp(-128, 128)
    pairs = zip(big.double().numpy(), noisy.double().numpy())
    ref = torch.tensor([_skimage_ssim(a + 128, b + 128, 256.0) for a, b in pairs])
    torch.testing.assert_close(ssim(big, noisy, data_range=256.0), ref.double(), rtol=0, atol=1e-10)


def test_float32_inputs_give_the_float64_answer() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 20, 20, generator=gen) * 2 - 1
    y = (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
    torch.testing.assert_close(ssim(x, y), ssim(x.double(), y.double()), rtol=0, atol=1e-12)
    torch.testing.assert_close(psnr(x, y), psnr(x.double(), y.double()), rtol=0, atol=1e-12)


def test_identical_images_score_one_and_infinity() -> None:
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    torch.testing.assert_close(ssim(x, x.clone()), torch.ones(3, dtype=torch.float64))
    assert torch.isinf(psnr(x, x.clone())).all() and (psnr(x, x) > 0).all()
    # a constant image against itself: no variance, still SSIM 1 (the constants keep it finite)
    flat = torch.full((1, 1, 12, 12), 0.3)
    torch.testing.assert_close(ssim(flat, flat), torch.ones(1, dtype=torch.float64))


def test_psnr_of_a_known_error() -> None:
    # every pixel off by 0.2 in range 2: MSE 0.04, PSNR = 10·log10(4 / 0.04) = 20 dB
    x = torch.zeros(2, 3, 8, 8)
    got = psnr(x, x + 0.2)
    torch.testing.assert_close(got, torch.full((2,), 20.0, dtype=torch.float64))
    # data_range scales it: range 1 -> 10·log10(1 / 0.04)
    expected = 10 * math.log10(1 / 0.04)
    torch.testing.assert_close(psnr(x, x + 0.2, data_range=1.0)[0].item(), expected)


def test_channels_are_averaged() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    y = (x + 0.2 * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
    per_channel = torch.stack([ssim(x[:, c : c + 1], y[:, c : c + 1]) for c in range(3)], 1)
    torch.testing.assert_close(ssim(x, y), per_channel.mean(1), rtol=0, atol=1e-12)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="one shape"):
        ssim(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 15))
    with pytest.raises(ValueError, match="one shape"):
        psnr(torch.zeros(3, 16, 16), torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="at least 11"):
        ssim(torch.zeros(1, 1, 10, 40), torch.zeros(1, 1, 10, 40))


def test_bicubic_upscale() -> None:
    gen = torch.Generator().manual_seed(4)
    lr = torch.rand(2, 3, 5, 7, generator=gen) * 2 - 1
    up = bicubic_upscale(lr, 4)
    assert up.shape == (2, 3, 20, 28)
    assert up.min() >= -1 and up.max() <= 1
    expected = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    torch.testing.assert_close(up, expected.clamp(-1, 1))
    # cubic convolution reproduces a linear ramp away from the borders: fine pixel j's centre
    # lies at coarse coordinate (j + 0.5) / 4 - 0.5 (align_corners=False)
    ramp = (torch.arange(8.0) / 10).expand(1, 1, 8, 8)
    coord = (torch.arange(32.0) + 0.5) / 4 - 0.5
    fine = (coord / 10).expand(1, 1, 32, 32)
    inside = (..., slice(8, 24), slice(8, 24))
    # (a = -0.75 reproduces it up to a small ripple; a = -0.5 would be exact)
    torch.testing.assert_close(bicubic_upscale(ramp, 4)[inside], fine[inside], rtol=0, atol=5e-3)
    # and constants everywhere
    const = torch.full((1, 3, 4, 4), 0.25)
    torch.testing.assert_close(bicubic_upscale(const, 4), torch.full((1, 3, 16, 16), 0.25))
    assert bicubic_upscale(lr, 1).equal(lr)
    with pytest.raises(ValueError, match="positive integer"):
        bicubic_upscale(lr, 0)
