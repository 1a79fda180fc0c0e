"""Checkpoint files (safetensors + JSON), their discovery and pruning, and optimiser/RNG state."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.files import atomic_write
from gankit.training.checkpoint import (
    checkpoint_name,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    read_meta,
    resolve_checkpoint,
    save_checkpoint,
    subdict,
)
from gankit.training.state import (
    capture_rng,
    join_optimizer_state,
    restore_rng,
    seed_everything,
    split_optimizer_state,
)


def _tensors() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {
        "model.G.weight": torch.randn(4, 3, generator=gen),
        "model.G.bias": torch.randn(3, generator=gen).double(),
        "model.scalar": torch.tensor(2.5),  # 0-d
        "model.count": torch.tensor(7, dtype=torch.int64),  # 0-d integer
        "model.half": torch.randn(2, 2, generator=gen).half(),
        "model.bf16": torch.randn(5, generator=gen).bfloat16(),
        "model.mask": torch.tensor([True, False, True]),
        "model.ids": torch.tensor([-3, 0, 2**40], dtype=torch.int64),
        "rng.torch": torch.get_rng_state(),  # uint8
        "ema.view": torch.arange(12.0).view(3, 4).t(),  # non-contiguous
    }


def _meta() -> dict[str, Any]:
    return {"config": {"model": {"name": "gan", "lr": 1e-4}}, "rng": [1, None, "x"], "step_f": 0.5}


def test_save_load_round_trips_exactly(tmp_path: Path) -> None:
    tensors, meta = _tensors(), _meta()
    path = save_checkpoint(tmp_path, 500, tensors, meta)
    assert path == tmp_path / "step-000500.json"
    assert (tmp_path / "step-000500.safetensors").is_file()
    got, got_meta, got_path = load_checkpoint(path)
    assert got_path == path and set(got) == set(tensors)
    for key, value in tensors.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape, key
        torch.testing.assert_close(got[key], value, rtol=0, atol=0, equal_nan=True)
    for key, value in meta.items():
        assert got_meta[key] == value
    assert got_meta["step"] == 500 and got_meta["format"] == "gankit.checkpoint"
    assert got_meta["weights"] == "step-000500.safetensors"
    assert subdict(got, "model.G") == {"weight": got["model.G.weight"], "bias": got["model.G.bias"]}


def test_checkpoint_name_pads_and_grows() -> None:
    assert checkpoint_name(5) == "step-000005"
    assert checkpoint_name(1_234_567) == "step-1234567"


def _save(directory: Path, step: int) -> Path:
    return save_checkpoint(directory, step, {"w": torch.full((2,), float(step))}, {})


def test_list_checkpoints_needs_both_halves_and_orders_by_step(tmp_path: Path) -> None:
    for step in (1_000_000, 5, 999_999, 40):
        _save(tmp_path, step)
    (tmp_path / "step-000077.json").write_text("{}")  # no weights beside it
    (tmp_path / "step-000088.safetensors").write_bytes(b"")  # no JSON beside it
    (tmp_path / "notes.json").write_text("{}")
    (tmp_path / "step-12.json.tmp").write_text("{}")
    found = list_checkpoints(tmp_path)
    # by number, not by name: "step-1000000" sorts before "step-999999" as text
    assert [step for step, _ in found] == [5, 40, 999_999, 1_000_000]
    assert [p.name for _, p in found][-1] == "step-1000000.json"
    assert list_checkpoints(tmp_path / "missing") == []


@pytest.mark.parametrize("keep", [1, 2, 4, 6])
def test_prune_keeps_the_newest(tmp_path: Path, keep: int) -> None:
    steps = [10, 20, 30, 40, 50]
    for step in steps:
        _save(tmp_path, step)
    prune_checkpoints(tmp_path, keep)
    kept = steps[-keep:]
    assert [s for s, _ in list_checkpoints(tmp_path)] == kept
    # both halves of the pruned checkpoints are gone, nothing else is left
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        f"{checkpoint_name(s)}.{ext}" for s in kept for ext in ("json", "safetensors")
    )


def test_prune_zero_keeps_all(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        _save(tmp_path, step)
    prune_checkpoints(tmp_path, 0)
    assert len(list_checkpoints(tmp_path)) == 3


def test_resolve_checkpoint_targets(tmp_path: Path) -> None:
    run = tmp_path / "run"
    for step in (100, 300, 200):
        _save(run / "checkpoints", step)
    newest = run / "checkpoints" / "step-000300.json"
    assert resolve_checkpoint(run) == newest
    assert resolve_checkpoint(str(run / "checkpoints")) == newest
    older = run / "checkpoints" / "step-000100"
    assert resolve_checkpoint(older.with_suffix(".safetensors")) == older.with_suffix(".json")
    assert resolve_checkpoint(older.with_suffix(".json")) == older.with_suffix(".json")
    tensors, meta, _ = load_checkpoint(run)
    assert meta["step"] == 300
    torch.testing.assert_close(tensors["w"], torch.full((2,), 300.0), rtol=0, atol=0)


def test_resolve_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match="no such run or checkpoint"):
        resolve_checkpoint(tmp_path / "nope")
    with pytest.raises(GankitError, match="no such run or checkpoint"):
        resolve_checkpoint(tmp_path / "nope.safetensors")
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    with pytest.raises(GankitError, match="holds no checkpoints"):
        resolve_checkpoint(empty)
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "left-pad", "version": "1.3.0"}))
    with pytest.raises(GankitError, match="not a gankit checkpoint"):
        resolve_checkpoint(other)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(GankitError, match="not a gankit checkpoint"):
        resolve_checkpoint(garbage)
    text = tmp_path / "weights.txt"
    text.write_text("hello")
    with pytest.raises(GankitError, match="not a gankit run directory or checkpoint"):
        resolve_checkpoint(text)


def test_load_rejects_newer_format_and_missing_weights(tmp_path: Path) -> None:
    path = _save(tmp_path, 1)
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(GankitError, match="newer gankit"):
        read_meta(path)
    path.write_text(json.dumps(meta))
    path.with_suffix(".safetensors").unlink()
    with pytest.raises(GankitError, match="missing its weights file"):
        load_checkpoint(path)


@pytest.mark.parametrize("where", [0.1, 0.5, 0.99])
def test_flipped_byte_is_reported_as_corruption(tmp_path: Path, where: float) -> None:
    path = save_checkpoint(tmp_path, 3, _tensors(), {})
    weights = path.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(GankitError, match="corrupt"):
        load_checkpoint(path)


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_text("old")

    def fail(p: Path) -> None:
        p.write_text("half-writ")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]
    atomic_write(target, lambda p: p.write_text("new"))
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


# --- optimiser state ---------------------------------------------------------------------------


def _problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return net, torch.randn(32, 3, generator=gen), torch.randn(32, 1, generator=gen)


def _train(net: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, n: int):
    for _ in range(n):
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()


OPTIMISERS = {
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.5, 0.9), weight_decay=1e-3),
    "adam_amsgrad": lambda p: torch.optim.Adam(p, lr=1e-2, amsgrad=True),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, momentum=0.5),
    "rmsprop_centered": lambda p: torch.optim.RMSprop(p, lr=1e-3, centered=True),
}


@pytest.mark.parametrize("kind", sorted(OPTIMISERS))
def test_optimizer_state_round_trips_through_a_checkpoint(kind: str, tmp_path: Path) -> None:
    net, x, y = _problem()
    opt = OPTIMISERS[kind](net.parameters())
    _train(net, opt, x, y, 5)
    tensors, meta = split_optimizer_state(opt)
    assert tensors and all(torch.is_tensor(v) for v in tensors.values())
    json.dumps(meta)  # the rest must fit the JSON half
    path = save_checkpoint(
        tmp_path,
        5,
        {**net.state_dict(), **{f"opt.{k}": v for k, v in tensors.items()}},
        {"o": meta},
    )

    loaded, loaded_meta, _ = load_checkpoint(path)
    net2, _, _ = _problem()
    net2.load_state_dict({k: v for k, v in loaded.items() if not k.startswith("opt.")})
    opt2 = OPTIMISERS[kind](net2.parameters())
    opt2.load_state_dict(join_optimizer_state(subdict(loaded, "opt"), loaded_meta["o"]))

    _train(net, opt, x, y, 4)
    _train(net2, opt2, x, y, 4)
    for (name, a), b in zip(net.named_parameters(), net2.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)
    # and the optimisers themselves agree afterwards
    after, after_meta = split_optimizer_state(opt)
    after2, after_meta2 = split_optimizer_state(opt2)
    assert set(after) == set(after2)
    # tuples (Adam's betas) come back from JSON as lists
    assert after_meta2 == json.loads(json.dumps(after_meta))
    for key in after:
        torch.testing.assert_close(after2[key], after[key], rtol=0, atol=0, msg=key)


def test_restored_state_differs_from_a_fresh_optimiser() -> None:
    # guards the test above: without the state, continuing gives different parameters
    net, x, y = _problem()
    opt = OPTIMISERS["adam"](net.parameters())
    _train(net, opt, x, y, 5)
    net2 = copy.deepcopy(net)
    opt2 = OPTIMISERS["adam"](net2.parameters())
    _train(net, opt, x, y, 2)
    _train(net2, opt2, x, y, 2)
    assert not all(
        torch.equal(a, b) for a, b in zip(net.parameters(), net2.parameters(), strict=True)
    )


# --- RNG state ---------------------------------------------------------------------------------


def _draws() -> tuple[list[float], list[float], list[float]]:
    return (
        torch.randn(5).tolist() + torch.randint(0, 100, (3,)).tolist(),
        np.random.standard_normal(5).tolist() + np.random.randint(0, 100, 3).tolist(),
        [random.random() for _ in range(3)] + [random.gauss(0, 1) for _ in range(3)],
    )


@pytest.mark.parametrize("odd_gauss", [False, True])
def test_rng_capture_restore_reproduces_next_draws(odd_gauss: bool, tmp_path: Path) -> None:
    saved = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    try:
        seed_everything(11)
        _draws()
        if odd_gauss:  # leave a cached second normal in Python's and NumPy's generators
            random.gauss(0, 1)
            np.random.standard_normal()
        plain, tensors = capture_rng()
        # through a checkpoint: the JSON half and the tensor half
        path = save_checkpoint(
            tmp_path, 1, {f"rng.{k}": v for k, v in tensors.items()}, {"rng": plain}
        )
        expected = _draws()
        _draws()  # move every generator on
        loaded, meta, _ = load_checkpoint(path)
        restore_rng(meta["rng"], subdict(loaded, "rng"))
        assert _draws() == expected
        seed_everything(12)
        assert _draws() != expected  # the draws depend on the state at all
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])
