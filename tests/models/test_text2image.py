"""GAN-INT-CLS: the matching-aware discriminator's three kinds of pairs, GAN-INT, captions in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import gankit
from gankit.errors import GankitError
from gankit.models.text2image import ConditioningAugmentation, TextToImageModel, ca_kl
from gankit.text.encoder import TextEncoder, save_encoder
from gankit.training.config import resolve_run_config
from gankit.training.trainer import Trainer

SMALL = ["model.g_channels=8", "model.d_channels=8", "model.z_dim=8", "model.text_dim=16"]


@pytest.fixture(scope="module")
def encoder_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained encoder of its own: these tests do not need the shipped weights."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("enc") / "enc.safetensors"
    save_encoder(TextEncoder(dim=32, width=16, hidden=16), path, {"note": "test"})
    return path


def _trainer(encoder_file: Path, *sets: str, **train) -> Trainer:
    flags = {
        "data": {"resolution": 16, "size": 40},
        "train": {"batch_size": 8, "steps": 2, "progress": False, "samples": 8, **train},
    }
    sets_ = [*SMALL, f"model.text_encoder={encoder_file}", *sets]
    return Trainer(
        resolve_run_config("gan-int-cls", "shapes", flags=flags, sets=sets_), write=False
    )


class Recorder(torch.nn.Module):
    """Wraps D and keeps what it was shown."""

    def __init__(self, d: torch.nn.Module) -> None:
        super().__init__()
        self.d, self.calls = d, []

    def forward(self, x, e):
        self.calls.append((x.detach().clone(), e.detach().clone()))
        return self.d(x, e)


def test_matching_aware_d_sees_three_kinds_of_pairs(encoder_file: Path) -> None:
    trainer = _trainer(encoder_file)
    model = trainer.model
    batch = trainer.stream.next()
    e = model.embed_tokens(batch["t"])
    model.D = Recorder(model.D)
    out = model.loss("D", batch)
    kinds = []
    for x, shown in model.D.calls:
        real = torch.equal(x, batch["x"])
        kinds.append(("real" if real else "fake", "right" if torch.equal(shown, e) else "wrong"))
    assert sorted(kinds) == [("fake", "right"), ("real", "right"), ("real", "wrong")]
    wrong = next(s for x, s in model.D.calls if not torch.equal(s, e))
    assert torch.equal(wrong, e.roll(1, 0))  # another caption of the batch
    assert {"real", "wrong", "fake", "loss"} <= set(out)
    torch.testing.assert_close(out["loss"], out["real"] + 0.5 * (out["wrong"] + out["fake"]))


def test_without_matching_awareness_d_sees_two(encoder_file: Path) -> None:
    trainer = _trainer(encoder_file, "model.matching_aware=false")
    model = trainer.model
    model.D = Recorder(model.D)
    out = model.loss("D", trainer.stream.next())
    assert len(model.D.calls) == 2 and "wrong" not in out


def test_two_captions_of_one_image_are_not_a_wrong_pair() -> None:
    e = torch.arange(8.0).view(4, 2)
    images = torch.tensor([3, 3, 5, 6])
    wrong, valid = TextToImageModel.mismatched(e, images)
    assert torch.equal(wrong, e.roll(1, 0))
    assert valid.tolist() == [1.0, 0.0, 1.0, 1.0]  # caption 1's neighbour describes image 3 too


def test_gan_int_adds_a_loss_on_interpolated_captions(encoder_file: Path) -> None:
    on = _trainer(encoder_file).model.loss("G", _trainer(encoder_file).stream.next())
    assert "int" in on
    torch.testing.assert_close(on["loss"], on["adv"] + on["int"])
    trainer = _trainer(encoder_file, "model.interpolation=0")
    off = trainer.model.loss("G", trainer.stream.next())
    assert "int" not in off and torch.equal(off["loss"], off["adv"])


def test_same_caption_and_seed_give_the_same_image(encoder_file: Path, tmp_path: Path) -> None:
    trainer = _trainer(encoder_file)
    trainer.run_dir = tmp_path / "run"
    cfg = trainer.config
    Trainer(cfg, run_dir=tmp_path / "run").fit()
    handle = gankit.load(tmp_path / "run")
    a = handle.sample(4, seed=3, text="a large green triangle on a black background")
    assert torch.equal(
        a, handle.sample(4, seed=3, text="a large green triangle on a black background")
    )
    assert not torch.equal(a, handle.sample(4, seed=3, text="a small red circle in the middle"))
    assert not torch.equal(
        a, handle.sample(4, seed=4, text="a large green triangle on a black background")
    )
    two = handle.sample(2, seed=3, text=["red dot", "blue box"])
    assert two.shape == (2, 3, 16, 16)
    path = handle.interpolate_text(["red dot", "blue box"], steps=4, seed=1)
    assert path.shape == (4, 3, 16, 16)
    torch.testing.assert_close(path[0], handle.sample(1, seed=1, text="red dot")[0])
    torch.testing.assert_close(path[-1], handle.sample(1, seed=1, text="blue box")[0])
    with pytest.raises(GankitError, match="give text"):
        handle.sample(2)
    with pytest.raises(GankitError, match="one caption or 3"):
        handle.sample(3, text=["a", "b"])


def test_needs_captioned_data(encoder_file: Path) -> None:
    with pytest.raises(GankitError, match="needs captioned data"):
        cfg = resolve_run_config(
            "gan-int-cls", "digits", sets=[f"model.text_encoder={encoder_file}"]
        )
        Trainer(cfg, write=False)


# --- StackGAN -----------------------------------------------------------------------------------

STACK = [
    "model.g_channels=4",
    "model.g2_channels=8",
    "model.d_channels=8",
    "model.residual_blocks=1",
    "model.z_dim=8",
    "model.c_dim=8",
    "model.text_dim=16",
]


def test_ca_kl_is_zero_exactly_at_the_prior() -> None:
    mu, logvar = torch.zeros(4, 8), torch.zeros(4, 8)  # μ = 0, σ = 1
    assert ca_kl(mu, logvar).item() == 0.0
    assert ca_kl(mu + 0.5, logvar) > 0 and ca_kl(mu, logvar + 0.5) > 0
    # the closed form against a Monte-Carlo estimate for one dimension
    m, lv = torch.tensor([[0.7]]), torch.tensor([[-0.4]])
    x = m + (0.5 * lv).exp() * torch.randn(200_000, 1, generator=torch.Generator().manual_seed(0))
    normal = torch.distributions.Normal
    mc = (normal(m, (0.5 * lv).exp()).log_prob(x) - normal(0.0, 1.0).log_prob(x)).mean()
    torch.testing.assert_close(ca_kl(m, lv), mc, rtol=0.02, atol=0.0)


def test_conditioning_augmentation_samples_around_mu() -> None:
    ca = ConditioningAugmentation(6, 4)
    e = torch.randn(1, 6).expand(5000, -1)
    c, mu, logvar = ca(e, torch.randn(5000, 4))
    torch.testing.assert_close(c.mean(0), mu[0], atol=0.1, rtol=0)
    torch.testing.assert_close(c.std(0), (0.5 * logvar[0]).exp(), atol=0.1, rtol=0)


def test_two_stages_train_and_stage_two_keeps_stage_one_frozen(
    encoder_file: Path, tmp_path: Path
) -> None:
    sets = [*STACK, f"model.text_encoder={encoder_file}"]
    train = {"batch_size": 8, "steps": 2, "progress": False, "samples": 8}
    one = resolve_run_config(
        "stackgan",
        "shapes",
        flags={"data": {"resolution": 8, "size": 40}, "train": train},
        sets=sets,
    )
    Trainer(one, run_dir=tmp_path / "one").fit()
    stage1 = gankit.load(tmp_path / "one")
    two = resolve_run_config(
        "stackgan",
        "shapes",
        flags={"data": {"resolution": 32, "size": 40}, "train": train},
        sets=[*sets, "model.stage=2", f"model.stage1={tmp_path / 'one'}"],
    )
    trainer = Trainer(two, run_dir=tmp_path / "two")
    model = trainer.model
    torch.testing.assert_close(model.G1.state_dict(), stage1.model.G.state_dict(), rtol=0, atol=0)
    frozen = {k: v.clone() for k, v in model.G1.state_dict().items()}
    trainer.fit()
    for k, v in model.G1.state_dict().items():
        assert torch.equal(v, frozen[k]), f"Stage-I's {k} changed while training Stage-II"
    handle = gankit.load(tmp_path / "two")
    e = handle.caption_embeddings("a small red circle in the middle", 3)
    coarse, fine = handle.model.generate_stages(handle.latents([0, 1, 2]), e)
    assert coarse.shape == (3, 3, 8, 8) and fine.shape == (3, 3, 32, 32)
    # Stage-I's output is what the Stage-I run itself draws for the same z, ε₁ and caption
    latents = handle.latents([0, 1, 2])
    theirs = stage1.model.generate_stages(latents[:, : stage1.model.latent_dim], e)[0]
    torch.testing.assert_close(coarse, theirs, rtol=0, atol=0)
    # the Stage-II run carries its Stage-I: it loads and resumes without the Stage-I run
    shutil.rmtree(tmp_path / "one")
    again = gankit.load(tmp_path / "two").model.generate_stages(latents, e)[0]
    torch.testing.assert_close(again, coarse, rtol=0, atol=0)
    gankit.train(resume=tmp_path / "two", steps=3, train_options={"progress": False})


def test_stage_two_errors(encoder_file: Path, tmp_path: Path) -> None:
    sets = [*STACK, f"model.text_encoder={encoder_file}", "model.stage=2"]
    flags = {"data": {"resolution": 32, "size": 40}, "train": {"progress": False}}
    with pytest.raises(GankitError, match=r"set model\.stage1"):
        Trainer(resolve_run_config("stackgan", "shapes", flags=flags, sets=sets), write=False)
    # a Stage-I path that does not exist is an error, never an untrained Stage-I
    missing = [*sets, f"model.stage1={tmp_path / 'no-such-run'}"]
    with pytest.raises(GankitError, match=r"model\.stage1: no such Stage-I run: .*no-such-run"):
        Trainer(resolve_run_config("stackgan", "shapes", flags=flags, sets=missing), write=False)
    with pytest.raises(GankitError, match=r"bad value 3 for model\.stage \(choose from 1, 2\)"):
        resolve_run_config("stackgan", "shapes", flags=flags, sets=[*sets, "model.stage=3"])


def test_eval_scores_text_models_on_held_out_captions(tmp_path: Path) -> None:
    from gankit.metrics.evaluate import applicable, evaluate

    flags = {
        "data": {"resolution": 16, "size": 40},
        "train": {"batch_size": 8, "steps": 2, "progress": False, "samples": 8},
    }
    cfg = resolve_run_config("gan-int-cls", "shapes", flags=flags, sets=SMALL)  # shipped encoder
    Trainer(cfg, run_dir=tmp_path / "run").fit()
    handle = gankit.load(tmp_path / "run")
    assert applicable(handle.info, handle.model) == ["text"]
    scores = evaluate(handle)
    assert {"consistency_seen_kind+colour", "consistency_unseen_all", "r_precision"} <= set(scores)
    assert all(0.0 <= scores[k] <= 1.0 for k in scores if k.startswith(("consistency", "r_")))
