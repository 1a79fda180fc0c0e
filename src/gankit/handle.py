"""The generator handle: a trained model loaded for inference."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models.base import GANModel
from gankit.training.checkpoint import load_checkpoint, subdict
from gankit.training.config import RunConfig


class Generator:
    """A trained model ready to sample, used by the CLI, the metrics and the UI.

    Attributes:
        model: the GANModel (eval mode), with EMA weights in its generator when loaded so.
        config: the run's resolved config.
        info: what the model was trained on.
        step: the checkpoint's training step.
        uses_ema: whether the generator holds the EMA weights.
        path: the checkpoint's JSON file.
    """

    def __init__(
        self, model: GANModel, config: RunConfig, step: int, uses_ema: bool, path: Path
    ) -> None:
        self.model = model
        self.config = config
        self.step = step
        self.uses_ema = uses_ema
        self.path = path

    @property
    def info(self) -> DataInfo:
        return self.model.info

    @property
    def run_dir(self) -> Path:
        return (
            self.path.parent.parent if self.path.parent.name == "checkpoints" else self.path.parent
        )

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Tensor | None = None,
        batch_size: int = 500,
    ) -> Tensor:
        """n samples as a CPU float tensor (images [n, C, H, W] in [-1, 1], points [n, D]).

        The same seed gives the same samples.
        """
        if n < 1:
            raise GankitError(f"the number of samples must be positive, got {n}")
        gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
        z = self.model.sample_latent(n, generator=gen)
        out = []
        for start in range(0, n, batch_size):
            y = None if labels is None else labels[start : start + batch_size].to(z.device)
            out.append(self.model.generate(z[start : start + batch_size], y).float().cpu())
        return torch.cat(out)


def load(run: str | Path, *, device: str | torch.device = "cpu", ema: bool = True) -> Generator:
    """Load a run directory (its newest checkpoint) or a checkpoint for sampling.

    Args:
        run: a run directory or a checkpoint file.
        device: where to put the model.
        ema: use the EMA generator weights when the run kept them.

    Raises:
        GankitError: `run` is not a gankit run, or its checkpoint does not fit its model.
    """
    tensors, meta, path = load_checkpoint(run)
    config = RunConfig.from_dict(meta["config"])
    info = DataInfo.from_dict(meta["data_info"])
    model = config.model_cls(config.model, info)
    try:
        model.load_state_dict(subdict(tensors, "model"))
        uses_ema = bool(ema and meta.get("ema"))
        if uses_ema:
            averaged = subdict(tensors, "ema")
            for name in model.ema_targets:
                getattr(model, name).load_state_dict(subdict(averaged, name))
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise GankitError(f"{path} does not match its model: {first}") from None
    model.requires_grad_(False).eval().to(device)
    return Generator(model, config, int(meta["step"]), uses_ema, path)
