"""`gankit eval`: metrics of a trained run against held-out real data.

Image features come from a shipped classifier where one exists for the data (digits, stacked digits,
Fashion-MNIST), else from InceptionV3 with the user's weights (metrics.features); for point data
they are the coordinates themselves. Real data's features are cached on disk
(metrics.reference). The reference set is the dataset's
held-out split; the same metrics between the training split and the held-out split give the
real-vs-real floor a model should be read against (`*_real` keys).

User data without a held-out part (`folder:`, `points:` trained with `data.holdout` 0, `paired:`
without a test/ folder) is compared with its training data instead; the result says so
(`reference: train`), leaves out the floors, which would be zero by construction, and a
warning says what the numbers then mean.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from gankit.data.base import DataInfo, NoHeldOutSplit, build_dataset
from gankit.data.points import MIXTURES
from gankit.errors import GankitError
from gankit.files import make_dirs, save_npy
from gankit.handle import Generator
from gankit.metrics.codes import code_purity
from gankit.metrics.distances import frechet_distance, kernel_inception_distance
from gankit.metrics.features import (
    CLASSIFIERS,
    Extractor,
    FeatureChoice,
    choose_extractor,
    classifier_extractor,
    extract,
)
from gankit.metrics.modes import label_mode_coverage, mixture_mode_coverage
from gankit.metrics.prdc import prdc
from gankit.metrics.reference import cached_features, data_fingerprint, feature_key
from gankit.metrics.scores import inception_score
from gankit.models.base import GANModel
from gankit.registry import Registry

MetricFn = Callable[["EvalContext"], dict[str, float]]
Which = Literal["fake", "train", "test"]  # generated, real training split, real held-out split
METRICS: Registry[MetricFn] = Registry("metric")
log = logging.getLogger("gankit")
# the fewest samples (generated, and real where a metric compares with them) each metric can use
MIN_SAMPLES: dict[str, int] = {}


def metric(name: str, *, help: str, min_samples: int = 1) -> Callable[[MetricFn], MetricFn]:
    """Register a metric and the fewest samples it can be computed from."""
    MIN_SAMPLES[name] = min_samples
    return METRICS.register(name, help=help)


DIGIT_SETS = ("digits", "stacked-digits")
# unpaired built-in sets the translation scores know -> (style task, classes of their content)
UNPAIRED_TASKS = {
    "glyphs-sans2serif": ("sans2serif", "characters"),
    "glyphs-regular2bold": ("regular2bold", "characters"),
    "digits2glyphs": ("digits2glyphs", "digits"),
}
PAIR_SETS = ("digits-negative", "glyphs-regular2bold")  # where CoGAN's pair agreement is defined
POINT_SAMPLES = 2500  # PacGAN scores 2,500 samples of the 2-D mixtures
MAX_IMAGE_SAMPLES = 10_000


class EvalContext:
    """Generated and real samples of one evaluation, with their features computed once.

    Args:
        handle: the loaded run.
        n: generated samples (and at most as many real ones); default per data kind.
        seed: draws the generated samples and the real subset.
        needed: the fewest real samples the metrics asked for can use.
        features: the extractor (`auto`, `classifier`, `inception`; see metrics.features).
        inception: the Inception weights file, for `inception` (else found as documented).
        progress: show a progress bar while extracting features.
        save_features: a folder to keep the features in, one `.npy` per side (`fake`, `test`,
            `train`), rows in the order the samples were drawn.
        cache: read and keep real data's features in the on-disk cache (metrics.reference).
    """

    def __init__(
        self,
        handle: Generator,
        n: int | None = None,
        seed: int = 0,
        *,
        needed: int = 1,
        features: FeatureChoice = "auto",
        inception: str | Path | None = None,
        progress: bool = False,
        save_features: str | Path | None = None,
        cache: bool = True,
    ) -> None:
        self.handle, self.info, self.seed = handle, handle.info, seed
        self.needed = needed
        self.choice, self.inception, self.progress, self.cache = (
            features,
            inception,
            progress,
            cache,
        )
        self.save_features = None if save_features is None else Path(save_features).expanduser()
        self.reference: Literal["test", "train"] = "test"
        self.note = ""  # why the reference is the training data, when it is
        self._cache: dict[tuple[str, str], Any] = {}
        self._extractor: Extractor | None = None
        self._fingerprint: str | None = None  # of the files the real data is read from
        default = POINT_SAMPLES if self.info.kind == "points" else MAX_IMAGE_SAMPLES
        if self.info.two_domain and handle.model.directions:
            # image-to-image scores translate (at most) the whole held-out split
            self.n = min(n or default, len(self.dataset("test")))
        else:
            self.n = n or min(default, len(self.dataset("train")))

    def _cached(self, kind: str, which: Which, compute: Callable[[], Any]) -> Any:
        if (kind, which) not in self._cache:
            self._cache[kind, which] = compute()
        return self._cache[kind, which]

    def dataset(self, split: Literal["train", "test"]) -> Any:
        """The real data of `split`; `test` is the training data (and `reference` becomes
        "train") for data that holds nothing out."""
        if split == "test" and self.reference == "train":
            return self.dataset("train")
        cfg = replace(self.handle.config.data, split=split)
        try:
            return self._cached("dataset", split, lambda: build_dataset(cfg))
        except NoHeldOutSplit as err:
            self.reference, self.note = "train", str(err)
            return self.dataset("train")

    @property
    def held_out(self) -> bool:
        """Whether the reference is truly held out (else the `*_real` floors are left out:
        the training data against itself is zero by construction)."""
        self.dataset("test")
        return self.reference == "test"

    @property
    def extractor(self) -> Extractor:
        """The image feature extractor this evaluation uses (chosen once)."""
        if self._extractor is None:
            self._extractor = choose_extractor(self.info.name, self.choice, self.inception)
        return self._extractor

    def samples(self, which: Which) -> Tensor:
        """`fake` (generated), `test` (held-out real) or `train` (real): at most n of each."""
        return self._cached("samples", which, lambda: self._draw(which))

    def _real_order(self, which: Which) -> Tensor:
        """The indices of the real samples of `which` used, in the order they are drawn."""
        return self._cached("order", which, lambda: self._draw_order(which))

    def _draw_order(self, which: Which) -> Tensor:
        dataset = self.dataset(which)  # type: ignore[arg-type]
        if len(dataset) < self.needed:
            split = "held-out" if which == "test" and self.reference == "test" else "training"
            raise GankitError(
                f"the {split} data of {self.info.name!r} holds {len(dataset)} samples; "
                f"these metrics need at least {self.needed} to compare with"
            )
        gen = torch.Generator().manual_seed(self.seed)
        return torch.randperm(len(dataset), generator=gen)[: min(self.n, len(dataset))]

    def _draw(self, which: Which) -> Tensor:
        if which == "fake":
            return self.handle.sample(self.n, seed=self.seed)
        return self.dataset(which).batch(self._real_order(which))["x"].cpu()  # type: ignore[arg-type]

    def _batches(self, which: Which, size: int = 500) -> Iterator[Tensor]:
        """The samples of `which`, `size` at a time (the same as `samples(which)`)."""
        if ("samples", which) in self._cache:
            yield self._cache["samples", which]
        elif which == "fake":
            yield from self.handle.iter_samples(self.n, seed=self.seed, batch_size=size)
        else:
            dataset = self.dataset(which)  # type: ignore[arg-type]
            for chunk in self._real_order(which).split(size):
                yield dataset.batch(chunk)["x"].cpu()

    def features(self, which: Which) -> np.ndarray:
        """Features [N, D]: the extractor's for images, the coordinates for points."""
        if self.info.kind == "points":
            return self.samples(which).double().numpy()
        return self._outputs(which)[0]

    def probs(self, which: Which) -> np.ndarray:
        """Class probabilities [N, K] by the extractor (for digit tuples: over the 10^C)."""
        if self.info.kind == "points":
            raise GankitError("point data has no class probabilities (no inception score)")
        return self._outputs(which)[1]

    def _outputs(self, which: Which) -> tuple[np.ndarray, np.ndarray]:
        return self._cached("outputs", which, lambda: self._extract(which))

    def _extract(self, which: Which) -> tuple[np.ndarray, np.ndarray]:
        ex = self.extractor

        def compute() -> tuple[np.ndarray, np.ndarray]:
            total = self.n if which == "fake" else len(self._real_order(which))
            what = "generated" if which == "fake" else f"real ({which})"
            return extract(ex, self._batches(which), total, desc=what, progress=self.progress)

        if which == "fake" or not self.cache:
            out = compute()
        else:
            self.dataset(which)  # settles the reference split first
            split = which if which == "train" or self.reference == "test" else "train"
            if self._fingerprint is None:  # one walk over the data's files for both splits
                self._fingerprint = data_fingerprint(self.handle.config.data.spec)
            data = replace(self.handle.config.data, split=split)
            key = feature_key(
                ex,
                data=asdict(data),
                fingerprint=self._fingerprint,
                n=len(self._real_order(which)),
                seed=self.seed,
            )
            out = cached_features(key, compute)
        if self.save_features is not None:
            make_dirs(self.save_features)
            save_npy(self.save_features / f"{which}.npy", out[0].astype(np.float32))
        return out


@metric(
    "fid",
    min_samples=2,  # a covariance
    help="Fréchet distance of image features (classifier or Inception; coordinates for points)",
)
def fid(ctx: EvalContext) -> dict[str, float]:
    test = ctx.features("test")
    out = {"fid": frechet_distance(ctx.features("fake"), test)}
    if ctx.held_out:
        out["fid_real"] = frechet_distance(ctx.features("train"), test)
    return out


@metric(
    "kid",
    min_samples=2,  # unbiased MMD² leaves out the diagonal
    help="kernel distance (unbiased MMD², cubic kernel), mean and std",
)
def kid(ctx: EvalContext) -> dict[str, float]:
    test, fake, train = ctx.features("test"), ctx.features("fake"), ctx.features("train")
    size = min(1000, len(test), len(fake), len(train))
    mean, std = kernel_inception_distance(fake, test, subset_size=size, seed=ctx.seed)
    out = {"kid": mean, "kid_std": std}
    if ctx.held_out:
        out["kid_real"] = kernel_inception_distance(train, test, subset_size=size, seed=ctx.seed)[0]
    return out


@metric(
    "is",
    min_samples=10,  # the score averages 10 splits
    help="inception score: Inception's 1,008 classes, or a shipped classifier's",
)
def inception(ctx: EvalContext) -> dict[str, float]:
    mean, std = inception_score(ctx.probs("fake"))
    real, _ = inception_score(ctx.probs("test"))
    return {"is": mean, "is_std": std, "is_real": real}


@metric(
    "prdc",
    min_samples=6,  # a 5th nearest neighbour other than itself
    help="precision, recall (k=3), density, coverage (k=5) of features",
)
def precision_recall(ctx: EvalContext) -> dict[str, float]:
    return prdc(ctx.features("test"), ctx.features("fake"))


@metric("modes", help="modes covered, % high quality, reverse KL (PacGAN's Table 1)")
def modes(ctx: EvalContext) -> dict[str, float]:
    return mode_coverage(ctx.samples("fake"), ctx.info.name)


def mode_coverage(samples: Tensor | np.ndarray, dataset: str | DataInfo) -> dict[str, float]:
    """Mode statistics of generated samples of a built-in multi-mode dataset.

    `ring8`/`grid25` (points [N, 2]): modes with a high-quality sample, % high-quality samples
    (within 3σ of a mode) and reverse KL of the mode histogram to uniform (PacGAN, Table 1).
    `stacked-digits` (images [N, 3, H, W]) and `digits` ([N, 1, H, W]): the classifier's digit
    tuple is the mode; modes seen and reverse KL to uniform (VEEGAN/PacGAN's stacked MNIST).
    """
    name = dataset.name if isinstance(dataset, DataInfo) else dataset
    if name in MIXTURES:
        mixture = MIXTURES[name]
        return mixture_mode_coverage(
            np.asarray(samples, dtype=np.float64), mixture.means, mixture.std
        )
    if name in DIGIT_SETS:
        images = torch.as_tensor(samples)
        return label_mode_coverage(
            _classes(images, DataInfo(name, "image", ())), 10 ** images.shape[1]
        )
    raise GankitError(
        f"mode coverage is defined for ring8, grid25 and the digit sets, not {name!r}"
    )


def _classes(samples: Tensor, info: DataInfo) -> np.ndarray:
    """The class of each sample of a labelled set with a shipped classifier (the digits as one
    number, a Fashion-MNIST class), or the nearest mode of a mixture."""
    if info.name in MIXTURES:
        means = MIXTURES[info.name].means
        d = ((samples.double().numpy()[:, None, :] - means[None]) ** 2).sum(-1)
        return d.argmin(1)
    # a shipped classifier's most likely class (for digit tuples: 100·d_R + 10·d_G + d_B)
    ex = classifier_extractor(info.name)
    return np.concatenate(
        [ex.run(chunk)[1].argmax(1).numpy() for chunk in samples.split(ex.batch_size)]
    )


@metric("class_acc", help="conditional models: classifier accuracy of the asked class")
def class_accuracy(ctx: EvalContext) -> dict[str, float]:
    handle = ctx.handle
    if not handle.num_classes:
        raise GankitError(
            f"class_acc needs a class-conditional model, not {handle.config.model_name}"
        )
    labels = torch.arange(ctx.n) % handle.num_classes
    samples = handle.sample(ctx.n, seed=ctx.seed, labels=labels)
    return {"class_acc": float((_classes(samples, ctx.info) == labels.numpy()).mean())}


@metric("purity", help="infogan: how well its first categorical code gives the class")
def purity(ctx: EvalContext) -> dict[str, float]:
    handle, model = ctx.handle, ctx.handle.model
    codes = [c for c in model.codes if c.kind == "categorical"]
    if not codes:
        raise GankitError("purity needs a model with a categorical code (infogan)")
    code = codes[0]
    latents = model.sample_latent(ctx.n, generator=torch.Generator().manual_seed(ctx.seed))
    values = torch.arange(ctx.n) % code.size
    for value in range(code.size):
        rows = values == value
        latents[rows] = model.set_code(latents[rows], code.name, value)
    classes = _classes(handle.generate(latents), ctx.info)
    return code_purity(values.numpy(), classes)


@metric("ppl", min_samples=2, help="perceptual path length in classifier features (w for stylegan)")
def path_length(ctx: EvalContext) -> dict[str, float]:
    from gankit.metrics.ppl import perceptual_path_length

    ex = classifier_extractor(ctx.info.name)
    model = ctx.handle.model
    space: Literal["z", "w"] = "w" if hasattr(model, "style_latents") else "z"

    def features(x: Tensor) -> Tensor:
        return ex.run(x)[0]

    n = min(ctx.n, 2000)
    out = {}
    for sampling in ("full", "end"):
        out[f"ppl_{sampling}"] = perceptual_path_length(
            ctx.handle, features, n=n, space=space, sampling=sampling, seed=ctx.seed
        )
    return out


@metric("text", help="text-to-image on shapes: attribute consistency (seen/unseen), R-precision")
def text_scores(ctx: EvalContext) -> dict[str, float]:
    from gankit.metrics.text import caption_scores, draw_for, held_out_captions

    if ctx.info.name != "shapes" or not ctx.handle.text_conditioned:
        raise GankitError("the text metric needs a text-to-image model trained on shapes")
    test, captions = held_out_captions(ctx.handle, ctx.seed)
    images = draw_for(ctx.handle, captions, ctx.seed)
    encoder = ctx.handle.model.config.text_encoder  # type: ignore[attr-defined]
    scores = caption_scores(images, captions, test, encoder, ctx.seed)
    return {k if k == "r_precision" else f"consistency_{k}": v for k, v in scores.items()}


def applicable(info: DataInfo, model: GANModel | None = None) -> list[str]:
    """The metrics that `evaluate` computes by default for this data (and model)."""
    if info.kind == "captioned":
        return ["text"] if info.name == "shapes" else []
    if info.two_domain:
        if model is not None and model.directions:
            if info.kind == "paired":
                return ["psnr_ssim"]
            return ["translation"] if info.name in UNPAIRED_TASKS else []
        return ["pairs"] if info.name in PAIR_SETS else []
    # images: features from a shipped classifier or Inception (EvalContext.extractor says
    # which, or what to do when there is none); points: their coordinates
    names = ["fid", "kid", "prdc"] + (["is"] if info.kind == "image" else [])
    if info.name in MIXTURES or info.name in DIGIT_SETS:
        names.append("modes")
    if info.name in MIXTURES or info.name in CLASSIFIERS:
        if model is not None and model.conditional:
            names.append("class_acc")
        if model is not None and any(c.kind == "categorical" for c in model.codes):
            names.append("purity")
    return names


def evaluate(
    handle: Generator,
    metrics: list[str] | None = None,
    *,
    n: int | None = None,
    seed: int = 0,
    features: FeatureChoice = "auto",
    inception: str | Path | None = None,
    progress: bool = False,
    save_features: str | Path | None = None,
    cache: bool = True,
) -> dict[str, Any]:
    """Compute `metrics` (default: all that apply) for a loaded run; returns a flat dict.

    `features`, `inception`, `progress`, `save_features` and `cache` choose and keep the image
    features, as EvalContext documents. The result names the extractor (`features`) and
    whether its numbers compare with published ones (`comparable`: the reference Inception
    weights only)."""
    names = metrics if metrics is not None else applicable(handle.info, handle.model)
    fns = [METRICS.get(name) for name in names]
    if not names:
        raise GankitError(f"no metric applies to {handle.info.name!r} yet")
    needed = max(MIN_SAMPLES[name] for name in names)
    if n is not None and n < needed:
        short = ", ".join(f"{k} at least {MIN_SAMPLES[k]}" for k in names if MIN_SAMPLES[k] > n)
        raise GankitError(f"-n {n} is too few samples: {short}")
    ctx = EvalContext(
        handle,
        n,
        seed,
        needed=needed,
        features=features,
        inception=inception,
        progress=progress,
        save_features=save_features,
        cache=cache,
    )
    out: dict[str, Any] = {
        "model": handle.config.model_name,
        "data": handle.config.data.spec,
        "step": handle.step,
        "ema": handle.uses_ema,
        "n": ctx.n,
    }
    for fn in fns:
        out.update({k: float(v) for k, v in fn(ctx).items()})
    out["reference"] = ctx.reference
    if ctx._extractor is not None:
        out["features"] = ctx._extractor.name
        out["comparable"] = ctx._extractor.comparable
    if ctx.reference == "train":
        log.warning(
            "%s; so these metrics compare the samples with the training data itself (the "
            "convention of StyleGAN's FID), which a model that memorised its data would score "
            "best on, and the real-vs-real floors (*_real) are left out",
            ctx.note,
        )
    return out
