"""The text encoder of gankit's text-to-image GANs: a small char-CNN-RNN (Reed et al. 2016).

Reed et al. embed a caption by running convolutions with max-pooling over its characters, a
recurrent network over the pooled sequence, and averaging the recurrent states over time; the
encoder is pretrained with a joint image-text objective (`gankit.text.joint`) and then frozen, and
GAN-INT-CLS and StackGAN condition on its output. Here it is small enough to train on CPU.

Weights are safetensors files whose metadata holds the encoder's config, its vocabulary and a JSON
"card" (how it was trained); they are read with safe loading only, never pickle. `text_encoder`
resolves the shipped names ("shapes", "glyphs") or a user's file in the same format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from gankit.errors import GankitError
from gankit.files import atomic_write, make_dirs
from gankit.text.tokens import CHARS, PAD, VOCAB_SIZE, encode

FORMAT = "gankit.text_encoder"
SHIPPED = ("shapes", "glyphs")
EMBED_DIM = 32
CONFIG_KEYS = ("dim", "width", "hidden")  # TextEncoder's arguments, as saved in `config`


def _lengths(ids: Tensor) -> Tensor:
    """Lengths [N] of right-padded token ids [N, L], checked to be right-padded and non-empty."""
    mask = ids != PAD  # [N, L]
    lengths = mask.sum(1)
    positions = torch.arange(ids.shape[1], device=ids.device)
    if not torch.equal(mask, positions < lengths[:, None]):
        raise ValueError("token ids must be padded on the right only (id 0 after the text)")
    if not bool((lengths > 0).all()):
        raise ValueError("every row of token ids needs at least one non-padding token")
    return lengths


class TextEncoder(nn.Module):
    """A char-CNN-RNN text encoder (Reed et al. 2016, "Learning Deep Representations of
    Fine-Grained Visual Descriptions"), small: token ids [N, L] -> embeddings [N, dim].

    Embedding (32) -> Conv1d(k=3) + ReLU -> max-pool (stride 2) -> Conv1d(k=3) + ReLU ->
    bidirectional GRU -> mean over the text's own positions -> Linear. Padding never changes an
    embedding: padded positions are zeroed before each convolution and the GRU runs on packed
    sequences, so a text gives the same vector whatever it is padded to and whatever it is batched
    with. There is no dropout or normalisation: train and eval modes compute the same function.

    Args:
        dim: size of the output embedding.
        width: channels of the two convolutions.
        hidden: hidden size of each direction of the GRU.
    """

    def __init__(self, dim: int = 128, width: int = 128, hidden: int = 128) -> None:
        super().__init__()
        self.config = {"dim": dim, "width": width, "hidden": hidden}
        self.dim = dim
        self.embed = nn.Embedding(VOCAB_SIZE, EMBED_DIM, padding_idx=PAD)
        self.conv1 = nn.Conv1d(EMBED_DIM, width, 3, padding=1)
        # ceil_mode keeps an odd last character: its window is (char, zeroed padding)
        self.pool = nn.MaxPool1d(2, ceil_mode=True)
        self.conv2 = nn.Conv1d(width, width, 3, padding=1)
        self.rnn = nn.GRU(width, hidden, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * hidden, dim)

    def forward(self, ids: Tensor) -> Tensor:
        if ids.dim() != 2:
            raise ValueError(f"expected token ids [N, L], got {tuple(ids.shape)}")
        lengths = _lengths(ids)  # [N]
        ids = ids[:, : int(lengths.max())]  # all-padding columns change nothing: skip them
        mask = (ids != PAD).unsqueeze(1)  # [N, 1, L]
        x = self.embed(ids).transpose(1, 2)  # [N, 32, L]; padding rows of the embedding are 0
        # zero the padded positions so the next layer sees what zero padding would give; ReLU
        # outputs are ≥ 0, so a zero never wins a max-pool over a real position
        x = torch.relu(self.conv1(x)) * mask  # [N, width, L]
        x = self.pool(x)  # [N, width, ceil(L/2)]
        lengths = (lengths + 1) // 2  # a pooled position is real if either of its two was
        x = torch.relu(self.conv2(x))  # [N, width, L']
        packed = pack_padded_sequence(
            x.transpose(1, 2), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.rnn(packed)
        h, _ = pad_packed_sequence(out, batch_first=True)  # [N, max(lengths), 2·hidden], 0-padded
        mean = h.sum(1) / lengths.to(h.device, h.dtype)[:, None]  # [N, 2·hidden]
        return self.proj(mean)  # [N, dim]


def save_encoder(
    encoder: TextEncoder,
    path: str | Path,
    card: dict[str, Any],
    image: nn.Module | None = None,
) -> Path:
    """Write `encoder` to the safetensors file `path`, with its config, the vocabulary and `card`
    (a JSON-able record of how it was trained) in the metadata. `image`, the image encoder
    trained beside it (`gankit.text.joint.ImageEncoder`), is kept in the same file under
    `image.`, for retrieval scores in the joint space. Returns the path."""
    path = Path(path).expanduser()
    make_dirs(path.parent)
    state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "config": json.dumps(encoder.config),
        "vocab": CHARS,
        "card": json.dumps(card),
    }
    if image is not None:
        state |= {
            f"{IMAGE}{k}": v.detach().cpu().contiguous() for k, v in image.state_dict().items()
        }
        metadata["image_config"] = json.dumps(image.config)
    atomic_write(path, lambda p: save_file(state, str(p), metadata=metadata))
    return path


IMAGE = "image."  # prefix of the image encoder's tensors in an encoder file


def _read_metadata(path: Path) -> dict[str, str]:
    if not path.exists():
        raise GankitError(f"no text encoder file at {path}")
    if not path.is_file():
        raise GankitError(f"{path} is not a text encoder file")
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise GankitError(f"{path} is not a safetensors file ({err})") from None
    if meta.get("format") != FORMAT:
        raise GankitError(f"{path} is not a gankit text encoder (its metadata has no config)")
    if meta.get("vocab") != CHARS:
        raise GankitError(f"{path} was trained with another character vocabulary")
    return meta


def _config(meta: dict[str, str], path: Path) -> dict[str, int]:
    try:
        config = json.loads(meta["config"])
    except (KeyError, json.JSONDecodeError) as err:
        raise GankitError(f"{path} has an unreadable text encoder config ({err})") from None
    if (
        not isinstance(config, dict)
        or set(config) != set(CONFIG_KEYS)
        or not all(isinstance(v, int) and v > 0 for v in config.values())
    ):
        raise GankitError(f"{path} has an invalid text encoder config: {config}")
    return config


def load_encoder(path: str | Path) -> TextEncoder:
    """The encoder saved by `save_encoder` at `path`, frozen (requires_grad False) and in eval
    mode, on CPU.

    Raises:
        GankitError: naming `path`, when it is missing, not a safetensors file, not a gankit text
            encoder, or its tensors do not match its config.
    """
    path = Path(path).expanduser()
    meta = _read_metadata(path)
    encoder = TextEncoder(**_config(meta, path))
    try:
        state = load_file(str(path))
        encoder.load_state_dict({k: v for k, v in state.items() if not k.startswith(IMAGE)})
    except (SafetensorError, OSError, RuntimeError) as err:
        raise GankitError(f"{path} does not hold a matching text encoder: {err}") from None
    return encoder.requires_grad_(False).eval()


@contextmanager
def _resolve(name_or_path: str) -> Iterator[Path]:
    """The file of a shipped encoder name, or `name_or_path` as a path (a context: a package
    installed as a zip lends its file only for the duration)."""
    if name_or_path in SHIPPED:
        file = (
            resources.files("gankit.text") / "weights" / f"{name_or_path}_text_encoder.safetensors"
        )
        if not file.is_file():
            raise GankitError(
                f"the shipped {name_or_path!r} text encoder is missing: {file} does not exist "
                "(its weights have not been trained into this installation)"
            )
        with resources.as_file(file) as path:
            yield path
        return
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise GankitError(
            f"no text encoder {name_or_path!r}: not a shipped one ({', '.join(SHIPPED)}) "
            "and no such file"
        )
    yield path


def joint_image_state(name_or_path: str) -> tuple[dict[str, Any], dict[str, Tensor]] | None:
    """The config and tensors of the image encoder kept beside a text encoder, if any."""
    with _resolve(name_or_path) as path:
        meta = _read_metadata(path)
        if "image_config" not in meta:
            return None
        state = load_file(str(path))
    tensors = {k[len(IMAGE) :]: v for k, v in state.items() if k.startswith(IMAGE)}
    return json.loads(meta["image_config"]), tensors


def text_encoder(name_or_path: str) -> TextEncoder:
    """A frozen text encoder in eval mode: a shipped one by name (`"shapes"`, `"glyphs"`, from
    `gankit/text/weights/{name}_text_encoder.safetensors`) or a user's file written by
    `save_encoder`.

    Raises:
        GankitError: for a missing shipped file, an unknown name or a bad file.
    """
    with _resolve(name_or_path) as path:
        return load_encoder(path)


def encoder_card(name_or_path: str) -> dict[str, Any]:
    """The training record stored with a shipped (`"shapes"`, `"glyphs"`) or user encoder."""
    with _resolve(name_or_path) as path:
        return json.loads(_read_metadata(path).get("card", "{}"))


@torch.no_grad()
def embed(encoder: TextEncoder, texts: Sequence[str], *, batch_size: int = 256) -> Tensor:
    """Embeddings [N, dim] of `texts` by `encoder`, on the encoder's device, without gradients."""
    device = next(encoder.parameters()).device
    ids = encode(texts)
    return torch.cat([encoder(chunk.to(device)) for chunk in ids.split(batch_size)])
