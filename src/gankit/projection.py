"""Projection of images into a generator's latent space: the latent whose sample best matches
each image, by the recipe of StyleGAN2's projector (Karras et al. 2020, "Analyzing and Improving
the Image Quality of StyleGAN", §5 and the official `projector.py`).

The recipe, kept as published:
- 1,000 Adam steps (β = (0.9, 0.999)) from the average latent: for StyleGAN w̄, the mean of
  mapping(z) over 10,000 draws of z, and σ_w = √(mean ‖w − w̄‖²) over the same draws.
- Learning rate 0.1 × a ramp: with t = step / steps, r = min(1, (1 − t) / 0.25), then
  r = ½ − ½·cos(π r), then r ·= min(1, t / 0.05) (a short warm-up, a cosine ramp-down over the
  last quarter).
- Gaussian noise added to the latent before each step, of std σ_w · 0.05 · max(0, 1 − t/0.75)²:
  a wide search at first, none in the last quarter.
- StyleGAN's per-layer noise inputs are optimised too, one map per image and layer, starting
  from N(0, 1) draws; a penalty of 10⁵ × the sum, over every map and its successive 2× average
  poolings down to 8×8, of the squared autocorrelations at a shift of one pixel in x and in y
  keeps them from carrying the image, and after every step each map is renormalised to mean 0,
  std 1.

What differs, and why:
- The loss. The reference matches LPIPS distances of VGG16 features, whose weights it
  downloads; gankit downloads nothing. It uses pixel MSE (images in [−1, 1]) plus
  `feature_weight` × a feature distance of LPIPS's form without LPIPS's learned per-channel
  weights: at each tapped layer the activations are unit-normalised along the channels at every
  pixel, and the squared differences summed over channels and averaged over pixels. The
  features (see `feature_loss`):
  `classifier` — the conv activations of both blocks of the shipped classifier for the run's
  data (digits, stacked digits (per channel), Fashion-MNIST): features trained on that very
  kind of image; `vgg` — VGG19 φ1,2, φ2,2, φ3,4 with the weights of a local torchvision VGG19
  file (ImageNet features, the closest to the reference), or, without one, the same layers with
  fixed, seeded random weights (SRGAN's offline substitute: a fixed structural feature that
  weighs edges more than pixel MSE does, *not* a perceptual metric); `none` — pixel MSE alone;
  `auto` — `vgg` when a VGG19 file is given, else `classifier` where one exists, else the
  random-weight VGG19.
- The written latent regenerates its image with the model's own fixed noise inputs (what every
  other command draws with), as the reference's saved w does: the optimised noise maps are kept
  in the result (`ProjectionResult.noise`) but not in the latent, and the reported projections
  and losses are those of the latent alone.
- Latent models other than StyleGAN are projected in z by the same steps, ramp and noise
  schedule (σ from prior draws the same way). Where the reference's w̄ would lie outside the
  support of a Gaussian z (the mass of N(0, I) sits near ‖z‖ = √d, and the PixelNorm that
  StyleGAN's mapping and ProGAN apply to z is undefined at 0), Gaussian entries start from a
  seeded prior draw; uniform ones start at their mean 0, and InfoGAN's categorical codes at the
  uniform mixture of their categories. Keeping z plausible under the prior: Gaussian entries
  pay `prior_weight` × (mean z² − 1)² (they stay near the shell where the prior's mass is;
  a log-density penalty would pull them to 0, where G never saw a latent); uniform entries are
  clipped to [−1, 1] after every step (their support); categorical codes are projected onto
  the probability simplex after every step, and for the last quarter (once the latent noise has
  died out) fixed to the one-hot of their largest entry, so that the latent written is one G
  was trained on.

Batches are projected together with independent latents: the loss is a sum over images, and
Adam acts per entry, so no image's latent moves for another's. Deterministic under `seed`
(the prior draws, the starting noise maps and every latent-noise draw come from it).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from gankit.errors import GankitError
from gankit.models.base import GANModel

Space = Literal["z", "w", "w+"]
SPACES: tuple[Space, ...] = ("z", "w", "w+")
FeatureChoice = Literal["auto", "classifier", "vgg", "none"]
FEATURES: tuple[FeatureChoice, ...] = ("auto", "classifier", "vgg", "none")
VGG_LAYERS = ("1_2", "2_2", "3_4")  # the VGG19 activations the feature distance taps
LATENTS_FORMAT = "gankit-latents"


@dataclass(frozen=True)
class ProjectSettings:
    """How `project` optimises; the defaults are the StyleGAN2 projector's where it has them.

    Args:
        steps: optimiser steps (1,000).
        space: "z", "w" (one w for every layer) or "w+" (one w per layer, StyleGAN only);
            None: "w" for StyleGAN, else "z".
        seed: seeds every random draw of the projection.
        lr: the peak learning rate (0.1); `lr_rampdown` (0.25) and `lr_rampup` (0.05) are the
            shares of the steps its cosine ramp-down and linear warm-up take.
        noise_start, noise_ramp: the latent noise starts at noise_start × σ (0.05) and falls
            quadratically to 0 at noise_ramp (0.75) of the steps.
        noise_weight: the weight of the noise maps' autocorrelation penalty (10⁵).
        optimize_noise: optimise StyleGAN's noise maps (True, the reference's).
        avg_samples: prior draws for the average latent and σ (10,000).
        features, vgg_weights: the feature distance (see the module docstring) and the local
            VGG19 weights file for `vgg`.
        feature_weight: the feature distance's weight next to pixel MSE (1).
        prior_weight: the weight of the Gaussian-z shell penalty (0.1).
    """

    steps: int = 1000
    space: Space | None = None
    seed: int = 0
    lr: float = 0.1
    lr_rampdown: float = 0.25
    lr_rampup: float = 0.05
    noise_start: float = 0.05
    noise_ramp: float = 0.75
    noise_weight: float = 1e5
    optimize_noise: bool = True
    avg_samples: int = 10_000
    features: FeatureChoice = "auto"
    vgg_weights: str | Path | None = None
    feature_weight: float = 1.0
    prior_weight: float = 0.1

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise GankitError(f"projection needs at least one step, got {self.steps}")
        if self.space is not None and self.space not in SPACES:
            raise GankitError(f"space must be one of {', '.join(SPACES)}, not {self.space!r}")
        if self.features not in FEATURES:
            raise GankitError(
                f"features must be one of {', '.join(FEATURES)}, not {self.features!r}"
            )
        if self.avg_samples < 2:
            raise GankitError(f"avg_samples must be at least 2, got {self.avg_samples}")


def learning_rate(step: int, s: ProjectSettings) -> float:
    """The projector's learning rate at `step` of `s.steps` (the ramp of the module docstring)."""
    t = step / s.steps
    ramp = min(1.0, (1.0 - t) / s.lr_rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return s.lr * ramp * min(1.0, t / s.lr_rampup)


def noise_scale(step: int, s: ProjectSettings) -> float:
    """The latent noise's std at `step`, as a fraction of σ."""
    t = step / s.steps
    return s.noise_start * max(0.0, 1.0 - t / s.noise_ramp) ** 2


# ============================================================================ latents
@dataclass
class Latents:
    """Latents of some model in one space, as `project` returns and `Generator.generate`,
    `interpolate` and `arithmetic` take them.

    Attributes:
        values: [N, D] for z (D = the model's latent_dim) and w (D = w_dim); [N, L, w_dim]
            for w+ (L = the model's style layers).
        space: "z", "w" or "w+".
        labels: [N] classes for a conditional model (those the images were projected with).
        meta: provenance, saved beside the array: the model, run, checkpoint, the inputs...
        source: the file they were read from (for messages).
    """

    values: Tensor
    space: Space = "z"
    labels: Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise GankitError(f"space must be one of {', '.join(SPACES)}, not {self.space!r}")
        want = 3 if self.space == "w+" else 2
        if self.values.dim() != want:
            shape = "[N, L, w_dim]" if want == 3 else "[N, D]"
            raise GankitError(
                f"{self._name()}: {self.space} latents are {shape}, got {tuple(self.values.shape)}"
            )
        if self.labels is not None and len(self.labels) != len(self.values):
            raise GankitError(
                f"{self._name()}: {len(self.values)} latents but {len(self.labels)} labels"
            )

    def _name(self) -> str:
        return self.source or "latents"

    def __len__(self) -> int:
        return len(self.values)

    def rows(self, index: slice | Sequence[int] | Tensor) -> Latents:
        """Some of the latents (with their labels), same space and provenance."""
        labels = None if self.labels is None else self.labels[index]
        return Latents(self.values[index], self.space, labels, dict(self.meta), self.source)

    @classmethod
    def concat(cls, parts: Sequence[Latents]) -> Latents:
        """The rows of several latents of one space, in order (labels kept where all have
        them); the first one's provenance."""
        first = parts[0]
        for other in parts[1:]:
            if other.space != first.space or other.values.shape[1:] != first.values.shape[1:]:
                raise GankitError(
                    f"{other._name()} holds {other.space} latents "
                    f"{tuple(other.values.shape[1:])}, {first._name()} "
                    f"{first.space} {tuple(first.values.shape[1:])}: they cannot be mixed"
                )
        values = torch.cat([p.values for p in parts])
        labelled = all(p.labels is not None for p in parts)
        labels = torch.cat([p.labels for p in parts if p.labels is not None]) if labelled else None
        return cls(values, first.space, labels, dict(first.meta), first.source)

    def save(self, path: str | Path, **meta: Any) -> Path:
        """Write `path` (`.npy`, [N, ...] float32) and the sidecar `path` with `.json` (the
        space, the labels and `meta` plus `self.meta`), each atomically."""
        from gankit.files import save_npy, write_text

        path = Path(path).expanduser()
        if path.suffix != ".npy":
            raise GankitError(f"latents are written as .npy, not {path.name}")
        save_npy(path, self.values.detach().float().cpu().numpy())
        card = {
            "format": LATENTS_FORMAT,
            "space": self.space,
            "shape": list(self.values.shape),
            "labels": None if self.labels is None else self.labels.tolist(),
            **self.meta,
            **meta,
        }
        write_text(sidecar(path), json.dumps(card, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Latents:
        """Read a latents `.npy` and its `.json` sidecar. Without a sidecar the array is taken
        as z latents [N, D] (a plain array of your own); w and w+ need the sidecar."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise GankitError(f"no such latents file: {path}")
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise GankitError(f"{path} is not a NumPy .npy array of latents ({err})") from None
        if array.dtype.kind not in "fiu":
            raise GankitError(f"{path} holds {array.dtype} values, not latents")
        card: dict[str, Any] = {}
        if sidecar(path).is_file():
            try:
                card = json.loads(sidecar(path).read_text(encoding="utf-8"))
            except (ValueError, OSError) as err:
                raise GankitError(f"{sidecar(path)} is not a latents sidecar ({err})") from None
            if not isinstance(card, dict) or card.get("format") != LATENTS_FORMAT:
                raise GankitError(f"{sidecar(path)} is not a gankit latents sidecar")
        if not card and array.ndim != 2:
            raise GankitError(
                f"{path}: an array without its {sidecar(path).name} is read as z latents "
                f"[N, D], this one is {tuple(array.shape)} (w and w+ latents need their .json)"
            )
        space = card.pop("space", "z")
        card.pop("format", None)
        card.pop("shape", None)
        raw = card.pop("labels", None)
        labels = None if raw is None else torch.tensor(raw, dtype=torch.long)
        values = torch.from_numpy(array.astype(np.float32))
        return cls(values, space, labels, card, str(path))


def sidecar(path: str | Path) -> Path:
    """The JSON file that describes latents `path`: `latents.npy` -> `latents.json`."""
    return Path(path).with_suffix(".json")


# ============================================================================ features
@dataclass
class FeatureLoss:
    """A feature distance: `name` says what it is; `taps` maps images [N, C, H, W] in [−1, 1]
    to a list of feature maps, each [N, G, K, h, w] (G groups compared apart: the channels
    of stacked digits, else 1; K features)."""

    name: str
    taps: Callable[[Tensor], list[Tensor]]

    def distance(self, x: Tensor, target: list[Tensor]) -> Tensor:
        """[N]: Σ over taps of the mean over pixels (and sum over groups) of the squared
        difference of channel-normalised features."""
        total = x.new_zeros(len(x))
        for a, b in zip(self.taps(x), target):
            d = (_unit(a) - _unit(b)).square().sum(2)  # [N, G, h, w]
            total = total + d.mean((2, 3)).sum(1)
        return total


def _unit(f: Tensor) -> Tensor:
    """Features normalised to unit length along K at every pixel (LPIPS's normalisation)."""
    return f / (f.square().sum(2, keepdim=True) + 1e-10).sqrt()


def feature_loss(
    choice: FeatureChoice, dataset: str, vgg_weights: str | Path | None, device: torch.device
) -> FeatureLoss | None:
    """The feature distance `choice` names for images of `dataset` (None for `none`)."""
    from gankit.metrics.features import CLASSIFIERS

    if choice == "none":
        return None
    if choice == "classifier" or (
        choice == "auto" and vgg_weights is None and dataset in CLASSIFIERS
    ):
        return _classifier_loss(dataset, device)
    return _vgg_loss(vgg_weights, device)


def _classifier_loss(dataset: str, device: torch.device) -> FeatureLoss:
    from gankit.metrics.classifier import GrayClassifier, load_digits_classifier
    from gankit.metrics.fashion import load_fashion_classifier
    from gankit.metrics.features import CLASSIFIERS

    if dataset not in CLASSIFIERS:
        known = ", ".join(sorted(CLASSIFIERS))
        raise GankitError(
            f"no shipped classifier for {dataset!r} (there are for {known}): use features "
            "vgg or none"
        )
    net: GrayClassifier
    if CLASSIFIERS[dataset] == "digits":
        net = load_digits_classifier()
    else:
        net = load_fashion_classifier()
    if device.type != "cpu":  # the shipped network is shared and cached on the CPU
        net = copy.deepcopy(net).to(device)
    trunk = net.trunk
    assert isinstance(trunk, torch.nn.Sequential)
    ends = (4, 9)  # after the second ReLU of each conv block, before its pooling

    def taps(x: Tensor) -> list[Tensor]:
        n, c = x.shape[:2]
        h = net.prepare(x.reshape(n * c, 1, *x.shape[2:]))  # each channel one gray image
        out = []
        for i, module in enumerate(trunk, start=1):
            h = module(h)
            if i in ends:
                out.append(h.reshape(n, c, *h.shape[1:]))
            if i == ends[-1]:
                break
        return out

    return FeatureLoss(f"{CLASSIFIERS[dataset]}-classifier conv features", taps)


def _vgg_loss(path: str | Path | None, device: torch.device) -> FeatureLoss:
    from gankit.nn.vgg import VGG19_LAYERS, random_vgg19_features, vgg19_features

    deepest = VGG_LAYERS[-1]
    if path is None:
        net, name = random_vgg19_features(deepest, seed=0), "VGG19 (fixed random weights)"
    else:
        net, name = vgg19_features(path, deepest), f"VGG19 ({Path(path).name})"
    net = net.to(device)
    ends = {VGG19_LAYERS[layer] for layer in VGG_LAYERS}
    mean, std = net.get_buffer("mean"), net.get_buffer("std")

    def taps(x: Tensor) -> list[Tensor]:
        if x.shape[1] not in (1, 3):
            raise GankitError(f"VGG19 reads grey or RGB images, not {x.shape[1]} channels")
        h = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        h = ((h + 1) / 2 - mean) / std  # as VGG19Features.forward: ImageNet-normalised
        out = []
        for i, module in enumerate(net.features, start=1):
            h = module(h)
            if i in ends:
                out.append(h[:, None])
        return out

    return FeatureLoss(f"{name} φ{', φ'.join(VGG_LAYERS).replace('_', ',')}", taps)


# ============================================================================ the spaces
class _Search:
    """What is optimised and how it becomes images: subclasses for StyleGAN's w/w+ and for z."""

    params: list[Tensor]
    sigma: float  # σ of the latent noise schedule
    initial: Tensor  # the starting latents, in the layout of `latents()`

    def images(self, noise: float, gen: torch.Generator) -> Tensor:
        """Unclamped images [N, C, R, R] of the current latents plus noise of std noise·σ."""
        raise NotImplementedError

    def penalty(self) -> Tensor:
        """[N] regularisers of the current latents."""
        raise NotImplementedError

    def after_step(self, step: int) -> None:
        """Constraints applied after every optimiser step (without gradients)."""

    def latents(self) -> Tensor:
        """The result in its space's layout."""
        raise NotImplementedError

    def noise_maps(self) -> list[Tensor] | None:
        return None


def _randn(shape: Sequence[int], gen: torch.Generator, like: Tensor) -> Tensor:
    """N(0, 1) drawn from the CPU generator `gen` (the same numbers on any device)."""
    return torch.randn(*shape, generator=gen).to(like)


class _StyleSearch(_Search):
    """StyleGAN in w (one w for every layer) or w+ (one per layer), with its noise maps."""

    def __init__(
        self, model: Any, n: int, space: Space, s: ProjectSettings, gen: torch.Generator
    ) -> None:
        self.model, self.s = model, s
        device = model.device
        with torch.no_grad():
            z = torch.randn(s.avg_samples, model.config.z_dim, generator=gen).to(device)
            w = torch.cat([model.G.mapping(part) for part in z.split(1000)])  # [S, w_dim]
        w_avg = w.mean(0)
        self.sigma = float((w - w_avg).square().sum(1).mean().sqrt())
        layers = model.num_ws if space == "w+" else 1
        start = w_avg.expand(n, layers, -1).clone()
        self.initial = start[:, 0].clone() if space == "w" else start.clone()
        self.w = start.requires_grad_(True)  # [N, 1 or L, w_dim]
        self.buffers: dict[str, Tensor] = {}
        if s.optimize_noise:
            from gankit.nn.style import NoiseInput

            for name, module in model.G.synthesis.named_modules():
                if isinstance(module, NoiseInput) and module.fixed is not None:
                    side = module.fixed.shape[-1]
                    noise = _randn((n, 1, side, side), gen, start).requires_grad_(True)
                    self.buffers[f"{name}.fixed"] = noise
        self.params = [self.w, *self.buffers.values()]
        self.space = space

    def images(self, noise: float, gen: torch.Generator) -> Tensor:
        w = self.w + _randn(self.w.shape, gen, self.w) * (noise * self.sigma)
        ws = w.expand(-1, self.model.num_ws, -1)  # [N, L, w_dim]
        synthesis = self.model.G.synthesis
        if not self.buffers:
            return synthesis(ws, "const")
        return torch.func.functional_call(synthesis, self.buffers, (ws, "const"), strict=False)

    def penalty(self) -> Tensor:
        if not self.buffers:
            return self.w.new_zeros(len(self.w))
        return self.s.noise_weight * noise_regularization(list(self.buffers.values()))

    @torch.no_grad()
    def after_step(self, step: int) -> None:
        for noise in self.buffers.values():
            noise -= noise.mean((1, 2, 3), keepdim=True)
            noise *= noise.square().mean((1, 2, 3), keepdim=True).rsqrt()

    def latents(self) -> Tensor:
        w = self.w.detach()
        return w[:, 0] if self.space == "w" else w

    def noise_maps(self) -> list[Tensor] | None:
        return [b.detach() for b in self.buffers.values()] or None


def noise_regularization(maps: list[Tensor]) -> Tensor:
    """The projector's noise penalty per image [N]: for each map [N, 1, H, W] and its 2× average
    poolings down to 8×8, the squared mean products of the map with itself shifted one pixel
    along x and along y (autocorrelations a pure white noise map does not have)."""
    total = maps[0].new_zeros(len(maps[0]))
    for noise in maps:
        while True:
            for dim in (3, 2):
                total = total + (noise * noise.roll(1, dims=dim)).mean((1, 2, 3)).square()
            if noise.shape[2] <= 8:
                break
            noise = F.avg_pool2d(noise, 2)
    return total


@dataclass(frozen=True)
class _Segment:
    """Columns of z that share a prior: "normal", "uniform" or "categorical"."""

    kind: str
    start: int
    size: int

    @property
    def cols(self) -> slice:
        return slice(self.start, self.start + self.size)


def _segments(model: GANModel) -> list[_Segment]:
    """The priors of the latent's columns: z_dim of the model's z_dist, then InfoGAN's codes."""
    out = [_Segment(model.config.z_dist, 0, model.config.z_dim)]
    for code in model.codes:
        kind = "categorical" if code.kind == "categorical" else "uniform"
        out.append(_Segment(kind, code.start, code.size))
    if sum(seg.size for seg in out) != model.latent_dim:
        raise GankitError(f"{model.name}'s latent has parts gankit cannot project")
    return out


class _ZSearch(_Search):
    """The latent z (with InfoGAN's codes) of any latent model; see the module docstring."""

    def __init__(
        self,
        model: GANModel,
        n: int,
        labels: Tensor | None,
        s: ProjectSettings,
        gen: torch.Generator,
    ) -> None:
        self.model, self.s, self.labels = model, s, labels
        self.segments = _segments(model)
        with torch.no_grad():
            draws = model.sample_latent(s.avg_samples, generator=gen).float()
        mean = draws.mean(0)
        self.sigma = float((draws - mean).square().sum(1).mean().sqrt())
        start = mean.expand(n, -1).clone()  # uniform entries at 0, categories mixed evenly
        own = model.sample_latent(n, generator=gen).float()  # a seeded draw per image
        for seg in self.segments:
            if seg.kind == "normal":
                start[:, seg.cols] = own[:, seg.cols]
            if seg.kind == "uniform":
                start[:, seg.cols] = 0.0
        self.initial = start.clone()
        self.z = start.requires_grad_(True)  # [N, latent_dim]
        self.params = [self.z]
        self.snapped: dict[int, Tensor] = {}  # categorical codes fixed for the last quarter

    def images(self, noise: float, gen: torch.Generator) -> Tensor:
        z = self.z + _randn(self.z.shape, gen, self.z) * (noise * self.sigma)
        return self.model.generate(z, self.labels).float()

    def penalty(self) -> Tensor:
        total = self.z.new_zeros(len(self.z))
        for seg in self.segments:
            if seg.kind == "normal":
                total = total + (self.z[:, seg.cols].square().mean(1) - 1).square()
        return self.s.prior_weight * total

    @torch.no_grad()
    def after_step(self, step: int) -> None:
        snap = step + 1 >= self.s.noise_ramp * self.s.steps
        for i, seg in enumerate(self.segments):
            part = self.z[:, seg.cols]
            if seg.kind == "uniform":
                part.clamp_(-1.0, 1.0)
            elif seg.kind == "categorical":
                if snap and i not in self.snapped:
                    self.snapped[i] = F.one_hot(part.argmax(1), seg.size).to(part)
                part.copy_(self.snapped[i] if i in self.snapped else project_simplex(part))

    def latents(self) -> Tensor:
        z = self.z.detach().clone()
        for i, seg in enumerate(self.segments):  # fewer steps than the snap point: snap now
            if seg.kind == "categorical" and i not in self.snapped:
                z[:, seg.cols] = F.one_hot(z[:, seg.cols].argmax(1), seg.size).to(z)
        return z


def project_simplex(v: Tensor) -> Tensor:
    """The Euclidean projection of each row of v [N, K] onto the probability simplex (Duchi et
    al. 2008): max(v − θ, 0) with θ chosen per row so that the row sums to 1."""
    u = v.sort(dim=1, descending=True).values
    css = u.cumsum(1) - 1
    k = torch.arange(1, v.shape[1] + 1, device=v.device, dtype=v.dtype)
    rho = (u - css / k > 0).sum(1, keepdim=True)  # a prefix of the sorted entries
    theta = css.gather(1, rho - 1) / rho.to(v.dtype)
    return (v - theta).clamp_min(0)


# ============================================================================ the projection
@dataclass
class ProjectionResult:
    """What `project` found.

    Attributes:
        latents: the latents (and labels), one row per image.
        targets: the images matched [N, C, R, R] in [−1, 1] (at the model's resolution).
        images: the projections: what the latents generate [N, C, R, R] (as `generate` draws
            them: clamped, with the model's fixed noise inputs).
        start: the images of the starting latents (without latent noise).
        losses: per image [N]: `mse` (pixel MSE in [−1, 1] units), `feature` (the feature
            distance, 0 without one), `psnr` (dB, peak-to-peak 2), and the same of the start as
            `mse_start`, `feature_start`, `psnr_start`.
        history: [steps, N] the objective (MSE + feature_weight · feature) at every step, on the
            noisy latents the step saw.
        noise: StyleGAN: the optimised noise maps, one [N, 1, s, s] per noise input; else None.
        features: what the feature distance was.
    """

    latents: Latents
    targets: Tensor
    images: Tensor
    start: Tensor
    losses: dict[str, Tensor]
    history: Tensor
    noise: list[Tensor] | None
    features: str


def read_target(path: str | Path, shape: Sequence[int], *, convert: bool = False) -> Tensor:
    """One image file to project: [1, C, R, R] in [-1, 1] for a model drawing `shape` (C, R,
    R), cropped to its centre square and resized to R as training data is (`fit_image`). A
    colour image for a grey model is refused unless `convert` (its luminance is used); a grey
    one for an RGB model is read as R = G = B.

    Raises:
        GankitError: a missing file, a folder, an unreadable or too large image.
    """
    from gankit.data.folder import fit_image
    from gankit.data.images import read_8bit

    path = Path(path)
    channels, side = shape[0], shape[-1]
    if channels not in (1, 3):
        raise GankitError(f"this run draws {channels}-channel images: project reads 1 or 3")
    if not path.is_file():
        raise GankitError(f"no such image file: {path}" + (" (a folder)" if path.is_dir() else ""))
    img = read_8bit(path, 3, shrink_to=side)  # upright RGB, grey as R = G = B
    rgb = np.asarray(img)
    colour = not ((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    if channels == 1 and colour and not convert:
        raise GankitError(
            f"{path} is a colour image (3 channels) and this run draws grey images (1 channel): "
            "give grey images, or --convert to use its luminance"
        )
    array = fit_image(img, side, channels)  # [C, R, R] uint8; RGB -> L is the luminance
    return torch.from_numpy(array.copy()).float().div(127.5).sub(1.0)[None]


def check_projectable(model: GANModel, space: Space | None) -> Space:
    """The space to project into for `model` (None: its default), or a GankitError saying why
    the model has no latent to project into."""
    from gankit.models.stylegan import StyleGAN
    from gankit.models.text2image import TextToImageModel

    name = model.name
    if model.directions:
        raise GankitError(
            f"{name} translates images rather than drawing them from a latent: there is no "
            "latent space to project into (use gankit translate RUN INPUT... -o OUT)"
        )
    if isinstance(model, TextToImageModel):
        raise GankitError(
            f"{name} draws images of captions: projecting into its latent space is not "
            "supported (the caption, not a latent, says what the image shows)"
        )
    if model.info.kind == "unpaired":
        raise GankitError(
            f"{name} draws pairs of images in two domains from one latent: projecting single "
            "images is not supported"
        )
    if model.info.kind != "image":
        raise GankitError(f"this {name} run generates {model.info.kind}, not images")
    styled = isinstance(model, StyleGAN)
    chosen: Space = space or ("w" if styled else "z")
    if chosen not in SPACES:
        raise GankitError(f"space must be one of {', '.join(SPACES)}, not {chosen!r}")
    if chosen != "z" and not styled:
        raise GankitError(f"{name} has no {chosen} space (stylegan has): project into z")
    return chosen


def project(
    model: GANModel,
    targets: Tensor,
    labels: Tensor | None = None,
    settings: ProjectSettings | None = None,
    *,
    progress: bool = False,
) -> ProjectionResult:
    """Find the latents whose samples best match `targets` (see the module docstring).

    Args:
        model: a trained latent model in eval mode (as `gankit.load` gives it).
        targets: images [N, C, R, R] in [−1, 1] at the model's shape, on any device.
        labels: [N] classes for a conditional model (required there).
        settings: the optimisation; the StyleGAN2 projector's defaults.
        progress: show a progress bar.
    """
    s = settings or ProjectSettings()
    space = check_projectable(model, s.space)
    if tuple(targets.shape[1:]) != tuple(model.info.shape):
        raise GankitError(
            f"expected images [N, {', '.join(map(str, model.info.shape))}], "
            f"got {tuple(targets.shape)}"
        )
    device = model.device
    x = targets.detach().float().to(device)
    y = None if labels is None else labels.long().to(device)
    gen = torch.Generator().manual_seed(s.seed)
    with torch.random.fork_rng(devices=[]):  # nothing here draws from the global RNG
        search: _Search = (
            _ZSearch(model, len(x), y, s, gen)
            if space == "z"
            else _StyleSearch(model, len(x), space, s, gen)
        )
        feats = feature_loss(s.features, model.info.name, s.vgg_weights, device)
        history = _optimise(search, x, feats, s, gen, progress)
    values = search.latents()
    latents = Latents(values.cpu(), space, None if y is None else y.cpu())
    with torch.no_grad():
        images = draw(model, latents)
        start = draw(model, Latents(search.initial.cpu(), space, latents.labels))
    losses = _scores(images, x, feats, "") | _scores(start, x, feats, "_start")
    return ProjectionResult(
        latents,
        x.cpu(),
        images.cpu(),
        start.cpu(),
        {k: v.cpu() for k, v in losses.items()},
        history,
        [m.cpu() for m in maps] if (maps := search.noise_maps()) else None,
        feats.name if feats else "none (pixel MSE only)",
    )


def _optimise(
    search: _Search,
    target: Tensor,
    feats: FeatureLoss | None,
    s: ProjectSettings,
    gen: torch.Generator,
    progress: bool,
) -> Tensor:
    """The projector's loop; returns the objective per step and image [steps, N]."""
    with torch.no_grad():
        target_feats = feats.taps(target) if feats else []
    opt = torch.optim.Adam(search.params, lr=s.lr, betas=(0.9, 0.999))
    history = []
    for step in tqdm(range(s.steps), desc="project", disable=not progress, leave=False):
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, s)
        with torch.enable_grad():
            x = search.images(noise_scale(step, s), gen)
            fit = (x - target).square().flatten(1).mean(1)  # [N]
            if feats is not None:
                fit = fit + s.feature_weight * feats.distance(x, target_feats)
            loss = (fit + search.penalty()).sum()  # a sum: each image's gradient its own
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
        search.after_step(step)
        history.append(fit.detach().cpu())
    return torch.stack(history)


def _scores(images: Tensor, target: Tensor, feats: FeatureLoss | None, tag: str) -> dict:
    from gankit.metrics.image import psnr

    mse = (images - target).square().flatten(1).mean(1)
    if feats is not None:
        with torch.no_grad():
            feature = feats.distance(images, feats.taps(target))
    else:
        feature = torch.zeros_like(mse)
    return {f"mse{tag}": mse, f"feature{tag}": feature, f"psnr{tag}": psnr(images, target).float()}


def draw(model: GANModel, latents: Latents, *, truncation: float | None = None) -> Tensor:
    """The images of `latents` (checked with `check_latents` first), on the model's device:
    z through `generate`; w and w+ through StyleGAN's synthesis with its fixed noise (eval
    mode), where truncation ψ pulls the first styles toward the tracked w̄ as sampling does."""
    values = latents.values.to(model.device)
    y = None if latents.labels is None else latents.labels.to(model.device)
    if latents.space == "z":
        if model.truncation_space == "w" and truncation is not None:
            return model.generate(values, y, truncation=truncation)  # type: ignore[call-arg]
        return model.generate(values, y)
    styled: Any = model
    ws = values[:, None].expand(-1, styled.num_ws, -1) if latents.space == "w" else values
    ws = ws.contiguous()
    if truncation is not None and truncation != 1:
        ws = ws.clone()
        k = styled.truncation_layers
        ws[:, :k] = styled.G.w_avg.lerp(ws[:, :k], truncation)
    return styled.synthesize(ws)


def check_latents(model: GANModel, latents: Latents, run: str | None = None) -> None:
    """A GankitError unless `latents` fit `model` (its kind, space and widths); `run` names the
    run for messages."""
    from gankit.models.stylegan import StyleGAN

    name = latents.source or "the latents"
    made_by = latents.meta.get("model")
    if made_by and made_by != model.name:
        origin = latents.meta.get("run") or "another run"
        raise GankitError(
            f"{name} holds {latents.space} latents of model {made_by} ({origin}); this run's "
            f"model is {model.name}: project the images with this run"
        )
    if latents.space == "z":
        want: tuple[int, ...] = (model.latent_dim,)
    elif not isinstance(model, StyleGAN):
        raise GankitError(f"{name} holds {latents.space} latents; {model.name} has only z")
    elif latents.space == "w":
        want = (model.config.w_dim,)
    else:
        want = (model.num_ws, model.config.w_dim)
    got = tuple(latents.values.shape[1:])
    if got != want:
        shape = "×".join(map(str, want))
        raise GankitError(
            f"{name}: this {model.name}'s {latents.space} latents are {shape} wide, these are "
            f"{'×'.join(map(str, got))}"
            + ("" if latents.meta else " (a plain array is read as z; w and w+ need the .json)")
        )
    if latents.labels is not None and model.conditional:
        k = model.info.num_classes
        if len(latents.labels) and (latents.labels.min() < 0 or latents.labels.max() >= k):
            raise GankitError(f"{name}: class labels must be in 0..{k - 1}")
