"""Errors that gankit raises for the user to fix, as opposed to bugs."""

from __future__ import annotations


class GankitError(Exception):
    """A problem with what the user asked for: an unknown name, a bad path or value, a file that
    is not a gankit checkpoint, a model that does not fit the data.

    The CLI prints the message alone (no traceback) and exits with status 2.
    """


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the run stopped before writing any bad weights."""
