"""BigGAN's building blocks: conditional batch norm (per class, and from a shared embedding),
hierarchical z, the residual blocks and the authors' widths."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.nn.biggan import (
    BigGANDiscriminator,
    BigGANGenerator,
    ClassBatchNorm2d,
    ConditionalBatchNorm2d,
    DBlock,
    GBlock,
    discriminator_widths,
    generator_widths,
    init_weights_,
    z_chunks,
)


def _generator(**kwargs) -> BigGANGenerator:
    torch.manual_seed(0)
    options = {"ch": 2, "attention": 8, "shared_dim": 6, "hierarchical": True, **kwargs}
    return BigGANGenerator(12, 7, 32, 1, **options)


def test_class_batch_norm_starts_as_batch_norm_and_tells_classes_apart() -> None:
    norm = ClassBatchNorm2d(3, num_classes=4)
    x = torch.randn(8, 3, 5, 5)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    plain = nn.BatchNorm2d(3, affine=False)
    torch.testing.assert_close(norm(x, y), plain(x))  # gains 1, biases 0
    with torch.no_grad():
        norm.gain[1] = 2.0
        norm.bias[2] = 0.5
    same = torch.zeros(8, dtype=torch.long)
    a, b, c = norm(x, same), norm(x, same + 1), norm(x, same + 2)
    torch.testing.assert_close(b, 2 * a)
    torch.testing.assert_close(c, a + 0.5)


def test_conditional_batch_norm_gain_is_one_plus_a_projection() -> None:
    norm = ConditionalBatchNorm2d(3, cond_dim=5)
    x = torch.randn(4, 3, 5, 5)
    normalised = nn.BatchNorm2d(3, affine=False)(x)
    torch.testing.assert_close(norm(x, torch.zeros(4, 5)), normalised)  # gain 1, bias 0
    c = torch.randn(4, 5)
    gain, bias = 1 + c @ norm.gain.weight.T, c @ norm.bias.weight.T  # [4, 3]
    expected = normalised * gain[:, :, None, None] + bias[:, :, None, None]
    torch.testing.assert_close(norm(x, c), expected)


def test_different_classes_give_different_normalised_outputs() -> None:
    g = _generator().eval()
    z = torch.randn(1, 12).expand(2, -1)
    block = g.blocks[0]
    h = g.linear(g.conditions(z, torch.tensor([0, 1]))[0]).unflatten(1, (-1, 4, 4))
    _, conds = g.conditions(z, torch.tensor([0, 1]))
    out = block.norm1(h, conds[0])  # same input features, two classes
    torch.testing.assert_close(h[0], h[1])
    assert not torch.allclose(out[0], out[1])


def test_one_shared_embedding_feeds_every_block() -> None:
    g = _generator()
    embeddings = [m for m in g.modules() if isinstance(m, nn.Embedding)]
    assert embeddings == [g.shared] and g.shared.weight.shape == (7, 6)
    # no per-class tables anywhere else: only the shared table has a row per class
    per_class = [n for n, p in g.named_parameters() if p.dim() and p.shape[0] == 7]
    assert per_class == ["shared.weight"]
    # every block's batch norms read the embedding: a change of one class's row moves them all
    z, y = torch.randn(3, 12), torch.tensor([1, 1, 2])
    before = _block_outputs(g.eval(), z, y)
    with torch.no_grad():
        g.shared.weight[1] += 1.0
    after = _block_outputs(g, z, y)
    for b, a in zip(before[1:], after[1:]):  # (the first linear layer sees z alone)
        assert not torch.allclose(a[:2], b[:2])  # class 1 samples
        torch.testing.assert_close(a[2], b[2])  # class 2 untouched


def _block_outputs(g: BigGANGenerator, z: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """The first linear layer's output, then every block's."""
    outputs: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: outputs.append(o)) for m in [g.linear, *g.blocks]
    ]
    with torch.no_grad():
        g(z, y)
    for h in hooks:
        h.remove()
    return outputs


def test_each_z_chunk_reaches_only_the_blocks_from_its_entry_on() -> None:
    g = _generator().eval()  # eval: batch statistics would couple the samples
    assert g.chunks == [3, 3, 3, 3] and len(g.blocks) == 3  # 12 features: linear + 3 blocks
    z, y = torch.randn(2, 12), torch.tensor([0, 3])
    base = _block_outputs(g, z, y)
    for k in range(len(g.chunks)):  # chunk k enters the linear layer (k = 0) or block k − 1
        moved = z.clone()
        start = sum(g.chunks[:k])
        moved[:, start : start + g.chunks[k]] += 1.0
        outputs = _block_outputs(g, moved, y)
        for stage, (a, b) in enumerate(zip(outputs, base)):
            if stage < k:
                torch.testing.assert_close(a, b, rtol=0, atol=0)
            else:
                assert not torch.allclose(a, b), (k, stage)


def test_without_hierarchy_z_enters_only_the_first_layer() -> None:
    g = _generator(hierarchical=False)
    assert g.chunks == [12] and g.linear.in_features == 12
    assert g.blocks[0].norm1.gain.in_features == 6  # embedding only
    sagan = _generator(hierarchical=False, shared_dim=0)
    assert isinstance(sagan.blocks[0].norm1, ClassBatchNorm2d) and sagan.shared is None
    with pytest.raises(ValueError, match="hierarchical"):
        _generator(shared_dim=0)


def test_z_chunks_split_near_equally() -> None:
    assert z_chunks(120, 6) == [20] * 6  # BigGAN at 128×128
    assert z_chunks(120, 7) == [18] + [17] * 6
    assert sum(z_chunks(31, 4)) == 31
    with pytest.raises(ValueError):
        z_chunks(3, 4)


def test_widths_follow_the_authors_tables() -> None:
    assert generator_widths(128, 1) == [16, 16, 8, 4, 2, 1]
    assert generator_widths(64, 1) == [16, 16, 8, 4, 2]
    assert generator_widths(256, 1) == [16, 16, 8, 8, 4, 2, 1]
    assert generator_widths(32, 2) == [32, 32, 16, 8]
    assert discriminator_widths(128, 1) == [1, 2, 4, 8, 16, 16]
    assert discriminator_widths(64, 1) == [1, 2, 4, 8, 16]
    assert discriminator_widths(512, 1) == [1, 1, 2, 4, 8, 8, 16, 16]
    assert discriminator_widths(16, 8) == [8, 16, 32]


def test_blocks_resample_and_networks_have_the_right_shapes() -> None:
    gb = GBlock(8, 4, lambda c: ClassBatchNorm2d(c, 3))
    assert gb(torch.randn(2, 8, 4, 4), torch.tensor([0, 2])).shape == (2, 4, 8, 8)
    db = DBlock(4, 8, downsample=True, preactivation=True)
    assert db(torch.randn(2, 4, 8, 8)).shape == (2, 8, 4, 4)
    assert DBlock(8, 8, downsample=False, preactivation=True).skip is None  # identity shortcut
    g = _generator()
    x = g(torch.randn(3, 12), torch.tensor([0, 1, 2]))
    assert x.shape == (3, 1, 32, 32) and x.abs().max() <= 1
    d = BigGANDiscriminator(1, 32, ch=8, attention=16)
    assert d.attention is not None and d.attention_after == 0
    assert d.features(x).shape == (3, d.feature_dim) and d(x).shape == (3,)


def test_orthogonal_init() -> None:
    torch.manual_seed(0)
    layer = init_weights_(nn.Linear(16, 8), "ortho")
    w = layer.weight  # [8, 16]: orthonormal rows
    torch.testing.assert_close(w @ w.T, torch.eye(8), atol=1e-5, rtol=0)
    assert torch.equal(layer.bias, torch.zeros(8))
