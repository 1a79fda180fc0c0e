"""What the benchmark scripts share: running `gankit` as a user would, caching finished runs so
an interrupted benchmark continues where it stopped, and formatting."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GANKIT = [sys.executable, "-m", "gankit"]


def job_options(description: str, work: str) -> argparse.Namespace:
    """The command line of a benchmark made of labelled training jobs (--work, --seed, --only,
    --steps); creates the work folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/runs") / work)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", help="labels of the jobs to run (default: all)")
    parser.add_argument("--steps", type=int, help="steps of every run (default: the presets')")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    return args


def run(args: list[str], *, capture: bool = False) -> tuple[float, str]:
    """Run `gankit ARGS`; returns (wall seconds, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [*GANKIT, *args], check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return time.perf_counter() - start, proc.stdout or ""


def cached(out: Path, compute: Callable[[], Any], *, resumable: bool = False) -> Any:
    """Reuse a finished run's result (kept as `bench.json` in its directory) so that an
    interrupted benchmark continues where it stopped; an unfinished run starts over, unless it
    is `resumable` (its `compute` trains with `train_or_resume`, which continues it)."""
    record = out / "bench.json"
    if record.is_file():
        return json.loads(record.read_text())
    if not resumable:
        shutil.rmtree(out, ignore_errors=True)
    result = compute()
    record.write_text(json.dumps(result))
    return result


def train_or_resume(args: list[str], out: Path) -> float:
    """`gankit train ARGS` (which writes to `out`), or `gankit train --resume out` when an
    interrupted call left checkpoints there: resuming is bit-exact on the CPU, so the result is
    the one a straight run gives. Returns the wall seconds of the whole run, the interrupted
    part counted by the training time its last checkpoint records."""
    checkpoints = sorted((out / "checkpoints").glob("step-*.json"))
    if not checkpoints:
        shutil.rmtree(out, ignore_errors=True)
        return run(args)[0]
    before = float(json.loads(checkpoints[-1].read_text()).get("elapsed", 0.0))
    return before + run(["train", "--resume", str(out), "--no-progress"])[0]


def evaluate(run_dir: Path, metrics: str, n: int | None = None) -> dict:
    args = ["eval", str(run_dir), "--metrics", metrics, "--json"]
    if n:
        args += ["-n", str(n)]
    return json.loads(run(args, capture=True)[1])


def command(args: list[str]) -> str:
    return "gankit " + " ".join(args)


def mean_se(values: list[float], digits: int = 3) -> str:
    """`mean ± standard error` of the values (± 0 for one value)."""
    if not all(math.isfinite(v) for v in values):
        bad = sum(not math.isfinite(v) for v in values)
        return f"∞ ({bad} of {len(values)} runs)"
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    # (at least the integer digits: 1000 rather than 1e+03)
    places = max(digits, len(str(int(abs(mean)))))
    return f"{mean:.{places}g} ± {se:.2g}"


def threads() -> int:
    """The threads each `gankit` process may use (OMP_NUM_THREADS, else torch's default)."""
    return int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))


def machine() -> str:
    """The machine as a results page names it: with the CPU model and the kernel level PyTorch
    picks on it (AVX2, AVX-512), since a result reproduces bit for bit only on the same kind
    (`gankit.training.state.environment`)."""
    from gankit.training.state import cpu_name

    capability = torch.backends.cpu.get_cpu_capability()
    return (
        f"{os.cpu_count()} CPU cores ({cpu_name()}, {platform.machine()}, PyTorch kernels "
        f"{capability}), torch {torch.__version__}, Python {platform.python_version()}"
    )
