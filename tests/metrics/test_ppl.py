"""Perceptual path length: its definition on known generators and features."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.handle import Generator
from gankit.latent import slerp
from gankit.metrics import evaluate
from gankit.metrics.ppl import perceptual_path_length, slerp_batch
from gankit.training.trainer import Trainer

from ..conftest import TINY, tiny_config


@pytest.fixture(scope="module")
def handle() -> Generator:
    trainer = Trainer(tiny_config("dcgan", TINY["dcgan"]), write=False)
    model = trainer.model.eval().requires_grad_(False)
    return Generator(model, trainer.config, 0, False, Path("none.json"))


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1)


def test_slerp_batch_matches_the_single_path_slerp() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b, t = torch.randn(5, 8, generator=gen), torch.randn(5, 8, generator=gen), torch.rand(5)
    got = slerp_batch(a, b, t)
    for i in range(5):
        torch.testing.assert_close(got[i], slerp(a[i], b[i], t[i : i + 1])[0])
    torch.testing.assert_close(slerp_batch(a, b, torch.zeros(5)), a)
    torch.testing.assert_close(slerp_batch(a, b, torch.ones(5)), b)


def test_constant_features_give_zero_and_scaled_features_four_times(handle: Generator) -> None:
    zero = perceptual_path_length(handle, lambda x: torch.zeros(len(x), 3), n=64)
    assert zero == 0.0
    base = perceptual_path_length(handle, _flat, n=64, epsilon=1e-3)
    double = perceptual_path_length(handle, lambda x: 2 * _flat(x), n=64, epsilon=1e-3)
    assert base > 0
    assert double == pytest.approx(4 * base, rel=1e-6)


def test_small_steps_measure_a_derivative(handle: Generator) -> None:
    """For a smooth generator the squared difference quotient does not depend on ε (while ε is
    well above rounding): the metric measures ‖dφ(G(p(t)))/dt‖²."""
    coarse = perceptual_path_length(handle, _flat, n=64, epsilon=1e-3)
    fine = perceptual_path_length(handle, _flat, n=64, epsilon=1e-4)
    assert fine == pytest.approx(coarse, rel=0.05)
    same = perceptual_path_length(handle, _flat, n=64, epsilon=1e-4)
    assert same == fine  # seeded


def test_ppl_in_eval_on_digits(handle: Generator) -> None:
    out = evaluate(handle, ["ppl"], n=40)
    assert out["ppl_full"] > 0 and out["ppl_end"] > 0


def test_w_space_needs_a_mapping_network(handle: Generator) -> None:
    from gankit.errors import GankitError

    with pytest.raises(GankitError, match="no w space"):
        perceptual_path_length(handle, _flat, n=8, space="w")
