"""Features of real data, cached on disk with their provenance.

Extracting Inception features of 50,000 real images takes far longer than the metrics computed
from them, and the real side of a comparison does not change between the runs scored against it.
So the features (and class probabilities) of a real sample are saved under
`~/.cache/gankit/features/<key>/` (`$XDG_CACHE_HOME` is honoured) as `features.npy` and
`probs.npy`, with `provenance.json` beside them saying what they are. The key is a hash of
everything the arrays depend on: the dataset spec and split, a fingerprint of the files it was
read from (their names, sizes and modification times), the extractor and its weights' SHA-256,
the resolution, the sample count and the seed that drew it, and gankit's version. When any of
those changes the key changes, so a stale entry is never read; entries are small enough (about
80 MB for 10,000 Inception features) to leave to the user's cache cleaning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gankit.data.locations import cache_root
from gankit.errors import WriteError
from gankit.files import make_dirs, save_npy, write_text

log = logging.getLogger("gankit")
Arrays = tuple[np.ndarray, np.ndarray]


def fingerprint(path: Path) -> str:
    """A hash of the names, sizes and modification times of the files at `path` (a file or
    every file below a folder): it changes when the data does, and costs one stat per file."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in files:
        st = p.stat()
        digest.update(f"{p.relative_to(path) if p != path else p.name}\0{st.st_size}\0".encode())
        digest.update(f"{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_key(provenance: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(provenance, sort_keys=True).encode()).hexdigest()[:24]


def cached_features(
    provenance: dict[str, Any],
    compute: Callable[[], Arrays],
    *,
    root: Path | None = None,
) -> Arrays:
    """The arrays `compute()` returns for the real data `provenance` describes: read from the
    cache when an entry with exactly this provenance exists, else computed and saved."""
    folder = (root or cache_root() / "features") / cache_key(provenance)
    stored = _read(folder, provenance)
    if stored is not None:
        log.debug("real features from the cache: %s", folder)
        return stored
    feats, probs = compute()
    try:
        _write(folder, provenance, feats, probs)
    except WriteError as err:  # a cache that cannot be written costs time, not results
        log.warning("could not cache real features in %s: %s", folder, err)
    return feats, probs


def _read(folder: Path, provenance: dict[str, Any]) -> Arrays | None:
    try:
        stored = json.loads((folder / "provenance.json").read_text())
        if stored.get("key") != provenance:
            return None
        feats = np.load(folder / "features.npy", allow_pickle=False)
        probs = np.load(folder / "probs.npy", allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:  # damaged: recompute and overwrite
        log.warning("ignoring a damaged feature cache %s: %s", folder, err)
        return None
    if len(feats) != stored.get("rows") or len(probs) != len(feats):
        return None
    return feats, probs


def _write(folder: Path, provenance: dict[str, Any], feats: np.ndarray, probs: np.ndarray) -> None:
    make_dirs(folder)
    save_npy(folder / "features.npy", feats)
    save_npy(folder / "probs.npy", probs)
    # written last: an entry without it (a write cut short) is never read
    record = {"key": provenance, "rows": len(feats), "dim": int(feats.shape[1])}
    write_text(folder / "provenance.json", json.dumps(record, indent=2, sort_keys=True) + "\n")
