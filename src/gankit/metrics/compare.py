"""`gankit fid A B`: FID, KID, IS and PRDC between any two sets of images.

Each side is a folder of images, a trained run (its samples) or a dataset spec (`fashion-mnist`,
`cifar10:~/data/cifar`, `folder:PATH`; its `split`). A is the set being scored and B the
reference: precision asks how much of A lies in B's support, recall the reverse, and IS is
reported for each side. Images stream through the extractor a batch at a time, so the memory a
comparison needs is that of the features, never of all the images; the features of folders and
datasets are cached on disk (metrics.reference), a run's samples never are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from gankit.data.base import DataConfig, build_dataset, split_spec
from gankit.errors import GankitError
from gankit.files import make_dirs, save_npy
from gankit.metrics.distances import frechet_distance, kernel_inception_distance
from gankit.metrics.features import CLASSIFIERS, Extractor, FeatureChoice, choose_extractor, extract
from gankit.metrics.prdc import prdc
from gankit.metrics.reference import cached_features, data_fingerprint, feature_key, fingerprint
from gankit.metrics.scores import inception_score

log = logging.getLogger("gankit")
DEFAULT_SAMPLES = 10_000  # of a run or a dataset; a folder gives all its images
FOLDER_BATCH = 64


@dataclass
class Side:
    """One side of a comparison: what to call it, how many images, and a stream of them."""

    label: str
    kind: Literal["run", "folder", "dataset"]
    count: int
    batches: Callable[[], Iterator[Tensor]]  # [B, C, H, W] in [-1, 1]
    dataset: str | None = None  # the data it comes from, for the shipped classifiers
    channels: int = 3
    resolution: int | None = None
    provenance: dict[str, Any] = field(default_factory=dict)  # empty: not cached


def _run_side(text: str, n: int | None, seed: int) -> Side:
    import gankit

    handle = gankit.load(text)
    if handle.info.kind != "image" or handle.model.directions:
        raise GankitError(f"{text} is a {handle.config.model_name} run that does not sample images")
    count = n or DEFAULT_SAMPLES
    return Side(
        text,
        "run",
        count,
        lambda: handle.iter_samples(count, seed=seed),
        dataset=handle.info.name,
        channels=handle.info.shape[0],
        resolution=handle.info.resolution,
    )


def _folder_side(path: Path, channels: int) -> Side:
    from gankit.data.folder import IMAGE_SUFFIXES, find_images

    files = find_images(path)
    if len(files) < 2:
        found = f"holds {len(files)} image" + ("" if len(files) == 1 else "s")
        raise GankitError(
            f"{path} {found} ({', '.join(sorted(IMAGE_SUFFIXES))}); the metrics need at least "
            "2 images a side (FID a covariance), and many more to mean much (10,000 is usual)"
        )
    return Side(
        str(path),
        "folder",
        len(files),
        lambda: _folder_batches(files, channels),
        channels=channels,
        provenance={"folder": str(path.resolve()), "fingerprint": fingerprint(path)},
    )


def _folder_batches(files: list[Path], channels: int) -> Iterator[Tensor]:
    """The images of `files`, in order, at their own sizes: consecutive images of one size
    go together, up to FOLDER_BATCH at a time. A file that cannot be read is an error naming
    it (a comparison silently missing images would not be the one asked for)."""
    from gankit.data.folder import read_image

    group: list[Tensor] = []
    for path in files:
        image = read_image(path, channels)  # [1, C, H, W] in [-1, 1]
        if group and (group[0].shape != image.shape or len(group) == FOLDER_BATCH):
            yield torch.cat(group)
            group = []
        group.append(image)
    if group:
        yield torch.cat(group)


def _dataset_side(text: str, n: int | None, seed: int, split: str, resolution: int | None) -> Side:
    try:
        name, _ = split_spec(text)
    except GankitError as err:
        raise GankitError(f"no such folder or run: {text} (nor a dataset spec: {err})") from None
    cfg = DataConfig(spec=text, split=split, resolution=resolution)  # type: ignore[arg-type]
    dataset = build_dataset(cfg)
    if dataset.info.kind != "image":
        raise GankitError(f"{text} is {dataset.info.kind} data, not images")
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=gen)[: min(n or DEFAULT_SAMPLES, len(dataset))]
    return Side(
        text,
        "dataset",
        len(order),
        lambda: (dataset.batch(chunk)["x"].cpu() for chunk in order.split(500)),
        dataset=name,
        channels=dataset.info.shape[0],
        resolution=dataset.info.resolution,
        provenance={
            "data": {"spec": text, "split": split, "resolution": resolution},
            "fingerprint": data_fingerprint(text),
            "n": len(order),
            "seed": seed,
        },
    )


def _is_run(path: Path) -> bool:
    return (path / "config.yaml").is_file() or (path.is_file() and path.suffix == ".safetensors")


def resolve_sides(a: str, b: str, *, n: int | None, seed: int, split: str) -> tuple[Side, Side]:
    """Both sides: runs first (their data and resolution tell the others how to read)."""
    texts = (a, b)
    paths = [Path(t).expanduser() for t in texts]
    sides: list[Side | None] = [None, None]
    for i, (text, path) in enumerate(zip(texts, paths)):
        if path.exists() and _is_run(path):
            sides[i] = _run_side(text, n, seed)
    runs = [s for s in sides if s is not None]
    resolution = runs[0].resolution if runs else None
    for i, (text, path) in enumerate(zip(texts, paths)):
        if sides[i] is None and not path.exists():
            sides[i] = _dataset_side(text, n, seed, split, resolution)
    known = [s for s in sides if s is not None]
    channels = 1 if known and all(s.channels == 1 for s in known) else 3
    for i, (text, path) in enumerate(zip(texts, paths)):
        if sides[i] is not None:
            continue
        if path.is_dir():
            sides[i] = _folder_side(path, channels)
        elif path.exists():
            raise GankitError(
                f"{text} is a file: each side is a folder of images, a run or a dataset spec"
            )
        else:
            raise GankitError(f"no such folder or run: {text}")
    assert sides[0] is not None and sides[1] is not None
    return sides[0], sides[1]


def _extractor_for(a: Side, b: Side, choice: FeatureChoice, inception: str | None) -> Extractor:
    """A shipped classifier only where both sides are of its data (or a folder beside it)."""
    names = {s.dataset for s in (a, b) if s.dataset is not None}
    name = names.pop() if len(names) == 1 else "(mixed)" if names else "(folders)"
    if choice == "auto" and name not in CLASSIFIERS:
        choice = "inception"
    return choose_extractor(name, choice, inception)


def side_features(
    side: Side, ex: Extractor, *, progress: bool, cache: bool
) -> tuple[np.ndarray, np.ndarray]:
    def compute() -> tuple[np.ndarray, np.ndarray]:
        return extract(ex, side.batches(), side.count, desc=side.label, progress=progress)

    if not cache or not side.provenance:
        return compute()
    return cached_features(feature_key(ex, **side.provenance, channels=side.channels), compute)


def compare(
    a: str,
    b: str,
    *,
    features: FeatureChoice = "auto",
    inception: str | None = None,
    n: int | None = None,
    seed: int = 0,
    split: str = "test",
    save_features: str | Path | None = None,
    progress: bool = False,
    cache: bool = True,
) -> dict[str, Any]:
    """FID, KID, IS and PRDC of images A against reference images B (see the module docstring).

    Args:
        a, b: a folder of images, a run directory (or checkpoint), or a dataset spec.
        features: `auto`, `classifier` or `inception` (metrics.features).
        inception: the Inception weights file (else found as metrics.inception documents).
        n: samples drawn from a run or a dataset (default 10,000); folders give all theirs.
        seed: draws a run's samples and a dataset's subset.
        split: the split of a dataset side (`train`, `test`, `all`).
        save_features: a folder to write `a.npy` and `b.npy` (float32 features; a folder's
            rows in sorted file-name order) to.
    """
    side_a, side_b = resolve_sides(a, b, n=n, seed=seed, split=split)
    ex = _extractor_for(side_a, side_b, features, inception)
    fa, pa = side_features(side_a, ex, progress=progress, cache=cache)
    fb, pb = side_features(side_b, ex, progress=progress, cache=cache)
    if save_features is not None:
        folder = make_dirs(Path(save_features).expanduser())
        save_npy(folder / "a.npy", fa.astype(np.float32))
        save_npy(folder / "b.npy", fb.astype(np.float32))
    out: dict[str, Any] = {
        "a": a,
        "b": b,
        "n_a": len(fa),
        "n_b": len(fb),
        "features": ex.name,
        "comparable": ex.comparable,
        "fid": frechet_distance(fa, fb),
    }
    size = min(1000, len(fa), len(fb))
    out["kid"], out["kid_std"] = kernel_inception_distance(fa, fb, subset_size=size, seed=seed)
    for tag, probs in (("a", pa), ("b", pb)):
        if len(probs) >= 10:  # the score's 10 splits
            out[f"is_{tag}"], out[f"is_{tag}_std"] = inception_score(probs)
    if min(len(fa), len(fb)) >= 6:  # a 5th neighbour other than itself
        out.update(prdc(fb, fa))
    return out
