"""Checkpoints: tensors in safetensors, everything else in a JSON file beside them.

`checkpoints/step-000500.safetensors` holds the weights (model, EMA), optimiser tensors and torch
RNG states; `checkpoints/step-000500.json` holds the resolved config, the step, optimiser settings,
Python/NumPy RNG states, the data stream's position and the SHA-256 of the tensor file. The JSON is
written last: a checkpoint exists only once its JSON does, and both are written to a temporary file
and renamed, so a run killed at any moment leaves the previous checkpoints intact. Loading never
executes code from the files.
"""

from __future__ import annotations

import errno
import json
import logging
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gankit.errors import GankitError, WriteError
from gankit.files import TMP_MARK, atomic_write, file_sha256, human_bytes, make_dirs, writing

log = logging.getLogger("gankit")

FORMAT = "gankit.checkpoint"
VERSION = 1
_NAME = re.compile(r"^step-(\d+)\.json$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:06d}"


def save_checkpoint(
    directory: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> Path:
    """Write step `step`'s checkpoint into `directory`; returns the JSON path."""
    make_dirs(directory)
    name = checkpoint_name(step)
    weights = directory / f"{name}.safetensors"
    plain = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    try:
        atomic_write(weights, lambda p: save_file(plain, str(p), metadata={"format": FORMAT}))
    except WriteError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        size = human_bytes(sum(t.numel() * t.element_size() for t in plain.values()))
        raise WriteError(f"{err} (a checkpoint takes {size})", err.path, err.errno) from None
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "weights": weights.name,
        "sha256": file_sha256(weights),
        **meta,
    }
    path = directory / f"{name}.json"
    try:
        atomic_write(path, lambda p: p.write_text(json.dumps(meta, indent=1)))
    except BaseException:
        weights.unlink(missing_ok=True)  # weights without their JSON are no checkpoint
        raise
    return path


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """(step, json path) of the complete checkpoints in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        m = _NAME.match(p.name)
        if m and (directory / f"step-{m.group(1)}.safetensors").exists():
            found.append((int(m.group(1)), p))
    return sorted(found)


def prune_checkpoints(directory: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints (0 keeps all)."""
    if keep <= 0:
        return
    for _, path in list_checkpoints(directory)[:-keep]:
        with writing(path):
            path.unlink(missing_ok=True)  # the JSON first: a checkpoint without it does not exist
            path.with_suffix(".safetensors").unlink(missing_ok=True)


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Remove what an interrupted run can leave behind in `run_dir` and say so: temporary files
    of writes it was killed during (`.NAME.tmp-PID`), and checkpoint weights whose JSON was
    never written (a checkpoint exists only once its JSON does, so these are never resumed
    from). Call it only while holding the run's lock: no other process is then writing there."""
    found = [p for p in run_dir.rglob(f".*{TMP_MARK}*") if p.is_file()]
    checkpoints = run_dir / "checkpoints"
    if checkpoints.is_dir():
        found += [
            p for p in checkpoints.glob("step-*.safetensors") if not p.with_suffix(".json").exists()
        ]
    size = 0
    for path in found:
        with writing(path):
            size += path.stat().st_size
            path.unlink()
    if found:
        log.warning(
            "removed %d file(s) (%s) that an interrupted run left in %s: %s",
            len(found),
            human_bytes(size),
            run_dir,
            ", ".join(str(p.relative_to(run_dir)) for p in found[:4])
            + (", ..." if len(found) > 4 else ""),
        )
    return found


class DamagedCheckpoint(GankitError):
    """A checkpoint whose files are missing, unreadable or fail their checksum."""


def resolve_checkpoint(target: str | Path) -> Path:
    """The checkpoint JSON for a run directory (its newest), a checkpoint file, or its JSON.

    Raises:
        GankitError: when `target` is not a gankit run or checkpoint.
    """
    path = Path(target).expanduser()
    if path.is_dir():
        return _candidates(path)[-1][1]
    if path.suffix == ".safetensors":
        path = path.with_suffix(".json")
    if path.suffix == ".json" and path.is_file():
        read_meta(path)  # not every JSON file is a checkpoint: raise here, as documented
        return path
    if not path.exists():
        raise GankitError(f"no such run or checkpoint: {target}")
    raise GankitError(f"{target} is not a gankit run directory or checkpoint")


def _candidates(run: Path) -> list[tuple[int, Path]]:
    found = list_checkpoints(run / "checkpoints") or list_checkpoints(run)
    if not found:
        raise GankitError(f"{run} is not a gankit run: it holds no checkpoints")
    return found


def read_meta(path: Path) -> dict[str, Any]:
    """The JSON half of a checkpoint, checked to be one of ours."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        # the JSON is written whole or not at all: one that does not parse is damaged
        raise DamagedCheckpoint(f"{path} is not a gankit checkpoint ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GankitError(f"{path} is not a gankit checkpoint")
    if meta.get("version", 0) > VERSION:
        raise GankitError(f"{path} was written by a newer gankit (format {meta['version']})")
    return meta


def load_checkpoint(
    target: str | Path, *, verify: bool = True
) -> tuple[dict[str, torch.Tensor], dict[str, Any], Path]:
    """Read a checkpoint: (tensors, metadata, json path); `verify` checks the SHA-256.

    For a run directory this is its newest intact checkpoint: a damaged newer one (a truncated
    file, a checksum mismatch) is passed over with a warning that names it. A checkpoint file
    given by name is read or refused, and the refusal names an intact older one if there is.
    """
    path = Path(target).expanduser()
    if not path.is_dir():
        chosen = resolve_checkpoint(target)
        try:
            return _read(chosen, verify)
        except DamagedCheckpoint as err:
            raise DamagedCheckpoint(f"{err}{_older_hint(chosen)}") from None
    damaged: list[str] = []
    for _, candidate in reversed(_candidates(path)):
        try:
            loaded = _read(candidate, verify)
        except DamagedCheckpoint as err:
            damaged.append(str(err))
            continue
        if damaged:
            log.warning(
                "passed over %d damaged checkpoint(s) in %s (%s); using step %d, the newest "
                "intact one",
                len(damaged),
                path,
                "; ".join(damaged),
                loaded[1]["step"],
            )
        return loaded
    raise DamagedCheckpoint(f"every checkpoint of {path} is damaged: {'; '.join(damaged)}")


def _older_hint(path: Path) -> str:
    """ "; step N (PATH) is intact", naming the newest intact checkpoint older than `path`."""
    older = [(s, p) for s, p in list_checkpoints(path.parent) if p != path]
    for step, candidate in reversed(older):
        try:
            _read(candidate, True)
        except GankitError:
            continue
        return f"; an older checkpoint is intact: step {step} ({candidate})"
    return ""


def _read(path: Path, verify: bool) -> tuple[dict[str, torch.Tensor], dict[str, Any], Path]:
    meta = read_meta(path)
    weights = path.with_name(meta.get("weights", ""))
    if not weights.is_file():
        raise DamagedCheckpoint(f"checkpoint {path} is missing its weights file {weights.name}")
    if verify and file_sha256(weights) != meta.get("sha256"):
        raise DamagedCheckpoint(f"checkpoint weights {weights} are corrupt (checksum mismatch)")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise DamagedCheckpoint(f"cannot read checkpoint weights {weights}: {err}") from None
    return tensors, meta, path


def subdict(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries under `prefix.`, with the prefix removed."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def check_same_parameters(
    own: dict[str, torch.Tensor], other: dict[str, torch.Tensor], source: str | Path
) -> None:
    """Raise GankitError, naming the first parameter (or buffer) that differs, unless the
    weights `other` (from `source`) fit a model whose state is `own` name for name and shape
    for shape."""
    missing = sorted(set(own) - set(other))
    extra = sorted(set(other) - set(own))
    if missing or extra:
        parts = []
        if missing:
            parts.append(
                f"it has no {missing[0]}" + (f" (+{len(missing) - 1} more)" * (len(missing) > 1))
            )
        if extra:
            parts.append(
                f"it has {extra[0]}, which this model lacks"
                + (f" (+{len(extra) - 1} more)" * (len(extra) > 1))
            )
        raise GankitError(
            f"the weights of {source} do not fit this model: {'; '.join(parts)} (its model "
            "settings differ: start from a run with the same model.* settings)"
        )
    for key, value in own.items():
        if other[key].shape != value.shape:
            there, here = "×".join(map(str, other[key].shape)), "×".join(map(str, value.shape))
            raise GankitError(
                f"the weights of {source} do not fit this model: {key} is {there} there but "
                f"{here} here (a different model.* setting, image channels, resolution or "
                "number of classes)"
            )
