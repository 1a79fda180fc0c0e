"""The IDX format of MNIST and Fashion-MNIST (LeCun et al.), gzipped or not.

A file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values in row-major order, big-endian. Reading checks
every part of that and the file's length against it, so a truncated or foreign file is a clear
error naming the file, never a wrongly shaped array.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from gankit.errors import GankitError

# type code -> dtype (big-endian where it has bytes to order)
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class BadIdxFile(GankitError):
    """An IDX file that is truncated, foreign or not what was expected."""


def _raw_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        # gzip raises EOFError for a cut-off stream and BadGzipFile (an OSError) for a foreign one
        raise BadIdxFile(f"cannot read {path}: {err} (a truncated or damaged download?)") from None


def read_idx(path: Path, *, ndim: int | None = None) -> np.ndarray:
    """The array stored in IDX file `path` (`.gz` is decompressed), in native byte order.

    Args:
        path: the file.
        ndim: the number of dimensions expected (3 for images [N, H, W], 1 for labels), or None.

    Raises:
        BadIdxFile: the file cannot be read, its header is not IDX, it has another number of
            dimensions than `ndim`, or its length differs from what the header says.
    """
    data = _raw_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise BadIdxFile(f"{path} is not an IDX file (its first bytes are {data[:4].hex()})")
    dtype, dims = IDX_TYPES[data[2]], data[3]
    if ndim is not None and dims != ndim:
        raise BadIdxFile(f"{path} holds a {dims}-D array; expected {ndim}-D")
    header = 4 + 4 * dims
    if len(data) < header:
        raise BadIdxFile(f"{path} is truncated inside its header ({len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=dims, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise BadIdxFile(
            f"{path} is {what}: its header gives shape {shape}, {expected:,} bytes in all, "
            f"and it holds {len(data):,}"
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write `array` as an IDX file (gzipped when `path` ends in `.gz`): for tests and for
    converting data to the format."""
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX holds uint8, int8, int16, int32, float32 or float64, not {native}")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    body = np.ascontiguousarray(array, IDX_TYPES[code]).tobytes()
    blob = header + body
    if path.suffix == ".gz":
        blob = gzip.compress(blob, mtime=0)
    path.write_bytes(blob)
