"""The `gankit` command. Thin: parses arguments, calls the Python API, reports errors."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gankit.errors import GankitError, RunStopped
from gankit.files import make_dirs, output_path

log = logging.getLogger("gankit")


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {value}")
        return value

    return parse


_positive, _seed = _int_at_least(1), _int_at_least(0)


def _port(text: str) -> int:
    value = _int_at_least(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 1..65535: {value}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


TRUNCATION_HELP = "truncation: redraw Gaussian latents beyond ±T, or StyleGAN's ψ in w (0 to 1)"


def _seed_list(text: str) -> list[int]:
    """`3,7,11` -> [3, 7, 11]."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected comma-separated seeds, got {text!r}")
    return [_seed(p) for p in parts]


def _seeds_or_latents(text: str) -> list[int] | Path:
    """`3,7,11` -> seeds; `me/latents.npy` -> the path of a latents file."""
    if text.lower().endswith(".npy"):
        return Path(text).expanduser()
    return _seed_list(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Train, sample and evaluate GANs.")
    parser.add_argument("--version", action="version", version=f"gankit {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list models and datasets")

    p = sub.add_parser(
        "train",
        help="train a model (or --resume a run)",
        epilog=_train_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", nargs="?", help="model name (listed below)")
    p.add_argument("--data", help="dataset spec (listed below): a name, or e.g. folder:PATH")
    p.add_argument("--steps", type=_positive, help="generator updates")
    p.add_argument("--batch-size", type=_positive, help="global batch size")
    p.add_argument("--resolution", type=_positive, help="image side length")
    p.add_argument("--seed", type=_seed, help="random seed (default 0)")
    p.add_argument("--out", help="run directory (default runs/MODEL-DATA-TIME)")
    p.add_argument("--resume", metavar="RUN", help="continue a run from its last checkpoint")
    p.add_argument(
        "--init",
        metavar="RUN",
        help="fine-tune: start from the weights of RUN (a run of the same model; or one of "
        "its checkpoints), with fresh optimisers",
    )
    p.add_argument("--config", help="YAML file of overrides (sections model, data, train)")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config value, e.g. --set model.gp_weight=5 (repeatable)",
    )
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], help="mixed precision")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--tensorboard", action="store_true", help="also log to TensorBoard")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the networks (slow first steps)"
    )
    p.add_argument(
        "--threads", type=_positive, help="CPU threads for PyTorch (default: one per core)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run", help="run directory or checkpoint")
    p.add_argument("-n", type=_positive, help="number of samples (default 64; per class: 8)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("-o", "--output", required=True, help=".png grid/plot or .npy raw samples")
    p.add_argument("--no-ema", action="store_true", help="use the raw (not averaged) generator")
    p.add_argument("--truncation", type=_nonnegative_float, metavar="T", help=TRUNCATION_HELP)
    p.add_argument("--class", dest="label", type=_seed, help="conditional models: this class only")
    p.add_argument(
        "--per-class",
        action="store_true",
        help="conditional models: a grid with one row of N per class (the default for them)",
    )
    p.add_argument(
        "--vary-code",
        metavar="CODE",
        help="infogan: sweep latent code CODE (c1, c2, ...) along each row of N",
    )
    p.add_argument(
        "--text",
        action="append",
        metavar="CAPTION",
        help="text-to-image models: draw N images of CAPTION (repeat for one row per caption)",
    )

    p = sub.add_parser("interpolate", help="walk the latent space between seeds")
    p.add_argument("run", help="run directory or checkpoint")
    p.add_argument("--seeds", type=_seed_list, help="seeds to pass (default 0,1)")
    p.add_argument(
        "--latents",
        nargs="+",
        metavar="FILE",
        help="walk through the rows of latents files (gankit project's latents.npy) instead",
    )
    p.add_argument("--steps", type=_int_at_least(2), default=8, help="samples per leg (default 8)")
    p.add_argument("--slerp", action="store_true", help="spherical instead of linear")
    p.add_argument("--class", dest="label", type=_seed, help="conditional models: the class")
    p.add_argument(
        "--text",
        action="append",
        metavar="CAPTION",
        help="text-to-image models: walk between the captions (give two or more) at fixed z",
    )
    p.add_argument("--truncation", type=_nonnegative_float, metavar="T", help=TRUNCATION_HELP)
    p.add_argument("-o", "--output", required=True, help=".png strip, .gif animation or .npy")
    p.add_argument("--no-ema", action="store_true", help="use the raw (not averaged) generator")

    p = sub.add_parser("arithmetic", help="latent vector arithmetic: mean(a) - mean(b) + mean(c)")
    p.add_argument("run", help="run directory or checkpoint")
    for group in ("a", "b", "c"):
        p.add_argument(
            f"--{group}",
            type=_seeds_or_latents,
            required=True,
            metavar="SEEDS|FILE.npy",
            help="seeds, or a latents file (gankit project's latents.npy)",
        )
    p.add_argument("--variations", type=_seed, default=8, help="noisy copies of the result")
    p.add_argument("--class", dest="label", type=_seed, help="conditional models: the class")
    p.add_argument("-o", "--output", required=True, help=".png figure or .npy")
    p.add_argument("--no-ema", action="store_true", help="use the raw (not averaged) generator")

    p = sub.add_parser("mix", help="stylegan: the style-mixing grid of row and column seeds")
    p.add_argument("run", help="run directory or checkpoint")
    p.add_argument("--rows", type=_seed_list, required=True, metavar="SEEDS", help="source B")
    p.add_argument("--cols", type=_seed_list, required=True, metavar="SEEDS", help="source A")
    p.add_argument(
        "--crossover",
        type=_positive,
        help="style layers taken from the row seed (default: the coarse ones, 4²–8²)",
    )
    p.add_argument("--truncation", type=_nonnegative_float, metavar="PSI", help=TRUNCATION_HELP)
    p.add_argument("-o", "--output", required=True, help=".png grid or .npy")
    p.add_argument("--no-ema", action="store_true", help="use the raw (not averaged) generator")

    p = sub.add_parser("grow-schedule", help="progan: the phases of growth of a run or a config")
    p.add_argument("run", nargs="?", help="a progan run (default: the config the flags give)")
    p.add_argument("--data", default="digits", help="dataset spec, for its preset (default digits)")
    p.add_argument("--steps", type=_positive, help="training steps")
    p.add_argument("--batch-size", type=_positive, help="global batch size")
    p.add_argument("--resolution", type=_positive, help="final image side")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("translate", help="translate images with an image-to-image run")
    p.add_argument("run", help="run directory or checkpoint (pix2pix, cyclegan, discogan, srgan)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, any size")
    p.add_argument(
        "-o", "--output", required=True, help="output image (one input) or directory (several)"
    )
    p.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB", help="default AtoB")
    p.add_argument(
        "--tile", type=_int_at_least(64), help="translate large images in tiles of this size"
    )
    p.add_argument("--no-ema", action="store_true", help="use the raw (not averaged) generator")

    p = sub.add_parser(
        "project",
        help="find the latents whose samples best match your images",
        description="Project images into a run's latent space (the StyleGAN2 projector's "
        "recipe). Writes OUT/latents.npy (one row per image), OUT/latents.json (what the array "
        "is), OUT/strip.png (rows: target, projection) and OUT/projections/NAME.png.",
    )
    p.add_argument("run", help="run directory or checkpoint (a model that samples images)")
    p.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files, any size")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output directory")
    p.add_argument("--steps", type=_positive, default=1000, help="optimiser steps (1000)")
    p.add_argument(
        "--space", choices=["z", "w", "w+"], help="latent space (default: w for stylegan, else z)"
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--class", dest="label", type=_seed, help="conditional models: the class")
    p.add_argument(
        "--features",
        choices=["auto", "classifier", "vgg", "none"],
        default="auto",
        help="feature distance beside pixel MSE: the shipped classifier of the run's data, "
        "VGG19 (--vgg, else fixed random weights), none, or auto (default)",
    )
    p.add_argument("--vgg", metavar="PATH", help="local VGG19 weights (vgg19-dcad8c8d.pth)")
    p.add_argument(
        "--convert",
        action="store_true",
        help="a grey model: use the luminance of colour images instead of refusing them",
    )
    p.add_argument("--no-ema", action="store_true", help="use the raw (not averaged) generator")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("eval", help="measure a trained run")
    p.add_argument("run", help="run directory or checkpoint")
    p.add_argument("--metrics", help="comma-separated metrics (default: all that apply)")
    p.add_argument("-n", type=_positive, help="generated samples (default: per dataset)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON to stdout")
    p.add_argument("--no-ema", action="store_true", help="use the raw (not averaged) generator")
    _feature_options(p)

    p = sub.add_parser(
        "fid",
        help="FID, KID, IS, precision/recall, density/coverage between two image sets",
        description="Compare images A with reference images B. Each is a folder of images, a "
        "run directory (its samples) or a dataset spec (e.g. fashion-mnist, cifar10:PATH).",
    )
    p.add_argument("a", metavar="A", help="the images to score: folder, run or dataset spec")
    p.add_argument("b", metavar="B", help="the reference images: folder, run or dataset spec")
    p.add_argument("-n", type=_positive, help="samples of a run or dataset (default 10,000)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument(
        "--split", choices=["train", "test", "all"], default="test", help="of a dataset side"
    )
    p.add_argument("--json", action="store_true", help="print JSON to stdout")
    _feature_options(p)

    p = sub.add_parser(
        "serve",
        help="a web page to watch runs train and explore trained models (gankit[ui])",
        description="Serve a web page for the runs under RUNS_DIR: a sortable table of runs "
        "(refreshing while they train), and for each run its curves, its samples at every saved "
        "step, its eval results and the controls its model takes (seed, truncation, class, "
        "latent walks, style mixing, codes, translation, captions, growth). Needs the ui "
        "extra: pip install 'gankit[ui]'. Binds to 127.0.0.1 unless --host says otherwise; "
        "the page reads only runs under RUNS_DIR.",
    )
    p.add_argument("runs_dir", nargs="?", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=7860, help="port (default 7860)")
    p.add_argument("--device", default="cpu", help="where models draw: cpu (default), cuda, ...")

    p = sub.add_parser("data", help="standard datasets: fetch them (only when asked)")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = data_sub.add_parser(
        "fetch",
        help="download a standard dataset (or the Inception weights), checksummed",
        epilog=_fetch_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument(
        "name", help="mnist, fashion-mnist, cifar10, cifar100, celeba, stacked-mnist or inception"
    )
    q.add_argument(
        "--to",
        metavar="DIR",
        help="where to put it (default: $GANKIT_DATA/NAME, else ~/.cache/gankit/datasets/NAME)",
    )
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _feature_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--features",
        choices=["auto", "classifier", "inception"],
        default="auto",
        help="image features: a shipped classifier, InceptionV3, or auto (the classifier "
        "where one exists for the data, else Inception)",
    )
    p.add_argument(
        "--inception",
        metavar="PATH",
        help="InceptionV3 weights (pt_inception-2015-12-05-6726825d.pth; default: "
        "$GANKIT_INCEPTION_WEIGHTS, else what `gankit data fetch inception` saved)",
    )
    p.add_argument("--save-features", metavar="DIR", help="keep the features as .npy files")
    p.add_argument("--no-cache", action="store_true", help="do not read or keep cached features")


def _fetch_epilog() -> str:
    from gankit.data.fetch import FETCHABLE, describe_sources

    lines = ["what each name downloads:"]
    for name in FETCHABLE:
        lines.append(f"  {name}:")
        lines.extend(f"    {line}" for line in describe_sources(name))
    return "\n".join(lines)


def _train_epilog() -> str:
    """The models, the dataset specs and the most used settings, for `gankit train --help`."""
    import textwrap

    from gankit.data import DATASETS, spec_usage
    from gankit.models import MODELS

    def wrap(words: list[str]) -> str:
        return textwrap.fill(
            ", ".join(words),
            96,
            initial_indent="  ",
            subsequent_indent="  ",
            break_on_hyphens=False,
        )

    return "\n".join(
        [
            "models:",
            wrap(MODELS.names()),
            "datasets:",
            wrap([spec_usage(e.name) for e in DATASETS]),
            "settings (--set KEY=VALUE; all of them: the run's config.yaml):",
            "  train.sample_every=N      steps between sample grids (0: only at the end)",
            "  train.checkpoint_every=N  steps between checkpoints (0: only at the end)",
            "  train.keep_checkpoints=N  newest checkpoints kept (0: all)",
            "  train.log_every=N         steps between lines of metrics.jsonl",
            "  train.ema=true            keep an EMA of G's weights",
            "  train.augment=ada         small data: augment all D sees (none, diffaugment, ada)",
            "  data.holdout=F            keep a share F of your own data out, for gankit eval",
            "  data.attribute=NAME       celeba: label the images by one of its 40 attributes",
            "  model.KEY=VALUE           any field of the model's config (see its docstring)",
        ]
    )


def _version() -> str:
    from gankit import __version__

    return __version__


def cmd_list(args: argparse.Namespace) -> int:
    from gankit.data import DATASETS, spec_usage
    from gankit.data.standard import STANDARD_SETS, standard_status
    from gankit.metrics import METRICS
    from gankit.models import MODELS

    def dataset_line(name: str, text: str) -> str:
        # the standard sets are files on disk: say whether they are there
        return f"{text} [{standard_status(name)}]" if name in STANDARD_SETS else text

    rows = [("models", [(e.name, e.help) for e in MODELS])]
    rows.append(
        ("datasets", [(spec_usage(e.name), dataset_line(e.name, e.help)) for e in DATASETS])
    )
    rows.append(("metrics", [(e.name, e.help) for e in METRICS]))
    for title, entries in rows:
        print(f"{title}:")
        width = max(len(name) for name, _ in entries)
        for name, text in entries:
            print(f"  {name:<{width}}  {text}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import gankit

    if args.resume is None and (args.model is None or args.data is None):
        raise GankitError("train needs MODEL and --data SPEC (or --resume RUN)")
    if args.init is not None and args.resume is not None:
        raise GankitError("--init starts a new run from another's weights; --resume continues one")
    options = {"precision": args.precision, "device": args.device, "init": args.init}
    if args.tensorboard:
        options["tensorboard"] = True
    if args.no_progress:
        options["progress"] = False
    if args.compile:
        options["compile"] = True
    if args.threads:
        options["threads"] = args.threads
    threads = args.threads or (_saved_threads(args.resume) if args.resume else None)
    checking = _check_load(threads, args.device)
    result = gankit.train(
        args.model,
        args.data,
        steps=args.steps,
        batch_size=args.batch_size,
        resolution=args.resolution,
        seed=args.seed,
        out=args.out,
        resume=args.resume,
        config=args.config,
        overrides=args.sets,
        train_options={k: v for k, v in options.items() if v is not None},
        reraise_signal=False,  # the command's job ends with the run: it stops and says so
    )
    if checking is not None:
        checking.join()  # a short run still gets its note
    if result.run_dir is not None and not result.already_done:
        what = "stopped" if result.stopped_early else "done"
        log.info("%s at step %d: %s", what, result.step, result.run_dir)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import torch

    import gankit
    from gankit.viz import save_samples

    handle = gankit.load(args.run, ema=not args.no_ema)
    nrow = None
    if args.text or handle.text_conditioned:
        per = args.n or 8
        texts = args.text or []
        rows = [handle.sample(per, seed=args.seed, text=t) for t in texts] or [
            handle.sample(per, seed=args.seed)  # the handle's clear error: no text given
        ]
        samples, nrow = torch.cat(rows), per
        what = f"{per} samples of each of {len(texts)} caption(s)"
    elif args.vary_code:
        samples, nrow = handle.vary_code(args.vary_code, rows=args.n or 8, seed=args.seed)
        what = f"a sweep of {args.vary_code}"
    elif args.per_class or (handle.num_classes and args.label is None and args.n is None):
        samples, nrow = handle.class_grid(args.n or 8, seed=args.seed, truncation=args.truncation)
        what = "one row per class"
    else:
        samples = handle.sample(
            args.n or 64, seed=args.seed, labels=args.label, truncation=args.truncation
        )
        what = f"{len(samples)} samples"
    path = save_samples(samples, args.output, handle.info, nrow=nrow)
    log.info("wrote %s to %s", what, path)
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    import gankit
    from gankit.projection import Latents
    from gankit.viz import save_samples

    if args.latents and (args.seeds or args.text):
        raise GankitError("walk through --latents or --seeds (or --text), not both")
    handle = gankit.load(args.run, ema=not args.no_ema)
    seeds = args.seeds or [0, 1]
    if args.latents:
        latents = Latents.concat([handle.load_latents(f) for f in args.latents])
        samples = handle.interpolate(
            latents, args.steps, spherical=args.slerp, label=args.label, truncation=args.truncation
        )
    elif args.text or handle.text_conditioned:
        samples = handle.interpolate_text(
            args.text or [], args.steps, seed=seeds[0], spherical=args.slerp
        )
    else:
        samples = handle.interpolate(
            seeds,
            args.steps,
            spherical=args.slerp,
            label=args.label,
            truncation=args.truncation,
        )
    path = save_samples(samples, args.output, handle.info, nrow=args.steps, gif=True)
    log.info("wrote %d interpolated samples to %s", len(samples), path)
    return 0


def cmd_arithmetic(args: argparse.Namespace) -> int:
    import gankit
    from gankit.viz import save_samples

    handle = gankit.load(args.run, ema=not args.no_ema)
    a, b, c = (
        handle.load_latents(g) if isinstance(g, Path) else g for g in (args.a, args.b, args.c)
    )
    images, nrow = handle.arithmetic(a, b, c, variations=args.variations, label=args.label)
    path = save_samples(images, args.output, handle.info, nrow=nrow)
    log.info("wrote mean(a) - mean(b) + mean(c) to %s", path)
    return 0


def cmd_mix(args: argparse.Namespace) -> int:
    import gankit
    from gankit.viz import save_samples

    handle = gankit.load(args.run, ema=not args.no_ema)
    images, nrow = handle.mix_styles(
        args.rows, args.cols, crossover=args.crossover, truncation=args.truncation
    )
    path = save_samples(images, args.output, handle.info, nrow=nrow)
    log.info("wrote the %d×%d style-mixing grid to %s", len(args.rows), len(args.cols), path)
    return 0


def cmd_grow_schedule(args: argparse.Namespace) -> int:
    from gankit.config import load_yaml
    from gankit.models.progan import ProGAN, ProGANConfig, grow_schedule
    from gankit.training.config import RunConfig, resolve_run_config

    if args.run:
        config = RunConfig.from_dict(load_yaml(_run_config_file(args.run)))
        if config.model_name != "progan":
            raise GankitError(f"{args.run} is a {config.model_name} run; growth is progan's")
    else:
        flags = {"train": {"steps": args.steps, "batch_size": args.batch_size}}
        flags["data"] = {"resolution": args.resolution}
        flags = {k: {n: v for n, v in d.items() if v is not None} for k, d in flags.items()}
        config = resolve_run_config("progan", args.data, flags=flags, sets=args.sets)
    assert isinstance(config.model, ProGANConfig)
    t = config.train
    resolution = config.data.resolution or ProGAN.default_resolution
    assert resolution is not None
    phases = grow_schedule(config.model, resolution, t.batch_size, t.steps)
    print(
        f"progan to {resolution}×{resolution}: {t.steps} steps of {t.batch_size} images, "
        f"{config.model.phase_images} images per phase"
    )
    print(f"{'resolution':>10}  {'phase':<6} {'steps':>15}  {'images':>21}")
    for ph in phases:
        steps = f"{ph.first_step}–{ph.last_step}"
        images = f"{ph.first_image}–{ph.last_image}"
        side = f"{ph.resolution}×{ph.resolution}"
        print(f"{side:>10}  {ph.kind:<6} {steps:>15}  {images:>21}")
    return 0


def _run_config_file(run: str) -> Path:
    path = Path(run).expanduser()
    for candidate in (path / "config.yaml", path.parent.parent / "config.yaml"):
        if candidate.is_file():
            return candidate
    raise GankitError(f"{run} is not a gankit run directory (no config.yaml)")


def cmd_translate(args: argparse.Namespace) -> int:
    import gankit
    from gankit.data.folder import IMAGE_SUFFIXES, read_image
    from gankit.viz import save_image

    out = Path(args.output).expanduser()
    inputs = _unique_inputs(args.inputs)
    single = len(inputs) == 1 and out.suffix.lower() in IMAGE_SUFFIXES
    if not single and out.suffix.lower() in IMAGE_SUFFIXES:
        raise GankitError(f"{len(inputs)} inputs need an output directory, not {out}")
    targets = [out] if single else translation_targets(inputs, out)
    clash = {t.resolve() for t in targets} & {p.resolve() for p in inputs}
    if clash:
        raise GankitError(f"the output would overwrite the input {sorted(clash)[0]}")
    handle = gankit.load(args.run, ema=not args.no_ema)
    handle.model.check_direction(args.direction)
    info = handle.info
    channels = (info.shape if args.direction == "AtoB" else info.shape_b)[0]
    images = [read_image(path, channels) for path in inputs]  # all read before writing
    if single:
        output_path(out)
    else:
        for target in targets:
            make_dirs(target.parent)
    for image, target in zip(images, targets):
        result = handle.translate(image, args.direction, tile=args.tile)
        save_image(result[0], target)
    log.info("wrote %d translated image(s) to %s", len(targets), out)
    return 0


def _unique_inputs(names: list[str]) -> list[Path]:
    """The input files in order, each once (a file named twice is translated once)."""
    seen: dict[Path, Path] = {}
    for name in names:
        path = Path(name).expanduser()
        seen.setdefault(path.resolve(), path)
    return list(seen.values())


def translation_targets(inputs: list[Path], out: Path) -> list[Path]:
    """Where each input's translation goes in directory `out`: `out/NAME.png`, or, when two
    inputs share a name (a/x.png, b/x.png), their paths below the inputs' common folder
    (out/a/x.png, out/b/x.png), and for x.png beside x.jpg the whole names (x.png.png,
    x.jpg.png), so that no output is written over another."""
    flat = [out / f"{p.stem}.png" for p in inputs]
    if len(set(flat)) == len(flat):
        return flat
    resolved = [p.resolve() for p in inputs]
    common = Path(os.path.commonpath([p.parent for p in resolved]))
    nested = [out / p.relative_to(common).with_suffix(".png") for p in resolved]
    if len(set(nested)) == len(nested):
        return nested
    # x.png and x.jpg side by side: keep each whole name
    return [out / p.relative_to(common).with_name(f"{p.name}.png") for p in resolved]


def cmd_project(args: argparse.Namespace) -> int:
    import torch

    import gankit
    from gankit.projection import check_projectable, read_target
    from gankit.viz import save_grid, save_image

    out = Path(args.output).expanduser()
    if out.exists() and not out.is_dir():
        raise GankitError(f"-o names a directory for the results; {out} is a file")
    inputs = _unique_inputs(args.inputs)
    targets = translation_targets(inputs, out / "projections")
    clash = {t.resolve() for t in targets} & {p.resolve() for p in inputs}
    if clash:
        raise GankitError(f"the output would overwrite the input {sorted(clash)[0]}")
    handle = gankit.load(args.run, ema=not args.no_ema)
    check_projectable(handle.model, args.space)  # before reading any image
    images = torch.cat([read_target(p, handle.info.shape, convert=args.convert) for p in inputs])
    result = handle.project(
        images,
        steps=args.steps,
        space=args.space,
        seed=args.seed,
        label=args.label,
        features=args.features,
        vgg_weights=args.vgg,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    make_dirs(targets[0].parent)
    result.latents.save(
        out / "latents.npy",
        images=[str(p) for p in inputs],
        steps=args.steps,
        seed=args.seed,
        features=result.features,
        mse=result.losses["mse"].tolist(),
        psnr=result.losses["psnr"].tolist(),
    )
    pairs = torch.stack([result.targets, result.images], 1).flatten(0, 1)
    save_grid(pairs, out / "strip.png", nrow=2)
    for image, target in zip(result.images, targets):
        save_image(image, target)
    for path, before, after in zip(inputs, result.losses["psnr_start"], result.losses["psnr"]):
        log.info("%s: PSNR %.1f dB at the start, %.1f dB projected", path.name, before, after)
    space = result.latents.space
    log.info("wrote %d %s latent(s) and their projections to %s", len(inputs), space, out)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import gankit
    from gankit.metrics import evaluate

    handle = gankit.load(args.run, ema=not args.no_ema)
    names = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    results = evaluate(handle, names, n=args.n, seed=args.seed, **_feature_args(args))
    _print_results(results, args.json)
    _keep_eval(handle, results, names, args)
    return 0


def _keep_eval(
    handle: Any, results: dict[str, Any], names: list[str] | None, args: argparse.Namespace
) -> None:
    """Keep the result in the run's eval.jsonl, where `gankit serve` shows it; a run that cannot
    be written to (read-only, say) only loses that record, with a warning."""
    from gankit.errors import WriteError
    from gankit.runs import record_eval
    from gankit.training.rundir import is_run

    if not is_run(handle.run_dir):
        return  # a checkpoint file outside a run: nowhere to keep it
    record = {
        "checkpoint": handle.path.name,
        "metrics": names,
        "seed": args.seed,
        "results": results,
    }
    try:
        record_eval(handle.run_dir, record)
    except WriteError as err:
        log.warning("the result was not kept in the run: %s", err)


def _feature_args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "features": args.features,
        "inception": args.inception,
        "save_features": args.save_features,
        "cache": not args.no_cache,
        "progress": sys.stderr.isatty(),
    }


def _print_results(results: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(results, indent=2))
        return
    for key, value in results.items():
        print(f"{key:<24} {value:.6g}" if isinstance(value, float) else f"{key:<24} {value}")


def cmd_fid(args: argparse.Namespace) -> int:
    from gankit.metrics.compare import compare

    results = compare(
        args.a, args.b, n=args.n, seed=args.seed, split=args.split, **_feature_args(args)
    )
    _print_results(results, args.json)
    if not results["comparable"]:
        log.info(
            "these numbers compare only with gankit's own (%s features); for numbers "
            "comparable with papers see the README's 'Metrics' section",
            results["features"],
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from gankit.ui import require_gradio

    root = Path(args.runs_dir).expanduser()
    if not root.is_dir():
        raise GankitError(
            f"no such folder: {root} (give the folder your runs are in; train one with "
            "gankit train MODEL --data SPEC)"
        )
    require_gradio()
    from gankit.ui import serve

    log.info(
        "serving the runs under %s on http://%s:%d/ (Ctrl-C stops)", root, args.host, args.port
    )
    serve(root, host=args.host, port=args.port, device=args.device, quiet=True)
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from gankit.data.fetch import fetch

    fetch(args.name, args.to, progress=not args.no_progress)
    return 0


COMMANDS = {
    "list": cmd_list,
    "train": cmd_train,
    "sample": cmd_sample,
    "interpolate": cmd_interpolate,
    "arithmetic": cmd_arithmetic,
    "mix": cmd_mix,
    "grow-schedule": cmd_grow_schedule,
    "translate": cmd_translate,
    "project": cmd_project,
    "eval": cmd_eval,
    "fid": cmd_fid,
    "serve": cmd_serve,
    "data": cmd_data,
}


def _saved_threads(run: str) -> int | None:
    """The thread count a run to resume was started with (`train.threads`), which it keeps;
    None where it set none or cannot be read (then the resume itself reports why)."""
    from gankit.training.checkpoint import read_meta, resolve_checkpoint

    try:
        threads = read_meta(resolve_checkpoint(run))["config"]["train"].get("threads")
    except (GankitError, KeyError, TypeError):
        return None
    return threads if isinstance(threads, int) else None


def _check_load(threads: int | None, device: str | None) -> threading.Thread | None:
    """On a CPU run, measure other processes' CPU load while the run starts (in a background
    thread, so the start waits for nothing) and warn when the training threads would crowd
    them."""
    import torch

    from gankit.threads import crowding_note, other_load, usable_cores

    if device not in (None, "auto", "cpu") or (device != "cpu" and torch.cuda.is_available()):
        return None  # a GPU run: its CPU threads hardly matter
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return None  # under torchrun the processes share the machine by design
    count = threads or torch.get_num_threads()

    def check() -> None:
        note = crowding_note(count, other_load(), usable_cores())
        if note:
            log.warning(note)

    thread = threading.Thread(target=check, daemon=True)
    thread.start()
    return thread


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Format())
    log.addHandler(handler)
    log.propagate = False
    quiet = int(os.environ.get("RANK", "0")) != 0  # under torchrun only rank 0 talks
    log.setLevel(logging.WARNING if quiet else logging.INFO)


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        return f"gankit: {level}{record.getMessage()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for user errors, 1 for a diverged run)."""
    args = build_parser().parse_args(argv)
    before = (log.propagate, log.level)  # restored: a host program's logging is its own
    _setup_logging()
    try:
        return COMMANDS[args.command](args)
    except GankitError as err:
        print(f"gankit: error: {err}", file=sys.stderr)
        return 2
    except RunStopped as err:  # a diverged run, a full disk: the run stopped, intact
        print(f"gankit: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gankit list | head`: the reader left; nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        for h in list(log.handlers):
            log.removeHandler(h)
        log.propagate = before[0]
        log.setLevel(before[1])
