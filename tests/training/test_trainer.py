"""The Trainer: bit-exact resume, the NaN guard, logs, samples, EMA, precision."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import signal

import pytest
import torch
import yaml

import gankit
from gankit.errors import GankitError, TrainingDiverged
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.config import RunConfig
from gankit.training.trainer import Trainer

from ..conftest import TINY, tiny_config

N = 3


def _final_state(run) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, meta, _ = load_checkpoint(run)
    return tensors, meta


def _assert_same_state(a, b) -> None:
    (ta, ma), (tb, mb) = a, b
    assert ma["step"] == mb["step"]
    assert sorted(ta) == sorted(tb)
    for key in ta:
        assert torch.equal(ta[key], tb[key]), f"{key} differs"
    for key in ("stream", "rng", "optim", "scalers"):
        assert ma[key] == mb[key], key


@pytest.mark.parametrize("name", sorted(TINY))
def test_resume_is_bit_exact(name: str, tmp_path) -> None:
    """2N steps straight equal N steps, resume, N steps: weights, EMA, optimiser and RNG state."""
    opts = {"checkpoint_every": N, "keep_checkpoints": 0, "ema": True, "ema_decay": 0.9}
    Trainer(tiny_config(name, steps=2 * N, **opts), run_dir=tmp_path / "straight").fit()
    Trainer(tiny_config(name, steps=N, **opts), run_dir=tmp_path / "resumed").fit()
    result = gankit.train(resume=tmp_path / "resumed", steps=2 * N)
    assert result.step == 2 * N
    _assert_same_state(_final_state(tmp_path / "straight"), _final_state(tmp_path / "resumed"))
    steps = [json.loads(line)["step"] for line in (tmp_path / "resumed/metrics.jsonl").open()]
    assert steps == list(range(1, 2 * N + 1))


def test_stop_request_checkpoints_and_resume_is_exact(tmp_path) -> None:
    """SIGINT/SIGTERM finish the step, checkpoint it and return; resuming loses nothing."""
    Trainer(tiny_config("gan", steps=6), run_dir=tmp_path / "straight").fit()
    trainer = Trainer(tiny_config("gan", steps=6), run_dir=tmp_path / "stopped")
    step = trainer.train_step

    def stop_after_two(i: int):
        out = step(i)
        if i == 1:
            trainer._stop_signal = signal.SIGTERM  # what the signal handler does
        return out

    trainer.train_step = stop_after_two
    result = trainer.fit()
    assert result.stopped_early and result.step == 2
    assert [s for s, _ in list_checkpoints(tmp_path / "stopped/checkpoints")] == [0, 2]
    gankit.train(resume=tmp_path / "stopped")
    _assert_same_state(_final_state(tmp_path / "straight"), _final_state(tmp_path / "stopped"))


def test_resume_refuses_to_change_the_run(tmp_path) -> None:
    Trainer(tiny_config("gan", steps=2), run_dir=tmp_path / "run").fit()
    with pytest.raises(GankitError, match=r"cannot change model\.z_dim"):
        gankit.train(resume=tmp_path / "run", overrides=["model.z_dim=8"])
    with pytest.raises(GankitError, match=r"cannot change train\.seed"):
        gankit.train(resume=tmp_path / "run", seed=5)
    with pytest.raises(GankitError, match="is a gan run, not dcgan"):
        gankit.train("dcgan", resume=tmp_path / "run")


@pytest.mark.parametrize("log_every", [1, 3])
def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, log_every: int) -> None:
    cfg = tiny_config("gan", steps=10, checkpoint_every=2, log_every=log_every, keep_checkpoints=0)
    trainer = Trainer(cfg, run_dir=tmp_path / "run")
    loss, calls = trainer.model.loss, [0]

    def poisoned(phase: str, batch: dict) -> dict:
        out = loss(phase, batch)
        if phase == "G":
            calls[0] += 1
            if calls[0] >= 5:  # from the 5th step on
                out["loss"] = out["loss"] * math.nan
        return out

    trainer.model.loss = poisoned
    with pytest.raises(TrainingDiverged, match=r"G/loss became NaN or infinite at step 5") as err:
        trainer.fit()
    kept = list_checkpoints(tmp_path / "run/checkpoints")
    assert kept[-1][0] == 4  # nothing written after the loss went bad
    assert str(kept[-1][1]) in str(err.value)
    handle = gankit.load(tmp_path / "run")
    assert all(torch.isfinite(p).all() for p in handle.model.parameters())


def test_run_directory_contents(tmp_path) -> None:
    cfg = tiny_config("gan", steps=4, log_every=2, sample_every=2, checkpoint_every=2)
    Trainer(cfg, run_dir=tmp_path / "run").fit()
    run = tmp_path / "run"
    saved = RunConfig.from_dict(yaml.safe_load((run / "config.yaml").read_text()))
    assert saved.to_dict() == cfg.to_dict()
    records = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert [r["step"] for r in records] == [2, 4]
    assert {"D/loss", "G/loss", "D/p_real", "time", "samples_per_sec"} <= set(records[0])
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step-000000.png",
        "step-000002.png",
        "step-000004.png",
    ]
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [0, 2, 4]


def test_existing_run_directory_is_not_overwritten(tmp_path) -> None:
    Trainer(tiny_config("gan", steps=1), run_dir=tmp_path / "run").fit()
    with pytest.raises(GankitError, match="already holds a run"):
        Trainer(tiny_config("gan", steps=1), run_dir=tmp_path / "run")


def test_keep_checkpoints_prunes_old_ones(tmp_path) -> None:
    cfg = tiny_config("gan", steps=6, checkpoint_every=1, keep_checkpoints=2)
    result = Trainer(cfg, run_dir=tmp_path / "run").fit()
    assert (result.step, result.stopped_early) == (6, False)
    assert [s for s, _ in list_checkpoints(tmp_path / "run/checkpoints")] == [5, 6]


def test_ema_follows_the_generator() -> None:
    trainer = Trainer(tiny_config("gan", ema=True, ema_decay=0.9, ema_start=2), write=False)
    g, ema = trainer.model.G, trainer.ema.modules["G"]
    trainer.train_step(0)  # before ema_start: a copy
    torch.testing.assert_close(ema.state_dict(), g.state_dict(), rtol=0, atol=0)
    before = {k: v.clone() for k, v in ema.state_dict().items()}
    trainer.train_step(2)
    for (k, avg), live in zip(ema.named_parameters(), g.parameters()):
        expected = 0.9 * before[k] + 0.1 * live.detach()
        torch.testing.assert_close(avg, expected, rtol=1e-6, atol=1e-7)
        assert not torch.equal(avg, live)


def test_averaged_generator_gets_standing_batch_norm_statistics() -> None:
    """DCGAN's G has batch norm: before sampling, the EMA copy's running statistics become the
    plain average of its own batch statistics over 16 seeded draws (not the live G's), without
    moving the training RNG."""
    trainer = Trainer(tiny_config("dcgan", ema=True, ema_decay=0.5), write=False)
    for step in range(3):
        trainer.train_step(step)
    avg, size = trainer.ema.modules["G"], trainer.config.train.batch_size
    norms = [m for m in avg.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.momentum == 0.1 for m in norms)
    copied = norms[0].running_mean.clone()  # copied from the live G by the update

    # the expected statistics: the averaged G's batch moments on the same draws
    seen: list[list[torch.Tensor]] = [[] for _ in norms]
    probe = copy.deepcopy(avg).train()  # batch statistics, as while estimating
    hooks = [
        m.register_forward_hook(lambda m, i, o, k=k: seen[k].append(i[0].detach()))
        for k, m in enumerate(m for m in probe.modules() if isinstance(m, torch.nn.BatchNorm2d))
    ]
    stream = torch.Generator().manual_seed(trainer.config.train.seed + trainer.step)
    with torch.no_grad():
        for _ in range(16):
            probe(trainer.model.sample_latent(size, generator=stream))
    for h in hooks:
        h.remove()

    rng = torch.get_rng_state()
    trainer.sample_fixed()
    assert torch.equal(torch.get_rng_state(), rng)
    assert not torch.equal(norms[0].running_mean, copied)
    for m, xs in zip(norms, seen):
        mean = torch.stack([x.mean((0, 2, 3)) for x in xs]).mean(0)
        var = torch.stack([x.transpose(0, 1).flatten(1).var(1) for x in xs]).mean(0)
        torch.testing.assert_close(m.running_mean, mean, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(m.running_var, var, rtol=1e-4, atol=1e-5)
        assert (m.momentum, m.training) == (0.1, False)


def test_ema_default_comes_from_the_model() -> None:
    assert Trainer(tiny_config("dcgan"), write=False).ema is None  # DCGAN used none


def test_bf16_autocast_trains() -> None:
    trainer = Trainer(tiny_config("dcgan", precision="bf16"), write=False)
    logs = trainer.train_step(0)
    assert all(torch.isfinite(v) for v in logs.values())


def test_fp16_needs_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: fp16 is allowed")
    with pytest.raises(GankitError, match="fp16 training needs a CUDA device"):
        Trainer(tiny_config("gan", precision="fp16"), write=False)


def test_tensorboard_is_optional(tmp_path) -> None:
    cfg = tiny_config("gan", steps=2, tensorboard=True)
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(GankitError, match=r"pip install 'gankit\[tensorboard\]'"):
            Trainer(cfg, run_dir=tmp_path / "run").fit()
    else:
        Trainer(cfg, run_dir=tmp_path / "run").fit()
        assert any((tmp_path / "run/tensorboard").iterdir())


def test_same_seed_same_run_other_seed_other_run() -> None:
    def weights(seed: int) -> dict[str, torch.Tensor]:
        trainer = Trainer(tiny_config("gan", steps=3, seed=seed), write=False)
        return trainer.fit().model.state_dict()

    a, b, c = weights(1), weights(1), weights(2)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a["G.0.0.weight"], c["G.0.0.weight"])


def test_resume_from_an_older_checkpoint_sets_newer_ones_aside(tmp_path) -> None:
    opts = {"checkpoint_every": 2, "keep_checkpoints": 0}
    Trainer(tiny_config("gan", steps=6, **opts), run_dir=tmp_path / "run").fit()
    first = _final_state(tmp_path / "run")
    gankit.train(resume=tmp_path / "run/checkpoints/step-000002.json")
    checkpoints = tmp_path / "run/checkpoints"
    assert [s for s, _ in list_checkpoints(checkpoints)] == [0, 2, 4, 6]
    (aside,) = checkpoints.glob("superseded-*")
    assert [s for s, _ in list_checkpoints(aside)] == [4, 6]  # kept, not lost
    _assert_same_state(first, _final_state(tmp_path / "run"))  # the same branch again


def test_a_phase_can_step_another_phases_optimiser(tmp_path) -> None:
    """StyleGAN's lazy R1 steps D's own Adam: one optimiser object, one saved state."""
    from ..conftest import TINY

    trainer = Trainer(tiny_config("stylegan", TINY["stylegan"], steps=2), write=False)
    names = [p.name for p in trainer.phases]
    d, r1 = names.index("D"), names.index("R1")
    assert trainer.optimizers[r1] is trainer.optimizers[d]
    before = trainer.optimizers[d].state_dict()["state"]
    steps_before = {k: float(v["step"]) for k, v in before.items()}
    trainer.update(r1)
    after = trainer.optimizers[d].state_dict()["state"]
    assert any(float(after[k]["step"]) == steps_before.get(k, 0.0) + 1 for k in after)
    tensors, meta = trainer._state()
    assert "R1" not in meta["optim"] and "D" in meta["optim"]
    assert not any(k.startswith("optim.R1.") for k in tensors)


def test_training_clock_continues_across_a_resume(tmp_path) -> None:
    """Checkpoints record the training seconds so far, so a resumed run's logged time (and a
    benchmark's wall time) continues instead of restarting from the last process's start."""
    opts = {"checkpoint_every": 2, "keep_checkpoints": 0}
    Trainer(tiny_config("gan", steps=4, **opts), run_dir=tmp_path / "run").fit()
    saved = [
        json.loads(p.read_text())["elapsed"]
        for p in sorted((tmp_path / "run/checkpoints").glob("step-*.json"))
    ]
    assert saved[0] == 0.0 and 0 < saved[1] < saved[2]
    gankit.train(resume=tmp_path / "run", steps=8)
    times = [json.loads(line)["time"] for line in (tmp_path / "run/metrics.jsonl").open()]
    assert times == sorted(times) and times[4] > saved[2]


REUSERS = ["dcgan", "gan", "infogan", "pix2pix", "cogan", "progan"]


@pytest.mark.parametrize("name", REUSERS)
def test_reused_fake_is_what_g_would_draw_again(name: str) -> None:
    """With train.reuse_fake, G runs once per step: D's update keeps G's output (with its
    graph), and G's update continues from it on the same batch; the kept samples are exactly
    G's output for the same latents, since D's update leaves G untouched."""
    tiny = TINY[name]
    if name == "progan":  # its tiny config has n_critic=2
        tiny = dataclasses.replace(tiny, sets=(*tiny.sets, "model.n_critic=1"))
    trainer = Trainer(tiny_config(name, tiny, reuse_fake=True), write=False)
    model = trainer.model
    calls: list[tuple[tuple, torch.Tensor]] = []
    rng: list[torch.Tensor] = []  # pix2pix's noise is dropout: replay its draws
    pre = model.G.register_forward_pre_hook(lambda m, args: rng.append(torch.get_rng_state()))
    hook = model.G.register_forward_hook(lambda m, args, out: calls.append((args, out)))
    position = trainer.stream.position
    trainer.update(0)  # D
    assert len(calls) == 1 and model._kept is not None
    (args, out), kept = calls[0], model._kept
    fake = kept[-1] if isinstance(kept, tuple) else kept
    assert fake is out and fake.requires_grad
    torch.set_rng_state(rng[0])
    with torch.no_grad():
        again = model.G(*args)
    assert torch.equal(out.detach(), again)
    calls.clear()
    d_params = trainer.phases[0].params
    d_before = [p.detach().clone() for p in d_params]
    g_before = [p.detach().clone() for p in model.G.parameters()]
    trainer.update(1)  # G: no new forward of G, no new batch, D unchanged, G changed
    assert calls == [] and model._kept is None
    assert trainer.stream.position == position + 1
    assert all(torch.equal(a, b) for a, b in zip(d_before, d_params))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, model.G.parameters()))
    hook.remove()
    pre.remove()


def test_reuse_fake_defaults_to_the_papers_code() -> None:
    """On for DCGAN (dcgan.torch) and pix2pix; off for GAN (Algorithm 1 draws new noise for G);
    never with n_critic > 1; and off reproduces the earlier order (two G passes, two batches)."""

    def passes(name: str, **train) -> tuple[int, int]:
        trainer = Trainer(tiny_config(name, **train), write=False)
        count = [0]
        trainer.model.G.register_forward_hook(lambda *_: count.__setitem__(0, count[0] + 1))
        trainer.train_step(0)
        return count[0], trainer.stream.position

    assert passes("dcgan") == (1, 1)
    assert passes("dcgan", reuse_fake=False) == (2, 2)
    assert passes("gan") == (2, 2)
    assert passes("gan", reuse_fake=True) == (1, 1)
    assert passes("wgan-gp", reuse_fake=True) == (3, 3)  # n_critic=2: two D batches, one G
    assert passes("sagan", reuse_fake=True) == (2, 2)  # spectral norm: G changes as it runs


def test_reuse_fake_resumes_bit_exactly(tmp_path) -> None:
    opts = {"checkpoint_every": N, "keep_checkpoints": 0, "reuse_fake": True}
    Trainer(tiny_config("gan", steps=2 * N, **opts), run_dir=tmp_path / "straight").fit()
    Trainer(tiny_config("gan", steps=N, **opts), run_dir=tmp_path / "resumed").fit()
    gankit.train(resume=tmp_path / "resumed", steps=2 * N)
    _assert_same_state(_final_state(tmp_path / "straight"), _final_state(tmp_path / "resumed"))


def test_channels_last_defaults_to_where_it_pays() -> None:
    """Image models train channels-last unless the model says it slows them (StyleGAN2,
    CycleGAN); points never; `train.channels_last` overrides the model either way."""

    def layout(name: str, tiny=None, **train) -> torch.memory_format:
        return Trainer(tiny_config(name, tiny, **train), write=False).memory_format

    v2 = dataclasses.replace(TINY["stylegan"], sets=(*TINY["stylegan"].sets, "model.version=2"))
    assert layout("dcgan") == torch.channels_last
    assert layout("dcgan", channels_last=False) == torch.contiguous_format
    assert layout("stylegan") == torch.channels_last
    assert layout("stylegan", v2) == torch.contiguous_format
    assert layout("stylegan", v2, channels_last=True) == torch.channels_last
    assert layout("cyclegan") == torch.contiguous_format
    assert layout("gan", channels_last=True) == torch.contiguous_format  # points


def test_compile_keeps_parameter_names_and_trains(tmp_path) -> None:
    """train.compile compiles the networks in place: the checkpoint's names are the plain
    model's, so a compiled run resumes without it, and a plain run with it."""
    cfg = tiny_config("gan", steps=2, compile=True, checkpoint_every=2)
    result = Trainer(cfg, run_dir=tmp_path / "run").fit()
    assert result.step == 2
    plain = Trainer(tiny_config("gan"), write=False).model.state_dict()
    tensors, _, _ = load_checkpoint(tmp_path / "run")
    assert {k.removeprefix("model.") for k in tensors if k.startswith("model.")} == set(plain)
    assert gankit.train(resume=tmp_path / "run", steps=3).step == 3


def test_threads_option_sets_pytorchs_threads(monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    Trainer(tiny_config("gan", threads=1), write=False)
    assert calls == [1]
    Trainer(tiny_config("gan"), write=False)  # 0: PyTorch's default, untouched
    assert calls == [1]
