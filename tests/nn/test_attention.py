"""SAGAN's self-attention: identity while γ = 0, attention weights that sum to 1 over positions,
and outputs that depend on distant positions once γ ≠ 0."""

from __future__ import annotations

import pytest
import torch

from gankit.nn.attention import SelfAttention2d


def _block(seed: int = 0, **kwargs) -> SelfAttention2d:
    torch.manual_seed(seed)
    return SelfAttention2d(16, **kwargs)


def test_gamma_starts_at_zero_and_the_block_is_then_the_identity() -> None:
    block = _block()
    assert block.gamma.item() == 0.0
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("pool", [True, False])
def test_attention_weights_sum_to_one_over_positions(pool: bool) -> None:
    block = _block(pool=pool)
    beta = block.attention(torch.randn(3, 16, 8, 6))
    keys = 12 if pool else 48  # the keys are max-pooled 2×2
    assert beta.shape == (3, 48, keys)
    assert (beta >= 0).all()
    torch.testing.assert_close(beta.sum(-1), torch.ones(3, 48))


def test_a_distant_pixel_changes_the_output_once_gamma_is_nonzero() -> None:
    block = _block()
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(1, 16, 8, 8)
    moved = x.clone()
    moved[0, :, 0, 0] += 3.0  # the top-left corner
    out, out_moved = block(x), block(moved)
    # the opposite corner, far outside any convolution's reach, sees the change
    assert not torch.allclose(out[0, :, 7, 7], out_moved[0, :, 7, 7])
    with torch.no_grad():  # and only through the attention path
        block.gamma.zero_()
    torch.testing.assert_close(block(moved)[0, :, 7, 7], x[0, :, 7, 7], rtol=0, atol=0)


@pytest.mark.parametrize(("value_div", "pool"), [(2, True), (8, False), (1, False)])
def test_variants_keep_the_shape(value_div: int, pool: bool) -> None:
    block = _block(value_div=value_div, pool=pool)
    assert block.g.out_channels == 16 // value_div
    with torch.no_grad():
        block.gamma.fill_(0.5)
    x = torch.randn(2, 16, 4, 4)
    assert block(x).shape == x.shape


def test_too_few_channels_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 8 channels"):
        SelfAttention2d(4)
