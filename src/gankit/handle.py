"""The generator handle: a trained model loaded for inference."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gankit.data.base import DataInfo
from gankit.errors import GankitError
from gankit.models.base import GANModel
from gankit.training.checkpoint import load_checkpoint, subdict
from gankit.training.config import RunConfig

if TYPE_CHECKING:
    from gankit.projection import FeatureChoice, Latents, ProjectionResult, ProjectSettings, Space


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

    @property
    def num_classes(self) -> int:
        """Classes a conditional model takes (0 for an unconditional one)."""
        return self.info.num_classes if self.model.conditional else 0

    def _labels(self, labels: Tensor | int | None, n: int) -> Tensor | None:
        if labels is None:
            return None
        if self.text_conditioned:
            if not isinstance(labels, Tensor) or labels.dim() != 2 or len(labels) != n:
                raise GankitError(
                    f"{self.config.model_name} takes caption embeddings [{n}, E] "
                    "(`caption_embeddings`), not class labels"
                )
            return labels.float()
        if not self.model.conditional:
            raise GankitError(
                f"{self.config.model_name} is not class-conditional: it takes no class labels"
            )
        y = torch.full((n,), labels) if isinstance(labels, int) else labels.long().flatten()
        if len(y) != n:
            raise GankitError(f"expected {n} labels, got {len(y)}")
        if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
            raise GankitError(f"class labels must be in 0..{self.num_classes - 1}")
        return y

    def _z_truncation(self, truncation: float | None) -> float | None:
        """The truncation applied when drawing z (None for models that truncate in w)."""
        return truncation if self.model.truncation_space == "z" else None

    def latents(self, seeds: int | list[int], *, truncation: float | None = None) -> Tensor:
        """One latent per seed [len(seeds), latent_dim]: the latent `sample(1, seed=s)` uses
        (z-space truncation applies here; a w-space one is given to `generate`)."""
        seeds = [seeds] if isinstance(seeds, int) else seeds
        rows = [
            self.model.sample_latent(
                1,
                generator=torch.Generator().manual_seed(s),
                truncation=self._z_truncation(truncation),
            )
            for s in seeds
        ]
        return torch.cat(rows)

    @torch.no_grad()
    def generate(
        self,
        latents: Tensor | Latents,
        labels: Tensor | int | None = None,
        *,
        batch_size: int = 500,
        truncation: float | None = None,
    ) -> Tensor:
        """Samples of given latents (and labels, for a conditional model; drawn uniformly at
        random if not given), as a CPU float tensor.

        Args:
            latents: z [N, latent_dim], or `Latents` in any space (z, w, w+), such as
                `project` returns or `load_latents` reads; their own labels are used when
                `labels` is not given.
            truncation: ψ for models that truncate in w (StyleGAN; for w and w+ latents too);
                for the others it is applied when drawing z, so it does nothing here.
        """
        from gankit.projection import Latents, check_latents, draw

        if isinstance(latents, Latents):
            check_latents(self.model, latents)
            if labels is None:
                labels = latents.labels
            values, space = latents.values, latents.space
        else:
            values, space = latents, "z"
            if latents.dim() != 2 or latents.shape[1] != self.model.latent_dim:
                raise GankitError(
                    f"expected latents [N, {self.model.latent_dim}], got {tuple(latents.shape)}"
                )
        y = self._labels(labels, len(values))
        if y is None and self.model.conditional:
            y = self.model.sample_labels(len(values))
        out = []
        for start in range(0, len(values), batch_size):
            part = None if y is None else y[start : start + batch_size]
            chunk = Latents(values[start : start + batch_size], space, part)
            w = truncation if self.model.truncation_space == "w" else None
            out.append(draw(self.model, chunk, truncation=w).float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Tensor | int | None = None,
        truncation: float | None = None,
        batch_size: int = 500,
        text: str | Sequence[str] | None = None,
    ) -> Tensor:
        """n samples as a CPU float tensor (images [n, C, H, W] in [-1, 1], points [n, D]).

        The same seed gives the same samples. A conditional model draws its labels uniformly
        (after the latents, from the same seed) unless `labels` gives them (one class for all,
        or [n]). A text-to-image model draws for `text`: one caption for all n, or n captions.
        `truncation` redraws Gaussian latent entries beyond ±truncation, or, for a model that
        truncates in w (StyleGAN), is ψ: w̄ + ψ(w − w̄).
        """
        return torch.cat(
            list(
                self.iter_samples(
                    n,
                    seed=seed,
                    labels=labels,
                    truncation=truncation,
                    batch_size=batch_size,
                    text=text,
                )
            )
        )

    @torch.no_grad()
    def iter_samples(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Tensor | int | None = None,
        truncation: float | None = None,
        batch_size: int = 500,
        text: str | Sequence[str] | None = None,
    ) -> Iterator[Tensor]:
        """`sample`'s n samples, `batch_size` at a time (the same samples, concatenated), so
        that 50,000 samples for a metric never need to be held at once."""
        if self.model.directions:
            raise GankitError(
                f"{self.config.model_name} translates images rather than sampling them: "
                "use translate (gankit translate RUN INPUT... -o OUT)"
            )
        z, y, w = self._draws(n, seed, labels, truncation, text)
        for start in range(0, n, batch_size):
            part = None if y is None else y[start : start + batch_size]
            yield self.generate(
                z[start : start + batch_size], part, batch_size=batch_size, truncation=w
            )

    def _draws(
        self,
        n: int,
        seed: int | None,
        labels: Tensor | int | None,
        truncation: float | None,
        text: str | Sequence[str] | None,
    ) -> tuple[Tensor, Tensor | None, float | None]:
        """What `sample(n, ...)` draws from: the latents, then the labels (or the captions'
        embeddings), both from `seed`, and the w-space truncation ψ left for `generate`."""
        if n < 1:
            raise GankitError(f"the number of samples must be positive, got {n}")
        gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
        z = self.model.sample_latent(n, generator=gen, truncation=self._z_truncation(truncation))
        if self.text_conditioned or text is not None:
            return z, self.caption_embeddings(text, n), None
        y = self._labels(labels, n)
        if y is None:
            y = self.model.sample_labels(n, generator=gen)
        return z, y, truncation  # ψ, for models that truncate in w

    @property
    def text_conditioned(self) -> bool:
        """Whether the model draws images for captions (`sample(n, text=...)`)."""
        from gankit.models.text2image import TextToImageModel

        return isinstance(self.model, TextToImageModel)

    def caption_embeddings(self, text: str | Sequence[str] | None, n: int) -> Tensor:
        """The embeddings [n, E] of one caption (repeated) or of n captions."""
        from gankit.models.text2image import TextToImageModel

        if not isinstance(self.model, TextToImageModel):
            raise GankitError(f"{self.config.model_name} does not take text")
        if text is None:
            raise GankitError(f"{self.config.model_name} draws images of captions: give text")
        texts = [text] if isinstance(text, str) else list(text)
        if len(texts) not in (1, n):
            raise GankitError(f"give one caption or {n} (one per sample), got {len(texts)}")
        e = self.model.embed_texts(texts)
        return e.expand(n, -1) if len(texts) == 1 else e

    @torch.no_grad()
    def sample_stages(
        self, n: int, *, seed: int | None = None, text: str | Sequence[str] | None = None
    ) -> list[Tensor]:
        """StackGAN: the images of every stage for `sample(n, seed=seed, text=text)`'s draws,
        [Stage-I] or [Stage-I, Stage-II] (the last is what `sample` returns)."""
        from gankit.models.text2image import StackGAN

        if not isinstance(self.model, StackGAN):
            raise GankitError(f"{self.config.model_name} draws in one stage (stackgan has two)")
        z, e, _ = self._draws(n, seed, None, None, text)  # exactly sample's draws
        assert e is not None
        return [x.float().cpu() for x in self.model.generate_stages(z, e.to(self.model.device))]

    @torch.no_grad()
    def interpolate_text(
        self, texts: Sequence[str], steps: int = 8, *, seed: int = 0, spherical: bool = False
    ) -> Tensor:
        """Samples along the path through the embeddings of `texts` (≥ 2 captions), `steps` per
        segment with both ends included, all from one latent (`seed`): what changes is only
        what the caption says."""
        from gankit.latent import interpolate_path

        if len(texts) < 2:
            raise GankitError("text interpolation needs at least two captions")
        if steps < 2:
            raise GankitError(f"interpolation needs at least 2 steps, got {steps}")
        path = interpolate_path(self.caption_embeddings(list(texts), len(texts)), steps, spherical)
        z = self.latents(seed).expand(len(path), -1)
        return self.generate(z, path)

    def class_grid(
        self, per_class: int, *, seed: int = 0, truncation: float | None = None
    ) -> tuple[Tensor, int]:
        """Samples of a conditional model, one row of `per_class` per class: (samples, nrow)."""
        if not self.model.conditional:
            raise GankitError(f"{self.config.model_name} is not class-conditional")
        labels = torch.arange(self.num_classes).repeat_interleave(per_class)
        n = len(labels)
        return self.sample(n, seed=seed, labels=labels, truncation=truncation), per_class

    @torch.no_grad()
    def interpolate(
        self,
        seeds: list[int] | Latents,
        steps: int = 8,
        *,
        spherical: bool = False,
        label: int | None = None,
        truncation: float | None = None,
    ) -> Tensor:
        """Samples along the path through the latents of `seeds` (≥ 2), or through the rows of
        `Latents` (≥ 2, in their own space: projected images, say), `steps` per segment with
        both ends included: [(K − 1) · (steps − 1) + 1, ...]. A conditional model keeps one
        class along the path (`label`, else the first seed's own draw, or the first row's
        label)."""
        from gankit.latent import interpolate_path
        from gankit.projection import Latents, check_latents

        if len(seeds) < 2:
            raise GankitError("interpolation needs at least two seeds (or rows of latents)")
        if steps < 2:
            raise GankitError(f"interpolation needs at least 2 steps, got {steps}")
        if isinstance(seeds, Latents):
            check_latents(self.model, seeds)
            flat = seeds.values.flatten(1)  # w+ walks every layer's w at once
            path = interpolate_path(flat, steps, spherical).view(-1, *seeds.values.shape[1:])
            if label is None and seeds.labels is not None:
                label = int(seeds.labels[0])
            walk = Latents(path, seeds.space, None, seeds.meta, seeds.source)
            return self.generate(walk, self._one_label(label), truncation=truncation)
        z = interpolate_path(self.latents(seeds, truncation=truncation), steps, spherical)
        if label is None and self.model.conditional:
            gen = torch.Generator().manual_seed(seeds[0])
            self.model.sample_latent(1, generator=gen, truncation=self._z_truncation(truncation))
            drawn = self.model.sample_labels(1, generator=gen)
            assert drawn is not None
            label = int(drawn.item())
        return self.generate(z, label if label is None else int(label), truncation=truncation)

    def _one_label(self, label: int | None) -> int | None:
        """`label` for a conditional model (0 when none is known), None for the others."""
        if not self.model.conditional:
            return label  # the handle's clear error if one is given
        return 0 if label is None else int(label)

    @torch.no_grad()
    def arithmetic(
        self,
        a: list[int] | Latents,
        b: list[int] | Latents,
        c: list[int] | Latents,
        *,
        variations: int = 8,
        noise: float = 0.25,
        seed: int = 0,
        label: int | None = None,
    ) -> tuple[Tensor, int]:
        """Latent vector arithmetic as in DCGAN's paper: the mean latent of each group, then
        mean(a) − mean(b) + mean(c), shown with `variations` copies perturbed by uniform noise
        of ±`noise`. A group is a list of seeds or `Latents` (projected images, say); groups in
        different spaces meet in the widest (StyleGAN: seeds are mapped to w, w to w+).
        Returns (images, nrow): one row per group (its samples, then the sample of the group's
        mean), and a last row of the result and its variations."""
        from gankit.latent import vector_arithmetic
        from gankit.projection import Latents

        if self.info.kind != "image":
            raise GankitError("latent arithmetic shows images; this model generates points")
        groups = [a, b, c]
        if any(not len(g) for g in groups):
            raise GankitError("each of --a, --b and --c needs at least one seed or latent")
        if label is None:
            label = next((_first_label(g) for g in groups if _first_label(g) is not None), None)
        label = self._one_label(label)  # one class throughout: only the latents differ
        space, values = self._common_space(groups)
        means, result = vector_arithmetic(*values)
        gen = torch.Generator().manual_seed(seed)
        shape = result.shape
        jitter = (torch.rand(variations, *shape, generator=gen) * 2 - 1) * noise
        width = max(max(len(g) for g in groups) + 1, variations + 1)
        rows = [(torch.cat([v, m[None]]), width - len(v) - 1) for v, m in zip(values, means)]
        rows.append((torch.cat([result[None], result[None] + jitter]), width - variations - 1))
        cells = []
        blank = torch.ones(self.info.shape)  # a white cell
        for latents, pad in rows:
            images = self.generate(Latents(latents, space), label)
            cells.append(torch.cat([images, blank.expand(pad, *blank.shape)]))
        return torch.cat(cells), width

    def _common_space(self, groups: list[list[int] | Latents]) -> tuple[Space, list[Tensor]]:
        """The groups' latents in one space: the widest any group is in (z < w < w+)."""
        from gankit.projection import SPACES, Latents, check_latents

        for g in groups:
            if isinstance(g, Latents):
                check_latents(self.model, g)
        spaces = [g.space if isinstance(g, Latents) else "z" for g in groups]
        space = max(spaces, key=SPACES.index)
        values = []
        for g in groups:
            v = g.values if isinstance(g, Latents) else self.latents(g)
            src = g.space if isinstance(g, Latents) else "z"
            styled: Any = self.model  # only StyleGAN has w (check_latents made sure)
            if src == "z" and space != "z":
                v = styled.G.mapping(v.to(styled.device))
            if src != "w+" and space == "w+":
                v = v[:, None].expand(-1, styled.num_ws, -1)
            values.append(v.float().cpu())
        return space, values

    def project(
        self,
        images: Tensor,
        *,
        steps: int = 1000,
        space: Space | None = None,
        seed: int = 0,
        label: Tensor | int | None = None,
        features: FeatureChoice = "auto",
        vgg_weights: str | Path | None = None,
        progress: bool = False,
        settings: ProjectSettings | None = None,
    ) -> ProjectionResult:
        """Project images into the latent space: the latents whose samples best match them,
        by the StyleGAN2 projector's recipe (see `gankit.projection` for the loss and what
        differs from the paper's). Deterministic under `seed`; images of a batch get
        independent latents.

        Args:
            images: [N, C, H, W] (or one [C, H, W]) in [−1, 1], gankit's convention (what
                `gankit.data.folder.read_image` reads). Other sizes are centre-cropped to a
                square and resized (bilinear, antialiased) to the model's resolution. C must
                be the model's channels; grey images (C = 1) are accepted by an RGB model
                (repeated to R = G = B, which loses nothing), colour images by a grey model
                are not (convert them first).
            steps: optimiser steps (1,000).
            space: "z", or for StyleGAN "w" (the default there: one w for every layer) or
                "w+" (one w per layer).
            label: the class of the images for a conditional model (one for all, or [N]).
            features: the feature distance beside pixel MSE (`auto`, `classifier`, `vgg`,
                `none`).
            vgg_weights: a local VGG19 weights file, for `features="vgg"`.
            settings: every other setting of the optimisation (`ProjectSettings`).

        Returns:
            A `ProjectionResult`: the latents (`.latents`, which `generate`, `interpolate` and
            `arithmetic` take), the projections, the targets and per-image losses.
        """
        from gankit.projection import ProjectSettings, check_projectable, project

        base = settings or ProjectSettings()
        s = replace(
            base, steps=steps, space=space, seed=seed, features=features, vgg_weights=vgg_weights
        )
        check_projectable(self.model, s.space)
        x = self.prepare_images(images)
        y = self._labels(label, len(x))
        if y is None and self.model.conditional:
            raise GankitError(
                f"this {self.config.model_name} is class-conditional: give the class of the "
                f"images (label=K, or --class K; 0..{self.num_classes - 1})"
            )
        result = project(self.model, x, y, s, progress=progress)
        result.latents.meta.update(self._provenance())
        return result

    def prepare_images(self, images: Tensor) -> Tensor:
        """Images for `project`, checked and at the model's shape (see `project`)."""
        from gankit.data.base import resize_images

        x = images[None] if images.dim() == 3 else images
        if x.dim() != 4:
            raise GankitError(f"expected images [N, C, H, W], got {tuple(images.shape)}")
        if not len(x):
            raise GankitError("no images to project")
        channels, side = self.info.shape[0], self.info.shape[-1]
        if x.shape[1] == 1 and channels == 3:
            x = x.expand(-1, 3, -1, -1)  # grey as R = G = B: nothing lost
        if x.shape[1] != channels:
            kind = {1: "grey", 3: "RGB"}.get(channels, f"{channels}-channel")
            raise GankitError(
                f"the images have {x.shape[1]} channels, this {self.config.model_name} draws "
                f"{channels} ({kind}): give {kind} images"
                + (" (e.g. their luminance)" if channels == 1 and x.shape[1] == 3 else "")
            )
        x = x.float()
        if not torch.isfinite(x).all() or x.min() < -1.001 or x.max() > 1.001:
            raise GankitError(
                "images must hold values in [-1, 1] (gankit's convention: 2·pixel/255 − 1), got "
                f"values in [{float(x.nan_to_num().min()):.3g}, {float(x.nan_to_num().max()):.3g}]"
            )
        h, w = x.shape[-2:]
        if h != w:  # the centre square, as training data is cropped
            m = min(h, w)
            top, left = (h - m) // 2, (w - m) // 2
            x = x[..., top : top + m, left : left + m]
        return resize_images(x.clamp(-1, 1), side)

    def load_latents(self, path: str | Path) -> Latents:
        """Latents written by `gankit project` (`latents.npy` and its `latents.json`), or a
        plain [N, latent_dim] array read as z, checked against this run's model: latents of
        another kind of model, another space or another width are a GankitError. Latents
        projected with another run of the same model are used with a warning."""
        import logging

        from gankit.projection import Latents, check_latents

        latents = Latents.load(path)
        check_latents(self.model, latents)
        origin = latents.meta.get("run")
        if origin and Path(origin).resolve() != self.run_dir.resolve():
            logging.getLogger("gankit").warning(
                "%s was projected with %s, not this run (%s): each latent means what it meant "
                "there",
                path,
                origin,
                self.run_dir,
            )
        return latents

    def _provenance(self) -> dict[str, object]:
        """Where latents come from, for their sidecar."""
        return {
            "model": self.config.model_name,
            "run": str(self.run_dir.resolve()),
            "checkpoint": str(self.path.resolve()),
            "step": self.step,
            "ema": self.uses_ema,
        }

    @torch.no_grad()
    def vary_code(
        self, code: str, *, rows: int = 8, seed: int = 0, steps: int = 10
    ) -> tuple[Tensor, int]:
        """InfoGAN: one row per seed-drawn latent, sweeping latent code `code` along the
        columns with everything else fixed. Returns (images, nrow)."""
        model = self.model
        model.code(code)  # a clear error for a model without codes or an unknown code
        base = model.sample_latent(rows, generator=torch.Generator().manual_seed(seed))
        values = model.code_values(code, steps)
        grid = torch.stack([model.set_code(base, code, v) for v in values], 1)  # [rows, cols, L]
        return self.generate(grid.flatten(0, 1)), len(values)

    @torch.no_grad()
    def mix_styles(
        self,
        rows: list[int],
        cols: list[int],
        *,
        crossover: int | None = None,
        truncation: float | None = None,
    ) -> tuple[Tensor, int]:
        """The style-mixing figure of the StyleGAN paper: a grid whose first row shows the
        column seeds' own samples (source A), whose first column shows the row seeds' (source
        B), and whose cell (i, j) takes the coarse styles (layers before `crossover`; default
        the paper's 4²–8²) from row seed i and the rest from column seed j. A seed mixed with
        itself is its own sample. Returns (images, nrow)."""
        model = self.model
        mix = getattr(model, "mix", None)
        if mix is None:
            raise GankitError(
                f"{self.config.model_name} has no per-layer styles to mix (stylegan has)"
            )
        if not rows or not cols:
            raise GankitError("style mixing needs at least one row seed and one column seed")
        z_rows, z_cols = self.latents(rows), self.latents(cols)
        with torch.random.fork_rng():
            torch.manual_seed(0)  # the same noise inputs in every cell
            grid = mix(z_rows, z_cols, crossover=crossover, truncation=truncation).float().cpu()
            torch.manual_seed(0)
            own_rows = self.generate(z_rows, truncation=truncation)
            torch.manual_seed(0)
            own_cols = self.generate(z_cols, truncation=truncation)
        blank = torch.ones(1, *self.info.shape)  # the empty top-left corner
        lines = [torch.cat([blank, own_cols])]
        lines += [torch.cat([own_rows[i : i + 1], grid[i]]) for i in range(len(rows))]
        return torch.cat(lines), len(cols) + 1

    @torch.no_grad()
    def translate(
        self,
        images: Tensor | list[Tensor],
        direction: str = "AtoB",
        *,
        tile: int | None = None,
        margin: int = 16,
    ) -> Tensor | list[Tensor]:
        """Translate images in [-1, 1] with an image-to-image model (pix2pix, cyclegan,
        discogan, srgan), at their own size.

        Args:
            images: a batch [N, C, H, W], one image [C, H, W], or a list of images of different
                sizes (each [C, H, W]); C is the source domain's channel count.
            direction: "AtoB", or "BtoA" for the two-way models.
            tile: translate inputs larger than tile×tile in overlapping tiles (bounded memory);
                `margin` pixels of context on each side of a tile are translated but not kept.

        Returns:
            CPU float tensors in the form given: [N, C', H', W'], [C', H', W'] or a list.
        """
        from gankit.translate import translate

        def one(x: Tensor) -> Tensor:
            return translate(self.model, x, direction, tile=tile, margin=margin).float().cpu()

        if isinstance(images, list):
            return [one(x[None])[0] for x in images]
        if images.dim() == 3:
            return one(images[None])[0]
        return one(images)


def _first_label(group: object) -> int | None:
    """The first label of projected latents (None for seeds or unlabelled latents)."""
    from gankit.projection import Latents

    if isinstance(group, Latents) and group.labels is not None and len(group.labels):
        return int(group.labels[0])
    return None


def load(run: str | Path, *, device: str | torch.device = "cpu", ema: bool = True) -> Generator:
    """Load a run directory (its newest checkpoint) or a checkpoint for sampling.

    Args:
        run: a run directory or a checkpoint file.
        device: where to put the model.
        ema: use the EMA generator weights when the run kept them.

    Raises:
        GankitError: `run` is not a gankit run, or its checkpoint does not fit its model.
    """
    from gankit.training.distributed import DistInfo, check_available, select_device

    if isinstance(device, str):  # "auto" picks as training does; a named device must exist
        target = select_device(device, DistInfo())
    else:
        target = device
        check_available(target)
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
    model.requires_grad_(False).eval().to(target)
    return Generator(model, config, int(meta["step"]), uses_ema, path)
