"""Differentiable augmentation of everything the discriminator sees (`train.augment`):
DiffAugment's fixed policy, or ADA's pipeline with its adaptive probability p.

The Trainer installs an `Augmentation` on a model: a forward pre-hook on each module that the
model names in `augmented_inputs()` (its discriminators: `D`, CycleGAN's `D_A` and `D_B`,
InfoGAN's trunk shared by D and Q) transforms every 4-D tensor argument, real or generated, in
every phase (D's loss, G's loss, the penalties). The hooks act only while the Trainer runs a
phase's loss (`applied()`), so sampling, evaluation and a loaded run never see them, and they
change no parameter names: a checkpoint of an augmented run loads like any other.

ADA's p: after every `ada_interval` steps, r_t = E[sign(D(x_real) − boundary)] over the D
updates of the interval (each model reports its term as `real_sign`; the boundary is 0 for
logistic and hinge losses, (a + b)/2 for least squares, midway between the mean real and fake
scores for a Wasserstein critic, whose scores have no fixed origin) moves p by
sign(r_t − target) · (images in the interval) / (ada_kimg · 1000), clamped to [0, 1]: p rises
while D is overconfident on the reals it has seen. p, the running sums and the last r_t are
part of the checkpoint, so a resumed run continues with the same p, bit for bit.

The transforms are gankit's own, a few tensor operations each, rather than kornia's: none of
kornia's augmentations draws what the papers draw (ADA's log-normal scales, its two rotations
of probability 1 − √(1 − p), its per-transform probabilities composed into one matrix per image;
DiffAugment's whole-pixel shifts with zeros shifted in and its cutout that may hang off the
edge), and a dependency that matched only part of them would not earn its weight.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from gankit.augment.ada import PIPES, ada_augment
from gankit.augment.diffaugment import diff_augment, parse_policy
from gankit.errors import GankitError

__all__ = ["PIPES", "Augmentation", "ada_augment", "diff_augment", "parse_policy"]

KINDS = ("none", "diffaugment", "ada")


class Augmentation:
    """The augmentation of one training run.

    Args:
        kind: `diffaugment` or `ada`.
        policy: DiffAugment's policy string.
        pipe: ADA's pipeline (`bgc`: blit, geometric, colour).
        p: ADA's starting probability.
        target: ADA's r_t target (0.6); None keeps p fixed.
        interval: steps between adjustments of p.
        kimg: thousands of images over which p can move by 1.
        batch_size: images per step (global), for the speed of p.
    """

    def __init__(
        self,
        kind: str,
        *,
        policy: str = "color,translation,cutout",
        pipe: str = "bgc",
        p: float = 0.0,
        target: float | None = 0.6,
        interval: int = 4,
        kimg: float = 500.0,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        if kind not in KINDS[1:]:
            raise GankitError(f"train.augment must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind, self.policy, self.pipe = kind, policy, pipe
        self.p, self.target, self.interval = float(p), target, interval
        self.speed = batch_size * interval / (kimg * 1000)
        self.rt: float | None = None  # the last interval's r_t
        self.signs = torch.zeros(2, device=device)  # running Σ real_sign, and its count
        self.empty = 0  # intervals in a row without a D update
        self.active = False
        self.handles: list[Any] = []

    @property
    def adaptive(self) -> bool:
        return self.kind == "ada" and self.target is not None

    # ---------------------------------------------------------------- the hooks
    def install(self, model: nn.Module, inputs: dict[str, tuple[int, ...] | None]) -> None:
        """Hook the modules named in `inputs` (dotted paths), each with the channel groups of
        its image input (None: one image)."""
        for name, groups in inputs.items():
            module = model.get_submodule(name)
            self.handles.append(module.register_forward_pre_hook(self._hook(groups)))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def _hook(self, groups: tuple[int, ...] | None) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
            if not self.active:
                return None
            return self.transform_args(args, groups)

        return hook

    def transform_args(self, args: tuple[Any, ...], groups: tuple[int, ...] | None) -> tuple:
        """`args` with every 4-D floating tensor augmented, all with the same draws."""
        where = [
            i
            for i, a in enumerate(args)
            if isinstance(a, Tensor) and a.dim() == 4 and a.is_floating_point()
        ]
        if not where:
            return args
        parts: list[Tensor] = []
        for i in where:
            x = args[i]
            if groups is None:
                parts.append(x)
            else:
                if sum(groups) != x.shape[1]:
                    raise ValueError(f"channel groups {groups} do not add up to {x.shape[1]}")
                parts.extend(x.split(list(groups), 1))
        shapes = {(p.shape[0], *p.shape[2:]) for p in parts}
        if len(shapes) != 1:
            raise ValueError(f"augmented inputs differ in batch or size: {sorted(shapes)}")
        out = self(parts)
        new, k = list(args), 0
        for i in where:
            count = 1 if groups is None else len(groups)
            new[i] = out[k] if count == 1 else torch.cat(out[k : k + count], 1)
            k += count
        return tuple(new)

    def __call__(self, images: list[Tensor]) -> list[Tensor]:
        """The images augmented, with shared draws per example."""
        if self.kind == "diffaugment":
            return diff_augment(images, self.policy)
        return ada_augment(images, self.p, self.pipe)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Hooks act inside this block only."""
        self.active = True
        try:
            yield
        finally:
            self.active = False

    # ---------------------------------------------------------------- ADA's p
    def observe(self, out: dict[str, Tensor]) -> None:
        """Add a phase's `real_sign` (D's term of r_t) to the interval's sums."""
        sign = out.get("real_sign")
        if sign is not None and self.adaptive:
            self.signs += torch.stack([sign.detach().float().reshape(()), self.signs.new_ones(())])

    def adjust(self, step: int, reduce: Any = None) -> None:
        """After (0-based) step `step`: at the end of each interval, r_t and the new p.

        Args:
            reduce: sums a tensor across processes in place (torchrun; a no-op on one
                process); None: this process alone.
        """
        if not self.adaptive or (step + 1) % self.interval:
            return
        if reduce is not None:
            reduce(self.signs)
        total, count = self.signs.tolist()
        if not count:  # no D update in this interval (DiscoGAN alternates): wait for one
            self.empty += 1
            if self.empty < 8:
                return
            raise GankitError(
                "train.augment=ada adapts p from D's outputs on real images, but this model "
                "reported none (no `real_sign` in its D phase); set train.ada_target=null for "
                "a fixed p"
            )
        self.signs.zero_()
        self.empty = 0
        self.rt = total / count
        assert self.target is not None
        step_p = math.copysign(self.speed, self.rt - self.target) if self.rt != self.target else 0
        self.p = min(max(self.p + step_p, 0.0), 1.0)

    def logs(self) -> dict[str, float]:
        """What metrics.jsonl records: p, and r_t once measured (ADA only)."""
        if self.kind != "ada":
            return {}
        out = {"augment/p": self.p}
        if self.rt is not None:
            out["augment/rt"] = self.rt
        return out

    def state_dict(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """(tensors, JSON-able values) for a checkpoint."""
        values = {"p": self.p, "rt": self.rt, "empty": self.empty}
        return {"signs": self.signs.detach().clone()}, values

    def load_state_dict(self, tensors: dict[str, Tensor], values: dict[str, Any]) -> None:
        self.p = float(values["p"])
        self.rt = None if values.get("rt") is None else float(values["rt"])
        self.empty = int(values.get("empty", 0))
        if "signs" in tensors:
            self.signs.copy_(tensors["signs"])
