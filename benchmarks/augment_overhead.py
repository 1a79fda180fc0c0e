"""What augmentation costs a training step: DCGAN and StyleGAN2 at 32×32 on the CPU (the
networks of benchmarks/small_data.py), steps of no augmentation, DiffAugment and ADA (p = 0.5,
fixed, so every transform runs on about half the images) interleaved in one process, one
thread; medians and ratios to no augmentation.

    python benchmarks/augment_overhead.py   # writes benchmarks/results/augment-overhead.md
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import small_data
from common import RESULTS, machine

from gankit.training.config import resolve_run_config
from gankit.training.trainer import Trainer

SETTINGS = {
    "none": {},
    "diffaugment": {"augment": "diffaugment"},
    "ada (p 0.5)": {"augment": "ada", "ada_p": 0.5, "ada_target": None},
}
# the networks, batch sizes and settings of the small-data benchmark's runs
MODELS = {m.label: m for m in small_data.models(0, 0).values()}
ROUNDS, STEPS = 15, 3


def trainer(model: str, batch: int, sets: list[str], extra: dict) -> Trainer:
    flags = {"train": {"batch_size": batch, "progress": False, **extra}, "data": {"resolution": 32}}
    cfg = resolve_run_config(model, "digits", flags=flags, sets=sets)
    return Trainer(cfg, write=False)


def main() -> None:
    torch.set_num_threads(1)
    lines = [
        "# What augmentation costs a training step",
        "",
        f"Machine: {machine()}. Made by `python benchmarks/augment_overhead.py`: one thread; "
        f"the three settings' trainers built side by side and stepped in turn, {ROUNDS} rounds "
        f"of {STEPS} steps each; medians of the seconds a step, on digits at 32×32.",
        "",
        "| model | batch | " + " | ".join(SETTINGS) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in SETTINGS) + " |",
    ]
    for label, m in MODELS.items():
        batch = m.batch
        trainers = {k: trainer(m.name, batch, list(m.sets), v) for k, v in SETTINGS.items()}
        times: dict[str, list[float]] = {k: [] for k in SETTINGS}
        for t in trainers.values():  # warm-up
            t.train_step(0)
        for step in range(1, ROUNDS + 1):
            for key, t in trainers.items():
                start = time.perf_counter()
                for i in range(STEPS):
                    t.train_step(step * STEPS + i)
                times[key].append((time.perf_counter() - start) / STEPS)
        med = {k: statistics.median(v) for k, v in times.items()}
        cells = [f"{med[k] * 1000:.0f} ms ({med[k] / med['none']:.2f}×)" for k in SETTINGS]
        lines.append(f"| {label} | {batch} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "The transforms are a few tensor operations per batch (DiffAugment: gathers and masks;",
        "ADA: one `grid_sample` and one 4×4 colour matrix per image), applied to every",
        "discriminator input: reals and fakes in D's phase, fakes in G's, and R1's reals.",
        "",
    ]
    (RESULTS / "augment-overhead.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
