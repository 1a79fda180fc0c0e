"""benchmarks/speed.py end to end on its two cheapest cases: every row trains, the FLOPs are
counted (through a gradient penalty's double backward too) and the table is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "speed.py"


@pytest.mark.slow
def test_speed_benchmark_writes_its_table(tmp_path: Path) -> None:
    out = tmp_path / "speed.md"
    args = ["--only", "gan-ring8", "pytorch-gan", "--blocks", "1", "--steps", "1"]
    subprocess.run([sys.executable, str(SCRIPT), *args, "--out", str(out)], check=True)
    text = out.read_text()
    assert "Made by `python benchmarks/speed.py --only gan-ring8 pytorch-gan" in text
    for row in ("| gankit |", "| gankit, reuse_fake=true |", "| tutorial loop |"):
        assert row in text
    assert "| PyTorch-GAN's loop |" in text and "vs PyTorch-GAN's loop" in text
    assert text.count("GFLOP per step") == 2 and "waits for its batches" in text
