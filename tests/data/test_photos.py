"""`photos` and its paired variants: offline, split by whole photograph, deterministic crops."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.nn.functional as F

from gankit.data import DATASETS, DataConfig, build_dataset
from gankit.data import photos as P
from gankit.errors import GankitError
from gankit.metrics.image import bicubic_upscale, psnr

STEP = 1 / 127.5  # one uint8 level in [-1, 1]


def _all(spec: str, **kw) -> dict[str, torch.Tensor]:
    ds = build_dataset(DataConfig(spec=spec, **kw))
    return ds.batch(torch.arange(len(ds)))


def test_photos_are_read_from_installed_files_without_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("photos tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    P.load_photo.cache_clear()
    sizes = {name: P.load_photo(name).shape for name in P.PHOTO_FILES}
    assert sizes == {
        "astronaut": (512, 512, 3),
        "coffee": (400, 600, 3),
        "rocket": (427, 640, 3),
        "motorcycle": (500, 741, 3),
        "chelsea": (300, 451, 3),
        "china": (427, 640, 3),
        "flower": (427, 640, 3),
    }
    assert all(P.load_photo(name).dtype.name == "uint8" for name in P.PHOTO_FILES)


def test_whole_photographs_are_split() -> None:
    train, test = set(P.SPLITS["train"]), set(P.SPLITS["test"])
    assert not train & test and train | test == set(P.PHOTO_FILES)
    assert test == {"chelsea", "china"}
    # each split's crops are cut from its own photographs, at the recorded places
    for split in ("train", "test"):
        crops = P._crops(split, 32, 40, 0)
        x = P.photo_crops(split, 32, 40, 0)
        assert crops.photo.max() < len(P.SPLITS[split])
        for i in range(0, 40, 7):
            scaled = P.photo_scales(P.SPLITS[split][crops.photo[i]], 32)[crops.scale[i]]
            t, left = crops.top[i], crops.left[i]
            expected = scaled[:, t : t + 32, left : left + 32]
            assert torch.equal(x[i], expected.flip(-1) if crops.flip[i] else expected)


def test_photos_shapes_range_and_info() -> None:
    ds = build_dataset(DataConfig(spec="photos", resolution=32, size=50))
    x = ds.batch(torch.arange(len(ds)))["x"]
    assert len(ds) == 50 and x.shape == (50, 3, 32, 32) and x.dtype == torch.float32
    assert ds.x.dtype == torch.uint8  # stored compactly
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.2
    assert ds.info.kind == "image" and ds.info.shape == (3, 32, 32) and ds.info.num_classes == 0
    assert {"photos", "photos-sr4", "photos-edges2photo", "photos-gray2color"} <= set(
        DATASETS.names()
    )


def test_default_counts_and_resolution() -> None:
    assert (P.default_count("train", 64), P.default_count("test", 64)) == (4096, 512)
    assert P.default_count("train", 16) == 4096
    assert P.default_count("train", 128) == 1024 and P.default_count("test", 128) == 128
    assert P.default_count("train", 1024) == 512 and P.default_count("test", 1024) == 64
    ds = build_dataset(DataConfig(spec="photos", split="test"))
    assert len(ds) == 512 and ds.info.shape == (3, 64, 64)


def test_crops_are_seeded_and_vary() -> None:
    def draw(**kw) -> torch.Tensor:
        return _all("photos", resolution=16, size=64, **kw)["x"]

    torch.testing.assert_close(draw(seed=1), draw(seed=1), rtol=0, atol=0)
    assert not torch.equal(draw(seed=1), draw(seed=2))
    # "all" is the training crops followed by the held-out crops
    train, test = draw(split="train"), draw(split="test")
    torch.testing.assert_close(draw(split="all"), torch.cat([train, test]), rtol=0, atol=0)
    # no two crops alike; crops come from every scale and both orientations
    assert len(torch.unique(train.flatten(1), dim=0)) == 64
    crops = P._crops("train", 16, 64, 0)
    assert set(crops.scale.tolist()) == {0, 1, 2} and 0 < crops.flip.mean() < 1


def test_photos_larger_than_a_photograph_are_enlarged() -> None:
    # chelsea's shorter side is 300: at 320 it is enlarged, so crops still exist
    levels = P.photo_scales("chelsea", 320)
    assert len(levels) == 1 and levels[0].shape == (3, 320, 481)
    x = _all("photos", split="test", resolution=320, size=3)["x"]
    assert x.shape == (3, 3, 320, 320)


def test_sr4_pairs_are_bicubic_downscales() -> None:
    ds = build_dataset(DataConfig(spec="photos-sr4", resolution=32, size=40))
    batch = ds.batch(torch.arange(len(ds)))
    lr, hr = batch["a"], batch["b"]
    assert lr.shape == (40, 3, 8, 8) and hr.shape == (40, 3, 32, 32)
    assert ds.info.kind == "paired" and ds.info.shape == (3, 8, 8)
    assert ds.info.shape_b == (3, 32, 32) and ds.info.resolution == 32
    assert ds.info.domains == ("lr", "hr")
    # B is the photos crop; A its antialiased bicubic downscale, rounded to a uint8 level
    torch.testing.assert_close(hr, _all("photos", resolution=32, size=40)["x"], rtol=0, atol=0)
    down = F.interpolate(hr, size=(8, 8), mode="bicubic", antialias=True, align_corners=False)
    torch.testing.assert_close(lr, down.clamp(-1, 1), rtol=0, atol=0.51 * STEP + 1e-6)
    # the bicubic baseline recovers most of the HR crop from it
    assert psnr(bicubic_upscale(lr, 4), hr).mean() > 20
    with pytest.raises(GankitError, match="multiple of 4"):
        build_dataset(DataConfig(spec="photos-sr4", resolution=30))


def test_edges_mark_the_photos_edges() -> None:
    batch = _all("photos-edges2photo", resolution=32, size=200)
    edges, photo = batch["a"], batch["b"]
    assert edges.shape == (200, 1, 32, 32) and photo.shape == (200, 3, 32, 32)
    assert set(edges.unique().tolist()) == {-1.0, 1.0}
    on = edges > 0
    assert 0.02 < on.float().mean() < 0.2
    # edges sit where the photo's brightness changes fastest
    grey = photo.mean(1, keepdim=True)
    gx = F.pad((grey[..., :, 1:] - grey[..., :, :-1]).abs(), (0, 1))
    gy = F.pad((grey[..., 1:, :] - grey[..., :-1, :]).abs(), (0, 0, 0, 1))
    gradient = gx + gy
    assert gradient[on].mean() > 2 * gradient[~on].mean()


def test_gray_is_the_luminance_of_the_colour_crop() -> None:
    ds = build_dataset(DataConfig(spec="photos-gray2color", resolution=16, size=30))
    batch = ds.batch(torch.arange(len(ds)))
    gray, rgb = batch["a"], batch["b"]
    assert gray.shape == (30, 1, 16, 16) and rgb.shape == (30, 3, 16, 16)
    assert ds.info.shape == (1, 16, 16) and ds.info.shape_b == (3, 16, 16)
    assert ds.info.domains == ("gray", "color")
    # the weights sum to 1, so luma in [-1, 1] is the same weighting of [-1, 1] colours
    luma = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    torch.testing.assert_close(gray, luma, rtol=0, atol=0.51 * STEP + 1e-6)
