"""How the main job slows down when other processes compete for the CPU, per thread setting.

    python benchmarks/threads.py              # writes benchmarks/results/threads.md

The main job is the README's DCGAN (`gankit train dcgan --data digits`), timed as milliseconds per
training step in a fresh process, while 0, 1 or 2 busy processes (each a single thread spinning in
Python) share the machine. Each setting is a set of environment variables for that process; the
settings and loads take turns, round after round, and each cell is the median over the rounds.

With c cores, a job of t threads and k busy single-threaded processes, a fair scheduler gives the
job c·t/(t + k) cores at most (and never more than t): the "fair share" column is the slowdown
that loss of CPU alone explains. A setting degrades gracefully when its slowdown stays near that.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine

JOB = """
import gankit  # first, as in `gankit train`: it limits libgomp's spinning before torch loads
import time, torch
from gankit.training.config import resolve_run_config
from gankit.training.trainer import Trainer
cfg = resolve_run_config("dcgan", "digits", flags={"train": {"progress": False}})
t = Trainer(cfg, write=False)
for s in range(WARMUP):
    t.train_step(s)
start = time.perf_counter()
for s in range(WARMUP, WARMUP + STEPS):
    t.train_step(s)
print((time.perf_counter() - start) / STEPS * 1000, torch.get_num_threads())
"""

SETTINGS = {
    "before: PyTorch's default (2 threads; libgomp spins 300,000 times)": {
        "GOMP_SPINCOUNT": "300000"
    },
    "now: 2 threads, gankit's GOMP_SPINCOUNT=1000": {},
    "--threads 1": {"OMP_NUM_THREADS": "1"},
    "2 threads, OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
}


def busy(k: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(k)]


def job(env: dict[str, str], steps: int, warmup: int) -> tuple[float, int]:
    code = JOB.replace("WARMUP", str(warmup)).replace("STEPS", str(steps))
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        check=True,
        text=True,
        capture_output=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=RESULTS / "threads.md")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    times: dict[tuple[str, int], list[float]] = {}
    used: dict[str, int] = {}
    for r in range(args.rounds):
        for k in (0, 1, 2):
            others = busy(k)
            time.sleep(0.5)
            try:
                for name in args.settings:
                    ms, used[name] = job(SETTINGS[name], args.steps, args.warmup)
                    times.setdefault((name, k), []).append(ms)
                    print(f"round {r} busy {k} {name}: {ms:.1f} ms/step", flush=True)
            finally:
                for p in others:
                    p.kill()
                    p.wait()
    base = min(statistics.median(times[(name, 0)]) for name in args.settings)
    lines = [
        "# The main job under competing load",
        "",
        f"Machine: {machine()}. Made by `python benchmarks/threads.py --rounds {args.rounds} "
        f"--steps {args.steps}`: the README's DCGAN job, {args.steps} timed steps after "
        f"{args.warmup} warm-up steps in a fresh process, with 0, 1 or 2 single-threaded busy "
        f"processes beside it; medians over {args.rounds} rounds, and the slowest round. "
        '"vs best alone" is the '
        'time over the fastest setting\'s with no competition; "slowdown" is over the same '
        'setting\'s own time alone, and "fair share" is the slowdown its lost CPU explains.',
        "",
        "| setting | busy processes | ms/step | worst round | vs best alone | slowdown "
        "| fair share |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in args.settings:
        alone = statistics.median(times[(name, 0)])
        t = used[name]
        for k in (0, 1, 2):
            med = statistics.median(times[(name, k)])
            share = min(cores * t / (t + k), t) if k else min(cores, t)
            fair = min(cores, t) / share
            worst = max(times[(name, k)])
            lines.append(
                f"| {name} | {k} | {med:.1f} | {worst:.1f} | {med / base:.2f}× | "
                f"{med / alone:.2f}× | {fair:.2f}× |"
            )
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
