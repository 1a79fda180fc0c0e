"""Perceptual path length (Karras et al. 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks", §4.1): how much the image changes, perceptually, per small
step along a latent path. Large values mean a latent space with abrupt changes.

The paper measures the change with LPIPS (VGG features of faces). Offline, gankit measures it
in the features of the shipped classifier of the dataset (the digits classifier's 64-d
embedding), so its values compare models on one dataset, not with the paper's numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.handle import Generator

EPSILON = 1e-4  # the paper's step


def slerp_batch(a: Tensor, b: Tensor, t: Tensor, eps: float = 1e-7) -> Tensor:
    """Row-wise spherical interpolation of latents a, b [N, D] at t [N]: the direction moves
    along the great circle, the norm changes linearly (as `gankit.latent.slerp`)."""
    t = t[:, None].to(a.dtype)
    na, nb = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    omega = torch.arccos((ua * ub).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    sin = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / sin
    return direction * ((1 - t) * na + t * nb)


def _images(handle: Generator, latents: Tensor, labels: Tensor | None, seed: int) -> Tensor:
    """Images of latents, with the generator's own randomness (StyleGAN's noise inputs) drawn
    from `seed`, so that both ends of a step see the same noise."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return handle.generate(latents, labels)


def _ws_images(handle: Generator, ws: Tensor, seed: int) -> Tensor:
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(seed)
        model = handle.model
        return model.synthesize(ws.to(model.device)).float().cpu()  # type: ignore[operator]


@torch.no_grad()
def perceptual_path_length(
    handle: Generator,
    features: Callable[[Tensor], Tensor],
    *,
    n: int = 2000,
    space: Literal["z", "w"] = "z",
    sampling: Literal["full", "end"] = "full",
    epsilon: float = EPSILON,
    seed: int = 0,
    batch_size: int = 250,
) -> float:
    """Mean of ‖φ(G(p(t))) − φ(G(p(t + ε)))‖² / ε² over n random paths p and positions t,
    after dropping the values below the 1st and above the 99th percentile (as the paper's
    code does).

    Args:
        handle: a loaded generator (not an image-to-image model).
        features: φ, images [N, C, H, W] -> features [N, D].
        space: "z" (spherical paths between Gaussian latents) or "w" (linear paths between
            intermediate latents; models with a mapping network, i.e. StyleGAN).
        sampling: t ~ U(0, 1) ("full") or t ∈ {0, 1} ("end", the path's end points).
        epsilon: the step.
    """
    model = handle.model
    if model.directions:
        raise GankitError("perceptual path length is defined for generators, not translators")
    if space == "w" and not hasattr(model, "style_latents"):
        raise GankitError(f"{handle.config.model_name} has no w space; use space='z'")
    gen = torch.Generator().manual_seed(seed)
    distances = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        z = model.sample_latent(2 * m, generator=gen).cpu()  # [2m, D]
        y = model.sample_labels(m, generator=gen)
        y = None if y is None else y.cpu()
        t = (
            torch.rand(m, generator=gen)
            if sampling == "full"
            else torch.randint(2, (m,), generator=gen).float()
        )
        noise_seed = int(torch.randint(2**31 - 1, (1,), generator=gen))
        if space == "z":
            a = slerp_batch(z[:m], z[m:], t)
            b = slerp_batch(z[:m], z[m:], t + epsilon)
            x_a, x_b = _images(handle, a, y, noise_seed), _images(handle, b, y, noise_seed)
        else:
            ws = model.style_latents(z.to(model.device)).float().cpu()  # type: ignore[operator]
            w0, w1 = ws[:m], ws[m:]
            tt = t[:, None, None]
            a, b = w0 + (w1 - w0) * tt, w0 + (w1 - w0) * (tt + epsilon)
            x_a, x_b = _ws_images(handle, a, noise_seed), _ws_images(handle, b, noise_seed)
        d = (features(x_a).double() - features(x_b).double()).pow(2).sum(1) / epsilon**2
        distances.append(d)
    values = torch.cat(distances).numpy()
    low, high = np.percentile(values, [1, 99])
    kept = values[(values >= low) & (values <= high)]
    return float(kept.mean())
