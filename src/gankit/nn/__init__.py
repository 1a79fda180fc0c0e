"""Building blocks shared across models."""

from gankit.nn.conv import DCGANDiscriminator, DCGANGenerator
from gankit.nn.init import normal_init_
from gankit.nn.mlp import MLP, Maxout

__all__ = ["MLP", "DCGANDiscriminator", "DCGANGenerator", "Maxout", "normal_init_"]
