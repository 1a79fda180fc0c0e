"""The image models on the real Fashion-MNIST: a check of the data, then one run per model.

    python benchmarks/fashion_mnist.py --jobs 2   # writes benchmarks/results/fashion-mnist.md

Reads the real Fashion-MNIST from `--data` (Debian's package dataset-fashion-mnist installs it in
/usr/share/datasets/fashion-mnist; `gankit data fetch fashion-mnist` fetches the same images).
First it checks what gankit loads from those files: 60,000 training and 10,000 test images of
1×28×28, 6,000 and 1,000 per class. Then each model trains with its Fashion-MNIST preset
(src/gankit/configs/MODEL-fashion-mnist.yaml, the sizes of its digits job) and `gankit eval`
scores it offline with the shipped Fashion-MNIST classifier against the 10,000 held-out images;
the real floor is the same metric between 10,000 training images and the held-out ones.
`--jobs 2` trains two models at once, each on one thread (their wall times are then those of one
thread on a machine whose other core is busy). Finished runs are kept in --work and reused.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import RESULTS, cached, command, evaluate, machine, run

FIGURES = RESULTS / "fashion-mnist"
MODELS = [
    "gan",
    "cgan",
    "dcgan",
    "lsgan",
    "wgan",
    "wgan-gp",
    "infogan",
    "sagan",
    "biggan",
    "progan",
    "stylegan",
]
CONDITIONAL = {"cgan", "sagan", "biggan"}


def check_data(path: str) -> list[str]:
    """Load the real files through gankit and check counts, shapes and class balance."""
    import torch

    from gankit.data import DataConfig, build_dataset
    from gankit.data.fetch import SOURCES
    from gankit.data.standard import find_standard
    from gankit.metrics.reference import fingerprint

    rows = []
    for split, count in (("train", 60_000), ("test", 10_000)):
        start = time.perf_counter()
        data = build_dataset(DataConfig(spec=f"fashion-mnist:{path}", split=split))
        seconds = time.perf_counter() - start
        per_class = torch.bincount(data.y, minlength=10).tolist()
        assert len(data) == count, (split, len(data))
        assert data.info.shape == (1, 28, 28), data.info.shape
        assert per_class == [count // 10] * 10, per_class
        x = data.x.float()
        rows.append(
            f"| {split} | {len(data):,} | {' × '.join(map(str, data.info.shape))} | "
            f"{min(per_class):,}–{max(per_class):,} | {x.mean().item() / 255:.4f} | "
            f"{seconds:.2f} s |"
        )
    folder = find_standard("fashion-mnist", path)
    names = [f.name for f in SOURCES["fashion-mnist"].files]
    return [
        f"`build_dataset(DataConfig(spec='fashion-mnist:{path}', split=...))` on the real files "
        f"(folder fingerprint {fingerprint(folder)[:12] if folder else '?'}):",
        "",
        "| split | images | shape | per class | mean pixel | load time |",
        "| --- | ---: | --- | --- | ---: | ---: |",
        *rows,
        "",
        f"Files: {', '.join(names)}. Debian's copies decode to the same images as the canonical",
        "ones but are re-compressed (a few bytes shorter), so their SHA-256 differ from the table",
        "`gankit data fetch` checks; reading a folder never checks hashes, fetching always does.",
        "",
    ]


def one_run(work: Path, model: str, data: str, seed: int, steps: int | None) -> dict:
    out = work / f"{model}-fashion-mnist-{seed}"
    args = ["train", model, "--data", f"fashion-mnist:{data}", "--seed", str(seed)]
    args += ["--out", str(out)] + (["--steps", str(steps)] if steps else [])

    def compute() -> dict:
        env_threads = os.environ.get("OMP_NUM_THREADS", "")
        seconds, _ = run([*args, "--no-progress"])
        metrics = "fid,kid,is,prdc" + (",class_acc" if model in CONDITIONAL else "")
        scores = evaluate(out, metrics)
        run(["sample", str(out), "-o", str(FIGURES / f"{model}.png")])
        return {"seconds": seconds, "threads": env_threads or "default", **scores}

    result = cached(out, compute)
    result["command"] = command(args)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/runs/fashion-mnist"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--steps", type=int, help="steps of every run (default: the presets')")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once (1 thread each)")
    args = parser.parse_args()
    FIGURES.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data_lines = check_data(args.data)
    if args.jobs > 1:
        os.environ["OMP_NUM_THREADS"] = "1"  # each training process: one thread
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(
            pool.map(lambda m: one_run(args.work, m, args.data, args.seed, args.steps), args.models)
        )
    lines = [
        "# The image models on Fashion-MNIST: classifier-FID, KID, IS, PRDC, class accuracy",
        "",
        f"Machine: {machine()}. Made by `python benchmarks/fashion_mnist.py "
        f"{' '.join(sys.argv[1:])}` (finished runs are reused: this page took "
        f"{(time.perf_counter() - start) / 60:.0f} min; the runs' own times are below).",
        "",
        "## The data",
        "",
        *data_lines,
        "## The models",
        "",
        f"One seed ({args.seed}) per model, each with its Fashion-MNIST preset (the sizes of its",
        "digits job). Scores by `gankit eval` with the shipped Fashion-MNIST classifier",
        "(`--features classifier`; 10,000 samples against the 10,000 held-out images); in",
        "brackets the real floor, the same metric between 10,000 training images and the held-out",
        "ones at the model's resolution. These are classifier features, not Inception's: they",
        "rank gankit's models on this data and are not comparable with published FIDs.",
        "KID is unbiased, so its floor can be below zero. Wall times are of one training",
        "thread while another training, and at times the test suite, shared the two cores:",
        "upper bounds.",
        "",
        "| model | resolution | steps | wall time | FID ↓ (real) | KID ↓ (real) "
        "| IS ↑ (real) | precision | recall | density | coverage | class acc. |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for model, r in zip(args.models, results):
        acc = f"{100 * r['class_acc']:.1f}%" if "class_acc" in r else ""
        side = int(r.get("resolution", 0)) or _resolution(
            args.work / f"{model}-fashion-mnist-{args.seed}"
        )
        lines.append(
            f"| {model} | {side} | {r['step']} | {r['seconds']:.0f} s ({r['threads']} thr.) | "
            f"{r['fid']:.1f} ({r['fid_real']:.2f}) | {r['kid']:.2f} "
            f"({r['kid_real']:.3f}) | {r['is']:.2f} ({r['is_real']:.2f}) | "
            f"{r['precision']:.3f} | {r['recall']:.3f} | {r['density']:.3f} | "
            f"{r['coverage']:.3f} | {acc} |"
        )
    lines += [""]
    for model in args.models:
        lines += [f"{model}:", "", f"![{model}](fashion-mnist/{model}.png)", ""]
    lines += ["## Commands", "", *[f"    {r['command']}" for r in results], ""]
    lines += [
        "each followed by `gankit eval RUN --metrics fid,kid,is,prdc[,class_acc] --json` and "
        "`gankit sample RUN -o FIGURE`.",
        "",
    ]
    (RESULTS / "fashion-mnist.md").write_text("\n".join(lines))
    print("\n".join(lines))


def _resolution(run_dir: Path) -> int:
    import yaml

    return int(yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["resolution"] or 28)


if __name__ == "__main__":
    main()
