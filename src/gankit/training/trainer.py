"""The Trainer: the one training loop of gankit."""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from gankit.augment import Augmentation
from gankit.config import dump_yaml
from gankit.data.base import Batch, DataInfo, build_dataset, spec_kind
from gankit.data.loader import BatchStream
from gankit.errors import GankitError, RunStopped, TrainingDiverged, WriteError
from gankit.files import make_dirs, write_text, writing
from gankit.models.base import GANModel, make_optimizer
from gankit.training import distributed as dist
from gankit.training.checkpoint import (
    check_same_parameters,
    checkpoint_name,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    remove_leftovers,
    save_checkpoint,
    subdict,
)
from gankit.training.config import RunConfig
from gankit.training.ema import EMA
from gankit.training.memory import check_training, is_out_of_memory, out_of_memory_error
from gankit.training.rundir import (
    LOCK,
    RunLock,
    check_new_run_dir,
    check_not_foreign,
    mark_run,
)
from gankit.training.runlog import LossTracker, RunLogger, require_tensorboard
from gankit.training.state import (
    capture_rng,
    environment,
    environment_changes,
    join_optimizer_state,
    restore_rng,
    seed_everything,
    split_optimizer_state,
)
from gankit.viz.grid import image_grid, save_samples

log = logging.getLogger("gankit")


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves: its directory, step, model and last logs."""

    run_dir: Path | None
    step: int
    model: GANModel
    ema: EMA | None
    logs: dict[str, float]
    stopped_early: bool = False
    already_done: bool = False  # a resumed run already at its steps: nothing was trained


def default_run_dir(config: RunConfig, root: Path = Path("runs")) -> Path:
    dataset = config.data.spec.split(":")[0]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / f"{config.model_name}-{dataset}-{stamp}"
    n = 1
    while path.exists():
        path = root / f"{config.model_name}-{dataset}-{stamp}-{n}"
        n += 1
    return path


class Trainer:
    """Trains a GANModel phase by phase: backward, gradient averaging across ranks, optimiser
    steps, EMA, mixed precision, checkpoints, logs, progress bar and sample grids.

    Args:
        config: the resolved run config.
        run_dir: where to write (created); None picks `runs/MODEL-DATA-TIME`. With `write=False`
            nothing is written at all (for tests and benchmarks of the step itself).
        checkpoint: (tensors, metadata) of a checkpoint to continue from (`load_checkpoint`).
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        run_dir: str | Path | None = None,
        checkpoint: tuple[dict[str, Tensor], dict[str, Any]] | None = None,
        write: bool = True,
    ) -> None:
        self.config = config
        self.dist = dist.from_environment()
        self.device = dist.select_device(config.train.device, self.dist)
        self._check_precision()
        if config.train.tensorboard:
            require_tensorboard()  # before anything is built or written
        dist.init_process_group(self.dist, self.device)
        self.write = write and self.dist.is_main
        self.step = 0
        self.elapsed = 0.0  # training seconds of finished `fit` calls (and of the checkpoint)
        self._fit_start: float | None = None  # when the running `fit` call started
        self._stop_signal: int | None = None
        self.lock: RunLock | None = None
        self._created = False  # whether this start created the run directory
        self.run_dir: Path | None = None
        resumed = checkpoint is not None
        claimed = None
        try:
            if write and run_dir is not None:  # refuse a directory in use before building
                claimed = self._on_main(lambda: self._claim(Path(run_dir).expanduser(), resumed))
            self._build(fresh=not resumed)
            if checkpoint is not None:
                self._restore(*checkpoint)
            if write:
                self.run_dir = self._on_main(lambda: self._open_run_dir(claimed, resumed))
        except BaseException:
            self._abandon(claimed, resumed)
            raise

    @property
    def _stop_requested(self) -> bool:
        return self._stop_signal is not None

    # ----------------------------------------------------------------- set-up
    def _check_precision(self) -> None:
        precision = self.config.train.precision
        if precision == "fp16" and self.device.type != "cuda":
            raise GankitError("fp16 training needs a CUDA device; on this machine use bf16")
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)

    def _build(self, *, fresh: bool) -> None:
        cfg, t = self.config, self.config.train
        model_cls = cfg.model_cls
        if t.threads:
            torch.set_num_threads(t.threads)
        if cfg.data.resolution is None and model_cls.default_resolution:
            cfg.data = replace(cfg.data, resolution=model_cls.default_resolution)
        if t.batch_size % self.dist.world_size:
            raise GankitError(
                f"batch size {t.batch_size} does not split over {self.dist.world_size} processes"
            )
        kind = spec_kind(cfg.data.spec)
        model_cls.check_kind(kind, cfg.data.spec)  # before reading any data
        if t.augment != "none" and kind == "points":
            raise GankitError(
                f"train.augment={t.augment} transforms images, but {cfg.data.spec!r} holds "
                "points: use train.augment=none"
            )
        if cfg.data.resolution is not None and kind != "points":  # points have no resolution
            model_cls.check_resolution(cfg.model, cfg.data.resolution)
        seed_everything(t.seed)  # identical initial weights on every rank
        dataset = build_dataset(cfg.data)
        info = dataset.info
        cfg.data = replace(cfg.data, resolution=info.resolution)  # record what was used
        model_cls.check_data(cfg.model, info)
        note = model_cls.schedule_note(cfg.model, info, t.steps, t.batch_size)
        if note and self.dist.is_main:
            log.warning(note)
        per_rank = t.batch_size // self.dist.world_size
        some = dataset.batch(torch.arange(min(per_rank, len(dataset))))
        check_training(model_cls, cfg.model, info, some, per_rank, self.device)
        try:
            self.model = model_cls(cfg.model, info)
        except Exception as err:
            if is_out_of_memory(err):
                raise out_of_memory_error(err, f"building {model_cls.name}") from None
            raise
        init_ema = None
        if fresh:
            self.model.load_pretrained()
            if t.init is not None:
                init_ema = self._initialise_from(t.init)
        self.model.to(self.device)
        self.memory_format = (
            torch.channels_last
            if (model_cls.channels_last(cfg.model) if t.channels_last is None else t.channels_last)
            and info.kind != "points"
            and self.device.type in ("cpu", "cuda")
            else torch.contiguous_format
        )
        self.model.to(memory_format=self.memory_format)  # type: ignore[call-overload]
        dist.broadcast_module(self.model, self.dist)
        self.phases = self.model.phases()
        self.optimizers = self._make_optimizers()
        self.scalers = [
            torch.amp.GradScaler("cuda", enabled=t.precision == "fp16") for _ in self.phases
        ]
        use_ema = model_cls.default_ema if t.ema is None else t.ema
        self.ema = (
            EMA(self.model, model_cls.ema_targets, t.ema_decay, t.ema_start) if use_ema else None
        )
        if self.ema is not None and init_ema:  # else the average starts from the loaded G
            self.ema.load_state_dict(init_ema)
        self.augment: Augmentation | None = None
        if t.augment != "none":
            self.augment = Augmentation(
                t.augment,
                policy=t.diffaugment,
                pipe=t.ada_pipe,
                p=t.ada_p,
                target=t.ada_target,
                interval=t.ada_interval,
                kimg=t.ada_kimg,
                batch_size=t.batch_size,
                device=self.device,
            )
            self.augment.install(self.model, self.model.augmented_inputs())
        self._stats_step = -1  # the step whose EMA batch-norm statistics are estimated
        self.stream = BatchStream(
            dataset.to(self.device),
            t.batch_size // self.dist.world_size,
            seed=t.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            device=self.device,
        )
        if self.dist.enabled:  # each rank draws its own noise
            torch.manual_seed(t.seed * 1000 + self.dist.rank + 1)
        if self.model.shows_data:  # progress shown on the data's first examples
            shown = torch.arange(min(t.samples, len(dataset)))
            self.fixed_batch = {k: v.to(self.device) for k, v in dataset.batch(shown).items()}
        else:
            gen = torch.Generator().manual_seed(t.seed)
            self.fixed_z = self.model.sample_latent(t.samples, generator=gen)
            self.fixed_y = self._fixed_labels(info, t.samples) if self.model.conditional else None
        self._phase_params, self._reused = self._plan_reuse(
            model_cls.default_reuse_fake if t.reuse_fake is None else t.reuse_fake
        )
        self._batches: dict[str, Batch] = {}  # a phase's batch, for the phase that reuses it
        if t.compile:
            self._compile()

    def _plan_reuse(self, reuse: bool) -> tuple[list[set[int]], set[str]]:
        """The ids of the parameters that get gradients in each phase, and the names of the
        phases whose generator output (and batch) a later phase continues from. A phase's
        gradients are its own, and with `reuse` also those of the phase that continues from it
        (`Phase.reuses`), so that the graph it builds can serve that phase."""
        names = [phase.name for phase in self.phases]
        reused: set[str] = set()
        grads = [{id(p) for p in phase.params} for phase in self.phases]
        for index, phase in enumerate(self.phases):
            if phase.reuses is None or not reuse:
                continue
            source = names.index(phase.reuses)
            if source != index - 1 or self.phases[source].repeat != 1 or phase.every != 1:
                raise ValueError(
                    f"phase {phase.name} reuses {phase.reuses}, not the phase just "
                    "before it run once per step"
                )
            grads[source] |= grads[index]
            reused.add(phase.reuses)
        return grads, reused

    def _compile(self) -> None:
        """torch.compile the model's networks (G, D and any others) in place, so that their
        parameter names, and so checkpoints, stay as they are."""
        for module in self.model.children():
            module.compile()

    def _initialise_from(self, source: str) -> dict[str, Tensor] | None:
        """Load another run's weights into the new model (`train.init`); record the checkpoint
        it came from in the config; return its EMA weights (None when it kept none)."""
        try:
            tensors, meta, path = load_checkpoint(source)
        except GankitError as err:
            raise GankitError(f"--init: {err}") from None
        name = self.config.model_name
        saved = meta["config"]["model"]["name"]
        if saved != name:
            raise GankitError(
                f"--init {source} is a {saved} run: a {name} run can start only from the weights "
                f"of another {name} run"
            )
        weights_in = subdict(tensors, "model")
        own = self.model.state_dict()
        fresh = _networks_absent(own, weights_in)
        check_same_parameters(
            {k: v for k, v in own.items() if k.split(".", 1)[0] not in fresh}, weights_in, source
        )
        self.model.load_state_dict(weights_in, strict=not fresh)
        if fresh:
            names = ", ".join(sorted(fresh))
            log.info("%s has no %s: %s starts fresh", source, names, names)
        weights = path.with_suffix(".safetensors").resolve()
        self.config.train = replace(self.config.train, init=str(weights))
        log.info("starting from the weights of %s (step %d)", weights, meta["step"])
        return subdict(tensors, "ema") if meta.get("ema") else None

    def _make_optimizers(self) -> list[torch.optim.Optimizer]:
        """One optimiser per phase, except phases that step an earlier phase's (`shares`)."""
        owned: dict[str, torch.optim.Optimizer] = {}
        out = []
        for phase in self.phases:
            if phase.shares is None:
                opt = owned[phase.name] = make_optimizer(phase.params, phase.optim)
            else:
                if phase.shares not in owned:
                    raise ValueError(f"phase {phase.name} shares unknown phase {phase.shares}")
                opt = owned[phase.shares]
                known = {id(p) for group in opt.param_groups for p in group["params"]}
                if not all(id(p) in known for p in phase.params):
                    raise ValueError(f"phase {phase.name} updates params {phase.shares} does not")
            out.append(opt)
        return out

    def _fixed_labels(self, info: DataInfo, n: int) -> Tensor | None:
        if not info.num_classes:
            return None
        return (torch.arange(n) % info.num_classes).to(self.device)

    def _on_main(self, make: Callable[[], Path]) -> Path:
        """`make()` on rank 0, its result (a path) on every rank; rank 0's error is raised on
        every rank, so that no rank is left waiting for the others."""
        outcome: tuple[str, str] = ("error", "")
        if self.dist.is_main:
            try:
                outcome = ("ok", str(make()))
            except GankitError as err:
                outcome = ("error", str(err))
        status, text = dist.broadcast_object(outcome, self.dist)
        if status == "error":
            raise GankitError(text)
        return Path(text)

    def _claim(self, path: Path, resumed: bool) -> Path:
        """Lock the run directory `path` (rank 0): a new run needs a new or empty directory."""
        if not resumed:
            check_not_foreign(path)  # before a lock file is written there
        self._created = not path.exists()
        self.lock = RunLock(path)  # refused at once while another process trains this run
        if not resumed:
            check_new_run_dir(path)  # now that no other process can be writing it
        return path

    def _open_run_dir(self, claimed: Path | None, resumed: bool) -> Path:
        """Rank 0 makes the run directory its own: the default path is claimed now; leftovers of
        an interrupted run are removed, newer checkpoints of a resumed branch set aside; then
        the marker and the resolved config are written."""
        path = claimed or self._claim(default_run_dir(self.config), resumed)
        remove_leftovers(path)
        if resumed:
            self._set_aside_newer_checkpoints(path / "checkpoints")
        for sub in ("checkpoints", "samples"):
            make_dirs(path / sub)
        mark_run(path)
        write_text(path / "config.yaml", dump_yaml(self.config.to_dict()))
        return path

    def _abandon(self, claimed: Path | None, resumed: bool) -> None:
        """Undo a start that failed: release the lock, and remove the directory if this start
        created it and wrote nothing else there."""
        if self.lock is None:
            return
        self._release()
        if claimed is not None and not resumed and self._created:
            with contextlib.suppress(OSError):
                (claimed / LOCK).unlink()
                claimed.rmdir()

    def _set_aside_newer_checkpoints(self, directory: Path) -> None:
        """Resuming from an older checkpoint starts a new branch: its newer checkpoints move to
        checkpoints/superseded-TIME/ (kept, but no longer taken for the run's latest)."""
        newer = [(s, p) for s, p in list_checkpoints(directory) if s > self.step]
        if not newer:
            return
        aside = directory / f"superseded-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        make_dirs(aside)
        with writing(aside):
            for _, json_path in newer:
                json_path.rename(aside / json_path.name)
                weights = json_path.with_suffix(".safetensors")
                weights.rename(aside / weights.name)
        log.warning("moved %d newer checkpoint(s) to %s", len(newer), aside)

    # ----------------------------------------------------------------- loop
    def fit(self, *, reraise_signal: bool = False) -> TrainResult:
        """Train up to `train.steps` and return.

        A first SIGINT or SIGTERM finishes the current step, writes a checkpoint and stops (a
        second aborts). With `reraise_signal` the signal is then delivered again to the handler
        that was in place before training (KeyboardInterrupt for Ctrl-C; SIGTERM's default
        action ends the process), so a program or job scheduler that sent it still stops;
        without, `fit` returns a result with `stopped_early` (what the CLI does).

        Raises:
            RunStopped: a file of the run could not be written (a full disk), or a loss became
                NaN (`TrainingDiverged`); the last complete checkpoint is intact.
        """
        if self.write and self.run_dir is not None and self.lock is None:
            self.lock = RunLock(self.run_dir)  # a second `fit` of this trainer
        try:
            result = self._fit()
        except WriteError as err:
            raise RunStopped(f"{err}. {self._stopped_here()}") from None
        except Exception as err:
            if is_out_of_memory(err):
                raise out_of_memory_error(err, f"at step {self.step}") from None
            raise
        finally:  # the run is free as soon as its training returns
            self._release()
        if reraise_signal and self._stop_signal is not None:
            signal.raise_signal(self._stop_signal)  # the handlers before training are back
        return result

    def _stopped_here(self) -> str:
        """Where a stopped run stands and how to continue it."""
        kept = list_checkpoints(self.run_dir / "checkpoints") if self.run_dir else []
        if not kept:
            return f"Training stopped at step {self.step}."
        return (
            f"Training stopped at step {self.step}; the last complete checkpoint is step "
            f"{kept[-1][0]} ({kept[-1][1]}): continue with gankit train --resume {self.run_dir}"
        )

    def _fit(self) -> TrainResult:
        t = self.config.train
        logger = None
        if self.write and self.run_dir is not None:
            logger = RunLogger(self.run_dir, tensorboard=t.tensorboard)
            logger.truncate_after(self.step)
        tracker, last_logs = LossTracker(), dict[str, float]()
        bar = tqdm(
            total=t.steps,
            initial=self.step,
            disable=not (t.progress and self.dist.is_main),
            desc=self.run_dir.name if self.run_dir else self.config.model_name,
            unit="step",
            dynamic_ncols=True,
            mininterval=0.5 if sys.stderr.isatty() else 30.0,  # keep logs of piped runs short
        )
        try:
            if self.step == 0 and self.run_dir is not None:
                self._save_samples(logger)
                self._save_checkpoint(last_logs)  # a good state to return to, whatever happens
            mark = self._fit_start = time.perf_counter()
            mark_step = self.step
            with self._graceful_stop():
                while self.step < t.steps and not self._should_stop():
                    tracker.add(self.step, self.train_step(self.step))
                    self.step += 1
                    bar.update(1)
                    log_now = self._due(t.log_every)
                    sample_now = self.run_dir is not None and self._due(t.sample_every)
                    save_now = self.run_dir is not None and self._due(t.checkpoint_every)
                    if not (log_now or sample_now or save_now):
                        continue
                    self._check_finite(tracker)  # never sample or save a diverged model
                    if log_now:
                        now = time.perf_counter()
                        last_logs = self._record(tracker, now - mark, self.step - mark_step)
                        mark, mark_step = now, self.step
                        self._show(bar, last_logs, logger)
                    if sample_now:
                        self._save_samples(logger)
                    if save_now:
                        self._save_checkpoint(last_logs)
                if self.step < t.steps:  # stopped by a signal: keep this step's state
                    self._check_finite(tracker)
                    self._save_samples(logger)
                    self._save_checkpoint(last_logs)
        finally:
            bar.close()
            self.elapsed, self._fit_start = self.seconds_trained(), None
            if logger is not None:
                logger.close()
        return TrainResult(
            self.run_dir, self.step, self.model, self.ema, last_logs, self.step < t.steps
        )

    def seconds_trained(self) -> float:
        """Training seconds of the whole run so far, resumed parts included."""
        running = time.perf_counter() - self._fit_start if self._fit_start is not None else 0.0
        return self.elapsed + running

    def _due(self, every: int) -> bool:
        """True at multiples of `every` (never when 0) and at the last step."""
        return (every > 0 and self.step % every == 0) or self.step == self.config.train.steps

    def train_step(self, step: int) -> dict[str, Tensor]:
        """One training step: every phase due at `step`, each `runs_at(step)` times; then EMA."""
        logs: dict[str, Tensor] = {}
        self.model.set_progress(step * self.config.train.batch_size)
        for index, phase in enumerate(self.phases):
            if phase.lr_scale is not None:
                for group in self.optimizers[index].param_groups:
                    group["lr"] = phase.optim.lr * phase.lr_scale(step, self.config.train.steps)
            for _ in range(phase.runs_at(step)):
                out = self.update(index)
                logs.update({f"{phase.name}/{k}": v.detach() for k, v in out.items()})
        self.model.forget_generated()
        self._batches.clear()
        if self.ema is not None:
            self.ema.update(self.model, step)
        dist.average_buffers(self.model, self.dist)
        if self.augment is not None:
            self.augment.adjust(step, functools.partial(dist.all_reduce_sum, info=self.dist))
        return logs

    def update(self, index: int) -> dict[str, Tensor]:
        """One update of phase `index` on a fresh batch (or on the batch of the phase it
        `reuses`); returns the phase's losses."""
        phase, opt, scaler = self.phases[index], self.optimizers[index], self.scalers[index]
        owned = self._phase_params[index]
        for p in self.model.parameters():  # gradients only for what this phase updates
            p.requires_grad_(id(p) in owned)
        if phase.reuses in self._batches:  # the batch its generator output was made for
            batch = self._batches[phase.reuses]
        else:
            batch = {
                k: v.contiguous(memory_format=self.memory_format) if v.dim() == 4 else v
                for k, v in self.stream.next().items()
            }
        if phase.name in self._reused:
            self._batches[phase.name] = batch
        augmenting = self.augment.applied() if self.augment else contextlib.nullcontext()
        with self._autocast(), augmenting:
            out = self.model.loss(phase.name, batch)
        if self.augment is not None:
            self.augment.observe(out)
        opt.zero_grad(set_to_none=True)
        scaler.scale(out["loss"]).backward()
        dist.average_gradients(phase.params, self.dist)
        scaler.step(opt)
        scaler.update()
        if phase.after_step is not None:
            with torch.no_grad():
                phase.after_step()
        return out

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # ----------------------------------------------------------------- stop, guard, logs
    @contextlib.contextmanager
    def _graceful_stop(self) -> Iterator[None]:
        """First SIGINT/SIGTERM: finish the current step, checkpoint, return. Second: abort."""

        def handler(signum: int, frame: object) -> None:
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_signal = signum
            log.warning("stopping after this step (press Ctrl-C again to abort)")

        try:
            old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: leave signals alone
            yield
            return
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def _should_stop(self) -> bool:
        if not self.dist.enabled:
            return self._stop_requested
        if self.step % max(self.config.train.log_every, 1):  # agree only at log steps
            return False
        return dist.any_true(self._stop_requested, self.dist, self.device)

    def _check_finite(self, tracker: LossTracker) -> None:
        found = tracker.divergence()
        if not dist.any_true(found is not None, self.dist, self.device):
            return
        where = (
            f"{found[0]} became NaN or infinite at step {found[1] + 1}"
            if found
            else ("a loss became NaN or infinite on another process")
        )
        kept = list_checkpoints(self.run_dir / "checkpoints") if self.run_dir else []
        last = f"; the last good checkpoint is {kept[-1][1]}" if kept else ""
        raise TrainingDiverged(
            f"training diverged: {where}{last}. Try a lower learning rate, or --precision fp32."
        )

    def _record(self, tracker: LossTracker, seconds: float, steps: int) -> dict[str, float]:
        means = tracker.pop_means()
        t = self.config.train
        timing = {
            "epoch": self.stream.epoch,
            "time": round(self.seconds_trained(), 3),
            "sec_per_step": seconds / max(steps, 1),
            "samples_per_sec": steps * t.batch_size / max(seconds, 1e-9),
        }
        augment = self.augment.logs() if self.augment is not None else {}
        return {**means, **augment, **timing}

    def _show(self, bar: tqdm, logs: dict[str, float], logger: RunLogger | None) -> None:
        shown = {
            k.removeprefix("augment/"): f"{v:.3g}"
            for k, v in logs.items()
            if k.endswith(("/loss", "w_dist")) or k.startswith("augment/")
        }
        bar.set_postfix(shown, refresh=False)
        if logger is not None:
            logger.log(self.step, logs)

    # ----------------------------------------------------------------- samples
    @torch.no_grad()
    def sample_fixed(self) -> tuple[Tensor, int | None]:
        """The progress images (EMA weights when kept) as a CPU tensor, and their images per
        row: the fixed-z samples, or a translation model's preview of its fixed batch."""
        was_training = self.model.training
        self.model.set_progress(self.step * self.config.train.batch_size)
        self._refresh_ema_statistics()
        self.model.eval()
        # any randomness of sampling (pix2pix's test-time dropout) comes from its own seeded
        # stream: progress pictures must not move the training RNG, or a run that saved a
        # picture at a step would continue differently from one that did not
        cuda = [self.device] if self.device.type == "cuda" else []
        try:
            ctx = self.ema.swapped_into(self.model) if self.ema else contextlib.nullcontext()
            with ctx, torch.random.fork_rng(devices=cuda):
                torch.manual_seed(self.config.train.seed)
                if self.model.shows_data:
                    images, nrow = self.model.preview(self.fixed_batch)
                    return images.float().cpu(), nrow
                return self.model.generate(self.fixed_z, self.fixed_y).float().cpu(), None
        finally:
            self.model.train(was_training)

    def _save_samples(self, logger: RunLogger | None) -> None:
        if not self.write or self.run_dir is None:
            return
        samples, nrow = self.sample_fixed()
        path = self.run_dir / "samples" / f"{checkpoint_name(self.step)}.png"
        save_samples(samples, path, self.model.info, title=f"step {self.step}", nrow=nrow)
        if logger is not None and self.model.info.kind != "points":
            logger.image("samples", image_grid(samples, nrow=nrow), self.step)

    def _refresh_ema_statistics(self) -> None:
        """Standing batch-norm statistics for the averaged generator (see `EMA`), once per step
        at which it is sampled or saved; seeded by the step, so a resumed run matches."""
        if self.ema is None or self.model.shows_data or self._stats_step == self.step:
            return
        size, model = self.config.train.batch_size, self.model

        def draw(stream: torch.Generator) -> None:
            z = model.sample_latent(size, generator=stream)
            model.generate(z, model.sample_labels(size, generator=stream))

        self.ema.refresh_statistics(model, draw, seed=self.config.train.seed + self.step)
        self._stats_step = self.step

    # ----------------------------------------------------------------- checkpoints
    def _save_checkpoint(self, logs: dict[str, float]) -> None:
        tensors, meta = self._state()
        if not self.write or self.run_dir is None:
            return
        directory = self.run_dir / "checkpoints"
        save_checkpoint(directory, self.step, tensors, meta)
        prune_checkpoints(directory, self.config.train.keep_checkpoints)

    def _state(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Everything needed to continue bit-exactly (a collective call under torchrun)."""
        from gankit import __version__

        self.model.set_progress(self.step * self.config.train.batch_size)
        self._refresh_ema_statistics()
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
        optim_meta = {}
        for phase, opt in zip(self.phases, self.optimizers):
            if phase.shares is not None:  # saved with the phase that owns it
                continue
            t, m = split_optimizer_state(opt)
            tensors.update({f"optim.{phase.name}.{k}": v for k, v in t.items()})
            optim_meta[phase.name] = m
        augment_meta = None
        if self.augment is not None:
            augment_tensors, augment_meta = self.augment.state_dict()
            tensors.update({f"augment.{k}": v for k, v in augment_tensors.items()})
        plain, rng_tensors = capture_rng()
        ranks = dist.gather_objects((plain, rng_tensors), self.dist)
        for r, (_, ts) in enumerate(ranks):
            tensors.update({f"rng.{r}.{k}": v for k, v in ts.items()})
        meta = {
            "gankit_version": __version__,
            "config": self.config.to_dict(),
            "data_info": self.model.info.to_dict(),
            "ema": self.ema is not None,
            "optim": optim_meta,
            "scalers": [s.state_dict() for s in self.scalers],
            "rng": [p for p, _ in ranks],
            "stream": self.stream.state_dict(),
            "augment": augment_meta,
            "world_size": self.dist.world_size,
            "elapsed": self.seconds_trained(),  # so that a resumed run's clock continues
            "environment": environment(),
        }
        return tensors, meta

    def _restore(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        self.model.load_state_dict(subdict(tensors, "model"))
        self._stats_step = -1
        if self.ema is not None:
            if meta.get("ema"):
                self.ema.load_state_dict(subdict(tensors, "ema"))
            else:
                self.ema = EMA(self.model, self.ema.targets, self.ema.decay, self.ema.start)
        for phase, opt in zip(self.phases, self.optimizers):
            if phase.shares is not None:
                continue
            part = subdict(tensors, f"optim.{phase.name}")
            opt.load_state_dict(join_optimizer_state(part, meta["optim"][phase.name]))
        for scaler, state in zip(self.scalers, meta.get("scalers", [])):
            if state:
                scaler.load_state_dict(state)
        self.stream.load_state_dict(meta["stream"])
        if self.augment is not None and meta.get("augment"):
            self.augment.load_state_dict(subdict(tensors, "augment"), meta["augment"])
        self.step, self.elapsed = int(meta["step"]), float(meta.get("elapsed", 0.0))
        changes = environment_changes(meta.get("environment", {}))
        if changes:
            log.warning(
                "resuming in another environment (%s): the run continues, but not bit for bit "
                "as it would have where it started",
                ", ".join(changes),
            )
        rank = self.dist.rank
        if meta.get("world_size", 1) == self.dist.world_size:
            restore_rng(meta["rng"][rank], subdict(tensors, f"rng.{rank}"))
        else:
            log.warning(
                "resuming on %d processes a run saved on %d: the noise will differ from an "
                "uninterrupted run",
                self.dist.world_size,
                meta.get("world_size", 1),
            )
            seed_everything(self.config.train.seed + 7919 * (self.step + rank + 1))

    def close(self) -> None:
        """Release the run directory and the process group."""
        self._release()
        dist.shutdown(self.dist)

    def _release(self) -> None:
        """Drop the lock on the run directory, if this trainer holds it."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def _networks_absent(own: dict[str, Tensor], weights: dict[str, Tensor]) -> set[str]:
    """The model's networks (its top-level modules) of which `weights` hold nothing, provided
    they hold some other network: fine-tuning from a run that trained fewer networks (SRGAN from
    SRResNet, which has no D) starts those fresh. Weights sharing no network with the model are
    not a smaller run of it, and are left to the shape check to refuse."""
    networks = {key.split(".", 1)[0] for key in own}
    present = {key.split(".", 1)[0] for key in weights}
    return networks - present if networks & present else set()
