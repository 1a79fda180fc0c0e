"""Errors that gankit raises for the user to fix or that stop a run, as opposed to bugs.

The CLI prints the message of any of them alone (no traceback), with exit status 2 for what
the user asked (`GankitError`) and 1 for a run that could not go on (`RunStopped`).
"""

from __future__ import annotations


class GankitError(Exception):
    """A problem with what the user asked for: an unknown name, a bad path or value, a file that
    is not a gankit checkpoint, a model that does not fit the data.

    The CLI prints the message alone (no traceback) and exits with status 2.
    """


class WriteError(GankitError):
    """A file could not be written: the message names the path and the reason (no space left
    on its disk, a read-only directory, permission denied). Nothing half-written is left."""

    def __init__(self, message: str, path: object, errno: int | None = None) -> None:
        super().__init__(message)
        self.path, self.errno = path, errno


class RunStopped(RuntimeError):
    """Training stopped on a fault it cannot go past; the run's last complete checkpoint is
    intact and `gankit train --resume RUN` continues from it. The CLI exits with status 1."""


class TrainingDiverged(RunStopped):
    """A loss became NaN or infinite; the run stopped before writing any bad weights."""
