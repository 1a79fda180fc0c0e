"""StyleGAN's building blocks, each tested for its defining property."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.nn.style import (
    AdaIN,
    Blur,
    MappingNetwork,
    ModulatedConv2d,
    NoiseInput,
    fir_kernel,
    upsample2d,
)


def _effective(m: MappingNetwork) -> list[torch.Tensor]:
    """The weights and biases the mapping network actually applies."""
    out = []
    for layer in m.layers:
        out += [layer.weight.detach() * layer.scale, layer.bias.detach() * layer.lr_mul]
    return out


def test_mapping_lr_multiplier_scales_updates_by_it() -> None:
    """Stored weights are N(0, 1)/lr_mul scaled back at run time: the same function at init,
    but one Adam step moves the effective weights lr_mul (0.01) times as far."""
    nets = {}
    for lr_mul in (1.0, 0.01):
        torch.manual_seed(0)
        # (in float64: the stored weights are 100× larger, and float32 would round the step)
        nets[lr_mul] = MappingNetwork(8, 8, layers=3, hidden=16, lr_mul=lr_mul).double()
    fast, slow = nets[1.0], nets[0.01]
    z = torch.randn(32, 8, dtype=torch.float64)
    torch.testing.assert_close(slow(z), fast(z), rtol=1e-5, atol=1e-6)  # same function
    for m in (fast, slow):  # the biases start at 0: give them values
        torch.manual_seed(1)
        for layer in m.layers:
            layer.bias.data = torch.randn_like(layer.bias) / layer.lr_mul
    torch.testing.assert_close(slow(z), fast(z), rtol=1e-5, atol=1e-6)
    deltas = {}
    for lr_mul, m in nets.items():
        before = _effective(m)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.0, 0.99), eps=1e-12)
        m(z).square().mean().backward()
        opt.step()
        deltas[lr_mul] = [a - b for a, b in zip(_effective(m), before)]
    for d_fast, d_slow in zip(deltas[1.0], deltas[0.01]):
        assert d_fast.abs().min() > 0
        torch.testing.assert_close(d_slow, 0.01 * d_fast, rtol=1e-4, atol=0)


def test_mapping_normalises_z() -> None:
    m = MappingNetwork(8, 4, layers=2, hidden=8)
    z = torch.randn(5, 8)
    torch.testing.assert_close(m(z), m(3.0 * z))  # PixelNorm: only z's direction matters
    assert m(z).shape == (5, 4)


def test_adain_output_statistics_are_the_style() -> None:
    """Per sample and channel, the output's mean is the style bias and its std the scale."""
    torch.manual_seed(0)
    adain = AdaIN(6, 10)
    x = torch.randn(4, 6, 8, 8) * 3 + 5  # any input statistics
    w = torch.randn(4, 10)
    out = adain(x, w)
    scale, bias = adain.styles(w)
    torch.testing.assert_close(out.mean(dim=(2, 3)), bias, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(dim=(2, 3), unbiased=False), scale.abs(), atol=1e-4, rtol=0)
    # and the input's own statistics are gone: shifting/scaling x changes nothing
    torch.testing.assert_close(adain(2 * x - 7, w), out, atol=1e-4, rtol=0)


def test_modulated_conv_is_a_per_sample_conv_with_the_modulated_weight() -> None:
    torch.manual_seed(0)
    x, w = torch.randn(3, 4, 8, 8), torch.randn(3, 5)
    for demodulate in (True, False):
        conv = ModulatedConv2d(4, 6, 3, 5, demodulate=demodulate)
        out, weights = conv(x, w), conv.modulated_weight(w)  # [N, O, I, k, k]
        for i in range(3):
            expected = F.conv2d(x[i : i + 1], weights[i], padding=1)
            torch.testing.assert_close(out[i : i + 1], expected, atol=1e-5, rtol=1e-5)
    # the upsampling variant: the same per-sample conv after ×2 FIR upsampling (equal away
    # from the borders, where the two orders of filtering pad differently)
    up = ModulatedConv2d(4, 6, 3, 5, up=True)
    out, weights = up(x, w), up.modulated_weight(w)
    assert out.shape == (3, 6, 16, 16)
    for i in range(3):
        expected = F.conv2d(upsample2d(x[i : i + 1], up.fir), weights[i], padding=1)
        torch.testing.assert_close(
            out[i : i + 1, :, 2:-2, 2:-2], expected[..., 2:-2, 2:-2], atol=1e-5, rtol=1e-5
        )


def test_demodulation_gives_unit_weights_and_unit_output_variance() -> None:
    """StyleGAN2 eq. 3: every output channel's modulated weights have unit L2 norm, so i.i.d.
    unit-variance inputs give unit-variance outputs whatever the style; without
    demodulation the style's scale passes through."""
    torch.manual_seed(0)
    x = torch.randn(8, 64, 24, 24)
    w = 4 * torch.randn(8, 16)  # large styles: far from the identity modulation
    demod = ModulatedConv2d(64, 32, 3, 16)
    plain = ModulatedConv2d(64, 32, 3, 16, demodulate=False)
    plain.load_state_dict(demod.state_dict())
    norms = demod.modulated_weight(w).square().sum(dim=(2, 3, 4))  # [N, O]
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-5, rtol=0)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # away from zero padding
    var = demod(x, w)[inner].var().item()
    assert 0.9 < var < 1.1
    var_plain = plain(x, w)[inner].var().item()
    assert not 0.8 < var_plain < 1.25, var_plain


def test_noise_input_starts_without_effect() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    for channels in (3, None):
        noise = NoiseInput(channels, 8)
        for mode in ("random", "const", "none"):
            assert torch.equal(noise(x, mode), x)  # the learned weight starts at exactly 0


def test_noise_is_per_pixel_and_shared_over_channels() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    noise = NoiseInput(3, 8)
    with torch.no_grad():
        noise.weight.fill_(1.0)
    added = noise(x, "random") - x  # [N, C, H, W]
    torch.testing.assert_close(added, added[:, :1].expand_as(added))  # same for every channel
    assert added[:, 0].std() > 0.5  # varies over pixels
    assert not torch.allclose(added[0], added[1])  # and over samples
    with torch.no_grad():
        noise.weight.copy_(torch.tensor([0.0, 1.0, -2.0]))
    added = noise(x, "random") - x
    assert torch.equal(added[:, 0], torch.zeros_like(added[:, 0]))
    torch.testing.assert_close(added[:, 2], -2 * added[:, 1])  # per-channel weight


def test_const_noise_is_fixed_and_shared_by_the_batch() -> None:
    torch.manual_seed(0)
    noise = NoiseInput(None, 8)  # StyleGAN2's single strength
    with torch.no_grad():
        noise.weight.fill_(0.5)
    x = torch.zeros(3, 2, 8, 8)
    a, b = noise(x, "const"), noise(x, "const")
    assert torch.equal(a, b) and torch.equal(a[0], a[1])
    torch.testing.assert_close(a[0, 0], 0.5 * noise.fixed[0, 0])


def test_blur_keeps_constants_and_size() -> None:
    x = torch.full((1, 2, 8, 8), 3.0)
    for taps in ((1, 2, 1), (1, 3, 3, 1)):
        out = Blur(taps)(x)
        assert out.shape == x.shape
        torch.testing.assert_close(out[..., 2:-2, 2:-2], x[..., 2:-2, 2:-2])
    assert torch.isclose(fir_kernel((1, 3, 3, 1)).sum(), torch.tensor(1.0))
    up = upsample2d(x, fir_kernel((1, 3, 3, 1)))
    assert up.shape == (1, 2, 16, 16)
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.full((1, 2, 12, 12), 3.0))
