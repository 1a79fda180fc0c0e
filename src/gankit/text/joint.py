"""The joint image-text embedding that pretrains gankit's text encoders.

Reed et al. 2016 train their char-CNN-RNN so that a caption scores its own image above the others
and an image its own captions above the others (a symmetric structured loss). Here the same idea
is a symmetric contrastive (InfoNCE) loss over cosine similarities: image->text and text->image
cross-entropy on a minibatch, with the other pairs of the batch as negatives. Pairs that truly
match besides the diagonal (two captions of one image, identical attribute sets) are masked out of
the softmax rather than pushed apart.

`retrieval_accuracy` scores an embedding by text->image retrieval; it is the basis of the
R-precision-style score of the text-to-image GANs.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.data.base import resize_images
from gankit.errors import GankitError, TrainingDiverged
from gankit.nn.conv import check_resolution
from gankit.text.encoder import TextEncoder
from gankit.text.tokens import encode_to_longest


class ImageEncoder(nn.Module):
    """A small CNN embedding images for the joint objective: [N, C, R, R] in [−1, 1], R a power
    of two ≥ 16, -> [N, dim]. Images are resized to 32×32 first, so one encoder reads any R.

    Args:
        channels: image channels C.
        dim: size of the embedding (the text encoder's `dim`).
        width: channels of the first convolution (doubling twice).
    """

    resolution = 32

    def __init__(self, channels: int = 3, dim: int = 128, width: int = 32) -> None:
        super().__init__()
        self.config = {"channels": channels, "dim": dim, "width": width}
        self.channels = channels
        act = nn.LeakyReLU(0.2)
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),  # [N, w, 32, 32]
            act,
            nn.Conv2d(width, width, 4, 2, 1),  # [N, w, 16, 16]
            act,
            nn.Conv2d(width, 2 * width, 4, 2, 1),  # [N, 2w, 8, 8]
            act,
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1),  # [N, 4w, 4, 4]
            act,
            nn.Flatten(),
            nn.Linear(4 * width * 16, dim),  # [N, dim]
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels or x.shape[2] != x.shape[3]:
            raise ValueError(
                f"expected square images [N, {self.channels}, R, R], got {tuple(x.shape)}"
            )
        check_resolution(x.shape[-1], minimum=16)
        return self.net(resize_images(x.float(), self.resolution))


def joint_image_encoder(name_or_path: str) -> ImageEncoder:
    """The image encoder trained beside a text encoder (shipped name or file), frozen.

    Raises:
        GankitError: the file keeps no image encoder.
    """
    from gankit.text.encoder import joint_image_state

    got = joint_image_state(name_or_path)
    if got is None:
        raise GankitError(f"text encoder {name_or_path!r} keeps no image encoder beside it")
    config, tensors = got
    encoder = ImageEncoder(**config)
    encoder.load_state_dict(tensors)
    return encoder.requires_grad_(False).eval()


def joint_embedding_loss(
    img_emb: Tensor, txt_emb: Tensor, temperature: float = 0.1, same: Tensor | None = None
) -> Tensor:
    """Symmetric contrastive loss of matched pairs (img_emb[i], txt_emb[i]), [N, D] each.

    With s[i, j] the cosine similarity of image i and text j divided by `temperature`, the loss is
    the mean of the image->text cross-entropy (each row of s, target i) and the text->image one
    (each column, target j). `same` [N, N] bool marks image i and text j as a true match besides
    the diagonal: those entries leave both softmaxes instead of counting as negatives. The
    diagonal is always the target, whatever `same` holds there.
    """
    if img_emb.dim() != 2 or img_emb.shape != txt_emb.shape:
        raise ValueError(
            f"expected two [N, D] embeddings, got {tuple(img_emb.shape)}, {tuple(txt_emb.shape)}"
        )
    n = img_emb.shape[0]
    logits = F.normalize(img_emb, dim=1) @ F.normalize(txt_emb, dim=1).T / temperature  # [N, N]
    if same is not None:
        if same.shape != (n, n) or same.dtype != torch.bool:
            raise ValueError(
                f"same must be a bool [{n}, {n}] matrix, got {same.dtype} {same.shape}"
            )
        eye = torch.eye(n, dtype=torch.bool, device=same.device)
        logits = logits.masked_fill(same & ~eye, -math.inf)
    target = torch.arange(n, device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


@torch.no_grad()
def retrieval_accuracy(
    txt_emb: Tensor, img_emb: Tensor, k: int = 1, *, target: Tensor | None = None
) -> float:
    """Fraction of texts whose matching image ranks in the top `k` of the candidates by cosine
    similarity. txt_emb [N, D]; img_emb [M, D], the candidates; `target` [N] the index of each
    text's image among them (default: text i matches image i, M = N). Ties count against the
    text, so a collapsed embedding scores 0, not 1.
    """
    if target is None:
        if txt_emb.shape[0] != img_emb.shape[0]:
            raise ValueError("without target, texts and images must pair up one to one")
        target = torch.arange(txt_emb.shape[0], device=txt_emb.device)
    sim = F.normalize(txt_emb, dim=1) @ F.normalize(img_emb, dim=1).T  # [N, M]
    own = sim.gather(1, target.view(-1, 1).to(sim.device))  # [N, 1]
    rank = (sim >= own).sum(1) - 1  # other candidates at least as similar as the true image
    return (rank < k).float().mean().item()


def _check_pairs(images: Tensor, captions: list[str], image_index: Tensor) -> None:
    if images.dim() != 4:
        raise ValueError(f"expected images [N, C, R, R], got {tuple(images.shape)}")
    if image_index.shape != (len(captions),) or image_index.dtype != torch.long:
        raise ValueError("image_index must be a LongTensor with one entry per caption")
    if len(captions) == 0 or not bool(((image_index >= 0) & (image_index < len(images))).all()):
        raise GankitError(f"image_index must point into the {len(images)} images")


def _joint_step(
    text: TextEncoder,
    image: ImageEncoder,
    opt: torch.optim.Optimizer,
    images: Tensor,  # [B, C, R, R]
    tokens: Tensor,  # [B, L]
    image_index: Tensor,  # [B]
) -> float:
    same = image_index[:, None] == image_index[None, :]  # captions of one image match each other
    loss = joint_embedding_loss(image(images), text(tokens), same=same)
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"the joint embedding loss became {loss.item()}")
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def train_joint(
    images: Tensor,
    captions: list[str],
    image_index: Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float = 1e-3,
    seed: int,
    dim: int = 128,
) -> tuple[TextEncoder, ImageEncoder, dict[str, Any]]:
    """Pretrain a `TextEncoder` and an `ImageEncoder` jointly on captioned images.

    `captions[i]` describes `images[image_index[i]]` (images [M, C, R, R] in [−1, 1]); each step
    samples `batch_size` captions without replacement, embeds them and their images, and takes an
    Adam step on `joint_embedding_loss`, with the other captions of an image masked as true
    matches. Deterministic given `seed` (the global RNG is left untouched); runs on the images'
    device.

    Returns:
        (text encoder, image encoder, log): both encoders frozen and in eval mode; the log holds
        "loss", the loss of every step.
    """
    _check_pairs(images, captions, image_index)
    device = images.device
    tokens = encode_to_longest(captions).to(device)  # [N, L]
    image_index = image_index.to(device)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text = TextEncoder(dim=dim).to(device)
        image = ImageEncoder(images.shape[1], dim=dim).to(device)
    opt = torch.optim.Adam(itertools.chain(text.parameters(), image.parameters()), lr=lr)
    losses = []
    for _ in range(steps):
        batch = torch.randperm(len(captions), generator=gen)[:batch_size].to(device)
        idx = image_index[batch]
        losses.append(_joint_step(text, image, opt, images[idx], tokens[batch], idx))
    text.requires_grad_(False).eval()
    image.requires_grad_(False).eval()
    return text, image, {"loss": losses}
