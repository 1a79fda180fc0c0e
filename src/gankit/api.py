"""The Python API behind the CLI: train (or resume) a run, and load a trained generator."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gankit.config import merge, parse_override, set_path
from gankit.errors import GankitError
from gankit.training.checkpoint import load_checkpoint
from gankit.training.config import RunConfig, resolve_run_config
from gankit.training.trainer import Trainer, TrainResult

log = logging.getLogger("gankit")

# what a resumed run may change: everything else would make it a different run
_RESUME_MAY_CHANGE = {
    "steps",
    "device",
    "precision",
    "log_every",
    "sample_every",
    "checkpoint_every",
    "keep_checkpoints",
    "tensorboard",
    "progress",
    "compile",
    "threads",
}


def _flags(
    steps: int | None,
    batch_size: int | None,
    resolution: int | None,
    seed: int | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    train = {"steps": steps, "batch_size": batch_size, "seed": seed, **(extra or {})}
    flags: dict[str, Any] = {"train": {k: v for k, v in train.items() if v is not None}}
    if resolution is not None:
        flags["data"] = {"resolution": resolution}
    return flags


def train(
    model: str | None = None,
    data: str | None = None,
    *,
    steps: int | None = None,
    batch_size: int | None = None,
    resolution: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    init: str | Path | None = None,
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    train_options: Mapping[str, Any] | None = None,
    reraise_signal: bool = True,
) -> TrainResult:
    """Train `model` on `data` (or continue the run `resume`) and return the result.

    Args:
        model: a registered model name, e.g. "dcgan".
        data: a dataset spec, e.g. "digits", "grid25", "folder:~/faces".
        steps: generator updates (None: the preset's, else the model's default).
        batch_size: the global batch size (None: likewise).
        resolution: the image side length (None: likewise).
        seed: the random seed (None: the preset's, else 0).
        out: the run directory (default runs/MODEL-DATA-TIME).
        resume: a run directory or checkpoint to continue from, bit-exactly on CPU.
        init: fine-tuning: a run directory or checkpoint of the same model whose weights (G,
            D, EMA) the new run starts from, with fresh optimisers (`train.init`).
        config: a YAML file of overrides (sections model, data, train).
        overrides: "key=value" strings, e.g. ["model.gp_weight=5", "train.precision=bf16"].
        train_options: more `train.*` values, e.g. {"progress": False}.
        reraise_signal: a SIGINT or SIGTERM during training finishes the step and writes a
            checkpoint; then (True, the default) the signal goes on to the handler the calling
            program had (Ctrl-C raises KeyboardInterrupt, SIGTERM's default action ends the
            process), so a host program or job scheduler still stops; False returns a result
            with `stopped_early` instead (what the `gankit` command does).

    Example:
        >>> result = gankit.train("dcgan", "digits", steps=500)
        >>> gankit.load(result.run_dir).sample(16)
    """
    if init is not None:
        train_options = {**(train_options or {}), "init": str(init)}
    flags = _flags(steps, batch_size, resolution, seed, train_options)
    if resume is not None:
        return _resume(resume, model, data, flags, overrides, out, reraise_signal)
    if model is None or data is None:
        raise GankitError("train needs a model and a dataset (or a run to resume)")
    cfg = resolve_run_config(
        model, data, config_file=str(config) if config else None, flags=flags, sets=overrides
    )
    trainer = Trainer(cfg, run_dir=out)
    return _fit(trainer, reraise_signal)


def _fit(trainer: Trainer, reraise_signal: bool) -> TrainResult:
    info = trainer.model.info
    log.info(
        "training %s on %s (%d samples of shape %s) on %s; writing %s",
        trainer.config.model_name,
        info.name,
        len(trainer.stream.dataset),
        "×".join(map(str, info.shape)),
        trainer.device,
        trainer.run_dir,
    )
    try:
        return trainer.fit(reraise_signal=reraise_signal)
    finally:
        trainer.close()


def _resume(
    run: str | Path,
    model: str | None,
    data: str | None,
    flags: dict[str, Any],
    overrides: Sequence[str],
    out: str | Path | None,
    reraise_signal: bool,
) -> TrainResult:
    tensors, meta, path = load_checkpoint(run)
    saved = meta["config"]
    if model is not None and model != saved["model"]["name"]:
        raise GankitError(f"{run} is a {saved['model']['name']} run, not {model}")
    if data is not None and data != saved["data"]["spec"]:
        raise GankitError(f"{run} was trained on {saved['data']['spec']}, not {data}")
    if out is not None:
        raise GankitError("--out cannot be combined with --resume (the run keeps its directory)")
    tree = merge(saved, flags)
    for text in overrides:
        key, value = parse_override(text)
        set_path(tree, key, value)
    cfg = RunConfig.from_dict(tree)
    _check_resume_changes(RunConfig.from_dict(saved).to_dict(), cfg.to_dict())
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    if cfg.train.steps <= meta["step"]:  # nothing to do: leave the run exactly as it is
        log.info(
            "%s is already at step %d, %s --steps %d: nothing to train (give more steps to "
            "continue it)",
            run_dir,
            meta["step"],
            "at" if cfg.train.steps == meta["step"] else "past",
            cfg.train.steps,
        )
        trainer = Trainer(cfg, checkpoint=(tensors, meta), write=False)
        trainer.close()
        return TrainResult(run_dir, trainer.step, trainer.model, trainer.ema, {}, already_done=True)
    log.info("resuming %s from step %d", run_dir, meta["step"])
    return _fit(Trainer(cfg, run_dir=run_dir, checkpoint=(tensors, meta)), reraise_signal)


def _check_resume_changes(before: dict[str, Any], after: dict[str, Any]) -> None:
    changed = [
        f"{section}.{key}"
        for section in ("model", "data", "train")
        for key in set(before[section]) | set(after[section])
        if before[section].get(key) != after[section].get(key)
        and not (section == "train" and key in _RESUME_MAY_CHANGE)
    ]
    if changed:
        raise GankitError(
            "a resumed run cannot change " + ", ".join(sorted(changed)) + " (start a new run)"
        )
