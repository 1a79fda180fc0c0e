"""The image-to-image building blocks: U-Net, PatchGAN, ResNet and encoder-decoder networks,
the history pool and the constant-then-linear schedule."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.nn.image2image import (
    EncoderDecoderGenerator,
    EncoderDiscriminator,
    ImagePool,
    InferenceDropout,
    PatchDiscriminator,
    ResidualBlock,
    ResNetGenerator,
    UNetGenerator,
    check_images,
    constant_then_linear,
    patch_layers,
    patch_receptive_field,
    resnet_blocks,
)


def _images(n: int, c: int, h: int, w: int | None = None, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w or h, generator=gen) * 2 - 1


# ---------------------------------------------------------------------------- U-Net
@pytest.mark.parametrize(("resolution", "depth"), [(8, 3), (32, 5), (256, 8)])
def test_unet_depth_follows_the_resolution_down_to_1x1(resolution: int, depth: int) -> None:
    g = UNetGenerator(1, 3, resolution, base=2, maximum=8)
    assert g.depth == depth and g.multiple == resolution
    x = _images(2, 1, resolution)
    bottleneck = x
    for block in g.down:
        bottleneck = block(bottleneck)
    assert bottleneck.shape[-2:] == (1, 1)
    y = g(x)
    assert y.shape == (2, 3, resolution, resolution)
    assert y.min() >= -1 and y.max() <= 1
    # dropout in the first three decoder blocks (fewer when the decoder is shorter)
    dropped = [any(isinstance(m, InferenceDropout) for m in block) for block in g.up]
    assert dropped == [i < 3 for i in range(depth - 1)]


def test_unet_widths_are_the_papers_c64_to_c512() -> None:
    g = UNetGenerator(3, 3, 256)
    convs = [m for block in g.down for m in block if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 512, 512, 512, 512]
    # no normalisation on the first layer nor on the 1×1 bottleneck
    normed = [any(isinstance(m, nn.BatchNorm2d) for m in block) for block in g.down]
    assert normed == [False, True, True, True, True, True, True, False]


def test_unet_translates_larger_inputs_that_are_multiples() -> None:
    g = UNetGenerator(1, 2, 16, base=4)
    assert g(_images(1, 1, 32, 48)).shape == (1, 2, 32, 48)


def test_unet_paper_inference_keeps_noise_and_uses_each_images_statistics() -> None:
    torch.manual_seed(0)
    g = UNetGenerator(1, 1, 16, base=4).eval()
    x = _images(3, 1, 16)
    assert not torch.equal(g(x), g(x))  # dropout stays on at test time
    plain = UNetGenerator(1, 1, 16, base=4, paper_inference=False)
    plain.load_state_dict(g.state_dict())
    plain.eval()
    torch.testing.assert_close(plain(x), plain(x), rtol=0, atol=0)

    # without dropout, the paper's test time is batch norm on one image at a time: a batch
    # translates as its images do alone, and as training mode does at batch 1
    quiet = UNetGenerator(1, 1, 16, base=4, dropout=0.0).eval()
    batched = quiet(x)
    alone = torch.cat([quiet(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)
    quiet.train()
    torch.testing.assert_close(quiet(x[:1]), batched[:1], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- PatchGAN
def _receptive_field(net: nn.Module, channels: int, side: int) -> tuple[int, int]:
    """Rows and columns of the input that one central output depends on (from its gradient)."""
    net = copy.deepcopy(net).double().eval()  # eval: batch statistics couple every position
    x = torch.randn(1, channels, side, side, dtype=torch.float64, requires_grad=True)
    out = net(x)
    h, w = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, h, w].backward()
    grad = x.grad[0].abs().sum(0)  # [side, side]
    rows, cols = grad.sum(1).nonzero(), grad.sum(0).nonzero()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_patchgan_sees_70x70_at_256(norm: str) -> None:
    layers = patch_layers(256)
    assert layers == 3 and patch_receptive_field(layers) == 70
    d = PatchDiscriminator(4, layers=layers, base=2, norm=norm)
    assert d.receptive_field == 70
    if norm == "batch":
        assert _receptive_field(d, 4, 256) == (70, 70)
    assert d(_images(1, 4, 256)).shape == (1, 1, 30, 30)


def test_patchgan_scales_with_the_resolution() -> None:
    assert [patch_layers(r) for r in (16, 32, 64, 128, 256, 512)] == [1, 1, 1, 2, 3, 4]
    assert [patch_receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    for side in (64, 128, 256, 512):  # about 27% of the side from 64 up
        fraction = patch_receptive_field(patch_layers(side)) / side
        assert 0.24 <= fraction <= 0.28
    d = PatchDiscriminator(3, layers=patch_layers(64), base=2)
    assert _receptive_field(d, 3, 64) == (16, 16)
    assert d(_images(2, 3, 64)).shape == (2, 1, 30, 30)  # 64 / 2 − 2
    d2 = PatchDiscriminator(3, layers=2, base=2)
    assert _receptive_field(d2, 3, 128) == (34, 34)


def test_patchgan_widths_and_bad_layers() -> None:
    d = PatchDiscriminator(6, layers=3)
    convs = [m for m in d.net if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    with pytest.raises(GankitError, match="at least one"):
        PatchDiscriminator(3, layers=0)


# ---------------------------------------------------------------------------- ResNet
def test_resnet_generator_follows_the_paper() -> None:
    assert resnet_blocks(256) == 9 and resnet_blocks(512) == 9
    assert resnet_blocks(128) == 6 and resnet_blocks(64) == 6
    g = ResNetGenerator(1, 3, base=4, blocks=2)
    assert g.blocks == 2 and g.multiple == 4
    y = g(_images(2, 1, 16, 24))
    assert y.shape == (2, 3, 16, 24) and y.abs().max() <= 1
    convs = [m for m in g.net if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 8, 4, 3]  # c7s1, d, d, u, u, c7s1
    assert [c.kernel_size[0] for c in convs] == [7, 3, 3, 3, 3, 7]
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in g.modules()) == 2 + 2 * 2


def test_residual_block_adds_its_input() -> None:
    block = ResidualBlock(4)
    for m in block.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
    x = _images(2, 4, 8)
    torch.testing.assert_close(block(x), x)


# ---------------------------------------------------------------------------- DiscoGAN
def test_encoder_decoder_matches_the_official_64x64_network() -> None:
    g = EncoderDecoderGenerator(3, 3, 64)
    convs = [m for m in g.net if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 256, 128, 64, 3]
    assert g.multiple == 16
    small = EncoderDecoderGenerator(1, 3, 16, base=4)
    assert small(_images(2, 1, 16)).shape == (2, 3, 16, 16)
    assert small(_images(1, 1, 32, 16)).shape == (1, 3, 32, 16)


def test_encoder_discriminator_logits_and_features() -> None:
    d = EncoderDiscriminator(3, 64, base=4)
    logits, feats = d.features(_images(5, 3, 64))
    assert logits.shape == (5,)
    assert [f.shape for f in feats] == [(5, 8, 16, 16), (5, 16, 8, 8), (5, 32, 4, 4)]
    torch.testing.assert_close(d(_images(5, 3, 64)), logits)
    with pytest.raises(GankitError, match="power-of-two"):
        EncoderDiscriminator(3, 48)


# ---------------------------------------------------------------------------- pool
def _tagged(values: list[float]) -> torch.Tensor:
    """Images [N, 1, 2, 2] whose pixels all hold a tag, to trace where a returned one came from."""
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).clone()


def test_pool_fills_then_swaps_half_the_time() -> None:
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = _tagged([1, 2, 3])
    torch.testing.assert_close(pool.query(first), first)  # filling: returned as they are
    assert int(pool.count) == 3
    out = pool.query(_tagged([4, 5]))  # the 4th fills the pool, the 5th may swap
    assert out[0, 0, 0, 0] == 4 and int(pool.count) == 4
    if out[1, 0, 0, 0] != 5:  # swapped: an older image came back and 5 took its place
        assert float(out[1, 0, 0, 0]) in {1.0, 2.0, 3.0, 4.0}
        assert 5.0 in pool.images[:, 0, 0, 0].tolist()
    swapped = 0
    for tag in range(6, 206):
        stored = set(pool.images[:, 0, 0, 0].tolist())
        got = float(pool.query(_tagged([tag]))[0, 0, 0, 0])
        if got != tag:  # an older image, taken from the pool, the new one in its place
            assert got in stored and got not in pool.images[:, 0, 0, 0].tolist()
            assert tag in pool.images[:, 0, 0, 0].tolist()
            swapped += 1
        else:
            assert set(pool.images[:, 0, 0, 0].tolist()) == stored
    assert 0.4 <= swapped / 200 <= 0.6
    assert int(pool.count) == 4


def test_pool_state_is_buffers_and_a_round_trip_continues_identically() -> None:
    pool = ImagePool(3, (1, 2, 2))
    assert set(pool.state_dict()) == {"images", "count"}
    assert ImagePool.rank_local
    torch.manual_seed(1)
    for i in range(4):
        pool.query(_tagged([2.0 * i, 2.0 * i + 1]))
    copy = ImagePool(3, (1, 2, 2))
    copy.load_state_dict(pool.state_dict())
    state = torch.get_rng_state()
    a = [pool.query(_tagged([100.0 + i, 200.0 + i])) for i in range(10)]
    torch.set_rng_state(state)
    b = [copy.query(_tagged([100.0 + i, 200.0 + i])) for i in range(10)]
    torch.testing.assert_close(torch.stack(a), torch.stack(b), rtol=0, atol=0)
    torch.testing.assert_close(pool.images, copy.images, rtol=0, atol=0)
    assert any(not torch.equal(x, _tagged([100.0 + i, 200.0 + i])) for i, x in enumerate(a))


def test_pool_of_zero_passes_fakes_through() -> None:
    pool = ImagePool(0, (1, 2, 2))
    x = _tagged([1, 2]).requires_grad_(True)
    out = pool.query(x)
    torch.testing.assert_close(out, x.detach())
    assert not out.requires_grad
    with pytest.raises(GankitError):
        ImagePool(-1, (1, 2, 2))


# ---------------------------------------------------------------------------- schedule, checks
def test_constant_then_linear_schedule() -> None:
    f = constant_then_linear(0.5)
    assert [f(s, 200) for s in (0, 50, 99)] == [1.0, 1.0, 1.0]
    assert [f(s, 200) for s in (100, 150, 190, 200)] == [1.0, 0.5, 0.1, 0.0]
    g = constant_then_linear(1.0)
    assert all(g(s, 10) == 1.0 for s in range(11))
    h = constant_then_linear(0.0)
    assert h(0, 4) == 1.0 and h(2, 4) == 0.5 and h(3, 4) == 0.25
    with pytest.raises(GankitError, match="decay_start"):
        constant_then_linear(1.5)


def test_check_images_rejects_bad_input() -> None:
    check_images(_images(1, 3, 8), 3, 4, what="x")
    with pytest.raises(GankitError, match=r"\[N, 3, H, W\]"):
        check_images(_images(1, 1, 8), 3, 4, what="x")
    with pytest.raises(GankitError, match=r"\[N, 3, H, W\]"):
        check_images(torch.zeros(3, 8, 8), 3, 4, what="x")
    with pytest.raises(GankitError, match="multiples of 4"):
        check_images(_images(1, 3, 8, 10), 3, 4, what="x")
