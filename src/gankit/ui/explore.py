"""What the web page shows, as plain Python: no Gradio here, so every action is testable alone.

`Explorer` answers the page's requests for the runs under one folder. Runs are named relative
to that folder and reach a directory only through `gankit.runs.resolve_run`; models are loaded
only through `gankit.load` (safetensors, never code) and used only through the `Generator`
handle's public methods, the same ones the command line calls. Uploaded images are checked from
their header before a pixel is decoded.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from gankit.errors import GankitError
from gankit.handle import Generator
from gankit.runs import (
    RunSummary,
    eval_results,
    find_runs,
    read_metrics,
    resolve_run,
    sample_steps,
    summarize,
)
from gankit.training.checkpoint import list_checkpoints

# An upload larger than this is refused from its header, before decoding: 2048×2048 is far
# above any model's resolution here (projection shrinks to it), and bounds a ×4 super-resolution
# to 8192×8192 output. `gankit translate --tile` takes larger images from the command line.
MAX_UPLOAD_SIDE = 2048
MAX_UPLOAD_PIXELS = MAX_UPLOAD_SIDE * MAX_UPLOAD_SIDE
MAX_SAMPLES = 64  # per request: one grid on a page
MAX_SEEDS = 16
MAX_WALK_STEPS = 32
MAX_PROJECT_STEPS = 1000
TRANSLATE_TILE = 256  # bounded memory for large uploads, as `gankit translate --tile`
CACHE_MODELS = 4  # loaded runs kept in memory

# metrics.jsonl keys that are bookkeeping, not curves
_NOT_CURVES = {"step", "epoch", "time", "sec_per_step", "samples_per_sec"}
_OUTPUT_WORDS = ("p_real", "p_fake", "real", "fake", "score")
_SCHEDULE_WORDS = {"alpha", "level", "resolution", "lr"}  # ProGAN's fade-in, ...: not losses


@dataclass
class Features:
    """What a run's model can do on the page (each a section of the run's page)."""

    kind: str  # "image", "points", "unpaired" (CoGAN's pairs)
    samples: bool  # draws from a latent (everything but the translation models)
    classes: int  # class-conditional: how many
    truncation: str | None  # "z" (redraw beyond ±T), "w" (StyleGAN's ψ) or None
    walk: bool  # latent walks between seeds
    project: bool  # uploaded images can be projected into the latent (walks through them)
    styles: int  # StyleGAN: the number of style layers (0: none)
    codes: list[dict[str, Any]]  # InfoGAN: name, kind, minimum, maximum, step
    directions: list[str]  # image-to-image: "AtoB", "BtoA"
    super_resolution: int  # SRGAN's factor (0: not SRGAN)
    text: bool  # text-to-image
    stages: int  # StackGAN: 2 for a Stage-II run
    growth: bool  # ProGAN


def parse_seeds(text: str, *, at_least: int = 1, most: int = MAX_SEEDS) -> list[int]:
    """Seeds typed as "0, 5, 9" (or "0 5 9"): at least `at_least`, at most `most`."""
    parts = [p for p in str(text or "").replace(",", " ").split() if p]
    try:
        seeds = [int(p) for p in parts]
    except ValueError:
        raise GankitError(f"seeds are whole numbers separated by commas, got {text!r}") from None
    if any(s < 0 or s >= 2**63 for s in seeds):
        raise GankitError("seeds must be non-negative")
    if len(seeds) < at_least:
        raise GankitError(f"give at least {at_least} seed(s), got {len(seeds)}")
    if len(seeds) > most:
        raise GankitError(f"give at most {most} seeds, got {len(seeds)}")
    return seeds


def _whole(value: Any, name: str, lo: int, hi: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GankitError(f"{name} must be a number, got {value!r}") from None
    if not number.is_integer() or not lo <= number <= hi:
        raise GankitError(f"{name} must be a whole number in {lo}..{hi}, got {value}")
    return int(number)


def to_picture(images: Tensor, *, nrow: int | None = None) -> np.ndarray:
    """Images [N, C, H, W] (or CoGAN's [N, k, C, H, W]) as one RGB uint8 grid."""
    from gankit.viz import image_grid

    grid = image_grid(images, nrow=nrow)
    return np.repeat(grid, 3, axis=2) if grid.shape[2] == 1 else grid


def read_picture(path: Path) -> np.ndarray:
    """A saved grid as RGB uint8 (the run's own PNGs)."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


class Explorer:
    """The page's actions for the runs under `root`.

    Loaded models are kept (the newest `CACHE_MODELS`), each for its run's newest checkpoint:
    when a run still training writes a new checkpoint, the next request loads that one.
    """

    def __init__(self, root: str | Path, *, device: str = "cpu") -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise GankitError(f"no such folder: {root}")
        self.device = device
        self.tmp = Path(tempfile.mkdtemp(prefix="gankit-serve-"))
        self._models: OrderedDict[tuple[Path, Path], Generator] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- runs ---------------------------------------------------------------------------------

    def runs(self) -> list[RunSummary]:
        return find_runs(self.root)

    def run_dir(self, name: str) -> Path:
        return resolve_run(self.root, name)

    def summary(self, name: str) -> RunSummary:
        return summarize(self.run_dir(name), name)

    def handle(self, name: str) -> Generator:
        """The run's generator at its newest checkpoint (loaded once, then kept)."""
        import gankit

        path = self.run_dir(name)
        checkpoints = list_checkpoints(path / "checkpoints")
        if not checkpoints:
            raise GankitError(f"{name} has no checkpoint yet: its first is written at step 0")
        key = (path, checkpoints[-1][1])
        with self._lock:  # one load at a time; later requests find it cached
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            for old in [k for k in self._models if k[0] == path]:
                del self._models[old]  # an older checkpoint of the same run
            handle = gankit.load(key[1], device=self.device)
            self._models[key] = handle
            while len(self._models) > CACHE_MODELS:
                self._models.popitem(last=False)
            return handle

    def features(self, name: str) -> Features:
        from gankit.models.stylegan import StyleGAN
        from gankit.projection import check_projectable

        h = self.handle(name)
        model = h.model
        directions = list(model.directions)
        samples = not directions
        truncation: str | None = None
        if samples and not h.text_conditioned:
            if model.truncation_space == "w":
                truncation = "w"
            elif getattr(model.config, "z_dist", "uniform") == "normal":
                truncation = "z"
        try:
            check_projectable(model, None)
            projectable = True
        except GankitError:
            projectable = False
        codes = [
            {
                "name": c.name,
                "kind": c.kind,
                "minimum": 0 if c.kind == "categorical" else -2.0,
                "maximum": c.size - 1 if c.kind == "categorical" else 2.0,
                "step": 1 if c.kind == "categorical" else 0.1,
            }
            for c in model.codes
        ]
        return Features(
            kind=h.info.kind,
            samples=samples,
            classes=h.num_classes if not h.text_conditioned else 0,
            truncation=truncation,
            walk=samples and h.info.kind != "points",
            project=projectable,
            styles=model.num_ws if isinstance(model, StyleGAN) else 0,
            codes=codes,
            directions=directions,
            super_resolution=_srgan_scale() if model.name == "srgan" else 0,
            text=h.text_conditioned,
            stages=2 if _two_stages(h) else 0,
            growth=model.name == "progan",
        )

    def curves(self, name: str) -> dict[str, list[dict[str, Any]]]:
        """The run's metrics.jsonl as long-form rows (step, value, series), in three groups:
        losses, D's outputs (probabilities, scores, the sign of D(real)), and the rest (ADA's
        p and r_t, ProGAN's fade-in, ...)."""
        groups: dict[str, list[dict[str, Any]]] = {"losses": [], "outputs": [], "other": []}
        for record in read_metrics(self.run_dir(name)):
            for key, value in record.items():
                if key in _NOT_CURVES or not isinstance(value, int | float):
                    continue
                if not math.isfinite(value):
                    continue
                phase, _, term = key.rpartition("/")
                if key.startswith("augment/") or not phase or term in _SCHEDULE_WORDS:
                    group = "other"
                elif "loss" not in term and any(w in term for w in _OUTPUT_WORDS):
                    group = "outputs"
                else:
                    group = "losses"
                groups[group].append({"step": record["step"], "value": value, "series": key})
        return groups

    def saved_samples(self, name: str) -> list[tuple[int, Path]]:
        return sample_steps(self.run_dir(name))

    def sample_at(self, name: str, step: float | None) -> tuple[np.ndarray | None, int | None]:
        """The saved grid nearest to `step` (the newest when None), and its step."""
        saved = self.saved_samples(name)
        if not saved:
            return None, None
        if step is None:
            chosen = saved[-1]
        else:
            chosen = min(saved, key=lambda s: (abs(s[0] - float(step)), -s[0]))
        return read_picture(chosen[1]), chosen[0]

    def evals(self, name: str) -> tuple[list[str], list[list[Any]]]:
        """Cached `gankit eval` results: (headers, one row per evaluation, newest first)."""
        records = eval_results(self.run_dir(name))
        keys: list[str] = []
        for r in records:
            for k, v in (r.get("results") or {}).items():
                number = isinstance(v, int | float) and not isinstance(v, bool)
                if number and k not in keys and k not in ("step", "n"):
                    keys.append(k)
        headers = ["time", "step", "n", "features", *keys]
        rows = []
        for r in reversed(records):
            res = r.get("results") or {}
            row = [r.get("time", ""), res.get("step", ""), res.get("n", ""), res.get("features")]
            row += [_fmt(res.get(k)) for k in keys]
            rows.append(["" if v is None else v for v in row])
        return headers, rows

    # --- drawing ------------------------------------------------------------------------------

    def _file(self, suffix: str) -> Path:
        with self._lock:
            self._counter += 1
            return self.tmp / f"{self._counter:06d}{suffix}"

    def _show(self, h: Generator, samples: Tensor, nrow: int | None = None) -> np.ndarray:
        """Samples as a picture: an image grid, or a scatter plot over the true modes."""
        if h.info.kind == "points":
            from gankit.viz import save_samples

            path = save_samples(samples, self._file(".png"), h.info, title=f"{len(samples)}")
            return read_picture(path)
        return to_picture(samples, nrow=nrow)

    def generate(
        self,
        name: str,
        *,
        seed: Any = 0,
        n: Any = 16,
        truncation: float | None = None,
        label: int | None = None,
    ) -> np.ndarray:
        """`Generator.sample`: n samples of `seed` (of class `label`, if given)."""
        h = self.handle(name)
        seed = _whole(seed, "seed", 0, 2**63 - 1)
        limit = 5000 if h.info.kind == "points" else MAX_SAMPLES
        n = _whole(n, "the number of samples", 1, limit)
        samples = h.sample(n, seed=seed, labels=label, truncation=truncation)
        return self._show(h, samples)

    def walk(
        self,
        name: str,
        *,
        seeds: str = "0, 1",
        steps: Any = 8,
        spherical: bool = False,
        label: int | None = None,
        truncation: float | None = None,
        uploads: list[str] | None = None,
        project_steps: Any = 200,
        captions: str | None = None,
    ) -> tuple[np.ndarray, str]:
        """`Generator.interpolate` (or `interpolate_text` between captions, one per line, or
        `project` then `interpolate` through uploaded images): the strip and an animated GIF."""
        from gankit.viz import save_gif

        h = self.handle(name)
        steps = _whole(steps, "steps", 2, MAX_WALK_STEPS)
        if h.text_conditioned:
            texts = [t.strip() for t in (captions or "").splitlines() if t.strip()]
            seed = parse_seeds(seeds)[0]
            frames = h.interpolate_text(texts, steps, seed=seed, spherical=spherical)
        elif uploads:
            if len(uploads) < 2:
                raise GankitError("a walk through images needs at least two of them")
            if len(uploads) > MAX_SEEDS:
                raise GankitError(f"give at most {MAX_SEEDS} images")
            result = self.project(name, uploads, steps=project_steps, label=label)
            frames = h.interpolate(result, steps, spherical=spherical, truncation=truncation)
        else:
            frames = h.interpolate(
                parse_seeds(seeds, at_least=2),
                steps,
                spherical=spherical,
                label=label,
                truncation=truncation,
            )
        # CoGAN draws a pair per latent [T, 2, C, H, W]: the GIF shows each pair side by side
        movie = torch.cat(frames.unbind(1), dim=-1) if frames.dim() == 5 else frames
        gif = save_gif(movie, self._file(".gif"))
        return to_picture(frames, nrow=steps), str(gif)

    def project(self, name: str, uploads: list[str], *, steps: Any = 200, label: Any = None) -> Any:
        """`Generator.project` of uploaded images: their Latents."""
        from gankit.projection import check_projectable, read_target

        h = self.handle(name)
        check_projectable(h.model, None)
        steps = _whole(steps, "projection steps", 1, MAX_PROJECT_STEPS)
        images = torch.cat(
            [read_target(check_upload(p), h.info.shape, convert=True) for p in uploads]
        )
        if h.model.conditional and label is None:
            label = 0
        return h.project(images, steps=steps, label=label).latents

    def mix(
        self,
        name: str,
        *,
        rows: str = "0, 1, 2",
        cols: str = "3, 4, 5",
        crossover: Any = None,
        truncation: float | None = None,
    ) -> np.ndarray:
        """`Generator.mix_styles`: StyleGAN's style-mixing grid."""
        h = self.handle(name)
        k = None
        if crossover not in (None, "", 0):
            k = _whole(crossover, "the crossover", 1, max(1, getattr(h.model, "num_ws", 2) - 1))
        images, nrow = h.mix_styles(
            parse_seeds(rows, most=8), parse_seeds(cols, most=8), crossover=k, truncation=truncation
        )
        return to_picture(images, nrow=nrow)

    def codes(self, name: str, *, seed: Any = 0, n: Any = 8, values: list[Any]) -> np.ndarray:
        """InfoGAN: n samples of `seed` with every latent code set to its slider's value."""
        h = self.handle(name)
        model = h.model
        seed = _whole(seed, "seed", 0, 2**63 - 1)
        n = _whole(n, "the number of samples", 1, MAX_SAMPLES)
        if len(values) < len(model.codes):
            raise GankitError(f"give a value for each of the {len(model.codes)} codes")
        z = model.sample_latent(n, generator=torch.Generator().manual_seed(seed)).cpu()
        for code, value in zip(model.codes, values):
            z = model.set_code(z, code.name, float(value))
        return to_picture(h.generate(z), nrow=min(n, 8))

    def translate(
        self, name: str, upload: str, direction: str = "AtoB"
    ) -> list[tuple[np.ndarray, str]]:
        """`Generator.translate` of one uploaded image: [(input), (translation)], and for SRGAN
        the bicubic upscaling beside it."""
        from gankit.data.folder import read_image
        from gankit.metrics.image import bicubic_upscale

        h = self.handle(name)
        h.model.check_direction(direction)
        channels = (h.info.shape if direction == "AtoB" else h.info.shape_b)[0]
        x = read_image(check_upload(upload), channels)
        out = h.translate(x, direction, tile=TRANSLATE_TILE)
        assert isinstance(out, Tensor)
        shown = [(x[0], "input"), (out[0], f"{h.config.model_name} {direction}")]
        if h.model.name == "srgan":
            factor = _srgan_scale()
            shown = [
                (x[0], "input"),
                (bicubic_upscale(x, factor)[0], f"bicubic ×{factor}"),
                (out[0], f"SRGAN ×{factor}"),
            ]
        return [(to_picture(img[None]), caption) for img, caption in shown]

    def text(
        self, name: str, caption: str, *, n: Any = 8, seed: Any = 0
    ) -> list[tuple[np.ndarray, str]]:
        """Text-to-image: n samples of one caption (StackGAN Stage-II: both stages)."""
        h = self.handle(name)
        if not (caption or "").strip():
            raise GankitError("type a caption")
        n = _whole(n, "the number of samples", 1, MAX_SAMPLES)
        seed = _whole(seed, "seed", 0, 2**63 - 1)
        if _two_stages(h):
            first, second = h.sample_stages(n, seed=seed, text=caption)
            return [(to_picture(first), "Stage-I"), (to_picture(second), "Stage-II")]
        return [(to_picture(h.sample(n, seed=seed, text=caption)), caption)]

    def growth(self, name: str) -> tuple[list[list[Any]], list[tuple[np.ndarray, str]]]:
        """ProGAN: its grow schedule (one row per phase, with whether the run got there) and,
        for each resolution reached, the newest saved grid drawn at that resolution."""
        from gankit.models.progan import ProGANConfig, grow_schedule

        h = self.handle(name)
        config = h.config.model
        if not isinstance(config, ProGANConfig):
            raise GankitError(f"{name} is a {h.config.model_name} run; growth is progan's")
        t = h.config.train
        phases = grow_schedule(config, h.info.shape[-1], t.batch_size, t.steps)
        step = self.summary(name).step
        rows = [
            [
                f"{p.resolution}×{p.resolution}",
                p.kind,
                f"{p.first_step}–{p.last_step}",
                f"{p.first_image}–{p.last_image}",
                "yes" if step >= p.first_step else "no",
            ]
            for p in phases
        ]
        saved = self.saved_samples(name)
        shown = []
        for side in dict.fromkeys(p.resolution for p in phases):
            spans = [p for p in phases if p.resolution == side]
            first, last = spans[0].first_step, spans[-1].last_step
            inside = [(s, path) for s, path in saved if first <= s <= last + 1]
            if inside:
                s, path = inside[-1]
                shown.append((read_picture(path), f"{side}×{side} (step {s})"))
        return rows, shown


def check_upload(path: str | Path) -> Path:
    """An uploaded image's path, after its header says it is an image of at most
    `MAX_UPLOAD_PIXELS` (nothing is decoded before)."""
    from gankit.data.images import UnreadableImage, open_image

    p = Path(path)
    try:
        with open_image(p) as img:
            w, h = img.size
    except UnreadableImage as err:  # named without the server's temporary path
        raise GankitError(f"the uploaded file {p.name} cannot be used: {err.reason}") from None
    if w * h > MAX_UPLOAD_PIXELS:
        raise GankitError(
            f"the image is {w}×{h}: the page takes at most {MAX_UPLOAD_SIDE}×{MAX_UPLOAD_SIDE} "
            "pixels (gankit translate --tile takes larger ones)"
        )
    return p


def _two_stages(h: Generator) -> bool:
    """A StackGAN Stage-II run: it draws both stages."""
    from gankit.models.text2image import StackGAN

    return isinstance(h.model, StackGAN) and h.model.config.stage == 2


def _srgan_scale() -> int:
    from gankit.models.srgan import SCALE

    return SCALE


def _fmt(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value
