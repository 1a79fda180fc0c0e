"""GPU readiness: every model trains in fp32, bf16 and fp16 on CUDA, its checkpoint round-trips,
DDP runs under torchrun on the GPUs present, and StyleGAN2's speed against NVlabs' figures.

    python benchmarks/gpu_check.py                       # on a CUDA machine: the real check
    python benchmarks/gpu_check.py --device cpu --tiny   # the same script, small, on a CPU

What it does, in order (each part's result is a table in the report):

1. **Every model × precision.** Each of the 18 models trains a few steps on its built-in
   dataset (the test suite's datasets and resolutions; the paper's widths, or the test suite's
   tiny widths with --tiny) in fp32, bf16 (autocast) and fp16 (autocast with gradient scaling;
   CUDA only). A row passes when every logged value is finite, the newest checkpoint loads
   (`gankit.load`) and draws finite samples (or a finite translation), and the run resumes from
   it for one more step.
2. **DDP.** `torchrun --standalone --nproc_per_node N -m gankit train dcgan --data digits` with N
   the GPUs present (NCCL), or 2 gloo processes on a CPU; it passes when every rank exits 0 and
   the run's newest checkpoint is the last step.
3. **StyleGAN2 speed** at 64² and 128² (16² and 32² with --tiny), configured as StyleGAN2-ADA's
   `auto` config is for one GPU at those sides (batch 32, channel_base 16384, channel_max 512,
   a 2-layer mapping, lazy R1 and path length), for each precision: images/s and s/kimg from the
   Trainer's own timing (median over logged intervals after a warm-up), and peak GPU memory.
   NVlabs' published single-GPU figures at 128² (StyleGAN2-ADA's README): V100 12.8 s/kimg,
   A100 6.79 s/kimg. Theirs use custom CUDA kernels and fp16 in the 4 highest-resolution
   layers; gankit uses PyTorch's own ops and autocast.

The report goes to `--report` (default: benchmarks/results/gpu-check.md on CUDA, and
gpu-check-cpu.md beside it with --device cpu) with the machine, versions and this command.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.conftest: the suite's datasets and tiny widths
sys.path.insert(0, str(ROOT / "src"))  # runs from a source tree too (the GPU machine's copy)

import torch  # noqa: E402
from tests.conftest import TINY, Tiny, tiny_config  # noqa: E402

import gankit  # noqa: E402
from gankit.models import MODELS  # noqa: E402
from gankit.training.checkpoint import list_checkpoints  # noqa: E402
from gankit.training.config import RunConfig, resolve_run_config  # noqa: E402
from gankit.training.trainer import Trainer  # noqa: E402

NVLABS_128 = {"V100": 12.8, "A100": 6.79}  # s/kimg, StyleGAN2-ADA README, 1 GPU, 128²


def precisions(device: str) -> list[str]:
    return ["fp32", "bf16", "fp16"] if device == "cuda" else ["fp32", "bf16"]


def model_config(
    name: str, tiny: bool, steps: int, precision: str, device: str, **train: Any
) -> RunConfig:
    """The suite's dataset, resolution and batch for `name` (its tiny widths with `tiny`)."""
    t: Tiny = TINY[name]
    sets = t.sets if tiny else tuple(s for s in t.sets if not _is_width(s))
    shape = Tiny(t.data, sets, t.resolution, t.batch_size)
    return tiny_config(name, shape, steps=steps, precision=precision, device=device, **train)


def _is_width(setting: str) -> bool:
    """A tiny-width override (channels, hidden sizes, z width): dropped for the paper's widths;
    the others (ProGAN's phase length, CycleGAN's constant rate, ...) shape the schedule and
    stay."""
    key = setting.split("=", 1)[0].removeprefix("model.")
    words = ("channels", "hidden", "z_dim", "w_dim", "fc", "dense", "channel_", "fmap_", "dim")
    return any(w in key for w in words) or key in ("blocks", "mapping_layers")


def finite_logs(run: Path) -> tuple[bool, dict[str, float]]:
    last: dict[str, float] = {}
    ok = True
    for line in (run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if any(isinstance(v, int | float) and not math.isfinite(v) for v in record.values()):
            ok = False
        last = record
    return ok, last


def draws_finite(run: Path, device: str) -> bool:
    h = gankit.load(run, device=device)
    if h.model.directions:
        x = torch.rand(1, *h.info.shape) * 2 - 1
        out = h.translate(x)
    elif h.text_conditioned:
        out = h.sample(4, seed=0, text="a red circle")
    else:
        out = h.sample(4, seed=0)
    assert isinstance(out, torch.Tensor)
    return bool(torch.isfinite(out).all())


def check_models(work: Path, device: str, tiny: bool, steps: int, only: list[str]) -> list[dict]:
    rows = []
    for name in only:
        for precision in precisions(device):
            run = work / f"{name}-{precision}"
            row: dict[str, Any] = {"model": name, "precision": precision}
            start = time.perf_counter()
            try:
                Trainer(model_config(name, tiny, steps, precision, device), run_dir=run).fit()
                finite, last = finite_logs(run)
                drawn = draws_finite(run, device)
                more = gankit.train(resume=run, steps=steps + 1, train_options={"progress": False})
                row.update(
                    finite=finite,
                    draws=drawn,
                    resumed=more.step == steps + 1,
                    loss={k: round(v, 4) for k, v in last.items() if k.endswith("loss")},
                )
                row["ok"] = finite and drawn and row["resumed"]
            except Exception as err:  # a row fails; the check goes on
                row.update(ok=False, error=f"{type(err).__name__}: {err}".splitlines()[0][:300])
                traceback.print_exc()
            row["seconds"] = round(time.perf_counter() - start, 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def check_ddp(work: Path, device: str, tiny: bool) -> dict[str, Any]:
    gpus = torch.cuda.device_count() if device == "cuda" else 0
    procs = gpus if gpus else 2
    run = work / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
        str(procs), "-m", "gankit", "train", "dcgan", "--data", "digits", "--steps", "20",
        "--batch-size", "32", "--out", str(run), "--device", device, "--no-progress",
        "--set", "train.checkpoint_every=10",
    ]  # fmt: skip
    if tiny:
        cmd += ["--set", "model.g_channels=8", "--set", "model.d_channels=8", "--resolution", "16"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    env.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    steps = [s for s, _ in list_checkpoints(run / "checkpoints")]
    row = {
        "processes": procs,
        "backend": "nccl" if gpus else "gloo",
        "exit": proc.returncode,
        "checkpoints": steps,
        "ok": proc.returncode == 0 and steps[-1:] == [20],
        "seconds": round(time.perf_counter() - start, 1),
    }
    if not row["ok"]:
        row["log"] = (proc.stdout + proc.stderr)[-1500:]
    print(json.dumps(row), flush=True)
    return row


def stylegan_config(side: int, precision: str, device: str, tiny: bool, steps: int) -> RunConfig:
    sets = ["model.version=2", "model.mapping_layers=2", "data.channels=3"]
    if tiny:
        sets += [
            "model.channel_base=256",
            "model.channel_max=32",
            "model.z_dim=32",
            "model.w_dim=32",
        ]
    else:
        sets += ["model.channel_base=16384", "model.channel_max=512"]
    flags = {
        "train": {
            "steps": steps,
            "batch_size": 32,
            "progress": False,
            "log_every": 5,
            "sample_every": 0,
            "checkpoint_every": 0,
            "precision": precision,
            "device": device,
        },
        "data": {"resolution": side},
    }
    return resolve_run_config("stylegan", "digits", flags=flags, sets=sets)


def measure_stylegan(work: Path, device: str, tiny: bool, steps: int) -> list[dict]:
    rows = []
    for side in (16, 32) if tiny else (64, 128):
        for precision in precisions(device):
            row: dict[str, Any] = {"side": side, "precision": precision, "batch": 32}
            try:
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                config = stylegan_config(side, precision, device, tiny, steps)
                Trainer(config, run_dir=work / f"stylegan2-{side}-{precision}").fit()
                records = [
                    json.loads(line)
                    for line in (work / f"stylegan2-{side}-{precision}" / "metrics.jsonl").open()
                ]
                timed = [r["sec_per_step"] for r in records if r["step"] > steps // 3]
                sec = statistics.median(timed)
                row.update(
                    ok=True,
                    images_per_s=round(32 / sec, 1),
                    s_per_kimg=round(1000 * sec / 32, 2),
                    peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2)
                    if device == "cuda"
                    else None,
                    intervals=len(timed),
                )
            except Exception as err:
                row.update(ok=False, error=f"{type(err).__name__}: {err}".splitlines()[0][:300])
                traceback.print_exc()
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def machine(device: str) -> str:
    parts = [f"torch {torch.__version__}", f"Python {platform.python_version()}"]
    if device == "cuda":
        parts.insert(0, f"{torch.cuda.device_count()} × {torch.cuda.get_device_name(0)}")
        parts.append(f"CUDA {torch.version.cuda}")
    else:
        parts.insert(0, f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)")
    return ", ".join(parts)


def report(
    args: argparse.Namespace, models: list[dict], ddp: dict | None, speed: list[dict]
) -> str:
    command = (
        "python benchmarks/gpu_check.py"
        + (f" --device {args.device}" if args.device != "cuda" else "")
        + (" --tiny" if args.tiny else "")
    )
    passed = sum(r["ok"] for r in models)
    lines = [
        "# GPU readiness: every model in every precision, DDP, StyleGAN2's speed",
        "",
        f"Command: `{command}` (the script's docstring says what each part checks).",
        "",
        f"Machine: {machine(args.device)}.",
        "",
        f"## Every model × precision: {passed} of {len(models)} pass",
        "",
        f"{args.steps} steps each ({'tiny' if args.tiny else 'the papers’'} widths, the test "
        "suite's datasets); then the checkpoint is loaded and drawn from, and resumed for one "
        "more step.",
        "",
        "| model | precision | finite losses | draws | resumes | last losses | s | result |",
        "| --- | --- | :-: | :-: | :-: | --- | ---: | --- |",
    ]
    for r in models:
        mark = {True: "✓", False: "✗", None: "–"}
        losses = ", ".join(f"{k} {v:g}" for k, v in (r.get("loss") or {}).items())
        lines.append(
            f"| {r['model']} | {r['precision']} | {mark[r.get('finite')]} | "
            f"{mark[r.get('draws')]} | {mark[r.get('resumed')]} | {losses} | {r['seconds']} | "
            f"{'pass' if r['ok'] else 'FAIL: ' + r.get('error', '')} |"
        )
    if ddp is not None:
        lines += [
            "",
            "## DDP under torchrun",
            "",
            f"{ddp['processes']} process{'es' if ddp['processes'] != 1 else ''} "
            f"({ddp['backend']}), DCGAN on digits, 20 steps: "
            f"{'pass' if ddp['ok'] else 'FAIL'} (exit {ddp['exit']}, checkpoints at steps "
            f"{ddp['checkpoints']}, {ddp['seconds']} s).",
        ]
        if not ddp["ok"]:
            lines += ["", "```", ddp.get("log", ""), "```"]
    lines += [
        "",
        "## StyleGAN2 speed",
        "",
        "Batch 32, StyleGAN2-ADA's `auto` widths for one GPU, lazy R1 (every 16) and path "
        "length (every 4) included; the Trainer's own timing, median over logged intervals "
        "after the first third.",
        "",
        "| side | precision | images/s | s/kimg | peak memory (GiB) |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for r in speed:
        if r["ok"]:
            peak = "–" if r["peak_gib"] is None else r["peak_gib"]
            lines.append(
                f"| {r['side']}² | {r['precision']} | {r['images_per_s']} | {r['s_per_kimg']} "
                f"| {peak} |"
            )
        else:
            lines.append(f"| {r['side']}² | {r['precision']} | FAIL: {r['error']} | | |")
    lines += [
        "",
        "NVlabs' published figures (StyleGAN2-ADA, one GPU, 128²): "
        + ", ".join(f"{gpu} {s} s/kimg" for gpu, s in NVLABS_128.items())
        + ". Their code uses custom CUDA kernels and fp16 in the 4 highest-resolution layers.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--tiny", action="store_true", help="tiny widths and sides (a CPU test)")
    parser.add_argument("--steps", type=int, default=4, help="training steps per model (4)")
    parser.add_argument("--speed-steps", type=int, default=60, help="StyleGAN2 steps (60)")
    parser.add_argument("--models", help="comma-separated subset (default: all 18)")
    parser.add_argument("--no-ddp", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--work", type=Path, help="run folder (default: a temporary one)")
    parser.add_argument("--report", type=Path, help="the Markdown report's path")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; use --device cpu --tiny", file=sys.stderr)
        return 2
    only = args.models.split(",") if args.models else sorted(MODELS.names())
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    name = "gpu-check.md" if args.device == "cuda" else "gpu-check-cpu.md"
    path = args.report or ROOT / "benchmarks" / "results" / name
    models = check_models(work, args.device, args.tiny, args.steps, only)
    path.write_text(report(args, models, None, []))  # each part kept as soon as it is done
    ddp = None if args.no_ddp else check_ddp(work, args.device, args.tiny)
    path.write_text(report(args, models, ddp, []))
    speed = []
    if not args.no_speed:
        speed = measure_stylegan(work, args.device, args.tiny, args.speed_steps)
    text = report(args, models, ddp, speed)
    path.write_text(text)
    print(text)
    ok = all(r["ok"] for r in models) and (ddp is None or ddp["ok"]) and all(r["ok"] for r in speed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
