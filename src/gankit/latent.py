"""Latent-space tools: linear and spherical interpolation, and vector arithmetic."""

from __future__ import annotations

import itertools

import torch
from torch import Tensor


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Points (1 − t)·a + t·b for each t: a, b [D]; t [T] -> [T, D]."""
    t = t.to(a.dtype)[:, None]
    return (1 - t) * a + t * b


def slerp(a: Tensor, b: Tensor, t: Tensor, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation: the direction moves along the great circle from a to b at
    constant angular speed while the norm changes linearly from ‖a‖ to ‖b‖ (so a path between
    latents of equal norm keeps that norm, as White 2016 recommends for Gaussian latents).
    a, b [D]; t [T] -> [T, D]. Falls back to lerp for (nearly) parallel endpoints."""
    t = t.to(a.dtype)[:, None]
    na, nb = a.norm(), b.norm()
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:
        direction = lerp(ua, ub, t[:, 0])
        direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(eps)
    else:
        sin = torch.sin(omega)
        direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / sin
    return direction * ((1 - t) * na + t * nb)


def interpolate_path(latents: Tensor, steps: int, spherical: bool = False) -> Tensor:
    """The path through latents [K, D] (K ≥ 2), `steps` points per segment including both ends,
    shared ends counted once: [(K − 1)(steps − 1) + 1, D]. The ends are exactly the latents."""
    t = torch.linspace(0, 1, steps, dtype=latents.dtype)
    fn = slerp if spherical else lerp
    parts = [latents[:1]]
    for a, b in itertools.pairwise(latents):
        segment = fn(a, b, t)
        segment[-1] = b  # exact ends, whatever the rounding
        parts.append(segment[1:])
    return torch.cat(parts)


def vector_arithmetic(a: Tensor, b: Tensor, c: Tensor) -> tuple[list[Tensor], Tensor]:
    """DCGAN's latent arithmetic: each group's mean latent, and mean(a) − mean(b) + mean(c).
    a, b, c: [N_i, D] -> ([mean_a, mean_b, mean_c], result), each [D]."""
    means = [g.mean(0) for g in (a, b, c)]
    return means, means[0] - means[1] + means[2]
