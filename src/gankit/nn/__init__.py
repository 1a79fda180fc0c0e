"""Building blocks shared across models."""

from gankit.nn.conditioning import (
    ConcatDiscriminator,
    ConditionalGenerator,
    LabelEncoder,
    ProjectionDiscriminator,
)
from gankit.nn.conv import DCGANDiscriminator, DCGANGenerator
from gankit.nn.init import normal_init_
from gankit.nn.mlp import MLP, Maxout, MLPDiscriminator

__all__ = [
    "MLP",
    "ConcatDiscriminator",
    "ConditionalGenerator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "LabelEncoder",
    "MLPDiscriminator",
    "Maxout",
    "ProjectionDiscriminator",
    "normal_init_",
]
