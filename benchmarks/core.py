"""The core issue's measurements: the README's main job, WGAN-GP on grid25 over seeds, and DCGAN's
classifier-FID on digits against the real-vs-real floor.

    python benchmarks/core.py            # ~1 hour on 2 CPU cores; writes benchmarks/results/core.md

Every number comes from the `gankit` command itself, run as a user would run it; the commands are
written into the report.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import torch
from common import RESULTS, cached, command, evaluate, machine, mean_se, run, threads

FIGURES = RESULTS / "core"


def main_job(work: Path) -> tuple[list[str], float, dict]:
    out = work / "dcgan-digits"
    args = ["train", "dcgan", "--data", "digits", "--out", str(out), "--no-progress"]

    def compute() -> list:
        seconds, _ = run(args)
        shutil.copy(sorted((out / "samples").glob("*.png"))[-1], FIGURES / "dcgan-digits.png")
        return [seconds, evaluate(out, "fid,kid,is,prdc,modes")]

    seconds, scores = cached(out, compute)
    return args, seconds, scores


def dcgan_curve(work: Path, steps: int) -> tuple[list[str], list[tuple[int, dict]]]:
    """The main job's recipe trained longer, scored every 1,000 steps."""
    out = work / "dcgan-digits-long"
    args = ["train", "dcgan", "--data", "digits", "--steps", str(steps), "--out", str(out)]
    args += ["--set", "train.checkpoint_every=1000", "--set", "train.keep_checkpoints=0"]

    def compute() -> list:
        run([*args, "--no-progress"])
        figure = FIGURES / f"dcgan-digits-{steps}.png"
        shutil.copy(out / "samples" / f"step-{steps:06d}.png", figure)
        checkpoints = out / "checkpoints"
        return [
            (step, evaluate(checkpoints / f"step-{step:06d}.json", "fid,is"))
            for step in range(1000, steps + 1, 1000)
        ]

    return args, cached(out, compute)


def wgan_gp_grid(
    work: Path, seeds: list[int], extra: tuple[str, ...] = (), tag: str = ""
) -> tuple[list[list[str]], list[float], list[dict]]:
    commands, seconds, scores, threads_used = [], [], [], []
    for seed in seeds:
        out = work / f"wgan-gp-grid25{tag}-{seed}"
        args = ["train", "wgan-gp", "--data", "grid25", "--seed", str(seed), "--out", str(out)]
        args += list(extra)
        figure = FIGURES / f"wgan-gp-grid25{tag}-seed{seed}.png"

        def compute(args: list[str] = args, out: Path = out, figure: Path = figure) -> list:
            s, _ = run([*args, "--no-progress"])
            run(["sample", str(out), "-n", "2500", "--seed", "0", "-o", str(figure)])
            return [s, evaluate(out, "modes,fid", n=2500), threads()]

        s, score, *rest = cached(out, compute)
        commands.append(args)
        seconds.append(s)
        threads_used.append(rest[0] if rest else torch.get_num_threads())
        scores.append(score)
    return commands, seconds, scores, threads_used


def grid_table(grid: tuple, seeds: list[int], tag: str) -> list[str]:
    g_cmds, g_secs, g_scores, g_threads = grid
    lines = [
        "| seed | wall time (threads) | modes (of 25) | high quality % | reverse KL "
        "| FID (coords) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for seed, s, sc, th in zip(seeds, g_secs, g_scores, g_threads):
        lines.append(
            f"| {seed} | {s:.0f} s ({th}) | {sc['modes']:.0f} | {sc['high_quality']:.1f} | "
            f"{sc['kl']:.3f} | {sc['fid']:.3f} |"
        )
    if len(seeds) > 1:
        lines.append(
            f"| **mean ± s.e.** | | {mean_se([s['modes'] for s in g_scores])} | "
            f"{mean_se([s['high_quality'] for s in g_scores])} | "
            f"{mean_se([s['kl'] for s in g_scores])} | {mean_se([s['fid'] for s in g_scores])} |"
        )
    lines += [
        "",
        "Commands (then `gankit eval RUN --metrics modes,fid -n 2500 --json` and",
        "`gankit sample RUN -n 2500 --seed 0 -o FIGURE.png`):",
        "",
        *[f"    {command(c)}" for c in g_cmds],
        "",
        " ".join(f"![seed {s}](core/wgan-gp-grid25{tag}-seed{s}.png)" for s in seeds),
        "",
    ]
    return lines


def report(main: tuple, curve: tuple, grid: tuple, paper: tuple, seeds: list[int]) -> str:
    args, seconds, scores = main
    lines = [
        "# Core results: the main job, WGAN-GP on grid25, DCGAN on digits",
        "",
        f"Machine: {machine()}. Made by `python benchmarks/core.py`.",
        "",
        "## The README's main job",
        "",
        f"`{command(args[:4])}` (run here as `{command(args)}`) took **{seconds:.0f} s** wall",
        f"time with torch's default {os.cpu_count()} threads, including start-up, the initial",
        "and final checkpoints and sample grids.",
        "",
        "![final sample grid](core/dcgan-digits.png)",
        "",
        "Its metrics (`gankit eval RUN --metrics fid,kid,is,prdc,modes`), against the 450 held-out",
        "digits, with the same statistics between the 1,347 training digits and the held-out ones",
        "as the real-vs-real floor:",
        "",
        "| metric | DCGAN | real vs real |",
        "| --- | ---: | ---: |",
        f"| classifier-FID ↓ | {scores['fid']:.1f} | {scores['fid_real']:.1f} |",
        f"| KID ↓ | {scores['kid']:.1f} ± {scores['kid_std']:.1f} | {scores['kid_real']:.1f} |",
        f"| IS (digits classifier) ↑ | {scores['is']:.2f} ± {scores['is_std']:.2f} | "
        f"{scores['is_real']:.2f} |",
        f"| precision / recall | {scores['precision']:.2f} / {scores['recall']:.2f} | |",
        f"| density / coverage | {scores['density']:.2f} / {scores['coverage']:.2f} | |",
        f"| digit classes covered (KL to uniform) | {scores['modes']:.0f} of 10 "
        f"({scores['kl']:.3f}) | |",
        "",
        "The same recipe trained longer (one run, seed 0, scored every 1,000",
        f"steps; `{command(curve[0])}`):",
        "",
        "| step | classifier-FID | IS |",
        "| ---: | ---: | ---: |",
        *[f"| {step} | {sc['fid']:.1f} | {sc['is']:.2f} |" for step, sc in curve[1]],
        "",
        f"![after {curve[1][-1][0]} steps](core/dcgan-digits-{curve[1][-1][0]}.png)",
        "",
        "## WGAN-GP on grid25 (PacGAN's scoring: 2,500 samples)",
        "",
        "The grid25 preset (the authors' toy networks, λ = 0.1 as in their toy script,",
        "6,000 steps). Wall times name the torch threads of each run (1: `OMP_NUM_THREADS=1`);",
        "these runs shared the 2 cores with other work for part or all of their time, so they",
        "are slower than alone (the preset alone: ~0.11 s a step with 2 threads, 11 minutes):",
        "",
        *grid_table(grid, seeds, ""),
        "The paper's λ = 10 with everything else equal, for comparison:",
        "",
        *grid_table(paper, seeds[:1], "-lambda10"),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks/runs"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--long-steps", type=int, default=6000)
    parser.add_argument("--fresh", action="store_true", help="discard finished runs in --work")
    args = parser.parse_args()
    os.chdir(RESULTS.parent.parent)  # commands in the report name paths relative to the repository
    FIGURES.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    main_result = main_job(args.work)
    curve = dcgan_curve(args.work, args.long_steps)
    grid = wgan_gp_grid(args.work, args.seeds)
    paper = wgan_gp_grid(
        args.work, args.seeds[:1], ("--set", "model.gp_weight=10"), tag="-lambda10"
    )
    text = report(main_result, curve, grid, paper, args.seeds)
    (RESULTS / "core.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
