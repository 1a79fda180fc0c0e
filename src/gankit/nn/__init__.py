"""Building blocks shared across models."""

from gankit.nn.attention import SelfAttention2d
from gankit.nn.biggan import (
    BigGANDiscriminator,
    BigGANGenerator,
    ClassBatchNorm2d,
    ConditionalBatchNorm2d,
)
from gankit.nn.conditioning import (
    ConcatDiscriminator,
    ConditionalGenerator,
    LabelEncoder,
    ProjectionDiscriminator,
)
from gankit.nn.conv import DCGANDiscriminator, DCGANGenerator
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm
from gankit.nn.init import normal_init_
from gankit.nn.mlp import MLP, Maxout, MLPDiscriminator
from gankit.nn.spectral import spectral_norm_
from gankit.nn.style import AdaIN, MappingNetwork, ModulatedConv2d, NoiseInput

__all__ = [
    "MLP",
    "AdaIN",
    "BigGANDiscriminator",
    "BigGANGenerator",
    "ClassBatchNorm2d",
    "ConcatDiscriminator",
    "ConditionalBatchNorm2d",
    "ConditionalGenerator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "EqualizedConv2d",
    "EqualizedLinear",
    "LabelEncoder",
    "MLPDiscriminator",
    "MappingNetwork",
    "Maxout",
    "MinibatchStdDev",
    "ModulatedConv2d",
    "NoiseInput",
    "PixelNorm",
    "ProjectionDiscriminator",
    "SelfAttention2d",
    "normal_init_",
    "spectral_norm_",
]
