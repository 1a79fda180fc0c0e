"""Models, one module per paper; importing this package registers them all."""

from gankit.models import (  # noqa: F401  (registers the models)
    biggan,
    cogan,
    cyclegan,
    dcgan,
    gan,
    infogan,
    lsgan,
    pix2pix,
    progan,
    sagan,
    srgan,
    stylegan,
    text2image,
    wgan,
)
from gankit.models.base import MODELS, GANModel, ModelConfig, OptimConfig, Phase, register_model

__all__ = ["MODELS", "GANModel", "ModelConfig", "OptimConfig", "Phase", "register_model"]
