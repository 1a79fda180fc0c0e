"""Images with captions, for text-to-image models: the batch kind `captioned`.

A captioned dataset holds images and captions, several captions per image allowed. One sample is
one (caption, image) pair, so an epoch shows every caption once, and every image as often as it
has captions. Batches are `{"x": [B, C, H, W] in [-1, 1], "t": [B, L] int64 token ids, "i": [B]
the images' indices}` (the `gankit.text.tokens` character ids, 0-padded); `i` lets a model tell
two captions of one image apart from a real mismatch.

User data: `captioned:PATH`, a folder of images with a caption file each (`name.txt` beside
`name.png`, one caption per line) or a `captions.jsonl` at the top (one object per line,
`{"image": "relative/path.png", "caption": "..."}` or `"captions": [...]`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.base import DataConfig, DataInfo, GANDataset, register_dataset
from gankit.data.folder import (
    DEFAULT_RESOLUTION,
    find_images,
    load_image,
    require_folder,
    warn_unreadable,
)
from gankit.data.images import UnreadableImage
from gankit.errors import GankitError
from gankit.text.tokens import LONGEST, encode_to_longest

log = logging.getLogger("gankit")

CAPTIONS_FILE = "captions.jsonl"


class CaptionedDataset(GANDataset):
    """Images (uint8 [N_img, C, H, W]) and captions (strings), caption k describing image
    `image_index[k]`; one sample per caption.

    Attributes:
        captions: the caption strings (the k-th sample's is `captions[k]`).
        image_index: [N_cap] the image each caption describes.
        tokens: [N_cap, L] their token ids.
    """

    def __init__(
        self, x: Tensor, captions: Sequence[str], image_index: Tensor, info: DataInfo
    ) -> None:
        if len(captions) != len(image_index):
            raise ValueError("captions and image_index differ in length")
        if len(image_index) and not 0 <= int(image_index.min()) <= int(image_index.max()) < len(x):
            raise ValueError("image_index points outside the images")
        self.x, self.info = x, info
        self.captions = list(captions)
        self.image_index = image_index.long()
        if any(len(c) > LONGEST for c in self.captions):
            log.warning("captions longer than %d characters are cut to %d", LONGEST, LONGEST)
        self.tokens = encode_to_longest(self.captions)

    def __len__(self) -> int:
        return len(self.captions)

    def batch(self, indices: Tensor) -> dict[str, Tensor]:
        indices = indices.to(self.tokens.device)
        images = self.image_index[indices]
        x = self.x[images]
        if x.dtype == torch.uint8:
            x = x.float().div_(127.5).sub_(1.0)
        return {"x": x, "t": self.tokens[indices], "i": images}

    def to(self, device: torch.device) -> CaptionedDataset:
        self.x = self.x.to(device)
        self.tokens, self.image_index = self.tokens.to(device), self.image_index.to(device)
        return self


def captioned_info(name: str, x: Tensor) -> DataInfo:
    return DataInfo(name, "captioned", tuple(x.shape[1:]))


# --- a user's folder ---------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise GankitError(f"cannot read caption file {path}: {err}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _jsonl_captions(root: Path) -> dict[Path, list[str]]:
    """`captions.jsonl`: image path (relative to `root`) -> its captions."""
    out: dict[Path, list[str]] = {}
    path = root / CAPTIONS_FILE
    for number, line in enumerate(_lines(path), 1):
        try:
            record = json.loads(line)
            image = record["image"]
            said = record.get("captions", record.get("caption"))
            said = [said] if isinstance(said, str) else said
            if not isinstance(image, str) or not isinstance(said, list) or not said:
                raise ValueError("needs 'image' and 'caption' or 'captions'")
            if not all(isinstance(c, str) and c.strip() for c in said):
                raise ValueError("captions must be non-empty strings")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise GankitError(f"{path}, line {number}: {err}") from None
        out.setdefault((root / image).resolve(), []).extend(c.strip() for c in said)
    return out


def read_captioned_folder(
    root: Path, resolution: int, channels: int
) -> tuple[Tensor, list[str], Tensor]:
    """The images below `root` with their captions: uint8 [N, C, R, R], the captions, and the
    image of each caption.

    Raises:
        GankitError: no folder (or a file), no images, an image without a caption (naming the
            first few), or a caption file that cannot be read.
    """
    require_folder(root, "folder", "captioned")
    files = find_images(root)
    if not files:
        raise GankitError(f"no images found under {root}")
    table = _jsonl_captions(root) if (root / CAPTIONS_FILE).is_file() else {}
    said = {}
    for path in files:
        side = path.with_suffix(".txt")
        said[path] = table.get(path.resolve(), []) + (_lines(side) if side.is_file() else [])
    known = {p.resolve() for p in files}
    stray = [p for p in table if p not in known]
    if stray:
        raise GankitError(f"{root / CAPTIONS_FILE} names images that are not there: {stray[0]}")
    missing = [p for p in files if not said[p]]
    if missing:
        names = ", ".join(str(p.relative_to(root)) for p in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise GankitError(
            f"{len(missing)} image(s) under {root} have no caption: {names}{more} (give each a"
            f" NAME.txt beside it, one caption per line, or list it in {CAPTIONS_FILE})"
        )
    images, captions, index, bad = [], [], [], []
    for path in files:
        try:
            images.append(load_image(path, resolution, channels))
        except UnreadableImage as err:
            bad.append(err)
            continue
        captions += said[path]
        index += [len(images) - 1] * len(said[path])
    warn_unreadable(bad, root)
    if not images:
        raise GankitError(f"none of the {len(files)} image files under {root} could be read")
    return torch.from_numpy(np.stack(images)), captions, torch.tensor(index)


@register_dataset(
    "captioned",
    kind="captioned",
    arg="PATH",
    help="your images with captions (NAME.txt beside each image, or captions.jsonl)",
)
def captioned(cfg: DataConfig, arg: str | None) -> CaptionedDataset:
    assert arg is not None
    root = Path(arg).expanduser()
    x, captions, index = read_captioned_folder(
        root, cfg.resolution or DEFAULT_RESOLUTION, cfg.channels
    )
    return CaptionedDataset(x, captions, index, captioned_info(f"captioned:{root.name}", x))
