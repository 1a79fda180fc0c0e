"""CoGAN: pairs from one z, the paper's digit architecture sized by resolution, weight sharing
that is real (one Parameter for both domains), one update per phase, Trainer runs on
digits-negative, and the pair-agreement metric on hand-made pairs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gankit
from gankit.config import from_dict
from gankit.data.base import DataConfig, DataInfo, build_dataset
from gankit.data.digits import digit_images
from gankit.errors import GankitError
from gankit.metrics.pairs import (
    digit_class_probs,
    digits_negative_agreement,
    pair_agreement,
    pair_agreement_of,
)
from gankit.models import MODELS
from gankit.models.cogan import (
    CoGAN,
    CoGANConfig,
    discriminator_side,
    generator_sides,
)
from gankit.training.trainer import Trainer

from ..conftest import Tiny, tiny_config

TINY_SETS = (
    "model.g_channels=8",
    "model.d_channels=[8, 16]",
    "model.d_hidden=32",
    "model.z_dim=16",
)
TINY = Tiny("digits-negative", TINY_SETS, resolution=16)


def digit_info(resolution: int = 28) -> DataInfo:
    shape = (1, resolution, resolution)
    return DataInfo("pairs", "unpaired", shape, shape_b=shape, domains=("digits", "negative"))


def model_at(resolution: int = 28, **overrides) -> CoGAN:
    cfg = from_dict(CoGANConfig, overrides)
    info = digit_info(resolution)
    CoGAN.check_data(cfg, info)
    torch.manual_seed(0)
    return CoGAN(cfg, info)


# ---------------------------------------------------------------- architecture
def test_paper_digit_architecture_at_28() -> None:
    model = model_at(28)
    shared_g, head_g = model.G.shared, model.G.heads[0]
    firsts = [layer[0] for layer in shared_g]
    assert [c.out_channels for c in firsts] == [1024, 512, 256, 128]
    assert firsts[0].in_channels == 100 and firsts[0].kernel_size == (4, 4)  # FC to 4×4
    assert all(c.kernel_size == (3, 3) and c.stride == (2, 2) for c in firsts[1:])
    assert all(isinstance(layer[1], nn.BatchNorm2d) for layer in shared_g)
    assert all(isinstance(layer[2], nn.PReLU) for layer in shared_g)
    out = head_g[0][0]
    assert len(head_g) == 1 and out.kernel_size == (6, 6) and out.out_channels == 1
    head_d, shared_d = model.D.heads[0], model.D.shared
    first = head_d[0][0]
    assert len(head_d) == 1 and first.out_channels == 20 and first.kernel_size == (5, 5)
    assert shared_d[0][0].out_channels == 50 and shared_d[0][0].kernel_size == (5, 5)
    assert shared_d[1][1].in_features == 50 * 4 * 4 and shared_d[1][1].out_features == 500
    assert shared_d[2][0].out_features == 1
    cfg = model.config
    assert cfg.z_dist == "uniform" and cfg.g_opt.weight_decay == 5e-4
    assert (cfg.g_opt.lr, cfg.g_opt.betas) == (2e-4, (0.5, 0.999))
    assert CoGAN.train_defaults == {"batch_size": 128} and MODELS.get("cogan") is CoGAN


def test_sizes_worked_back_from_the_resolution() -> None:
    assert generator_sides(28) == [(4, 0), (7, 0), (13, 0), (25, 0)]  # the paper's
    assert generator_sides(32) == [(4, 0), (8, 1), (15, 0), (29, 0)]
    assert generator_sides(16) == [(2, 0), (4, 1), (7, 0), (13, 0)]
    assert [discriminator_side(r) for r in (16, 28, 32)] == [1, 4, 5]


@pytest.mark.parametrize("resolution", [16, 28, 32])
def test_pairs_come_from_one_latent(resolution: int) -> None:
    model = model_at(resolution, g_channels=8, d_hidden=16).eval()
    z = model.sample_latent(5)
    assert z.shape == (5, 100) and z.abs().max() <= 1  # U[-1, 1]
    pairs = model.generate(z)
    assert pairs.shape == (5, 2, 1, resolution, resolution)
    assert pairs.min() > -1 and pairs.max() < 1
    assert not torch.allclose(pairs[:, 0], pairs[:, 1])  # each domain renders its own way
    ra, rb = model.D(pairs[:, 0], pairs[:, 1, :, :, :][:3])
    assert ra.shape == (5,) and rb.shape == (3,)  # the domains' batches may differ in size


# ---------------------------------------------------------------- weight sharing
def _ids(module: nn.Module) -> set[int]:
    return {id(p) for p in module.parameters()}


def test_shared_layers_are_one_set_of_parameters() -> None:
    model = model_at(16, g_channels=8, d_hidden=16)
    g, d = model.G, model.D
    assert not _ids(g.heads[0]) & _ids(g.heads[1]) and not _ids(d.heads[0]) & _ids(d.heads[1])
    # a loss on domain A's images reaches the shared layers and A's head, never B's head;
    # on B's, the very same shared Parameter objects
    pairs = g(model.sample_latent(4))
    for k in (0, 1):
        grads = torch.autograd.grad(
            pairs[:, k].square().sum(), list(g.parameters()), allow_unused=True, retain_graph=True
        )
        reached = {id(p) for p, gr in zip(g.parameters(), grads) if gr is not None and gr.any()}
        assert _ids(g.shared) <= reached and _ids(g.heads[k]) <= reached
        assert not reached & _ids(g.heads[1 - k])
    x = torch.rand(3, 1, 16, 16)
    for k in (0, 1):
        logits = d(x, x)[k]
        grads = torch.autograd.grad(logits.sum(), list(d.parameters()), allow_unused=True)
        reached = {id(p) for p, gr in zip(d.parameters(), grads) if gr is not None and gr.any()}
        assert _ids(d.shared) <= reached and _ids(d.heads[k]) <= reached
        assert not reached & _ids(d.heads[1 - k])


def test_sharing_depth_is_configurable() -> None:
    def count(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    paper = model_at(28, g_channels=8)
    apart = model_at(28, g_channels=8, g_shared=0, d_shared=0)  # two independent GANs
    assert not _ids(apart.G.shared) and not _ids(apart.D.shared)
    # unsharing duplicates exactly the shared layers
    assert count(apart.G) == count(paper.G) + count(paper.G.shared)
    assert count(apart.D) == count(paper.D) + count(paper.D.shared)
    assert len(model_at(28, g_shared=2, g_channels=8).G.heads[1]) == 3


def test_bad_data_and_settings_are_clear_errors() -> None:
    cfg = CoGANConfig()
    mixed = DataInfo("m", "unpaired", (1, 28, 28), shape_b=(3, 28, 28))
    with pytest.raises(GankitError, match="pairs of images of one shape"):
        CoGAN.check_data(cfg, mixed)
    with pytest.raises(GankitError, match="side at least 16"):
        CoGAN.check_data(cfg, digit_info(8))
    with pytest.raises(GankitError, match="needs unpaired data"):
        CoGAN.check_data(cfg, DataInfo("digits", "image", (1, 28, 28), 10))
    with pytest.raises(GankitError, match=r"g_shared must be in \[0, 4\], got 5"):
        CoGANConfig(g_shared=5)
    with pytest.raises(GankitError, match=r"d_shared must be in \[0, 3\], got 4"):
        CoGANConfig(d_shared=4)


# ---------------------------------------------------------------- training
def test_one_update_of_every_phase_moves_only_its_parameters() -> None:
    trainer = Trainer(tiny_config("cogan", TINY), write=False)
    params = dict(trainer.model.named_parameters())
    assert [p.name for p in trainer.phases] == ["D", "G"]
    for index, phase in enumerate(trainer.phases):
        before = {k: p.detach().clone() for k, p in params.items()}
        out = trainer.update(index)
        assert torch.isfinite(out["loss"])
        owned = {id(p) for p in phase.params}
        mine = {k for k, p in params.items() if id(p) in owned}
        changed = {k for k, p in params.items() if not torch.equal(p, before[k])}
        assert changed == mine, f"phase {phase.name}: {sorted(changed ^ mine)}"
        assert mine == {k for k in params if k.startswith(phase.name + ".")}


def test_losses_sum_both_domains() -> None:
    model = model_at(16, g_channels=8, d_hidden=16)
    batch = build_dataset(DataConfig("digits-negative", resolution=16)).batch(torch.arange(8))
    torch.manual_seed(3)
    d = model.loss("D", batch)
    torch.manual_seed(3)
    with torch.no_grad():
        fake = model.G(model.sample_latent(8))
        ra, rb = model.D(batch["a"], batch["b"])
        fa, fb = model.D(fake[:, 0], fake[:, 1])
    expected = gankit.losses.bce_d(ra, fa) + gankit.losses.bce_d(rb, fb)
    torch.testing.assert_close(d["loss"], expected)
    g = model.loss("G", batch)
    assert g["loss"].shape == () and {"p_fake_a", "p_fake_b"} <= set(g)


def test_a_few_trainer_steps_on_digits_negative() -> None:
    trainer = Trainer(tiny_config("cogan", TINY, steps=4), write=False)
    result = trainer.fit()
    assert result.step == 4 and all(torch.isfinite(torch.tensor(v)) for v in result.logs.values())
    assert {"D/p_real_a", "D/p_fake_b", "G/p_fake_a"} <= set(result.logs)
    images, nrow = trainer.sample_fixed()
    assert images.shape == (8, 2, 1, 16, 16) and nrow is None


def test_run_directory_round_trip(tmp_path) -> None:
    cfg = tiny_config("cogan", TINY, steps=3, sample_every=3)
    result = Trainer(cfg, run_dir=tmp_path / "run").fit()
    assert (tmp_path / "run" / "samples" / "step-000003.png").is_file()  # pairs side by side
    handle = gankit.load(tmp_path / "run")
    pairs = handle.sample(6, seed=7)
    assert pairs.shape == (6, 2, 1, 16, 16)
    model = result.model.eval()
    z = model.sample_latent(6, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(pairs, model.generate(z).detach(), rtol=1e-5, atol=1e-6)
    assert (tmp_path / "run" / "samples" / "step-000003.png").is_file()  # pairs side by side
    handle = gankit.load(tmp_path / "run")
    pairs = handle.sample(6, seed=7)
    assert pairs.shape == (6, 2, 1, 16, 16)
    torch.testing.assert_close(handle.sample(6, seed=7), pairs)


# ---------------------------------------------------------------- pair agreement
def test_pair_agreement_counts_matching_classes() -> None:
    def classify(x: torch.Tensor) -> torch.Tensor:  # "images" that are their own logits
        return x

    a = torch.eye(4)[[0, 1, 2, 3]]
    b = torch.eye(4)[[0, 1, 3, 3]]
    assert pair_agreement(a, b, classify, classify) == 0.75
    assert pair_agreement(a, b, classify, classify, batch_size=3) == 0.75
    with pytest.raises(ValueError, match="as many A as B"):
        pair_agreement(a, b[:3], classify, classify)
    with pytest.raises(GankitError, match="no pair classifiers for 'digits'"):
        pair_agreement_of(a, b, "digits")


def test_pair_agreement_of_real_digit_pairs() -> None:
    x, y = digit_images("test", 16)  # [450, 1, 16, 16]
    # a digit and its own negative: the same image once the ink is flipped back
    assert digits_negative_agreement(x, -x) == 1.0
    assert pair_agreement_of(x, -x, "digits-negative") == 1.0
    # a digit and the negative of another digit of the same class: the classifier's accuracy
    # (each digit is paired with the last test digit of its class)
    same_class = torch.tensor([(y == c).nonzero()[-1, 0] for c in y.tolist()])
    agreement = digits_negative_agreement(x, -x[same_class])
    assert agreement > 0.9
    # and of a random digit: chance, Σ p(class)² ≈ 0.1
    shuffled = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    assert 0.05 < digits_negative_agreement(x, -x[shuffled]) < 0.16
    # without flipping the ink back, the classifier cannot read negatives
    raw = (digit_class_probs(x).argmax(-1) == digit_class_probs(-x).argmax(-1)).float().mean()
    assert raw < 0.5
