"""CPU threads under competing load.

PyTorch's CPU operators split their work over OpenMP threads (libgomp in the Linux wheels) that
meet at a barrier after every parallel operator. A thread that arrives first spins, by default
300,000 times, before it sleeps. With another process on the machine one of the job's threads is
often descheduled, and its partner burns its own time slice spinning for it: on two cores the
README's DCGAN ran 3.1× slower beside one busy process and 3.9× beside two, 38× in the worst
round (benchmarks/results/threads.md); with 1,000 spins, 2.4× and 2.7×. `gankit` therefore
lowers the spin count (`SPIN_COUNT`, set in `gankit/__init__.py` before PyTorch loads, unless
the user set GOMP_SPINCOUNT or OMP_WAIT_POLICY), which bounds that collapse without changing
any result.

The thread count itself is left at PyTorch's default, one per core: results depend on it, and a
run's weights must not depend on what else the machine was doing when it started. `gankit train`
measures the other processes' load when it starts and says when fewer threads (`--threads`)
would be faster.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import MutableMapping

SPIN_COUNT = "1000"


def limit_spinning(environ: MutableMapping[str, str] = os.environ) -> None:
    """Lower libgomp's spin count unless the user chose one or a wait policy. libgomp reads it
    once, when PyTorch loads: once `torch` is imported this changes nothing (and sets nothing,
    so that the environment says what the process runs with)."""
    if "torch" in sys.modules:
        return
    if "GOMP_SPINCOUNT" not in environ and "OMP_WAIT_POLICY" not in environ:
        environ["GOMP_SPINCOUNT"] = SPIN_COUNT


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def other_load(seconds: float = 0.2) -> float | None:
    """How many cores other processes keep busy, over `seconds` (this process's own CPU time
    taken out); None where the machine does not say (no /proc/stat)."""
    start_busy, start_own, start = _busy_seconds(), time.process_time(), time.perf_counter()
    if start_busy is None:
        return None
    time.sleep(seconds)
    end_busy = _busy_seconds()
    if end_busy is None:
        return None
    own = time.process_time() - start_own
    return max(end_busy - start_busy - own, 0.0) / (time.perf_counter() - start)


def crowding_note(threads: int, load: float | None, cores: int) -> str | None:
    """A note when `threads` threads would compete with `load` busy cores for `cores` cores;
    None when they fit."""
    if load is None or threads <= 1 or load < 0.5 or threads + load <= cores + 0.25:
        return None
    fewer = max(1, min(threads - 1, cores - round(load)))
    return (
        f"other processes keep {load:.1f} of this machine's {cores} cores busy; {threads} "
        f"training threads will wait on each other. --threads {fewer} is faster while they run "
        "(results depend on the thread count)"
    )
