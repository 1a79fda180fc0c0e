"""Train the glyph classifiers that gankit ships for its translation metrics.

    python scripts/train_glyph_classifiers.py                # all three, into the package
    python scripts/train_glyph_classifiers.py --only digits  # characters, digits or domains

Each net trains on training splits only, with small extra affine jitter, a random resolution
round trip (as a model trained at a lower resolution would draw), weaker ink and light noise, so
that it judges generated images by their shapes. It then reports accuracy on held-out splits:
`glyphs` test (fresh jitter) for characters; the held-out handwritten digits and fresh font digits
for digits; each style task's test split (fresh renderings of the sets' held-out characters) for
the domains. The accuracies go into each weights file's card and into `glyph_classifiers.json`
beside them. About ten minutes on one CPU thread; data order, augmentation and initialisation
follow the seed.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.base import DataConfig, build_dataset, resize_images
from gankit.data.digits import digit_images
from gankit.data.glyphs import (
    CHARACTERS,
    FONT_KEYS,
    REGULAR2BOLD,
    SANS2SERIF,
    affine_thetas,
    warp,
)
from gankit.metrics.classifier import save_shipped
from gankit.metrics.glyphs import OUTPUTS, TASKS, GlyphClassifier, weights_file

OUT = Path(__file__).resolve().parents[1] / "src" / "gankit" / "metrics" / "weights"
EPOCHS = {"characters": 12, "digits": 10, "domains": 12}
WIDTH = 16
UNPAIRED_SETS = {
    "sans2serif": "glyphs-sans2serif",
    "regular2bold": "glyphs-regular2bold",
    "digits2glyphs": "digits2glyphs",
}


def augment(x: Tensor, gen: torch.Generator, resolutions: tuple[int, ...]) -> Tensor:
    """Each with probability 1/2: rotation ±4°, scale ±4% and shift ±5% of the side; ink at
    60-100% strength. Then a resolution round trip (one size per batch) and noise of std up to
    0.05. Half the images stay unwarped and at full ink, as the real images the nets are
    judged on are. [N, 1, 32, 32] -> same."""
    n = len(x)
    moved = (torch.rand(n, 1, generator=gen) < 0.5).float()
    u = (torch.rand(n, 4, generator=gen) * 2 - 1) * moved  # zero: the identity (exact) warp
    x = warp(x, affine_thetas(u[:, 0] * math.radians(4), 1 + u[:, 1] * 0.04, u[:, 2:] * 0.05))
    r = resolutions[int(torch.randint(len(resolutions), (1,), generator=gen))]
    x = resize_images(resize_images(x, r), GlyphClassifier.resolution)
    weak = (torch.rand(n, 1, 1, 1, generator=gen) < 0.5).float()
    ink = 1 - weak * 0.4 * torch.rand(n, 1, 1, 1, generator=gen)
    noise = 0.05 * torch.rand(n, 1, 1, 1, generator=gen)
    x = (x + 1) * ink - 1 + noise * torch.randn(x.shape, generator=gen)
    return x.clamp(-1, 1)


@dataclass
class Task:
    """One net's training data and objective."""

    name: str
    x: Tensor  # [N, 1, 32, 32] in [-1, 1]
    loss_of: Callable[[Tensor, Tensor], Tensor]  # (logits [B, K], sample indices [B]) -> loss
    resolutions: tuple[int, ...]
    evaluate: Callable[[GlyphClassifier], dict[str, float]]
    train_data: str


def images(spec: str, split: str, resolution: int = 32) -> dict[str, Tensor]:
    ds = build_dataset(DataConfig(spec=spec, split=split, resolution=resolution))
    batch = ds.batch(torch.arange(len(ds)))
    for attr in ("font", "font_a", "font_b"):  # glyph sets know each image's font
        if hasattr(ds, attr):
            batch[attr] = getattr(ds, attr)
    return batch


@torch.no_grad()
def accuracy(model: GlyphClassifier, x: Tensor, y: Tensor) -> float:
    model.eval()
    return round((model(x).argmax(1) == y).float().mean().item(), 4)


def characters_task() -> Task:
    train = images("glyphs", "train")

    def evaluate(model: GlyphClassifier) -> dict[str, float]:
        out = {}
        for r in (16, 32, 64):
            test = images("glyphs", "test", r)
            out[f"glyphs test @{r}"] = accuracy(model, test["x"], test["y"])
        test = images("glyphs", "test")
        hit = (model(test["x"]).argmax(1) == test["y"]).float()
        per_font = {k: hit[test["font"] == i].mean().item() for i, k in enumerate(FONT_KEYS)}
        worst = min(per_font, key=per_font.__getitem__)
        out[f"worst font ({worst})"] = round(per_font[worst], 4)
        return out

    return Task(
        "characters",
        train["x"],
        lambda logits, idx: F.cross_entropy(logits, train["y"][idx]),
        (12, 16, 24, 32),
        evaluate,
        "glyphs train (20 fonts x 62 characters x 8 renderings = 9,920)",
    )


def font_digits(split: str) -> tuple[Tensor, Tensor]:
    """Font digits at both sizes: `glyphs`' digits and `digits2glyphs`' larger ones."""
    small = images("glyphs", split)
    keep = small["y"] < 10
    large = images("digits2glyphs", split)
    return torch.cat([small["x"][keep], large["b"]]), torch.cat([small["y"][keep], large["yb"]])


def digits_task() -> Task:
    hand, hand_y = digit_images("train", 32)
    font, font_y = font_digits("train")
    # handwriting twice, so that it weighs about as much as the (more numerous) font digits
    x = torch.cat([hand, hand, font])
    y = torch.cat([hand_y, hand_y, font_y])

    def evaluate(model: GlyphClassifier) -> dict[str, float]:
        hand_x, hand_y = digit_images("test", 32)
        font_x, font_y = font_digits("test")
        return {
            "handwritten digits test": accuracy(model, hand_x, hand_y),
            "handwritten digits test @8": accuracy(model, digit_images("test", 8)[0], hand_y),
            "font digits test": accuracy(model, font_x, font_y),
        }

    return Task(
        "digits",
        x,
        lambda logits, idx: F.cross_entropy(logits, y[idx]),
        (8, 12, 16, 24, 32),
        evaluate,
        "digits train (1,347, twice) + glyphs train digits (1,600) + digits2glyphs train B (1,600)",
    )


def style_domains(task: str, rendered: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Training images of the two domains (A, B) of style task `task`. The glyph tasks take
    their fonts' renderings from `glyphs` train (`rendered`: all 62 characters, so the head
    judges translations of any character) and add their own set's training split."""
    own = images(UNPAIRED_SETS[task], "train")
    if task == "digits2glyphs":
        return own["a"], own["b"]
    fonts = SANS2SERIF if task == "sans2serif" else REGULAR2BOLD
    a, b = (
        rendered["x"][torch.isin(rendered["font"], torch.tensor([FONT_KEYS.index(k) for k in f]))]
        for f in fonts
    )
    if task == "regular2bold":  # already 2,480 per domain from glyphs
        return a, b
    return torch.cat([a, own["a"]]), torch.cat([b, own["b"]])


def domains_task() -> Task:
    rendered = images("glyphs", "train")
    xs, labels, tasks = [], [], []
    for i, t in enumerate(TASKS):
        a, b = style_domains(t, rendered)
        repeat = 2 if t == "sans2serif" else 1  # the subtlest task gets more steps
        xs += [a, b] * repeat
        labels += [torch.zeros(len(a)), torch.ones(len(b))] * repeat
        tasks += [torch.full((len(a) + len(b),), i)] * repeat
    x, label, task = torch.cat(xs), torch.cat(labels), torch.cat(tasks)

    def loss_of(logits: Tensor, idx: Tensor) -> Tensor:
        chosen = logits.gather(1, task[idx, None])[:, 0]  # each sample's own task's logit
        return F.binary_cross_entropy_with_logits(chosen, label[idx])

    @torch.no_grad()
    def evaluate(model: GlyphClassifier) -> dict[str, float]:
        model.eval()
        out = {}
        for i, t in enumerate(TASKS):
            test = images(UNPAIRED_SETS[t], "test")
            a, b = model(test["a"])[:, i], model(test["b"])[:, i]
            out[f"{t} test"] = round(torch.cat([a <= 0, b > 0]).float().mean().item(), 4)
        return out

    return Task(
        "domains",
        x,
        loss_of,
        (12, 16, 24, 32),
        evaluate,
        "sans2serif: glyphs train in sans and serif + glyphs-sans2serif train (x2); regular2bold: "
        "glyphs train in the 5 regular and 5 bold fonts; digits2glyphs: digits2glyphs train",
    )


def fit(task: Task, epochs: int, seed: int) -> GlyphClassifier:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = GlyphClassifier(OUTPUTS[task.name], WIDTH)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=2e-3, total_steps=epochs * math.ceil(len(task.x) / 64)
    )
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(len(task.x), generator=gen).split(64):
            loss = task.loss_of(model(augment(task.x[idx], gen, task.resolutions)), idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        scores = task.evaluate(model) if epoch + 1 in (epochs // 2, epochs) else {}
        print(f"{task.name}: epoch {epoch + 1:2d}  loss {loss.item():.4f}  {scores}", flush=True)
    return model.eval()


CLASSES = {
    "characters": CHARACTERS,
    "digits": "0123456789",
    "domains": "one logit per task, > 0 meaning domain B: " + ", ".join(TASKS),
}
BUILDERS = {"characters": characters_task, "digits": digits_task, "domains": domains_task}


def train_one(name: str, epochs: int, seed: int, out: Path) -> dict[str, object]:
    start = time.perf_counter()
    task = BUILDERS[name]()
    model = fit(task, epochs, seed)
    card: dict[str, object] = {
        "test_accuracy": task.evaluate(model),
        "outputs": OUTPUTS[name],
        "classes": CLASSES[name],
        "width": WIDTH,
        "train_data": task.train_data,
        "epochs": epochs,
        "seed": seed,
        "command": f"python scripts/train_glyph_classifiers.py --only {name} --seed {seed}",
        "train_seconds": round(time.perf_counter() - start, 1),
    }
    save_shipped(model, out / weights_file(name), card)
    print(f"{name}: held-out accuracy {card['test_accuracy']}", flush=True)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(BUILDERS), action="append")
    parser.add_argument("--epochs", type=int, help="override every net's epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary_path = args.out / "glyph_classifiers.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    for name in args.only or list(BUILDERS):
        summary[name] = train_one(name, args.epochs or EPOCHS[name], args.seed, args.out)
        summary_path.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
