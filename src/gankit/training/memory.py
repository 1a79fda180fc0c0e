"""How much memory a training run will take, estimated before anything large is allocated, so
that a size the machine cannot hold is refused with the numbers instead of dying in the
allocator (`--resolution 4096` asked for 90 GB of a 24 GB machine).

Two places allocate in proportion to what the user asked: the dataset, held in memory at the
training resolution (guarded where its arrays are made: `require_memory`), and the networks
with their optimiser state and the activations one step keeps for backward (`check_training`).
The second is measured without allocating: the model is built on PyTorch's `meta` device, where
tensors have shapes but no storage, and one step of each phase is run there while a
saved-tensors hook adds up what autograd keeps. Some models use operations that have no meta
kernel; for them only the weights and optimiser state are counted, and the estimate says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from gankit.data.base import Batch, DataInfo
from gankit.errors import GankitError
from gankit.files import human_bytes
from gankit.training.state import capture_rng, restore_rng

log = logging.getLogger("gankit")

# per parameter, beyond its weights: its gradient, two Adam moments, and an EMA copy of G's
STATE_COPIES = 4
# A bound on the bytes of activations per byte of a step's input, measured at 35-750 for the
# models here (SRGAN 35, SAGAN 480, BigGAN 750, on the test configs): a run whose inputs times
# this are under a quarter of the free memory is not estimated, since the meta build takes
# seconds for the spectrally normalised models. Networks far wider than their inputs (a
# width set by hand to thousands) can pass this gate; their allocation failure is then caught
# where the model is built and reported with the same advice.
ACTIVATIONS_PER_INPUT_BYTE = 2000


def available_memory(device: torch.device) -> int | None:
    """Bytes that can still be allocated on `device` (None when it cannot be told)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    free = _meminfo_available()
    limit = _cgroup_room()
    if free is None or limit is None:
        return free if limit is None else limit
    return min(free, limit)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_room() -> int | None:
    """What a cgroup v2 memory limit (a container's) leaves, if there is one."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        used = int((root / "memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)


@contextlib.contextmanager
def _rng_untouched() -> Iterator[None]:
    """Every random generator a model may draw from as it was (the states a checkpoint keeps)."""
    plain, tensors = capture_rng()
    try:
        yield
    finally:
        restore_rng(plain, tensors)


def _where(device: torch.device) -> str:
    return "this machine" if device.type == "cpu" else str(device)


def require_memory(nbytes: int, what: str, device: torch.device | None = None) -> None:
    """Raise GankitError when `nbytes` (for `what`) exceed what `device` (the CPU) has free."""
    free = available_memory(device or torch.device("cpu"))
    if free is not None and nbytes > free:
        raise GankitError(
            f"{what} needs {human_bytes(nbytes)} of memory, and "
            f"{_where(device or torch.device('cpu'))} "
            f"has {human_bytes(free)} free: use a smaller --resolution (or fewer images)"
        )


@dataclass(frozen=True)
class Estimate:
    """Bytes a training step needs: weights with their training state, and activations kept
    for backward by the largest phase (None where they could not be measured)."""

    weights: int
    activations: int | None

    @property
    def total(self) -> int:
        return self.weights + (self.activations or 0)

    def describe(self) -> str:
        parts = f"weights and optimiser state {human_bytes(self.weights)}"
        if self.activations is None:
            return f"at least {human_bytes(self.total)} ({parts}; activations not counted)"
        kept = human_bytes(self.activations)
        return f"about {human_bytes(self.total)} ({parts}, activations {kept})"


def estimate_training(
    model_cls: type, config: object, info: DataInfo, batch: Batch, batch_size: int
) -> Estimate:
    """The memory one training step of `model_cls(config, info)` takes on a batch of
    `batch_size` shaped as `batch` (only shapes are used), measured on the meta device."""
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")  # files loaded into meta weights: a no-op, and says so
        model = model_cls(config, info)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    weights = params * (1 + STATE_COPIES) + buffers
    meta = {
        k: torch.empty((batch_size, *v.shape[1:]), dtype=v.dtype, device="meta")
        for k, v in batch.items()
    }
    try:
        activations = max((_saved_bytes(model, p.name, meta) for p in model.phases()), default=0)
    except Exception:  # an operation without a meta kernel: count what can be counted
        activations = None
    return Estimate(weights, activations)


def _saved_bytes(model: torch.nn.Module, phase: str, batch: Batch) -> int:
    """Bytes of the tensors autograd keeps for backward in one step of `phase`, leaving out
    the weights themselves (kept by reference, not copied) and counting each tensor once."""
    weights = {id(p) for p in model.parameters()}
    seen: set[int] = set()
    saved = 0

    def pack(t: Tensor) -> Tensor:
        nonlocal saved
        base = t._base if t._base is not None else t
        if id(base) not in weights and id(base) not in seen:
            seen.add(id(base))
            saved += base.numel() * base.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.loss(phase, batch)  # type: ignore[operator]
    return saved


def check_training(
    model_cls: type,
    config: object,
    info: DataInfo,
    batch: Batch,
    batch_size: int,
    device: torch.device,
) -> None:
    """Refuse a run whose step cannot fit in `device`'s free memory, saying what it needs."""
    free = available_memory(device)
    inputs = batch_size * sum(v[0].numel() * v.element_size() for v in batch.values())
    if free is None or inputs * ACTIVATIONS_PER_INPUT_BYTE < free // 4:
        return  # far from the limit: not worth the meta build (seconds for SAGAN/BigGAN)
    try:
        with _rng_untouched():  # a model's loss draws noise: the run's must not move
            estimate = estimate_training(model_cls, config, info, batch, batch_size)
    except Exception as err:  # a model that cannot be built on meta: no estimate, no refusal
        log.debug("no memory estimate: %s", err)
        return
    if estimate.total > free:
        side = info.resolution
        at = f" at {side}×{side}" if side else ""
        raise GankitError(
            f"training {getattr(model_cls, 'name', model_cls.__name__)}{at} with a batch of "
            f"{batch_size} needs {estimate.describe()}, and {_where(device)} has "
            f"{human_bytes(free)} free: lower --resolution or --batch-size"
        )


def is_out_of_memory(err: BaseException) -> bool:
    """Whether `err` is an allocator's refusal (CPU or CUDA), not another error."""
    if isinstance(err, torch.OutOfMemoryError | MemoryError):
        return True
    return isinstance(err, RuntimeError) and "can't allocate memory" in str(err)


def out_of_memory_error(err: BaseException, what: str) -> GankitError:
    """The user's message for an allocation that failed while doing `what`."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return GankitError(
        f"out of memory {what} ({first}): lower --resolution, --batch-size or the model's widths"
    )
