"""Downloads of the standard datasets and of the FID Inception weights (`gankit data fetch NAME`).

`SOURCES` lists every file: the name it is saved under, its SHA-256, its size when known, and its
URLs, the canonical one first and mirrors after (the values of TensorFlow Datasets' url_checksums
and of torch-fidelity's release). `fetch(NAME, DIR)` gets each file so that a reader never
mistakes half a download for the data:

- A file whose final name exists with the right SHA-256 is kept as it is.
- Otherwise it is downloaded to `FINAL.part`, its size and SHA-256 are checked, and it is fsynced
  and renamed onto `FINAL`. A `.part` left by an interrupted fetch (Ctrl-C, a dropped connection)
  is resumed with an HTTP `Range: bytes=N-` request.
- A source that fails (no connection, a timeout, an HTTP error, a body cut short, a wrong checksum,
  a web page instead of the file) is logged with its reason and the next mirror is tried; when
  every one fails the error lists each URL with its reason.
- An archive (CIFAR's .tar.gz, CelebA's .zip), once checked, is extracted safely (regular files
  and folders only, never outside the target) into a temporary folder inside the target; its top
  folder is then renamed into place and the archive deleted. A complete top folder makes fetching
  again a no-op.
"""

from __future__ import annotations

import difflib
import http.client
import logging
import os
import re
import shutil
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType
from typing import IO, Literal

from tqdm import tqdm

from gankit import __version__
from gankit.data.locations import default_dir, weights_dir
from gankit.errors import GankitError
from gankit.files import commit_file, file_sha256, human_bytes, make_dirs, sync_dir, writing

log = logging.getLogger("gankit")

CHUNK = 1 << 20  # bytes read and written at a time
PART = ".part"  # the suffix of a download in progress: FINAL.part
WEB_PAGE = "the server returned a web page rather than the file (a quota, sign-in or error page?)"


@dataclass(frozen=True)
class RemoteFile:
    """One file to download.

    Attributes:
        name: the name it is saved under in the target folder.
        sha256: its SHA-256, in hex.
        urls: where to get it: the canonical source first, mirrors after.
        size: its length in bytes, or None where it is not known.
        extract: for an archive, the top folder it holds; that folder is extracted into the
            target folder and the archive then deleted. None: the file is kept as it is.
        contents: files the extracted folder must hold to count as complete.
    """

    name: str
    sha256: str
    urls: tuple[str, ...]
    size: int | None = None
    extract: str | None = None
    contents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fetchable:
    """What `fetch(NAME)` downloads.

    Attributes:
        files: the files, in the order they are fetched.
        kind: "dataset": the files go to `--to DIR`, else `default_dir(folder)`, and `fetch`
            returns the folder; "weights": one file into `--to DIR`, else `weights_dir()`, and
            `fetch` returns the file.
        folder: the dataset whose default folder it shares (stacked-mnist reads MNIST's files);
            None: its own name.
        about: one line for help texts.
    """

    files: tuple[RemoteFile, ...]
    kind: Literal["dataset", "weights"] = "dataset"
    folder: str | None = None
    about: str = ""


def _mirrored(bases: tuple[str, ...], files: dict[str, tuple[int, str]]) -> tuple[RemoteFile, ...]:
    """Files named `name` under each base URL; `files` maps name -> (size, sha256)."""
    return tuple(
        RemoteFile(name, sha, tuple(base + name for base in bases), size)
        for name, (size, sha) in files.items()
    )


def _drive(file_id: str) -> tuple[str, ...]:
    """A Google Drive file: the direct form (no virus-scan page for big files), then the classic."""
    return (
        f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t",
        f"https://drive.google.com/uc?export=download&id={file_id}",
    )


_MNIST = _mirrored(
    (
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    {
        "t10k-images-idx3-ubyte.gz": (
            1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            4542,
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
        "train-images-idx3-ubyte.gz": (
            9912422,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        "train-labels-idx1-ubyte.gz": (
            28881,
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
    },
)

_FASHION = _mirrored(
    (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
    {
        "t10k-images-idx3-ubyte.gz": (
            4422102,
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            5148,
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
        "train-images-idx3-ubyte.gz": (
            26421880,
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        "train-labels-idx1-ubyte.gz": (
            29515,
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
    },
)

_CIFAR10 = RemoteFile(
    "cifar-10-binary.tar.gz",
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
    170052171,
    extract="cifar-10-batches-bin",
    contents=(
        *(f"data_batch_{i}.bin" for i in range(1, 6)),
        "test_batch.bin",
        "batches.meta.txt",
        "readme.html",
    ),
)

_CIFAR100 = RemoteFile(
    "cifar-100-binary.tar.gz",
    "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
    ("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",),
    168513733,
    extract="cifar-100-binary",
    contents=("train.bin", "test.bin", "coarse_label_names.txt", "fine_label_names.txt"),
)

_CELEBA = (
    RemoteFile(
        "img_align_celeba.zip",
        "46fb89443c578308acf364d7d379fe1b9efb793042c0af734b6112e4fd3a8c74",
        _drive("0B7EVK8r0v71pZjFTYXZWM3FlRnM"),
        1443490838,
        extract="img_align_celeba",
        contents=("000001.jpg", "202599.jpg"),  # the first and last of 202,599
    ),
    RemoteFile(
        "list_eval_partition.txt",
        "fc955bcb3ef8fbdf7d5640d9a8693a8431b5f2ee291a5c1449a1549e7e073fe7",
        _drive("0B7EVK8r0v71pY0NSMzRuSXJEVkk"),
        2836386,
    ),
    RemoteFile(
        "list_attr_celeba.txt",
        "f0e5da289d5ccf75ffe8811132694922b60f2af59256ed362afa03fefba324d0",
        _drive("0B7EVK8r0v71pblRyaVFSWGxPY0U"),
        26721026,
    ),
)

# the FID network's weights: gankit.metrics.inception checks loaded files against this hash
INCEPTION_WEIGHTS = RemoteFile(
    "pt_inception-2015-12-05-6726825d.pth",
    "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
    (
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
        "weights-inception-2015-12-05-6726825d.pth",
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
        "pt_inception-2015-12-05-6726825d.pth",
    ),
)

SOURCES: Mapping[str, Fetchable] = MappingProxyType(
    {
        "mnist": Fetchable(_MNIST, about="MNIST digits, the four IDX .gz files"),
        "fashion-mnist": Fetchable(_FASHION, about="Fashion-MNIST, the four IDX .gz files"),
        "cifar10": Fetchable((_CIFAR10,), about="CIFAR-10, binary version"),
        "cifar100": Fetchable((_CIFAR100,), about="CIFAR-100, binary version"),
        "celeba": Fetchable(_CELEBA, about="CelebA, aligned and cropped faces, with lists"),
        "stacked-mnist": Fetchable(_MNIST, folder="mnist", about="MNIST's files (in its folder)"),
        "inception": Fetchable(
            (INCEPTION_WEIGHTS,), kind="weights", about="the FID Inception network's weights"
        ),
    }
)

FETCHABLE: tuple[str, ...] = tuple(SOURCES)


class _SourceFailed(Exception):
    """One URL did not give the file; the message is the reason."""


class _BadArchive(Exception):
    """An archive that cannot be read or that holds something unsafe; the message says what."""


def fetch(
    name: str,
    to: str | Path | None = None,
    *,
    progress: bool = True,
    sources: Mapping[str, Fetchable] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download `name` (one of `FETCHABLE`) and return its folder (the file, for weights).

    Args:
        name: what to fetch, e.g. "mnist", "cifar10", "inception".
        to: the folder to put it in; None: `default_dir(NAME)` (`weights_dir()` for weights).
        progress: show a progress bar per download (on a terminal).
        sources: the table to fetch from instead of `SOURCES` (for tests and private mirrors).
        timeout: seconds to wait for a connection or for the next bytes before a source counts
            as dead.

    Raises:
        GankitError: an unknown name, an incomplete folder in the way, a file that no source
            gave, or an archive that cannot be extracted safely.
        WriteError: the target cannot be written (no space left, read-only, ...).
    """
    entry = _entry(name, SOURCES if sources is None else sources)
    folder = Path(to).expanduser() if to is not None else _default_folder(name, entry)
    _check_targets(entry, folder)
    make_dirs(folder)
    for remote in entry.files:
        _fetch_file(remote, folder, progress=progress, timeout=timeout)
    if entry.kind == "weights":
        path = folder / entry.files[0].name
        log.info("%s: the weights are in %s", name, path)
        return path
    spec = name if to is None else f"{name}:{folder}"
    log.info("%s is in %s; use it with --data %s", name, folder, spec)
    return folder


def describe_sources(name: str, sources: Mapping[str, Fetchable] | None = None) -> list[str]:
    """One line per file of `name`: its name, size, SHA-256 prefix and URLs (for help texts)."""
    entry = _entry(name, SOURCES if sources is None else sources)
    lines = []
    for remote in entry.files:
        size = "size unknown" if remote.size is None else human_bytes(remote.size)
        urls = ", ".join(remote.urls)
        lines.append(f"{remote.name} ({size}, sha256 {remote.sha256[:12]}…): {urls}")
    return lines


def _entry(name: str, table: Mapping[str, Fetchable]) -> Fetchable:
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name.lower(), list(table), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise GankitError(f"cannot fetch {name!r}: {hint}fetchable are {', '.join(table)}")


def _default_folder(name: str, entry: Fetchable) -> Path:
    return weights_dir() if entry.kind == "weights" else default_dir(entry.folder or name)


def _check_targets(entry: Fetchable, folder: Path) -> None:
    """Refuse, before downloading anything, where an incomplete folder holds an archive's place."""
    for remote in entry.files:
        if remote.extract is None:
            continue
        target = folder / remote.extract
        if target.exists() and not _complete(target, remote):
            missing = _missing(target, remote)
            what = f"lacks {missing}" if missing else "is not a folder"
            raise GankitError(
                f"{target} exists but {what}: it is not a complete copy of {remote.name}; "
                "move or delete it, then fetch again"
            )


def _complete(target: Path, remote: RemoteFile) -> bool:
    return target.is_dir() and _missing(target, remote) is None


def _missing(target: Path, remote: RemoteFile) -> str | None:
    """The first of `remote.contents` that `target` lacks, or None."""
    return next((c for c in remote.contents if not (target / c).is_file()), None)


def _fetch_file(remote: RemoteFile, folder: Path, *, progress: bool, timeout: float) -> None:
    """Put `remote` into `folder`, extracted if it is an archive."""
    final = folder / remote.name
    if remote.extract is not None and _complete(folder / remote.extract, remote):
        log.info("%s: already present", folder / remote.extract)
        return
    if _verified(final, remote):
        log.info("%s: already present (SHA-256 checked)", final)
    else:
        _download(remote, final, progress=progress, timeout=timeout)
    if remote.extract is not None:
        _extract(final, folder, remote)


def _verified(final: Path, remote: RemoteFile) -> bool:
    """Whether `final` exists with `remote`'s size and SHA-256 (a warning when it differs)."""
    if not final.is_file():
        return False
    if _problem(final, remote) is None:
        return True
    log.warning("%s exists but is not the expected file; downloading it again", final)
    return False


def _download(remote: RemoteFile, final: Path, *, progress: bool, timeout: float) -> None:
    """Download `remote` from its first source that gives it whole, onto `final`."""
    part = final.with_name(final.name + PART)
    failures = []
    for i, url in enumerate(remote.urls):
        try:
            _from_source(url, part, remote, progress=progress, timeout=timeout)
        except _SourceFailed as err:
            then = "trying the next source" if i + 1 < len(remote.urls) else "no source left"
            log.warning("%s: %s; %s", url, err, then)
            failures.append(f"  {url}: {err}")
            continue
        _commit(part, final)
        return
    kept = f"\nthe partial download is kept in {part}; fetch again to resume it"
    raise GankitError(
        f"could not download {remote.name}; every source failed:\n"
        + "\n".join(failures)
        + (kept if part.exists() else "")
    )


def _from_source(
    url: str, part: Path, remote: RemoteFile, *, progress: bool, timeout: float
) -> None:
    """Complete `part` from `url` and check it. A resumed download that fails the check is
    downloaded again from the start (its first bytes may have come from another source); a bad
    `.part` is deleted, never resumed."""
    problem = "no attempt made"
    for _ in range(2):
        start, html = _transfer(url, part, remote, progress=progress, timeout=timeout)
        found = _problem(part, remote)
        if found is None:
            return
        problem = WEB_PAGE if html else found
        part.unlink(missing_ok=True)
        if start == 0:
            break
        log.warning("%s: the resumed %s %s; downloading it again", url, remote.name, problem)
    raise _SourceFailed(problem)


def _problem(path: Path, remote: RemoteFile) -> str | None:
    """Why `path` is not `remote` (size or SHA-256), or None when it is."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return f"the file has {size:,} bytes, not {remote.size:,}"
    digest = file_sha256(path)
    if digest != remote.sha256:
        return f"checksum mismatch (SHA-256 {digest[:12]}…, not {remote.sha256[:12]}…)"
    return None


def _transfer(
    url: str, part: Path, remote: RemoteFile, *, progress: bool, timeout: float
) -> tuple[int, bool]:
    """Download the rest of `remote` from `url` into `part`: (the offset it started from,
    whether the server sent a web page). Raises `_SourceFailed` on a failed connection, an
    HTTP error or a body cut short; the bytes received so far stay in `part`."""
    have = part.stat().st_size if part.exists() else 0
    if remote.size is not None and have > remote.size:  # cannot be a prefix of the file
        part.unlink()
        have = 0
    if have and have == remote.size:  # whole already (a fetch stopped before the rename)
        return have, False
    headers = {"User-Agent": f"gankit/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and have:  # nothing after `have`: the check says whole or bad
            return have, False
        raise _SourceFailed(f"HTTP {err.code} {err.reason}") from None
    except (OSError, http.client.HTTPException) as err:  # URLError, refused, timed out
        raise _SourceFailed(f"cannot connect ({_reason(err)})") from None
    with response:
        start = _start(response, have, url)
        html = _copy(response, part, start, remote, progress=progress)
    return start, html


def _reason(err: Exception) -> str:
    reason = getattr(err, "reason", None) or err
    return "timed out" if isinstance(reason, TimeoutError) else str(reason)


def _start(response: http.client.HTTPResponse, have: int, url: str) -> int:
    """Where the body of `response` starts in the file: `have` for a 206, 0 otherwise."""
    if response.status != 206:
        if have:
            log.info("%s ignores range requests; downloading from the start", url)
        return 0
    content_range = response.headers.get("Content-Range") or ""
    found = re.match(r"bytes (\d+)-", content_range)
    if found is None or int(found.group(1)) != have:
        raise _SourceFailed(f"asked for bytes {have:,}-, got Content-Range {content_range!r}")
    return have


def _copy(
    response: http.client.HTTPResponse,
    part: Path,
    start: int,
    remote: RemoteFile,
    *,
    progress: bool,
) -> bool:
    """Write the body of `response` into `part` from offset `start`; whether it is HTML."""
    header = response.headers.get("Content-Length")
    length = int(header) if header and header.isdigit() else None
    expected = start + length if length is not None else remote.size
    html = "text/html" in (response.headers.get("Content-Type") or "")
    got = start
    bar = tqdm(
        total=expected, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
        desc=remote.name, disable=None if progress else True, leave=False,
    )  # fmt: skip
    with bar, writing(part), part.open("r+b" if start else "wb") as out:
        out.seek(start)
        out.truncate()
        while chunk := _read(response, got):
            html = html or (got == start and _looks_like_html(chunk))
            out.write(chunk)
            got += len(chunk)
            bar.update(len(chunk))
            if remote.size is not None and got > remote.size:
                return html  # longer than the file: the check says why
    if expected is not None and got < expected and not html:  # a page is complete but wrong
        raise _SourceFailed(f"the body ended after {got:,} of {expected:,} bytes")
    return html


def _read(response: http.client.HTTPResponse, got: int) -> bytes:
    try:
        return response.read(CHUNK)
    except (OSError, http.client.HTTPException) as err:  # reset, timed out, IncompleteRead
        raise _SourceFailed(f"the connection broke after {got:,} bytes ({_reason(err)})") from None


def _looks_like_html(chunk: bytes) -> bool:
    head = chunk[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _commit(part: Path, final: Path) -> None:
    """fsync `part` and rename it onto `final`, durably."""
    with writing(final):
        commit_file(part, final)


def _extract(archive: Path, folder: Path, remote: RemoteFile) -> None:
    """Extract `remote.extract` from the checked `archive` into `folder`, then delete it."""
    assert remote.extract is not None
    top = remote.extract
    _remove_stale(folder, top)
    tmp = folder / f".{top}.extract-{os.getpid()}"
    log.info("extracting %s", archive)
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        make_dirs(tmp)
        try:
            _unpack(archive, tmp)
        except _BadArchive as err:
            raise GankitError(f"cannot extract {archive}: {err}; nothing was extracted") from None
        unpacked = tmp / top
        if not unpacked.is_dir() or _missing(unpacked, remote) is not None:
            lack = _missing(unpacked, remote) if unpacked.is_dir() else ""
            raise GankitError(f"{archive} does not hold {top}/{lack}; nothing was extracted")
        with writing(folder / top):
            os.rename(unpacked, folder / top)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sync_dir(folder)
    archive.unlink()


def _remove_stale(folder: Path, top: str) -> None:
    """Remove temporary extraction folders left by fetches that were killed."""
    for leftover in folder.glob(f".{top}.extract-*"):
        pid = leftover.name.rpartition("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's process
        return True
    return True


def _unpack(archive: Path, root: Path) -> None:
    """Extract every member of `archive` into `root`; raises `_BadArchive` on an unreadable
    archive or an unsafe member (a link, a device, an absolute path, `..`)."""
    try:
        if archive.name.endswith(".zip"):
            _unpack_zip(archive, root)
        else:
            _unpack_tar(archive, root)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as err:
        raise _BadArchive(str(err)) from None  # writes raise WriteError, not OSError


def _unpack_tar(archive: Path, root: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            if not (member.isreg() or member.isdir()):
                raise _BadArchive(f"it holds {member.name!r}, which is not a file or a folder")
            dest = _member_path(root, member.name, folder=member.isdir())
            if member.isdir():
                make_dirs(dest)
                continue
            source = tar.extractfile(member)
            assert source is not None  # a regular file always has one
            _write_member(source, dest)


def _unpack_zip(archive: Path, root: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise _BadArchive(f"it holds {info.filename!r}, which is not a file or a folder")
            dest = _member_path(root, info.filename, folder=info.is_dir())
            if info.is_dir():
                make_dirs(dest)
                continue
            with zf.open(info) as source:
                _write_member(source, dest)


def _member_path(root: Path, name: str, *, folder: bool) -> Path:
    """Where member `name` goes under `root`, refusing any name that could leave it."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or PureWindowsPath(name).drive or "\\" in name:
        raise _BadArchive(f"it holds the absolute path {name!r}")
    if not pure.parts and folder:  # "./"
        return root
    if ".." in pure.parts or not pure.parts:
        raise _BadArchive(f"it holds {name!r}, which points outside its folder")
    dest = root.joinpath(*pure.parts)
    if not dest.resolve().is_relative_to(root.resolve()):  # belt and braces
        raise _BadArchive(f"it holds {name!r}, which points outside its folder")
    return dest


def _write_member(source: IO[bytes], dest: Path) -> None:
    make_dirs(dest.parent)
    with writing(dest), dest.open("wb") as out:
        for chunk in _chunks(source):
            out.write(chunk)


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    """The bytes of an archive member; a read error is `_BadArchive` (not an OSError, which
    `writing` would report as a failed write)."""
    try:
        while chunk := source.read(CHUNK):
            yield chunk
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as err:
        raise _BadArchive(str(err)) from None
