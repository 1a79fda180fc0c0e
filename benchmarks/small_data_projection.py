"""Projection of held-out real images into the generators of the small-data benchmark: how well
`Generator.project` (the StyleGAN2 projector's recipe) reconstructs images the runs never saw.

Run after `benchmarks/small_data.py` (which calls `lines()` for its page; standalone:
`python benchmarks/small_data_projection.py`, which prints the section). For each set × model
it takes the run of the setting with the lowest final FID, projects the first `IMAGES` held-out
images (DCGAN into z; StyleGAN2 into w and into w+), and records, per image: PSNR and SSIM
against the target, and the distance of their classifier embeddings (the features the page's
FIDs use) divided by the mean distance between two different held-out images of the set (1:
as far apart as two unrelated real images). The same of the starting latent (the average w, a
seeded z) shows what the search gained. Results are cached in RUN/projection-SPACE.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import small_data as sd

IMAGES = 8
STEPS = 1000
SEED = 0
FEATURES = "none"  # pixel MSE only; see the page for why


def _spaces(model_key: str) -> list[str]:
    return ["w", "w+"] if model_key == "stylegan2" else ["z"]


def best_run(results: dict, data: str, model_key: str, settings: list[str]) -> str | None:
    """The setting of `data` × `model_key` with the lowest final FID (None: none finished)."""
    scored = []
    for setting in settings:
        r = results.get((data, model_key, setting), {})
        if r.get("scores"):
            _, final = sd._final(r)
            scored.append((final["fid"], setting))
    return min(scored)[1] if scored else None


def measure(run_dir: Path, targets: Any, space: str) -> dict[str, Any]:
    """Project `targets` into the final generator of `run_dir` (cached)."""
    import torch

    import gankit
    from gankit.metrics.image import psnr, ssim

    record = run_dir / f"projection-{space.replace('+', 'plus')}.json"
    if record.is_file():
        return json.loads(record.read_text())
    gen = gankit.load(run_dir)
    torch.set_num_threads(1)
    result = gen.project(targets, steps=STEPS, space=space, seed=SEED, features=FEATURES)  # type: ignore[arg-type]
    ex = sd.extractor()
    with torch.no_grad():
        f_target = ex.run(result.targets)[0].double()
        f_proj = ex.run(result.images)[0].double()
        f_start = ex.run(result.start)[0].double()
    pairs = torch.cdist(f_target, f_target)
    unrelated = pairs[~torch.eye(len(pairs), dtype=torch.bool)].mean()
    out = {
        "space": space,
        "images": len(targets),
        "steps": STEPS,
        "uses_ema": gen.uses_ema,
        "psnr": psnr(result.images, result.targets).tolist(),
        "ssim": ssim(result.images, result.targets).tolist(),
        "feature": ((f_proj - f_target).norm(dim=1) / unrelated).tolist(),
        "psnr_start": psnr(result.start, result.targets).tolist(),
        "ssim_start": ssim(result.start, result.targets).tolist(),
        "feature_start": ((f_start - f_target).norm(dim=1) / unrelated).tolist(),
    }
    strip = torch.stack([result.targets, result.start, result.images], 1).flatten(0, 1)
    out["strip"] = strip_path(run_dir, space)
    from gankit.viz.grid import save_samples

    save_samples(strip, Path(out["strip"]), gen.info, nrow=3)
    record.write_text(json.dumps(out, indent=1))
    return out


def strip_path(run_dir: Path, space: str) -> str:
    return str(run_dir / f"projection-{space.replace('+', 'plus')}.png")


def lines(results: dict, opts: Any) -> list[str]:
    """The page's projection section (projecting where not cached)."""
    import shutil
    import statistics

    table = opts.model_table
    rows = [
        "| set | model | run (setting) | space | PSNR dB: start → projection | SSIM: start → "
        "projection | feature distance: start → projection |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    strips = []
    for data in opts.sets:
        targets = sd.real_images(data, opts.work, "test")[:IMAGES]
        for key in opts.models:
            setting = best_run(results, data, key, opts.settings)
            if setting is None:
                continue
            job = sd.Job(data, table[key], setting)
            run_dir = opts.work / "runs" / job.tag
            for space in _spaces(key):
                m = measure(run_dir, targets, space)

                def med(name: str, m: dict = m) -> float:
                    return statistics.median(m[name])

                rows.append(
                    f"| {data} | {table[key].label} | {sd.LABELS[setting]} | {space} | "
                    f"{med('psnr_start'):.1f} → **{med('psnr'):.1f}** | "
                    f"{med('ssim_start'):.2f} → **{med('ssim'):.2f}** | "
                    f"{med('feature_start'):.2f} → **{med('feature'):.2f}** |"
                )
                name = f"projection-{data}-{key}-{space.replace('+', 'plus')}.png"
                shutil.copyfile(m["strip"], opts.figures / name)
                strips.append((f"{data}, {table[key].label}, {space}", name))
    out = [
        f"The first {IMAGES} held-out images of each set, projected into the final generator",
        "of the set × model run with the lowest final FID (its setting in the table) by",
        f"`gen.project(images, steps={STEPS}, space=..., seed={SEED}, features={FEATURES!r})`:",
        "DCGAN into z, StyleGAN2 into w (one w for all layers) and into w+ (one per layer).",
        "The projection's own loss is pixel MSE alone: the sets here are folders, for which",
        "gankit has no trained feature network offline (its random-weight VGG19 is a structural",
        "feature, not a perceptual one), and the classifier is what the scores below use, so",
        "projecting with it would score the search on its own objective. Medians over the",
        "images; `start` is the starting latent's image (StyleGAN2: the average w; DCGAN:",
        "z = 0, the mean of its uniform prior, a black image). Feature distance: the",
        "Euclidean distance of the Fashion-MNIST classifier",
        "embeddings of projection and target, divided by the mean distance between two",
        "different held-out images of the set (1 = as far as an unrelated real image).",
        "",
        *rows,
        "",
        "Each strip: a row per image — target, start, projection.",
        "",
    ]
    for title, name in strips:
        out += [f"{title}:", "", f"![{title}]({sd.PAGE}/{name})", ""]
    return out


if __name__ == "__main__":
    print("run benchmarks/small_data.py: it calls lines() for its page")
