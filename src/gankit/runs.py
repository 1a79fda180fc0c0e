"""Reading run directories as they are written: what a dashboard (`gankit serve`) or a script
needs to watch runs without loading a model.

A run directory (see `gankit.training.rundir`) holds `config.yaml`, `metrics.jsonl` (one JSON
line per `train.log_every` steps), `samples/step-NNNNNN.png` (the fixed-latent grid every
`train.sample_every` steps), `checkpoints/` and, once `gankit eval` has measured it,
`eval.jsonl` (one JSON line per evaluation). Everything here only reads, and tolerates a file
being written at the same moment (a last line without its newline is skipped).

`resolve_run` is the one way from a name a user typed (or a browser sent) to a directory: it
accepts only paths that stay inside the root, so a server built on it never reads elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from gankit.errors import GankitError
from gankit.files import writing
from gankit.training.checkpoint import list_checkpoints
from gankit.training.rundir import MARKER, is_run, is_training

EVAL_LOG = "eval.jsonl"
METRICS_LOG = "metrics.jsonl"
_SAMPLE = re.compile(r"step-(\d+)\.png$")
MAX_DEPTH = 4  # how deep under the root runs are looked for (runs/sweep/seed-1/run)


@dataclass
class RunSummary:
    """What a list of runs shows of one run.

    Attributes:
        name: the path relative to the root, with `/` (what `resolve_run` takes back).
        step: the newest step the run reached (its newest checkpoint, sample or metrics line).
        steps: the steps its config asks for.
        wall_s: seconds of training at the last metrics line (None before the first).
        training: whether a live process holds the run's lock now.
        last: the last metrics line (losses, D's outputs, ADA's p, ...).
        updated: when anything in the run last changed (seconds since the epoch).
    """

    name: str
    path: Path
    model: str
    data: str
    step: int
    steps: int
    wall_s: float | None
    training: bool
    newest_sample: Path | None
    last: dict[str, Any] = field(default_factory=dict)
    updated: float = 0.0

    @property
    def status(self) -> str:
        if self.training:
            return "training"
        return "finished" if self.step >= self.steps else "stopped"


def resolve_run(root: str | Path, name: str) -> Path:
    """The run directory `name` under `root`, refusing anything that would leave it.

    Raises:
        GankitError: `name` is empty, absolute, has a `..` part or a backslash, resolves
            (through a symlink) outside `root`, or is not a gankit run.
    """
    base = Path(root).resolve()
    text = str(name).strip()
    parts = PurePosixPath(text).parts
    if not text or "\\" in text or "\x00" in text:
        raise GankitError(f"not a run name: {name!r}")
    if PurePosixPath(text).is_absolute() or Path(text).is_absolute():
        raise GankitError(f"run names are relative to the runs folder, not absolute: {name!r}")
    if ".." in parts:
        raise GankitError(f"run names may not contain '..': {name!r}")
    path = (base / text).resolve()
    if path != base and base not in path.parents:
        raise GankitError(f"{name!r} leads outside the runs folder (a symlink?)")
    if not path.is_dir() or not is_run(path):
        raise GankitError(f"no run {name!r} in {base}")
    return path


def find_runs(root: str | Path, *, max_depth: int = MAX_DEPTH) -> list[RunSummary]:
    """Every run under `root` (the root itself if it is one), newest change first. Symlinked
    folders are followed only where they stay inside `root`; hidden folders are skipped."""
    base = Path(root).resolve()
    if not base.is_dir():
        raise GankitError(f"no such folder: {root}")
    found: list[RunSummary] = []

    def walk(folder: Path, depth: int) -> None:
        if is_run(folder):
            found.append(summarize(folder, folder.relative_to(base).as_posix() or "."))
            return  # a run's own folders hold no runs
        if depth >= max_depth:
            return
        try:
            children = sorted(folder.iterdir())
        except OSError:
            return
        for child in children:
            if child.name.startswith(".") or not child.is_dir():
                continue
            real = child.resolve()
            if real != base and base not in real.parents:
                continue  # a symlink out of the root
            walk(base / real.relative_to(base), depth + 1)

    walk(base, 0)
    found.sort(key=lambda r: r.updated, reverse=True)
    return found


def summarize(path: Path, name: str | None = None) -> RunSummary:
    """A `RunSummary` of run directory `path` (read from its files, no model loaded)."""
    from gankit.config import load_yaml

    config: dict[str, Any] = {}
    with contextlib.suppress(GankitError):  # unreadable or not YAML: shown as "?"
        config = load_yaml(path / "config.yaml")
    model = str(config.get("model", {}).get("name", "?"))
    data = str(config.get("data", {}).get("spec", "?"))
    steps = int(config.get("train", {}).get("steps", 0) or 0)
    metrics = read_jsonl(path / METRICS_LOG)
    last = metrics[-1] if metrics else {}
    samples = sample_steps(path)
    checkpoints = list_checkpoints(path / "checkpoints")
    step = max(
        [int(last.get("step", 0))] + [s for s, _ in samples[-1:]] + [s for s, _ in checkpoints[-1:]]
    )
    wall = last.get("time")
    newest = samples[-1][1] if samples else None
    watched = [path / METRICS_LOG, path / MARKER, *(p for _, p in checkpoints[-1:])]
    stamps = [_mtime(p) for p in [*watched, *([newest] if newest else [])]]
    return RunSummary(
        name=name if name is not None else path.name,
        path=path,
        model=model,
        data=data,
        step=step,
        steps=steps,
        wall_s=float(wall) if isinstance(wall, int | float) else None,
        training=is_training(path),
        newest_sample=newest,
        last={k: v for k, v in last.items() if k != "step"},
        updated=max((s for s in stamps if s), default=0.0),
    )


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a log file, one per complete line; a line being written (no newline
    yet) or damaged is skipped, and a missing file is empty."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    records = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # the writer has not finished this line
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The lines of the run's `metrics.jsonl`, in step order (a resumed run's repeated steps
    keep their newest line)."""
    by_step: dict[int, dict[str, Any]] = {}
    for record in read_jsonl(Path(path) / METRICS_LOG):
        if isinstance(record.get("step"), int):
            by_step[record["step"]] = record
    return [by_step[s] for s in sorted(by_step)]


def sample_steps(path: Path) -> list[tuple[int, Path]]:
    """(step, png) of the run's saved sample grids, oldest first."""
    folder = Path(path) / "samples"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _SAMPLE.match(p.name))]
    return sorted(found)


def eval_results(path: Path) -> list[dict[str, Any]]:
    """What `gankit eval` measured on this run, oldest first (from `eval.jsonl`)."""
    return read_jsonl(Path(path) / EVAL_LOG)


def record_eval(run_dir: Path, record: dict[str, Any]) -> Path:
    """Append one evaluation to the run's `eval.jsonl` (one line, written in one call, so a
    reader never sees half of it)."""
    path = Path(run_dir) / EVAL_LOG
    line = json.dumps({"time": datetime.now().astimezone().isoformat(timespec="seconds")} | record)
    with writing(path), open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
    return path
