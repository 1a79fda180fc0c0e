"""Reading the image files users give gankit: any PIL mode to 8-bit grey or RGB, checked first.

Every reader of user images (`folder:`, `paired:`, `unpaired:`, `captioned:` and `gankit
translate`) goes through `read_8bit`, so a file reads the same everywhere. It

1. opens the file lazily (`open_image`) and refuses it, before a pixel is decoded, when its
   header declares more than `MAX_PIXELS`; PIL's warnings and errors never reach the terminal:
   they become an `UnreadableImage` that names the file and says why;
2. converts whatever PIL decoded to 8-bit "L" or "RGB" (`to_8bit`; the rules are there);
3. turns the image upright as its EXIF orientation says (phones store photos sideways).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from gankit.errors import GankitError

if TYPE_CHECKING:
    from PIL.ImageCms import ImageCmsTransform

# 8192×8192 = 67 megapixels. Far above what a GAN here trains on (datasets are resized to at most
# ~1024) and above most photographs (a 48-megapixel phone photo passes), yet it bounds what one
# file may cost: `gankit translate` holds the whole image as float32 RGB, 12 bytes a pixel, so
# 768 MiB at the limit before the network runs. It is also below PIL's 89-megapixel
# DecompressionBombWarning, so an image gankit accepts never makes PIL warn.
MAX_SIDE = 8192
MAX_PIXELS = MAX_SIDE * MAX_SIDE
LIMIT_TEXT = f"{MAX_SIDE}×{MAX_SIDE} = {MAX_PIXELS:,} pixels"
# A JPEG decodes at 1/2, 1/4 or 1/8 size (libjpeg's DCT scaling, `Image.draft`) only down to this
# many times the side it is resized to afterwards: the resize's own `reducing_gap`, so the final
# bicubic filter still averages several decoded pixels into each output pixel.
DRAFT_MARGIN = 3
WHITE = 255
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
# what PIL raises for a file it cannot decode (truncated, corrupt, unsupported)
PIL_ERRORS = (OSError, ValueError, SyntaxError, EOFError)
TIFF_PHOTOMETRIC, TIFF_BITS, TIFF_SAMPLE_FORMAT = 262, 258, 339
WHITE_IS_ZERO, SIGNED = 0, 2  # values of the two TIFF tags above
EXIF_TURNS = {  # EXIF orientation -> the transpose that makes the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UnreadableImage(GankitError):
    """An image file gankit cannot use; the message names the file and says why.

    Attributes:
        path: the file.
        reason: why, without the file's name (for a warning that lists several files).
    """

    def __init__(self, path: Path, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"cannot read image {path}: {reason}")
        self.path, self.reason = path, reason


class ImageTooLarge(UnreadableImage):
    """An image whose header declares more than `MAX_PIXELS` (refused before decoding)."""

    def __init__(self, path: Path, size: str) -> None:
        reason = f"{size}, over the limit of {LIMIT_TEXT}"
        super().__init__(path, reason, f"{path} is too large to read: {reason}; shrink it first")


# --- opening -----------------------------------------------------------------------------------


@contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """`Image.open(path)`, lazily, with its size checked and PIL's complaints made gankit's.

    The header alone gives the size, so an image over `MAX_PIXELS` is refused before any pixel
    is decoded. PIL's warnings (DecompressionBombWarning, corrupt EXIF, ...) are silenced while
    the file is open, and what PIL raises, there or in the `with` body (decoding is lazy), is
    raised as `UnreadableImage` naming the file.

    Raises:
        ImageTooLarge: more than `MAX_PIXELS` pixels.
        UnreadableImage: missing, not an image, corrupt or truncated.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
        try:
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageTooLarge(path, f"{w}×{h} ({w * h:,} pixels)")
                yield img
        except Image.DecompressionBombError as err:  # PIL's hard limit, 2× its warning's
            raise ImageTooLarge(path, _bomb_size(err)) from None
        except PIL_ERRORS as err:
            raise UnreadableImage(path, _reason(err)) from None


def _bomb_size(err: Image.DecompressionBombError) -> str:
    """The pixel count in PIL's DecompressionBombError (raised before the size is known)."""
    found = re.search(r"\((\d+) pixels\)", str(err))
    return f"{int(found[1]):,} pixels" if found else "more pixels than PIL allows"


def _reason(err: Exception) -> str:
    if isinstance(err, UnidentifiedImageError):  # its message repeats the path
        return "not an image format PIL recognises (or a damaged file)"
    if isinstance(err, OSError) and err.strerror:  # "[Errno 13] ...: 'path'" without the path
        return err.strerror
    return str(err) or type(err).__name__


def read_8bit(path: Path, channels: int, *, shrink_to: int | None = None) -> Image.Image:
    """The image in `path`, upright, as 8-bit "L" (`channels` 1) or "RGB" (3): see `to_8bit`.

    Args:
        shrink_to: the side the caller resizes the image to next, if any. A JPEG much larger
            decodes at 1/2, 1/4 or 1/8 size, cheaply, keeping `DRAFT_MARGIN` times that side.

    Raises:
        ImageTooLarge, UnreadableImage: as `open_image`.
    """
    with open_image(path) as img:
        if shrink_to:
            img.draft(None, (DRAFT_MARGIN * shrink_to, DRAFT_MARGIN * shrink_to))
        out = to_8bit(img, channels)
        turn = EXIF_TURNS.get(_orientation(img))
        return out if turn is None else out.transpose(turn)


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation (1 upright; 2-8 flipped or turned); 1 when it cannot be read."""
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
    except PIL_ERRORS:
        return 1
    return value if isinstance(value, int) else 1


# --- any mode to 8 bits ------------------------------------------------------------------------


def to_8bit(img: Image.Image, channels: int) -> Image.Image:
    """Any PIL image as 8-bit "L" (`channels` 1) or "RGB" (3): a new image, loaded.

    Modes, and what they become:
        "L", "RGB": as they are. Grey asked for 3 channels gives R = G = B; colour asked for 1
            gives PIL's luminance, ITU-R 601: L = 0.299 R + 0.587 G + 0.114 B.
        "1": 0 or 255. "P": the palette's colours. "RGBX", "YCbCr", "HSV", "CMYK": PIL's
            conversion to RGB ("CMYK" the plain one, R = (255 - C)(255 - K) / 255, ignoring any
            ICC profile).
        "LAB": CIE L*a*b* (D50, as ICC) to sRGB, with littlecms.
        16-bit ("I;16", "I;16B", "I;16L", "I;16N") and 32-bit integer ("I"): divided by their
            full scale, 2**bits - 1, and rounded; never clipped at 255 as PIL's convert does.
            See `_full_scale` for where the bits come from.
        "F" (floats): the scikit-image convention, 0.0 black and 1.0 white; outside that range
            clipped, NaN black.
        Transparency ("RGBA", "LA", "La", "PA", "RGBa", "P" with a transparent entry or an RGBA
        palette, a "transparency" key in "L", "RGB" or 16-bit): composited over white. The usual
        transparent images are sketches, logos, icons and cut-out product shots, drawn to be
        seen on a white page; dropping the alpha instead shows whatever colour the invisible
        pixels happen to hold, often black, which turns a black-on-transparent sketch all black.
        48-bit RGB and 16-bit grey+alpha PNGs: PIL keeps each channel's high byte, which is
        within one level of the exact v / 257.
    """
    mode = "L" if channels == 1 else "RGB"
    if img.mode in SIXTEEN_BIT_MODES or img.mode in ("I", "F"):
        img = _deep_to_8bit(img)
    elif img.mode == "LAB":
        img = _lab_to_rgb(img)
    elif img.mode == "La":  # premultiplied: PIL converts it to nothing but "LA"
        img = img.convert("LA")
    if img.has_transparency_data:
        img = _over_white(img)
    if img.mode not in ("1", "L", "RGB"):
        img = img.convert("RGB")
    return img.convert(mode)


def _over_white(img: Image.Image) -> Image.Image:
    """An image with transparency as RGB, composited over white (see `to_8bit` for why)."""
    rgba = img.convert("RGBA")  # PIL applies palettes, transparency keys and premultiplication
    white = Image.new("RGB", rgba.size, (WHITE, WHITE, WHITE))
    return Image.composite(rgba.convert("RGB"), white, rgba.getchannel("A"))


def _deep_to_8bit(img: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit or float grey image as "L" ("LA" when it has a transparent value)."""
    values = np.asarray(img)  # [H, W] uint16, int32 or float32
    if img.mode == "I" and _tiff_bits(img) == 32 and not _tiff_signed(img):
        values = values.view(np.uint32)  # unsigned 32-bit TIFF: PIL stores it as int32
    scaled = values.astype(np.float32)
    if img.mode == "F":
        np.nan_to_num(scaled, copy=False, nan=0.0)
        full = 1.0
    else:
        full = float(_full_scale(img, values))
    if _tiff_tag(img, TIFF_PHOTOMETRIC) == WHITE_IS_ZERO:  # PIL leaves deep TIFFs un-inverted
        np.subtract(full, scaled, out=scaled)
    scaled *= WHITE / full
    np.clip(scaled, 0, WHITE, out=scaled)
    grey = Image.fromarray(np.rint(scaled, out=scaled).astype(np.uint8), "L")
    key = img.info.get("transparency")
    if not isinstance(key, int) or img.mode == "F":
        return grey
    alpha = Image.fromarray(np.where(values == key, 0, WHITE).astype(np.uint8), "L")
    grey.putalpha(alpha)
    return grey


def _full_scale(img: Image.Image, values: np.ndarray) -> int:
    """The value that means white in a 16- or 32-bit integer image: 2**bits - 1.

    The bits are the file's own: a TIFF's BitsPerSample (a 12-bit TIFF reads as "I;16" holding
    0..4095), one fewer when its SampleFormat says signed; 16 for PNG, whose deepest grey is 16
    bits. When the file does not say (an image made in memory, another format): 16 bits for the
    16-bit modes, and for "I" 16 bits when every value fits in them, else 31 (the positive range
    of PIL's signed 32-bit "I"). Pillow reads 16-bit files as "I" more often than true 32-bit
    data, and 16 bits of data read against a 32-bit scale would all be black.
    """
    bits = _tiff_bits(img)
    if bits is not None:
        return 2 ** (bits - _tiff_signed(img)) - 1
    if img.format == "PNG" or img.mode in SIXTEEN_BIT_MODES:
        return 2**16 - 1
    return 2**16 - 1 if values.size == 0 or int(values.max()) <= 2**16 - 1 else 2**31 - 1


def _tiff_bits(img: Image.Image) -> int | None:
    return _tiff_tag(img, TIFF_BITS)


def _tiff_signed(img: Image.Image) -> bool:
    """Whether a TIFF's samples are signed integers (SampleFormat 2; unsigned by default)."""
    return _tiff_tag(img, TIFF_SAMPLE_FORMAT) == SIGNED


def _tiff_tag(img: Image.Image, tag: int) -> int | None:
    """A TIFF tag's (first) integer value; None when the image is no TIFF or lacks the tag."""
    tags = getattr(img, "tag_v2", None)
    value = tags.get(tag) if tags is not None else None
    if isinstance(value, tuple):
        value = value[0] if value else None
    return value if isinstance(value, int) else None


def _lab_to_rgb(img: Image.Image) -> Image.Image:
    try:
        from PIL import ImageCms
    except ImportError:  # Pillow built without littlecms
        raise ValueError("L*a*b* images need Pillow with littlecms (ImageCms)") from None
    try:
        converted = ImageCms.applyTransform(img, _lab_transform())
    except ImageCms.PyCMSError as err:  # not an OSError: made one `open_image` reports
        raise ValueError(f"cannot convert L*a*b* to RGB: {err}") from None
    if converted is None:  # only when converting in place, which this does not ask
        raise ValueError("cannot convert L*a*b* to RGB")
    return converted


@functools.cache
def _lab_transform() -> ImageCmsTransform:
    from PIL import ImageCms

    lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
    return ImageCms.buildTransform(lab, srgb, "LAB", "RGB")
