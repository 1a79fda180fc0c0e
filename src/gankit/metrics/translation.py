"""Metrics of image-to-image models, on the held-out split of the run's dataset.

- `psnr_ssim` (paired sets and super-resolution): PSNR and SSIM of the translation of each
  held-out A against its B; for ×4 super-resolution also bicubic upscaling's, the baseline.
- `translation` (the built-in unpaired glyph and digit sets): in each direction, *content
  preservation* (the shipped classifier reads the same character or digit in the translation as
  in its source) and *domain accuracy* (the style classifier places the translation in the
  target domain).
- `pairs` (CoGAN): the share of generated pairs whose two images show the same class.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.data.base import Batch
from gankit.errors import GankitError
from gankit.metrics.evaluate import PAIR_SETS, UNPAIRED_TASKS, EvalContext, metric
from gankit.metrics.image import bicubic_upscale, psnr, ssim
from gankit.translate import translate


def held_out(ctx: EvalContext) -> Batch:
    """The first n examples of the held-out split (all of them when fewer), on the CPU."""
    dataset = ctx.dataset("test")
    count = min(ctx.n, len(dataset))
    return {k: v.cpu() for k, v in dataset.batch(torch.arange(count)).items()}


def translated(ctx: EvalContext, x: Tensor, direction: str, batch_size: int = 64) -> Tensor:
    """Translations of x in batches; any noise of the model (pix2pix's test-time dropout) is
    drawn from the evaluation seed, so that scores are reproducible."""
    model = ctx.handle.model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        parts = [
            translate(model, x[i : i + batch_size], direction).float().cpu()
            for i in range(0, len(x), batch_size)
        ]
    return torch.cat(parts)


def is_super_resolution(ctx: EvalContext) -> bool:
    info = ctx.info
    return (
        info.kind == "paired"
        and info.shape[0] == info.shape_b[0]
        and info.shape_b[-1] == 4 * info.shape[-1]
    )


@metric("psnr_ssim", help="paired sets: PSNR and SSIM of translations of held-out A vs B")
def psnr_ssim(ctx: EvalContext) -> dict[str, float]:
    if ctx.info.kind != "paired" or not ctx.handle.model.directions:
        raise GankitError("psnr_ssim needs a translation model trained on paired data")
    if min(ctx.info.shape_b[1:]) < 11:
        raise GankitError("SSIM needs images of at least 11×11 pixels (its Gaussian window)")
    batch = held_out(ctx)
    fake, real = translated(ctx, batch["a"], "AtoB"), batch["b"]
    out = {"psnr": float(psnr(fake, real).mean()), "ssim": float(ssim(fake, real).mean())}
    if is_super_resolution(ctx):
        base = bicubic_upscale(batch["a"], 4)
        out["psnr_bicubic"] = float(psnr(base, real).mean())
        out["ssim_bicubic"] = float(ssim(base, real).mean())
    return out


@metric(
    "translation",
    help="unpaired glyph/digit sets: content preservation and domain accuracy, both ways",
)
def translation_scores(ctx: EvalContext) -> dict[str, float]:
    from gankit.metrics.glyphs import content_preservation, domain_accuracy

    name = ctx.info.name
    if name not in UNPAIRED_TASKS or not ctx.handle.model.directions:
        sets = ", ".join(UNPAIRED_TASKS)
        raise GankitError(f"translation scores need a translation model trained on {sets}")
    task, classes = UNPAIRED_TASKS[name]
    batch, out = held_out(ctx), {}
    for direction in ctx.handle.model.directions:
        source, labels, target = (
            (batch["a"], batch["ya"], "B")
            if direction == "AtoB"
            else (batch["b"], batch["yb"], "A")
        )
        fake = translated(ctx, source, direction)
        out[f"content_{direction}"] = content_preservation(labels, fake, classes=classes)
        out[f"domain_{direction}"] = domain_accuracy(fake, task, target=target)
    return out


@metric("pairs", help="cogan: share of generated pairs whose images show the same class")
def pair_scores(ctx: EvalContext) -> dict[str, float]:
    from gankit.metrics.pairs import pair_agreement_of

    if ctx.info.name not in PAIR_SETS:
        raise GankitError(f"pair agreement is defined for {', '.join(PAIR_SETS)}")
    pairs = ctx.samples("fake")  # [N, 2, C, H, W]
    if pairs.dim() != 5:
        model = ctx.handle.config.model_name
        raise GankitError(f"pair agreement needs a model that draws pairs (cogan), not {model}")
    return {"pair_agreement": pair_agreement_of(pairs[:, 0], pairs[:, 1], ctx.info.name)}
