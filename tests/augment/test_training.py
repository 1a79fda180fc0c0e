"""Augmentation in training, for every image model: the hooks see every discriminator input,
gradients reach G through them, ADA's p adapts, is checkpointed and resumes bit for bit, and
nothing of it reaches sampling."""

from __future__ import annotations

import json

import pytest
import torch

import gankit
from gankit.data.base import spec_kind
from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.training.checkpoint import load_checkpoint
from gankit.training.trainer import Trainer

from ..conftest import TINY, VARIANTS, Tiny, tiny_config

# every model on image data: its tiny config, or an image variant for the models whose tiny
# config trains on points
IMAGE_CASES = {name: tiny for name, tiny in TINY.items() if spec_kind(tiny.data) != "points"} | {
    name: tiny for name, tiny in VARIANTS[:4]
}
SETTINGS = [
    {"augment": "diffaugment"},
    {"augment": "ada", "ada_p": 0.5, "ada_target": None},
]


def test_every_model_has_an_image_case() -> None:
    assert set(IMAGE_CASES) == set(MODELS.names())


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s["augment"])
@pytest.mark.parametrize("name", sorted(IMAGE_CASES))
def test_every_phase_sees_augmented_inputs_and_g_gets_gradients(name: str, setting: dict) -> None:
    tiny: Tiny = IMAGE_CASES[name]
    trainer = Trainer(tiny_config(name, tiny, **setting), write=False)
    aug = trainer.augment
    assert aug is not None and aug.handles
    seen = []
    original = aug.transform_args

    def spy(args, groups):  # type: ignore[no-untyped-def]
        out = original(args, groups)
        seen.append(tuple(a.shape for a, b in zip(args, out) if a is not b))
        return out

    aug.transform_args = spy  # type: ignore[method-assign]
    reported = set()
    for index, phase in enumerate(trainer.phases):
        seen.clear()
        out = trainer.update(index)
        assert torch.isfinite(out["loss"])
        if "real_sign" in out:
            reported.add(phase.name)
            assert -1 <= out["real_sign"] <= 1
        if phase.name in ("D", "G") and any(p.requires_grad for p in phase.params):
            assert any(seen), f"phase {phase.name} of {name}: no discriminator input augmented"
            assert all(shape and len(shape[0]) == 4 for shape in seen if shape)
        if phase.name == "G":
            grads = [p.grad for p in phase.params if p.grad is not None]
            assert grads and any(g.abs().sum() > 0 for g in grads)
    # ADA adapts p from this: every image model's D phase reports it (DiscoGAN may skip D)
    if name != "discogan":
        assert reported, f"{name} reports no real_sign"


def _rigged(trainer: Trainer, sign: float) -> Trainer:
    """`trainer` whose D reports r_t's term as `sign` at every update (1: always sure of the
    real images; 0: undecided)."""
    loss = trainer.model.loss

    def rigged(phase, batch):  # type: ignore[no-untyped-def]
        out = loss(phase, batch)
        if phase == "D":
            out["real_sign"] = torch.tensor(sign)
        return out

    trainer.model.loss = rigged  # type: ignore[method-assign]
    return trainer


def test_ada_p_rises_when_d_always_wins(tmp_path) -> None:
    """A rigged D that is sure of every real image (r_t = 1): p climbs from 0 at the paper's
    speed, and the logs carry p and r_t."""
    cfg = tiny_config("dcgan", steps=8, augment="ada", ada_interval=2, ada_kimg=0.2, log_every=2)
    trainer = _rigged(Trainer(cfg, run_dir=tmp_path / "run"), 1.0)
    trainer.fit()
    lines = [json.loads(x) for x in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    ps = [line["augment/p"] for line in lines]
    speed = 16 * 2 / 200
    assert ps == pytest.approx([speed * k for k in range(1, 5)])
    assert all(line["augment/rt"] == 1.0 for line in lines)
    _, meta, _ = load_checkpoint(tmp_path / "run")
    assert meta["augment"]["p"] == pytest.approx(4 * speed)


def test_ada_p_falls_when_d_is_undecided() -> None:
    cfg = tiny_config("dcgan", steps=4, augment="ada", ada_p=0.5, ada_interval=1, ada_kimg=0.16)
    trainer = _rigged(Trainer(cfg, write=False), 0.0)
    trainer.fit()
    assert trainer.augment is not None and trainer.augment.p == pytest.approx(0.5 - 4 * 0.1)


N = 3


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("dcgan", {"augment": "ada", "ada_p": 0.3, "ada_interval": 2, "ada_kimg": 0.05}),
        ("stylegan", {"augment": "ada", "ada_p": 0.2, "ada_interval": 1, "ada_kimg": 0.05}),
        ("pix2pix", {"augment": "diffaugment"}),
    ],
)
def test_resume_with_augmentation_is_bit_exact(name: str, setting: dict, tmp_path) -> None:
    """2N steps straight equal N, resume, N — with ADA at a non-zero, moving p (resumed
    mid-interval for dcgan) and with DiffAugment's draws."""
    opts = {"checkpoint_every": N, "keep_checkpoints": 0, **setting}
    Trainer(tiny_config(name, steps=2 * N, **opts), run_dir=tmp_path / "straight").fit()
    Trainer(tiny_config(name, steps=N, **opts), run_dir=tmp_path / "resumed").fit()
    gankit.train(resume=tmp_path / "resumed", steps=2 * N)
    (ta, ma, _), (tb, mb, _) = (
        load_checkpoint(tmp_path / "straight"),
        load_checkpoint(tmp_path / "resumed"),
    )
    assert sorted(ta) == sorted(tb)
    for key in ta:
        assert torch.equal(ta[key], tb[key]), key
    assert ma["augment"] == mb["augment"]
    if setting["augment"] == "ada":
        assert ma["augment"]["p"] != setting["ada_p"]  # p moved, and was carried over


def test_sampling_never_sees_augmentation(tmp_path) -> None:
    """After training with ADA at p = 1, the progress samples and a loaded run's samples are
    what the generator gives with no hook at all, and D outside a training phase is D."""
    cfg = tiny_config("dcgan", steps=2, augment="ada", ada_p=1.0, ada_target=None)
    trainer = Trainer(cfg, run_dir=tmp_path / "run")
    trainer.fit()
    shown, _ = trainer.sample_fixed()
    assert trainer.augment is not None
    trainer.augment.remove()
    again, _ = trainer.sample_fixed()
    assert torch.equal(shown, again)
    handle = gankit.load(tmp_path / "run", ema=False)
    trainer.model.eval()
    x = handle.model.sample(4, generator=torch.Generator().manual_seed(0))
    y = trainer.model.sample(4, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(x, y, atol=1e-6)  # (the trainer keeps channels-last layout)
    trainer.augment.install(trainer.model, trainer.model.augmented_inputs())
    real = trainer.stream.next()["x"]
    with torch.no_grad():
        hooked = trainer.model.D(real)
        trainer.augment.remove()
        plain = trainer.model.D(real)
    assert torch.equal(hooked, plain)


def test_points_data_refuses_augmentation() -> None:
    with pytest.raises(GankitError, match="transforms images, but 'ring8' holds points"):
        Trainer(tiny_config("gan", augment="diffaugment"), write=False)


def test_bad_augment_settings_are_refused() -> None:
    with pytest.raises(GankitError, match=r"train\.diffaugment"):
        tiny_config("dcgan", diffaugment="color,rotate")
    with pytest.raises(GankitError, match=r"train\.ada_p must be in"):
        tiny_config("dcgan", augment="ada", ada_p=1.5)
    with pytest.raises(GankitError, match=r"train\.augment"):
        tiny_config("dcgan", augment="adaptive")
