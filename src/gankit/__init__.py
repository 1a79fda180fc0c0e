"""gankit: Generative Adversarial Networks, from the 2014 GAN to StyleGAN, in one framework.

>>> import gankit
>>> result = gankit.train("dcgan", "digits", steps=500)
>>> images = gankit.load(result.run_dir).sample(16, seed=0)   # [16, 1, 32, 32] in [-1, 1]
"""

from gankit.threads import limit_spinning

limit_spinning()  # before PyTorch loads: see gankit.threads

from importlib.metadata import PackageNotFoundError, version  # noqa: E402

try:
    __version__ = version("gankit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+local"

from gankit.api import train  # noqa: E402
from gankit.data import DATASETS, DataConfig, DataInfo, build_dataset  # noqa: E402
from gankit.errors import GankitError, TrainingDiverged  # noqa: E402
from gankit.handle import Generator, load  # noqa: E402
from gankit.models import MODELS, GANModel, Phase  # noqa: E402
from gankit.training.config import RunConfig, TrainConfig  # noqa: E402
from gankit.training.trainer import Trainer, TrainResult  # noqa: E402

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
