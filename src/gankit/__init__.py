"""gankit: Generative Adversarial Networks, from the 2014 GAN to StyleGAN, in one framework.

>>> import gankit
>>> result = gankit.train("dcgan", "digits", steps=500)
>>> images = gankit.load(result.run_dir).sample(16, seed=0)   # [16, 1, 32, 32] in [-1, 1]
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gankit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+local"

from gankit.api import train
from gankit.data import DATASETS, DataConfig, DataInfo, build_dataset
from gankit.errors import GankitError, TrainingDiverged
from gankit.handle import Generator, load
from gankit.models import MODELS, GANModel, Phase
from gankit.training.config import RunConfig, TrainConfig
from gankit.training.trainer import Trainer, TrainResult

__all__ = [
    "DATASETS",
    "MODELS",
    "DataConfig",
    "DataInfo",
    "GANModel",
    "GankitError",
    "Generator",
    "Phase",
    "RunConfig",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingDiverged",
    "__version__",
    "build_dataset",
    "load",
    "train",
]
