"""The standard datasets (MNIST, Fashion-MNIST, CIFAR-10/100, CelebA, stacked MNIST), read from
tiny copies written here in their real on-disk formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import (
    STANDARD_SETS,
    DataConfig,
    build_dataset,
    cifar,
    expected_files,
    find_standard,
    spec_usage,
    split_spec,
    standard,
    standard_status,
)
from gankit.data.idx import BadIdxFile, write_idx
from gankit.data.mnist import FASHION_CLASSES
from gankit.data.standard import DatasetMissing, grey, prepare_images
from gankit.errors import GankitError

IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
IDX_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CELEBA_ATTRIBUTES = (  # the 40 of list_attr_celeba.txt, in its order
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
)
SMILING = CELEBA_ATTRIBUTES.index("Smiling")


@pytest.fixture(autouse=True)
def _no_ambient_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing outside tmp_path is looked in: HOME moved, $GANKIT_DATA and $XDG_CACHE_HOME unset."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANKIT_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)


# --- writing copies in the real formats --------------------------------------------------------


def mnist_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


def write_mnist(folder: Path, *, n_train: int = 20, n_test: int = 10, gz: bool = True) -> dict:
    """The four IDX files (gzipped or not); returns the arrays written, by part."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    out = {}
    for part, names, n in (("train", IDX, n_train), ("test", IDX_TEST, n_test)):
        images, labels = mnist_arrays(n, seed=n)
        write_idx(folder / f"{names[0]}{suffix}", images)
        write_idx(folder / f"{names[1]}{suffix}", labels)
        out[part] = (images, labels)
    return out


@pytest.fixture
def small_cifar(monkeypatch: pytest.MonkeyPatch) -> int:
    """CIFAR files of 6 records each (the official counts are tested apart)."""
    monkeypatch.setattr(cifar, "RECORDS", dict.fromkeys(cifar.RECORDS, 6))
    return 6


def cifar_records(n: int, label_bytes: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(the file's bytes, images [n, 3, 32, 32], labels [n, label_bytes])."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    # the last label byte is the one used: CIFAR-10's 10 classes, CIFAR-100's 100 fine ones
    moduli = (10,) if label_bytes == 1 else (20, 100)
    labels = np.stack([(np.arange(n) * (k + 3) + seed) % m for k, m in enumerate(moduli)], 1)
    labels = labels.astype(np.uint8)
    blob = np.concatenate([labels, images.reshape(n, -1)], 1).tobytes()
    return blob, images, labels


def write_cifar10(folder: Path, n: int, sub: str = "cifar-10-batches-bin") -> dict:
    root = folder / sub
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for seed, name in enumerate([f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]):
        blob, images, labels = cifar_records(n, 1, seed)
        (root / name).write_bytes(blob)
        out[name] = (images, labels[:, 0])
    names = [
        *("airplane", "automobile", "bird", "cat", "deer"),
        *("dog", "frog", "horse", "ship", "truck"),
    ]
    (root / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    return out


def write_cifar100(folder: Path, n: int) -> dict:
    root = folder / "cifar-100-binary"
    root.mkdir(parents=True)
    out = {}
    for seed, name in enumerate(("train.bin", "test.bin")):
        blob, images, labels = cifar_records(n, 2, seed)
        (root / name).write_bytes(blob)
        out[name] = (images, labels)
    (root / "fine_label_names.txt").write_text("\n".join(f"fine{i}" for i in range(100)) + "\n")
    (root / "coarse_label_names.txt").write_text("\n".join(f"coarse{i}" for i in range(20)))
    return out


CELEBA_PARTS = (0, 0, 0, 1, 2, 2)


def write_celeba(folder: Path) -> np.ndarray:
    """Six 178×218 JPEGs: blue in the central 178×178 square, red in the 20 rows above and
    below it (which the crop removes); returns the [6, 40] attributes (-1 or 1) written."""
    images = folder / "img_align_celeba"
    images.mkdir(parents=True)
    array = np.zeros((218, 178, 3), np.uint8)
    array[:20, :, 0] = array[198:, :, 0] = 255
    array[20:198, :, 2] = 255
    rng = np.random.default_rng(0)
    attrs = rng.choice([-1, 1], (len(CELEBA_PARTS), 40))
    for i in range(len(CELEBA_PARTS)):
        Image.fromarray(array).save(images / f"{i + 1:06d}.jpg", quality=95)
    names = [f"{i + 1:06d}.jpg" for i in range(len(CELEBA_PARTS))]
    partition = "".join(f"{n} {p}\n" for n, p in zip(names, CELEBA_PARTS))
    (folder / "list_eval_partition.txt").write_text(partition)
    rows = [f"{n} " + " ".join(f"{v:2d}" for v in a) for n, a in zip(names, attrs)]
    header = f"{len(names)}\n" + " ".join(CELEBA_ATTRIBUTES) + " \n"
    (folder / "list_attr_celeba.txt").write_text(header + "\n".join(rows) + "\n")
    return attrs


def _all(ds) -> dict[str, torch.Tensor]:
    return ds.batch(torch.arange(len(ds)))


# --- specs and the public helpers --------------------------------------------------------------


def test_standard_specs_take_an_optional_path() -> None:
    for name in STANDARD_SETS:
        assert split_spec(name) == (name, None)
        assert split_spec(f"{name}:/data/x:y") == (name, "/data/x:y")
        assert spec_usage(name) == f"{name}[:PATH]"
    assert spec_usage("folder") == "folder:PATH" and spec_usage("digits") == "digits"
    with pytest.raises(GankitError, match=r"after the colon: mnist\[:PATH\]"):
        split_spec("mnist:")
    with pytest.raises(GankitError, match="needs an argument: folder:PATH"):
        split_spec("folder")


def test_expected_files_are_what_find_standard_accepts(tmp_path: Path) -> None:
    for name in STANDARD_SETS:
        folder = tmp_path / name
        for rel in expected_files(name):
            path = folder / rel
            if rel.endswith("/"):
                path.mkdir(parents=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"")
        found = find_standard(name, str(folder))
        assert found is not None and found.is_relative_to(folder), name
    assert expected_files("mnist")[0] == "train-images-idx3-ubyte.gz"
    assert "cifar-10-batches-bin/test_batch.bin" in expected_files("cifar10")


# --- MNIST and Fashion-MNIST -------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_splits_from_idx_files(tmp_path: Path, gz: bool) -> None:
    written = write_mnist(tmp_path / "m", gz=gz)
    spec = f"mnist:{tmp_path / 'm'}"
    for split, n in (("train", 20), ("test", 10), ("all", 30)):
        ds = build_dataset(DataConfig(spec=spec, split=split))
        assert len(ds) == n and ds.x.dtype == torch.uint8 and ds.x.shape == (n, 1, 28, 28)
        assert ds.info.shape == (1, 28, 28) and ds.info.num_classes == 10
        assert ds.info.class_names == tuple("0123456789")
        batch = _all(ds)
        assert batch["x"].dtype == torch.float32 and batch["y"].dtype == torch.int64
        assert -1 <= batch["x"].min() < -0.99 and 0.99 < batch["x"].max() <= 1
    parts = [written["train"], written["test"]]
    images = torch.from_numpy(np.concatenate([p[0] for p in parts]))[:, None]
    labels = torch.from_numpy(np.concatenate([p[1] for p in parts])).long()
    torch.testing.assert_close(batch["x"], images.float() / 127.5 - 1, rtol=0, atol=1e-6)
    torch.testing.assert_close(batch["y"], labels, rtol=0, atol=0)


def test_fashion_mnist_class_names_and_end_to_end(tmp_path: Path) -> None:
    write_mnist(tmp_path / "f", gz=False)
    ds = build_dataset(DataConfig(spec=f"fashion-mnist:{tmp_path / 'f'}", split="test"))
    assert len(ds) == 10 and ds.info.name == "fashion-mnist"
    assert ds.info.class_names == FASHION_CLASSES and FASHION_CLASSES[9] == "Ankle boot"
    assert ds[3]["x"].shape == (1, 28, 28) and int(ds[3]["y"]) == 3


def test_mnist_resolution_change_keeps_uint8(tmp_path: Path) -> None:
    write_mnist(tmp_path / "m")
    ds = build_dataset(DataConfig(spec=f"mnist:{tmp_path / 'm'}", resolution=32, channels=3))
    assert ds.x.dtype == torch.uint8 and ds.x.shape == (20, 1, 32, 32)  # MNIST stays grey
    assert ds.info.shape == (1, 32, 32)


def test_truncated_idx_file_is_named(tmp_path: Path) -> None:
    write_mnist(tmp_path / "plain", gz=False)
    path = tmp_path / "plain" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(BadIdxFile, match=f"{path}.*truncated"):
        build_dataset(DataConfig(spec=f"mnist:{tmp_path / 'plain'}", split="test"))
    write_mnist(tmp_path / "gz")
    path = tmp_path / "gz" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])  # a cut-off gzip stream
    with pytest.raises(BadIdxFile, match=f"{path}"):
        build_dataset(DataConfig(spec=f"mnist:{tmp_path / 'gz'}"))


def test_idx_labels_not_matching_images_are_refused(tmp_path: Path) -> None:
    write_mnist(tmp_path / "m", gz=False)
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte", np.zeros(19, np.uint8))
    with pytest.raises(BadIdxFile, match="19 uint8 labels for the 20 images"):
        build_dataset(DataConfig(spec=f"mnist:{tmp_path / 'm'}"))


# --- where they are looked for -----------------------------------------------------------------


def test_lookup_order_path_then_gankit_data_then_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_mnist(tmp_path / "given", n_train=11)
    write_mnist(tmp_path / "env" / "mnist", n_train=12)
    write_mnist(tmp_path / "home" / ".cache" / "gankit" / "datasets" / "mnist", n_train=13)
    write_mnist(tmp_path / "xdg" / "gankit" / "datasets" / "mnist", n_train=14)

    def size(spec: str) -> int:
        return len(build_dataset(DataConfig(spec=spec)))

    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "env"))
    assert size(f"mnist:{tmp_path / 'given'}") == 11  # the PATH, whatever else exists
    assert size("mnist") == 12
    assert find_standard("mnist") == tmp_path / "env" / "mnist"
    monkeypatch.delenv("GANKIT_DATA")
    assert size("mnist") == 13  # ~/.cache
    cache = tmp_path / "home" / ".cache" / "gankit" / "datasets" / "mnist"
    assert standard_status("mnist") == f"present: {cache}"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert size("mnist") == 14
    assert size("stacked-mnist") == 60_000  # the same places, MNIST's files
    assert standard_status("fashion-mnist") == "not present (gankit data fetch fashion-mnist)"
    assert standard_status("stacked-mnist").startswith("present: ")


def test_a_given_path_is_the_only_place_looked(tmp_path: Path) -> None:
    write_mnist(tmp_path / "home" / ".cache" / "gankit" / "datasets" / "mnist")
    assert find_standard("mnist", str(tmp_path / "nowhere")) is None
    with pytest.raises(DatasetMissing) as err:
        build_dataset(DataConfig(spec=f"mnist:{tmp_path / 'nowhere'}"))
    message = str(err.value)
    assert f"{tmp_path / 'nowhere'}: does not exist" in message
    assert f"gankit data fetch mnist --to {tmp_path / 'nowhere'}" in message
    assert ".cache" not in message


def test_missing_dataset_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    partial = tmp_path / "env" / "mnist"
    write_mnist(partial)
    (partial / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "env"))
    assert find_standard("mnist") is None  # never raises for absence
    with pytest.raises(DatasetMissing) as err:
        build_dataset(DataConfig(spec="mnist"))
    message = str(err.value)
    for name in IDX + IDX_TEST:
        assert f"{name}[.gz]" in message
    assert (
        f"{partial}: has train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz but not t10k-labels-idx1-ubyte[.gz]"
    ) in message
    cache = tmp_path / "home" / ".cache" / "gankit" / "datasets" / "mnist"
    assert f"{cache}: does not exist" in message
    assert "`gankit data fetch mnist`" in message and "mnist:PATH" in message
    assert message.count("\n") < 8  # one message, a few lines


def test_missing_stacked_mnist_names_mnist(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing, match=r"reads MNIST's files.*gankit data fetch mnist`"):
        build_dataset(DataConfig(spec="stacked-mnist"))


def test_cifar_missing_lists_subfolder_and_archive(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "cifar-10-binary.tar.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(DatasetMissing) as err:
        build_dataset(DataConfig(spec=f"cifar10:{tmp_path / 'c'}"))
    message = str(err.value)
    assert "in cifar-10-batches-bin/ or directly in the folder" in message
    assert "data_batch_5.bin" in message and "batches.meta.txt" in message
    assert "holds cifar-10-binary.tar.gz, not extracted" in message


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("cifar10", "cifar-10-batches-py/data_batch_1"),
        ("cifar10", "data_batch_1"),  # the pickle files straight in the folder
        ("cifar100", "cifar-100-python/train"),
    ],
)
def test_the_pickle_distribution_is_refused(tmp_path: Path, name: str, layout: str) -> None:
    path = tmp_path / "d" / layout
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x80\x02}q\x00.")  # a pickle: never opened
    with pytest.raises(DatasetMissing) as err:
        build_dataset(DataConfig(spec=f"{name}:{tmp_path / 'd'}"))
    message = str(err.value)
    assert "pickle version" in message and "never unpickles" in message
    archive = "cifar-10-binary.tar.gz" if name == "cifar10" else "cifar-100-binary.tar.gz"
    assert archive in message and "https://www.cs.toronto.edu/~kriz/cifar.html" in message
    assert f"gankit data fetch {name} --to {tmp_path / 'd'}" in message


# --- CIFAR -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sub", ["cifar-10-batches-bin", ""])
def test_cifar10_binary_batches(tmp_path: Path, small_cifar: int, sub: str) -> None:
    written = write_cifar10(tmp_path / "c", small_cifar, sub)
    spec = f"cifar10:{tmp_path / 'c'}"
    train = build_dataset(DataConfig(spec=spec))
    test = build_dataset(DataConfig(spec=spec, split="test"))
    every = build_dataset(DataConfig(spec=spec, split="all"))
    assert (len(train), len(test), len(every)) == (30, 6, 36)
    assert train.x.dtype == torch.uint8 and train.x.shape == (30, 3, 32, 32)
    assert train.info.shape == (3, 32, 32) and train.info.num_classes == 10
    assert train.info.class_names[0] == "airplane" and len(train.info.class_names) == 10
    order = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    images = np.concatenate([written[n][0] for n in order])
    labels = np.concatenate([written[n][1] for n in order])
    torch.testing.assert_close(every.x, torch.from_numpy(images), rtol=0, atol=0)
    batch = _all(every)
    torch.testing.assert_close(batch["y"], torch.from_numpy(labels).long(), rtol=0, atol=0)
    assert batch["x"].min() >= -1 and batch["x"].max() <= 1 and batch["y"].dtype == torch.int64


def test_cifar100_uses_the_fine_labels(tmp_path: Path, small_cifar: int) -> None:
    written = write_cifar100(tmp_path / "c", small_cifar)
    ds = build_dataset(DataConfig(spec=f"cifar100:{tmp_path / 'c'}", split="test"))
    images, labels = written["test.bin"]
    assert ds.info.num_classes == 100 and ds.info.class_names[:2] == ("fine0", "fine1")
    torch.testing.assert_close(ds.y, torch.from_numpy(labels[:, 1]).long(), rtol=0, atol=0)
    torch.testing.assert_close(ds.x, torch.from_numpy(images), rtol=0, atol=0)


def test_cifar_file_of_the_wrong_size(tmp_path: Path, small_cifar: int) -> None:
    write_cifar10(tmp_path / "c", small_cifar)
    path = tmp_path / "c" / "cifar-10-batches-bin" / "data_batch_3.bin"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(cifar.BadCifarFile) as err:
        build_dataset(DataConfig(spec=f"cifar10:{tmp_path / 'c'}"))
    assert f"{path} holds 18,439 bytes, not a whole number of 3,073-byte records" in str(err.value)
    assert "6 records of 3,073 bytes = 18,438 bytes" in str(err.value)


def test_cifar_file_short_of_the_official_record_count(tmp_path: Path) -> None:
    root = tmp_path / "c" / "cifar-10-batches-bin"
    write_cifar10(tmp_path / "c", 4)  # RECORDS keeps the official counts here
    with pytest.raises(cifar.BadCifarFile) as err:
        build_dataset(DataConfig(spec=f"cifar10:{tmp_path / 'c'}", split="test"))
    assert f"{root / 'test_batch.bin'} holds 12,292 bytes;" in str(err.value)
    assert "10,000 records of 3,073 bytes = 30,730,000 bytes" in str(err.value)


def test_cifar_grey_and_resized(tmp_path: Path, small_cifar: int) -> None:
    write_cifar10(tmp_path / "c", small_cifar)
    spec = f"cifar10:{tmp_path / 'c'}"
    colour = build_dataset(DataConfig(spec=spec, split="test"))
    grey_ds = build_dataset(DataConfig(spec=spec, split="test", channels=1))
    assert grey_ds.x.shape == (6, 1, 32, 32) and grey_ds.info.shape == (1, 32, 32)
    pil = [np.asarray(Image.fromarray(im.permute(1, 2, 0).numpy()).convert("L")) for im in colour.x]
    torch.testing.assert_close(grey_ds.x[:, 0], torch.from_numpy(np.stack(pil)), rtol=0, atol=0)
    small = build_dataset(DataConfig(spec=spec, split="test", resolution=16))
    assert small.x.dtype == torch.uint8 and small.x.shape == (6, 3, 16, 16)
    # halving by an antialiased bilinear filter: each pixel is near the mean of its 2×2 block
    means = colour.x.float().unflatten(2, (16, 2)).unflatten(4, (16, 2)).mean((3, 5))
    assert (small.x.float() - means).abs().mean() < 20


def test_prepare_images_in_chunks_equals_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randint(0, 256, (11, 3, 20, 20), dtype=torch.uint8)
    whole = prepare_images(x, channels=1, resolution=12)
    monkeypatch.setattr(standard, "CHUNK", 3)
    torch.testing.assert_close(prepare_images(x, channels=1, resolution=12), whole, rtol=0, atol=0)
    assert whole.dtype == torch.uint8 and whole.shape == (11, 1, 12, 12)
    assert prepare_images(x, channels=3, resolution=20) is x
    torch.testing.assert_close(
        grey(torch.full((1, 3, 1, 1), 200, dtype=torch.uint8)).flatten(),
        torch.tensor([200], dtype=torch.uint8),
        rtol=0,
        atol=0,
    )


# --- CelebA ------------------------------------------------------------------------------------


def test_celeba_lazy_splits_and_crop(tmp_path: Path) -> None:
    write_celeba(tmp_path / "celeba")
    spec = f"celeba:{tmp_path / 'celeba'}"
    train = build_dataset(DataConfig(spec=spec))
    assert len(train) == 3 and train.info.shape == (3, 64, 64) and train.info.num_classes == 0
    assert len(build_dataset(DataConfig(spec=spec, split="test"))) == 2
    every = build_dataset(DataConfig(spec=spec, split="all"))
    assert len(every) == 6
    batch = _all(every)
    assert set(batch) == {"x"} and batch["x"].shape == (6, 3, 64, 64)
    x = batch["x"]
    assert x.min() >= -1 and x.max() <= 1
    # the crop keeps the blue square only: no red from the 20 rows above and below it
    assert (x[:, 0] < -0.8).all() and (x[:, 2] > 0.8).all()
    grey32 = build_dataset(DataConfig(spec=spec, resolution=32, channels=1))
    assert grey32.info.shape == (1, 32, 32) and grey32[0]["x"].shape == (1, 32, 32)


def test_celeba_attribute_labels(tmp_path: Path) -> None:
    attrs = write_celeba(tmp_path / "celeba")
    spec = f"celeba:{tmp_path / 'celeba'}"
    ds = build_dataset(DataConfig(spec=spec, split="all", attribute="Smiling"))
    assert ds.info.num_classes == 2 and ds.info.class_names == ("not Smiling", "Smiling")
    expected = torch.from_numpy(attrs[:, SMILING] == 1).long()
    torch.testing.assert_close(_all(ds)["y"], expected, rtol=0, atol=0)
    test = build_dataset(DataConfig(spec=spec, split="test", attribute="eyeglasses"))
    assert test.info.class_names == ("not Eyeglasses", "Eyeglasses")
    eyeglasses = CELEBA_ATTRIBUTES.index("Eyeglasses")
    assert _all(test)["y"].tolist() == [int(a == 1) for a in attrs[4:, eyeglasses]]


def test_celeba_unknown_attribute(tmp_path: Path) -> None:
    write_celeba(tmp_path / "celeba")
    with pytest.raises(GankitError) as err:
        build_dataset(DataConfig(spec=f"celeba:{tmp_path / 'celeba'}", attribute="Smilling"))
    message = str(err.value)
    assert "unknown CelebA attribute 'Smilling'; did you mean 'Smiling'?" in message
    assert all(name in message for name in CELEBA_ATTRIBUTES)


def test_attribute_refused_for_other_datasets(tmp_path: Path) -> None:
    write_mnist(tmp_path / "m")
    with pytest.raises(GankitError, match="applies to: celeba"):
        build_dataset(DataConfig(spec=f"mnist:{tmp_path / 'm'}", attribute="Smiling"))


def test_celeba_without_its_partition_file(tmp_path: Path) -> None:
    write_celeba(tmp_path / "celeba")
    (tmp_path / "celeba" / "list_eval_partition.txt").unlink()
    with pytest.raises(DatasetMissing, match=r"but not list_eval_partition\.txt"):
        build_dataset(DataConfig(spec=f"celeba:{tmp_path / 'celeba'}"))


def test_celeba_image_listed_but_absent(tmp_path: Path) -> None:
    write_celeba(tmp_path / "celeba")
    gone = tmp_path / "celeba" / "img_align_celeba" / "000002.jpg"
    gone.unlink()
    with pytest.raises(GankitError, match=f"1 of the 3 images .* \\(first: {gone}\\)"):
        build_dataset(DataConfig(spec=f"celeba:{tmp_path / 'celeba'}"))
    build_dataset(DataConfig(spec=f"celeba:{tmp_path / 'celeba'}", split="test"))  # not needed


def test_celeba_bad_partition_line(tmp_path: Path) -> None:
    write_celeba(tmp_path / "celeba")
    path = tmp_path / "celeba" / "list_eval_partition.txt"
    path.write_text(path.read_text() + "000007.jpg 5\n")
    with pytest.raises(GankitError, match=f"{path}, line 7"):
        build_dataset(DataConfig(spec=f"celeba:{tmp_path / 'celeba'}"))


# --- stacked MNIST -----------------------------------------------------------------------------


def test_stacked_mnist_triples(tmp_path: Path) -> None:
    written = write_mnist(tmp_path / "m")
    spec = f"stacked-mnist:{tmp_path / 'm'}"
    ds = build_dataset(DataConfig(spec=spec, size=500, seed=3))
    assert len(ds) == 500 and ds.info.shape == (3, 28, 28) and ds.info.num_classes == 1000
    assert ds.info.class_names[123] == "123"
    batch = _all(ds)
    assert batch["x"].shape == (500, 3, 28, 28) and batch["x"].dtype == torch.float32
    images = torch.from_numpy(written["train"][0]).float() / 127.5 - 1
    labels = torch.from_numpy(written["train"][1]).long()
    t = ds.triples
    torch.testing.assert_close(batch["x"], images[t], rtol=0, atol=1e-6)
    digits = labels[t]
    expected = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
    torch.testing.assert_close(batch["y"], expected, rtol=0, atol=0)
    again = build_dataset(DataConfig(spec=spec, size=500, seed=3))
    assert torch.equal(again.triples, ds.triples)
    assert not torch.equal(build_dataset(DataConfig(spec=spec, size=500)).triples, ds.triples)
    assert len(build_dataset(DataConfig(spec=spec))) == 60_000
    assert len(build_dataset(DataConfig(spec=spec, split="test"))) == 10_000
    test = build_dataset(DataConfig(spec=spec, split="test", size=50, resolution=32))
    assert int(test.triples.max()) < 10 and _all(test)["x"].shape == (50, 3, 32, 32)


def test_gzip_reader_is_used_not_guessed(tmp_path: Path) -> None:
    """A `.gz` name holding plain bytes is a damaged file, named."""
    write_mnist(tmp_path / "m", gz=False)
    plain = tmp_path / "m" / "t10k-labels-idx1-ubyte"
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").write_bytes(plain.read_bytes())
    plain.unlink()
    with pytest.raises(BadIdxFile, match=r"t10k-labels-idx1-ubyte\.gz"):
        build_dataset(DataConfig(spec=f"mnist:{tmp_path / 'm'}", split="test"))
