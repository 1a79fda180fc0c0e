"""Train the digits classifier that gankit ships for its digit metrics.

    python scripts/train_digits_classifier.py            # writes src/gankit/metrics/weights/

Trains on the training split of `digits` only, at random resolutions (8 to 64, each resized back to
the classifier's 16×16, as generated images will be) with small random shifts, rotations and noise,
then reports accuracy on the held-out split. Deterministic for a given seed on CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit.data.digits import digit_images
from gankit.metrics.classifier import WEIGHTS, DigitsClassifier, save_shipped

OUT = Path(__file__).resolve().parents[1] / "src" / "gankit" / "metrics" / "weights"
RESOLUTIONS = (8, 16, 32, 64)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random rotation (±10°), scale (±10%) and shift (±1/8 of the side), plus light noise."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.25
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # [N, 2, 3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # pad with the background value (−1) rather than zeros (mid-grey)
    out = F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1
    return (out + 0.05 * torch.randn(out.shape, generator=gen)).clamp(-1, 1)


@torch.no_grad()
def accuracy(model: DigitsClassifier, resolution: int) -> float:
    x, y = digit_images("test", resolution)
    return (model(x).argmax(1) == y).float().mean().item()


def train(epochs: int, seed: int) -> tuple[DigitsClassifier, dict[str, object]]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = {r: digit_images("train", r) for r in RESOLUTIONS}
    model = DigitsClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(data[16][1])
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(n, generator=gen).split(64):
            r = RESOLUTIONS[int(torch.randint(len(RESOLUTIONS), (1,), generator=gen))]
            x, y = data[r]
            loss = F.cross_entropy(model(augment(x[idx], gen)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        print(
            f"epoch {epoch + 1:3d}  loss {loss.item():.4f}  test acc@16 {accuracy(model, 16):.4f}"
        )
    card = {
        "test_accuracy": {str(r): round(accuracy(model, r), 4) for r in RESOLUTIONS},
        "train_split": "digits train (1,347 images)",
        "test_split": "digits test (450 images)",
        "epochs": epochs,
        "seed": seed,
        "command": f"python scripts/train_digits_classifier.py --epochs {epochs} --seed {seed}",
    }
    return model, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    start = time.perf_counter()
    model, card = train(args.epochs, args.seed)
    card["train_seconds"] = round(time.perf_counter() - start, 1)
    save_shipped(model, args.out / WEIGHTS, card)
    print(json.dumps(card, indent=1))


if __name__ == "__main__":
    main()
