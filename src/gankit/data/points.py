"""Point datasets: the 2-D Gaussian mixtures of the mode-collapse literature, and user CSV files."""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import ArrayDataset, DataConfig, DataInfo, choose_split, register_dataset
from gankit.errors import GankitError

# PacGAN (Lin et al. 2018) trains on 100,000 samples of each mixture.
_DEFAULT_SIZE = 100_000


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians."""

    means: np.ndarray  # [K, D]
    std: float

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, len(self.means), size=n)
        points = self.means[labels] + self.std * rng.standard_normal((n, self.means.shape[1]))
        return points, labels


def _ring(k: int = 8, radius: float = 1.0, std: float = 0.01) -> Mixture:
    angles = 2 * math.pi * np.arange(k) / k
    return Mixture(np.stack([radius * np.cos(angles), radius * np.sin(angles)], 1), std)


def _grid(values: tuple[float, ...] = (-4, -2, 0, 2, 4), std: float = 0.05) -> Mixture:
    return Mixture(np.array(list(itertools.product(values, values)), dtype=np.float64), std)


# The PacGAN setup: 8 modes on a ring of radius 1 (σ 0.01); 25 modes on {-4,-2,0,2,4}² (σ 0.05).
MIXTURES: dict[str, Mixture] = {"ring8": _ring(), "grid25": _grid()}


def _split_seed(cfg: DataConfig) -> int:
    # train and test are independent draws; "all" is the train draw
    return cfg.seed * 2 + (1 if cfg.split == "test" else 0)


def _mixture_dataset(name: str, cfg: DataConfig) -> ArrayDataset:
    mixture = MIXTURES[name]
    rng = np.random.default_rng(_split_seed(cfg))
    points, labels = mixture.sample(cfg.size or _DEFAULT_SIZE, rng)
    info = DataInfo(name, "points", (points.shape[1],), num_classes=len(mixture.means))
    return ArrayDataset(torch.from_numpy(points).float(), torch.from_numpy(labels).long(), info)


@register_dataset(
    "ring8", kind="points", help="8 Gaussians on a ring of radius 1, σ 0.01 (PacGAN); 2-D points"
)
def ring8(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    return _mixture_dataset("ring8", cfg)


@register_dataset(
    "grid25",
    kind="points",
    help="25 Gaussians on a 5×5 grid, spacing 2, σ 0.05 (PacGAN); 2-D points",
)
def grid25(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    return _mixture_dataset("grid25", cfg)


@register_dataset(
    "points",
    kind="points",
    arg="FILE.csv",
    help="your own points: a CSV of n-D rows, header optional",
)
def points_csv(cfg: DataConfig, arg: str | None) -> ArrayDataset:
    assert arg is not None
    path = Path(arg).expanduser()
    rows = read_points_csv(path)
    rows = rows[choose_split([str(i) for i in range(len(rows))], cfg, f"points:{path}")]
    info = DataInfo(f"points:{path.name}", "points", (rows.shape[1],))
    return ArrayDataset(torch.from_numpy(rows).float(), None, info)


def read_points_csv(path: Path) -> np.ndarray:
    """Read numeric rows from a CSV file; a first row that is not numeric is taken as a header."""
    if not path.is_file():
        raise GankitError(f"no such points file: {path}")
    rows: list[list[float]] = []
    try:
        # utf-8-sig drops the byte-order mark that Excel writes, which would hide a first data row
        with path.open(newline="", encoding="utf-8-sig") as f:
            header_seen = False
            for lineno, row in enumerate(csv.reader(f), start=1):
                cells = [c.strip() for c in row]
                if not any(cells):
                    continue
                try:
                    values = [float(c) for c in cells]
                except ValueError:
                    if not rows and not header_seen:
                        header_seen = True
                        continue  # header: the first non-empty row
                    raise GankitError(f"{path}:{lineno}: not a number in {row!r}") from None
                if rows and len(values) != len(rows[0]):
                    raise GankitError(
                        f"{path}:{lineno}: {len(values)} columns, expected {len(rows[0])}"
                    )
                rows.append(values)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise GankitError(f"cannot read points file {path}: {err}") from None
    if not rows:
        raise GankitError(f"points file {path} holds no rows")
    array = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(array).all():
        raise GankitError(f"points file {path} holds NaN or infinite values")
    return array
