"""The Trainer (the one training loop), run configs, checkpoints and EMA."""

from gankit.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from gankit.training.config import RunConfig, TrainConfig, resolve_run_config
from gankit.training.ema import EMA
from gankit.training.trainer import Trainer, TrainResult

__all__ = [
    "EMA",
    "RunConfig",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "list_checkpoints",
    "load_checkpoint",
    "resolve_run_config",
    "save_checkpoint",
]
