"""Weight initialisation used by the papers."""

from __future__ import annotations

from torch import nn


def normal_init_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN's init (also PacGAN's): conv/linear weights ~ N(0, std), norm scales ~ N(1, std),
    biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif (
            isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.GroupNorm | nn.LayerNorm)
            and m.weight is not None
        ):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module
