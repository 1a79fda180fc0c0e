"""Train the Fashion-MNIST classifier that gankit ships for its Fashion-MNIST metrics.

    python scripts/train_fashion_classifier.py            # writes src/gankit/metrics/weights/

Trains on the training split of Fashion-MNIST only (60,000 images; the 10,000 of the test split
stay held out), each batch passed through one of 28×28, 32×32 and 64×64 (and resized back to the
classifier's 28×28, as generated images will be), with random shifts of up to 2 pixels; then
reports accuracy on the test split at each of those resolutions. Runs on one CPU thread and is
deterministic for a given seed. The card written with the weights records the accuracy, the
data (path and SHA-256 of its four files), the command, the torch version and the thread count.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit.data.base import resize_images
from gankit.data.idx import read_idx
from gankit.files import file_sha256
from gankit.metrics.classifier import save_shipped
from gankit.metrics.fashion import WEIGHTS, FashionClassifier

OUT = Path(__file__).resolve().parents[1] / "src" / "gankit" / "metrics" / "weights"
DATA = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
RESOLUTIONS = (28, 32, 64)
MAX_SHIFT = 2
THREADS = 1


def load_split(data: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [N, 1, 28, 28] in [−1, 1] and labels [N] of `split` ("train" or "test")."""
    images, labels = FILES[split]
    x = torch.from_numpy(read_idx(data / images, ndim=3).copy())  # [N, 28, 28] uint8
    y = torch.from_numpy(read_idx(data / labels, ndim=1).copy()).long()  # [N]
    if len(x) != len(y):
        raise ValueError(f"{split}: {len(x)} images but {len(y)} labels in {data}")
    return x.unsqueeze(1).float().div(127.5).sub(1.0), y


def data_hashes(data: Path) -> dict[str, str]:
    """SHA-256 of each of the four files, so the card says exactly what was trained on."""
    return {name: file_sha256(data / name) for pair in FILES.values() for name in pair}


def shift(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image [N, 1, H, W] moved by its own random (dy, dx) in [−2, 2]², the uncovered edge
    filled with the background (−1)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (MAX_SHIFT,) * 4, value=-1.0)  # [N, 1, H+4, W+4]
    dy, dx = torch.randint(0, 2 * MAX_SHIFT + 1, (2, n, 1), generator=gen)
    rows = (torch.arange(h) + dy)[:, :, None]  # [N, H, 1]
    cols = (torch.arange(w) + dx)[:, None, :]  # [N, 1, W]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)


@torch.no_grad()
def accuracy(model: FashionClassifier, x: torch.Tensor, y: torch.Tensor, resolution: int) -> float:
    """Accuracy on images `x` first resized to `resolution` (the model resizes them back)."""
    right = sum(
        int((model(resize_images(xb, resolution)).argmax(1) == yb).sum())
        for xb, yb in zip(x.split(1000), y.split(1000))
    )
    return right / len(y)


def train_epoch(
    model: FashionClassifier,
    opt: torch.optim.Optimizer,
    data: tuple[torch.Tensor, torch.Tensor],
    gen: torch.Generator,
    batch_size: int,
) -> float:
    """One pass over the training images in a random order; the mean loss."""
    x, y = data
    model.train()
    total = 0.0
    for idx in torch.randperm(len(y), generator=gen).split(batch_size):
        r = RESOLUTIONS[int(torch.randint(len(RESOLUTIONS), (1,), generator=gen))]
        xb = resize_images(shift(x[idx], gen), r)
        loss = F.cross_entropy(model(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    model.eval()
    return total / len(y)


def train(args: argparse.Namespace) -> tuple[FashionClassifier, dict[str, object]]:
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    train_data, (test_x, test_y) = load_split(args.data, "train"), load_split(args.data, "test")
    model = FashionClassifier(args.width)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        loss = train_epoch(model, opt, train_data, gen, args.batch_size)
        sched.step()
        acc = accuracy(model, test_x, test_y, 28)
        took = time.perf_counter() - start
        print(f"epoch {epoch + 1:3d}  loss {loss:.4f}  test acc@28 {acc:.4f}  {took:.0f} s")
    train_seconds = round(time.perf_counter() - start, 1)
    by_resolution = {str(r): round(accuracy(model, test_x, test_y, r), 4) for r in RESOLUTIONS}
    card: dict[str, object] = {
        "test_accuracy": by_resolution["28"],
        "test_accuracy_by_resolution": by_resolution,
        "classes": 10,
        "train_split": f"Fashion-MNIST train ({len(train_data[1]):,} images)",
        "test_split": f"Fashion-MNIST test ({len(test_y):,} images)",
        "data": str(args.data),
        "data_sha256": data_hashes(args.data),
        "width": args.width,
        "feature_dim": model.feature_dim,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "command": (
            f"python scripts/train_fashion_classifier.py --epochs {args.epochs} "
            f"--seed {args.seed} --width {args.width} --batch-size {args.batch_size} "
            f"--lr {args.lr} --data {args.data}"
        ),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "train_seconds": train_seconds,
    }
    return model, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the four IDX files")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    model, card = train(args)
    save_shipped(model, args.out / WEIGHTS, card)
    print(json.dumps(card, indent=1))


if __name__ == "__main__":
    main()
