"""Spectral normalisation: σ_max of every wrapped weight is 1, one switch covers a whole network,
and the power-iteration state survives a safetensors round trip."""

from __future__ import annotations

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gankit.nn.biggan import BigGANDiscriminator, BigGANGenerator
from gankit.nn.spectral import (
    NORMALISED,
    is_spectral_normed,
    largest_singular_value,
    spectral_norm_,
    spectral_normed,
)


def _layers(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.ConvTranspose2d(16, 8, 4),
        nn.Linear(12, 20),
        nn.Embedding(10, 6),
    )
    with torch.no_grad():  # far from σ = 1 to begin with
        for p in net.parameters():
            p.mul_(7.0)
    return net


def _iterate(net: nn.Module, times: int) -> None:
    """Power-iteration steps: each read of a weight in training mode is one."""
    for _ in range(times):
        for _, layer in spectral_normed(net):
            layer.weight  # noqa: B018


def _sigma(layer: nn.Module) -> torch.Tensor:
    dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
    return largest_singular_value(layer.weight, dim)


def test_every_wrapped_weight_has_unit_largest_singular_value() -> None:
    net = spectral_norm_(_layers())
    # registration runs 15 steps; on these random matrices (close top singular values) 30 more
    # bring the estimate within 0.1% (the training steps of a GAN do this as they go)
    _iterate(net, 30)
    for name, layer in spectral_normed(net):
        torch.testing.assert_close(_sigma(layer), torch.tensor(1.0), rtol=1e-3, atol=0, msg=name)
    # the raw weights are what the optimiser updates; they keep their own scale
    raw = net[2].parametrizations.weight.original
    assert largest_singular_value(raw) > 2


def test_one_switch_covers_every_layer_but_the_excluded() -> None:
    g = BigGANGenerator(8, 5, 16, 1, ch=1, attention=8, shared_dim=4, hierarchical=True)
    d = BigGANDiscriminator(1, 16, ch=8, attention=8)
    spectral_norm_(g, exclude=[g.shared])
    spectral_norm_(d)
    for net in (g, d):
        layers = [(n, m) for n, m in net.named_modules() if isinstance(m, NORMALISED)]
        assert len(layers) > 10
        for name, layer in layers:
            assert is_spectral_normed(layer) == (layer is not getattr(net, "shared", None)), name
    assert not is_spectral_normed(g.shared)
    # calling it twice does not stack two normalisations
    spectral_norm_(d)
    assert all(len(m.parametrizations.weight) == 1 for _, m in spectral_normed(d))


def test_power_iteration_runs_only_in_training_mode() -> None:
    net = spectral_norm_(_layers())
    u = net[0].parametrizations.weight[0]._u
    before = u.clone()
    net.eval()
    _iterate(net, 2)
    assert torch.equal(u, before)
    net.train()
    _iterate(net, 1)
    assert not torch.equal(u, before)


def test_state_round_trips_through_safetensors_with_the_iteration_vectors(tmp_path) -> None:
    net = spectral_norm_(_layers(0))
    _iterate(net, 3)
    state = net.state_dict()
    assert any(k.endswith("parametrizations.weight.original") for k in state)
    buffers = dict(net.named_buffers())
    assert (
        "0.parametrizations.weight.0._u" in buffers and "0.parametrizations.weight.0._v" in buffers
    )
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "w.safetensors")
    other = spectral_norm_(_layers(1))  # different weights and vectors until loaded
    other.load_state_dict(load_file(tmp_path / "w.safetensors"))
    torch.testing.assert_close(other.state_dict(), state, rtol=0, atol=0)
    # continuing the iteration from the restored vectors gives the same weights, bit for bit
    x = torch.randn(2, 12)
    torch.testing.assert_close(other[2](x), net[2](x), rtol=0, atol=0)
    torch.testing.assert_close(other.state_dict(), net.state_dict(), rtol=0, atol=0)
