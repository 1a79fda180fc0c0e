"""`gankit fid A B` and `gankit eval --features`: metrics on any images, cached real features."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.errors import GankitError
from gankit.metrics import evaluate, frechet_distance
from gankit.metrics import features as features_module
from gankit.metrics.compare import _folder_batches, compare
from gankit.metrics.inception import FIDInceptionV3
from gankit.training.trainer import Trainer

from ..conftest import Tiny, tiny_config

# the modules (the package exports functions of the same names)
compare_module = importlib.import_module("gankit.metrics.compare")
evaluate_module = importlib.import_module("gankit.metrics.evaluate")


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory) -> Path:
    """Inception weights of the right architecture but random values: the code path of the
    real file (which is not downloaded in tests) with numbers that mean nothing."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "random_inception.pth"
    torch.save(FIDInceptionV3().state_dict(), path)
    return path


def _write_images(folder: Path, count: int, seed: int, size: int = 24) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        array = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        paths.append(folder / f"img{i:03d}.png")
        Image.fromarray(array).save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("fid") / "run"
    tiny = Tiny("digits", ("model.g_channels=4", "model.d_channels=4"), resolution=16)
    Trainer(tiny_config("dcgan", tiny, steps=2), run_dir=run).fit()
    return run


def test_fid_between_folders_with_inception(tmp_path, random_inception, capsys) -> None:
    _write_images(tmp_path / "a", 10, seed=1)
    _write_images(tmp_path / "b", 10, seed=2)
    feats = tmp_path / "feats"
    argv = ["fid", str(tmp_path / "a"), str(tmp_path / "b"), "--inception", str(random_inception)]
    assert main([*argv, "--json", "--save-features", str(feats)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["features"] == "inception-v3" and out["comparable"] is False
    assert (out["n_a"], out["n_b"]) == (10, 10)
    for key in ("fid", "kid", "is_a", "is_b", "precision", "recall", "density", "coverage"):
        assert np.isfinite(out[key]), key
    a, b = np.load(feats / "a.npy"), np.load(feats / "b.npy")
    assert a.shape == b.shape == (10, 2048) and a.dtype == np.float32
    assert out["fid"] == pytest.approx(frechet_distance(a, b), rel=1e-5)
    # rows in sorted file-name order: row 3 holds img003.png's features
    ex = features_module.inception_extractor(random_inception)
    pixels = torch.from_numpy(np.array(Image.open(tmp_path / "a" / "img003.png")))
    one = ex.run(pixels.permute(2, 0, 1)[None].float() / 127.5 - 1)[0]
    np.testing.assert_allclose(a[3], one[0].numpy(), rtol=1e-5, atol=1e-6)


def test_a_folder_against_itself_scores_zero(tmp_path, random_inception) -> None:
    _write_images(tmp_path / "a", 6, seed=3)
    out = compare(str(tmp_path / "a"), str(tmp_path / "a"), inception=str(random_inception))
    assert out["fid"] == pytest.approx(0.0, abs=1e-6)
    assert out["precision"] == out["recall"] == 1.0


def test_run_against_its_dataset_uses_the_shipped_classifier(digits_run, capsys) -> None:
    assert main(["fid", str(digits_run), "digits", "-n", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["features"] == "digits-classifier" and out["n_a"] == out["n_b"] == 200
    same = compare("digits", "digits", n=200, split="train")  # one subset on both sides
    assert same["fid"] == pytest.approx(0.0, abs=1e-6)
    assert out["fid"] > 10 * compare("digits", "digits", n=200, seed=1, split="train")["fid"]


def test_bad_sides_are_clear_errors(tmp_path, capsys) -> None:
    _write_images(tmp_path / "one", 1, seed=4)
    (tmp_path / "empty").mkdir()
    image = _write_images(tmp_path / "files", 1, seed=5)[0]
    cases = [
        ([str(tmp_path / "one"), "digits"], "holds 1 image"),
        ([str(tmp_path / "empty"), "digits"], "holds 0 images"),
        ([str(image), "digits"], "is a file"),
        ([str(tmp_path / "nowhere"), "digits"], "no such folder or run"),
        (["digitz", "digits"], "did you mean 'digits'"),
        (["ring8", "digits"], "is points data, not images"),
    ]
    for argv, message in cases:
        assert main(["fid", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)


def test_folder_batches_stream_by_size(tmp_path) -> None:
    small = _write_images(tmp_path / "f", 70, seed=6, size=8)
    big = _write_images(tmp_path / "g", 3, seed=7, size=12)
    sizes = [tuple(b.shape) for b in _folder_batches([*small, *big], 3)]
    assert sizes == [(64, 3, 8, 8), (6, 3, 8, 8), (3, 3, 12, 12)]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(GankitError, match=r"broken\.png"):
        list(_folder_batches([broken], 3))


def test_real_features_are_cached_with_provenance(tmp_path, monkeypatch, random_inception):
    folder = tmp_path / "real"
    _write_images(folder, 6, seed=8)
    run = _write_images(tmp_path / "other", 6, seed=9)[0].parent
    calls = []
    real_extract = compare_module.extract

    def counting(ex, batches, total, **kw):
        calls.append(total)
        return real_extract(ex, batches, total, **kw)

    monkeypatch.setattr(compare_module, "extract", counting)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = compare(str(run), str(folder), inception=str(random_inception))
    assert len(calls) == 2
    entries = list((tmp_path / "cache" / "gankit" / "features").iterdir())
    assert len(entries) == 2  # both folders: a folder's features are cached
    record = json.loads((entries[0] / "provenance.json").read_text())
    assert record["key"]["extractor"] == "inception-v3" and len(record["key"]["weights"]) == 64
    again = compare(str(run), str(folder), inception=str(random_inception))
    assert len(calls) == 2 and again["fid"] == first["fid"]  # both read back
    Image.new("RGB", (24, 24), "red").save(folder / "img000.png")  # the data changed
    changed = compare(str(run), str(folder), inception=str(random_inception))
    assert len(calls) == 3 and changed["fid"] != first["fid"]
    compare(str(run), str(folder), inception=str(random_inception), cache=False)
    assert len(calls) == 5


def test_eval_with_inception_features(digits_run, random_inception, tmp_path) -> None:
    handle = gankit.load(digits_run)
    out = evaluate(
        handle,
        ["fid", "is"],
        n=10,
        features="inception",
        inception=random_inception,
        save_features=tmp_path / "f",
    )
    assert out["features"] == "inception-v3" and out["comparable"] is False
    assert np.isfinite(out["fid"]) and 1.0 <= out["is"] <= 1008
    assert np.load(tmp_path / "f" / "fake.npy").shape == (10, 2048)
    assert np.load(tmp_path / "f" / "test.npy").shape == (10, 2048)
    classifier = evaluate(handle, ["fid"], n=10, features="classifier")
    assert classifier["features"] == "digits-classifier"


def test_without_a_classifier_or_weights_eval_says_how_to_get_them(tmp_path) -> None:
    folder = tmp_path / "pics"
    _write_images(folder, 20, seed=10, size=16)
    tiny = Tiny(f"folder:{folder}", ("model.g_channels=4", "model.d_channels=4"), resolution=16)
    Trainer(tiny_config("dcgan", tiny, steps=1, batch_size=4), run_dir=tmp_path / "run").fit()
    handle = gankit.load(tmp_path / "run")
    with pytest.raises(GankitError, match="gankit data fetch inception") as err:
        evaluate(handle, n=10)
    assert "no offline feature extractor" in str(err.value)
    with pytest.raises(GankitError, match="no shipped classifier"):
        evaluate(handle, n=10, features="classifier")


def test_streamed_samples_equal_sampling_at_once(tmp_path) -> None:
    tiny = Tiny("digits", ("model.g_hidden=[16]", "model.d_hidden=[16]"), resolution=8)
    Trainer(tiny_config("cgan", tiny, steps=1), run_dir=tmp_path / "run").fit()
    handle = gankit.load(tmp_path / "run")
    parts = list(handle.iter_samples(23, seed=5, batch_size=10))
    assert [len(p) for p in parts] == [10, 10, 3]
    # the same latents and labels, run through G in the same batches: the same bits
    torch.testing.assert_close(
        torch.cat(parts), handle.sample(23, seed=5, batch_size=10), rtol=0, atol=0
    )
    # in other batches only BLAS's blocking differs
    torch.testing.assert_close(torch.cat(parts), handle.sample(23, seed=5), rtol=0, atol=1e-6)


def test_auto_prefers_the_shipped_classifier(monkeypatch) -> None:
    assert features_module.choose_extractor("digits").name == "digits-classifier"
    assert features_module.choose_extractor("fashion-mnist").name == "fashion-classifier"
    with pytest.raises(GankitError, match="GANKIT_INCEPTION_WEIGHTS"):
        features_module.choose_extractor("cifar10")


def test_eval_streams_samples_through_the_extractor(digits_run, monkeypatch) -> None:
    """The features of n samples are taken a batch at a time: the generated images are never
    all held at once (sample(n) is not called), and neither are the real ones."""
    handle = gankit.load(digits_run)
    seen: list[int] = []
    real_extract = features_module.extract

    def watching(ex, batches, total, **kw):
        def sizes():
            for batch in batches:
                seen.append(len(batch))
                yield batch

        return real_extract(ex, sizes(), total, **kw)

    monkeypatch.setattr(evaluate_module, "extract", watching)
    monkeypatch.setattr(handle, "sample", None)  # would fail if called
    out = evaluate(handle, ["fid"], n=1200, cache=False)
    assert np.isfinite(out["fid"])
    assert max(seen) == 500 and sum(seen) == 1200 + 450 + 1200  # fake, held-out, training
