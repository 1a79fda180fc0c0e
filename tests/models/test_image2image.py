"""Pix2pix, CycleGAN and DiscoGAN: translation shapes in both directions, the losses' numbers,
phases that move only their own networks, the history pool and the schedules, and short real
training runs of the cycle models on digits-negative.

Pix2pix is tested at the model level, on hand-made batches and a tiny PairedDataset (no
built-in paired set existed when these tests were written)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit import losses
from gankit.data.base import DataInfo
from gankit.data.pairs import PairedDataset
from gankit.errors import GankitError
from gankit.models import MODELS, GANModel
from gankit.models.base import make_optimizer
from gankit.models.cyclegan import CycleGAN, CycleGANConfig, DiscoGAN, DiscoGANConfig
from gankit.models.pix2pix import Pix2Pix, Pix2PixConfig
from gankit.training import Trainer, load_checkpoint

from ..conftest import Tiny, tiny_config


def _info(kind: str, c_a: int, c_b: int, side: int) -> DataInfo:
    return DataInfo("tiny", kind, (c_a, side, side), shape_b=(c_b, side, side), domains=("x", "y"))


def _images(n: int, c: int, side: int, seed: int) -> torch.Tensor:
    return torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _batch(info: DataInfo, n: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    return {
        "a": _images(n, info.shape[0], info.shape[-1], seed),
        "b": _images(n, *info.shape_b[:2], seed + 1),
    }


def _build(cls: type[GANModel], info: DataInfo, **fields) -> GANModel:
    cfg = cls.Config(**fields)
    cls.check_data(cfg, info)
    torch.manual_seed(0)
    return cls(cfg, info)


def _step(model: GANModel, index: int, batch: dict[str, torch.Tensor]) -> set[str]:
    """One update of phase `index` as the Trainer makes it; the names of the parameters that
    changed (and checks that every parameter of the phase with a gradient did)."""
    phase = model.phases()[index]
    owned = {id(p) for p in phase.params}
    for p in model.parameters():
        p.requires_grad_(id(p) in owned)
    params = dict(model.named_parameters())
    before = {k: p.detach().clone() for k, p in params.items()}
    opt = make_optimizer(phase.params, phase.optim)
    out = model.loss(phase.name, batch)
    assert out["loss"].shape == () and all(torch.isfinite(v).all() for v in out.values())
    opt.zero_grad()
    out["loss"].backward()
    opt.step()
    changed = {k for k, p in params.items() if not torch.equal(p, before[k])}
    mine = {k for k, p in params.items() if id(p) in owned}
    assert changed == mine, f"phase {phase.name}: {sorted(mine ^ changed)}"
    return changed


# ---------------------------------------------------------------------------- pix2pix
P2P = {"g_channels": 4, "d_channels": 4, "max_channels": 16}


def test_pix2pix_translates_edges_to_colour() -> None:
    info = _info("paired", 1, 3, 32)
    model = _build(Pix2Pix, info, **P2P)
    assert model.directions == ("AtoB",) and model.input_multiple == 32
    assert model.G.depth == 5 and model.D.layers == 1  # 32 = 2^5; the PatchGAN's rule
    y = model.translate(_images(2, 1, 32, 0))
    assert y.shape == (2, 3, 32, 32) and y.abs().max() <= 1
    assert model.translate(_images(1, 1, 64, 0)).shape == (1, 3, 64, 64)
    with pytest.raises(GankitError, match="AtoB"):
        model.translate(_images(1, 3, 32, 0), "BtoA")
    with pytest.raises(GankitError, match=r"\[N, 1, H, W\]"):
        model.translate(_images(1, 3, 32, 0))
    with pytest.raises(GankitError, match="multiples of 32"):
        model.translate(_images(1, 1, 48, 0))


def test_pix2pix_defaults_are_the_papers() -> None:
    cfg = Pix2PixConfig()
    assert (cfg.l1, cfg.dropout, cfg.dropout_blocks, cfg.init_std) == (100.0, 0.5, 3, 0.02)
    assert cfg.g_opt.lr == cfg.d_opt.lr == 2e-4 and cfg.g_opt.betas == (0.5, 0.999)
    assert Pix2Pix.default_resolution == 256 and Pix2Pix.train_defaults == {"batch_size": 1}
    model = _build(Pix2Pix, _info("paired", 3, 3, 256), g_channels=2, d_channels=2)
    assert model.G.depth == 8 and model.D.layers == 3 and model.D.receptive_field == 70
    assert [p.name for p in model.phases()] == ["D", "G"]
    assert all(p.lr_scale(s, 10) == 1.0 for p in model.phases() for s in range(10))


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (_info("unpaired", 1, 3, 32), "paired"),
        (DataInfo("sr", "paired", (3, 16, 16), shape_b=(3, 64, 64)), "srgan"),
        (_info("paired", 3, 3, 48), "power-of-two"),
    ],
)
def test_pix2pix_rejects_data_it_cannot_translate(info: DataInfo, message: str) -> None:
    with pytest.raises(GankitError, match=message):
        Pix2Pix.check_data(Pix2PixConfig(), info)


def test_pix2pix_rejects_bad_config() -> None:
    info = _info("paired", 3, 3, 32)
    for fields, key in [
        ({"dropout": 1.0}, "dropout"),
        ({"l1": -1.0}, "l1"),
        ({"d_layers": 0}, "d_layers"),
        ({"decay_start": 2.0}, "decay_start"),
    ]:
        with pytest.raises(GankitError, match=key):
            Pix2Pix.check_data(Pix2PixConfig(**fields), info)


def test_pix2pix_losses_are_the_papers() -> None:
    info = _info("paired", 1, 3, 16)
    model = _build(Pix2Pix, info, **P2P)
    a, b = _batch(info).values()
    torch.manual_seed(3)
    out = model.loss("G", {"a": a, "b": b})
    torch.manual_seed(3)  # the same dropout masks
    fake = model.G(a)
    logits = model.D(torch.cat([a, fake], 1))
    adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    l1 = F.l1_loss(fake, b)
    torch.testing.assert_close(out["adv"], adv)
    torch.testing.assert_close(out["l1"], l1)
    torch.testing.assert_close(out["loss"], adv + 100 * l1)

    torch.manual_seed(4)
    out = model.loss("D", {"a": a, "b": b})
    torch.manual_seed(4)
    with torch.no_grad():
        fake = model.G(a)
    real_logits, fake_logits = model.D(torch.cat([a, b], 1)), model.D(torch.cat([a, fake], 1))
    bce = F.binary_cross_entropy_with_logits
    expected = 0.5 * (
        bce(real_logits, torch.ones_like(real_logits))
        + bce(fake_logits, torch.zeros_like(fake_logits))
    )
    torch.testing.assert_close(out["loss"], expected)  # halved, as the paper


def test_pix2pix_phases_move_only_their_network_on_a_paired_dataset() -> None:
    info = _info("paired", 1, 3, 16)
    data = PairedDataset(
        (torch.rand(6, 1, 16, 16) * 255).byte(), (torch.rand(6, 3, 16, 16) * 255).byte(), info
    )
    model = _build(Pix2Pix, info, **P2P)
    batch = data.batch(torch.tensor([0, 3, 5]))
    assert batch["a"].min() >= -1 and batch["b"].max() <= 1
    assert all(k.startswith("D.") for k in _step(model, 0, batch))
    assert all(k.startswith("G.") for k in _step(model, 1, data.batch(torch.tensor([1, 2]))))


# ---------------------------------------------------------------------------- CycleGAN
CYC = {"g_channels": 4, "d_channels": 4, "max_channels": 8, "blocks": 1, "pool_size": 3}


@pytest.mark.parametrize(("c_a", "c_b"), [(1, 3), (3, 3)])
def test_cyclegan_translates_both_ways(c_a: int, c_b: int) -> None:
    info = _info("unpaired", c_a, c_b, 16)
    model = _build(CycleGAN, info, **CYC)
    assert model.directions == ("AtoB", "BtoA") and model.input_multiple == 4
    a, b = _batch(info, 3).values()
    assert model.translate(a, "AtoB").shape == (3, c_b, 16, 16)
    assert model.translate(b, "BtoA").shape == (3, c_a, 16, 16)
    assert model.translate(_images(1, c_a, 20, 0)).shape == (1, c_b, 20, 20)
    cyc = model.cycle(a, b)
    assert cyc["rec_a"].shape == a.shape and cyc["rec_b"].shape == b.shape
    assert cyc["fake_b"].shape == (3, c_b, 16, 16) and cyc["fake_a"].shape == (3, c_a, 16, 16)
    with pytest.raises(GankitError, match="not 'AtoA'"):
        model.translate(a, "AtoA")
    if c_a != c_b:
        with pytest.raises(GankitError, match=rf"\[N, {c_b}, H, W\]"):
            model.translate(a, "BtoA")
    with pytest.raises(GankitError, match="multiples of 4"):
        model.translate(_images(1, c_a, 18, 0))


def test_cyclegan_preview_shows_the_round_trips() -> None:
    info = _info("unpaired", 1, 3, 16)
    model = _build(CycleGAN, info, **CYC).eval()
    batch = _batch(info, 2)
    images, nrow = model.preview(batch)
    assert nrow == 6 and images.shape == (12, 3, 16, 16)
    a, b = batch["a"], batch["b"]
    with torch.no_grad():
        ab = model.G_AB(a)
        expected = [a, ab, model.G_BA(ab), b, model.G_BA(b), model.G_AB(model.G_BA(b))]
    for column, x in enumerate(expected):
        torch.testing.assert_close(images[column::6], x.expand(-1, 3, -1, -1))


def test_cyclegan_defaults_are_the_papers() -> None:
    cfg = CycleGANConfig()
    assert (cfg.cycle, cfg.identity, cfg.pool_size, cfg.decay_start) == (10.0, 0.5, 50, 0.5)
    assert cfg.g_opt.lr == cfg.d_opt.lr == 2e-4 and cfg.d_opt.betas == (0.5, 0.999)
    assert CycleGAN.default_resolution == 256 and CycleGAN.train_defaults == {"batch_size": 1}
    small = {"g_channels": 2, "d_channels": 2, "max_channels": 4}
    big = _build(CycleGAN, _info("unpaired", 3, 3, 256), **small)
    assert big.G_AB.blocks == big.G_BA.blocks == 9
    assert big.D_A.layers == 3 and big.D_B.receptive_field == 70
    assert big.pool_A.images.shape == (50, 3, 256, 256)
    assert _build(CycleGAN, _info("unpaired", 3, 3, 128), **small).G_AB.blocks == 6


def test_cyclegan_learning_rate_is_constant_then_falls_to_zero() -> None:
    model = _build(CycleGAN, _info("unpaired", 1, 1, 16), **CYC)
    for phase in model.phases():
        scale = [phase.lr_scale(s, 100) for s in range(101)]
        assert scale[:51] == [1.0] * 51
        assert scale[75] == 0.5 and scale[100] == 0.0
        steps = [scale[s] - scale[s + 1] for s in range(50, 100)]
        assert max(steps) == pytest.approx(min(steps)) == pytest.approx(0.02)


@pytest.mark.parametrize(("c_b", "identity"), [(1, True), (3, False)])
def test_cyclegan_generator_loss_and_the_identity_switch(c_b: int, identity: bool) -> None:
    info = _info("unpaired", 1, c_b, 16)
    model = _build(CycleGAN, info, **CYC)
    assert model.uses_identity == identity
    a, b = _batch(info).values()
    out = model.loss("G", {"a": a, "b": b})
    fb, fa = model.G_AB(a), model.G_BA(b)
    adv_a, adv_b = ((model.D_A(fa) - 1) ** 2).mean(), ((model.D_B(fb) - 1) ** 2).mean()
    cycle = F.l1_loss(model.G_BA(fb), a) + F.l1_loss(model.G_AB(fa), b)
    expected = adv_a + adv_b + 10 * cycle
    torch.testing.assert_close(out["adv_a"], adv_a)
    torch.testing.assert_close(out["cycle"], cycle)
    if identity:
        idt = F.l1_loss(model.G_AB(b), b) + F.l1_loss(model.G_BA(a), a)
        torch.testing.assert_close(out["identity"], idt)
        expected = expected + 5 * idt  # 0.5 · λ_cycle
    else:
        assert "identity" not in out
    torch.testing.assert_close(out["loss"], expected)
    off = _build(CycleGAN, info, **{**CYC, "identity": 0.0})
    assert not off.uses_identity and "identity" not in off.loss("G", {"a": a, "b": b})


def test_cyclegan_discriminators_see_the_pool_of_the_generators_fakes() -> None:
    info = _info("unpaired", 1, 3, 16)
    model = _build(CycleGAN, info, **CYC)
    a, b = _batch(info, 2).values()
    # D first (no G phase yet): it generates its fakes, which fill the pools
    out = model.loss("D", {"a": a, "b": b})
    assert int(model.pool_A.count) == int(model.pool_B.count) == 2
    with torch.no_grad():
        torch.testing.assert_close(model.pool_B.images[:2], model.G_AB(a))
    # a G phase leaves its translations for the next D phase, which takes them once
    a2, b2 = _batch(info, 2, seed=5).values()
    model.loss("G", {"a": a2, "b": b2})
    latest = model._latest["b"].clone()
    torch.manual_seed(0)
    out = model.loss("D", {"a": a, "b": b})
    assert model._latest == {}
    assert int(model.pool_B.count) == 3  # one more fills the pool of 3; the other may swap
    assert torch.equal(model.pool_B.images[2], latest[0])
    assert torch.isfinite(out["loss"]) and set(out) == {"loss", "d_a", "d_b", "real_sign"}


def test_cyclegan_d_loss_is_halved_least_squares() -> None:
    info = _info("unpaired", 1, 1, 16)
    model = _build(CycleGAN, info, **{**CYC, "pool_size": 0})
    a, b = _batch(info).values()
    out = model.loss("D", {"a": a, "b": b})
    with torch.no_grad():
        fa, fb = model.G_BA(b), model.G_AB(a)
    d_a = 0.5 * (((model.D_A(a) - 1) ** 2).mean() + (model.D_A(fa) ** 2).mean())
    d_b = 0.5 * (((model.D_B(b) - 1) ** 2).mean() + (model.D_B(fb) ** 2).mean())
    torch.testing.assert_close(out["d_a"], d_a)
    torch.testing.assert_close(out["loss"], d_a + d_b)


def test_cyclegan_phases_move_only_their_networks() -> None:
    info = _info("unpaired", 1, 3, 16)
    model = _build(CycleGAN, info, **CYC)
    assert [p.name for p in model.phases()] == ["G", "D"]
    assert {k.split(".")[0] for k in _step(model, 0, _batch(info))} == {"G_AB", "G_BA"}
    assert {k.split(".")[0] for k in _step(model, 1, _batch(info, seed=2))} == {"D_A", "D_B"}


def test_cyclegan_rejects_bad_data_and_config() -> None:
    with pytest.raises(GankitError, match="unpaired"):
        CycleGAN.check_data(CycleGANConfig(), _info("paired", 3, 3, 16))
    odd = DataInfo("x", "unpaired", (3, 16, 16), shape_b=(3, 32, 32))
    with pytest.raises(GankitError, match="one size"):
        CycleGAN.check_data(CycleGANConfig(), odd)
    with pytest.raises(GankitError, match="multiple of 4"):
        CycleGAN.check_data(CycleGANConfig(), _info("unpaired", 3, 3, 18))
    info = _info("unpaired", 3, 3, 16)
    for fields, key in [
        ({"cycle": -1.0}, "cycle"),
        ({"pool_size": -1}, "pool_size"),
        ({"blocks": -1}, "blocks"),
        ({"decay_start": -0.1}, "decay_start"),
    ]:
        with pytest.raises(GankitError, match=key):
            CycleGAN.check_data(CycleGANConfig(**fields), info)


# ---------------------------------------------------------------------------- DiscoGAN
DISCO = {"g_channels": 4, "d_channels": 4, "max_channels": 16}


def test_discogan_translates_both_ways_and_previews_round_trips() -> None:
    info = _info("unpaired", 1, 3, 32)
    model = _build(DiscoGAN, info, **DISCO)
    assert model.input_multiple == 8  # 32 / 4: a 4×4 bottleneck at the training size
    a, b = _batch(info, 3).values()
    assert model.translate(a).shape == (3, 3, 32, 32)
    assert model.translate(b, "BtoA").shape == (3, 1, 32, 32)
    images, nrow = model.eval().preview({"a": a, "b": b})
    assert nrow == 6 and images.shape == (18, 3, 32, 32)
    with pytest.raises(GankitError, match="power-of-two"):
        DiscoGAN.check_data(DiscoGANConfig(), _info("unpaired", 3, 3, 24))


def test_discogan_defaults_follow_the_official_code() -> None:
    cfg = DiscoGANConfig()
    assert (cfg.recon_weight, cfg.start_recon_weight, cfg.curriculum) == (0.5, 0.01, 10_000)
    assert (cfg.fm_weight, cfg.update_interval, cfg.init_std) == (0.9, 3, None)
    assert cfg.g_opt.lr == 2e-4 and cfg.g_opt.betas == (0.5, 0.999)
    assert cfg.g_opt.weight_decay == cfg.d_opt.weight_decay == 1e-5
    assert DiscoGAN.default_resolution == 64 and DiscoGAN.train_defaults == {"batch_size": 64}


def test_discogan_alternates_d_every_third_step() -> None:
    model = _build(DiscoGAN, _info("unpaired", 1, 1, 16), **DISCO)
    d, g = model.phases()
    assert [d.runs_at(s) for s in range(7)] == [1, 0, 0, 1, 0, 0, 1]
    assert [g.runs_at(s) for s in range(7)] == [0, 1, 1, 0, 1, 1, 0]
    both = _build(DiscoGAN, _info("unpaired", 1, 1, 16), **DISCO, update_interval=1)
    assert all(p.runs_at(s) == 1 for p in both.phases() for s in range(4))


def test_discogan_losses_and_curriculum() -> None:
    info = _info("unpaired", 1, 3, 16)
    model = _build(DiscoGAN, info, **DISCO, curriculum=2)
    a, b = _batch(info, 4).values()
    torch.manual_seed(0)
    out = model.loss("G", {"a": a, "b": b})
    fb, fa = model.G_AB(a), model.G_BA(b)

    def adversarial(D, real, fake):
        logits, ff = D.features(fake)
        _, rf = D.features(real)
        fm = sum(((r.mean(0) - f.mean(0)) ** 2).mean() for r, f in zip(rf, ff, strict=True))
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)), fm

    gan_b, fm_b = adversarial(model.D_B, b, fb)
    gan_a, fm_a = adversarial(model.D_A, a, fa)
    recon = ((model.G_BA(fb) + 1) / 2 - (a + 1) / 2).pow(2).mean()  # on [0, 1] images
    recon = recon + ((model.G_AB(fa) + 1) / 2 - (b + 1) / 2).pow(2).mean()
    adv = 0.1 * (gan_a + gan_b) + 0.9 * (fm_a + fm_b)
    torch.testing.assert_close(out["gan"], gan_a + gan_b)
    torch.testing.assert_close(out["fm"], fm_a + fm_b)
    torch.testing.assert_close(out["loss"], 0.99 * adv + 0.01 * recon)  # in the curriculum
    assert model.current_recon_weight == 0.01
    d, g = model.phases()
    d.after_step()
    g.after_step()  # two updates: the curriculum is over
    assert int(model.updates) == 2 and model.current_recon_weight == 0.5
    assert "updates" in model.state_dict()
    out = model.loss("G", {"a": a, "b": b})
    torch.testing.assert_close(out["loss"], 0.5 * adv + 0.5 * recon, rtol=1e-4, atol=1e-5)

    out = model.loss("D", {"a": a, "b": b})
    with torch.no_grad():
        fa, fb = model.G_BA(b), model.G_AB(a)
    expected = 0.5 * losses.bce_d(model.D_A(a), model.D_A(fa)) + 0.5 * losses.bce_d(
        model.D_B(b), model.D_B(fb)
    )
    torch.testing.assert_close(out["loss"], expected)


def test_discogan_phases_move_only_their_networks() -> None:
    info = _info("unpaired", 3, 1, 16)
    model = _build(DiscoGAN, info, **DISCO)
    assert {k.split(".")[0] for k in _step(model, 0, _batch(info))} == {"D_A", "D_B"}
    assert {k.split(".")[0] for k in _step(model, 1, _batch(info, seed=2))} == {"G_AB", "G_BA"}


def test_discogan_rejects_bad_config() -> None:
    info = _info("unpaired", 3, 3, 16)
    for fields, key in [
        ({"recon_weight": 1.5}, "recon_weight"),
        ({"fm_weight": -0.1}, "fm_weight"),
        ({"curriculum": -1}, "curriculum"),
        ({"update_interval": 0}, "update_interval"),
    ]:
        with pytest.raises(GankitError, match=key):
            DiscoGAN.check_data(DiscoGANConfig(**fields), info)


# ---------------------------------------------------------------------------- real training
TINY_I2I = {
    "cyclegan": Tiny(
        "digits-negative",
        ("model.g_channels=4", "model.d_channels=4", "model.blocks=1", "model.pool_size=4"),
        resolution=16,
        batch_size=2,
    ),
    "discogan": Tiny(
        "digits-negative",
        ("model.g_channels=4", "model.d_channels=4", "model.curriculum=3"),
        resolution=16,
        batch_size=8,
    ),
}


@pytest.mark.parametrize("name", sorted(TINY_I2I))
def test_trains_on_digits_negative(name: str, tmp_path) -> None:
    assert name in MODELS.names()
    # logs over windows of 3 steps, each holding a D and a G update of DiscoGAN's alternation
    cfg = tiny_config(name, TINY_I2I[name], steps=6, sample_every=3, log_every=3)
    result = Trainer(cfg, run_dir=tmp_path / "run").fit()
    model = result.model
    assert result.step == 6 and all(math.isfinite(v) for v in result.logs.values())
    assert (tmp_path / "run/samples/step-000006.png").is_file()
    if name == "cyclegan":
        assert int(model.pool_A.count) == int(model.pool_B.count) == 4
        assert model.phases()[0].lr_scale(5, 6) < 1.0
    else:  # D on steps 0 and 3, G on the other four
        assert int(model.updates) == 6
        assert {"D/loss", "G/loss", "G/fm", "G/recon_a"} <= set(result.logs)
    handle = gankit.load(tmp_path / "run")
    x = torch.zeros(1, 1, 16, 16)
    assert handle.model.translate(x, "BtoA").shape == (1, 1, 16, 16)


@pytest.mark.parametrize("name", sorted(TINY_I2I))
def test_resume_is_bit_exact_with_pool_and_schedule(name: str, tmp_path) -> None:
    """Resuming from the middle checkpoint reaches the same state as the uninterrupted run (the
    same total, so the same learning-rate schedule; the pool and counters ride in the model)."""
    opts = {"checkpoint_every": 2, "keep_checkpoints": 0}
    Trainer(tiny_config(name, TINY_I2I[name], steps=4, **opts), run_dir=tmp_path / "run").fit()
    straight, meta, _ = load_checkpoint(tmp_path / "run")
    gankit.train(resume=tmp_path / "run/checkpoints/step-000002.json")
    resumed, meta2, _ = load_checkpoint(tmp_path / "run")
    assert meta["step"] == meta2["step"] == 4
    assert sorted(straight) == sorted(resumed)
    if name == "cyclegan":
        assert any(k.endswith("pool_B.images") for k in straight)
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
