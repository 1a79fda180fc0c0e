"""Self-attention over the positions of a feature map (Zhang et al. 2019, "Self-Attention
Generative Adversarial Networks")."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class SelfAttention2d(nn.Module):
    """SAGAN's self-attention block: every position attends to every other one.

    With queries θ(x), keys φ(x) and values g(x) (1×1 convolutions), the attention map is
    softmax over positions of θᵀφ, and the block returns x + γ·o(g·attentionᵀ), with the learned
    scale γ starting at 0, so that the network first relies on local features and learns to
    use the non-local ones (the paper's Section 4).

    The layout is that of SAGAN's released code, which BigGAN reuses: θ and φ have C/8
    channels, g has C/2, φ and g are max-pooled 2×2 (4× fewer keys: cheaper, same reach), and
    an output 1×1 convolution o maps the C/2 values back to C channels; no biases. (The paper's
    first arXiv version describes an unpooled value path of C channels and no o; its final
    version adds o with C/8 values. `value_div` and `pool` select those variants.)

    Args:
        channels: C, the feature map's channels (at least `key_div`).
        key_div: C / channels of θ and φ.
        value_div: C / channels of g.
        pool: max-pool keys and values 2×2 (the feature map's sides must then be even).

    Shapes: x [B, C, H, W] -> [B, C, H, W].
    """

    def __init__(
        self, channels: int, *, key_div: int = 8, value_div: int = 2, pool: bool = True
    ) -> None:
        super().__init__()
        if channels < key_div or channels < value_div:
            raise ValueError(f"self-attention needs at least {key_div} channels, got {channels}")
        keys, values = channels // key_div, channels // value_div
        self.pool = pool
        self.theta = nn.Conv2d(channels, keys, 1, bias=False)
        self.phi = nn.Conv2d(channels, keys, 1, bias=False)
        self.g = nn.Conv2d(channels, values, 1, bias=False)
        self.o = nn.Conv2d(values, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def _keys_and_values(self, x: Tensor) -> tuple[Tensor, Tensor]:
        phi, g = self.phi(x), self.g(x)
        if self.pool:
            phi, g = F.max_pool2d(phi, 2), F.max_pool2d(g, 2)
        return phi.flatten(2), g.flatten(2)  # [B, C/8, M], [B, C/2, M]

    def attention(self, x: Tensor) -> Tensor:
        """The attention map [B, N, M]: row i weighs the M (pooled) positions that position i
        of the N = H·W attends to; each row sums to 1."""
        theta = self.theta(x).flatten(2)  # [B, C/8, N]
        phi, _ = self._keys_and_values(x)
        return torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # [B, N, M]

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).flatten(2)  # [B, C/8, N]
        phi, g = self._keys_and_values(x)  # [B, C/8, M], [B, C/2, M]
        beta = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # [B, N, M]
        attended = (g @ beta.transpose(1, 2)).reshape(b, -1, h, w)  # [B, C/2, H, W]
        return x + self.gamma * self.o(attended)
