"""Train the attribute classifier that gankit ships for its text–image consistency metric.

    python scripts/train_shapes_classifier.py            # writes src/gankit/metrics/weights/

Trains on scenes of its own (the renderer's `judge` stream: one shape, any (kind, colour)
combination, never shown to a generative model), because a judge must know the combinations that
the models' training split holds out; at random resolutions (16, 32, 64, each resized to the
classifier's 32×32, as samples will be) with light noise. Reports held-out accuracy per attribute
on the `shapes` test split at each resolution, for seen and unseen combinations apart.
Deterministic for a given seed on CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit.data.shapes import ATTRIBUTES, shapes_split
from gankit.metrics.classifier import save_shipped
from gankit.metrics.shapes import WEIGHTS, ShapesClassifier

OUT = Path(__file__).resolve().parents[1] / "src" / "gankit" / "metrics" / "weights"
RESOLUTIONS = (16, 32, 64)


def images(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(127.5).sub(1.0)


@torch.no_grad()
def accuracy(model: ShapesClassifier, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    out = model(images(x))
    got = {
        a: round(float((out[a].argmax(1) == y[:, k]).float().mean()), 4)
        for k, a in enumerate(ATTRIBUTES)
    }
    right = torch.stack([out[a].argmax(1) == y[:, k] for k, a in enumerate(ATTRIBUTES)], 1)
    got["all"] = round(float(right.all(1).float().mean()), 4)
    return got


def train(epochs: int, seed: int) -> tuple[ShapesClassifier, dict[str, object]]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = {}
    for r in RESOLUTIONS:
        split = shapes_split("judge", resolution=r)
        data[r] = (split.x, split.attributes)
    tests = {r: shapes_split("test", resolution=r) for r in RESOLUTIONS}
    test = tests[32]
    model = ShapesClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(data[32][1])
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(n, generator=gen).split(64):
            r = RESOLUTIONS[int(torch.randint(len(RESOLUTIONS), (1,), generator=gen))]
            x, y = data[r]
            xb = images(x[idx])
            xb = (xb + 0.05 * torch.randn(xb.shape, generator=gen)).clamp(-1, 1)
            out = model(xb)
            loss = sum(F.cross_entropy(out[a], y[idx, k]) for k, a in enumerate(ATTRIBUTES))
            opt.zero_grad()
            loss.backward()  # type: ignore[union-attr]
            opt.step()
        sched.step()
        model.eval()
        print(f"epoch {epoch + 1:3d}  test {accuracy(model, test.x, test.attributes)}")
    card = {
        "test_accuracy": accuracy(model, test.x, test.attributes),
        "test_accuracy_by_resolution": {
            str(r): accuracy(model, t.x, t.attributes) for r, t in tests.items()
        },
        "test_accuracy_seen": accuracy(model, test.x[test.seen], test.attributes[test.seen]),
        "test_accuracy_unseen": accuracy(model, test.x[~test.seen], test.attributes[~test.seen]),
        "train_split": f"shapes judge stream, one shape in any combination ({n} images)",
        "test_split": f"shapes test ({len(test.x)} images, half unseen combinations)",
        "epochs": epochs,
        "seed": seed,
        "command": f"python scripts/train_shapes_classifier.py --epochs {epochs} --seed {seed}",
    }
    return model, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    start = time.perf_counter()
    model, card = train(args.epochs, args.seed)
    card["train_seconds"] = round(time.perf_counter() - start, 1)
    save_shipped(model, args.out / WEIGHTS, card)
    print(json.dumps(card, indent=1))


if __name__ == "__main__":
    main()
