"""The generator handle: a trained model loaded for inference."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
        latents: Tensor,
        labels: Tensor | int | None = None,
        *,
        batch_size: int = 500,
        truncation: float | None = None,
    ) -> Tensor:
        """Samples of given latents [N, latent_dim] (and labels, for a conditional model; drawn
        uniformly at random if not given), as a CPU float tensor. `truncation` is ψ for models
        that truncate in w (StyleGAN); for the others it is applied when drawing z."""
        if latents.dim() != 2 or latents.shape[1] != self.model.latent_dim:
            raise GankitError(
                f"expected latents [N, {self.model.latent_dim}], got {tuple(latents.shape)}"
            )
        y = self._labels(labels, len(latents))
        if y is None and self.model.conditional:
            y = self.model.sample_labels(len(latents))
        z = latents.to(self.model.device)
        out = []
        for start in range(0, len(z), batch_size):
            part = None if y is None else y[start : start + batch_size].to(z.device)
            chunk = z[start : start + batch_size]
            if self.model.truncation_space == "w" and truncation is not None:
                x = self.model.generate(chunk, part, truncation=truncation)  # type: ignore[call-arg]
            else:
                x = self.model.generate(chunk, part)
            out.append(x.float().cpu())
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
        if n < 1:
            raise GankitError(f"the number of samples must be positive, got {n}")
        gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
        z = self.model.sample_latent(n, generator=gen, truncation=self._z_truncation(truncation))
        w: float | None = truncation  # ψ, for models that truncate in w
        if self.text_conditioned or text is not None:
            y: Tensor | None = self.caption_embeddings(text, n)
            w = None
        else:
            y = self._labels(labels, n)
            if y is None:
                y = self.model.sample_labels(n, generator=gen)
        for start in range(0, n, batch_size):
            part = None if y is None else y[start : start + batch_size]
            yield self.generate(
                z[start : start + batch_size], part, batch_size=batch_size, truncation=w
            )

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
        seeds: list[int],
        steps: int = 8,
        *,
        spherical: bool = False,
        label: int | None = None,
        truncation: float | None = None,
    ) -> Tensor:
        """Samples along the path through the latents of `seeds` (≥ 2), `steps` per segment with
        both ends included: [(len(seeds) − 1) · (steps − 1) + 1, ...]. A conditional model keeps
        one class along the path (`label`, else the first seed's own draw)."""
        from gankit.latent import interpolate_path

        if len(seeds) < 2:
            raise GankitError("interpolation needs at least two seeds")
        if steps < 2:
            raise GankitError(f"interpolation needs at least 2 steps, got {steps}")
        z = interpolate_path(self.latents(seeds, truncation=truncation), steps, spherical)
        if label is None and self.model.conditional:
            gen = torch.Generator().manual_seed(seeds[0])
            self.model.sample_latent(1, generator=gen, truncation=self._z_truncation(truncation))
            drawn = self.model.sample_labels(1, generator=gen)
            assert drawn is not None
            label = int(drawn.item())
        return self.generate(z, label if label is None else int(label), truncation=truncation)

    @torch.no_grad()
    def arithmetic(
        self,
        a: list[int],
        b: list[int],
        c: list[int],
        *,
        variations: int = 8,
        noise: float = 0.25,
        seed: int = 0,
        label: int | None = None,
    ) -> tuple[Tensor, int]:
        """Latent vector arithmetic as in DCGAN's paper: the mean latent of each group of seeds,
        then mean(a) − mean(b) + mean(c), shown with `variations` copies perturbed by uniform
        noise of ±`noise`. Returns (images, nrow): one row per group (its seeds' samples, then
        the sample of the group's mean), and a last row of the result and its variations."""
        from gankit.latent import vector_arithmetic

        if self.info.kind != "image":
            raise GankitError("latent arithmetic shows images; this model generates points")
        if label is None and self.model.conditional:
            label = 0  # one class throughout, so that only the latents differ
        groups = [a, b, c]
        if any(not g for g in groups):
            raise GankitError("each of --a, --b and --c needs at least one seed")
        means, result = vector_arithmetic(*(self.latents(g) for g in groups))
        gen = torch.Generator().manual_seed(seed)
        jitter = (torch.rand(variations, result.shape[0], generator=gen) * 2 - 1) * noise
        width = max(max(len(g) for g in groups) + 1, variations + 1)
        rows = []
        for group, mean in zip(groups, means):
            row = torch.cat([self.latents(group), mean[None]])
            rows.append((row, width - len(row)))
        rows.append((torch.cat([result[None], result[None] + jitter]), width - variations - 1))
        cells = []
        blank = torch.ones(self.info.shape)  # a white cell
        for latents, pad in rows:
            images = self.generate(latents, label)
            cells.append(torch.cat([images, blank.expand(pad, *blank.shape)]))
        return torch.cat(cells), width

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
