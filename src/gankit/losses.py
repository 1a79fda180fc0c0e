"""Adversarial objectives and penalties, as pure functions of discriminator outputs.

Discriminator losses take the logits (or critic values) of real and fake samples; generator losses
take those of fake samples. All return a scalar to minimise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

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


def drift_penalty(real: Tensor) -> Tensor:
    """Karras et al. 2018 (ProGAN): E[D(x)²] on real samples; a small weight of it (0.001) keeps
    a Wasserstein critic's values from drifting far from zero."""
    return real.pow(2).mean()


def least_squares_d(real: Tensor, fake: Tensor, *, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Mao et al. 2017: ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²]."""
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


def least_squares_g(fake: Tensor, *, c: float = 1.0) -> Tensor:
    """Mao et al. 2017: ½E[(D(G(z)) − c)²]."""
    return 0.5 * ((fake - c) ** 2).mean()


def hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    """The hinge loss (Lim & Ye 2017; Miyato et al. 2018; SAGAN, BigGAN):
    E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def hinge_g(fake: Tensor) -> Tensor:
    """The generator's side of the hinge game: −E[D(G(z))]."""
    return -fake.mean()


def orthogonal_reg(weights: Iterable[Tensor]) -> Tensor:
    """BigGAN's orthogonal regularisation (Brock et al. 2019, eq. 3), summed over `weights`:
    ‖WᵀW ⊙ (1 − I)‖²_F with each weight seen as a matrix whose columns are its output units
    ([out, in·k·k] transposed), so only the filters' pairwise inner products are pushed to 0,
    not their norms. (The authors' code adds half this gradient; the paper's β is 1e-4.)"""
    total = torch.zeros(())
    for w in weights:
        m = w.flatten(1)  # [out, fan_in]
        gram = m @ m.T  # [out, out]
        off = gram - torch.diag_embed(torch.diagonal(gram))
        total = total.to(off) + off.pow(2).sum()
    return total


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """Mescheder et al. 2018 (StyleGAN's R1): E‖∇ₓD(x)‖² on real samples, unweighted (the
    caller multiplies by γ/2). Evaluated in full precision, as `gradient_penalty`."""
    real = real.detach().float().requires_grad_(True)
    with torch.autocast(real.device.type, enabled=False):
        out = critic(real)
    (grad,) = torch.autograd.grad(out.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def path_lengths(images: Tensor, ws: Tensor) -> Tensor:
    """StyleGAN2's path lengths ‖J_wᵀ y‖₂ per sample [N], for images [N, C, H, W] generated
    from styles ws [N, L, D] (in the graph) and y ~ N(0, I)/√(HW) (so the length does not
    depend on the resolution); the squared norms are averaged over the L styles, as the
    official code does."""
    noise = torch.randn_like(images) / (images.shape[2] * images.shape[3]) ** 0.5
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)  # [N, L, D]
    # the norm in fp32 under autocast (bf16/fp16 gradients): the running mean it updates is fp32
    return grad.float().square().sum(2).mean(1).sqrt()


def real_sign(real: Tensor, boundary: Tensor | float = 0.0) -> Tensor:
    """ADA's overfitting heuristic for one batch of real images (Karras et al. 2020):
    E[sign(D(x_real) − boundary)], the boundary being the score at which D cannot tell real from
    fake. Near 1, D is sure of every real image it sees (it is memorising them); near 0, it is
    undecided. Logged by every image model's D phase as `real_sign`; `train.augment=ada` adapts
    its p from it."""
    return torch.sign(real.detach().float() - boundary).mean()


def critic_sign(real: Tensor, fake: Tensor) -> Tensor:
    """`real_sign` for a Wasserstein critic, whose scores have no fixed origin: each real score
    against the midpoint of the batch's mean real and mean fake scores."""
    boundary = (real.detach().mean() + fake.detach().mean()) / 2
    return real_sign(real, boundary)
