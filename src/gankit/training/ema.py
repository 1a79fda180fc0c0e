"""Exponential moving average of generator weights (Karras et al. 2018; Yazıcı et al. 2019),
and the standing batch-norm statistics that an averaged generator with batch norm needs."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

STANDING_BATCHES = 16  # forward passes that estimate standing statistics (BigGAN-PyTorch's 16)


class EMA:
    """Averaged copies of some of a model's submodules (by attribute name, e.g. "G").

    After each step, every averaged parameter moves toward the live one:
    ema ← decay·ema + (1 − decay)·live; buffers (batch-norm statistics) are copied. Before
    `start` steps the copies simply track the live weights.

    The copied statistics describe the live weights' activations, not the averaged weights':
    an averaged generator with batch norm (BigGAN) samples badly with them. Before its weights
    are sampled or saved, `refresh_statistics` re-estimates them for the averaged weights, as
    BigGAN's "standing statistics" do.
    """

    def __init__(self, model: nn.Module, targets: tuple[str, ...], decay: float, start: int = 0):
        self.targets, self.decay, self.start = targets, decay, start
        self.modules = {
            name: copy.deepcopy(getattr(model, name)).requires_grad_(False).eval()
            for name in targets
        }

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Fold in the live weights after (0-based) step `step`."""
        weight = 1.0 if step < self.start else 1.0 - self.decay
        for name, avg in self.modules.items():
            live = getattr(model, name)
            avg_params = [p for p in avg.parameters() if p.is_floating_point()]
            live_params = [p.detach() for p in live.parameters() if p.is_floating_point()]
            torch._foreach_lerp_(avg_params, live_params, weight)
            for a, b in zip(avg.buffers(), live.buffers()):
                a.copy_(b)

    @property
    def batch_norms(self) -> list[_BatchNorm]:
        """The averaged modules' batch-norm layers that keep running statistics."""
        return [
            m
            for avg in self.modules.values()
            for m in avg.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats
        ]

    @torch.no_grad()
    def refresh_statistics(
        self, model: nn.Module, sample: Callable[[torch.Generator], object], seed: int
    ) -> None:
        """Replace the averaged modules' batch-norm statistics by their plain average over
        `STANDING_BATCHES` calls of `sample` (which runs `model`'s generator on a batch drawn
        from the given generator) with the averaged weights in place. The draws come from their
        own stream seeded with `seed`, so training randomness is untouched; a no-op without
        batch norm."""
        norms = self.batch_norms
        if not norms:
            return
        momenta = [m.momentum for m in norms]
        stream = torch.Generator(next(model.parameters()).device).manual_seed(seed)
        try:
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # a cumulative average over the batches
                m.train()
            with self.swapped_into(model):
                for _ in range(STANDING_BATCHES):
                    sample(stream)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
                m.eval()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {
            f"{name}.{k}": v for name, m in self.modules.items() for k, v in m.state_dict().items()
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, m in self.modules.items():
            n = len(name) + 1
            m.load_state_dict({k[n:]: v for k, v in state.items() if k.startswith(name + ".")})

    @contextmanager
    def swapped_into(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily put the averaged submodules in place of the live ones."""
        live = {name: getattr(model, name) for name in self.targets}
        try:
            for name, m in self.modules.items():
                setattr(model, name, m)
            yield model
        finally:
            for name, m in live.items():
                setattr(model, name, m)
