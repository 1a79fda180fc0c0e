"""Models, one module per paper; importing this package registers them all."""

from gankit.models import dcgan, gan, infogan, lsgan, wgan  # noqa: F401  (registers the models)
from gankit.models.base import MODELS, GANModel, ModelConfig, OptimConfig, Phase, register_model

__all__ = ["MODELS", "GANModel", "ModelConfig", "OptimConfig", "Phase", "register_model"]
