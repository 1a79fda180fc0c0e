"""Every file gankit writes goes through here, so that each is written atomically (a temporary
file beside it, fsync, rename: a reader or a crash never sees half a file) and so that any OS
error becomes one `WriteError` naming the path and the reason (the disk that is full, the
directory that is read-only) rather than a traceback.

The temporary file is `.NAME.tmp-PID` in the target's directory; a process killed while writing
leaves it behind, and `gankit train` removes such leftovers when it next opens the run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from safetensors import SafetensorError

from gankit.errors import WriteError

TMP_MARK = ".tmp-"  # in the names of temporary files: .NAME.tmp-PID


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def _existing(path: Path) -> Path:
    """The nearest existing ancestor of `path` (for free-space figures)."""
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path("/")


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def write_error(path: Path, err: OSError) -> WriteError:
    """A `WriteError` for `err`, raised while writing `path`, saying what to do about it."""
    code = err.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        free = shutil.disk_usage(_existing(path)).free
        reason = (
            f"no space left on the disk that holds it ({human_bytes(free)} free"
            f"{' within your quota' if code == errno.EDQUOT else ''}); free some space"
        )
    elif code == errno.EROFS:
        reason = "the file system is read-only"
    elif code in (errno.EACCES, errno.EPERM):
        reason = f"permission denied (is {_existing(path.parent)} writable?)"
    elif code == errno.ENOENT:
        reason = f"no such directory {path.parent}"
    elif code == errno.ENOTDIR:
        reason = f"{_existing(path.parent)} is a file, not a directory"
    elif code == errno.EISDIR:
        reason = "it is a directory"
    else:
        reason = err.strerror or str(err)
    return WriteError(f"cannot write {path}: {reason}", path, code)


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[Path]:
    """Turn any OSError raised in the block into a `WriteError` naming `path` (and the OS
    errors that safetensors' Rust writer reports as its own error type)."""
    path = Path(path)
    try:
        yield path
    except WriteError:
        raise
    except OSError as err:
        raise write_error(path, err) from None
    except SafetensorError as err:
        raise write_error(path, _os_error(err)) from None


def _os_error(err: Exception) -> OSError:
    """The OSError inside a safetensors error ("I/O error: No space left on device (os error
    28)"), or one carrying its text."""
    found = re.search(r"os error (\d+)", str(err))
    code = int(found.group(1)) if found else None
    return OSError(code, os.strerror(code) if code else str(err))


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp_path)`, fsync, then rename onto `path` (atomic on POSIX). On any error
    the temporary file is removed and `path` is left as it was."""
    path = Path(path)
    tmp = temporary_name(path)
    with writing(path):
        try:
            write(tmp)
            commit_file(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def commit_file(tmp: Path, path: Path) -> None:
    """fsync the finished file `tmp` and rename it onto `path`, durably: the step that makes a
    temporary file (atomic_write's, a download's `.part`) the real one. OS errors propagate,
    for the caller's `writing` block to name."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    """Make renames in `folder` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of the file at `path`, read 1 MiB at a time (checkpoints, downloads and
    weights files of any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def save_npy(path: str | Path, array: object) -> Path:
    """Write a NumPy array to `path` (`.npy`, never pickled) atomically."""
    import numpy as np

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:  # a file object: np.save would add ".npy" to the name
            np.save(f, np.asarray(array), allow_pickle=False)

    return atomic_write(path, write)


def append_text(path: str | Path, text: str) -> None:
    """Append `text` to `path` (logs: a line at a time, so not through a temporary file)."""
    with writing(path) as p, p.open("a", encoding="utf-8") as f:
        f.write(text)


def make_dirs(path: str | Path) -> Path:
    """`mkdir -p path`, with a clear error."""
    with writing(path) as p:
        p.mkdir(parents=True, exist_ok=True)
    return Path(path)


def output_path(path: str | Path) -> Path:
    """A file the user asked gankit to write: `~` expanded, its directory required to exist
    (gankit does not invent directories from a typo), and not a directory itself."""
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise WriteError(f"cannot write {path}: no such directory {path.parent}", path)
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is a directory", path)
    return path
