"""`gankit data fetch`'s downloads, against a local HTTP server on 127.0.0.1 that serves files in
their real formats (gzipped IDX, CIFAR's tar.gz, CelebA's zip) with Range support and
switchable faults. No test reaches beyond the loopback interface (an autouse guard refuses)."""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import re
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.data import fetch as fetch_module
from gankit.data.fetch import FETCHABLE, SOURCES, Fetchable, RemoteFile, describe_sources, fetch
from gankit.data.idx import read_idx, write_idx
from gankit.errors import GankitError, WriteError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PAGE = b"<!DOCTYPE html><html><body>Google Drive - Quota exceeded</body></html>"


# --- the guard and the server ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Refuse any connection (and any name lookup) beyond the loopback interface, and keep the
    default folders inside the test's own."""
    real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect

    def lookup(host, *args, **kwargs):
        if host not in LOOPBACK:
            raise AssertionError(f"a test tried to look up {host}")
        return real_lookup(host, *args, **kwargs)

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise AssertionError(f"a test tried to connect to {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "gankit-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@dataclass
class Server:
    """A served tree: URL path -> bytes; faults by URL path; every request's path and Range."""

    url: str
    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append((self.path, self.headers.get("Range")))
        fault, body = state.faults.get(self.path), state.files.get(self.path)
        if fault == "hang":
            state.release.wait(5)
            return
        if body is None or fault in ("404", "500"):
            self.send_error(int(fault or 404))
            return
        if fault == "html":
            self._send(200, PAGE, {"Content-Type": "text/html; charset=utf-8"})
            return
        if fault == "corrupt":
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        rng = self.headers.get("Range")
        if rng is None or fault == "ignore_range":
            self._send(200, body, {}, truncate=fault == "truncate")
            return
        start = int(re.fullmatch(r"bytes=(\d+)-", rng)[1])  # type: ignore[index]
        if start >= len(body):
            self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
            return
        content_range = f"bytes {start}-{len(body) - 1}/{len(body)}"
        self._send(
            206, body[start:], {"Content-Range": content_range}, truncate=fault == "truncate"
        )

    def _send(self, status: int, body: bytes, headers: dict, *, truncate: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/octet-stream"))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)  # then HTTP/1.0 closes


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    state: Server


@pytest.fixture(scope="module")
def httpd() -> Iterator[_HTTPServer]:
    """One server for the module (its shutdown takes a poll interval); each test gets a fresh
    tree through `server`."""
    httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(httpd: _HTTPServer) -> Iterator[Server]:
    httpd.state = Server(f"http://127.0.0.1:{httpd.server_address[1]}")
    try:
        yield httpd.state
    finally:
        httpd.state.release.set()  # ends a hanging answer


def dead_url() -> str:
    """A loopback URL with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/dead/"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def table(
    server: Server,
    files: dict[str, bytes],
    mirrors: tuple[str, ...] = ("a",),
    *,
    name: str = "set",
    extract: str | None = None,
    contents: tuple[str, ...] = (),
    kind: str = "dataset",
    sized: bool = True,
) -> dict[str, Fetchable]:
    """A one-entry source table serving `files` from each mirror: "a" -> SERVER/a/NAME; a mirror
    that is a URL (`dead_url()`) is used as the base as it is."""
    remotes = []
    for filename, data in files.items():
        urls = []
        for mirror in mirrors:
            base = mirror if "://" in mirror else f"{server.url}/{mirror}/"
            urls.append(base + filename)
            server.files[f"/{mirror}/{filename}"] = data
        size = len(data) if sized else None
        remotes.append(RemoteFile(filename, sha(data), tuple(urls), size, extract, contents))
    return {name: Fetchable(tuple(remotes), kind=kind)}  # type: ignore[arg-type]


# --- files in their real formats ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The four gzipped IDX files of a 30-image MNIST."""
    folder = tmp_path_factory.mktemp("mnist-src")
    rng = np.random.default_rng(0)
    arrays = {"images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)}
    arrays["labels-idx1-ubyte.gz"] = rng.integers(0, 10, 30, dtype=np.uint8)
    files = {}
    for split in ("train", "t10k"):
        for suffix, array in arrays.items():
            write_idx(folder / f"{split}-{suffix}", array)
            files[f"{split}-{suffix}"] = (folder / f"{split}-{suffix}").read_bytes()
    return files


CIFAR_TOP = "cifar-10-batches-bin"
CIFAR_BATCHES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    blob = io.BytesIO()
    with tarfile.open(fileobj=blob, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return blob.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def cifar_members() -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """CIFAR-10's binary layout: records of a label byte then 3×32×32 pixel bytes."""
    rng = np.random.default_rng(1)
    top = tarfile.TarInfo(CIFAR_TOP)
    top.type = tarfile.DIRTYPE
    members: list[tuple[tarfile.TarInfo, bytes | None]] = [(top, None)]
    for batch in CIFAR_BATCHES:
        records = rng.integers(0, 256, (4, 1 + 3 * 32 * 32), dtype=np.uint8)
        records[:, 0] %= 10
        members.append(_file(f"{CIFAR_TOP}/{batch}", records.tobytes()))
    members.append(_file(f"{CIFAR_TOP}/batches.meta.txt", b"airplane\nautomobile\n"))
    members.append(_file(f"{CIFAR_TOP}/readme.html", b"<html>CIFAR-10</html>"))
    return members


def cifar_table(server: Server, archive: bytes) -> dict[str, Fetchable]:
    contents = (*CIFAR_BATCHES, "batches.meta.txt", "readme.html")
    files = {"cifar-10-binary.tar.gz": archive}
    return table(server, files, name="cifar10", extract=CIFAR_TOP, contents=contents)


def celeba_zip() -> bytes:
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as zf:
        zf.writestr("img_align_celeba/", b"")
        for i in range(1, 4):
            jpeg = io.BytesIO()
            Image.new("RGB", (178, 218), (40 * i, 90, 160)).save(jpeg, "JPEG")
            zf.writestr(f"img_align_celeba/{i:06d}.jpg", jpeg.getvalue())
    return blob.getvalue()


def assert_no_leftovers(folder: Path) -> None:
    leftovers = [p.name for p in folder.rglob("*") if ".part" in p.name or ".extract-" in p.name]
    assert not leftovers


# --- success ------------------------------------------------------------------------------------


def test_mnist_lands_whole_and_verified(
    server: Server, mnist: dict[str, bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gankit")
    to = tmp_path / "mnist"
    assert fetch("set", to, progress=False, sources=table(server, mnist)) == to
    for filename, data in mnist.items():
        assert sha((to / filename).read_bytes()) == sha(data)
    assert read_idx(to / "train-images-idx3-ubyte.gz", ndim=3).shape == (30, 28, 28)
    assert_no_leftovers(to)
    assert f"--data set:{to}" in caplog.text


def test_refetching_complete_data_makes_no_request(
    server: Server, mnist: dict[str, bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sources = table(server, mnist)
    fetch("set", tmp_path, progress=False, sources=sources)
    server.requests.clear()
    caplog.set_level(logging.INFO, "gankit")
    fetch("set", tmp_path, progress=False, sources=sources)
    assert server.requests == []
    assert "already present" in caplog.text


def test_default_folder_and_spec(
    server: Server, mnist: dict[str, bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gankit")
    sources = table(server, mnist, name="stacked-mnist")
    sources["stacked-mnist"] = Fetchable(sources["stacked-mnist"].files, folder="mnist")
    folder = fetch("stacked-mnist", progress=False, sources=sources)
    assert folder == tmp_path / "gankit-data" / "mnist"  # stacked-mnist reads MNIST's files
    assert (folder / "t10k-labels-idx1-ubyte.gz").is_file()
    assert "--data stacked-mnist\n" in caplog.text + "\n"


def test_cifar_archive_is_extracted_into_place(server: Server, tmp_path: Path) -> None:
    sources = cifar_table(server, _tar(cifar_members()))
    fetch("cifar10", tmp_path, progress=False, sources=sources)
    top = tmp_path / CIFAR_TOP
    assert sorted(p.name for p in top.iterdir()) == sorted(
        [*CIFAR_BATCHES, "batches.meta.txt", "readme.html"]
    )
    assert (top / "data_batch_1.bin").stat().st_size == 4 * 3073
    assert not (tmp_path / "cifar-10-binary.tar.gz").exists()  # the archive is gone
    assert_no_leftovers(tmp_path)
    server.requests.clear()
    fetch("cifar10", tmp_path, progress=False, sources=sources)  # already present
    assert server.requests == []


def test_celeba_zip_and_lists(server: Server, tmp_path: Path) -> None:
    files = {"img_align_celeba.zip": celeba_zip()}
    sources = table(server, files, extract="img_align_celeba", contents=("000001.jpg",))
    lists = table(server, {"list_eval_partition.txt": b"000001.jpg 0\n000002.jpg 0\n"})
    sources["set"] = Fetchable(sources["set"].files + lists["set"].files)
    fetch("set", tmp_path, progress=False, sources=sources)
    with Image.open(tmp_path / "img_align_celeba" / "000003.jpg") as image:
        assert image.size == (178, 218)
    assert (tmp_path / "list_eval_partition.txt").read_text().startswith("000001.jpg")
    assert not (tmp_path / "img_align_celeba.zip").exists()
    assert_no_leftovers(tmp_path)


def test_an_incomplete_folder_in_the_way_is_refused_before_downloading(
    server: Server, tmp_path: Path
) -> None:
    (tmp_path / CIFAR_TOP).mkdir()
    (tmp_path / CIFAR_TOP / "data_batch_1.bin").write_bytes(b"x")
    with pytest.raises(GankitError, match=r"lacks data_batch_2\.bin"):
        fetch("cifar10", tmp_path, progress=False, sources=cifar_table(server, _tar([])))
    assert server.requests == []


# --- faults: fall back to the next mirror, or a clear error and no final file ------------------


@pytest.mark.parametrize("fault", ["corrupt", "404", "500", "truncate", "html"])
def test_a_failing_mirror_falls_back_to_the_next(
    fault: str, server: Server, mnist: dict[str, bytes], tmp_path: Path
) -> None:
    data = {"train-labels-idx1-ubyte.gz": mnist["train-labels-idx1-ubyte.gz"]}
    sources = table(server, data, ("a", "b"))
    server.faults["/a/train-labels-idx1-ubyte.gz"] = fault
    fetch("set", tmp_path, progress=False, sources=sources)
    assert sha((tmp_path / "train-labels-idx1-ubyte.gz").read_bytes()) == sha(*data.values())
    assert_no_leftovers(tmp_path)
    if fault == "truncate":  # the second mirror resumed where the first one stopped
        half = len(*data.values()) // 2
        assert server.requests[-1] == ("/b/train-labels-idx1-ubyte.gz", f"bytes={half}-")


def test_a_dead_mirror_falls_back_to_the_next(
    server: Server, mnist: dict[str, bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = dead_url()
    fetch("set", tmp_path, progress=False, sources=table(server, mnist, (dead, "a")))
    assert (tmp_path / "t10k-images-idx3-ubyte.gz").is_file()
    assert f"{dead}t10k-images-idx3-ubyte.gz: cannot connect" in caplog.text


def test_a_silent_mirror_times_out(server: Server, tmp_path: Path) -> None:
    sources = table(server, {"w.bin": b"weights"}, ("a", "b"))
    server.faults["/a/w.bin"] = "hang"
    fetch("set", tmp_path, progress=False, sources=sources, timeout=0.3)
    assert (tmp_path / "w.bin").read_bytes() == b"weights"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("corrupt", "checksum mismatch"),
        ("404", "HTTP 404"),
        ("truncate", "the body ended after"),
        ("html", "the server returned a web page rather than the file"),
    ],
)
def test_when_every_mirror_fails_the_error_names_each_url(
    fault: str, reason: str, server: Server, mnist: dict[str, bytes], tmp_path: Path
) -> None:
    name = "train-images-idx3-ubyte.gz"
    sources = table(server, {name: mnist[name]}, ("a", "b"))
    server.faults.update({f"/a/{name}": fault, f"/b/{name}": fault})
    with pytest.raises(GankitError, match="every source failed") as caught:
        fetch("set", tmp_path, progress=False, sources=sources)
    message = str(caught.value)
    for mirror in ("a", "b"):
        assert f"{server.url}/{mirror}/{name}: {reason}" in message
    assert not (tmp_path / name).exists()  # never a final name for a bad or partial file
    part = tmp_path / f"{name}.part"
    assert part.exists() == (fault == "truncate")  # a cut-off part is kept to resume; a bad one not
    if fault == "truncate":
        assert "fetch again to resume it" in message


def test_a_web_page_says_so(server: Server, tmp_path: Path) -> None:
    sources = table(server, {"img_align_celeba.zip": celeba_zip()})
    server.faults["/a/img_align_celeba.zip"] = "html"
    with pytest.raises(GankitError, match="returned a web page rather than the file"):
        fetch("set", tmp_path, progress=False, sources=sources)
    assert list(tmp_path.iterdir()) == []


# --- resuming ----------------------------------------------------------------------------------


def test_a_part_is_resumed_with_a_range_request(
    server: Server, mnist: dict[str, bytes], tmp_path: Path
) -> None:
    name = "train-images-idx3-ubyte.gz"
    data = mnist[name]
    half = len(data) // 2
    (tmp_path / f"{name}.part").write_bytes(data[:half])
    fetch("set", tmp_path, progress=False, sources=table(server, {name: data}))
    assert server.requests == [(f"/a/{name}", f"bytes={half}-")]
    assert (tmp_path / name).read_bytes() == data
    assert_no_leftovers(tmp_path)


def test_a_server_ignoring_range_restarts_cleanly(
    server: Server, mnist: dict[str, bytes], tmp_path: Path
) -> None:
    name = "train-images-idx3-ubyte.gz"
    data = mnist[name]
    (tmp_path / f"{name}.part").write_bytes(b"\0" * (len(data) // 2))  # wrong bytes, too
    sources = table(server, {name: data})
    server.faults[f"/a/{name}"] = "ignore_range"
    fetch("set", tmp_path, progress=False, sources=sources)
    assert server.requests == [(f"/a/{name}", f"bytes={len(data) // 2}-")]  # asked, got a 200
    assert (tmp_path / name).read_bytes() == data


def test_a_bad_part_is_downloaded_again_from_the_start(server: Server, tmp_path: Path) -> None:
    data = b"0123456789" * 100
    (tmp_path / "w.bin.part").write_bytes(b"X" * 500)  # not a prefix of the file
    fetch("set", tmp_path, progress=False, sources=table(server, {"w.bin": data}))
    assert server.requests == [("/a/w.bin", "bytes=500-"), ("/a/w.bin", None)]
    assert (tmp_path / "w.bin").read_bytes() == data


def test_416_on_a_whole_part_of_unknown_size_commits_it(server: Server, tmp_path: Path) -> None:
    data = b"inception weights"
    (tmp_path / "w.pth.part").write_bytes(data)
    sources = table(server, {"w.pth": data}, kind="weights", sized=False)
    assert fetch("set", tmp_path, progress=False, sources=sources) == tmp_path / "w.pth"
    assert server.requests == [("/a/w.pth", f"bytes={len(data)}-")]  # answered 416
    assert (tmp_path / "w.pth").read_bytes() == data


def test_weights_go_to_the_weights_folder(server: Server, tmp_path: Path) -> None:
    sources = table(server, {"w.pth": b"weights"}, kind="weights", sized=False)
    assert fetch("set", progress=False, sources=sources) == tmp_path / "gankit-data/weights/w.pth"


def test_an_interrupt_leaves_only_a_resumable_part(
    server: Server, mnist: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "train-images-idx3-ubyte.gz"
    sources = table(server, {name: mnist[name]})

    class Interrupted(fetch_module.tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(fetch_module, "CHUNK", 1000)
        patch.setattr(fetch_module, "tqdm", Interrupted)
        with pytest.raises(KeyboardInterrupt):
            fetch("set", tmp_path, progress=False, sources=sources)
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.part"]
    assert (tmp_path / f"{name}.part").stat().st_size == 1000
    fetch("set", tmp_path, progress=False, sources=sources)
    assert server.requests[-1] == (f"/a/{name}", "bytes=1000-")
    assert (tmp_path / name).read_bytes() == mnist[name]


# --- archives that would write outside their folder ---------------------------------------------


def _evil(kind: str, tmp_path: Path) -> tuple[tarfile.TarInfo, bytes | None]:
    if kind == "dotdot":
        return _file(f"{CIFAR_TOP}/../../../evil", b"owned")  # from DIR/.tmp/: tmp_path/evil
    if kind == "absolute":
        return _file(str(tmp_path / "evil"), b"owned")
    info = tarfile.TarInfo(f"{CIFAR_TOP}/link")
    info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
    info.linkname = str(tmp_path / "evil") if kind == "symlink" else "../evil"
    return info, None


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink"])
def test_an_unsafe_archive_is_refused_and_nothing_lands(
    kind: str, server: Server, tmp_path: Path
) -> None:
    to = tmp_path / "data"
    members = cifar_members()
    members.insert(2, _evil(kind, tmp_path))  # after a legitimate file
    with pytest.raises(GankitError, match="cannot extract"):
        fetch("cifar10", to, progress=False, sources=cifar_table(server, _tar(members)))
    assert not (tmp_path / "evil").exists()
    assert [p.name for p in to.iterdir()] == ["cifar-10-binary.tar.gz"]  # verified: kept


def test_an_archive_without_its_folder_is_refused(server: Server, tmp_path: Path) -> None:
    archive = _tar([_file("other/data_batch_1.bin", b"x")])
    with pytest.raises(GankitError, match=f"does not hold {CIFAR_TOP}/"):
        fetch("cifar10", tmp_path, progress=False, sources=cifar_table(server, archive))
    assert not (tmp_path / CIFAR_TOP).exists()
    assert_no_leftovers(tmp_path)


# --- names, the table, errors -----------------------------------------------------------------


def test_unknown_name_lists_the_fetchable_ones() -> None:
    with pytest.raises(GankitError, match="did you mean 'cifar10'") as caught:
        fetch("cifar-10")
    assert all(name in str(caught.value) for name in FETCHABLE)


def test_an_unwritable_target_is_a_write_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match="is a file, not a directory"):
        fetch("mnist", tmp_path / "file" / "mnist", progress=False)


def test_the_real_table() -> None:
    assert FETCHABLE == (
        "mnist",
        "fashion-mnist",
        "cifar10",
        "cifar100",
        "celeba",
        "stacked-mnist",
        "inception",
    )
    for entry in SOURCES.values():
        for remote in entry.files:
            assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256) and remote.urls
    assert SOURCES["stacked-mnist"].files == SOURCES["mnist"].files
    assert SOURCES["stacked-mnist"].folder == "mnist"
    mnist = {f.name: f for f in SOURCES["mnist"].files}
    assert mnist["train-images-idx3-ubyte.gz"].size == 9912422
    assert mnist["train-images-idx3-ubyte.gz"].urls[0].startswith("https://storage.googleapis")
    celeba = SOURCES["celeba"].files[0]
    assert celeba.urls[0].endswith("id=0B7EVK8r0v71pZjFTYXZWM3FlRnM&export=download&confirm=t")
    inception = SOURCES["inception"].files[0]
    assert inception.name == "pt_inception-2015-12-05-6726825d.pth" and inception.size is None
    lines = describe_sources("cifar10")
    assert lines == [
        "cifar-10-binary.tar.gz (170.1 MB, sha256 c4a38c50a1bc…): "
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    ]
    assert "size unknown" in describe_sources("inception")[0]


def test_the_guard_refuses_the_real_network(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"storage\.googleapis\.com"):
        fetch("mnist", tmp_path, progress=False)


def test_gzip_members_stay_readable(mnist: dict[str, bytes]) -> None:
    # the served IDX files are real gzip streams (what the reader of a fetched folder opens)
    assert gzip.decompress(mnist["t10k-labels-idx1-ubyte.gz"])[:4] == bytes([0, 0, 8, 1])


# --- the command, end to end ----------------------------------------------------------------------


def test_the_command_fetches_what_the_dataset_reads(
    server: Server,
    mnist: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`gankit data fetch mnist` puts the files where `--data mnist` looks, and `gankit list`
    says so; a bad name is one message and exit 2."""
    from gankit.cli import main
    from gankit.data import DataConfig, build_dataset

    served = table(server, mnist, name="mnist")["mnist"]
    monkeypatch.setattr(fetch_module, "SOURCES", {**SOURCES, "mnist": served})
    assert main(["list"]) == 0
    assert "[not present (gankit data fetch mnist)]" in capsys.readouterr().out
    assert main(["data", "fetch", "mnist", "--no-progress"]) == 0
    assert main(["list"]) == 0
    assert f"[present: {tmp_path / 'gankit-data' / 'mnist'}]" in capsys.readouterr().out
    test = build_dataset(DataConfig(spec="mnist", split="test"))
    assert len(test) == 30 and test.info.shape == (1, 28, 28)
    assert main(["data", "fetch", "mnits"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'mnist'" in err and "Traceback" not in err
