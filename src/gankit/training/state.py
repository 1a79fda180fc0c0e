"""Seeding, and the parts of training state that are not module weights: RNGs and optimisers."""

from __future__ import annotations

import random
from typing import Any, cast

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """This process's RNG states as (JSON-able part, tensor part)."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = cast(tuple, np.random.get_state(legacy=True))
    plain = {
        "python": [version, list(mt), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = state
    return plain, tensors


def restore_rng(plain: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    version, mt, gauss = plain["python"]
    random.setstate((version, tuple(mt), gauss))
    name, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["torch"])
    cuda = sorted((int(k.split(".")[1]), v) for k, v in tensors.items() if k.startswith("cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([v for _, v in cuda][: torch.cuda.device_count()])


def split_optimizer_state(
    opt: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state as (tensors keyed "index.name", JSON-able rest)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    extra: dict[str, dict[str, Any]] = {}
    for index, entries in sd["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value
            else:
                extra.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "extra": extra}


def join_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Inverse of `split_optimizer_state`: a state dict for `Optimizer.load_state_dict`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for index, entries in meta.get("extra", {}).items():
        state.setdefault(int(index), {}).update(entries)
    return {"state": state, "param_groups": meta["param_groups"]}


def environment() -> dict[str, Any]:
    """What a run's numbers depend on beyond its config and seed, recorded in every checkpoint.

    On a CPU the same run gives the same weights only on the same thread count (reductions are
    split across threads), the same PyTorch build, and the same CPU kind: PyTorch picks its
    kernels (MKL, oneDNN, its own vectorised ones) by the instruction set the CPU offers, and an
    AVX-512 and an AVX2 path round differently. A GAN's training amplifies those last bits."""
    import platform

    return {
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.version.cuda,
    }


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo; else what the platform says)."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment_changes(saved: dict[str, Any]) -> list[str]:
    """What differs between the environment a checkpoint records and this process's."""
    now = environment()
    keys = ("threads", "torch", "numpy", "machine", "cpu", "cpu_capability")
    return [f"{k} {saved[k]} -> {now[k]}" for k in keys if k in saved and saved[k] != now[k]]
