"""Pictures of samples: the scatter plot of 2-D points."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import torch
from PIL import Image

from gankit.viz.grid import save_scatter


def test_a_scatter_plot_leaves_the_callers_matplotlib_alone(tmp_path: Path) -> None:
    """A notebook's backend (inline plots) and pyplot's figures are the caller's: drawing a
    scatter must neither switch the backend nor leave a figure open."""
    import matplotlib.pyplot as plt

    original = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend other than Agg, standing in for a notebook's inline one
    try:
        open_before = plt.get_fignums()
        points = torch.randn(500, 2)
        path = save_scatter(points, tmp_path / "points.png", modes=np.zeros((1, 2)), title="t")
        assert Image.open(path).size == (500, 500)  # 5 × 5 inches at 100 dpi
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == open_before
    finally:
        matplotlib.use(original)
