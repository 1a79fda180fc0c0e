"""Adversarial objectives and penalties, as pure functions of discriminator outputs.

Discriminator losses take the logits (or critic values) of real and fake samples; generator losses
take those of fake samples. All return a scalar to minimise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def bce_d(real: Tensor, fake: Tensor) -> Tensor:
    """Goodfellow et al. 2014: −log D(x) − log(1 − D(G(z))), with D = sigmoid(logit)."""
    # log(sigmoid(l)) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l), stable for any l
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_g(fake: Tensor) -> Tensor:
    """The original minimax generator objective: minimise log(1 − D(G(z)))."""
    return -F.softplus(fake).mean()


def nonsaturating_g(fake: Tensor) -> Tensor:
    """The non-saturating generator objective of Goodfellow et al.: minimise −log D(G(z)).

    Same fixed point as the minimax loss, but strong gradients early in training when D rejects
    the samples confidently.
    """
    return F.softplus(-fake).mean()


GENERATOR_BCE: dict[str, Callable[[Tensor], Tensor]] = {
    "nonsaturating": nonsaturating_g,
    "minimax": minimax_g,
}


def wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: the critic maximises E[C(x)] − E[C(G(z))]."""
    return fake.mean() - real.mean()


def wasserstein_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    target: float = 1.0,
    group: int = 1,
) -> Tensor:
    """Gulrajani et al. 2017: E[(‖∇C(x̂)‖₂ − 1)²] at x̂ uniformly between paired real and fake.

    With `group` > 1 (a packed critic judging consecutive samples together) the norm is taken
    over each group's joint input.

    Evaluated in full precision: the gradient of a low-precision critic is too coarse for a
    penalty on its norm, and fp16 would need the loss scaler inside the model.
    """
    real, fake = real.detach().float(), fake.detach().float()
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)  # [B, ...]
    with torch.autocast(mixed.device.type, enabled=False):
        out = critic(mixed)
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    norm = grad.reshape(grad.shape[0] // group, -1).norm(2, dim=1)  # [B / group]
    return ((norm - target) ** 2).mean()


def least_squares_d(real: Tensor, fake: Tensor, *, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Mao et al. 2017: ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²]."""
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


def least_squares_g(fake: Tensor, *, c: float = 1.0) -> Tensor:
    """Mao et al. 2017: ½E[(D(G(z)) − c)²]."""
    return 0.5 * ((fake - c) ** 2).mean()
