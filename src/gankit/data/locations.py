"""Where standard datasets and downloaded weights live on disk.

A standard dataset NAME is looked for, in order, at the PATH of its spec (`mnist:PATH`), at
`$GANKIT_DATA/NAME`, and at the user cache `~/.cache/gankit/datasets/NAME` (`$XDG_CACHE_HOME`
is honoured). `gankit data fetch NAME` writes to `--to DIR`, else to the first of the last two.
Downloaded network weights (the FID Inception network) live beside them, in
`$GANKIT_DATA/weights` or `~/.cache/gankit/weights`.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/gankit`, by default `~/.cache/gankit`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "gankit"


def data_root() -> Path:
    """Where datasets go when nothing else is said: `$GANKIT_DATA`, else the user cache's
    `datasets/`."""
    env = os.environ.get("GANKIT_DATA")
    return Path(env).expanduser() if env else cache_root() / "datasets"


def dataset_dirs(name: str, arg: str | None = None) -> list[Path]:
    """The folders searched for dataset `name`, in order: the spec's PATH alone when it has
    one; else `$GANKIT_DATA/NAME` (when set) and the cache's `datasets/NAME`."""
    if arg:
        return [Path(arg).expanduser()]
    dirs = []
    env = os.environ.get("GANKIT_DATA")
    if env:
        dirs.append(Path(env).expanduser() / name)
    dirs.append(cache_root() / "datasets" / name)
    return dirs


def default_dir(name: str) -> Path:
    """Where `gankit data fetch NAME` puts dataset `name` without `--to`."""
    return data_root() / name


def weights_dir() -> Path:
    """Where fetched network weights go: `$GANKIT_DATA/weights`, else the cache's `weights/`."""
    env = os.environ.get("GANKIT_DATA")
    return Path(env).expanduser() / "weights" if env else cache_root() / "weights"
