"""Scaling up: ProGAN, StyleGAN (v1 and v2), SAGAN and BigGAN — their parameter counts at the
papers' full scale, and a small-resolution training run of each here.

    python benchmarks/scaling.py            # writes benchmarks/results/scaling.md

The full-scale networks are built on PyTorch's meta device (shapes only, no memory, no
training). Every run trains with its digits preset (src/gankit/configs/MODEL-digits.yaml) through
`gankit train`, is scored by `gankit eval` with the shipped digits classifier, and leaves sample
grids: ProGAN's at every resolution it grew through, StyleGAN's style-mixing grid and truncation
sweep. Finished runs are kept in --work and reused; an interrupted run resumes.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from common import (
    HERE,
    RESULTS,
    cached,
    command,
    evaluate,
    job_options,
    machine,
    run,
    threads,
    train_or_resume,
)

FIGURES = RESULTS / "scaling"


# ---------------------------------------------------------------- full scale
@dataclass(frozen=True)
class FullScale:
    label: str
    model: str
    overrides: dict
    shape: tuple[int, int, int]
    classes: int
    paper_g: float | None  # millions
    paper_d: float | None
    paper_total: float | None
    source: str


FULL_SCALE = [
    FullScale(
        "ProGAN", "progan", {}, (3, 1024, 1024), 0, 23.1, 23.1, None,
        "Karras et al. 2018, Table 2 (CelebA-HQ 1024²)",
    ),
    FullScale(
        "StyleGAN", "stylegan", {}, (3, 1024, 1024), 0, 26.2, 23.1, None,
        "Karras et al. 2019, §2 (G: 26.2M); D is ProGAN's (23.1M)",
    ),
    FullScale(
        "StyleGAN2 (config F)", "stylegan", {"version": 2}, (3, 1024, 1024), 0, 30.37, 29.01,
        None, "official stylegan2-ada-pytorch network summary at 1024² (30,370,060 / 29,012,513)",
    ),
    FullScale(
        "SAGAN", "sagan", {}, (3, 128, 128), 1000, None, None, 81.5,
        "BigGAN paper, Table 1, row 1 (the SAGAN baseline at ch 64): G and D together",
    ),
    FullScale(
        "BigGAN", "biggan", {}, (3, 128, 128), 1000, 70.4, 88.0, None,
        "BigGAN at 128² (ch 96): G 70.4M, D 88.0M (BigGAN-PyTorch's counts; the paper's "
        "Table 1 gives 158.3M together)",
    ),
]  # fmt: skip


def count_full_scale(entry: FullScale) -> tuple[float, float]:
    """(G, D) parameters in millions of the model built at the paper's scale."""
    from gankit.data.base import DataInfo
    from gankit.models import MODELS

    cls = MODELS.get(entry.model)
    overrides = dict(entry.overrides)
    if entry.model in ("sagan", "biggan"):  # no shape changes; far faster to build
        overrides.update(init="default", g_spectral_norm=False, d_spectral_norm=False)
    names = tuple(str(i) for i in range(entry.classes)) if entry.classes else ()
    info = DataInfo("paper", "image", entry.shape, entry.classes, names)
    with torch.device("meta"):
        model = cls(cls.Config(**overrides), info)
    g = sum(p.numel() for p in model.G.parameters()) / 1e6
    d = sum(p.numel() for p in model.D.parameters()) / 1e6
    return g, d


def ratio(ours: float, paper: float | None) -> str:
    return "" if paper is None else f"{ours / paper:.3f}"


def full_scale_table() -> list[str]:
    lines = [
        "| model | at | G (ours) | D (ours) | paper G | paper D | ours / paper | source |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for e in FULL_SCALE:
        g, d = count_full_scale(e)
        side = f"{e.shape[-1]}²" + (f", {e.classes} classes" if e.classes else "")
        if e.paper_total is not None:
            paper_g, paper_d = "—", "—"
            ratios = f"G+D {ratio(g + d, e.paper_total)} (of {e.paper_total}M)"
        else:
            paper_g, paper_d = f"{e.paper_g}M", f"{e.paper_d}M"
            ratios = f"G {ratio(g, e.paper_g)}, D {ratio(d, e.paper_d)}"
        lines.append(
            f"| {e.label} | {side} | {g:.2f}M | {d:.2f}M | {paper_g} | {paper_d} | {ratios} "
            f"| {e.source} |"
        )
    return lines


# ---------------------------------------------------------------- small runs here
@dataclass(frozen=True)
class Job:
    label: str
    model: str
    sets: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        return self.label.lower().replace(" ", "-")


JOBS = [
    Job("ProGAN", "progan"),
    Job("StyleGAN", "stylegan"),
    Job("StyleGAN2", "stylegan", ("model.version=2",)),
    Job("SAGAN", "sagan"),
    Job("BigGAN", "biggan"),
]
METRICS = "fid,kid,is,prdc,ppl"


def one_run(work: Path, job: Job, seed: int, steps: int | None) -> tuple[list[str], dict]:
    out = work / f"{job.tag}-digits-{seed}"
    args = ["train", job.model, "--data", "digits", "--seed", str(seed), "--out", str(out)]
    if steps:
        args += ["--steps", str(steps)]
    for s in job.sets:
        args += ["--set", s]

    def compute() -> dict:
        seconds = train_or_resume([*args, "--no-progress"], out)
        return {"seconds": seconds, "threads": threads(), **evaluate(out, METRICS)}

    result = cached(out, compute, resumable=True)
    run(["sample", str(out), "--seed", "0", "-o", str(FIGURES / f"{job.tag}-samples.png")])
    return args, result


@torch.no_grad()
def progan_levels(run_dir: Path, figure: Path, n: int = 8) -> None:
    """One row per resolution ProGAN grew through: the same latents at every stable level."""
    import gankit
    from gankit.viz import save_samples

    handle = gankit.load(run_dir)
    model = handle.model
    z = handle.latents(list(range(n)))
    rows = [model.generate(z, level=level) for level in range(model.levels + 1)]
    save_samples(torch.cat(rows).float(), figure, handle.info, nrow=n)


@torch.no_grad()
def truncation_sweep(run_dir: Path, figure: Path, psis: list[float], seeds: int = 6) -> None:
    """One row per seed, one column per ψ (the same noise in every cell)."""
    import gankit
    from gankit.viz import save_samples

    handle = gankit.load(run_dir)
    cells = []
    for seed in range(seeds):
        for psi in psis:
            torch.manual_seed(0)
            cells.append(handle.sample(1, seed=seed, truncation=psi))
    save_samples(torch.cat(cells), figure, handle.info, nrow=len(psis))


PSIS = [1.0, 0.7, 0.5, 0.25, 0.0]


def extras(work: Path, job: Job, seed: int) -> list[str]:
    """The model's own pictures, as Markdown lines."""
    out = work / f"{job.tag}-digits-{seed}"
    lines = []
    if job.model == "progan":
        progan_levels(out, FIGURES / "progan-levels.png")
        lines += [
            "ProGAN, the same eight latents at every resolution it grew through (4×4 to 32×32, "
            "each shown upsampled):",
            "",
            "![ProGAN levels](scaling/progan-levels.png)",
            "",
        ]
    if job.model == "stylegan":
        mix = FIGURES / f"{job.tag}-mixing.png"
        cmd = ["mix", str(out), "--rows", "1,2,3,4", "--cols", "5,6,7,8,9", "-o"]
        run([*cmd, str(mix)])
        cmd.append(str(mix.relative_to(HERE.parent)))  # as run from the repository
        truncation_sweep(out, FIGURES / f"{job.tag}-truncation.png", PSIS)
        lines += [
            f"{job.label}, style mixing (`{command(cmd)}`): the top row shows the column seeds'",
            "samples (source A), the left column the row seeds' (source B); each cell takes the",
            "coarse styles (4²–8²) from its row and the rest from its column:",
            "",
            f"![{job.label} mixing](scaling/{job.tag}-mixing.png)",
            "",
            f"{job.label}, truncation: one row per seed, ψ = {', '.join(map(str, PSIS))} along",
            "the row (ψ = 0 is the average image w̄ for every seed):",
            "",
            f"![{job.label} truncation](scaling/{job.tag}-truncation.png)",
            "",
        ]
    return lines


def score_row(job: Job, args: list[str], r: dict) -> str:
    wall = f"{r['seconds'] / 60:.1f} min ({r['threads']} thr.)"
    return (
        f"| {job.label} | {r['step']} | {wall} | {r['fid']:.1f} ({r['fid_real']:.1f}) "
        f"| {r['kid']:.0f} ({r['kid_real']:.0f}) | {r['is']:.2f} ({r['is_real']:.2f}) "
        f"| {r['precision']:.2f} / {r['recall']:.2f} | {r['density']:.2f} / {r['coverage']:.2f} "
        f"| {r['ppl_full']:.0f} / {r['ppl_end']:.0f} |"
    )


def main() -> None:
    args = job_options(__doc__.splitlines()[0], "scaling")
    FIGURES.mkdir(parents=True, exist_ok=True)
    start, argv = time.perf_counter(), sys.argv[1:]
    lines = [
        "# Scaling up: ProGAN, StyleGAN, SAGAN, BigGAN",
        "",
        f"Machine: {machine()}. Made by `{' '.join(['python', 'benchmarks/scaling.py', *argv])}`",
        "(finished runs are reused: this page took {minutes} min; the runs' own times are below).",
        "",
        "## Parameters at the papers' full scale",
        "",
        "Built on the meta device with each model's default config (the paper's widths):",
        "",
        *full_scale_table(),
        "",
    ]
    jobs = [j for j in JOBS if not args.only or j.label in args.only]
    done = [(job, *one_run(args.work, job, args.seed, args.steps)) for job in jobs]
    lines += [
        "## Small runs here: digits at 32×32",
        "",
        "Each model's digits preset (its comment says how it departs from the paper); metrics",
        "on the held-out digits with the shipped classifier's features. FID (real floor), KID",
        "(real floor; unbiased, so it can be negative), IS (real), precision/recall,",
        "density/coverage, and perceptual path length in the classifier's features (full /",
        "end sampling; in w for StyleGAN, in z for the others: comparable within a model, not",
        "across spaces).",
        "",
        "| model | steps | wall time | FID ↓ (floor) | KID ↓ (floor) | IS ↑ (real) | P / R | D / C "
        "| PPL full / end |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
        *[score_row(job, a, r) for job, a, r in done],
        "",
        "Wall times are single-threaded runs on a machine that other work shared (BigGAN's",
        "with test runs on the second core), so they are upper bounds.",
        "",
        "BigGAN's first run used the paper's learning rates (G 5e-5, D 2e-4) for 2,000 steps and",
        "sampled its EMA generator with batch-norm statistics copied from the live one: FID 473",
        "(raw generator 270). Two changes followed: the EMA generator now gets standing",
        "statistics (re-estimated for the averaged weights, as BigGAN's authors do: FID 353 on",
        "that same checkpoint), and the digits preset takes SAGAN's rates (G 1e-4, D 4e-4) and",
        "3,000 steps, the run in the table.",
        "",
    ]
    for job, _, _ in done:
        what = "one row per class" if job.model in ("sagan", "biggan") else "samples"
        lines += [f"{job.label} ({what}, EMA weights where kept):", ""]
        lines += [f"![{job.label}](scaling/{job.tag}-samples.png)", ""]
        lines += extras(args.work, job, args.seed)
    lines += [
        "## GPU",
        "",
        "No GPU machine was lent to this issue (the device tool's `can_start_another` was false),",
        "so images per second with AMP at 64×64 and 128×128 and peak GPU memory are not measured.",
        "",
        "## Commands",
        "",
        "Each run is `gankit train ...`, then `gankit eval RUN --metrics " + METRICS + " --json`:",
        "",
        *[f"    {command(a)}" for _, a, _ in done],
        "",
    ]
    text = "\n".join(lines).replace("{minutes}", f"{(time.perf_counter() - start) / 60:.0f}")
    (RESULTS / "scaling.md").write_text(text)
    print(text)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
