"""What defines each classic model beyond the shared model tests: CGAN's labels, LSGAN's
objective, WGAN's clipping and critic schedule, InfoGAN's codes and its Q head."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from gankit import losses
from gankit.errors import GankitError
from gankit.metrics import code_purity
from gankit.models.adversarial import pack_samples
from gankit.training.trainer import Trainer

from ..conftest import TINY, VARIANTS, Tiny, tiny_config


def _with(name: str, *sets: str) -> Tiny:
    """The tiny config of `name` with more `--set` overrides."""
    tiny = TINY[name]
    return Tiny(tiny.data, (*tiny.sets, *sets), tiny.resolution, tiny.batch_size)


def test_least_squares_losses_match_the_paper() -> None:
    real, fake = torch.randn(32), torch.randn(32)
    a, b, c = -1.0, 1.0, 0.0
    expected_d = 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()
    torch.testing.assert_close(losses.least_squares_d(real, fake, a=a, b=b), expected_d)
    torch.testing.assert_close(losses.least_squares_g(fake, c=c), 0.5 * (fake**2).mean())


def test_lsgan_reads_its_coding() -> None:
    trainer = Trainer(tiny_config("lsgan", _with("lsgan", "model.a=-1", "model.c=0")), write=False)
    model, batch = trainer.model, trainer.stream.next()
    torch.manual_seed(0)
    out = model.loss("G", batch)
    torch.manual_seed(0)
    z = model.sample_latent(len(batch["x"]))
    scores = model.D(model.G(z))
    torch.testing.assert_close(out["loss"], 0.5 * (scores**2).mean())


def test_wgan_clips_the_critic_after_every_update() -> None:
    trainer = Trainer(
        tiny_config("wgan", _with("wgan", "model.clip=0.05", "model.init_std=1.0")), write=False
    )
    critic = trainer.model.D
    assert max(p.abs().max() for p in critic.parameters()) > 0.05  # before: far outside
    trainer.update(0)
    assert max(p.abs().max() for p in critic.parameters()) <= 0.05
    g_before = [p.clone() for p in trainer.model.G.parameters()]
    trainer.update(1)  # the generator is not clipped
    assert any(p.abs().max() > 0.05 for p in trainer.model.G.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(g_before, trainer.model.G.parameters()))


def test_wgan_critic_schedule() -> None:
    model = Trainer(tiny_config("wgan", TINY["wgan"]), write=False).model
    model.config.warmup_critic = 100
    counts = [model.critic_updates(s) for s in (0, 24, 25, 499, 500, 501, 1000)]
    assert counts == [100, 100, 2, 2, 100, 2, 100]
    model.config.warmup_critic = 0
    assert model.critic_updates(0) == 2
    with pytest.raises(GankitError, match="clip"):
        Trainer(tiny_config("wgan", _with("wgan", "model.clip=0")), write=False)


@pytest.mark.parametrize(
    "tiny",
    [TINY["cgan"], *(t for name, t in VARIANTS if name == "cgan")],
    ids=["concat-mlp", "projection-mlp", "projection-dcgan"],
)
def test_cgan_labels_reach_both_networks(tiny: Tiny) -> None:
    model = Trainer(tiny_config("cgan", tiny), write=False).model.eval()
    z = model.sample_latent(4)
    y0, y1 = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    x = model.generate(z, y0)
    assert not torch.allclose(x, model.generate(z, y1))
    with torch.no_grad():
        for p in model.D.parameters():  # move the class embeddings off their (zero) start
            p.add_(0.1 * torch.randn_like(p))
    assert not torch.allclose(model.discriminate(x, y0), model.discriminate(x, y1))


def test_conditioning_needs_labelled_data(tmp_path) -> None:
    csv = tmp_path / "cloud.csv"
    csv.write_text("\n".join(f"{i % 7},{i % 5}" for i in range(64)))
    for name in ("cgan", "lsgan"):
        tiny = Tiny(f"points:{csv}", ("model.conditional=true",))
        with pytest.raises(GankitError, match="labelled"):
            Trainer(tiny_config(name, tiny), write=False)


def test_pacgan_packs_consecutive_samples() -> None:
    x = torch.arange(4 * 2 * 3 * 3.0).view(4, 2, 3, 3)
    packed = pack_samples(x, 2)
    assert packed.shape == (2, 4, 3, 3)
    assert torch.equal(packed[1, :2], x[2]) and torch.equal(packed[1, 2:], x[3])
    with pytest.raises(GankitError, match="packs of 3"):
        pack_samples(x, 3)
    model = Trainer(tiny_config("dcgan", _with("dcgan", "model.pack=2")), write=False).model
    assert model.D.net[0].in_channels == 2  # two grayscale digits side by side
    assert model.discriminate(torch.zeros(6, 1, 16, 16), None).shape == (3,)


def test_packed_gradient_penalty_takes_the_norm_per_pack() -> None:
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    critic = lambda x: (x.reshape(4, 6) * 0.5).sum(1)  # noqa: E731  (gradient 0.5 everywhere)
    gp = losses.gradient_penalty(critic, real, fake, group=2)
    torch.testing.assert_close(gp, torch.tensor((0.5 * 6**0.5 - 1) ** 2))


# ---------------------------------------------------------------- InfoGAN
@pytest.fixture
def infogan():
    return Trainer(tiny_config("infogan"), write=False)


def test_infogan_latent_layout(infogan) -> None:
    model = infogan.model
    assert [(c.name, c.kind) for c in model.codes] == [
        ("c1", "categorical"),
        ("c2", "continuous"),
        ("c3", "continuous"),
    ]
    z = model.sample_latent(300, generator=torch.Generator().manual_seed(0))
    assert z.shape == (300, 8 + 10 + 2)
    onehot = z[:, 8:18]
    assert torch.equal(onehot.sum(1), torch.ones(300)) and set(onehot.argmax(1).tolist()) == set(
        range(10)
    )
    assert z[:, 18:].abs().max() <= 1
    swept = model.set_code(z[:3], "c1", 4)
    assert torch.equal(swept[:, 8:18].argmax(1), torch.full((3,), 4))
    assert torch.equal(swept[:, :8], z[:3, :8]) and torch.equal(swept[:, 18:], z[:3, 18:])
    assert model.set_code(z[:3], "c3", 1.5)[:, 19].eq(1.5).all()
    assert model.code_values("c1") == [float(i) for i in range(10)]
    assert model.code_values("c2", 5) == [-2.0, -1.0, 0.0, 1.0, 2.0]
    with pytest.raises(GankitError, match="c4"):
        model.code("c4")
    with pytest.raises(GankitError, match="category"):
        model.set_code(z, "c1", 10)


def test_infogan_q_shares_the_trunk_and_trains_with_both_players(infogan) -> None:
    model = infogan.model
    phases = {p.name: {id(q) for q in p.params} for p in infogan.phases}
    trunk = {id(p) for p in model.trunk.parameters()}
    q_head = {id(p) for p in model.q_head.parameters()}
    assert trunk <= phases["D"] and q_head <= phases["D"]
    assert phases["G"] == {id(p) for p in model.G.parameters()}
    out = model.loss("G", infogan.stream.next())
    assert out["info_cat"] > 0 and out["loss"] > out["adv"]


def test_infogan_information_loss_is_cross_entropy_plus_half_squared_error(infogan) -> None:
    model = infogan.model
    latent = model.sample_latent(6)
    q = torch.randn(6, 12)
    out = model.information_loss(q, latent)
    ce = torch.nn.functional.cross_entropy(q[:, :10], latent[:, 8:18].argmax(1))
    mse = 0.5 * ((q[:, 10:] - latent[:, 18:]) ** 2).mean(0).sum()
    torch.testing.assert_close(out["info"], ce + mse)


def test_code_purity_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, 300)
    classes = np.where(rng.random(300) < 0.7, (codes + 1) % 4, rng.integers(0, 4, 300))
    best = max(
        sum(np.sum((codes == k) & (classes == perm[k])) for k in range(4))
        for perm in itertools.permutations(range(4))
    )
    out = code_purity(codes, classes)
    assert out["purity"] == pytest.approx(best / 300)
    majority = sum(np.bincount(classes[codes == k]).max() for k in range(4)) / 300
    assert out["purity_majority"] == pytest.approx(majority) and out["purity"] <= majority
    assert code_purity([0, 0, 1, 1], [3, 3, 3, 3])["purity"] == 0.5  # one-to-one
