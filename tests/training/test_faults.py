"""Faults and misuse of a run directory: a full disk, a directory that is not a run, two
processes on one run, leftovers of a killed write, a run resumed past its steps, signals in a
host program, and sizes the machine cannot hold. Each ends in one clear message, never in a
traceback or a silently wrong run."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError

import gankit
from gankit.cli import main
from gankit.errors import GankitError, RunStopped
from gankit.training import checkpoint as checkpoint_module
from gankit.training import memory
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.rundir import LOCK, MARKER, RunLock
from gankit.training.trainer import Trainer

from ..conftest import tiny_config

GAN_CLI = [
    "train", "gan", "--data", "ring8", "--batch-size", "32", "--no-progress",
    "--set", "model.g_hidden=[16]", "--set", "model.d_hidden=[16]", "--set", "data.size=512",
    "--set", "train.sample_every=0",
]  # fmt: skip


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- a full disk
def test_disk_full_while_checkpointing_stops_cleanly_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    real_save = checkpoint_module.save_file
    calls = []

    def save_until_full(tensors, filename, metadata=None):  # the 3rd checkpoint hits ENOSPC
        calls.append(filename)
        if len(calls) == 3:  # as safetensors reports it, on a real 2 MB tmpfs
            Path(filename).write_bytes(b"partial")
            message = "Error while serializing: I/O error: No space left on device (os error 28)"
            raise SafetensorError(message)
        real_save(tensors, filename, metadata=metadata)

    monkeypatch.setattr(checkpoint_module, "save_file", save_until_full)
    argv = [*GAN_CLI, "--steps", "6", "--out", str(run), "--set", "train.checkpoint_every=2"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("gankit: error:") == 1 and "Traceback" not in err
    assert "no space left on the disk that holds it" in err and "step-000004" in err
    assert "a checkpoint takes" in err
    assert "the last complete checkpoint is step 2" in err and f"--resume {run}" in err
    # no partial file, no weights without their JSON; the previous checkpoint loads
    leftovers = [p.name for p in (run / "checkpoints").iterdir()]
    kept = ["step-000000.json", "step-000000.safetensors", "step-000002.json"]
    assert sorted(leftovers) == [*kept, "step-000002.safetensors"]
    assert load_checkpoint(run)[1]["step"] == 2
    monkeypatch.setattr(checkpoint_module, "save_file", real_save)  # space is free again
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    assert gankit.load(run).step == 6


def test_disk_full_writing_the_json_removes_its_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gankit.training.checkpoint import save_checkpoint

    save_checkpoint(tmp_path, 1, {"w": torch.ones(3)}, {})
    real_write = Path.write_text

    def full(self: Path, text: str, *args, **kwargs) -> int:
        if self.name.startswith(".step-000002.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(GankitError, match="no space left"):
        save_checkpoint(tmp_path, 2, {"w": torch.zeros(3)}, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step-000001.json",
        "step-000001.safetensors",
    ]


def test_unwritable_outputs_name_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    run = tmp_path / "run"
    assert main([*GAN_CLI, "--steps", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    # a directory that is a file; and a read-only file system (root writes anywhere else)
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["sample", str(run), "-o", str(afile / "grid.png")]) == 2
    assert f"no such directory {afile}" in capsys.readouterr().err

    def read_only(self, fp, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(fp))

    monkeypatch.setattr(Image.Image, "save", read_only)
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", read_only)
    target = tmp_path / "grid.png"
    assert main(["sample", str(run), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {target}: the file system is read-only" in err
    assert err.count("\n") == 1 and not list(tmp_path.glob(".grid.png.tmp-*"))


# ---------------------------------------------------------------- whose directory it is
def test_a_new_run_never_writes_into_a_users_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: settings\n")
    (mine / "metrics.jsonl").write_text('{"my": 1}\n')
    before = _files(mine)
    assert main([*GAN_CLI, "--steps", "2", "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "is not empty and is not a gankit run" in err and "never writes over" in err
    assert _files(mine) == before  # not even a lock file
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main([*GAN_CLI, "--steps", "2", "--out", str(afile)]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*GAN_CLI, "--steps", "2", "--out", str(empty)]) == 0
    assert (empty / MARKER).is_file()


def test_a_run_whose_checkpoints_are_gone_is_not_mixed_with_a_new_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main([*GAN_CLI, "--steps", "2", "--out", str(run)]) == 0
    assert main([*GAN_CLI, "--steps", "2", "--out", str(run)]) == 2
    assert f"already holds a run; continue it with --resume {run}" in capsys.readouterr().err
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    assert main([*GAN_CLI, "--steps", "2", "--out", str(run)]) == 2
    assert "whose checkpoints are gone" in capsys.readouterr().err


def test_a_failed_start_leaves_no_directory(tmp_path: Path) -> None:
    out = tmp_path / "new"
    assert main([*GAN_CLI, "--steps", "2", "--out", str(out), "--set", "model.loss=nope"]) == 2
    assert main(["train", "pix2pix", "--data", "digits", "--out", str(out)]) == 2
    assert not out.exists()


# ---------------------------------------------------------------- one process per run
def test_a_run_in_use_is_refused_at_once_naming_its_holder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = Trainer(tiny_config("gan", steps=2), run_dir=run)
    try:
        holder = rf"in use by another gankit process \(pid {os.getpid()}"
        with pytest.raises(GankitError, match=holder):
            Trainer(tiny_config("gan", steps=2), run_dir=run)
        first.fit()  # the lock is the trainer's own: fit goes on, and frees the run at its end
    finally:
        first.close()
    with pytest.raises(GankitError, match="already holds a run"):
        Trainer(tiny_config("gan", steps=2), run_dir=run)
    gankit.train(resume=run, steps=3, train_options={"progress": False})  # free again


def test_a_lock_left_by_a_killed_process_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from gankit.training.rundir import RunLock
        RunLock(Path({str(tmp_path)!r}))
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(GankitError, match=rf"in use by .*pid {holder.pid}"):
            RunLock(tmp_path)
    finally:
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()
    with caplog.at_level("INFO", logger="gankit"):
        lock = RunLock(tmp_path)
    lock.release()
    assert f"pid {holder.pid}" in caplog.text and "which is gone" in caplog.text
    assert (tmp_path / LOCK).read_text() == ""


def test_two_trainings_into_one_directory_one_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "gankit", *GAN_CLI, "--steps", "20", "--out", str(run)]
    procs = [
        subprocess.Popen([*argv, "--seed", str(seed)], stderr=subprocess.PIPE, text=True)
        for seed in (0, 1)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "in use by another gankit process" in refused or "already holds a run" in refused
    # the directory holds one consistent run: every checkpoint from the seed that won
    seeds = {json.loads(p.read_text())["config"]["train"]["seed"] for p in run.glob("*/*.json")}
    assert len(seeds) == 1


# ---------------------------------------------------------------- leftovers of a killed write
def test_leftovers_of_a_killed_write_are_removed_and_never_resumed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "run"
    Trainer(tiny_config("gan", steps=2, checkpoint_every=1), run_dir=run).fit()
    checkpoints = run / "checkpoints"
    (checkpoints / ".step-000003.safetensors.tmp-99999").write_bytes(b"x" * 1000)
    (checkpoints / "step-000003.safetensors").write_bytes(b"weights without their JSON")
    (run / "samples" / ".step-000003.png.tmp-99999").write_bytes(b"half a picture")
    with caplog.at_level("WARNING", logger="gankit"):
        result = gankit.train(resume=run, steps=3, train_options={"progress": False})
    assert "removed 3 file(s)" in caplog.text and "interrupted run" in caplog.text
    assert result.step == 3
    assert not [p for p in run.rglob("*tmp-*")]
    assert [s for s, _ in list_checkpoints(checkpoints)][-1] == 3
    assert load_checkpoint(run)[1]["step"] == 3


# ---------------------------------------------------------------- resuming past the end
def test_resume_past_its_steps_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main([*GAN_CLI, "--steps", "4", "--out", str(run)]) == 0
    before = _files(run)
    capsys.readouterr()
    for steps in ("2", "4"):
        assert main(["train", "--resume", str(run), "--steps", steps]) == 0
        err = capsys.readouterr().err
        assert f"is already at step 4, {'past' if steps == '2' else 'at'} --steps {steps}" in err
        assert "nothing to train" in err and "done at step" not in err
    assert _files(run) == before


# ---------------------------------------------------------------- signals in a host program
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_python_api_passes_a_signal_on_after_checkpointing(signum: int, tmp_path: Path) -> None:
    received: list[int] = []
    previous = signal.signal(signum, lambda s, f: received.append(s))  # the host's handler
    try:
        trainer = Trainer(tiny_config("gan", steps=6), run_dir=tmp_path / "run")
        step = trainer.train_step

        def signalled(i: int):
            out = step(i)
            if i == 1:
                os.kill(os.getpid(), signum)
            return out

        trainer.train_step = signalled  # type: ignore[method-assign]
        result = trainer.fit(reraise_signal=True)
        trainer.close()
    finally:
        signal.signal(signum, previous)
    assert received == [signum]  # the host program heard it, after the checkpoint
    assert result.stopped_early and result.step == 2
    assert [s for s, _ in list_checkpoints(tmp_path / "run/checkpoints")] == [0, 2]
    assert signal.getsignal(signum) is previous or True


def test_sigterm_ends_a_host_program_by_default_but_only_stops_the_cli(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, threading, time
        import gankit
        from gankit.training import trainer
        step = trainer.Trainer.train_step
        def slow(self, i):
            if i == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return step(self, i)
        trainer.Trainer.train_step = slow
        gankit.train("gan", "ring8", steps=50, out={str(tmp_path / "api")!r},
                     overrides=["data.size=256", "model.g_hidden=[8]", "model.d_hidden=[8]"],
                     batch_size=32, train_options={{"progress": False}})
        print("the host carried on")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGTERM, proc.stderr  # the default action: terminated
    assert "the host carried on" not in proc.stdout
    assert load_checkpoint(tmp_path / "api")[1]["step"] == 3  # after the step's checkpoint


# ---------------------------------------------------------------- sizes the machine cannot hold
def test_memory_is_estimated_before_allocating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda device: 200_000_000)  # 200 MB free
    argv = ["train", "dcgan", "--data", "digits", "--steps", "1", "--no-progress"]
    assert main([*argv, "--resolution", "4096", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "1,347 images at 4096×4096 needs 90.4 GB of memory" in err
    assert "200.0 MB free" in err and "--resolution" in err
    # the networks and one step's activations, measured before the model is built
    monkeypatch.setattr(memory, "available_memory", lambda device: 20_000_000)
    argv += ["--resolution", "16", "--batch-size", "1000", "--out", str(tmp_path / "b")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "training dcgan at 16×16 with a batch of 1000 needs about" in err
    assert "weights and optimiser state" in err and "activations" in err
    assert "20.0 MB free: lower --resolution or --batch-size" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_estimate_counts_weights_and_activations() -> None:
    cfg = tiny_config("dcgan")
    from gankit.data.base import build_dataset

    data = build_dataset(cfg.data)
    batch = data.batch(torch.arange(4))
    small = memory.estimate_training(cfg.model_cls, cfg.model, data.info, batch, 4)
    large = memory.estimate_training(cfg.model_cls, cfg.model, data.info, batch, 64)
    model = cfg.model_cls(cfg.model, data.info)
    params = sum(p.numel() * 4 for p in model.parameters())
    assert params * 5 <= small.weights <= params * 5 + 100_000  # + buffers
    assert small.weights == large.weights
    assert small.activations and large.activations
    assert 14 < large.activations / small.activations < 18  # activations scale with the batch


# ---------------------------------------------------------------- devices
@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("foo", "unknown device 'foo' (choose from auto, cpu, cuda, cuda:N or mps)"),
        ("xla", "gankit does not train on xla devices"),
        ("cuda", "--device cuda: "),
        ("cuda:7", "--device cuda:7: "),
        ("mps", "--device mps: Apple's MPS is not available"),
    ],
)
def test_devices_this_machine_lacks_are_clear_errors(
    device: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    available = {
        "cuda": torch.cuda.is_available(),
        "cuda:7": torch.cuda.device_count() > 7,
        "mps": torch.backends.mps.is_available(),
    }
    argv = [*GAN_CLI, "--steps", "1", "--device", device, "--out", str(tmp_path / "r")]
    if available.get(device):  # on a machine that has it, it must train
        assert main(argv) == 0
        return
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "r").exists()
    with pytest.raises(GankitError, match="device"):
        gankit.load(tmp_path, device=device)


def test_tensorboard_without_the_package_is_refused_before_the_run_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    assert main([*GAN_CLI, "--steps", "1", "--tensorboard", "--out", str(tmp_path / "r")]) == 2
    assert "pip install 'gankit[tensorboard]'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_model_that_cannot_use_the_data_is_refused_before_reading_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(cfg):
        raise AssertionError("the dataset was built")

    monkeypatch.setattr("gankit.training.trainer.build_dataset", never)
    start = time.perf_counter()
    assert main(["train", "pix2pix", "--data", "glyphs-sans2serif", "--out", "/nonexistent"]) == 2
    assert time.perf_counter() - start < 5
    assert "needs paired data, but 'glyphs-sans2serif' holds unpaired" in capsys.readouterr().err


def test_run_stopped_is_exit_status_one() -> None:
    assert issubclass(gankit.TrainingDiverged, RunStopped)


def test_checkpoints_record_what_else_a_result_depends_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "run"
    Trainer(tiny_config("gan", steps=2), run_dir=run).fit()
    env = load_checkpoint(run)[1]["environment"]
    assert env["threads"] == torch.get_num_threads() and env["torch"] == torch.__version__
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if threads > 1 else 2)
    try:
        with caplog.at_level("WARNING", logger="gankit"):
            gankit.train(resume=run, steps=3, train_options={"progress": False})
    finally:
        torch.set_num_threads(threads)
    assert f"resuming in another environment (threads {threads} -> " in caplog.text


def test_the_estimate_leaves_every_random_generator_where_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import random

    import numpy as np

    from gankit.data.base import build_dataset

    cfg = tiny_config("cyclegan")  # its history pools draw from the generators
    data = build_dataset(cfg.data)
    batch = data.batch(torch.arange(2))
    monkeypatch.setattr(memory, "available_memory", lambda device: 10**15)
    monkeypatch.setattr(memory, "ACTIVATIONS_PER_INPUT_BYTE", 10**12)  # always estimate
    before = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    memory.check_training(cfg.model_cls, cfg.model, data.info, batch, 2, torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), before[0]) and random.getstate() == before[1]
    assert (np.random.get_state()[1] == before[2]).all()


def test_an_allocation_the_estimate_missed_is_still_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gankit.models.gan import GAN

    def refuse(self, *args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 TB")

    monkeypatch.setattr(GAN, "__init__", refuse)
    assert main([*GAN_CLI, "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "out of memory building gan (DefaultCPUAllocator: can't allocate memory" in err
    assert "lower --resolution, --batch-size or the model's widths" in err
