"""Pretrain the text encoders that gankit ships for its text-to-image models.

    python scripts/train_text_encoder.py                 # both: shapes, then glyphs
    python scripts/train_text_encoder.py --only shapes   # writes src/gankit/text/weights/

Each encoder learns a joint image–text embedding (Reed et al. 2016; here the symmetric
contrastive form, `gankit.text.joint`) on the training split of its captioned dataset, with an
image encoder that is trained beside it and then dropped. The held-out split measures
text→image retrieval: each caption ranks its own image first among 100 candidates (its image
and 99 others of the split); for `shapes`, separately for seen and unseen (kind, colour)
combinations. The numbers go into the weights' card. Deterministic for a given seed on CPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from gankit.data import DataConfig, build_dataset
from gankit.data.captions import CaptionedDataset
from gankit.text.encoder import embed, save_encoder
from gankit.text.joint import ImageEncoder, retrieval_accuracy, train_joint

OUT = Path(__file__).resolve().parents[1] / "src" / "gankit" / "text" / "weights"
RESOLUTION = 32
CANDIDATES = 100


def images(data: CaptionedDataset) -> torch.Tensor:
    return data.x.float().div(127.5).sub(1.0)


@torch.no_grad()
def retrieval(text, image: ImageEncoder, data: CaptionedDataset, keep: torch.Tensor) -> float:
    """Top-1 text→image retrieval over groups of `CANDIDATES` images, for the captions of the
    images where `keep` is true."""
    img_emb = image(images(data))
    hits, total = 0.0, 0
    chosen = keep.nonzero().flatten()
    for start in range(0, len(chosen), CANDIDATES):
        group = chosen[start : start + CANDIDATES]
        if len(group) < 2:
            continue
        where = {int(g): k for k, g in enumerate(group)}
        caps = [k for k, i in enumerate(data.image_index.tolist()) if i in where]
        txt = embed(text, [data.captions[k] for k in caps])
        target = torch.tensor([where[int(data.image_index[k])] for k in caps])
        hits += retrieval_accuracy(txt, img_emb[group], target=target) * len(caps)
        total += len(caps)
    return hits / max(total, 1)


def train(name: str, spec: str, steps: int, batch: int, seed: int) -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = build_dataset(DataConfig(spec, resolution=RESOLUTION, split="train"))
    test = build_dataset(DataConfig(spec, resolution=RESOLUTION, split="test"))
    assert isinstance(data, CaptionedDataset) and isinstance(test, CaptionedDataset)
    start = time.perf_counter()
    text, image, log = train_joint(
        images(data), data.captions, data.image_index, steps=steps, batch_size=batch, seed=seed
    )
    seconds = time.perf_counter() - start
    everything = torch.ones(len(test.x), dtype=torch.bool)
    card: dict[str, object] = {
        "dataset": spec,
        "objective": "symmetric contrastive joint image-text embedding (gankit.text.joint)",
        "steps": steps,
        "batch_size": batch,
        "seed": seed,
        "seconds": round(seconds, 1),
        "loss_first_last": [round(log["loss"][0], 4), round(log["loss"][-1], 4)],
        "retrieval_top1_of_100": round(retrieval(text, image, test, everything), 4),
        "script": "scripts/train_text_encoder.py",
    }
    seen = getattr(test, "seen", None)
    if seen is not None:
        card["retrieval_top1_of_100_seen"] = round(retrieval(text, image, test, seen), 4)
        card["retrieval_top1_of_100_unseen"] = round(retrieval(text, image, test, ~seen), 4)
    path = save_encoder(text, OUT / f"{name}_text_encoder.safetensors", card, image=image)
    print(f"{name}: {card} -> {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("shapes", "glyphs"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, spec in (("shapes", "shapes"), ("glyphs", "glyphs-captions")):
        if args.only in (None, name):
            train(name, spec, args.steps, args.batch_size, args.seed)


if __name__ == "__main__":
    main()
