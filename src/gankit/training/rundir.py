"""The run directory: what makes one a gankit run, and the lock a training process holds on it.

A run directory carries a marker file (`.gankit-run`) from its creation, so gankit can tell its
own directories from a user's: a new run goes only into a new or empty directory, never over
files gankit did not write, and a directory that held a run (its marker, or checkpoints of
runs made before the marker existed) is continued with `--resume`, never mixed with a new run.

While a process trains a run it holds an exclusive `flock` on `RUN/.lock`, which names it (PID,
host, start time, command). A second process that wants the run is refused at once with the
holder's name. The kernel drops a lock when its holder exits, however it exits, so a lock left
by a killed process is free: the next process takes it over and says whose it was.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from gankit.errors import GankitError
from gankit.files import make_dirs, write_text, writing
from gankit.training.checkpoint import list_checkpoints

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not locked
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("gankit")

MARKER = ".gankit-run"
LOCK = ".lock"
_OWN_FILES = {LOCK}  # what an unfinished start may leave in a directory it created


def is_run(path: Path) -> bool:
    """Whether `path` is (or was) a gankit run directory."""
    return (path / MARKER).is_file() or bool(list_checkpoints(path / "checkpoints"))


def check_not_foreign(path: Path) -> None:
    """Raise GankitError when `path` is a file, or a directory that holds files gankit did not
    write (checked before anything, even a lock file, is written there)."""
    if path.exists() and not path.is_dir():
        raise GankitError(f"{path} is a file, not a directory: give a new path for the run")
    if path.is_dir() and not is_run(path) and any(p.name not in _OWN_FILES for p in path.iterdir()):
        raise GankitError(
            f"{path} is not empty and is not a gankit run: give a new or empty directory for "
            "the run (gankit never writes over files it did not make)"
        )


def check_new_run_dir(path: Path) -> None:
    """Raise GankitError unless a new run may be written into `path`: it does not exist or is
    an empty directory."""
    check_not_foreign(path)
    if not path.is_dir():
        return
    if list_checkpoints(path / "checkpoints"):
        raise GankitError(f"{path} already holds a run; continue it with --resume {path}")
    if is_run(path):
        raise GankitError(
            f"{path} holds the samples or logs of a gankit run whose checkpoints are gone: it "
            "cannot be continued, and a new run there would mix with them; give a new path "
            "(or delete it first)"
        )


def mark_run(path: Path) -> None:
    """Write the marker that makes `path` a gankit run (once, when the run is created)."""
    from gankit import __version__

    if not (path / MARKER).exists():
        record = {"format": "gankit.run", "created": _now(), "gankit_version": __version__}
        write_text(path / MARKER, json.dumps(record) + "\n")


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def is_training(path: Path) -> bool:
    """Whether a live process on this machine trains the run in `path` now: its lock file
    names a process that exists (the file is emptied when training ends; a killed trainer's pid
    is gone). Only the file is read, never the `flock`, so asking never gets in a trainer's way.
    A holder on another host (a shared disk) cannot be checked from here: False."""
    try:
        holder = json.loads((path / LOCK).read_text() or "{}")
    except (OSError, ValueError):
        return False
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
        return False
    return holder.get("host") in (None, socket.gethostname()) and _alive(holder["pid"])


class RunLock:
    """An exclusive lock on run directory `path` (created if needed), held until `release`.

    Raises:
        GankitError: another process holds it (the message names that process).
    """

    def __init__(self, path: Path) -> None:
        self.path = path / LOCK
        self.fd: int | None = None
        if fcntl is None:
            return
        make_dirs(path)
        with writing(self.path):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _describe(_read_holder(fd))
            os.close(fd)
            raise GankitError(
                f"{path} is in use by another gankit process ({holder}); wait for it to "
                "finish, or stop it, before training this run"
            ) from None
        self.fd = fd
        previous = _read_holder(fd)
        if previous.get("pid") and not _alive(int(previous["pid"])):
            log.info("taking over %s from %s, which is gone", self.path, _describe(previous))
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": _now(),
            "command": " ".join(sys.argv),
        }
        with writing(self.path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)

    def release(self) -> None:
        """Drop the lock (the file stays, emptied, for the next holder)."""
        if self.fd is None or fcntl is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "process unknown"
    return (
        f"pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}: "
        f"{holder.get('command', '')}".rstrip(": ")
    )
