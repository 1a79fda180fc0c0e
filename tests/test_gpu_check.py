"""benchmarks/gpu_check.py, prepared on the CPU: its --device cpu --tiny path runs end to end
(a model in each precision the CPU has, DDP with two gloo processes, StyleGAN2's timing) and
writes its report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


@pytest.mark.slow
def test_gpu_check_runs_on_the_cpu(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    report = tmp_path / "report.md"
    args = ["--device", "cpu", "--tiny", "--models", "dcgan,stylegan", "--steps", "2"]
    args += ["--speed-steps", "6", "--work", str(tmp_path / "work"), "--report", str(report)]
    assert gpu_check.main(args) == 0
    text = report.read_text()
    assert "## Every model × precision: 4 of 4 pass" in text
    assert "2 processes (gloo), DCGAN on digits, 20 steps: pass" in text
    for side in (16, 32):
        for precision in ("fp32", "bf16"):
            assert f"| {side}² | {precision} | " in text and "FAIL" not in text
