"""SRGAN: ×4 shapes at any input size, the paper's parameter count and discriminator, the three
content losses (VGG from a local file through the config, the offline substitute, MSE), clear
errors for bad weights and data, and one update of every phase (SRResNet: G only)."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import from_dict
from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.models.base import make_optimizer
from gankit.models.srgan import (
    RANDOM_SCALE,
    SRGAN,
    SRGANConfig,
    SRGANDiscriminator,
    SRResNet,
    resolve_content,
)
from gankit.nn.vgg import random_vgg19_features, vgg19_layers

from ..conftest import Tiny, tiny_config

TINY_SETS = {"channels": 8, "blocks": 2, "d_channels": 8, "d_dense": 16}


def sr_info(hr: int = 32, channels: int = 3, lr: int | None = None) -> DataInfo:
    lr = lr if lr is not None else hr // 4
    return DataInfo(
        "sr-test", "paired", (channels, lr, lr), shape_b=(channels, hr, hr), domains=("lr", "hr")
    )


def tiny_model(info: DataInfo | None = None, **overrides) -> SRGAN:
    info = info or sr_info()
    cfg = from_dict(SRGANConfig, {**TINY_SETS, **overrides})
    SRGAN.check_data(cfg, info)
    torch.manual_seed(0)
    return SRGAN(cfg, info)


def hand_made_batch(n: int = 4, hr: int = 32, channels: int = 3) -> dict[str, torch.Tensor]:
    """Smooth random HR images and their 4×4-average-pooled LR versions, in [-1, 1]."""
    gen = torch.Generator().manual_seed(1)
    coarse = torch.rand(n, channels, hr // 8, hr // 8, generator=gen) * 2 - 1
    b = F.interpolate(coarse, size=(hr, hr), mode="bilinear", align_corners=False)
    return {"a": F.avg_pool2d(b, 4), "b": b}


def save_vgg(path, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random VGG19 in torchvision's key layout, saved with torch.save."""
    gen = torch.Generator().manual_seed(seed)
    state = {
        f"features.{k}": torch.randn(v.shape, generator=gen) * 0.05
        for k, v in vgg19_layers("5_4").state_dict().items()
    }
    torch.save(state, path)
    return state


def update(model: SRGAN, phase_name: str, batch: dict[str, torch.Tensor]) -> dict:
    """One optimiser step of a phase, as the Trainer makes it."""
    phase = next(p for p in model.phases() if p.name == phase_name)
    owned = {id(p) for p in phase.params}
    for p in model.parameters():
        p.requires_grad_(id(p) in owned)
    opt = make_optimizer(phase.params, phase.optim)
    out = model.loss(phase.name, batch)
    opt.zero_grad()
    out["loss"].backward()
    opt.step()
    return out


# ---------------------------------------------------------------- networks
@pytest.mark.parametrize("size", [(7, 11), (1, 1), (8, 8)])
def test_generator_upscales_any_size_by_four(size: tuple[int, int]) -> None:
    g = SRResNet(3, width=8, blocks=2).eval()
    x = torch.rand(2, 3, *size) * 2 - 1
    y = g(x)
    assert y.shape == (2, 3, 4 * size[0], 4 * size[1])
    assert y.min() > -1 and y.max() < 1  # tanh: the data's range
    gray = SRResNet(1, width=8, blocks=1).eval()
    assert gray(torch.zeros(1, 1, 5, 3)).shape == (1, 1, 20, 12)


def test_default_srresnet_has_the_published_size() -> None:
    """16 residual blocks of 64 channels: 1,549,462 parameters, the ≈1.5 M of the literature."""
    g = SRResNet(3)
    count = sum(p.numel() for p in g.parameters())
    assert count == 1_549_462
    assert abs(count - 1.5e6) / 1.5e6 < 0.05
    assert len([m for m in g.body if m.__class__.__name__ == "ResidualBlock"]) == 16
    assert sum(isinstance(m, nn.PixelShuffle) for m in g.modules()) == 2
    assert g.head[0].kernel_size == (9, 9) and g.tail.kernel_size == (9, 9)


def test_discriminator_follows_the_paper_and_the_training_side() -> None:
    d = SRGANDiscriminator(3, 96)
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2] * 4
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.features) == 7  # not after the first
    assert d.head[1].in_features == 512 * 6 * 6 and d.head[1].out_features == 1024
    assert d(torch.zeros(2, 3, 96, 96)).shape == (2,)
    odd = SRGANDiscriminator(3, 20, width=4, dense=8)  # 20 -> 10 -> 5 -> 3 -> 2
    assert odd.head[1].in_features == 32 * 2 * 2
    with pytest.raises(ValueError, match="judges 20×20"):
        odd(torch.zeros(1, 3, 24, 24))


# ---------------------------------------------------------------- model and losses
def test_paper_defaults() -> None:
    cfg = SRGANConfig()
    assert (cfg.channels, cfg.blocks, cfg.adversarial_weight) == (64, 16, 1e-3)
    assert cfg.g_opt.lr == 1e-4 and cfg.g_opt.betas == (0.9, 0.999)
    assert cfg.vgg_layer == "5_4" and cfg.vgg_scale == pytest.approx(1 / 12.75)
    assert SRGAN.train_defaults == {"batch_size": 16} and SRGAN.default_resolution == 96
    assert SRGAN.directions == ("AtoB",) and SRGAN.data_kinds == ("paired",)
    assert MODELS.get("srgan") is SRGAN


def test_translate_and_preview() -> None:
    model = tiny_model().eval()
    x = torch.rand(3, 3, 5, 9) * 2 - 1
    assert model.translate(x).shape == (3, 3, 20, 36)
    with pytest.raises(GankitError, match="translates AtoB, not 'BtoA'"):
        model.translate(x, "BtoA")
    batch = hand_made_batch(2)
    rows, nrow = model.preview(batch)
    assert nrow == 3 and rows.shape == (6, 3, 32, 32)
    torch.testing.assert_close(rows[2], batch["b"][0])  # input, output, original


def test_losses_of_both_phases() -> None:
    model = tiny_model()
    batch = hand_made_batch()
    assert [p.name for p in model.phases()] == ["D", "G"]
    d = model.loss("D", batch)
    g = model.loss("G", batch)
    for out in (d, g):
        assert out["loss"].shape == () and all(torch.isfinite(v) for v in out.values())
    assert 0 < d["p_real"] < 1 and 0 < d["p_fake"] < 1
    # G: content + 1e-3 × non-saturating BCE
    expected = g["content"] + 1e-3 * g["adversarial"]
    torch.testing.assert_close(g["loss"], expected)
    with pytest.raises(KeyError):
        model.loss("Q", batch)


def test_random_features_content_is_mse_plus_fixed_features() -> None:
    model = tiny_model().eval()
    batch = hand_made_batch()
    with torch.no_grad():
        out = model.loss("G", batch)
        sr = model.G(batch["a"])
    phi = random_vgg19_features("2_2", seed=0, scale=RANDOM_SCALE)
    mse = F.mse_loss(sr, batch["b"])
    torch.testing.assert_close(out["mse"], mse)
    torch.testing.assert_close(out["content"], mse + F.mse_loss(phi(sr), phi(batch["b"])))
    # the substitute's network is frozen and out of the checkpoint
    assert model.content_net is not None
    assert not any(k.startswith("content_net") for k in model.state_dict())
    assert all(not n.startswith("content_net") for n, _ in model.named_parameters())


def test_srresnet_is_mse_without_a_discriminator() -> None:
    model = tiny_model(content="mse", adversarial_weight=0.0)
    assert model.D is None and [p.name for p in model.phases()] == ["G"]
    batch = hand_made_batch()
    out = model.loss("G", batch)
    assert set(out) == {"loss", "mse", "content"}
    torch.testing.assert_close(out["loss"], F.mse_loss(model.G(batch["a"]), batch["b"]))
    assert model.content_net is None  # no feature network for pixel MSE


@pytest.mark.parametrize("overrides", [{}, {"content": "mse", "adversarial_weight": 0.0}])
def test_one_update_of_every_phase_moves_only_its_parameters(overrides: dict) -> None:
    model = tiny_model(**overrides)
    batch = hand_made_batch()
    params = dict(model.named_parameters())
    for phase in model.phases():
        before = {k: p.detach().clone() for k, p in params.items()}
        out = update(model, phase.name, batch)
        assert torch.isfinite(out["loss"])
        mine = {k for k, p in params.items() if any(p is q for q in phase.params)}
        changed = {k for k, p in params.items() if not torch.equal(p, before[k])}
        assert changed == mine, f"phase {phase.name}: {sorted(changed ^ mine)}"


def test_the_generator_learns_on_a_fixed_batch() -> None:
    """A few SRResNet steps lower the pixel error of one batch: the loss trains G."""
    model = tiny_model(content="mse", adversarial_weight=0.0, g_opt={"lr": 1e-3})
    batch = hand_made_batch(8)
    first = update(model, "G", batch)["mse"]
    for _ in range(30):
        last = update(model, "G", batch)["mse"]
    assert last < 0.5 * first


# ---------------------------------------------------------------- VGG through the config
def test_vgg_weights_load_through_the_config(tmp_path, caplog) -> None:
    path = tmp_path / "vgg19-test.pth"
    state = save_vgg(path)
    info = sr_info()
    cfg = from_dict(SRGANConfig, {**TINY_SETS, "vgg_weights": str(path), "vgg_layer": "2_2"})
    assert resolve_content(cfg) == "vgg"  # auto picks VGG when weights are given
    with caplog.at_level(logging.INFO, logger="gankit"):  # said when training starts
        SRGAN.check_data(cfg, info)
    assert "VGG19 φ2,2 features from" in caplog.text and str(path) in caplog.text
    model = SRGAN(cfg, info)
    batch = hand_made_batch()
    out = model.loss("G", batch)
    net = model.content_net
    assert net is not None and net.scale == pytest.approx(1 / 12.75)
    torch.testing.assert_close(net.features[7].weight, state["features.7.weight"])
    with torch.no_grad():
        sr = model.G(batch["a"])
        expected = F.mse_loss(net(sr), net(batch["b"]))
    torch.testing.assert_close(out["content"], expected)
    # a trained run loads for inference without the weights file
    trained = model.state_dict()
    path.unlink()
    again = SRGAN(cfg, info)
    again.load_state_dict(trained)
    x = torch.rand(1, 3, 6, 6) * 2 - 1
    torch.testing.assert_close(again.eval().translate(x), model.eval().translate(x))


def test_offline_substitute_is_announced(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="gankit"):
        tiny_model()
    assert "random-features" in caplog.text and "model.vgg_weights=PATH" in caplog.text


def test_bad_vgg_settings_are_clear_errors(tmp_path) -> None:
    info = sr_info()
    no_weights = from_dict(SRGANConfig, {"content": "vgg"})
    with pytest.raises(GankitError, match=r"model\.content=vgg needs model\.vgg_weights=PATH"):
        SRGAN.check_data(no_weights, info)
    missing = from_dict(SRGANConfig, {"vgg_weights": str(tmp_path / "nope.pth")})
    with pytest.raises(GankitError, match="VGG19 weights file not found"):
        SRGAN.check_data(missing, info)
    corrupt = tmp_path / "vgg19.pth"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(GankitError, match="cannot read VGG19 weights"):
        SRGAN.check_data(from_dict(SRGANConfig, {"vgg_weights": str(corrupt)}), info)
    good = tmp_path / "good.pth"
    save_vgg(good)
    bad_layer = from_dict(SRGANConfig, {"vgg_weights": str(good), "vgg_layer": "6_1"})
    with pytest.raises(GankitError, match="no VGG19 layer '6_1'"):
        SRGAN.check_data(bad_layer, info)
    with pytest.raises(GankitError, match=r"bad value 'perceptual' for model\.content"):
        from_dict(SRGANConfig, {"content": "perceptual"}, where="model.")


def test_data_must_be_x4_pairs_of_one_colour_space() -> None:
    cfg = SRGANConfig()
    with pytest.raises(GankitError, match="upscales ×4"):
        SRGAN.check_data(cfg, sr_info(32, lr=16))
    mixed = DataInfo("edges", "paired", (1, 8, 8), shape_b=(3, 32, 32))
    with pytest.raises(GankitError, match="keeps the colour channels"):
        SRGAN.check_data(cfg, mixed)
    unpaired = DataInfo("u", "unpaired", (3, 8, 8), shape_b=(3, 32, 32))
    with pytest.raises(GankitError, match="needs paired data"):
        SRGAN.check_data(cfg, unpaired)
    with pytest.raises(GankitError, match="adversarial_weight must be at least 0"):
        SRGANConfig(adversarial_weight=-1.0)
    four = DataInfo("x", "paired", (4, 8, 8), shape_b=(4, 32, 32))
    with pytest.raises(GankitError, match="RGB or gray"):
        SRGAN.check_data(cfg, four)
    SRGAN.check_data(SRGANConfig(content="mse"), four)  # pixel MSE takes any channels


# ---------------------------------------------------------------- through the Trainer
def test_trainer_steps_on_photos_sr4(tmp_path) -> None:
    from gankit.training.trainer import Trainer

    sets = tuple(f"model.{k}={v}" for k, v in TINY_SETS.items())
    tiny = Tiny("photos-sr4", sets, resolution=32, batch_size=4)
    trainer = Trainer(tiny_config("srgan", tiny, steps=2), write=False)
    assert trainer.model.info.shape == (3, 8, 8) and trainer.model.info.shape_b == (3, 32, 32)
    result = trainer.fit()
    assert {"D/loss", "G/loss", "G/content", "G/adversarial"} <= set(result.logs)
    resnet = Tiny("photos-sr4", (*sets, "model.adversarial_weight=0", "model.content=mse"), 32)
    trainer = Trainer(tiny_config("srgan", resnet, steps=2, batch_size=4), write=False)
    assert [p.name for p in trainer.phases] == ["G"]
    assert not any(k.startswith("D/") for k in trainer.fit().logs)
    # the paper's VGG loss from a local file, set as the CLI's --set would
    vgg = tmp_path / "vgg19.pth"
    save_vgg(vgg)
    with_vgg = Tiny("photos-sr4", (*sets, f"model.vgg_weights={vgg}", "model.vgg_layer=2_2"), 32)
    trainer = Trainer(tiny_config("srgan", with_vgg, steps=1, batch_size=4), write=False)
    assert resolve_content(trainer.model.config) == "vgg"
    assert torch.isfinite(torch.tensor(trainer.fit().logs["G/content"]))
