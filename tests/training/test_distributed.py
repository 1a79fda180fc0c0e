"""Data-parallel training: two gloo processes on the CPU, launched by torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gankit.training.checkpoint import list_checkpoints, load_checkpoint

WORKER = Path(__file__).with_name("ddp_worker.py")


def _torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    proc = subprocess.run(
        [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_two_processes_end_identical_and_write_one_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _torchrun(str(WORKER), str(tmp_path), str(run), cwd=tmp_path)
    rank0, rank1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    assert sorted(rank0) == sorted(rank1)
    for key in rank0:  # weights and batch-norm statistics, bit for bit
        assert torch.equal(rank0[key], rank1[key]), key
    initial, meta, _ = load_checkpoint(run / "checkpoints/step-000000.json")
    assert not torch.equal(initial["model.G.net.0.weight"], rank0["G.net.0.weight"])
    # only rank 0 wrote, and the run is complete
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "rank0.json",
        "rank0.safetensors",
        "rank1.json",
        "rank1.safetensors",
        "run",
    ]
    # ADA's p follows r_t summed over both ranks: the same on each, and in the run's checkpoint
    ada0, ada1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert ada0 == ada1 and set(ada0) == {"augment/p", "augment/rt"}
    assert (run / "config.yaml").is_file()
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [0, 2, 4]
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step-000000.png",
        "step-000002.png",
        "step-000004.png",
    ]
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()]
    assert steps == [1, 2, 3, 4]
    _, meta, _ = load_checkpoint(run)
    assert meta["world_size"] == 2 and len(meta["rng"]) == 2  # both ranks' RNG states kept
    assert meta["augment"]["p"] == ada0["augment/p"]
    final = load_file(str(run / "checkpoints/step-000004.safetensors"))
    assert torch.equal(final["model.G.net.0.weight"], rank0["G.net.0.weight"])


@pytest.mark.slow
def test_cli_under_torchrun(tmp_path: Path) -> None:
    proc = _torchrun(
        "-m", "gankit", "train", "gan", "--data", "ring8", "--steps", "3", "--batch-size", "32",
        "--out", "run", "--set", "model.g_hidden=[16]", "--set", "model.d_hidden=[16]",
        "--set", "data.size=512", "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert "done at step 3" in proc.stderr
    assert [s for s, _ in list_checkpoints(tmp_path / "run/checkpoints")] == [0, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
