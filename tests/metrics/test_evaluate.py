"""The shipped digits classifier and run-level evaluation (`gankit eval`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gankit
from gankit.data import DataConfig, build_dataset
from gankit.data.digits import digit_images
from gankit.errors import GankitError
from gankit.metrics import (
    applicable,
    digit_outputs,
    evaluate,
    load_digits_classifier,
    mode_coverage,
)
from gankit.metrics.classifier import classifier_card
from gankit.metrics.features import digits_extractor
from gankit.training.trainer import Trainer

from ..conftest import TINY, Tiny, tiny_config


@pytest.mark.parametrize("resolution", [8, 16, 32, 64])
def test_shipped_classifier_is_accurate_on_held_out_digits(resolution: int) -> None:
    x, y = digit_images("test", resolution)
    with torch.no_grad():
        accuracy = (load_digits_classifier()(x).argmax(1) == y).float().mean().item()
    assert accuracy >= 0.97
    assert classifier_card()["test_accuracy"][str(resolution)] == pytest.approx(accuracy, abs=0.01)


def test_digit_outputs_per_channel() -> None:
    stacked = build_dataset(DataConfig("stacked-digits", resolution=16, size=64, split="test"))
    batch = stacked.batch(torch.arange(64))
    feats, probs = digit_outputs(batch["x"])
    assert feats.shape == (64, 3 * 64) and probs.shape == (64, 3, 10)
    torch.testing.assert_close(probs.sum(-1), torch.ones(64, 3))
    digits = probs.argmax(-1)
    predicted = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    assert (predicted == batch["y"]).float().mean() > 0.95
    joint = digits_extractor().run(batch["x"])[1].double().numpy()
    assert joint.shape == (64, 1000)
    np.testing.assert_allclose(joint.sum(1), 1.0, rtol=1e-6)  # float32 softmax underneath
    np.testing.assert_array_equal(joint.argmax(1), predicted.numpy())


@pytest.mark.parametrize(("name", "modes"), [("ring8", 8), ("grid25", 25)])
def test_mode_coverage_of_real_mixture_samples(name: str, modes: int) -> None:
    real = build_dataset(DataConfig(name, size=2500, split="test")).x
    scores = mode_coverage(real, name)
    assert scores["modes"] == modes and scores["num_modes"] == modes
    # within 3σ of the mean lies 1 − exp(−9/2) = 98.9% of a 2-D isotropic Gaussian
    assert 98.0 < scores["high_quality"] < 99.6
    assert scores["kl"] < 0.01


def test_mode_coverage_of_real_stacked_digits() -> None:
    real = build_dataset(DataConfig("stacked-digits", resolution=8, size=5000, split="test"))
    scores = mode_coverage(real.batch(torch.arange(5000))["x"], "stacked-digits")
    assert scores["num_modes"] == 1000
    assert scores["modes"] >= 980  # 5,000 uniform draws miss 1000·e⁻⁵ ≈ 7 of 1,000 modes
    assert scores["kl"] < 0.2


def test_mode_coverage_sees_a_collapse() -> None:
    x, y = digit_images("test", 16)
    only_threes = x[y == 3]
    scores = mode_coverage(only_threes, "digits")
    assert scores["modes"] <= 2  # the classifier errs on at most one of the 45
    assert scores["kl"] == pytest.approx(np.log(10), abs=0.15)
    with pytest.raises(GankitError, match="mode coverage is defined"):
        mode_coverage(x, "folder:mine")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("eval") / "run"
    tiny = Tiny("digits", ("model.g_channels=4", "model.d_channels=4"), resolution=16)
    Trainer(tiny_config("dcgan", tiny, steps=2), run_dir=run).fit()
    return gankit.load(run)


def test_evaluate_digits_run(digits_run) -> None:
    assert applicable(digits_run.info) == ["fid", "kid", "prdc", "is", "modes"]
    scores = evaluate(digits_run, n=300)
    assert scores["n"] == 300 and scores["step"] == 2
    for key in ("fid", "fid_real", "kid", "kid_std", "kid_real", "is", "is_real", "precision",
                "recall", "density", "coverage", "modes", "kl"):  # fmt: skip
        assert np.isfinite(scores[key]), key
    assert scores["fid"] > 10 * scores["fid_real"]  # two steps of training are far from real
    assert scores["is_real"] > 8  # the held-out digits are confidently 10 classes
    again = evaluate(digits_run, ["fid"], n=300)
    assert again["fid"] == scores["fid"]  # the same seed gives the same numbers
    assert evaluate(digits_run, ["fid"], n=300, seed=1)["fid"] != scores["fid"]


def test_class_accuracy_and_code_purity_of_runs(tmp_path) -> None:
    """`class_acc` (conditional models) and `purity` (InfoGAN's categorical code) are listed for
    the runs they apply to, and behave as accuracies."""
    cgan = Tiny("grid25", ("model.g_hidden=[16]", "model.d_hidden=[16]"))
    Trainer(tiny_config("cgan", cgan, steps=2), run_dir=tmp_path / "cgan").fit()
    handle = gankit.load(tmp_path / "cgan")
    assert "class_acc" in applicable(handle.info, handle.model)
    acc = evaluate(handle, ["class_acc"], n=250)["class_acc"]
    assert 0.0 <= acc <= 1.0
    # a generator that puts class k exactly on mode k scores 1
    from gankit.data.points import MIXTURES

    means = torch.as_tensor(MIXTURES["grid25"].means, dtype=torch.float32)
    handle.model.generate = lambda z, y: means[y]  # type: ignore[method-assign]
    assert evaluate(handle, ["class_acc"], n=250)["class_acc"] == 1.0

    info = Tiny("digits", ("model.channels=4", "model.g_fc=16", "model.q_hidden=8"), resolution=8)
    Trainer(tiny_config("infogan", info, steps=2), run_dir=tmp_path / "info").fit()
    handle = gankit.load(tmp_path / "info")
    assert {"purity", "modes"} <= set(applicable(handle.info, handle.model))
    out = evaluate(handle, ["purity"], n=200)
    assert 0.1 <= out["purity"] <= out["purity_majority"] <= 1.0
    with pytest.raises(GankitError, match="class-conditional"):
        evaluate(handle, ["class_acc"], n=100)


@pytest.mark.parametrize(
    ("name", "tiny", "keys"),
    [
        ("srgan", TINY["srgan"], {"psnr", "ssim", "psnr_bicubic", "ssim_bicubic"}),
        ("cyclegan", TINY["cyclegan"], set()),  # digits-negative has no style classifier
        ("cogan", TINY["cogan"], {"pair_agreement"}),
    ],
)
def test_image_to_image_metrics_on_held_out_data(name: str, tiny: Tiny, keys, tmp_path) -> None:
    Trainer(tiny_config(name, tiny, steps=1), run_dir=tmp_path / "run").fit()
    handle = gankit.load(tmp_path / "run")
    if name == "cyclegan":  # digits-negative has no style classifier: nothing applies
        with pytest.raises(GankitError, match="no metric applies"):
            evaluate(handle)
        return
    out = evaluate(handle, n=64)
    assert keys <= set(out) and all(np.isfinite(out[k]) for k in keys)
    if name == "srgan":  # the held-out split, every image of it when n allows
        test = build_dataset(DataConfig("photos-sr4", resolution=32, split="test"))
        assert out["n"] == min(64, len(test))
        assert out["psnr_bicubic"] > out["psnr"]  # one step of training: far from bicubic
    else:
        assert 0 <= out["pair_agreement"] <= 1


# --- sample counts and the reference set -----------------------------------------------------


@pytest.fixture(scope="module")
def dcgan_handle(tmp_path_factory) -> gankit.Generator:
    run = tmp_path_factory.mktemp("eval") / "dcgan"
    Trainer(tiny_config("dcgan", steps=1), run_dir=run).fit()
    return gankit.load(run)


def test_each_metric_says_the_fewest_samples_it_needs(dcgan_handle) -> None:
    from gankit.metrics.evaluate import METRICS, MIN_SAMPLES

    assert set(MIN_SAMPLES) == set(METRICS.names())  # every metric declares its minimum
    with pytest.raises(
        GankitError, match="-n 1 is too few samples: fid at least 2, kid at least 2"
    ):
        evaluate(dcgan_handle, n=1)
    with pytest.raises(
        GankitError, match="-n 5 is too few samples: prdc at least 6, is at least 10"
    ):
        evaluate(dcgan_handle, ["prdc", "is", "modes"], n=5)
    out = evaluate(dcgan_handle, ["fid", "kid", "modes"], n=2)
    assert out["n"] == 2 and out["reference"] == "test" and "fid_real" in out


def _points_file(path) -> str:
    rows = np.random.default_rng(0).normal(size=(400, 2))
    np.savetxt(path, rows, delimiter=",")
    return f"points:{path}"


def test_data_without_a_held_out_part_is_compared_with_its_training_data_and_says_so(
    tmp_path, caplog
) -> None:
    spec = _points_file(tmp_path / "pts.csv")
    with pytest.raises(gankit.GankitError, match="has no held-out part: train with --set data"):
        build_dataset(DataConfig(spec, split="test"))
    tiny = Tiny(spec, ("model.g_hidden=[8]", "model.d_hidden=[8]"))
    Trainer(tiny_config("gan", tiny, steps=1), run_dir=tmp_path / "run").fit()
    with caplog.at_level("WARNING", logger="gankit"):
        out = evaluate(gankit.load(tmp_path / "run"))
    assert out["reference"] == "train"
    assert "fid" in out and "fid_real" not in out and "kid_real" not in out  # 0 by construction
    assert "compare the samples with the training data itself" in caplog.text


def test_a_held_out_part_of_user_data_is_fixed_by_name(tmp_path) -> None:
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(60):
        Image.fromarray(np.full((8, 8), i * 4, np.uint8)).save(folder / f"{i:03d}.png")
    cfg = DataConfig(f"folder:{folder}", resolution=8, channels=1, holdout=0.2)

    def pixels(split: str) -> set[int]:
        data = build_dataset(DataConfig(**{**cfg.__dict__, "split": split}))
        return {int(v) for v in data.x[:, 0, 0, 0]}

    train, test = pixels("train"), pixels("test")
    assert train.isdisjoint(test) and len(train) + len(test) == 60 and 4 <= len(test) <= 20
    for i in range(60, 90):  # the folder grows: what was held out stays held out
        Image.fromarray(np.full((8, 8), i * 2 + 1, np.uint8)).save(folder / f"{i:03d}.png")
    assert test <= pixels("test") and train <= pixels("train")
    spec = _points_file(tmp_path / "pts.csv")
    rows = {split: build_dataset(DataConfig(spec, split=split, holdout=0.25)).x for split in SPLITS}
    assert len(rows["train"]) + len(rows["test"]) == len(rows["all"]) == 400
    assert 60 < len(rows["test"]) < 140


SPLITS = ("train", "test", "all")
