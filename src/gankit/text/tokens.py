"""The character vocabulary of gankit's text encoders.

Captions are read character by character, as in the char-CNN-RNN of Reed et al. 2016: lowercase
letters, digits, the space and a little punctuation. Text is lowercased and runs of whitespace
become one space; any other character becomes UNK. Id 0 is padding. The vocabulary is fixed: a
saved encoder's embedding rows are indexed by these ids, so appending a character would break every
shipped and user weights file (`encoder.load_encoder` checks the vocabulary stored with them).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import torch
from torch import Tensor

from gankit.errors import GankitError

PAD = 0
UNK = 1
CHARS = "abcdefghijklmnopqrstuvwxyz0123456789 ,.'-!?;:"
VOCAB_SIZE = len(CHARS) + 2  # padding and UNK come first
MAX_LEN = 96
LONGEST = 256  # characters of a caption that training reads (`encode_to_longest`)
UNK_CHAR = "\ufffd"  # what `decode` writes for UNK ("?" is in the vocabulary)

_IDS = MappingProxyType({c: i + 2 for i, c in enumerate(CHARS)})


def normalize(text: str) -> str:
    """`text` lowercased, each run of whitespace turned into one space, the ends stripped."""
    return " ".join(text.lower().split())


def encode(texts: Sequence[str], max_len: int = MAX_LEN) -> Tensor:
    """Token ids [N, max_len] of `texts`: normalised, truncated to `max_len`, padded with 0.

    Raises:
        GankitError: when a text is empty or only whitespace.
    """
    if isinstance(texts, str):
        raise TypeError("encode takes a sequence of strings; wrap a single text in a list")
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    ids = torch.full((len(texts), max_len), PAD, dtype=torch.long)
    for i, text in enumerate(texts):
        chars = normalize(text)[:max_len]
        if not chars:
            raise GankitError(f"text {i} is empty or only whitespace: {text!r}")
        ids[i, : len(chars)] = torch.tensor([_IDS.get(c, UNK) for c in chars])
    return ids


def encode_to_longest(texts: Sequence[str]) -> Tensor:
    """`encode`, padded to the longest text, and cutting texts at `LONGEST` characters."""
    return encode(texts, max_len=min(max((len(t) for t in texts), default=1), LONGEST))


def decode(ids: Tensor) -> list[str]:
    """The texts of token ids [N, L]; padding is dropped and UNK becomes U+FFFD."""
    if ids.dim() != 2:
        raise ValueError(f"expected token ids [N, L], got {tuple(ids.shape)}")
    chars = (UNK_CHAR, *CHARS)  # index by id - 1
    out = []
    for row in ids.tolist():
        if any(not 0 <= t < VOCAB_SIZE for t in row):
            raise ValueError(f"token ids must lie in [0, {VOCAB_SIZE}), got {row}")
        out.append("".join(chars[t - 1] for t in row if t != PAD))
    return out
