"""`glyphs`: letters and digits rendered from the fonts that matplotlib ships, and the
image-to-image sets built on them.

The 62 characters 0-9, A-Z, a-z (class i is `CHARACTERS[i]`, so digit d is class d) are drawn
with PIL from the TrueType files in matplotlib's `mpl-data/fonts/ttf` (read from disk, nothing
is fetched). Twenty fonts, named by short keys (`FONTS`):

    sans, serif, mono     DejaVu Sans, DejaVu Serif, DejaVu Sans Mono: each also -bold,
                          -italic and -bold-italic (DejaVu's obliques count as italic)
    stix                  STIX General: also -bold, -italic, -bold-italic
    cm, cm-bold           Computer Modern roman (cmr10) and bold (cmb10)
    cm-sans, cm-mono      Computer Modern sans (cmss10) and typewriter (cmtt10)

matplotlib ships no Computer Modern text italic, so there is no `cm-italic`.

Rendering: each font is scaled so that a capital H is `CAP_HEIGHT` of the image side (so case
stays visible: an `o` is smaller than an `O`), the glyph's ink is centred by its bounding box on
a canvas of at least twice the output side, and a small random affine jitter (rotation up to
±`MAX_ROTATION` degrees, scale ±`MAX_SCALE`, shift ±`MAX_SHIFT` of the side) is applied before
the antialiased reduction to the output side R (`DataConfig.resolution`, 32 by default). Ink is
+1 and paper −1, as in `digits`. Images are stored as uint8 and scaled to [-1, 1] per batch.
The jitter is drawn from `DataConfig.seed`, the split and the set, so a dataset is a pure
function of its config; renders are cached in-process because evaluation rebuilds them.
Samples are ordered jitter-major (rendering j of every font and character, then j + 1), so any
prefix of a split holds every font and character about equally.

Datasets and their splits:
    glyphs: every font and character, labelled by character; `font` holds each sample's font
        (an index into `FONT_KEYS`). `train`: 8 renderings per (character, font) (9,920);
        `test`: 2 fresh ones (2,480), with jitter drawn independently of the training split.
    glyphs-pairs:A>B: aligned pairs: the same character, with the same jitter, in font A and
        font B (`glyphs-pairs:sans>serif-bold`; quote it in a shell, or write
        `sans2serif-bold`). The split is by *character*: `HELD_OUT_CHARACTERS` (12 of the 62)
        appear only in `test`, so evaluation measures translation of unseen characters.
        16 renderings per character in `train` (800 pairs), 8 in `test` (96).
    glyphs-sans2serif: unpaired: A = DejaVu Sans, B = DejaVu Serif (both regular).
    glyphs-regular2bold: unpaired: A = the regular and B = the bold weight of sans, serif,
        mono, stix and cm.
        Both split by character like the pairs; A and B are drawn from independent jitter, so
        no pair of the same rendering exists in the data. sans2serif: 16 renderings per
        (character, font) in `train` (800 per domain), 8 in `test` (96); regular2bold: 8 and 4
        (2,000 and 240 per domain).
    digits2glyphs: unpaired: A = scikit-learn's handwritten digits (their own 75/25 split,
        resized), B = the digits 0-9 of all twenty fonts, drawn larger (`DIGIT_ZOOM`) so they
        fill the frame as the handwritten ones do; 8 renderings per (digit, font) in `train`
        (1,600), 2 in `test` (400). Labels are the digits.
`ya` and `yb` are the character (digit) classes of each side. `DataConfig.size`, when given, is
the number of samples of the split (of each domain; of each part for `all`). `all` is `train`
followed by `test`.
"""

from __future__ import annotations

import functools
import math
import string
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from gankit.data.base import ArrayDataset, DataConfig, DataInfo, register_dataset, resize_images
from gankit.data.captions import CaptionedDataset, captioned_info
from gankit.data.digits import DIGIT_CLASSES, digit_images
from gankit.data.pairs import PairedDataset, UnpairedDataset
from gankit.errors import GankitError

CHARACTERS = string.digits + string.ascii_uppercase + string.ascii_lowercase  # the 62 classes
# held out of the character-split sets (pairs, sans2serif, regular2bold): 2 digits, 5 capitals,
# 5 small letters, spread over shapes (round, straight, diagonal; with and without descenders)
HELD_OUT_CHARACTERS = "37BGKRXaeksy"
TRAIN_CHARACTERS = "".join(c for c in CHARACTERS if c not in HELD_OUT_CHARACTERS)
DIGITS = string.digits

DEFAULT_RESOLUTION = 32
CAP_HEIGHT = 0.55  # height of a capital H as a fraction of the side; leaves room for W and g
MIN_CANVAS = 64  # glyphs are drawn and jittered at >= 2R, then reduced: smooth edges at any R
MAX_ROTATION = 8.0  # degrees
MAX_SCALE = 0.08  # relative
MAX_SHIFT = 0.06  # fraction of the side (±2 px at 32)
DIGIT_ZOOM = 1.5  # digits2glyphs' font digits: ~0.83 of the side tall, like the handwritten ones
CHUNK = 1024  # renderings jittered at a time (bounds the float canvas memory)


@dataclass(frozen=True)
class GlyphFont:
    """One font: its file in matplotlib's `fonts/ttf` and its style."""

    file: str
    family: str  # DejaVu Sans, STIX General, ...
    serif: bool
    bold: bool = False
    italic: bool = False


def _font_table() -> dict[str, GlyphFont]:
    # key -> (family, serif, file of each style: regular, bold, italic, bold italic)
    families = {
        "sans": (
            "DejaVu Sans",
            False,
            "DejaVuSans{}.ttf",
            ("", "-Bold", "-Oblique", "-BoldOblique"),
        ),
        "serif": (
            "DejaVu Serif",
            True,
            "DejaVuSerif{}.ttf",
            ("", "-Bold", "-Italic", "-BoldItalic"),
        ),
        "mono": (
            "DejaVu Sans Mono",
            False,
            "DejaVuSansMono{}.ttf",
            ("", "-Bold", "-Oblique", "-BoldOblique"),
        ),
        "stix": ("STIX General", True, "STIXGeneral{}.ttf", ("", "Bol", "Italic", "BolIta")),
        "cm": ("Computer Modern Roman", True, "cm{}10.ttf", ("r", "b", None, None)),
        "cm-sans": ("Computer Modern Sans", False, "cmss10.ttf", ("", None, None, None)),
        "cm-mono": ("Computer Modern Typewriter", True, "cmtt10.ttf", ("", None, None, None)),
    }
    # key suffix, bold, italic
    styles = [("", False, False), ("-bold", True, False), ("-italic", False, True)]
    styles.append(("-bold-italic", True, True))
    table = {}
    for key, (family, serif, pattern, files) in families.items():
        for (suffix, bold, italic), part in zip(styles, files, strict=True):
            if part is not None:
                table[key + suffix] = GlyphFont(pattern.format(part), family, serif, bold, italic)
    return table


FONTS: MappingProxyType[str, GlyphFont] = MappingProxyType(_font_table())
FONT_KEYS: tuple[str, ...] = tuple(FONTS)  # a sample's `font` index points in here
# the fonts of domains A and B of each unpaired glyph set
SANS2SERIF = (("sans",), ("serif",))
_WEIGHTED = ("sans", "serif", "mono", "stix", "cm")
REGULAR2BOLD = (_WEIGHTED, tuple(f"{k}-bold" for k in _WEIGHTED))
SPLITS = ("train", "test")


# --- rendering ---------------------------------------------------------------------------------


def font_path(key: str) -> Path:
    """The TrueType file of font `key` in matplotlib's data directory.

    Raises:
        GankitError: unknown key (listing the valid ones) or a missing file.
    """
    if key not in FONTS:
        raise GankitError(f"unknown font {key!r}; choose from: {', '.join(FONT_KEYS)}")
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONTS[key].file
    if not path.is_file():
        raise GankitError(f"font file {path} is missing from the matplotlib installation")
    return path


def _ink_box(font: ImageFont.FreeTypeFont, char: str) -> tuple[int, int, int, int] | None:
    return font.getmask(char).getbbox()


@functools.lru_cache(maxsize=128)
def glyph_sheet(key: str, canvas: int) -> np.ndarray:
    """Every character of font `key`, centred and unjittered: uint8 [62, canvas, canvas]
    (read-only; ink 255 on 0), scaled so that a capital H is `CAP_HEIGHT` of the side."""
    path = str(font_path(key))
    probe = 200
    box = _ink_box(ImageFont.truetype(path, probe), "H")
    assert box is not None
    size = max(1, round(CAP_HEIGHT * canvas * probe / (box[3] - box[1])))
    font = ImageFont.truetype(path, size)
    sheet = np.zeros((len(CHARACTERS), canvas, canvas), np.uint8)
    for i, char in enumerate(CHARACTERS):
        img = Image.new("L", (2 * canvas, 2 * canvas), 0)
        ImageDraw.Draw(img).text((canvas // 2, canvas // 2), char, font=font, fill=255)
        ink = img.crop(img.getbbox())  # the glyph's ink, tight
        w, h = ink.size
        if max(w, h) > canvas:  # never at CAP_HEIGHT 0.55; kept so a change cannot crash
            ink = ink.resize((min(w, canvas), min(h, canvas)), Image.Resampling.LANCZOS)
            w, h = ink.size
        frame = Image.new("L", (canvas, canvas), 0)
        frame.paste(ink, ((canvas - w) // 2, (canvas - h) // 2))
        sheet[i] = np.asarray(frame)
    sheet.setflags(write=False)
    return sheet


def affine_thetas(angle: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """`affine_grid` matrices [N, 2, 3] that rotate by `angle` [N] (radians), scale by `scale` [N]
    and move the centre by `shift` [N, 2] (x, y as fractions of the side)."""
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # [N,2,2]
    # the grid maps output to input coordinates ([-1, 1] across the side): in = R·(out − t)
    t = 2 * shift
    return torch.cat([rot, -(rot @ t[..., None])], -1)


def warp(images: Tensor, theta: Tensor) -> Tensor:
    """Apply `theta` [N, 2, 3] to images [N, C, H, W] whose background is −1 (kept as −1)."""
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    # sample (x + 1) with zero padding so that pixels from outside read as paper
    return F.grid_sample(images + 1, grid, align_corners=False, padding_mode="zeros") - 1


def _jitter(n: int, rng: np.random.Generator, zoom: float) -> Tensor:
    u = torch.from_numpy(rng.uniform(-1.0, 1.0, size=(n, 4)))  # [n, 4] float64
    angle = u[:, 0] * math.radians(MAX_ROTATION)
    scale = zoom * (1 + u[:, 1] * MAX_SCALE)
    return affine_thetas(angle, scale, u[:, 2:] * MAX_SHIFT).float()


def _stream_seed(seed: int, split: str, stream: str) -> np.random.SeedSequence:
    # a stable code per set and domain (crc32, not hash(), which varies between processes)
    return np.random.SeedSequence([seed % 2**63, SPLITS.index(split), zlib.crc32(stream.encode())])


@functools.lru_cache(maxsize=16)  # ~10 MB each at R = 32
def _renders(
    fonts: tuple[str, ...],
    chars: str,
    per: int,
    seed: tuple[int, str, str],
    resolution: int,
    zoom: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """`per` jittered renderings of each (character, font): uint8 [N, 1, R, R], character classes
    [N] and font indices [N], ordered (rendering, font, character). Cached; callers must not
    write into the tensors. Two calls that differ only in their fonts draw the same jitter."""
    canvas = max(MIN_CANVAS, 2 * resolution)
    sheets = torch.stack([torch.from_numpy(glyph_sheet(f, canvas).copy()) for f in fonts])
    codes = torch.tensor([CHARACTERS.index(c) for c in chars])
    n_fonts, n_chars = len(fonts), len(chars)
    font_idx = torch.arange(n_fonts).repeat_interleave(n_chars).repeat(per)  # [N]
    char_idx = codes.repeat(n_fonts * per)  # [N]
    theta = _jitter(len(char_idx), np.random.default_rng(_stream_seed(*seed)), zoom)
    out = torch.empty(len(char_idx), 1, resolution, resolution, dtype=torch.uint8)
    for start in range(0, len(char_idx), CHUNK):
        part = slice(start, start + CHUNK)
        base = sheets[font_idx[part], char_idx[part]][:, None].float() / 127.5 - 1  # [n,1,c,c]
        moved = resize_images(warp(base, theta[part]), resolution)  # [n, 1, R, R] in [-1, 1]
        out[part] = ((moved + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    global_fonts = torch.tensor([FONT_KEYS.index(f) for f in fonts])[font_idx]
    return out, char_idx, global_fonts


def render_glyphs(
    fonts: tuple[str, ...],
    chars: str,
    per: int,
    *,
    split: str = "train",
    stream: str = "glyphs",
    seed: int = 0,
    resolution: int = DEFAULT_RESOLUTION,
    zoom: float = 1.0,
    size: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Jittered renderings (fresh tensors): uint8 images [N, 1, R, R], character classes [N]
    (indices into `CHARACTERS`) and fonts [N] (indices into `FONT_KEYS`).

    Args:
        fonts, chars: what to draw (font keys; characters from `CHARACTERS`).
        per: renderings of each (character, font); `size`, when given, replaces it by as many
            as `size` samples need and keeps the first `size`.
        split, stream, seed: select the jitter draw; the same three give the same jitter, so two
            font lists of equal length drawn with them are aligned pairs.
        zoom: extra scale of every glyph.
    """
    for f in fonts:
        font_path(f)  # a clear error for an unknown key, before the cache sees it
    if size is not None:
        per = math.ceil(size / (len(fonts) * len(chars)))
    x, y, font = _renders(tuple(fonts), chars, per, (seed, split, stream), resolution, zoom)
    n = len(x) if size is None else size
    return x[:n].clone(), y[:n].clone(), font[:n].clone()


def _split_renders(
    cfg: DataConfig,
    fonts: tuple[str, ...],
    chars: dict[str, str],
    per: dict[str, int],
    stream: str,
    zoom: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """`render_glyphs` of `cfg.split` (`all`: train then test), with per-split characters and
    counts."""
    parts = SPLITS if cfg.split == "all" else (cfg.split,)
    res = cfg.resolution or DEFAULT_RESOLUTION
    drawn = [
        render_glyphs(
            fonts,
            chars[s],
            per[s],
            split=s,
            stream=stream,
            seed=cfg.seed,
            resolution=res,
            zoom=zoom,
            size=cfg.size,
        )
        for s in parts
    ]
    x, y, font = (torch.cat(t) for t in zip(*drawn))
    return x, y, font


# --- datasets ----------------------------------------------------------------------------------


class GlyphDataset(ArrayDataset):
    """`ArrayDataset` of glyphs that also knows each sample's font.

    Attributes:
        font: [N] indices into `FONT_KEYS` (kept on the CPU).
    """

    def __init__(self, x: Tensor, y: Tensor, font: Tensor, info: DataInfo) -> None:
        super().__init__(x, y, info)
        self.font = font


class GlyphDomains(UnpairedDataset):
    """`UnpairedDataset` whose domains know each image's font.

    Attributes:
        font_a, font_b: [N_a], [N_b] indices into `FONT_KEYS` (CPU); −1 for handwriting.
    """

    def __init__(
        self,
        a: Tensor,
        b: Tensor,
        info: DataInfo,
        *,
        ya: Tensor,
        yb: Tensor,
        font_a: Tensor,
        font_b: Tensor,
        seed: int,
    ) -> None:
        super().__init__(a, b, info, ya=ya, yb=yb, seed=seed)
        self.font_a, self.font_b = font_a, font_b


BY_CHARACTER = {"train": TRAIN_CHARACTERS, "test": HELD_OUT_CHARACTERS}


@register_dataset(
    "glyphs",
    kind="image",
    help="62 letters and digits in 20 matplotlib fonts, jittered; labels: character",
)
def glyphs(cfg: DataConfig, arg: str | None) -> GlyphDataset:
    chars = {"train": CHARACTERS, "test": CHARACTERS}
    x, y, font = _split_renders(cfg, FONT_KEYS, chars, {"train": 8, "test": 2}, "glyphs")
    info = DataInfo("glyphs", "image", tuple(x.shape[1:]), len(CHARACTERS), tuple(CHARACTERS))
    return GlyphDataset(x, y, font, info)


def parse_font_pair(arg: str) -> tuple[str, str]:
    """`sans>serif-bold` (or `sans2serif-bold`) -> ("sans", "serif-bold"), checking both keys."""
    sep = ">" if ">" in arg else "2"
    a, found, b = arg.partition(sep)
    if not found or not a or not b or sep in b:
        raise GankitError(
            f"glyphs-pairs needs two fonts, as glyphs-pairs:A>B (e.g. sans>serif-bold), "
            f"got {arg!r}; fonts: {', '.join(FONT_KEYS)}"
        )
    for key in (a, b):
        if key not in FONTS:
            raise GankitError(
                f"unknown font {key!r} in glyphs-pairs:{arg}; choose from: {', '.join(FONT_KEYS)}"
            )
    return a, b


@register_dataset(
    "glyphs-pairs",
    kind="paired",
    arg="A>B",
    help="paired: one character in fonts A and B, same jitter; test = 12 unseen characters",
)
def glyphs_pairs(cfg: DataConfig, arg: str | None) -> PairedDataset:
    assert arg is not None
    font_a, font_b = parse_font_pair(arg)
    per = {"train": 16, "test": 8}
    a, ya, _ = _split_renders(cfg, (font_a,), BY_CHARACTER, per, "glyphs-pairs")
    b, yb, _ = _split_renders(cfg, (font_b,), BY_CHARACTER, per, "glyphs-pairs")
    shape = tuple(a.shape[1:])
    info = DataInfo(
        f"glyphs-pairs:{font_a}>{font_b}",
        "paired",
        shape,
        len(CHARACTERS),
        tuple(CHARACTERS),
        shape_b=shape,
        domains=(font_a, font_b),
    )
    return PairedDataset(a, b, info, ya=ya, yb=yb)


def _glyph_domains(
    cfg: DataConfig,
    name: str,
    fonts: tuple[tuple[str, ...], tuple[str, ...]],
    domains: tuple[str, str],
    per: dict[str, int],
) -> GlyphDomains:
    # each domain has its own jitter stream, so no rendering of A has its twin in B
    a, ya, fa = _split_renders(cfg, fonts[0], BY_CHARACTER, per, f"{name}/A")
    b, yb, fb = _split_renders(cfg, fonts[1], BY_CHARACTER, per, f"{name}/B")
    shape = tuple(a.shape[1:])
    info = DataInfo(
        name, "unpaired", shape, len(CHARACTERS), tuple(CHARACTERS), shape_b=shape, domains=domains
    )
    return GlyphDomains(a, b, info, ya=ya, yb=yb, font_a=fa, font_b=fb, seed=cfg.seed)


@register_dataset(
    "glyphs-sans2serif",
    kind="unpaired",
    help="unpaired: DejaVu Sans (A) and DejaVu Serif (B) glyphs; test = 12 unseen characters",
)
def glyphs_sans2serif(cfg: DataConfig, arg: str | None) -> GlyphDomains:
    per = {"train": 16, "test": 8}
    return _glyph_domains(cfg, "glyphs-sans2serif", SANS2SERIF, ("sans", "serif"), per)


@register_dataset(
    "glyphs-regular2bold",
    kind="unpaired",
    help="unpaired: regular (A) and bold (B) glyphs of 5 fonts; test = 12 unseen characters",
)
def glyphs_regular2bold(cfg: DataConfig, arg: str | None) -> GlyphDomains:
    per = {"train": 8, "test": 4}
    return _glyph_domains(cfg, "glyphs-regular2bold", REGULAR2BOLD, ("regular", "bold"), per)


@register_dataset(
    "digits2glyphs",
    kind="unpaired",
    help="unpaired: handwritten digits (A) and font digits of 20 fonts (B)",
)
def digits2glyphs(cfg: DataConfig, arg: str | None) -> GlyphDomains:
    res = cfg.resolution or DEFAULT_RESOLUTION
    a, ya = digit_images(cfg.split, res)  # [N_a, 1, R, R] float in [-1, 1]
    if cfg.size is not None:
        a, ya = a[: cfg.size], ya[: cfg.size]
    chars = {"train": DIGITS, "test": DIGITS}
    b, yb, fb = _split_renders(
        cfg, FONT_KEYS, chars, {"train": 8, "test": 2}, "digits2glyphs/B", zoom=DIGIT_ZOOM
    )
    shape = tuple(a.shape[1:])
    info = DataInfo(
        "digits2glyphs",
        "unpaired",
        shape,
        10,
        DIGIT_CLASSES,
        shape_b=shape,
        domains=("handwritten", "font"),
    )
    no_font = torch.full((len(a),), -1)
    return GlyphDomains(a, b, info, ya=ya, yb=yb, font_a=no_font, font_b=fb, seed=cfg.seed)


# --- captions ----------------------------------------------------------------------------------

GLYPH_TEMPLATES = (
    "{style} {case} {char}",
    "the {case} {char} in {style} type",
    "{char}, {case}, set in a {style} font",
)
_FAMILY_WORDS = {
    "serif": ("serif", "seriffed"),
    "sans": ("sans-serif", "sans"),
    "mono": ("monospaced", "typewriter"),
}


def glyph_caption(char: str, font: GlyphFont, rng: np.random.Generator) -> str:
    """A caption of `char` in `font`: "bold serif capital G", "italic lowercase k"."""
    family = (
        "mono"
        if "Mono" in font.family or "Typewriter" in font.family
        else ("serif" if font.serif else "sans")
    )
    style = [
        str(rng.choice(("bold", "heavy"))) if font.bold else "",
        str(rng.choice(("italic", "slanted"))) if font.italic else "",
        str(rng.choice(_FAMILY_WORDS[family])),
    ]
    if char.isdigit():
        case = str(rng.choice(("digit", "number")))
    elif char.isupper():
        case = str(rng.choice(("capital", "uppercase")))
    else:
        case = str(rng.choice(("lowercase", "small")))
    template = str(rng.choice(GLYPH_TEMPLATES))
    return template.format(style=" ".join(w for w in style if w), case=case, char=char)


@register_dataset(
    "glyphs-captions",
    kind="captioned",
    help='the glyphs with 3 captions each ("bold serif capital G")',
)
def glyphs_captions(cfg: DataConfig, arg: str | None) -> CaptionedDataset:
    chars = {"train": CHARACTERS, "test": CHARACTERS}
    x, y, font = _split_renders(cfg, FONT_KEYS, chars, {"train": 8, "test": 2}, "glyphs")
    rng = np.random.default_rng(zlib.crc32(f"captions/{cfg.seed}/{cfg.split}".encode()))
    per = 3
    captions = [
        glyph_caption(CHARACTERS[int(c)], FONTS[FONT_KEYS[int(f)]], rng)
        for c, f in zip(y, font, strict=True)
        for _ in range(per)
    ]
    index = torch.arange(len(x)).repeat_interleave(per)
    return CaptionedDataset(x, captions, index, captioned_info("glyphs-captions", x))
