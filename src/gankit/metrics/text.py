"""Scores of text-to-image models on held-out captions of `shapes`.

- `text_consistency`: one sample per held-out scene, drawn for one of its captions; the shipped
  attribute classifier judges whether kind, colour, size, position and background are what the
  caption said (`caption_consistency`), for scenes of seen and of unseen (kind, colour)
  combinations apart.
- `r_precision`: Xu et al.'s (AttnGAN) retrieval score in the joint embedding of the model's text
  encoder and the image encoder trained beside it: each sample ranks its own caption against 99
  captions of scenes that differ in some attribute; the score is how often its own comes first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.shapes import ShapesDataset, shapes_split
from gankit.handle import Generator
from gankit.metrics.shapes import caption_consistency
from gankit.text.encoder import embed, text_encoder
from gankit.text.joint import joint_image_encoder

CANDIDATES = 100


def held_out_captions(handle: Generator, seed: int = 0) -> tuple[ShapesDataset, list[str]]:
    """The held-out scenes at the model's resolution and one caption of each (drawn by seed)."""
    test = shapes_split("test", resolution=handle.info.shape[-1])
    per = torch.bincount(test.image_index, minlength=len(test.x))
    first = torch.cumsum(per, 0) - per
    pick = first + torch.randint(
        0, int(per.min()), (len(test.x),), generator=torch.Generator().manual_seed(seed)
    )
    return test, [test.captions[int(k)] for k in pick]


def draw_for(
    handle: Generator, captions: list[str], seed: int = 0, stage: int | None = None
) -> Tensor:
    """One sample per caption (seeded); `stage` picks a StackGAN stage's images (1 or 2)."""
    z = handle.model.sample_latent(len(captions), generator=torch.Generator().manual_seed(seed))
    e = handle.caption_embeddings(captions, len(captions))
    with torch.no_grad():
        if stage is None:
            return handle.generate(z, e)
        stages = handle.model.generate_stages(z.to(handle.model.device), e)  # type: ignore[operator]
        return stages[stage - 1].float().cpu()


def text_consistency(images: Tensor, test: ShapesDataset) -> dict[str, float]:
    """`caption_consistency` over all held-out scenes and over seen / unseen ones apart."""
    out = {f"{k}": v for k, v in caption_consistency(images, test.attributes).items()}
    for name, keep in (("seen", test.seen), ("unseen", ~test.seen)):
        part = caption_consistency(images[keep], test.attributes[keep])
        out |= {f"{name}_{k}": v for k, v in part.items()}
    return out


@torch.no_grad()
def r_precision(
    images: Tensor, captions: list[str], test: ShapesDataset, encoder: str, seed: int = 0
) -> float:
    """How often an image's own caption outranks 99 captions of scenes that differ from its own
    in some attribute (cosine in the joint embedding of text encoder `encoder`, a shipped name
    or a file, and the image encoder kept beside it). Image k and caption k belong to held-out
    scene k."""
    img = F.normalize(joint_image_encoder(encoder)(images.float().cpu()), dim=1)
    txt = F.normalize(embed(text_encoder(encoder), captions), dim=1)
    gen = torch.Generator().manual_seed(seed)
    attributes, hits = test.attributes[: len(captions)], 0
    for k in range(len(captions)):
        # candidates: captions of scenes that differ from this one in some attribute
        differ = (attributes != attributes[k]).any(1).nonzero().flatten()
        others = differ[torch.randperm(len(differ), generator=gen)[: CANDIDATES - 1]]
        pool = torch.cat([torch.tensor([k]), others])
        scores = txt[pool] @ img[k]
        hits += int(scores[0] > scores[1:].max())
    return hits / len(captions)


def caption_scores(
    images: Tensor, captions: list[str], test: ShapesDataset, encoder: str, seed: int = 0
) -> dict[str, float]:
    """`text_consistency` of samples drawn for held-out `captions` (one per scene of `test`),
    and their `r_precision` under the key "r_precision"."""
    out = text_consistency(images, test)
    out["r_precision"] = r_precision(images, captions, test, encoder, seed)
    return out
