"""Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial
Networks"), switched on for a whole network at once.

Each weight W is replaced by W / σ(W), σ estimated by one step of power iteration per training
forward pass. The work is done by PyTorch's own `torch.nn.utils.parametrizations.spectral_norm`:
the raw weight stays a parameter (`…parametrizations.weight.original`) and the power-iteration
vectors `u`, `v` are buffers (`…parametrizations.weight.0._u`/`_v`), so state dicts hold plain
tensors (safetensors) and a resumed run continues the iteration exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

# the layers whose weights are normalised: every affine map of a GAN (an embedding is one, applied
# to one-hot vectors: SAGAN's and BigGAN's projection discriminators normalise theirs)
NORMALISED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def spectral_norm_(
    module: nn.Module,
    *,
    exclude: Iterable[nn.Module] = (),
    n_power_iterations: int = 1,
    eps: float = 1e-12,
) -> nn.Module:
    """Spectrally normalise every Conv/Linear/Embedding weight inside `module`, in place.

    Call it after initialising the weights: registration runs 15 power iterations on the
    current weight, so that σ is well estimated from the first step on.

    Args:
        exclude: modules left alone, with everything inside them (BigGAN's shared class
            embedding in G, which the authors found SN to cripple).
        n_power_iterations: power-iteration steps per training forward pass (1 in the papers).
        eps: added to norms in the power iteration.

    Returns:
        `module`, for chaining.
    """
    skipped = {id(m) for e in exclude for m in e.modules()}
    for m in list(module.modules()):
        if isinstance(m, NORMALISED) and id(m) not in skipped and not is_spectral_normed(m):
            # a transposed convolution's output channels are its weight's dim 1
            dim = 1 if isinstance(m, nn.ConvTranspose2d) else 0
            spectral_norm(m, n_power_iterations=n_power_iterations, eps=eps, dim=dim)
    return module


def is_spectral_normed(module: nn.Module) -> bool:
    """Whether `module.weight` is spectrally normalised."""
    return parametrize.is_parametrized(module, "weight")


def spectral_normed(module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """(name, layer) of every spectrally normalised layer inside `module`."""
    for name, m in module.named_modules():
        if is_spectral_normed(m):
            yield name, m


def largest_singular_value(weight: Tensor, dim: int = 0) -> Tensor:
    """σ_max of a weight seen as a matrix [weight.shape[dim], rest] (what SN divides by)."""
    matrix = weight.detach().movedim(dim, 0).flatten(1)
    return torch.linalg.matrix_norm(matrix.float(), ord=2)
