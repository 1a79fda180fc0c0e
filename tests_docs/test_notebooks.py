"""The notebooks in docs/notebooks run top to bottom and produce what their text says.

Each notebook is executed with nbclient in a kernel of the interpreter running the tests (a
kernelspec written to a temporary JUPYTER_PATH, so a stray system-wide `python3` kernel is never
picked), then one extra cell reads a few of its variables back as JSON for the checks.
Run: `python -m pytest -q tests_docs/test_notebooks.py` (about 2-3 minutes on two CPU cores).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
KERNEL = "gankit-notebook-test"
CELL_TIMEOUT_S = 240  # one cell; the whole notebook should take well under 90 s
MARK = "@@gankit-test@@"


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JUPYTER_PATH holding a kernelspec that runs this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    return root


def run_notebook(
    name: str, probe: str, kernel_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict, float]:
    """Execute docs/notebooks/NAME, then `probe` (an expression giving a JSON-able dict) in the
    same kernel; returns (the probe's value, seconds taken)."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in book.cells:
        assert not cell.get("outputs"), f"{name} is committed with outputs: clear them"
    book.cells.append(
        nbformat.v4.new_code_cell(f"import json\nprint({MARK!r} + json.dumps({probe}))")
    )
    client = nbclient.NotebookClient(
        book,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    seconds = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in book.cells[-1].outputs if o.output_type == "stream")
    line = next(ln for ln in text.splitlines() if ln.startswith(MARK))
    print(f"{name}: {seconds:.1f} s")
    return json.loads(line[len(MARK) :]), seconds


@pytest.mark.slow
def test_gan_ring8(kernel_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got, _ = run_notebook(
        "gan-ring8.ipynb",
        '{"modes": modes_covered, "hq": scores["high_quality"], "log": len(log)}',
        kernel_path,
        monkeypatch,
    )
    # the non-saturating GAN reaches all 8 modes here (seed 0: 8 of 8, ~40% high quality)
    assert got["modes"] >= 7, got
    assert got["log"] == 80, got  # 4,000 steps logged every 50


@pytest.mark.slow
def test_dcgan_digits(kernel_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got, _ = run_notebook(
        "dcgan-digits.ipynb",
        '{"shape": list(samples.shape), "digits": int((counts > 0).sum()),'
        ' "walk": list(rows.shape)}',
        kernel_path,
        monkeypatch,
    )
    assert got["shape"] == [64, 1, 16, 16], got
    assert got["walk"] == [20, 1, 16, 16], got  # two paths of 10 frames
    # the classifier finds (nearly) every digit among the samples: no collapse onto a few
    assert got["digits"] >= 8, got


@pytest.mark.slow
def test_cyclegan_digits2glyphs(kernel_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got, _ = run_notebook(
        "cyclegan-digits2glyphs.ipynb",
        '{"shape": list(fake_b.shape), "content": scores["content_AtoB"],'
        ' "domain": scores["domain_AtoB"]}',
        kernel_path,
        monkeypatch,
    )
    assert got["shape"] == [10, 1, 32, 32], got
    # after 250 steps A→B already keeps the digit (~97%) and looks like a font (~99%)
    assert got["content"] >= 0.8, got
    assert got["domain"] >= 0.8, got
