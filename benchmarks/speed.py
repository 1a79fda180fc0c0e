"""gankit's training step against the loops a user would write by hand, and against the machine.

    python benchmarks/speed.py                   # writes benchmarks/results/speed.md
    python benchmarks/speed.py --only dcgan --blocks 3 --steps 2   # a quick look

For each case, every row trains in this one process, and the rows take turns: block after block
of a few steps each, so that whatever else the machine does weighs on all of them alike. Each row
is quoted as the median milliseconds per step over its blocks, and as a ratio to the PyTorch DCGAN
tutorial's loop on the same networks (above 1.0: faster than the tutorial's loop).

Rows:
- **gankit**: `Trainer.train_step` with the run's defaults; "before" is the order gankit had before
  issue 17 (`train.reuse_fake=false`: G runs again, on new latents and a new batch, for its own
  step; this order is bit-exact with the earlier code). The `channels_last` row is the other
  memory layout than the model's default, `--compile` the networks compiled.
- **tutorial loop**: the loop of PyTorch's DCGAN tutorial written over deep copies of gankit's
  networks: D's two backward passes (real, then `fake.detach()`), then G's step on the same
  `fake`; batches from a `DataLoader` over the same images, as the tutorial does. For WGAN-GP the
  critic's n_critic updates with the gradient penalty, for StyleGAN2 the same four phases (main
  G, lazy path length, main D, lazy R1) and losses, written out.
- **PyTorch-GAN**: the networks of eriklindernoren/PyTorch-GAN's `implementations/dcgan/dcgan.py`,
  re-created from their layer list, under that script's own loop (G's step first, then D's on
  `gen_imgs.detach()`) and under gankit's Trainer.
- **FLOP limit**: the floating-point operations of one step (forward and backward, counted with
  `torch.utils.flop_counter`'s formulas on the tutorial loop), divided by the fastest rate this
  machine reaches, with the same threads, on a large matrix product and on large convolutions of
  the kinds these networks use; "of limit" is that time over the row's. It is an estimate: a
  step whose convolutions run faster than the probes' can pass 100%.

Also measured, for gankit's row: the share of the step spent waiting for the next batch.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gankit  # noqa: F401  (first: it sets PyTorch's thread spinning as `gankit train` runs)

# isort: split
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import flop_registry

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine

from gankit import losses
from gankit.models.base import OptimConfig
from gankit.training.config import resolve_run_config
from gankit.training.trainer import Trainer

Step = Callable[[], None]


@dataclass
class Case:
    title: str
    model: str
    data: str
    flags: dict
    sets: list[str] = field(default_factory=list)


CASES = {
    "dcgan": Case(
        "DCGAN, digits 32×32, batch 64, the Radford widths (512 channels at 4×4)",
        "dcgan", "digits", {"data": {"resolution": 32}, "train": {"batch_size": 64}},
        ["model.g_channels=128", "model.d_channels=128"],
    ),
    "dcgan-main": Case(
        "DCGAN, the README's main job (`gankit train dcgan --data digits`: 32×32, batch 64, "
        "128 channels at 4×4)", "dcgan", "digits", {},
    ),
    "gan-ring8": Case(
        "GAN on ring8, PacGAN's MLPs (G 4×400 with batch norm, D 3×200 maxout), batch 100",
        "gan", "ring8", {},
    ),
    "wgan-gp": Case(
        "WGAN-GP, digits 32×32 (the preset: 128 channels at 4×4, layer norm), batch 64, n_critic 5",
        "wgan-gp", "digits", {},
    ),
    "pytorch-gan": Case(
        "PyTorch-GAN's DCGAN networks (`dcgan.py`: 128 channels at 8×8, 16–128 in D), digits "
        "32×32, batch 64", "dcgan", "digits", {},
    ),
    "stylegan2": Case(
        "StyleGAN2, digits 32×32 (the preset's widths), batch 32, lazy R1 /16 and path length /4",
        "stylegan", "digits", {}, ["model.version=2"],
    ),
}  # fmt: skip


# ----------------------------------------------------------------------------- the peers
def adam(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


def loader(trainer: Trainer) -> Callable[[], Tensor]:
    """Real batches the way the tutorial gets them: a shuffling DataLoader, restarted at the end
    of each epoch."""
    data = trainer.stream.dataset
    images = data.batch(torch.arange(len(data)))["x"]
    load = DataLoader(
        TensorDataset(images), batch_size=trainer.stream.batch_size, shuffle=True, drop_last=True
    )
    it = iter(load)

    def next_batch() -> Tensor:
        nonlocal it
        try:
            return next(it)[0]
        except StopIteration:
            it = iter(load)
            return next(it)[0]

    return next_batch


def plain(module: nn.Module) -> nn.Module:
    """A deep copy in the default memory layout (what a hand-written loop has)."""
    return copy.deepcopy(module).to(memory_format=torch.contiguous_format).train()


def hand_written(trainer: Trainer) -> tuple[Any, nn.Module, nn.Module, Optimizer, Optimizer]:
    """What a hand-written loop starts from: the model's config, plain copies of G and D, and
    their Adam optimisers with the model's settings."""
    cfg = trainer.model.config
    G, D = plain(trainer.model.G), plain(trainer.model.D)
    return cfg, G, D, adam(G.parameters(), cfg.g_opt), adam(D.parameters(), cfg.d_opt)


def tutorial_bce(trainer: Trainer) -> Step:
    """The PyTorch DCGAN tutorial's loop (BCE on logits; G's output reused)."""
    _, G, D, opt_g, opt_d = hand_written(trainer)
    batch, n, sample = loader(trainer), trainer.stream.batch_size, trainer.model.sample_latent

    def step() -> None:
        real = batch()
        D.zero_grad()
        F.softplus(-D(real)).mean().backward()
        fake = G(sample(n))
        F.softplus(D(fake.detach())).mean().backward()
        opt_d.step()
        G.zero_grad()
        F.softplus(-D(fake)).mean().backward()
        opt_g.step()

    return step


def wgan_gp_loop(trainer: Trainer) -> Step:
    """WGAN-GP's Algorithm 1 by hand: n_critic critic updates with the penalty, then G's."""
    cfg, G, D, opt_g, opt_d = hand_written(trainer)
    batch, n, sample = loader(trainer), trainer.stream.batch_size, trainer.model.sample_latent

    def step() -> None:
        for _ in range(cfg.n_critic):
            real = batch()
            with torch.no_grad():
                fake = G(sample(n))
            eps = torch.rand(n, 1, 1, 1)
            mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(mix).sum(), mix, create_graph=True)
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss = D(fake).mean() - D(real).mean() + cfg.gp_weight * penalty
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        loss = -D(G(sample(n))).mean()
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()

    return step


def stylegan2_loop(trainer: Trainer) -> Step:
    """StyleGAN2's four phases written out over a copy of the model (its networks, latents with
    style mixing, path-length and R1 penalties), stepped without the Trainer."""
    model = copy.deepcopy(trainer.model).to(memory_format=torch.contiguous_format)
    cfg = model.config
    opt_g, opt_d = adam(model.G.parameters(), cfg.g_opt), adam(model.D.parameters(), cfg.d_opt)
    batch, n = loader(trainer), trainer.stream.batch_size
    counter = iter(range(10**9))

    def update(opt: torch.optim.Optimizer, loss: Tensor) -> None:
        opt.zero_grad()
        loss.backward()
        opt.step()

    def step() -> None:
        i = next(counter)
        fake, _ = model._fake(n)
        update(opt_g, F.softplus(-model.D(fake)).mean())
        if model.pl_weight > 0 and i % cfg.pl_every == 0:
            update(opt_g, model._path_length_loss(max(n // cfg.pl_batch_shrink, 1))["loss"])
        real = batch()
        with torch.no_grad():
            fake, _ = model._fake(n, track_w=True)
        update(opt_d, losses.bce_d(model.D(real), model.D(fake)))
        if i % cfg.r1_every == 0:
            real = batch()
            scale = cfg.r1_gamma / 2 * cfg.r1_every
            update(opt_d, losses.r1_penalty(model.D, real) * scale)

    return step


# ------------------------------------------------------------------ PyTorch-GAN's dcgan.py
class PTGenerator(nn.Module):
    """PyTorch-GAN's DCGAN generator: a linear layer to 128 maps at R/4, then two
    upsample-conv3×3-BN(eps 0.8)-LeakyReLU stages (128, 64) and a conv3×3 to the image."""

    def __init__(self, z_dim: int, channels: int, size: int) -> None:
        super().__init__()
        self.init = size // 4
        self.l1 = nn.Linear(z_dim, 128 * self.init**2)
        self.conv = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, 1, 1),
            nn.BatchNorm2d(128, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, 1, 1),
            nn.BatchNorm2d(64, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, channels, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.conv(self.l1(z).view(z.shape[0], 128, self.init, self.init))


class PTDiscriminator(nn.Module):
    """PyTorch-GAN's DCGAN discriminator: four conv3×3 stride-2 blocks (16, 32, 64, 128) with
    LeakyReLU, Dropout2d(0.25) and BN(eps 0.8) on the middle two, then a linear layer. Returns
    logits [B] (the script's Sigmoid + BCELoss is the same loss as BCE on logits)."""

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = channels
        for c_out, bn in [(16, False), (32, True), (64, True), (128, False)]:
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout2d(0.25)]
            if bn:
                layers.append(nn.BatchNorm2d(c_out, 0.8))
            c_in = c_out
        self.model = nn.Sequential(*layers)
        self.adv = nn.Linear(128 * (size // 16) ** 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.adv(self.model(x).flatten(1)).squeeze(1)


def pytorch_gan_nets(trainer: Trainer) -> tuple[nn.Module, nn.Module]:
    info = trainer.model.info
    torch.manual_seed(0)
    G = PTGenerator(trainer.model.config.z_dim, info.shape[0], info.shape[-1])
    D = PTDiscriminator(info.shape[0], info.shape[-1])
    for m in [*G.modules(), *D.modules()]:  # the script's weights_init_normal
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


def pytorch_gan_loop(trainer: Trainer) -> Step:
    """The script's own loop: G's step on `gen_imgs`, then D's on real and `gen_imgs.detach()`
    with the loss halved."""
    G, D = pytorch_gan_nets(trainer)
    cfg = trainer.model.config
    opt_g, opt_d = adam(G.parameters(), cfg.g_opt), adam(D.parameters(), cfg.d_opt)
    batch, n, z_dim = loader(trainer), trainer.stream.batch_size, cfg.z_dim

    def step() -> None:
        real = batch()
        opt_g.zero_grad()
        gen = G(torch.randn(n, z_dim))
        F.softplus(-D(gen)).mean().backward()
        opt_g.step()
        opt_d.zero_grad()
        loss = 0.5 * (F.softplus(-D(real)).mean() + F.softplus(D(gen.detach())).mean())
        loss.backward()
        opt_d.step()

    return step


def with_networks(trainer: Trainer, G: nn.Module, D: nn.Module) -> Trainer:
    """`trainer` with its model's networks replaced (phases and optimisers rebuilt)."""
    trainer.model.G, trainer.model.D = G, D
    trainer.model.to(memory_format=trainer.memory_format)  # type: ignore[call-overload]
    trainer.phases = trainer.model.phases()
    trainer.optimizers = trainer._make_optimizers()
    trainer._phase_params, trainer._reused = trainer._plan_reuse(True)
    return trainer


# ----------------------------------------------------------------------------- measuring
def gankit_step(trainer: Trainer, waits: list[float] | None = None) -> Step:
    """Trainer.train_step, counting the seconds spent getting batches into `waits`."""
    if waits is not None:
        stream_next = trainer.stream.next

        def timed_next():
            start = time.perf_counter()
            out = stream_next()
            waits.append(time.perf_counter() - start)
            return out

        trainer.stream.next = timed_next  # type: ignore[method-assign]
    counter = iter(range(10**9))

    def step() -> None:
        trainer.train_step(next(counter))

    return step


def trainer_for(case: Case, **train) -> Trainer:
    flags = {**case.flags, "train": {**case.flags.get("train", {}), "progress": False, **train}}
    cfg = resolve_run_config(case.model, case.data, flags=flags, sets=case.sets)
    return Trainer(cfg, write=False)


def machine_rates(repeats: int = 9) -> dict[str, float]:
    """Nominal FLOP/s (best of `repeats`), with this process's threads, of a 2048² fp32 matrix
    product and of the convolutions these networks are made of: a 3×3 (batch 64, 256 → 256
    channels, 16×16) and DCGAN's 4×4 stride-2 convolution and its transpose (256 ↔ 512
    channels, 16×16 ↔ 8×8). The fastest is the step's limit. oneDNN's convolutions can beat the
    matrix product in nominal FLOPs: a transform that saves multiplications still counts the
    full product."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    x3, w3 = torch.randn(64, 256, 16, 16), torch.randn(256, 256, 3, 3)
    x4, w4 = torch.randn(64, 256, 16, 16), torch.randn(512, 256, 4, 4)
    y4 = torch.randn(64, 512, 8, 8)
    dcgan = 2 * 64 * 512 * 8 * 8 * 256 * 16

    def best(fn: Callable[[], object], flops: int) -> float:
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return flops / min(times)

    return {
        "2048² matrix product": best(lambda: a @ b, 2 * 2048**3),
        "3×3 convolution": best(
            lambda: F.conv2d(x3, w3, padding=1), 2 * 64 * 256 * 256 * 9 * 16 * 16
        ),
        "4×4 stride-2 convolution": best(lambda: F.conv2d(x4, w4, stride=2, padding=1), dcgan),
        "its transpose": best(lambda: F.conv_transpose2d(y4, w4, stride=2, padding=1), dcgan),
    }


class FlopCount(TorchDispatchMode):
    """FLOPs of every operator PyTorch's flop counter knows (convolutions, matrix products and
    their gradients). Its `FlopCounterMode` is not used as such: its module hooks refuse
    `autograd.grad` on a leaf, which the gradient penalties need."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += count(*args, **kwargs, out_val=out)
        return out


def count_flops(step: Step) -> int:
    with FlopCount() as counter:
        step()
    return counter.total


def rows_of(name: str, case: Case) -> tuple[dict[str, Step], str, Step, list[float]]:
    """The case's rows (label → step), the label of the row the others are compared with, the
    step whose FLOPs are counted, and where gankit's data waits are collected."""
    waits: list[float] = []
    main = trainer_for(case)
    if name == "pytorch-gan":
        gankit = with_networks(main, *pytorch_gan_nets(main))
        rows = {"PyTorch-GAN's loop": pytorch_gan_loop(main), "gankit": gankit_step(gankit, waits)}
        return rows, "PyTorch-GAN's loop", pytorch_gan_loop(main), waits
    rows: dict[str, Step] = {"gankit": gankit_step(main, waits)}
    if name.startswith("dcgan") or name == "gan-ring8":
        if type(main.model).default_reuse_fake:
            rows["gankit, before (G run twice)"] = gankit_step(trainer_for(case, reuse_fake=False))
        else:
            rows["gankit, reuse_fake=true"] = gankit_step(trainer_for(case, reuse_fake=True))
    if name != "gan-ring8":  # images: the other memory layout than the model's default
        other = main.memory_format != torch.channels_last
        rows[f"gankit, channels_last={str(other).lower()}"] = gankit_step(
            trainer_for(case, channels_last=other)
        )
    peer = {"wgan-gp": wgan_gp_loop, "stylegan2": stylegan2_loop}.get(name, tutorial_bce)
    rows["tutorial loop"] = peer(main)
    return rows, "tutorial loop", peer(main), waits


def measure(
    rows: dict[str, Step], blocks: int, steps: int, warmup: int, waits: list[float]
) -> dict[str, list[float]]:
    for fn in rows.values():
        for _ in range(warmup):
            fn()
    waits.clear()
    times: dict[str, list[float]] = {k: [] for k in rows}
    for _ in range(blocks):
        for key, fn in rows.items():
            start = time.perf_counter()
            for _ in range(steps):
                fn()
            times[key].append((time.perf_counter() - start) / steps * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(CASES), help="cases (default: all)")
    parser.add_argument("--blocks", type=int, default=7, help="blocks per row (default 7)")
    parser.add_argument("--steps", type=int, default=5, help="steps per block (default 5)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--compile", action="store_true", help="add a --compile row for DCGAN")
    parser.add_argument("--out", type=Path, default=RESULTS / "speed.md")
    parser.add_argument("--note", default="", help="a remark on the machine's state, reported")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rates = machine_rates()
    rate = max(rates.values())
    print(", ".join(f"{k} {v / 1e9:.0f}" for k, v in rates.items()), "GFLOP/s", flush=True)
    sections = []
    for name in args.only or list(CASES):
        case = CASES[name]
        rows, reference, counted, waits = rows_of(name, case)
        if args.compile and name.startswith("dcgan"):
            rows["gankit --compile"] = gankit_step(trainer_for(case, compile=True))
        every = 16 if name == "stylegan2" else 1  # the lazy phases' cycle
        flops = sum(count_flops(counted) for _ in range(every)) / every
        limit = flops / rate * 1000
        times = measure(rows, args.blocks, args.steps, 6 if args.compile else 3, waits)
        ref = statistics.median(times[reference])
        wait_share = sum(waits) / (sum(times["gankit"]) * args.steps / 1000)
        lines = [
            f"## {case.title}",
            "",
            f"{flops / 1e9:.2f} GFLOP per step (forward and backward"
            + (", averaged over the 16-step cycle of the lazy penalties" if every > 1 else "")
            + f") → limit {limit:.1f} ms/step.",
            "",
            f"| row | ms/step (median) | min–max | vs {reference} | of FLOP limit |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for key, values in times.items():
            med = statistics.median(values)
            lines.append(
                f"| {key} | {med:.1f} | {min(values):.1f}–{max(values):.1f} | "
                f"{ref / med:.2f}× | {limit / med:.0%} |"
            )
        lines += [
            "",
            f"gankit waits for its batches {wait_share:.1%} of its step time "
            f"({sum(waits) * 1000 / max(len(waits), 1):.2f} ms per batch).",
            "",
        ]
        sections.append("\n".join(lines))
        print(sections[-1], flush=True)
        write(args, rates, sections)


def write(args: argparse.Namespace, rates: dict[str, float], sections: list[str]) -> None:
    note = f" {args.note}" if args.note else ""
    command = "python benchmarks/speed.py" + (f" --only {' '.join(args.only)}" if args.only else "")
    command += "".join(
        f" --{k} {v}" for k, v in (("blocks", args.blocks), ("steps", args.steps)) if v
    )
    if args.threads:
        command += f" --threads {args.threads}"
    if args.compile:
        command += " --compile"
    head = [
        "# Training speed against hand-written loops and the machine's limit",
        "",
        f"Machine: {machine()}; {torch.get_num_threads()} threads. Nominal GFLOP/s in fp32: "
        + ", ".join(f"{k} {v / 1e9:.0f}" for k, v in rates.items())
        + f"; the fastest is the limit (see `machine_rates`).{note}",
        "",
        f"Made by `{command}`: in each case every row trains in one process, the rows taking "
        f"turns in {args.blocks} blocks of {args.steps} steps (after warm-up steps); medians over "
        "the blocks. \"vs\" is the reference row's time over the row's (above 1: faster). "
        "\"of FLOP limit\" is the time of the step's FLOPs at the limit rate over the row's "
        "time. See the script's docstring for what each row is.",
        "",
    ]
    args.out.write_text("\n".join(head + sections))


if __name__ == "__main__":
    main()
