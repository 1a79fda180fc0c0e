"""Training logs: metrics.jsonl, optional TensorBoard, and running loss averages."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.files import append_text, write_text


class LossTracker:
    """Running sums of logged scalars, kept on their device so that training never waits on
    them; also the first step at which each became non-finite."""

    def __init__(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}
        self.first_bad: dict[str, Tensor] = {}

    def add(self, step: int, logs: dict[str, Tensor]) -> None:
        for key, value in logs.items():
            v = value.detach().float().reshape(())
            if key not in self.sums:
                self.sums[key] = torch.zeros((), device=v.device)
                self.counts[key] = 0
                self.first_bad[key] = torch.full((), -1, dtype=torch.long, device=v.device)
            self.sums[key] += v
            self.counts[key] += 1
            bad = self.first_bad[key]
            bad.masked_fill_(~torch.isfinite(v) & (bad < 0), step)

    def divergence(self) -> tuple[str, int] | None:
        """(key, step) of the earliest non-finite value so far, or None."""
        found = [(int(v.item()), k) for k, v in self.first_bad.items()]
        bad = sorted((s, k) for s, k in found if s >= 0)
        return (bad[0][1], bad[0][0]) if bad else None

    def pop_means(self) -> dict[str, float]:
        # a phase that did not run in this window (lazy, or DiscoGAN's alternation) is left out
        # rather than reported as 0
        means = {
            k: float(v.item()) / self.counts[k] for k, v in self.sums.items() if self.counts[k]
        }
        for v in self.sums.values():
            v.zero_()
        self.counts = dict.fromkeys(self.counts, 0)
        return means


def require_tensorboard() -> Any:
    """TensorBoard's SummaryWriter class, or a GankitError saying how to install it."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise GankitError(
            "TensorBoard logging needs the tensorboard package: pip install 'gankit[tensorboard]'"
        ) from None
    return SummaryWriter


class RunLogger:
    """Appends records to `metrics.jsonl` and, optionally, TensorBoard (rank 0 only)."""

    def __init__(self, run_dir: Path, *, tensorboard: bool) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.writer = None
        if tensorboard:
            self.writer = require_tensorboard()(str(run_dir / "tensorboard"))

    def truncate_after(self, step: int) -> None:
        """Drop records newer than `step` (written after the checkpoint a run resumes from)."""
        if not self.path.exists():
            return
        lines = self.path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if _record_step(line) <= step]
        if len(kept) != len(lines):
            write_text(self.path, "".join(kept))

    def log(self, step: int, record: dict[str, Any]) -> None:
        record = {"step": step, **record}
        append_text(self.path, json.dumps(record, allow_nan=True) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, int | float) and math.isfinite(value):
                    self.writer.add_scalar(key, value, step)

    def image(self, tag: str, grid: np.ndarray, step: int) -> None:
        if self.writer is not None:
            self.writer.add_image(tag, grid, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _record_step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return 0
