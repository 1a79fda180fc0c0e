"""Checkpoints: tensors in safetensors, everything else in a JSON file beside them.

`checkpoints/step-000500.safetensors` holds the weights (model, EMA), optimiser tensors and torch
RNG states; `checkpoints/step-000500.json` holds the resolved config, the step, optimiser settings,
Python/NumPy RNG states, the data stream's position and the SHA-256 of the tensor file. The JSON is
written last: a checkpoint exists only once its JSON does, and both are written to a temporary file
and renamed, so a run killed at any moment leaves the previous checkpoints intact. Loading never
executes code from the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gankit.errors import GankitError

FORMAT = "gankit.checkpoint"
VERSION = 1
_NAME = re.compile(r"^step-(\d+)\.json$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:06d}"


def atomic_write(path: Path, write: Any) -> None:
    """Call `write(tmp_path)`, fsync, then rename onto `path` (atomic on POSIX)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(
    directory: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> Path:
    """Write step `step`'s checkpoint into `directory`; returns the JSON path."""
    directory.mkdir(parents=True, exist_ok=True)
    name = checkpoint_name(step)
    weights = directory / f"{name}.safetensors"
    plain = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(weights, lambda p: save_file(plain, str(p), metadata={"format": FORMAT}))
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "weights": weights.name,
        "sha256": _sha256(weights),
        **meta,
    }
    path = directory / f"{name}.json"
    atomic_write(path, lambda p: p.write_text(json.dumps(meta, indent=1)))
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
        path.unlink(missing_ok=True)  # the JSON first: a checkpoint without it does not exist
        path.with_suffix(".safetensors").unlink(missing_ok=True)


def resolve_checkpoint(target: str | Path) -> Path:
    """The checkpoint JSON for a run directory (its newest), a checkpoint file, or its JSON.

    Raises:
        GankitError: when `target` is not a gankit run or checkpoint.
    """
    path = Path(target).expanduser()
    if path.is_dir():
        found = list_checkpoints(path / "checkpoints") or list_checkpoints(path)
        if not found:
            raise GankitError(f"{path} is not a gankit run: it holds no checkpoints")
        return found[-1][1]
    if path.suffix == ".safetensors":
        path = path.with_suffix(".json")
    if path.suffix == ".json" and path.is_file():
        read_meta(path)  # not every JSON file is a checkpoint: raise here, as documented
        return path
    if not path.exists():
        raise GankitError(f"no such run or checkpoint: {target}")
    raise GankitError(f"{target} is not a gankit run directory or checkpoint")


def read_meta(path: Path) -> dict[str, Any]:
    """The JSON half of a checkpoint, checked to be one of ours."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GankitError(f"{path} is not a gankit checkpoint ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GankitError(f"{path} is not a gankit checkpoint")
    if meta.get("version", 0) > VERSION:
        raise GankitError(f"{path} was written by a newer gankit (format {meta['version']})")
    return meta


def load_checkpoint(
    target: str | Path, *, verify: bool = True
) -> tuple[dict[str, torch.Tensor], dict[str, Any], Path]:
    """Read a checkpoint: (tensors, metadata, json path); `verify` checks the SHA-256."""
    path = resolve_checkpoint(target)
    meta = read_meta(path)
    weights = path.with_name(meta.get("weights", ""))
    if not weights.is_file():
        raise GankitError(f"checkpoint {path} is missing its weights file {weights.name}")
    if verify and _sha256(weights) != meta.get("sha256"):
        raise GankitError(f"checkpoint weights {weights} are corrupt (checksum mismatch)")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise GankitError(f"cannot read checkpoint weights {weights}: {err}") from None
    return tensors, meta, path


def subdict(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries under `prefix.`, with the prefix removed."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
