"""Tiny trained runs of every kind of page section, shared by the UI tests (a few seconds)."""

from __future__ import annotations

import socket
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.training.config import resolve_run_config
from gankit.training.trainer import Trainer
from tests.conftest import TINY, tiny_config

# name -> (model, config overrides of the tiny config); each trains 4 steps, with a checkpoint
# and a sample grid every 2 steps, so the step slider has three positions
RUNS = {
    "dcgan": "dcgan",
    "cgan": "cgan",
    "gan-ring8": "gan",
    "stylegan": "stylegan",
    "infogan": "infogan",
    "cyclegan": "cyclegan",
    "srgan": "srgan",
    "progan": "progan",
    "stackgan": "stackgan",
    "cogan": "cogan",
    "pix2pix": "pix2pix",
    "discogan": "discogan",
}


def _train(model: str, out: Path) -> None:
    steps = 6 if model == "progan" else 4  # progan: through the fade-in to a stable 8×8
    config = tiny_config(model, steps=steps, sample_every=2, checkpoint_every=2, keep_checkpoints=0)
    Trainer(config, run_dir=out).fit()


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder: the runs above, a StackGAN Stage-II on the Stage-I, and one nested run."""
    root = tmp_path_factory.mktemp("ui-runs")
    for name, model in RUNS.items():
        _train(model, root / name)
    t = TINY["stackgan"]
    two = resolve_run_config(
        "stackgan",
        t.data,
        flags={
            "data": {"resolution": 4 * (t.resolution or 16), "size": 40},
            "train": {"steps": 2, "batch_size": 4, "progress": False, "samples": 4},
        },
        sets=[*t.sets, "model.stage=2", f"model.stage1={root / 'stackgan'}"],
    )
    Trainer(two, run_dir=root / "stackgan-2").fit()
    _train("dcgan", root / "sweep" / "seed-1")
    return root


def write_image(path: Path, size: tuple[int, int] = (24, 24), mode: str = "L") -> Path:
    rng = np.random.default_rng(0)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


def huge_png(path: Path, side: int = 20_000) -> Path:
    """A PNG whose header declares side×side pixels, with almost no data: a decoder that
    trusted it would allocate gigabytes; gankit must refuse it from the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])  # 8-bit grey
    data = zlib.compress(b"\x00" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """`gankit serve` on `root` in this process, on a free local port: its address."""
    from gankit.ui import serve

    demo, explorer, url = serve(root, port=free_port(), block=False, quiet=True)
    try:
        yield url.rstrip("/")
    finally:
        demo.close()
        explorer.close()
