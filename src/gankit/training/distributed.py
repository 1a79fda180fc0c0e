"""Data-parallel training under `torchrun`: process group set-up and keeping replicas identical.

Gradients are averaged across ranks by one flattened all-reduce per phase update rather than by
wrapping networks in DistributedDataParallel (the approach of NVlabs' stylegan2-ada). A GAN phase
runs forward through several networks of which only some are updated, and the gradient penalty
needs a double backward; DDP's reducer handles neither well (unused parameters, no double
backward), while an explicit all-reduce after backward is exact for any phase. Batch-norm running
statistics are averaged after every step, so every rank holds bit-identical weights and buffers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from gankit.errors import GankitError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> DistInfo:
    """The process's place in a torchrun launch (RANK, WORLD_SIZE, LOCAL_RANK), or a lone one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


DEVICES = "auto, cpu, cuda, cuda:N or mps"


def parse_device(text: str) -> torch.device | None:
    """`text` as a torch device (None for `auto`), or a GankitError naming the choices."""
    if text == "auto":
        return None
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise GankitError(f"unknown device {text!r} (choose from {DEVICES})") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise GankitError(f"gankit does not train on {device.type} devices (use {DEVICES})")
    return device


def check_available(device: torch.device) -> None:
    """Raise GankitError when `device` is not on this machine, saying what is."""
    if device.type == "cuda":
        if not torch.backends.cuda.is_built():
            raise GankitError(
                f"--device {device}: this PyTorch ({torch.__version__}) is built without CUDA; "
                "use --device cpu, or install a CUDA build of PyTorch"
            )
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise GankitError(f"--device {device}: no CUDA GPU is visible on this machine")
        if device.index is not None and device.index >= count:
            raise GankitError(
                f"--device {device}: this machine has {count} CUDA GPU(s), cuda:0 to "
                f"cuda:{count - 1}"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        why = "is built without it" if not torch.backends.mps.is_built() else "cannot use it here"
        raise GankitError(f"--device mps: Apple's MPS is not available (this PyTorch {why})")


def select_device(preference: str, info: DistInfo) -> torch.device:
    """`auto` picks CUDA (this rank's local GPU), then Apple's MPS, then the CPU; a named device
    must exist on this machine."""
    device = parse_device(preference)
    if device is not None:
        if device.type == "cuda" and device.index is None and info.enabled:
            device = torch.device("cuda", info.local_rank)
        check_available(device)
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", info.local_rank if info.enabled else 0)
    if torch.backends.mps.is_available() and not info.enabled:
        return torch.device("mps")
    return torch.device("cpu")


def init_process_group(info: DistInfo, device: torch.device) -> None:
    """NCCL on CUDA, gloo otherwise; a no-op for a lone process or one already initialised."""
    if not info.enabled or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=info.rank, world_size=info.world_size)


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def _average(tensors: list[torch.Tensor], info: DistInfo) -> None:
    """Replace each tensor by its mean across ranks, with one all-reduce of them all flattened."""
    if not info.enabled or not tensors:
        return
    flat = torch.cat([t.flatten() for t in tensors])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> None:
    """Replace `t` by its sum across ranks (in place)."""
    if info.enabled:
        dist.all_reduce(t)


def average_gradients(params: Iterable[nn.Parameter], info: DistInfo) -> None:
    """Average the gradients of `params` across ranks."""
    _average([p.grad for p in params if p.grad is not None], info)


def average_buffers(module: nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers (batch-norm running statistics) across ranks, except
    those of submodules marked `rank_local = True` (a CycleGAN history pool: each process keeps
    its own, as each would alone)."""
    local = {
        id(b) for m in module.modules() if getattr(m, "rank_local", False) for b in m.buffers()
    }
    _average([b for b in module.buffers() if b.is_floating_point() and id(b) not in local], info)


def broadcast_module(module: nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if not info.enabled:
        return
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def any_true(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank if `flag` is true on any rank."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's `obj` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's `obj`, in rank order, on every rank."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out
