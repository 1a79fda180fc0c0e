"""Conditional and InfoGAN quality, and classifier-FID of every image model on `digits`.

    python benchmarks/classic.py            # writes benchmarks/results/classic.md

Every model trains with its digits preset (src/gankit/configs/MODEL-digits.yaml); the metrics
come from `gankit eval` with the shipped digits classifier. Finished runs are kept in --work and
reused when the script is run again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common import RESULTS, cached, command, evaluate, machine, run, threads

FIGURES = RESULTS / "classic"
MODELS = ["gan", "cgan", "dcgan", "lsgan", "wgan", "wgan-gp", "infogan"]
EXTRA = {"cgan": ",class_acc", "infogan": ",purity"}


def one_run(work: Path, model: str, seed: int) -> tuple[list[str], dict]:
    out = work / f"{model}-digits-{seed}"
    args = ["train", model, "--data", "digits", "--seed", str(seed), "--out", str(out)]

    def compute() -> dict:
        seconds, _ = run([*args, "--no-progress"])
        scores = evaluate(out, "fid,is,modes" + EXTRA.get(model, ""))
        figure = FIGURES / f"{model}-digits-seed{seed}.png"
        if model == "infogan":
            run(["sample", str(out), "--vary-code", "c1", "-n", "10", "-o", str(figure)])
        else:  # cgan: one row per class
            run(["sample", str(out), "-o", str(figure)])
        return {"seconds": seconds, "threads": threads(), **scores}

    result = cached(out, compute)
    result["resolution"] = gankit_resolution(out)
    return args, result


def gankit_resolution(run_dir: Path) -> int:
    """The image side a run trained at (from its resolved config)."""
    import yaml

    return int(yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["resolution"])


def latent_tools(work: Path, seed: int, models: list[str]) -> list[tuple[str, list[str], str]]:
    """Pictures of the latent tools on the trained runs: (caption, command, file name)."""
    wanted = [
        (
            "dcgan",
            "Spherical interpolation through four seeds",
            ["interpolate", "--seeds", "0,1,2,3", "--steps", "8", "--slerp"],
            "dcgan-slerp.png",
        ),
        (
            "dcgan",
            "Vector arithmetic: mean(seeds 0-2) − mean(3-5) + mean(6-8), with 8 noisy variations",
            ["arithmetic", "--a", "0,1,2", "--b", "3,4,5", "--c", "6,7,8"],
            "dcgan-arithmetic.png",
        ),
        ("cgan", "CGAN, class 3 only", ["sample", "--class", "3", "-n", "32"], "cgan-class3.png"),
        (
            "infogan",
            "InfoGAN, continuous code c2 swept from −2 to 2",
            ["sample", "--vary-code", "c2", "-n", "8"],
            "infogan-c2.png",
        ),
    ]
    out = []
    for model, caption, cmd, name in wanted:
        if model not in models:
            continue
        figure = os.path.relpath(FIGURES / name)
        full = [cmd[0], str(work / f"{model}-digits-{seed}"), *cmd[1:], "-o", figure]
        run(full)
        out.append((caption, full, name))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks/runs/classic"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=MODELS)
    args = parser.parse_args()
    FIGURES.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = [(m, *one_run(args.work, m, args.seed)) for m in args.models]
    lines = [
        "# The classic family on digits: conditional accuracy, InfoGAN purity, classifier-FID",
        "",
        f"Machine: {machine()}. Made by `python benchmarks/classic.py {' '.join(sys.argv[1:])}`",
        f"in {(time.perf_counter() - start) / 60:.0f} min (finished runs are reused). One seed",
        f"({args.seed}) per model; features and classes from the shipped digits classifier.",
        "",
        "| model | resolution | steps | wall time | classifier-FID ↓ (real floor) | IS ↑ (real) "
        "| classes covered | other |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for model, _, r in rows:
        other = []
        if "class_acc" in r:
            other.append(f"class accuracy **{100 * r['class_acc']:.1f}%**")
        if "purity" in r:
            majority = 100 * r["purity_majority"]
            other.append(f"c1 purity **{100 * r['purity']:.1f}%** (majority {majority:.1f}%)")
        lines.append(
            f"| {model} | {r['resolution']} | {r['step']} | {r['seconds']:.0f} s "
            f"({r['threads']} thr.) | {r['fid']:.1f} ({r['fid_real']:.1f}) | "
            f"{r['is']:.2f} ({r['is_real']:.2f}) | {r['modes']:.0f} of 10 | {'; '.join(other)} |"
        )
    lines += [
        "",
        "The real floor is the same FID between the training and held-out digits at the model's",
        "resolution (the MLP models see the digits at their native 8×8).",
        "",
        "Class accuracy: samples of each asked class, read by the classifier (target ≥ 95%).",
        "Purity: samples drawn with each value of InfoGAN's categorical code c1, read by the",
        "classifier; the best one-to-one matching of code values to digits (target ≥ 80%).",
        "",
    ]
    for model, _, _ in rows:
        what = "c1 swept along each row" if model == "infogan" else "samples"
        if model == "cgan":
            what = "one row per class"
        lines += [
            f"{model} ({what}):",
            "",
            f"![{model}](classic/{model}-digits-seed{args.seed}.png)",
            "",
        ]
    tools = latent_tools(args.work, args.seed, args.models)
    if tools:
        lines += ["## Latent tools on these runs", ""]
        for caption, cmd, name in tools:
            lines += [f"{caption} (`{command(cmd)}`):", "", f"![{caption}](classic/{name})", ""]
    lines += ["## Commands", "", *[f"    {command(c)}" for _, c, _ in rows], ""]
    (RESULTS / "classic.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
