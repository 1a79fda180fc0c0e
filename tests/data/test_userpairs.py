"""User image-to-image folders: `paired:PATH` (side by side or A/ + B/) and `unpaired:PATH`."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import DataConfig, build_dataset
from gankit.data.pairs import PairedDataset, UnpairedDataset
from gankit.errors import GankitError

STEP = 1 / 127.5


def _save(path: Path, img: Image.Image) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _solid(colour: tuple[int, int, int], size: tuple[int, int] = (20, 20)) -> Image.Image:
    return Image.new("RGB", size, colour)


def _side_by_side(left: tuple[int, int, int], right: tuple[int, int, int], h: int = 20):
    img = _solid(left, (2 * h, h))
    img.paste(_solid(right, (h, h)), (h, 0))
    return img


def _colour(x: torch.Tensor) -> torch.Tensor:
    """The mean colour of each image [N, C, H, W] as uint8 levels [N, C]."""
    return ((x.mean((2, 3)) + 1) * 127.5).round()


def _build(root: Path, kind: str = "paired", **kw):
    kw.setdefault("resolution", 8)
    return build_dataset(DataConfig(spec=f"{kind}:{root}", **kw))


def _all(ds) -> dict[str, torch.Tensor]:
    return ds.batch(torch.arange(len(ds)))


def _corrupt(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    path.write_bytes(rng.integers(0, 256, 400, dtype=np.uint8).tobytes())


def _truncated(path: Path) -> None:
    """A PNG whose header reads (40×20) but whose pixels are cut off."""
    noise = np.random.default_rng(1).integers(0, 256, (20, 40, 3), dtype=np.uint8)
    _save(path, Image.fromarray(noise))
    path.write_bytes(path.read_bytes()[:200])


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch):
    # another test may have run the CLI, which stops "gankit" propagating to caplog's handler
    monkeypatch.setattr(logging.getLogger("gankit"), "propagate", True)
    caplog.set_level(logging.WARNING, logger="gankit")

    def collected() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "gankit"]

    return collected


# --- paired:PATH, side by side -----------------------------------------------------------------


def test_side_by_side_pairs_split_down_the_middle(tmp_path: Path) -> None:
    _save(tmp_path / "1.png", _side_by_side((200, 0, 0), (0, 0, 200)))
    _save(tmp_path / "sub" / "2.jpg", _side_by_side((0, 250, 0), (250, 250, 250), h=32))
    ds = _build(tmp_path)
    assert isinstance(ds, PairedDataset) and len(ds) == 2
    batch = _all(ds)
    assert batch["a"].shape == (2, 3, 8, 8) and batch["b"].shape == (2, 3, 8, 8)
    assert ds.info.kind == "paired" and ds.info.shape == ds.info.shape_b == (3, 8, 8)
    assert ds.info.domains == ("A", "B") and ds.info.name == f"paired:{tmp_path.name}"
    # sorted: 1.png, sub/2.jpg; A is the left half
    colours = torch.tensor([[200, 0, 0], [0, 250, 0]]).float()
    torch.testing.assert_close(_colour(batch["a"]), colours, rtol=0, atol=3)
    torch.testing.assert_close(
        _colour(batch["b"]), torch.tensor([[0, 0, 200], [250, 250, 250]]).float(), rtol=0, atol=3
    )
    assert batch["a"].min() >= -1 and batch["a"].max() <= 1


def test_side_by_side_halves_never_bleed_into_each_other(tmp_path: Path) -> None:
    # a sharp edge down the middle: after resizing, A stays pure red and B pure blue
    _save(tmp_path / "x.png", _side_by_side((255, 0, 0), (0, 0, 255), h=50))
    batch = _all(_build(tmp_path, resolution=16))
    red = torch.tensor([1.0, -1.0, -1.0])[:, None, None].expand(3, 16, 16)
    torch.testing.assert_close(batch["a"][0], red, rtol=0, atol=0)
    torch.testing.assert_close(batch["b"][0], red.flip(0), rtol=0, atol=0)


def test_side_by_side_of_the_wrong_width_is_an_error(tmp_path: Path) -> None:
    _save(tmp_path / "good.png", _side_by_side((1, 2, 3), (4, 5, 6)))
    _save(tmp_path / "odd.png", _solid((9, 9, 9), (41, 20)))
    with pytest.raises(GankitError, match=r"odd\.png is 41×20.*twice as wide"):
        _build(tmp_path)


def test_grayscale_and_default_resolution(tmp_path: Path) -> None:
    _save(tmp_path / "x.png", _side_by_side((255, 0, 0), (0, 0, 255), h=100))
    ds = _build(tmp_path, resolution=None, channels=1)
    batch = _all(ds)
    assert batch["a"].shape == batch["b"].shape == (1, 1, 64, 64)
    assert ds.info.shape == (1, 64, 64)
    # PIL's luma: red 0.299·255 = 76, blue 0.114·255 = 29
    torch.testing.assert_close(_colour(batch["a"]), torch.tensor([[76.0]]), rtol=0, atol=1)
    torch.testing.assert_close(_colour(batch["b"]), torch.tensor([[29.0]]), rtol=0, atol=1)


# --- paired:PATH, A/ and B/ --------------------------------------------------------------------


def _two_folders(root: Path) -> Path:
    """Three pairs matched by name (suffixes differ, one in a subfolder); each pair has its own
    colour: A (c, 0, 0) and B (0, 0, c)."""
    for name, c, size in (("p1", 50, (20, 20)), ("p2", 100, (30, 15)), ("sub/p3", 150, (8, 8))):
        _save(root / "A" / f"{name}.png", _solid((c, 0, 0), size))
        big = (size[0] * 2, size[1] * 2)  # B may be another size of the same shape
        _save(root / "B" / f"{name}.jpg", _solid((0, 0, c), big))
    return root


def test_two_folders_pair_files_by_name(tmp_path: Path) -> None:
    batch = _all(_build(_two_folders(tmp_path)))
    assert batch["a"].shape == (3, 3, 8, 8)
    torch.testing.assert_close(_colour(batch["a"])[:, 0], torch.tensor([50.0, 100, 150]))
    torch.testing.assert_close(
        _colour(batch["b"])[:, 2], torch.tensor([50.0, 100, 150]), atol=3, rtol=0
    )


def test_both_images_of_a_pair_are_cropped_alike(tmp_path: Path) -> None:
    # wide images: thirds red | blue | red; the centre crop keeps only blue in both A and B
    for side, scale in (("A", 1), ("B", 3)):
        img = _solid((255, 0, 0), (60 * scale, 20 * scale))
        img.paste(_solid((0, 0, 255), (20 * scale, 20 * scale)), (20 * scale, 0))
        _save(tmp_path / side / "x.png", img)
    batch = _all(_build(tmp_path, resolution=10))
    # both crops alike (up to the resampling of another size), blue away from the red edges
    torch.testing.assert_close(batch["a"], batch["b"], rtol=0, atol=0.1)
    blue = torch.tensor([-1.0, -1.0, 1.0])[:, None, None].expand(3, 10, 6)
    for side in ("a", "b"):
        torch.testing.assert_close(batch[side][0, :, :, 2:8], blue, rtol=0, atol=2 * STEP)


def test_a_file_without_its_partner_is_an_error(tmp_path: Path) -> None:
    root = _two_folders(tmp_path / "one")
    _save(root / "A" / "lonely.png", _solid((1, 1, 1)))
    with pytest.raises(GankitError, match=r"A/lonely\.png has no partner.*B"):
        _build(root)
    root = _two_folders(tmp_path / "two")
    _save(root / "B" / "sub" / "extra.png", _solid((1, 1, 1)))
    with pytest.raises(GankitError, match=r"B/sub/extra\.png has no partner"):
        _build(root)


def test_pairs_of_different_shapes_are_an_error(tmp_path: Path) -> None:
    _save(tmp_path / "A" / "x.png", _solid((1, 1, 1), (20, 20)))
    _save(tmp_path / "B" / "x.png", _solid((1, 1, 1), (40, 20)))
    with pytest.raises(GankitError, match=r"A/x\.png \(20×20\).*B/x\.png \(40×20\) differ"):
        _build(tmp_path)


def test_two_folders_need_both_and_images_in_them(tmp_path: Path) -> None:
    _save(tmp_path / "only" / "A" / "x.png", _solid((1, 1, 1)))
    with pytest.raises(GankitError, match=r"no folder .*only/B"):
        _build(tmp_path / "only")
    (tmp_path / "empty" / "A").mkdir(parents=True)
    (tmp_path / "empty" / "B").mkdir()
    with pytest.raises(GankitError, match=r"no images .* found under .*empty/A"):
        _build(tmp_path / "empty")
    _save(tmp_path / "dup" / "A" / "x.png", _solid((1, 1, 1)))
    _save(tmp_path / "dup" / "A" / "x.jpg", _solid((1, 1, 1)))
    _save(tmp_path / "dup" / "B" / "x.png", _solid((1, 1, 1)))
    with pytest.raises(GankitError, match="same name"):
        _build(tmp_path / "dup")


def test_corrupt_files_skip_their_pair_with_one_warning(tmp_path: Path, warnings) -> None:
    root = _two_folders(tmp_path / "folders")
    _corrupt(root / "A" / "broken.png")
    _save(root / "B" / "broken.png", _solid((1, 1, 1)))
    _save(root / "A" / "cut.png", _solid((1, 1, 1), (40, 20)))
    _truncated(root / "B" / "cut.png")
    ds = _build(root)
    assert len(ds) == 3
    messages = warnings()
    assert len(messages) == 1 and "skipped 2 unreadable pair(s)" in messages[0]
    assert "broken.png" in messages[0]  # the first, in sorted order, is named
    # side by side: a corrupt file and a truncated one among good pairs
    sbs = tmp_path / "sbs"
    _save(sbs / "good.png", _side_by_side((1, 2, 3), (4, 5, 6)))
    _corrupt(sbs / "bad.jpg")
    _truncated(sbs / "cut.png")
    assert len(_build(sbs)) == 1
    assert len(warnings()) == 2 and "skipped 2 unreadable pair(s)" in warnings()[1]


def test_paired_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match=r"no such folder of pairs: .*missing"):
        _build(tmp_path / "missing")
    _save(tmp_path / "pairs" / "p.png", _side_by_side((1, 2, 3), (4, 5, 6)))
    with pytest.raises(GankitError, match=r"p\.png is a file, not a folder.*paired:.*pairs$"):
        _build(tmp_path / "pairs" / "p.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(GankitError, match=r"no images .* found under .*empty"):
        _build(tmp_path / "empty")
    _corrupt(tmp_path / "bad" / "x.png")
    with pytest.raises(GankitError, match="none of the pairs"):
        _build(tmp_path / "bad")


# --- paired:PATH, splits -----------------------------------------------------------------------


def test_split_folders_choose_the_split(tmp_path: Path) -> None:
    for i in range(3):
        _save(tmp_path / "train" / f"{i}.png", _side_by_side((10 * i, 0, 0), (0, 0, 0)))
    _save(tmp_path / "val" / "v.png", _side_by_side((0, 99, 0), (0, 0, 0)))
    assert len(_build(tmp_path, split="train")) == 3
    test = _all(_build(tmp_path, split="test"))["a"]
    torch.testing.assert_close(_colour(test), torch.tensor([[0.0, 99, 0]]), rtol=0, atol=2)
    assert len(_build(tmp_path, split="all")) == 4
    # test/ wins over val/; each split folder may hold A/ and B/
    _save(tmp_path / "test" / "A" / "t.png", _solid((0, 0, 77)))
    _save(tmp_path / "test" / "B" / "t.png", _solid((0, 0, 0)))
    test = _all(_build(tmp_path, split="test"))["a"]
    torch.testing.assert_close(_colour(test), torch.tensor([[0.0, 0, 77]]), rtol=0, atol=2)


def test_split_folders_inside_a_and_b(tmp_path: Path) -> None:
    for split, n in (("train", 2), ("test", 1)):
        for i in range(n):
            _save(tmp_path / "A" / split / f"{i}.png", _solid((1, 1, 1)))
            _save(tmp_path / "B" / split / f"{i}.png", _solid((2, 2, 2)))
    sizes = {s: len(_build(tmp_path, split=s)) for s in ("train", "test", "all")}
    assert sizes == {"train": 2, "test": 1, "all": 3}


def test_without_split_folders_everything_is_training(tmp_path: Path) -> None:
    _two_folders(tmp_path)
    assert len(_build(tmp_path, split="train")) == len(_build(tmp_path, split="all")) == 3
    with pytest.raises(GankitError, match=r"no held-out pairs.*test/ or val/"):
        _build(tmp_path, split="test")
    _save(tmp_path / "other" / "test" / "x.png", _side_by_side((1, 1, 1), (2, 2, 2)))
    with pytest.raises(GankitError, match="no train/ folder"):
        _build(tmp_path / "other", split="train")


# --- unpaired:PATH -----------------------------------------------------------------------------


def _domains(root: Path) -> Path:
    """trainA: 3 red images, trainB: 2 blue ones (other sizes), testA/testB: one each."""
    for i in range(3):
        _save(root / "trainA" / f"a{i}.png", _solid((200, 0, 0), (20 + i, 20)))
    for i in range(2):
        _save(root / "trainB" / f"b{i}.jpg", _solid((0, 0, 200), (30, 40 + i)))
    _save(root / "testA" / "t.png", _solid((100, 0, 0)))
    _save(root / "testB" / "nested" / "t.png", _solid((0, 0, 100)))
    return root


def test_unpaired_domains(tmp_path: Path) -> None:
    ds = _build(_domains(tmp_path), "unpaired")
    assert isinstance(ds, UnpairedDataset) and len(ds) == 3  # the larger domain
    assert ds.info.kind == "unpaired" and ds.info.shape == ds.info.shape_b == (3, 8, 8)
    assert ds.info.domains == ("A", "B") and ds.info.name == f"unpaired:{tmp_path.name}"
    batch = _all(ds)
    assert batch["a"].shape == batch["b"].shape == (3, 3, 8, 8)
    torch.testing.assert_close(_colour(batch["a"]), torch.tensor([[200.0, 0, 0]] * 3))
    torch.testing.assert_close(
        _colour(batch["b"]), torch.tensor([[0.0, 0, 200]] * 3), atol=3, rtol=0
    )
    assert len(ds.a) == 3 and len(ds.b) == 2
    test = _build(tmp_path, "unpaired", split="test")
    assert (len(test.a), len(test.b)) == (1, 1)
    everything = _build(tmp_path, "unpaired", split="all")
    assert (len(everything.a), len(everything.b)) == (4, 3)
    grey = _build(tmp_path, "unpaired", channels=1, resolution=None)
    assert grey.info.shape == (1, 64, 64)


def test_unpaired_missing_or_empty_domains(tmp_path: Path) -> None:
    root = _domains(tmp_path / "r")
    for path in (root / "trainB").iterdir():
        path.unlink()
    with pytest.raises(GankitError, match=r"no images .* found under .*trainB"):
        _build(root, "unpaired")
    (root / "trainB").rmdir()
    with pytest.raises(GankitError, match=r"no folder .*trainB.*trainA/ and trainB/"):
        _build(root, "unpaired")
    only_train = tmp_path / "only"
    _save(only_train / "trainA" / "x.png", _solid((1, 1, 1)))
    _save(only_train / "trainB" / "x.png", _solid((1, 1, 1)))
    with pytest.raises(GankitError, match=r"no folder .*testA"):
        _build(only_train, "unpaired", split="test")
    assert len(_build(only_train, "unpaired", split="all")) == 1  # all = train when no test
    with pytest.raises(GankitError, match=r"no such folder of domains"):
        _build(tmp_path / "missing", "unpaired")
    with pytest.raises(GankitError, match=r"x\.png is a file, not a folder.*unpaired:.*trainA$"):
        _build(only_train / "trainA" / "x.png", "unpaired")
    (only_train / "testA").write_text("a file where a folder should be")
    with pytest.raises(GankitError, match=r"testA is a file, not a folder of domain A's images"):
        _build(only_train, "unpaired", split="test")


def test_unpaired_skips_unreadable_files_with_one_warning(tmp_path: Path, warnings) -> None:
    root = _domains(tmp_path)
    _corrupt(root / "trainA" / "bad.png")
    _truncated(root / "trainB" / "cut.png")
    ds = _build(root, "unpaired")
    assert (len(ds.a), len(ds.b)) == (3, 2)
    messages = warnings()
    assert len(messages) == 1 and "skipped 2 unreadable image file(s)" in messages[0]
    # a domain with nothing readable is an error naming it
    for path in (root / "trainB").iterdir():
        path.unlink()
    _corrupt(root / "trainB" / "bad.png")
    with pytest.raises(GankitError, match=r"none of the image files under .*trainB"):
        _build(root, "unpaired")
