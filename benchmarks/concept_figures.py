"""The figures of the documentation's concept pages: the two generator losses of the original GAN
and their gradients, and animations of training on the 2-D mixtures (a GAN that collapses or
wanders on ring8 and grid25, and WGAN-GP on grid25 for contrast), one frame per checkpoint.

    python benchmarks/concept_figures.py
    python benchmarks/concept_figures.py --only ring8-gan --steps 2000

Writes benchmarks/results/concepts/ (generator-losses.png and a GIF per run) and
benchmarks/results/concepts.md. Each run trains with `gankit train` (one thread, every
checkpoint kept) into --work; a finished run is reused, and an interrupted one resumes.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from common import RESULTS, cached, command, job_options, machine, train_or_resume
from PIL import Image

import gankit
from gankit.data.points import MIXTURES
from gankit.files import atomic_write
from gankit.losses import minimax_g, nonsaturating_g
from gankit.metrics import mode_coverage

FIGURES = RESULTS / "concepts"
SAMPLES = 2500  # PacGAN scores 2,500 samples of the 2-D mixtures
SAMPLE_SEED = 0  # the same latents in every frame, so a frame differs only by training
FRAME_PX = 400  # GIF side: 4 inches at 100 dpi
FRAME_MS = 250
LAST_FRAME_MS = 2000  # hold the end before the GIF loops
VIEW = {"ring8": 1.6, "grid25": 6.0}  # half-width of the drawn square


@dataclass(frozen=True)
class Animation:
    label: str  # the run's directory; its GIF is LABEL-training.gif
    title: str
    model: str
    data: str
    steps: int
    frames: int  # checkpoints after step 0
    shows: str  # what the animation shows, for the results page
    sets: tuple[str, ...] = ()

    def args(self, out: Path, seed: int, steps: int) -> list[str]:
        every = max(1, steps // self.frames)
        args = [
            *("train", self.model, "--data", self.data, "--seed", str(seed), "--out", str(out)),
            *("--steps", str(steps), "--threads", "1", "--no-progress"),
            *("--set", f"train.checkpoint_every={every}", "--set", "train.keep_checkpoints=0"),
            *("--set", "train.sample_every=0"),
        ]
        for s in self.sets:
            args += ["--set", s]
        return args


# mode-collapse.md: on ring8 the minimax loss collapses (4.7 of 8 modes at step 5,000, the
# non-saturating loss 8); on grid25 the default non-saturating loss is PacGAN's GAN baseline
# (15.7 of 25 modes). WGAN-GP costs ~6x a GAN step (5 critic steps, batches of 256).
ANIMATIONS = [
    Animation(
        "ring8-gan",
        "GAN (minimax) on ring8",
        "gan",
        "ring8",
        3000,
        25,
        "G reaches every mode at times but does not hold them: D pushes its mass from mode to "
        "mode, so the modes covered rise and fall from frame to frame.",
        ("model.loss=minimax",),
    ),
    Animation(
        "grid25-gan",
        "GAN (non-saturating) on grid25",
        "gan",
        "grid25",
        3000,
        25,
        "G's samples lie on a thin curved sheet that D drags across the grid; it passes through "
        "some modes and leaves the rest, and few samples sit on a mode.",
    ),
    Animation(
        "grid25-wgan-gp",
        "WGAN-GP on grid25",
        "wgan-gp",
        "grid25",
        3000,
        25,
        "The contrast: the critic spreads G over the whole square first, so it covers most modes "
        "in every frame, then gathers its mass onto them (the preset's 6,000 steps reach "
        "24 ± 1 modes with 22% high quality over three seeds, [core.md](core.md)).",
    ),
]


def generator_losses(path: Path) -> dict[str, float]:
    """generator-losses.png: minimax log(1 − D) and non-saturating −log D against D(G(z)), and
    their gradients with respect to D's logit, by autograd through gankit.losses. Returns the
    gradients at D(G(z)) = 0.01."""
    from matplotlib.figure import Figure

    p = torch.linspace(1e-3, 1 - 1e-3, 999, dtype=torch.float64)
    losses: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "minimax: log(1 − D)": minimax_g,
        "non-saturating: −log D": nonsaturating_g,
    }
    fig = Figure(figsize=(9, 3.6), dpi=100)
    left, right = fig.subplots(1, 2)
    at_001 = {}
    for (name, loss), colour in zip(losses.items(), ("tab:red", "tab:blue")):
        logits = torch.logit(p).requires_grad_(True)  # [N]; D(G(z)) = sigmoid(logit)
        # each point is its own batch of one, so the gradient is that point's own
        values = torch.stack([loss(logit.view(1)) for logit in logits])  # [N]
        values.sum().backward()
        grad = logits.grad.numpy()
        left.plot(p, values.detach(), color=colour, label=name)
        right.plot(p, grad, color=colour, label=name)
        at_001[name] = float(np.interp(0.01, p.numpy(), grad))
    for ax in (left, right):
        ax.axvspan(0, 0.1, color="0.9", zorder=0)
        ax.set_xlim(0, 1)
        ax.set_xlabel("D(G(z))")
        ax.grid(alpha=0.3)
    left.text(
        0.012,
        0.03,
        "a young G:\nD rejects its\nsamples",
        transform=left.transAxes,
        fontsize=8,
        va="bottom",
    )
    left.set_ylabel("generator loss (minimised)")
    left.set_title("The two generator losses")
    left.legend(fontsize=8, loc="upper right")
    right.set_ylabel("∂ loss / ∂ logit of D(G(z))")
    right.set_title("Their gradients with respect to D's logit")
    right.annotate(
        "minimax: → 0 as D → 0",
        (0.02, -0.02),
        (0.2, -0.25),
        fontsize=8,
        arrowprops={"arrowstyle": "->", "lw": 0.8},
    )
    right.set_ylim(-1.05, 0.05)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return at_001


def checkpoint_scores(run_dir: Path) -> list[tuple[int, np.ndarray, dict[str, float]]]:
    """(step, samples [SAMPLES, 2], PacGAN's mode scores) of every checkpoint of a run."""
    frames = []
    for path in sorted((run_dir / "checkpoints").glob("step-*.safetensors")):
        handle = gankit.load(path, device="cpu")
        points = handle.sample(SAMPLES, seed=SAMPLE_SEED)  # [SAMPLES, 2]
        scores = mode_coverage(points, handle.info)
        frames.append((handle.step, points.numpy(), scores))
    return frames


def frame(anim: Animation, step: int, points: np.ndarray, scores: dict[str, float]) -> Image.Image:
    """One GIF frame: the mixture's modes (circles of the 3σ high-quality radius, crosses at
    their centres) and the generated points, with the step and the scores in the title."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    mixture = MIXTURES[anim.data]
    half = VIEW[anim.data]
    fig = Figure(figsize=(FRAME_PX / 100, FRAME_PX / 100), dpi=100)
    ax = fig.subplots()
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.35, c="tab:blue", linewidths=0)
    ax.scatter(*mixture.means.T, s=25, marker="x", c="tab:red", linewidths=1)
    for centre in mixture.means:
        ax.add_patch(Circle(tuple(centre), 3 * mixture.std, fill=False, color="tab:red", lw=0.6))
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    ax.set_title(
        f"{anim.title}, step {step:,}\n{scores['modes']:.0f} of {scores['num_modes']:.0f} modes, "
        f"{scores['high_quality']:.1f}% high quality",
        fontsize=9,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return Image.open(buffer).convert("RGB")


def save_gif(images: list[Image.Image], path: Path) -> None:
    """A GIF that plays once through training, holds the last frame, then loops."""
    # one shared palette keeps the file small and the colours steady from frame to frame
    palette = images[-1].quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    atomic_write(
        path,
        lambda tmp: frames[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
            optimize=True,
        ),
    )


def animate(anim: Animation, work: Path, seed: int, steps: int | None) -> dict:
    """Train (or reuse) the run, score every checkpoint and write its GIF."""
    out = work / anim.label
    args = anim.args(out, seed, steps or anim.steps)
    trained = cached(
        out, lambda: {"seconds": train_or_resume(args, out), "threads": 1}, resumable=True
    )
    frames = checkpoint_scores(out)
    images = [frame(anim, step, points, scores) for step, points, scores in frames]
    path = FIGURES / f"{anim.label}-training.gif"
    save_gif(images, path)
    rows = [(step, scores) for step, _, scores in frames]
    print(f"{anim.label}: {_trajectory(rows)}", flush=True)
    return {"args": args, "seconds": trained["seconds"], "rows": rows, "bytes": path.stat().st_size}


def _trajectory(rows: list[tuple[int, dict[str, float]]]) -> str:
    return ", ".join(f"{step}: {s['modes']:.0f}" for step, s in rows)


def report(at_001: dict[str, float], done: dict[str, dict], wall: float) -> list[str]:
    minimax, nonsat = at_001.values()
    train_s = sum(r["seconds"] for r in done.values())
    args = "".join(f" {a}" for a in sys.argv[1:])
    lines = [
        "# Concept figures: the generator losses and training on the 2-D mixtures",
        "",
        f"Machine: {machine()}. Made by `python benchmarks/concept_figures.py{args}`: "
        f"{train_s:.0f} s of training in all (one run at a time, one thread each; a run",
        "finished in an earlier call is kept in benchmarks/runs/concepts and reused), and",
        f"{wall:.0f} s for this call (with the frames: every checkpoint loaded and sampled).",
        "",
        "## The generator losses",
        "",
        "![generator losses](concepts/generator-losses.png)",
        "",
        "Computed with `gankit.losses.minimax_g` and `nonsaturating_g` on D's logits, the",
        "gradients by autograd. Both losses have the same fixed point, but where D rejects G's",
        "samples (a young G, the shaded strip) the minimax gradient vanishes: at D(G(z)) = 0.01",
        f"it is {minimax:.3f} per unit of logit, against {nonsat:.3f} for the non-saturating",
        "loss (−D and −(1 − D) exactly).",
        "",
    ]
    for anim in ANIMATIONS:
        if anim.label in done:
            lines += animation_section(anim, done[anim.label])
    return lines


def animation_section(anim: Animation, r: dict) -> list[str]:
    rows = r["rows"]
    last_step, last = rows[-1]
    best = max(s["modes"] for _, s in rows)
    late = [s["modes"] for step, s in rows if step >= last_step / 2]
    lo, hi, mean = min(late), max(late), sum(late) / len(late)
    lines = [
        f"## {anim.title}",
        "",
        f"![{anim.title}](concepts/{anim.label}-training.gif)",
        "",
        anim.shows,
        "",
        f"`{command(r['args'])}` ({r['seconds']:.0f} s), then one frame per checkpoint:",
        f"{SAMPLES:,} samples of the same latents (`seed={SAMPLE_SEED}`), scored as in PacGAN",
        "(`gankit.metrics.mode_coverage`: a mode is covered when a sample lies within 3σ of it,",
        "the circles). Red crosses are the real modes, blue points the generated ones.",
        f"At step {last_step:,}: {last['modes']:.0f} of {last['num_modes']:.0f} modes, "
        f"{last['high_quality']:.1f}% high quality, reverse KL {last['kl']:.3f}; the most "
        f"modes in any frame: {best:.0f}; over the second half of training, {lo:.0f} to "
        f"{hi:.0f} modes (mean {mean:.1f}). GIF: {r['bytes'] / 1e6:.2f} MB, {len(rows)} frames.",
        "",
        "Modes covered per frame (step: modes):",
        "",
        _trajectory(rows) + ".",
        "",
    ]
    return lines


def main() -> None:
    start = time.perf_counter()
    opts = job_options(__doc__.splitlines()[0], "concepts")
    torch.set_num_threads(1)  # the 2-core benchmark machines run other work beside this
    FIGURES.mkdir(parents=True, exist_ok=True)
    at_001 = generator_losses(FIGURES / "generator-losses.png")
    done = {
        anim.label: animate(anim, opts.work, opts.seed, opts.steps)
        for anim in ANIMATIONS
        if not opts.only or anim.label in opts.only
    }
    lines = report(at_001, done, time.perf_counter() - start)
    (RESULTS / "concepts.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
