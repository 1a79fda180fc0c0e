"""An endless, resumable, shardable stream of batches."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data.distributed import DistributedSampler

from gankit.data.base import Batch, GANDataset
from gankit.errors import GankitError


class BatchStream:
    """Endless batches of `dataset`, reshuffled each epoch, sharded across ranks.

    The order is a pure function of (seed, epoch, rank, world size): PyTorch's DistributedSampler
    gives each rank a disjoint shard of each epoch's permutation (with one rank it is a plain
    permutation). Its state is (epoch, batches consumed), so a resumed run continues with exactly
    the batches an uninterrupted run would have drawn.

    Args:
        dataset: the data.
        batch_size: samples per batch on this rank.
        seed: shuffling seed.
        rank: this process's place in a distributed run (0 alone).
        world_size: the number of processes in the run (1 alone).
        device: where batches are returned.
    """

    def __init__(
        self,
        dataset: GANDataset,
        batch_size: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        device: torch.device | str = "cpu",
    ) -> None:
        per_rank = len(dataset) // world_size
        if per_rank < batch_size:
            raise GankitError(
                f"the dataset has {len(dataset)} samples, fewer than one batch of "
                f"{batch_size * world_size}; use a smaller --batch-size"
            )
        self.dataset, self.batch_size, self.device = dataset, batch_size, torch.device(device)
        self.sampler: DistributedSampler[int] = DistributedSampler(
            dataset,  # type: ignore[arg-type]
            num_replicas=world_size,
            rank=rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        self.epoch, self.position = 0, 0
        self._order: torch.Tensor | None = None

    @property
    def batches_per_epoch(self) -> int:
        return len(self.sampler) // self.batch_size

    def _epoch_order(self) -> torch.Tensor:
        if self._order is None:
            self.sampler.set_epoch(self.epoch)
            idx = torch.tensor(list(self.sampler), dtype=torch.long)
            self._order = idx[: self.batches_per_epoch * self.batch_size].view(-1, self.batch_size)
        return self._order

    def next(self) -> Batch:
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        indices = self._epoch_order()[self.position]
        self.position += 1
        batch = self.dataset.batch(indices)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position, self._order = int(state["epoch"]), int(state["position"]), None
