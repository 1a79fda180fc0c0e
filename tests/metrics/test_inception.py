"""The FID Inception network and the FID/KID/IS formulas against torch-fidelity itself.

torch-fidelity (the reference implementation most GAN papers quote) is imported module by module
without its package `__init__`, which pulls in torchvision (not installed, and never to be);
its `utils` module, the only other route to torchvision, is replaced by a stub, since the
functions used here never call into it. Both networks get the same random weights, saved to a
temporary file, so nothing is downloaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from gankit.errors import GankitError
from gankit.metrics import inception as inc
from gankit.metrics.distances import frechet_distance, kernel_inception_distance
from gankit.metrics.inception import (
    INCEPTION_FILE,
    FIDInceptionV3,
    inception_outputs,
    inception_weights_path,
    load_inception,
    resize_like_tf1,
)
from gankit.metrics.scores import inception_score

# Float32 tolerances of the network comparison. Both sides run the same float32 operations in
# the same order, and on one batch they agree bit for bit (measured: difference exactly 0). A
# different batch size (`inception_outputs` runs smaller batches) may change the kernels: with
# batches of one, the fc layer's 2,048-term dot products are summed in another order, and the
# logits (|x| < 10 here) moved by up to 3e-6. The bounds leave a few times that; a real
# difference of architecture or preprocessing moves outputs by 1e-2 or more.
NET_RTOL, NET_ATOL = 1e-5, 1e-5

# Float64 tolerances of the metric comparisons (same numbers, different linear algebra).
FID_RTOL = 1e-9  # full rank: symmetric eigenvalues of L^T Sb L vs eigvals of Sa·Sb
KID_RTOL = 1e-9  # the same sums over a permuted subset (one subset of all rows)
IS_RTOL = 1e-10  # log(softmax) vs log_softmax: differs by ~1e-16 relative per term


# -------------------------------------------------------------------------------------------
# torch-fidelity, imported without its package __init__
# -------------------------------------------------------------------------------------------


def _not_used(*args: object, **kwargs: object) -> None:
    raise AssertionError("torch_fidelity.utils is stubbed: this test must not reach it")


@pytest.fixture(scope="module")
def tfid() -> Iterator[types.SimpleNamespace]:
    """torch-fidelity's feature extractor, TF1 resize and FID/KID/IS functions."""
    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None or not spec.submodule_search_locations:
        # the README's set-up installs it; a missing reference must fail the comparison, never
        # let it pass by skipping
        pytest.fail("torch-fidelity is not installed: pip install --no-deps torch-fidelity==0.4.0")
    before = {k: v for k, v in sys.modules.items() if k.partition(".")[0] == "torch_fidelity"}
    for name in before:
        del sys.modules[name]
    package = types.ModuleType("torch_fidelity")
    package.__path__ = list(spec.submodule_search_locations)
    # The real utils imports torchvision and the whole package; metric_fid/kid/isc only import
    # these names from it for their image-level entry points, which are not used here.
    utils = types.ModuleType("torch_fidelity.utils")
    for name in (
        "get_cacheable_input_name",
        "cache_lookup_one_recompute_on_miss",
        "extract_featuresdict_from_input_id_cached",
        "create_feature_extractor",
        "resolve_feature_extractor",
        "resolve_feature_layer_for_metric",
    ):
        setattr(utils, name, _not_used)
    sys.modules["torch_fidelity"] = package
    sys.modules["torch_fidelity.utils"] = utils
    try:
        mod = importlib.import_module
        yield types.SimpleNamespace(
            extractor=mod("torch_fidelity.feature_extractor_inceptionv3"),
            resize=mod("torch_fidelity.interpolate_compat_tensorflow"),
            fid=mod("torch_fidelity.metric_fid"),
            kid=mod("torch_fidelity.metric_kid"),
            isc=mod("torch_fidelity.metric_isc"),
        )
    finally:
        for name in [k for k in sys.modules if k.partition(".")[0] == "torch_fidelity"]:
            del sys.modules[name]
        sys.modules.update(before)
    assert "torchvision" not in sys.modules


# -------------------------------------------------------------------------------------------
# Random weights in the reference file's layout
# -------------------------------------------------------------------------------------------


def _random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with the reference keys and values that keep activations O(1) through all
    ~95 layers (He-scaled convolutions, BN statistics near the identity), so no layer saturates
    or dies and every output depends on every stage."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, ref in FIDInceptionV3().state_dict().items():
        if name.endswith("num_batches_tracked"):
            value = torch.zeros_like(ref)
        elif name.endswith("conv.weight") or name == "fc.weight":
            fan_in = ref[0].numel()
            value = torch.randn(ref.shape, generator=gen) * (2.0 / fan_in) ** 0.5
        elif name.endswith("running_var"):  # positive, as a variance must be
            value = torch.rand(ref.shape, generator=gen) + 0.5
        elif name.endswith("bn.weight"):
            value = torch.rand(ref.shape, generator=gen) * 0.5 + 0.75
        else:  # BN running_mean and bias, fc.bias
            value = torch.randn(ref.shape, generator=gen) * 0.1
        state[name] = value
    return state


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return _random_state()


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory, state: dict) -> Path:
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def both_nets(tfid: types.SimpleNamespace, weights_file: Path) -> tuple[torch.nn.Module, ...]:
    """torch-fidelity's extractor and gankit's network, with the same random weights."""
    theirs = tfid.extractor.FeatureExtractorInceptionV3(
        name="inception-v3-compat",
        features_list=["2048", "logits_unbiased", "logits"],
        feature_extractor_weights_path=str(weights_file),
    )
    ours, _ = load_inception(weights_file)
    return theirs, ours


def _images(n: int, h: int, w: int, channels: int = 3, seed: int = 0) -> torch.Tensor:
    """uint8 images: smooth colour ramps plus noise, so that resizing has structure to keep."""
    gen = torch.Generator().manual_seed(seed + h * 1000 + w)
    ramp = torch.linspace(0, 200, w)[None, None, None, :] + torch.linspace(0, 55, h)[:, None]
    noise = torch.randint(0, 60, (n, channels, h, w), generator=gen)
    return (ramp * torch.rand(n, channels, 1, 1, generator=gen) + noise).clamp(0, 255).byte()


# -------------------------------------------------------------------------------------------
# The network against torch-fidelity's
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "h", "w"),
    [(3, 299, 299), (2, 32, 32), (2, 64, 64), (2, 100, 80), (2, 512, 512)],
)
def test_outputs_equal_torch_fidelity(both_nets: tuple, n: int, h: int, w: int) -> None:
    theirs, ours = both_nets
    x = _images(n, h, w)
    with torch.no_grad():
        pool, unbiased, logits = theirs(x)
        out = ours(x)
    assert out["pool"].shape == (n, 2048) and out["logits"].shape == (n, 1008)
    assert out["pool"].dtype == torch.float32
    # The random weights must not leave a dead or flat network (a vacuous comparison).
    assert (pool > 0).float().mean() > 0.2 and pool.std() > 0.01
    kw = {"rtol": NET_RTOL, "atol": NET_ATOL}
    torch.testing.assert_close(out["pool"], pool, **kw)
    torch.testing.assert_close(out["logits_unbiased"], unbiased, **kw)
    torch.testing.assert_close(out["logits"], logits, **kw)


def test_batched_and_grayscale_outputs_equal_torch_fidelity(both_nets: tuple) -> None:
    theirs, ours = both_nets
    gray = _images(3, 48, 40, channels=1)
    with torch.no_grad():
        pool, unbiased, logits = theirs(gray.expand(-1, 3, -1, -1).contiguous())
    out = inception_outputs(ours, gray, batch_size=2)  # batches of 2 and 1
    kw = {"rtol": NET_RTOL, "atol": NET_ATOL}
    torch.testing.assert_close(out["pool"], pool, **kw)
    torch.testing.assert_close(out["logits_unbiased"], unbiased, **kw)
    torch.testing.assert_close(out["logits"], logits, **kw)
    empty = inception_outputs(ours, gray[:0])
    assert empty["pool"].shape == (0, 2048) and empty["logits"].shape == (0, 1008)


@pytest.mark.parametrize(("h", "w", "size"), [(32, 32, 299), (17, 23, 299), (600, 450, 299),
                                              (299, 299, 299), (100, 80, 64)])  # fmt: skip
def test_resize_equals_torch_fidelity_bit_for_bit(
    tfid: types.SimpleNamespace, h: int, w: int, size: int
) -> None:
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(h * w)) * 255
    expected = tfid.resize.interpolate_bilinear_2d_like_tensorflow1x(
        x, size=(size, size), align_corners=False
    )
    # Same float32 operations in the same order: bit-identical, not merely close.
    torch.testing.assert_close(resize_like_tf1(x, size), expected, rtol=0, atol=0)


def test_resize_is_tf1_not_pytorch_bilinear() -> None:
    # 2 -> 4 pixels: TF1 samples input coordinates 0, 0.5, 1, 1.5 (clamped), corner-anchored.
    x = torch.tensor([[[[0.0, 10.0]]]]).expand(1, 1, 2, 2)
    np.testing.assert_array_equal(resize_like_tf1(x, 4)[0, 0, 0].numpy(), [0, 5, 10, 10])


def test_rejects_images_that_are_not_uint8(both_nets: tuple) -> None:
    _, ours = both_nets
    with pytest.raises(ValueError, match="uint8 images"):
        ours(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="uint8 images"):
        ours(torch.zeros(1, 2, 32, 32, dtype=torch.uint8))


# -------------------------------------------------------------------------------------------
# FID, KID and IS against torch-fidelity's formulas, on the same features
# -------------------------------------------------------------------------------------------


def _pool_like(rng: np.random.Generator, n: int, d: int, shift: float) -> np.ndarray:
    """Non-negative, correlated features like Inception's pool3 (float64)."""
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return np.maximum(rng.normal(size=(n, d)) @ mixing + 0.3 + shift, 0.0)


@pytest.mark.parametrize(
    ("n", "d", "rtol"),
    [
        (600, 256, FID_RTOL),
        # N < D: both covariances are singular. torch-fidelity takes np.linalg.eigvals of the
        # singular product Sa·Sb, whose ~D - N zero eigenvalues come out as rounding noise
        # (~1e-16·|Sa||Sb|, some complex); it sums their square roots (~1e-8·sqrt(|Sa||Sb|)
        # each), where gankit's symmetric route clips them to zero. So here only the issue's
        # bar, 1e-6 relative, holds.
        (150, 512, 1e-6),
    ],
)
def test_fid_equals_torch_fidelity(
    tfid: types.SimpleNamespace, n: int, d: int, rtol: float
) -> None:
    rng = np.random.default_rng(d)
    a, b = _pool_like(rng, n, d, 0.0), _pool_like(rng, n + 20, d, 0.1)
    # float64 on both sides: torch-fidelity would otherwise average float32 features in float32.
    stats = [tfid.fid.fid_features_to_statistics(torch.from_numpy(f)) for f in (a, b)]
    expected = tfid.fid.fid_statistics_to_metric(*stats, verbose=False)
    fid = expected["frechet_inception_distance"]
    assert fid > 1.0
    np.testing.assert_allclose(frechet_distance(a, b), fid, rtol=rtol, atol=0)


def test_kid_equals_torch_fidelity(tfid: types.SimpleNamespace) -> None:
    rng = np.random.default_rng(7)
    n = 150
    a, b = _pool_like(rng, n, 2048, 0.0), _pool_like(rng, n, 2048, 0.05)
    # One subset of all rows: both sides then average over the same samples, each in its own
    # (seeded) order, which the MMD estimate does not depend on.
    expected = tfid.kid.kid_features_to_metric(
        torch.from_numpy(a), torch.from_numpy(b), kid_subsets=1, kid_subset_size=n, verbose=False
    )
    mean, std = kernel_inception_distance(a, b, subsets=1, subset_size=n)
    assert expected["kernel_inception_distance_mean"] > 1e-3
    np.testing.assert_allclose(mean, expected["kernel_inception_distance_mean"], rtol=KID_RTOL)
    assert std == expected["kernel_inception_distance_std"] == 0.0


def test_is_equals_torch_fidelity(tfid: types.SimpleNamespace) -> None:
    logits = torch.from_numpy(np.random.default_rng(3).normal(scale=3.0, size=(500, 1008)))
    # N a multiple of splits: then torch-fidelity's chunks (i·N // splits) are np.array_split's.
    expected = tfid.isc.isc_features_to_metric(logits, splits=10, shuffle=False)
    mean, std = inception_score(torch.softmax(logits, dim=1).numpy(), splits=10)
    np.testing.assert_allclose(mean, expected["inception_score_mean"], rtol=IS_RTOL)
    np.testing.assert_allclose(std, expected["inception_score_std"], rtol=1e-8, atol=1e-12)


def test_fid_equals_sqrtm_route() -> None:
    """The classic route: np.cov, then the real part of scipy.linalg.sqrtm(Sa @ Sb)."""
    rng = np.random.default_rng(11)
    a, b = _pool_like(rng, 500, 64, 0.0), _pool_like(rng, 500, 64, 0.2)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = a.mean(axis=0) - b.mean(axis=0)
    covmean = scipy.linalg.sqrtm(sa @ sb).real
    expected = diff @ diff + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(covmean)
    np.testing.assert_allclose(frechet_distance(a, b), expected, rtol=1e-6, atol=0)


# -------------------------------------------------------------------------------------------
# Loading the weights
# -------------------------------------------------------------------------------------------


@pytest.fixture
def no_cache() -> Iterator[None]:
    """Forget loaded models and hashes, so that each test sees its own load and warning."""
    inc._load_cached.cache_clear()
    inc._checked_hash.cache_clear()
    yield
    inc._load_cached.cache_clear()
    inc._checked_hash.cache_clear()


def _save(tmp_path: Path, obj: object, name: str = "w.pth") -> Path:
    path = tmp_path / name
    torch.save(obj, path)
    return path


def test_other_file_warns_once_and_is_cached(
    weights_file: Path, no_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gankit"):
        model, digest = load_inception(weights_file)
        again, _ = load_inception(str(weights_file))
    assert digest == inc.file_sha256(weights_file) != inc.INCEPTION_SHA256
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "NOT comparable with published" in warnings[0].getMessage()
    assert again is model  # not reloaded
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_reference_hash_gives_no_warning(
    weights_file: Path,
    no_cache: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(inc, "INCEPTION_SHA256", inc.file_sha256(weights_file))
    with caplog.at_level(logging.WARNING, logger="gankit"):
        _, digest = load_inception(weights_file)
    assert digest == inc.INCEPTION_SHA256
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_file_without_batch_counters_loads(tmp_path: Path, state: dict, no_cache: None) -> None:
    # The reference file predates BatchNorm's num_batches_tracked; it must load all the same.
    old = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    model, _ = load_inception(_save(tmp_path, old))
    torch.testing.assert_close(model.fc.weight, state["fc.weight"], rtol=0, atol=0)


def test_missing_key_names_the_parameter(tmp_path: Path, state: dict, no_cache: None) -> None:
    broken = {k: v for k, v in state.items() if k != "Mixed_6c.branch7x7_2.bn.running_var"}
    path = _save(tmp_path, broken)
    match = re.escape("'Mixed_6c.branch7x7_2.bn.running_var' is missing")
    with pytest.raises(GankitError, match=match) as e:
        load_inception(path)
    assert str(path.resolve()) in str(e.value)


def test_unexpected_key_is_named(tmp_path: Path, state: dict, no_cache: None) -> None:
    path = _save(tmp_path, {**state, "aux_logits.fc.weight": torch.zeros(3)})
    with pytest.raises(GankitError, match=re.escape("unexpected key 'aux_logits.fc.weight'")):
        load_inception(path)


def test_changed_shape_names_parameter_and_shapes(
    tmp_path: Path, state: dict, no_cache: None
) -> None:
    path = _save(tmp_path, {**state, "fc.weight": torch.zeros(1000, 2048)})
    with pytest.raises(GankitError, match=r"'fc.weight' has shape \[1000, 2048\], expected "
                       r"\[1008, 2048\]"):  # fmt: skip
        load_inception(path)


class _Payload:
    """Unpickling this would call `_side_effect`: what a malicious weights file could do."""

    def __reduce__(self) -> tuple:
        return (_side_effect, ("ran",))


_RAN: list[str] = []


def _side_effect(tag: str) -> str:
    _RAN.append(tag)
    return tag


def test_pickled_object_is_refused_and_not_run(tmp_path: Path, no_cache: None) -> None:
    path = _save(tmp_path, {"fc.weight": torch.zeros(2), "payload": _Payload()})
    with pytest.raises(GankitError, match="Python objects other than tensors") as e:
        load_inception(path)
    assert str(path.resolve()) in str(e.value) and "weights_only=True" in str(e.value)
    assert "_side_effect" in str(e.value)  # the refused callable is named
    assert _RAN == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"not a torch file at all", "is not a PyTorch weights file"),
        (b"", "is not a PyTorch weights file"),
        (torch.zeros(3), "does not hold a state dict of tensors"),
        ({"fc.weight": [1, 2]}, "does not hold a state dict of tensors"),
    ],
)
def test_files_that_are_not_state_dicts(
    tmp_path: Path, content: object, match: str, no_cache: None
) -> None:
    if isinstance(content, bytes):
        path = tmp_path / "w.pth"
        path.write_bytes(content)
    else:
        path = _save(tmp_path, content)
    with pytest.raises(GankitError, match=match):
        load_inception(path)


# -------------------------------------------------------------------------------------------
# Finding the weights
# -------------------------------------------------------------------------------------------


def test_weights_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "data"))
    default = tmp_path / "data" / "weights" / INCEPTION_FILE
    default.parent.mkdir(parents=True)
    default.write_bytes(b"x")
    env_file, explicit = tmp_path / "env.pth", tmp_path / "explicit.pth"
    env_file.write_bytes(b"x")
    explicit.write_bytes(b"x")
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    assert inception_weights_path() == default
    monkeypatch.setenv("GANKIT_INCEPTION_WEIGHTS", str(env_file))
    assert inception_weights_path() == env_file
    assert inception_weights_path(explicit) == explicit
    assert inception_weights_path(default.parent) == default  # a folder holding the file


def test_missing_weights_message_lists_places_and_remedies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path))
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    remedies = ["--inception PATH", "GANKIT_INCEPTION_WEIGHTS=PATH", "gankit data fetch inception"]
    with pytest.raises(GankitError) as e:
        load_inception()
    message = str(e.value)
    assert str(tmp_path / "weights" / INCEPTION_FILE) in message
    assert "--inception was not given and $GANKIT_INCEPTION_WEIGHTS is not set" in message
    assert all(r in message for r in remedies)

    monkeypatch.setenv("GANKIT_INCEPTION_WEIGHTS", str(tmp_path / "nowhere.pth"))
    with pytest.raises(GankitError, match=r"nowhere\.pth \(\$GANKIT_INCEPTION_WEIGHTS\)"):
        inception_weights_path()
    with pytest.raises(GankitError, match=r"elsewhere\.pth \(given by --inception\)") as e:
        inception_weights_path(tmp_path / "elsewhere.pth")
    assert all(r in str(e.value) for r in remedies)
