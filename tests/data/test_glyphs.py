"""The glyph datasets: rendering, determinism, splits, pairs, unpaired domains, digits2glyphs."""

from __future__ import annotations

import pytest
import torch

from gankit.data import DATASETS, DataConfig, build_dataset, spec_usage
from gankit.data.digits import digit_images
from gankit.data.glyphs import (
    CHARACTERS,
    FONT_KEYS,
    FONTS,
    HELD_OUT_CHARACTERS,
    REGULAR2BOLD,
    TRAIN_CHARACTERS,
    glyph_sheet,
    parse_font_pair,
    render_glyphs,
)
from gankit.errors import GankitError


def _all(ds) -> dict[str, torch.Tensor]:
    return ds.batch(torch.arange(len(ds)))


def _build(spec: str, **kw):
    return build_dataset(DataConfig(spec=spec, **kw))


def _keys(x: torch.Tensor) -> set[bytes]:
    return {img.numpy().tobytes() for img in x}


# --- fonts and rendering -----------------------------------------------------------------------


def test_character_classes() -> None:
    assert len(CHARACTERS) == 62 and len(set(CHARACTERS)) == 62
    assert CHARACTERS[:10] == "0123456789"  # digit d is class d
    assert len(HELD_OUT_CHARACTERS) == 12 and set(HELD_OUT_CHARACTERS) <= set(CHARACTERS)
    assert sorted(TRAIN_CHARACTERS + HELD_OUT_CHARACTERS) == sorted(CHARACTERS)


def test_every_font_draws_every_character_centred() -> None:
    assert len(FONT_KEYS) == 20
    sheets = {}
    for key in FONT_KEYS:
        sheet = torch.from_numpy(glyph_sheet(key, 64).copy()).float()  # [62, 64, 64]
        assert sheet.shape == (62, 64, 64)
        ink = sheet / 255
        mass = ink.sum((1, 2))
        assert (mass > 10).all(), key  # no blank (missing) glyph
        # the ink's bounding box is centred (to the pixel)
        for glyph in ink:
            rows, cols = glyph.sum(1).nonzero()[:, 0], glyph.sum(0).nonzero()[:, 0]
            assert abs((rows[0] + rows[-1]).item() - 63) <= 1
            assert abs((cols[0] + cols[-1]).item() - 63) <= 1
        # nothing touches the border: room for the jitter
        assert ink[:, [0, -1], :].sum() == 0 and ink[:, :, [0, -1]].sum() == 0
        sheets[key] = sheet
    # a capital H is CAP_HEIGHT (0.55) of the side in every font
    h = CHARACTERS.index("H")
    for key, sheet in sheets.items():
        height = (sheet[h].sum(1) > 0).sum().item()
        assert abs(height - 0.55 * 64) <= 1.5, key
    # bold fonts carry more ink than their regular weight
    for regular, bold in zip(*REGULAR2BOLD):
        assert sheets[bold].sum() > 1.2 * sheets[regular].sum(), (regular, bold)
    assert glyph_sheet("sans", 64) is glyph_sheet("sans", 64)  # cached
    assert not glyph_sheet("sans", 64).flags.writeable


def test_font_table_styles() -> None:
    assert FONTS["serif-bold-italic"].bold and FONTS["serif-bold-italic"].italic
    assert FONTS["serif"].serif and not FONTS["sans"].serif
    assert FONTS["cm"].family == "Computer Modern Roman"
    assert sum(f.bold for f in FONTS.values()) == 9


def test_render_is_deterministic_and_seeded() -> None:
    def draw(**kw):
        return render_glyphs(("sans", "stix-italic"), "aZ7", 3, **kw)

    a, b, c = draw(seed=1), draw(seed=1), draw(seed=2)
    for t, u in zip(a, b):
        torch.testing.assert_close(t, u, rtol=0, atol=0)
    assert not torch.equal(a[0], c[0])  # jitter differs
    torch.testing.assert_close(a[1], c[1], rtol=0, atol=0)  # same order of characters
    assert not torch.equal(a[0], draw(seed=1, split="test")[0])
    assert not torch.equal(a[0], draw(seed=1, stream="other")[0])
    x, y, font = a
    assert x.shape == (18, 1, 32, 32) and x.dtype == torch.uint8
    # ordered (rendering, font, character)
    assert y.tolist() == [CHARACTERS.index(ch) for ch in "aZ7"] * 6
    sans, stix = FONT_KEYS.index("sans"), FONT_KEYS.index("stix-italic")
    assert font.tolist() == ([sans] * 3 + [stix] * 3) * 3
    x[:] = 0  # callers get fresh tensors: the cache is untouched
    assert draw(seed=1)[0].float().max() == 255


def test_render_size_keeps_a_prefix() -> None:
    full = render_glyphs(("serif",), CHARACTERS, 2)[0]
    part = render_glyphs(("serif",), CHARACTERS, 2, size=70)[0]
    assert len(part) == 70
    torch.testing.assert_close(part, full[:70], rtol=0, atol=0)


# --- glyphs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "per"), [("train", 8), ("test", 2)])
def test_glyphs_shapes_range_labels(split: str, per: int) -> None:
    ds = _build("glyphs", split=split)
    batch = _all(ds)
    x, y = batch["x"], batch["y"]
    n = 62 * 20 * per
    assert x.shape == (n, 1, 32, 32) and x.dtype == torch.float32 and y.shape == (n,)
    assert x.min() == -1 and x.max() == 1  # paper -1, full ink reaches 1
    assert (x[:, :, [0, -1], :] == -1).float().mean() > 0.97  # glyphs sit inside the frame
    assert ds.info.kind == "image" and ds.info.shape == (1, 32, 32)
    assert ds.info.num_classes == 62 and ds.info.class_names == tuple(CHARACTERS)
    # every (character, font) pair appears `per` times
    pairs = torch.bincount(y * 20 + ds.font, minlength=62 * 20)
    assert (pairs == per).all()
    # the first 62×20 samples already hold every character in every font (eval takes a prefix)
    assert len(torch.unique(y[: 62 * 20] * 20 + ds.font[: 62 * 20])) == 62 * 20


def test_glyphs_seed_split_resolution_and_size() -> None:
    def x_of(**kw) -> torch.Tensor:
        return _all(_build("glyphs", **kw))["x"]

    torch.testing.assert_close(x_of(split="test", seed=3), x_of(split="test", seed=3))
    assert not torch.equal(x_of(split="test", seed=3), x_of(split="test", seed=4))
    train, test, full = (x_of(split=s) for s in ("train", "test", "all"))
    assert not _keys(train) & _keys(test)  # fresh jitter in the held-out split
    torch.testing.assert_close(full, torch.cat([train, test]), rtol=0, atol=0)
    assert x_of(split="test", resolution=16).shape == (2480, 1, 16, 16)
    assert x_of(split="test", resolution=64).shape == (2480, 1, 64, 64)
    assert x_of(size=100).shape == (100, 1, 32, 32)


# --- glyphs-pairs ------------------------------------------------------------------------------


def test_pairs_split_by_character() -> None:
    train = _build("glyphs-pairs:sans>serif-bold")
    test = _build("glyphs-pairs:sans>serif-bold", split="test")
    tr, te = _all(train), _all(test)
    assert tr["a"].shape == tr["b"].shape == (800, 1, 32, 32)
    assert te["a"].shape == te["b"].shape == (96, 1, 32, 32)
    for batch in (tr, te):
        torch.testing.assert_close(batch["ya"], batch["yb"], rtol=0, atol=0)
        assert batch["a"].min() == -1 and batch["b"].max() == 1
    seen = {CHARACTERS[i] for i in tr["ya"].tolist()}
    held = {CHARACTERS[i] for i in te["ya"].tolist()}
    assert seen == set(TRAIN_CHARACTERS) and held == set(HELD_OUT_CHARACTERS)
    assert not seen & held  # test characters are never seen in training
    info = train.info
    assert info.kind == "paired" and info.domains == ("sans", "serif-bold")
    assert info.name == "glyphs-pairs:sans>serif-bold" and info.shape_b == (1, 32, 32)
    assert info.num_classes == 62


def test_pairs_share_their_jitter() -> None:
    # the same font on both sides gives identical images: A and B differ only by the font
    same = _all(_build("glyphs-pairs:mono>mono", split="test"))
    torch.testing.assert_close(same["a"], same["b"], rtol=0, atol=0)
    other = _all(_build("glyphs-pairs:mono>cm-sans", split="test"))
    torch.testing.assert_close(other["a"], same["a"], rtol=0, atol=0)
    assert not torch.equal(other["a"], other["b"])
    # and the ink of a pair sits in the same place (shared rotation, scale and shift)
    a, b = (other[k][:, 0] > 0 for k in "ab")
    rows = torch.arange(32.0)[:, None]
    centre_a = (a * rows).sum((1, 2)) / a.sum((1, 2))
    centre_b = (b * rows).sum((1, 2)) / b.sum((1, 2))
    assert (centre_a - centre_b).abs().mean() < 1.0


def test_pairs_alternative_separator_and_seed() -> None:
    a = _all(_build("glyphs-pairs:sans2serif", split="test", seed=7))
    b = _all(_build("glyphs-pairs:sans>serif", split="test", seed=7))
    torch.testing.assert_close(a["b"], b["b"], rtol=0, atol=0)
    c = _all(_build("glyphs-pairs:sans>serif", split="test", seed=8))
    assert not torch.equal(b["a"], c["a"])
    assert parse_font_pair("cm-sans>stix-bold-italic") == ("cm-sans", "stix-bold-italic")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("glyphs-pairs:sans>comic", r"unknown font 'comic'.*choose from: sans, sans-bold"),
        ("glyphs-pairs:helvetica2serif", "unknown font 'helvetica'"),
        ("glyphs-pairs:sans", r"needs two fonts, as glyphs-pairs:A>B"),
        ("glyphs-pairs:sans>", "needs two fonts"),
        ("glyphs-pairs:sans>serif>mono", "needs two fonts"),
        ("glyphs-pairs", r"needs an argument: glyphs-pairs:A>B"),
        ("glyphs:x", "takes no argument"),
    ],
)
def test_pairs_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(GankitError, match=message):
        _build(spec)


# --- unpaired glyph domains --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "domains", "counts"),
    [
        ("glyphs-sans2serif", ("sans", "serif"), (800, 96)),
        ("glyphs-regular2bold", ("regular", "bold"), (2000, 240)),
    ],
)
def test_unpaired_glyph_domains(name: str, domains: tuple, counts: tuple) -> None:
    for split, n in zip(("train", "test"), counts):
        ds = _build(name, split=split)
        assert ds.info.kind == "unpaired" and ds.info.domains == domains
        assert ds.info.shape == ds.info.shape_b == (1, 32, 32)
        assert ds.info.num_classes == 62
        assert ds.a.shape == ds.b.shape == (n, 1, 32, 32) and len(ds) == n
        chars = HELD_OUT_CHARACTERS if split == "test" else TRAIN_CHARACTERS
        for y in (ds.ya, ds.yb):
            assert {CHARACTERS[i] for i in y.tolist()} == set(chars)
        batch = _all(ds)
        assert batch["a"].min() == -1 and batch["b"].max() == 1
        assert set(batch) == {"a", "b", "ya", "yb"}
    # fonts of each domain
    ds = _build(name)
    font_a = {FONT_KEYS[i] for i in ds.font_a.tolist()}
    font_b = {FONT_KEYS[i] for i in ds.font_b.tolist()}
    if name == "glyphs-sans2serif":
        assert (font_a, font_b) == ({"sans"}, {"serif"})
    else:
        assert font_a == set(REGULAR2BOLD[0]) and font_b == set(REGULAR2BOLD[1])
        assert not any(FONTS[k].bold for k in font_a) and all(FONTS[k].bold for k in font_b)


def test_unpaired_domains_hold_no_pair() -> None:
    ds = _build("glyphs-sans2serif")
    # the serif twins of domain A's renderings (same characters, same jitter) ...
    twins = render_glyphs(("serif",), TRAIN_CHARACTERS, 16, stream="glyphs-sans2serif/A")[0]
    # ... are not in domain B, which was drawn with its own jitter
    assert not _keys(twins) & _keys(ds.b)
    assert len(_keys(ds.a)) == len(ds.a)  # and the renderings are distinct
    # the same holds across weights: no regular rendering has its bold twin
    rb = _build("glyphs-regular2bold", split="test")
    twins = render_glyphs(
        REGULAR2BOLD[1], HELD_OUT_CHARACTERS, 4, split="test", stream="glyphs-regular2bold/A"
    )[0]
    assert not _keys(twins) & _keys(rb.b)


def test_unpaired_is_deterministic() -> None:
    a = _all(_build("glyphs-regular2bold", split="test", seed=2))
    b = _all(_build("glyphs-regular2bold", split="test", seed=2))
    c = _all(_build("glyphs-regular2bold", split="test", seed=3))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert not torch.equal(a["a"], c["a"])


# --- digits2glyphs -----------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "n_a", "n_b"), [("train", 1347, 1600), ("test", 450, 400)])
def test_digits2glyphs(split: str, n_a: int, n_b: int) -> None:
    ds = _build("digits2glyphs", split=split)
    assert ds.info.kind == "unpaired" and ds.info.domains == ("handwritten", "font")
    assert ds.info.num_classes == 10 and ds.info.class_names == tuple("0123456789")
    assert ds.a.shape == (n_a, 1, 32, 32) and ds.b.shape == (n_b, 1, 32, 32)
    hand, labels = digit_images(split, 32)
    torch.testing.assert_close(ds.a, hand, rtol=0, atol=0)
    torch.testing.assert_close(ds.ya, labels, rtol=0, atol=0)
    assert sorted(ds.yb.unique().tolist()) == list(range(10))
    assert torch.bincount(ds.yb).tolist() == [n_b // 10] * 10
    assert {FONT_KEYS[i] for i in ds.font_b.tolist()} == set(FONT_KEYS)
    assert (ds.font_a == -1).all()
    batch = _all(ds)
    assert batch["a"].min() >= -1 and batch["b"].max() == 1 and batch["b"].min() == -1
    # font digits are drawn about as tall as the handwritten ones (8×8 digits fill the frame)
    tall = (batch["b"][:, 0] > 0).any(2).sum(1).float().mean()
    assert 22 < tall < 30
    assert _build("digits2glyphs", resolution=16).b.shape[-1] == 16


def test_glyph_sets_are_registered() -> None:
    for name in ("glyphs", "glyphs-pairs", "glyphs-sans2serif", "glyphs-regular2bold"):
        assert name in DATASETS
    assert "digits2glyphs" in DATASETS
    assert spec_usage("glyphs-pairs") == "glyphs-pairs:A>B"
