"""Reading user images (`gankit.data.images`): every PIL mode to the right 8-bit values, and
images too large or unreadable refused with a message naming the file."""

from __future__ import annotations

import logging
import re
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile, ImageOps

from gankit.data import DataConfig, build_dataset
from gankit.data.folder import fit_image, load_image, read_image
from gankit.data.images import MAX_PIXELS, ImageTooLarge, UnreadableImage, read_8bit, to_8bit
from gankit.errors import GankitError

RAMP16 = np.linspace(0, 65535, 64).round().astype(np.uint16)  # 16-bit levels, black to white


def _levels(x: torch.Tensor) -> np.ndarray:
    """`read_image`'s [1, C, H, W] floats in [-1, 1] back to 0..255 levels [C, H, W]."""
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    return ((x[0] + 1) * 127.5).numpy()


def _close(got: np.ndarray, want: np.ndarray, tol: float = 1.0) -> None:
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=0, atol=tol)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(path: Path, size: tuple[int, int], depth: int, colour: int, rows: bytes) -> Path:
    """A PNG written byte by byte, for what PIL cannot save (48-bit RGB) or need not encode
    (a huge blank image): IHDR's bit depth and colour type, `rows` already filter-prefixed."""
    header = struct.pack(">IIBBBBB", *size, depth, colour, 0, 0, 0)
    body = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 1)) + _chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def _tiff(
    path: Path,
    data: bytes,
    size: tuple[int, int],
    bits: int,
    fmt: int | None = 1,
    photometric: int = 1,
) -> Path:
    """A one-strip, one-sample little-endian TIFF written byte by byte, for what PIL cannot save
    (12-bit, unsigned 32-bit, white-is-zero 16-bit). `fmt` is SampleFormat: 1 unsigned, None
    leaves the tag out (then TIFF says unsigned)."""
    w, h = size
    tags = [(256, 4, w), (257, 4, h), (258, 3, bits), (259, 3, 1), (262, 3, photometric)]
    tags += [(273, 4, -1), (277, 3, 1), (278, 4, h), (279, 4, len(data))]
    tags += [] if fmt is None else [(339, 3, fmt)]
    start = 8 + 2 + 12 * len(tags) + 4  # the pixels follow the header and the one IFD
    entries = b"".join(
        struct.pack("<HHI", tag, kind, 1)
        + (struct.pack("<I", start if v < 0 else v) if kind == 4 else struct.pack("<HH", v, 0))
        for tag, kind, v in tags
    )
    path.write_bytes(b"II*\0" + struct.pack("<IH", 8, len(tags)) + entries + bytes(4) + data)
    return path


def _saved(path: Path, img: Image.Image, **kw) -> Path:
    img.save(path, **kw)
    return path


# --- deep greys: 16-bit, 32-bit, float ---------------------------------------------------------


def test_16_bit_png_scales_instead_of_clipping(tmp_path: Path) -> None:
    """The reported bug: a 16-bit grey PNG of mean 129 read as all white."""
    path = _saved(tmp_path / "ramp.png", Image.fromarray(np.tile(RAMP16, (4, 1))))
    assert Image.open(path).mode == "I;16"
    _close(_levels(read_image(path, 1))[0], np.tile(RAMP16 / 257, (4, 1)))
    flat = _saved(tmp_path / "flat.png", Image.fromarray(np.full((40, 30), 0x8080, np.uint16)))
    assert (load_image(flat, 16, 1) == 128).all() and load_image(flat, 16, 1).dtype == np.uint8
    assert (load_image(flat, 16, 3) == 128).all()  # grey asked for colour: R = G = B


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_modes_in_tiff(tmp_path: Path, mode: str) -> None:
    dtype = ">u2" if mode == "I;16B" else "<u2"
    img = Image.frombytes(mode, (64, 2), np.tile(RAMP16, (2, 1)).astype(dtype).tobytes())
    path = _saved(tmp_path / "ramp.tif", img)
    assert Image.open(path).mode == mode
    _close(_levels(read_image(path, 3)), np.tile(RAMP16 / 257, (3, 2, 1)))


@pytest.mark.parametrize("mode", ["I;16L", "I;16N"])  # TIFF and PNG read these as "I;16"
def test_other_16_bit_modes(mode: str) -> None:
    img = Image.frombytes(
        mode, (64, 1), RAMP16.astype("<u2" if mode == "I;16L" else "=u2").tobytes()
    )
    _close(np.asarray(to_8bit(img, 1))[0], RAMP16 / 257)


def test_mode_i_holding_16_bits_as_pillow_once_opened_16_bit_pngs() -> None:
    img = Image.fromarray(np.tile(RAMP16, (2, 1)).astype(np.int32))
    assert img.mode == "I"
    _close(np.asarray(to_8bit(img, 1)), np.tile(RAMP16 / 257, (2, 1)))


def test_12_bit_tiff_scales_by_its_declared_depth(tmp_path: Path) -> None:
    values = [0, 2048, 4095, 100]  # 12-bit samples, packed two in three bytes
    packed = bytes(
        b
        for a, c in zip(values[::2], values[1::2])
        for b in (a >> 4, (a & 15) << 4 | c >> 8, c & 255)
    )
    path = _tiff(tmp_path / "twelve.tif", packed, (4, 1), 12)
    assert Image.open(path).mode == "I;16"  # holding 0..4095, not 0..65535
    _close(_levels(read_image(path, 1))[0, 0], np.array(values) * 255 / 4095)


def test_32_bit_tiffs_scale_by_their_declared_depth(tmp_path: Path) -> None:
    signed = np.array([[0, 2**30, 2**31 - 1]], np.int32)  # PIL saves "I" as signed 32-bit
    path = _saved(tmp_path / "signed.tif", Image.fromarray(signed))
    _close(_levels(read_image(path, 1))[0], signed.astype(float) * 255 / (2**31 - 1))
    unsigned = np.array([[0, 0x80808080, 0xFFFFFFFF]], "<u4")  # PIL reads it wrapped, as int32
    for fmt in (1, None):  # SampleFormat unsigned, or absent (unsigned by default)
        path = _tiff(tmp_path / f"unsigned{fmt}.tif", unsigned.tobytes(), (3, 1), 32, fmt)
        _close(_levels(read_image(path, 1))[0], [[0, 128, 255]])


def test_mode_i_without_a_declared_depth() -> None:
    """The documented rule: 16 bits when every value fits them, else 31 (PIL's int32 range)."""
    fits = Image.fromarray(np.array([[0, 0x8080, 65535]], np.int32))
    _close(np.asarray(to_8bit(fits, 1)), [[0, 128, 255]])
    wide = Image.fromarray(np.array([[0, 2**30, 2**31 - 1, -5]], np.int32))
    _close(np.asarray(to_8bit(wide, 1)), [[0, 127.5, 255, 0]], tol=0.5)


def test_white_is_zero_16_bit_tiff_is_inverted(tmp_path: Path) -> None:
    data = np.array([[0, 0x8080, 0xFFFF]], "<u2").tobytes()
    path = _tiff(tmp_path / "wiz.tif", data, (3, 1), 16, photometric=0)
    _close(_levels(read_image(path, 1))[0], [[255, 127, 0]])


def test_float_images_follow_the_0_to_1_convention(tmp_path: Path) -> None:
    values = np.array([[-0.5, 0.0, 0.25, 0.5, 1.0, 1.5, np.nan]], np.float32)
    path = _saved(tmp_path / "float.tif", Image.fromarray(values))
    assert Image.open(path).mode == "F"
    _close(_levels(read_image(path, 1))[0], [[0, 0, 63.75, 127.5, 255, 255, 0]], tol=0.5)


def test_48_bit_rgb_png(tmp_path: Path) -> None:
    rgb = np.stack([RAMP16, RAMP16[::-1], np.full_like(RAMP16, 0x8080)], -1)[None]  # [1, 64, 3]
    rows = b"\0" + rgb.astype(">u2").tobytes()
    path = _png(tmp_path / "deep.png", (64, 1), 16, 2, rows)
    assert Image.open(path).mode == "RGB"  # PIL keeps each channel's high byte
    _close(_levels(read_image(path, 3))[:, 0].T, rgb[0] / 257)


# --- palettes, transparency and colour spaces --------------------------------------------------

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _palette_image(mode: str = "P") -> Image.Image:
    """A 3×1 palette image: red, green, blue (index 0, 1, 2); for "PA" with alpha 255, 0, 128."""
    data = bytes([0, 1, 2]) if mode == "P" else bytes([0, 255, 1, 0, 2, 128])
    img = Image.frombytes(mode, (3, 1), data)
    img.putpalette([*RED, *GREEN, *BLUE])
    return img


def test_palette_and_one_bit(tmp_path: Path) -> None:
    path = _saved(tmp_path / "p.png", _palette_image())
    _close(_levels(read_image(path, 3))[:, 0].T, [RED, GREEN, BLUE])
    bits = Image.frombytes("1", (8, 1), bytes([0b10100000]))
    path = _saved(tmp_path / "bits.png", bits)
    _close(_levels(read_image(path, 1))[0, 0], [255, 0, 255, 0, 0, 0, 0, 0])


WHITE3 = (255, 255, 255)


@pytest.mark.parametrize(
    ("name", "make", "want"),
    [
        ("rgba.png", lambda: Image.new("RGBA", (1, 1), (0, 0, 0, 0)), [WHITE3]),
        ("half.png", lambda: Image.new("RGBA", (1, 1), (0, 0, 0, 128)), [(127, 127, 127)]),
        ("opaque.webp", lambda: Image.new("RGBA", (1, 1), (*BLUE, 255)), [BLUE]),
        ("la.png", lambda: Image.new("LA", (1, 1), (0, 64)), [(191, 191, 191)]),
        ("pa.tif", lambda: _palette_image("PA"), [RED, WHITE3, (127, 127, 255)]),
        ("p.gif", lambda: _palette_image(), [RED, WHITE3, BLUE]),  # index 1 transparent
        ("p.png", lambda: _palette_image(), [RED, WHITE3, BLUE]),
        ("l.png", lambda: Image.frombytes("L", (2, 1), bytes([7, 9])), [WHITE3, (9, 9, 9)]),
        ("rgb.png", lambda: Image.new("RGB", (1, 1), (1, 2, 3)), [WHITE3]),
    ],
)
def test_transparent_pixels_are_composited_over_white(
    tmp_path: Path, name: str, make, want: list
) -> None:
    img = make()
    kw = {"transparency": 1} if img.mode == "P" else {}
    kw = {"transparency": 7} if img.mode == "L" else kw
    kw = {"transparency": (1, 2, 3)} if img.mode == "RGB" else kw
    kw = {"lossless": True} if name.endswith(".webp") else kw
    path = _saved(tmp_path / name, img, **kw)
    _close(_levels(read_image(path, 3))[:, 0].T, want)


def test_transparency_in_memory_modes() -> None:
    premultiplied = Image.new("RGBa", (1, 1), (0, 0, 128, 128))  # blue at half alpha
    _close(np.asarray(to_8bit(premultiplied, 3))[0], [(127, 127, 255)])
    grey = Image.new("La", (1, 1), (32, 64))  # black-ish at quarter alpha, premultiplied
    _close(np.asarray(to_8bit(grey, 1))[0], [255 - 64 + 32], tol=2)
    palette = _palette_image()
    palette.putpalette([*RED, 255, *GREEN, 0, *BLUE, 128], "RGBA")  # alpha in the palette
    _close(np.asarray(to_8bit(palette, 3))[0], [RED, WHITE3, (127, 127, 255)])


def test_16_bit_png_with_a_transparent_value(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[1000, 0x8080]], np.uint16))
    path = _saved(tmp_path / "key.png", img, transparency=1000)
    _close(_levels(read_image(path, 1))[0], [[255, 128]])


@pytest.mark.parametrize(
    ("mode", "colour", "want", "ext"),
    [
        ("CMYK", (0, 255, 255, 0), RED, "tif"),
        ("CMYK", (0, 0, 0, 128), (127, 127, 127), "jpg"),
        (
            "YCbCr",
            (81, 90, 240),
            (81 + 1.402 * 112, 81 + 0.344 * 38 - 0.714 * 112, 81 - 1.772 * 38),
            None,  # in memory: Pillow 12 (which Gradio, in the dev set-up, caps Pillow to)
            # cannot read back the YCbCr TIFF it writes ("image file is truncated"); 13 can
        ),
        ("LAB", (128, 128, 128), (119, 119, 119), "tif"),  # L* 50 is sRGB grey 119
        ("LAB", (138, 209, 198), RED, "tif"),  # sRGB red: L* 54.3, a* 80.8, b* 69.9 (D50)
        ("HSV", (170, 255, 255), BLUE, None),  # PIL saves HSV nowhere
    ],
)
def test_colour_spaces_give_rgb(
    tmp_path: Path, mode: str, colour: tuple, want: tuple, ext: str | None
) -> None:
    img = Image.new(mode, (8, 8), colour)
    if ext is None:
        got = np.asarray(to_8bit(img, 3))[0, 0]
    else:
        path = _saved(tmp_path / f"c.{ext}", img)
        assert Image.open(path).mode == mode
        got = _levels(read_image(path, 3))[:, 0, 0]
    # JPEG is lossy; 8-bit L*a*b* steps (0.4 in L*, 1 in a*, b*) move saturated colours further
    _close(got, np.clip(want, 0, 255), tol=4 if ext == "jpg" else 6 if mode == "LAB" else 1)


def test_colour_asked_for_one_channel_gives_luminance(tmp_path: Path) -> None:
    path = _saved(tmp_path / "c.png", Image.new("RGB", (20, 20), (10, 200, 30)))
    want = 0.299 * 10 + 0.587 * 200 + 0.114 * 30  # ITU-R 601, as PIL's "L"
    _close(_levels(read_image(path, 1)), np.full((1, 20, 20), want))
    assert load_image(path, 8, 1).shape == (1, 8, 8)
    _close(load_image(path, 8, 1), np.full((1, 8, 8), want))


def test_exif_orientation_turns_the_image_upright(tmp_path: Path) -> None:
    img = Image.new("RGB", (20, 10), RED)
    img.paste(Image.new("RGB", (10, 10), BLUE), (10, 0))  # left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: show rotated 90° clockwise
    path = _saved(tmp_path / "turned.jpg", img, exif=exif, quality=95)
    want = np.asarray(ImageOps.exif_transpose(Image.open(path)))  # [20, 10, 3]: red on top
    got = np.asarray(read_8bit(path, 3))
    assert got.shape == (20, 10, 3)
    _close(got, want, tol=0)
    _close(got[2, 5], RED, tol=8)


def test_large_jpegs_decode_at_a_reduced_size(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    img = Image.fromarray(noise).resize((800, 600), Image.Resampling.BICUBIC)
    path = _saved(tmp_path / "photo.jpg", img, quality=92)
    assert read_8bit(path, 3, shrink_to=16).size == (100, 75)  # 1/8: still ≥ 3× 16
    assert read_8bit(path, 3, shrink_to=200).size == (800, 600)  # no room to shrink
    drafted = load_image(path, 16, 3).astype(float)
    full = fit_image(Image.open(path), 16, 3).astype(float)  # decoded at full size
    assert np.abs(drafted - full).mean() < 2 and np.abs(drafted - full).max() <= 8


# --- too large, unreadable ---------------------------------------------------------------------


def _blank_png(path: Path, w: int, h: int) -> Path:
    """A real w×h 1-bit PNG, all black, a few kB (written without PIL, so nothing decoded)."""
    return _png(path, (w, h), 1, 0, bytes((w // 8 + 1) * h))


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any decode of a file fails the test: refusing a large image must read its header only."""

    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError(f"decoded {self.size}")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize(("w", "h"), [(12000, 12000), (20000, 10000)])  # under, over PIL's error
def test_a_too_large_translate_input_is_refused_before_decoding(
    tmp_path: Path, no_decoding: None, w: int, h: int
) -> None:
    path = _blank_png(tmp_path / "huge.png", w, h)
    size = f"{w}×{h} " if w * h < 2 * Image.MAX_IMAGE_PIXELS else ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a PIL warning reaching the user fails the test
        with pytest.raises(GankitError) as err:
            read_image(path, 1)
    assert isinstance(err.value, ImageTooLarge)
    assert str(err.value).startswith(f"{path} is too large to read: {size}")  # names the file
    assert f"{w * h:,} pixels" in str(err.value) and f"{MAX_PIXELS:,} pixels" in str(err.value)


def test_too_large_and_damaged_files_in_a_folder_are_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger("gankit"), "propagate", True)  # see test_datasets
    _saved(tmp_path / "good.png", Image.new("RGB", (10, 10), RED))
    big = _blank_png(tmp_path / "huge.png", 12000, 12000)
    (tmp_path / "junk.jpg").write_bytes(b"not a jpeg at all")
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="gankit"):
        warnings.simplefilter("error")
        ds = build_dataset(DataConfig(spec=f"folder:{tmp_path}", resolution=8))
    assert len(ds) == 1
    (message,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert message.startswith(f"skipped 2 unreadable image file(s) under {tmp_path}: ")
    assert f"1 not readable (first: {tmp_path / 'junk.jpg'}: not an image format" in message
    assert f"1 too large (first: {big}: 12000×12000" in message


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(UnreadableImage, match=re.escape(f"cannot read image {junk}: ")):
        read_image(junk, 3)
    gone = tmp_path / "gone.png"
    with pytest.raises(GankitError, match=re.escape(f"no such image file: {gone}")):
        read_image(gone, 3)
    with pytest.raises(GankitError, match=re.escape(f"{tmp_path} is a folder, not an image")):
        read_image(tmp_path, 3)
