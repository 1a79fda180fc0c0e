"""Built-in datasets (mixtures, digits, stacked digits), user folders and CSVs, BatchStream."""

from __future__ import annotations

import itertools
import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import (
    MIXTURES,
    ArrayDataset,
    BatchStream,
    DataConfig,
    DataInfo,
    build_dataset,
    split_spec,
)
from gankit.errors import GankitError


def _all(ds) -> dict[str, torch.Tensor]:
    return ds.batch(torch.arange(len(ds)))


# --- 2-D Gaussian mixtures ---------------------------------------------------------------------


def test_mixture_means_are_the_pacgan_setup() -> None:
    angles = np.arange(8) * (2 * math.pi / 8)
    ring = np.stack([np.cos(angles), np.sin(angles)], 1)
    np.testing.assert_allclose(MIXTURES["ring8"].means, ring, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(MIXTURES["ring8"].means, axis=1), 1.0, rtol=1e-12)
    grid = {(float(a), float(b)) for a, b in itertools.product((-4, -2, 0, 2, 4), repeat=2)}
    got = {tuple(m) for m in MIXTURES["grid25"].means.tolist()}
    assert len(MIXTURES["grid25"].means) == 25 and got == grid
    assert (MIXTURES["ring8"].std, MIXTURES["grid25"].std) == (0.01, 0.05)


@pytest.mark.parametrize(("name", "std"), [("ring8", 0.01), ("grid25", 0.05)])
def test_mixture_samples_spread_sigma_around_nearest_mode(name: str, std: float) -> None:
    ds = build_dataset(DataConfig(spec=name, size=20_000))
    batch = _all(ds)
    x, y = batch["x"].double(), batch["y"]
    means = torch.from_numpy(MIXTURES[name].means)
    assert x.shape == (20_000, 2) and y.shape == (20_000,)
    assert ds.info.kind == "points" and ds.info.shape == (2,)
    assert ds.info.num_classes == len(means)
    # every label is its point's nearest mode (modes are >= 40σ apart)
    nearest = torch.cdist(x, means).argmin(1)
    torch.testing.assert_close(nearest, y)
    # 40,000 residual coordinates: the std estimate is within ~0.4% (1σ) of σ
    residual = x - means[y]
    torch.testing.assert_close(residual.std().item(), std, rtol=0.03, atol=0)
    torch.testing.assert_close(residual.mean().item(), 0.0, rtol=0, atol=0.05 * std)
    # all modes are used, roughly equally
    counts = torch.bincount(y, minlength=len(means)).double()
    expected = 20_000 / len(means)
    torch.testing.assert_close(counts, torch.full_like(counts, expected), rtol=0.15, atol=0)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_is_seeded_and_splits_differ(name: str) -> None:
    def draw(**kw) -> torch.Tensor:
        return _all(build_dataset(DataConfig(spec=name, size=500, **kw)))["x"]

    torch.testing.assert_close(draw(seed=3), draw(seed=3), rtol=0, atol=0)
    assert not torch.equal(draw(seed=3), draw(seed=4))
    assert not torch.equal(draw(split="train"), draw(split="test"))
    # "all" is the training draw
    torch.testing.assert_close(draw(split="all"), draw(split="train"), rtol=0, atol=0)
    # neither split's draw is another seed's draw of the other split
    assert not torch.equal(draw(seed=1, split="train"), draw(seed=0, split="test"))


@pytest.mark.parametrize("size", [1, 37, 1000])
def test_mixture_size_is_respected(size: int) -> None:
    assert len(build_dataset(DataConfig(spec="ring8", size=size))) == size


# --- digits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", [8, 16, 32])
def test_digits_shapes_and_range(resolution: int) -> None:
    ds = build_dataset(DataConfig(spec="digits", resolution=resolution))
    batch = _all(ds)
    x, y = batch["x"], batch["y"]
    assert x.shape == (1347, 1, resolution, resolution) and x.dtype == torch.float32
    assert y.shape == (1347,) and y.dtype == torch.int64
    assert x.min() >= -1 and x.max() <= 1
    # both ends of the range are used: background is -1, full ink reaches 1
    assert x.min() == -1 and x.max() > 0.9
    assert ds.info.shape == (1, resolution, resolution) and ds.info.kind == "image"
    assert ds.info.num_classes == 10 and ds.info.class_names == tuple("0123456789")
    assert sorted(y.unique().tolist()) == list(range(10))


def test_digits_native_resolution_is_8() -> None:
    assert build_dataset(DataConfig(spec="digits")).info.shape == (1, 8, 8)


def _row_keys(x: torch.Tensor, y: torch.Tensor) -> list[tuple]:
    return [(label, *row) for label, row in zip(y.tolist(), x.flatten(1).tolist(), strict=True)]


def test_digits_split_is_a_75_25_partition() -> None:
    train, test, full = (
        _all(build_dataset(DataConfig(spec="digits", split=s))) for s in ("train", "test", "all")
    )
    assert (len(train["x"]), len(test["x"]), len(full["x"])) == (1347, 450, 1797)
    tr, te, al = (_row_keys(b["x"], b["y"]) for b in (train, test, full))
    assert len(set(al)) == 1797  # the 1,797 digits are distinct images
    assert not set(tr) & set(te)
    assert sorted(tr + te) == sorted(al)
    # stratified: every class is split about 3:1
    ratio = torch.bincount(train["y"]).double() / torch.bincount(test["y"]).double()
    torch.testing.assert_close(ratio, torch.full_like(ratio, 3.0), rtol=0.1, atol=0)


# --- stacked digits ----------------------------------------------------------------------------


def test_stacked_digits_channels_are_the_labelled_digits() -> None:
    base = _all(build_dataset(DataConfig(spec="digits", split="train")))
    label_of = {
        tuple(img.flatten().tolist()): int(d) for img, d in zip(base["x"], base["y"], strict=True)
    }
    ds = build_dataset(DataConfig(spec="stacked-digits", size=300, seed=5))
    batch = _all(ds)
    x, y = batch["x"], batch["y"]
    assert x.shape == (300, 3, 8, 8) and y.shape == (300,)
    assert ds.info.shape == (3, 8, 8) and ds.info.num_classes == 1000
    assert x.min() >= -1 and x.max() <= 1
    for c in range(3):
        digit = torch.tensor([label_of[tuple(img.flatten().tolist())] for img in x[:, c]])
        torch.testing.assert_close((y // 10 ** (2 - c)) % 10, digit)
    assert y.min() >= 0 and y.max() < 1000
    assert len(y.unique()) > 200  # 300 draws from 1,000 modes: ~260 distinct expected


def test_stacked_digits_is_deterministic_and_seeded() -> None:
    def draw(**kw) -> dict[str, torch.Tensor]:
        return _all(build_dataset(DataConfig(spec="stacked-digits", size=64, **kw)))

    a, b, c = draw(seed=1), draw(seed=1), draw(seed=2)
    torch.testing.assert_close(a["x"], b["x"], rtol=0, atol=0)
    torch.testing.assert_close(a["y"], b["y"], rtol=0, atol=0)
    assert not torch.equal(a["y"], c["y"])
    assert draw(resolution=16)["x"].shape == (64, 3, 16, 16)


# --- folder:PATH -------------------------------------------------------------------------------

BLUE, RED = (0, 0, 255), (255, 0, 0)


def _save(path: Path, img: Image.Image) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _striped(width: int = 150, height: int = 30) -> Image.Image:
    """Left and right thirds red, centre third blue: a centre crop is all blue."""
    img = Image.new("RGB", (width, height), RED)
    img.paste(Image.new("RGB", (width // 3, height), BLUE), (width // 3, 0))
    return img


def _mixed_folder(root: Path) -> Path:
    _save(root / "a.png", Image.new("RGB", (40, 30), (10, 200, 30)))
    _save(root / "sub" / "b.png", Image.new("L", (20, 20), 128))
    _save(root / "sub" / "deeper" / "c.PNG", Image.new("RGBA", (30, 50), (0, 0, 0, 0)))
    _save(root / "d.jpg", Image.new("RGB", (64, 48), (250, 250, 250)))
    _save(root / "e_wide.png", _striped())
    (root / "notes.txt").write_text("not an image")
    return root


def _folder(root: Path, resolution: int = 16, channels: int = 3):
    return build_dataset(
        DataConfig(spec=f"folder:{root}", resolution=resolution, channels=channels)
    )


def test_folder_shapes_range_and_centre_crop(tmp_path: Path) -> None:
    ds = _folder(_mixed_folder(tmp_path))
    batch = _all(ds)
    x = batch["x"]
    assert x.shape == (5, 3, 16, 16) and x.dtype == torch.float32
    assert "y" not in batch and ds.info.num_classes == 0 and ds.info.class_names == ()
    assert ds.info.shape == (3, 16, 16) and ds.info.kind == "image"
    assert x.min() >= -1 and x.max() <= 1
    # sorted order: a.png, d.jpg, e_wide.png, sub/b.png, sub/deeper/c.PNG
    blue = torch.tensor([-1.0, -1.0, 1.0])[:, None, None].expand(3, 16, 16)
    torch.testing.assert_close(x[2], blue, rtol=0, atol=2 / 127.5)
    solid = torch.tensor([10, 200, 30]) / 127.5 - 1
    torch.testing.assert_close(x[0], solid[:, None, None].expand(3, 16, 16), rtol=0, atol=1e-6)
    torch.testing.assert_close(x[3], torch.full((3, 16, 16), 128 / 127.5 - 1), rtol=0, atol=1e-6)
    # fully transparent black: composited over white, not shown as the black it hides
    torch.testing.assert_close(x[4], torch.full((3, 16, 16), 1.0), rtol=0, atol=0)


def test_folder_grayscale_and_default_resolution(tmp_path: Path) -> None:
    root = _mixed_folder(tmp_path)
    x = _all(_folder(root, resolution=12, channels=1))["x"]
    assert x.shape == (5, 1, 12, 12)
    assert x.min() >= -1 and x.max() <= 1
    ds = build_dataset(DataConfig(spec=f"folder:{root}"))
    assert ds.info.shape == (3, 64, 64)


def test_folder_skips_corrupt_files_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another test may have run the CLI, which stops "gankit" propagating to caplog's handler
    monkeypatch.setattr(logging.getLogger("gankit"), "propagate", True)
    root = _mixed_folder(tmp_path)
    rng = np.random.default_rng(0)
    (root / "bad1.png").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (root / "sub" / "bad2.jpg").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    with caplog.at_level(logging.WARNING, logger="gankit"):
        ds = _folder(root)
    assert len(ds) == 5
    warnings = [r for r in caplog.records if r.name == "gankit" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 2 " in warnings[0].getMessage()


def test_folder_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(GankitError, match="no images"):
        _folder(empty)
    broken = tmp_path / "broken"
    broken.mkdir()
    for i in range(3):
        (broken / f"{i}.png").write_bytes(b"\x00garbage" * (i + 1))
    with pytest.raises(GankitError, match="none of the 3 image files"):
        _folder(broken)
    with pytest.raises(GankitError, match="no such image folder"):
        _folder(tmp_path / "missing")
    image = _save(tmp_path / "file.png", Image.new("RGB", (8, 8)))
    with pytest.raises(GankitError, match=rf"{image} is a file, not a folder.*folder:{tmp_path}$"):
        _folder(image)


def test_folder_class_subfolders_give_labels(tmp_path: Path) -> None:
    _save(tmp_path / "cats" / "1.png", Image.new("RGB", (20, 20), RED))
    _save(tmp_path / "cats" / "nested" / "2.png", Image.new("RGB", (20, 20), RED))
    _save(tmp_path / "dogs" / "1.png", Image.new("RGB", (20, 20), BLUE))
    _save(tmp_path / "ants" / "x.jpg", Image.new("RGB", (20, 20), (0, 255, 0)))
    ds = _folder(tmp_path, resolution=8)
    batch = _all(ds)
    assert ds.info.class_names == ("ants", "cats", "dogs") and ds.info.num_classes == 3
    # files sorted by path: ants/x, cats/1, cats/nested/2, dogs/1
    torch.testing.assert_close(batch["y"], torch.tensor([0, 1, 1, 2]))
    # red images are cats, blue ones dogs
    torch.testing.assert_close(batch["x"][1:3, 0].mean(), torch.tensor(1.0), rtol=0, atol=0.02)
    torch.testing.assert_close(batch["x"][3, 2].mean(), torch.tensor(1.0), rtol=0, atol=0.02)


def test_folder_labels_need_every_image_in_one_of_two_subfolders(tmp_path: Path) -> None:
    _save(tmp_path / "one" / "a.png", Image.new("RGB", (8, 8)))
    _save(tmp_path / "one" / "b.png", Image.new("RGB", (8, 8)))
    assert _folder(tmp_path, resolution=8).info.num_classes == 0  # a single subfolder
    _save(tmp_path / "two" / "c.png", Image.new("RGB", (8, 8)))
    assert _folder(tmp_path, resolution=8).info.num_classes == 2
    _save(tmp_path / "loose.png", Image.new("RGB", (8, 8)))  # one image outside the classes
    ds = _folder(tmp_path, resolution=8)
    assert ds.info.num_classes == 0 and "y" not in _all(ds)


# --- points:FILE.csv ---------------------------------------------------------------------------


def _points(path: Path) -> ArrayDataset:
    return build_dataset(DataConfig(spec=f"points:{path}"))


@pytest.mark.parametrize("header", ["", "a,b,c\n", "x, y , z\n"])
def test_points_csv_with_and_without_header(tmp_path: Path, header: str) -> None:
    path = tmp_path / "cloud.csv"
    path.write_text(header + "1,2,3\n4.5, -5 ,6e-1\n\n7,8,9\n")
    ds = _points(path)
    expected = torch.tensor([[1, 2, 3], [4.5, -5, 0.6], [7, 8, 9]])
    torch.testing.assert_close(_all(ds)["x"], expected)
    assert "y" not in _all(ds)
    assert ds.info == DataInfo("points:cloud.csv", "points", (3,))


def test_points_csv_first_data_row_is_kept(tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" starts with a byte-order mark; the first row is data, not a header
    path = tmp_path / "bom.csv"
    path.write_bytes("1,2\n3,4\n".encode("utf-8-sig"))
    torch.testing.assert_close(_all(_points(path))["x"], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    # a header after leading blank lines is still a header
    path.write_text("\n\nx,y\n1,2\n")
    torch.testing.assert_close(_all(_points(path))["x"], torch.tensor([[1.0, 2.0]]))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3\n4,5\n", r"bad\.csv:2: 2 columns, expected 3"),
        ("x,y\n1,2\n3,4,5\n", r"bad\.csv:3: 3 columns, expected 2"),
        ("1,2\n3,oops\n", r"bad\.csv:2: not a number"),
        ("x,y\n1,2\n3,\n", r"bad\.csv:3: not a number"),
        ("", "holds no rows"),
        ("x,y\n", "holds no rows"),
        ("1,2\nnan,3\n", "NaN or infinite"),
    ],
)
def test_points_csv_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(GankitError, match=message):
        _points(path)


def test_points_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match="no such points file"):
        _points(tmp_path / "nope.csv")


# --- specs -------------------------------------------------------------------------------------


def test_split_spec() -> None:
    assert split_spec("digits") == ("digits", None)
    assert split_spec("folder:~/a:b") == ("folder", "~/a:b")
    assert split_spec("points:x.csv") == ("points", "x.csv")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("digts", r"unknown dataset 'digts'; did you mean 'digits'\?"),
        ("rign8", "did you mean 'ring8'"),
        ("folder", r"needs an argument: folder:PATH"),
        ("folder:", r"needs an argument"),
        ("points", r"points:FILE\.csv"),
        ("digits:x", "takes no argument"),
        ("ring8:", "takes no argument"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(GankitError, match=message):
        build_dataset(DataConfig(spec=spec))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"resolution": 0}, "resolution"),
        ({"resolution": 5000}, "resolution"),
        ({"size": 0}, "size"),
    ],
)
def test_bad_data_values(kw: dict, message: str) -> None:
    with pytest.raises(GankitError, match=message):
        build_dataset(DataConfig(spec="ring8", **kw))


def test_data_info_round_trips_through_json() -> None:
    info = DataInfo("folder:x", "image", (3, 16, 16), 2, ("a", "b"))
    assert DataInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    assert info.resolution == 16 and DataInfo("p", "points", (2,)).resolution is None


# --- BatchStream -------------------------------------------------------------------------------


def _indexed(n: int) -> ArrayDataset:
    """Samples whose value and label are their own index."""
    return ArrayDataset(
        torch.arange(n, dtype=torch.float32)[:, None],
        torch.arange(n),
        DataInfo("idx", "points", (1,)),
    )


def _draw(stream: BatchStream, n: int) -> list[list[int]]:
    return [stream.next()["y"].tolist() for _ in range(n)]


def _flat(batches: list[list[int]]) -> list[int]:
    return list(itertools.chain.from_iterable(batches))


def test_stream_batches_have_size_and_device() -> None:
    stream = BatchStream(_indexed(50), 8, seed=0, device=torch.device("cpu"))
    batch = stream.next()
    assert batch["x"].shape == (8, 1) and batch["y"].shape == (8,)
    assert batch["x"].device == torch.device("cpu") and batch["y"].dtype == torch.int64
    torch.testing.assert_close(batch["x"][:, 0], batch["y"].float())
    assert stream.batches_per_epoch == 6  # 50 // 8, the remainder is dropped


def test_stream_epochs_visit_each_index_at_most_once() -> None:
    stream = BatchStream(_indexed(50), 8, seed=0)
    epochs = [_flat(_draw(stream, 6)) for _ in range(3)]
    for epoch in epochs:
        assert len(epoch) == 48 and len(set(epoch)) == 48
        assert set(epoch) <= set(range(50))
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    assert epochs[0] != sorted(epochs[0])  # shuffled at all


def test_stream_order_depends_on_seed_only() -> None:
    a = _draw(BatchStream(_indexed(50), 8, seed=1), 10)
    b = _draw(BatchStream(_indexed(50), 8, seed=1), 10)
    c = _draw(BatchStream(_indexed(50), 8, seed=2), 10)
    assert a == b and a != c


@pytest.mark.parametrize("k", [0, 2, 6, 7, 13])
def test_stream_resumes_exactly(k: int) -> None:
    stream = BatchStream(_indexed(50), 8, seed=3)
    _draw(stream, k)
    state = json.loads(json.dumps(stream.state_dict()))  # checkpoints store it as JSON
    expected = _draw(stream, 9)
    fresh = BatchStream(_indexed(50), 8, seed=3)
    _draw(fresh, 4)  # loading replaces whatever the stream had done
    fresh.load_state_dict(state)
    assert _draw(fresh, 9) == expected


@pytest.mark.parametrize("n", [40, 41])
def test_stream_shards_are_disjoint(n: int) -> None:
    ranks = [BatchStream(_indexed(n), 4, seed=0, rank=r, world_size=2) for r in range(2)]
    assert [s.batches_per_epoch for s in ranks] == [5, 5]
    for _ in range(3):  # epochs
        shards = [set(_flat(_draw(s, 5))) for s in ranks]
        assert len(shards[0]) == len(shards[1]) == 20
        assert not shards[0] & shards[1]


def test_stream_needs_one_full_batch() -> None:
    with pytest.raises(GankitError, match="fewer than one batch"):
        BatchStream(_indexed(7), 8)
    with pytest.raises(GankitError, match="fewer than one batch"):
        BatchStream(_indexed(15), 8, rank=1, world_size=2)
    BatchStream(_indexed(8), 8).next()  # exactly one batch is enough
