"""VGG19 features: torchvision's layer indices and key layout, loading local weight files (and
rejecting bad ones), the input normalisation, and the seeded random substitute."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from gankit.errors import GankitError
from gankit.nn.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG19_LAYERS,
    VGG19Features,
    random_vgg19_features,
    read_state_dict,
    vgg19_features,
    vgg19_layer,
    vgg19_layers,
)

# where torchvision's vgg19().features keeps its 16 convolutions
TORCHVISION_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def torchvision_like_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict in the layout of torchvision's vgg19 (features and classifier)."""
    gen = torch.Generator().manual_seed(seed)
    state = {
        f"features.{k}": torch.randn(v.shape, generator=gen) * 0.05
        for k, v in vgg19_layers("5_4").state_dict().items()
    }
    state["classifier.0.weight"] = torch.randn(8, 4)  # ignored: only features are read
    state["classifier.0.bias"] = torch.randn(8)
    return state


def test_layer_indices_follow_torchvision() -> None:
    # φ5,4 ends with the ReLU at index 35 (before the last pool), φ2,2 with the ReLU at 8
    assert VGG19_LAYERS["5_4"] == 36 and VGG19_LAYERS["2_2"] == 9 and VGG19_LAYERS["1_1"] == 2
    assert len(VGG19_LAYERS) == 16
    features = vgg19_layers("5_4")
    convs = tuple(i for i, m in enumerate(features) if isinstance(m, nn.Conv2d))
    assert convs == TORCHVISION_CONVS
    expected = {f"{i}.{p}" for i in TORCHVISION_CONVS for p in ("weight", "bias")}
    assert set(features.state_dict()) == expected
    assert sum(p.numel() for p in features.parameters()) == 20_024_384  # VGG19's conv weights
    with pytest.raises(GankitError, match="no VGG19 layer '6_1'"):
        vgg19_layers("6_1")
    # the paper's names, and what YAML reads from `--set model.vgg_layer=5_4` (the integer 54)
    assert vgg19_layer("54") == vgg19_layer(54) == vgg19_layer("5,4") == vgg19_layer("5_4") == "5_4"
    for bad in ("6_1", "5", "5_44", ""):
        with pytest.raises(GankitError, match="no VGG19 layer"):
            vgg19_layer(bad)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [("2_2", (2, 128, 16, 16)), ("5_4", (2, 512, 2, 2)), ("3_1", (2, 256, 8, 8))],
)
def test_feature_shapes(layer: str, shape: tuple[int, ...]) -> None:
    net = random_vgg19_features(layer)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert net(x).shape == shape


def test_input_is_normalised_with_imagenet_statistics() -> None:
    """With φ1,1's convolution set to the identity (centre taps), the features are
    ReLU(((x + 1) / 2 − mean) / std)."""
    net = VGG19Features("1_1")
    conv = net.features[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for c in range(3):
            conv.weight[c, c, 1, 1] = 1.0
    net.freeze()
    x = torch.rand(2, 3, 5, 5) * 2 - 1
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    expected = torch.relu(((x + 1) / 2 - mean) / std)
    torch.testing.assert_close(net(x)[:, :3], expected)
    assert not net(x)[:, 3:].any()
    # gray images are repeated to RGB
    g = torch.rand(2, 1, 5, 5) * 2 - 1
    torch.testing.assert_close(net(g), net(g.expand(-1, 3, -1, -1)))


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_load_in_torchvision_layout(tmp_path, suffix: str) -> None:
    state = torchvision_like_state()
    path = tmp_path / f"vgg19{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    net = vgg19_features(path, "5_4", scale=0.5)
    # frozen: weights are buffers, not parameters, and stay out of state dicts
    assert not list(net.parameters()) and not net.state_dict()
    assert not net.training
    for i in TORCHVISION_CONVS:
        torch.testing.assert_close(net.features[i].weight, state[f"features.{i}.weight"])
        torch.testing.assert_close(net.features[i].bias, state[f"features.{i}.bias"])
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    out = net(x)
    unscaled = VGG19Features("5_4")
    unscaled.load_torchvision(state)
    torch.testing.assert_close(out, unscaled(x) * 0.5)
    out.sum().backward()  # gradients reach the input through the frozen network
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_a_partial_network_needs_only_its_layers(tmp_path) -> None:
    state = {k: v for k, v in torchvision_like_state().items() if k.startswith("features.")}
    state = {k: v for k, v in state.items() if int(k.split(".")[1]) < 9}  # up to φ2,2
    path = tmp_path / "vgg19-head.pth"
    torch.save(state, path)
    assert vgg19_features(path, "2_2")(torch.zeros(1, 3, 8, 8)).shape == (1, 128, 4, 4)
    with pytest.raises(GankitError, match=r"no 'features\.10\.weight'"):
        vgg19_features(path, "5_4")


def test_missing_corrupt_and_foreign_files_are_clear_errors(tmp_path) -> None:
    with pytest.raises(GankitError, match="VGG19 weights file not found"):
        read_state_dict(tmp_path / "nowhere.pth")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x00\x01 not a checkpoint" * 10)
    with pytest.raises(GankitError, match="cannot read VGG19 weights"):
        read_state_dict(corrupt)
    bad_safetensors = tmp_path / "corrupt.safetensors"
    bad_safetensors.write_bytes(b"garbage")
    with pytest.raises(GankitError, match="cannot read VGG19 weights"):
        read_state_dict(bad_safetensors)
    not_a_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], not_a_dict)
    with pytest.raises(GankitError, match="does not hold a state dict"):
        read_state_dict(not_a_dict)
    # vgg19_bn's features put batch norms between the convolutions: other indices
    bn = tmp_path / "vgg19_bn.pth"
    conv = {"weight": torch.zeros(64, 3, 3, 3), "bias": torch.zeros(64)}
    norm = {k: torch.ones(64) for k in ("weight", "bias", "running_mean", "running_var")}
    torch.save(
        {f"features.0.{k}": v for k, v in conv.items()}
        | {f"features.1.{k}": v for k, v in norm.items()},
        bn,
    )
    with pytest.raises(GankitError, match=r"batch norm \(vgg19_bn\)"):
        vgg19_features(bn, "1_1")
    torch.save({f"features.0.{k}": v for k, v in conv.items()}, bn)
    with pytest.raises(GankitError, match=r"not a torchvision VGG19 .*'features\.2\.weight'"):
        vgg19_features(bn, "1_2")
    wrong_shape = tmp_path / "wrong.pth"
    state = torchvision_like_state()
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)
    torch.save(state, wrong_shape)
    with pytest.raises(GankitError, match=r"'features.0.weight' has shape \(64, 1, 3, 3\)"):
        vgg19_features(wrong_shape, "1_1")


def test_wrapped_checkpoints_are_unwrapped(tmp_path) -> None:
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": torchvision_like_state(), "epoch": 3}, path)
    assert "features.0.weight" in read_state_dict(path)


def test_random_features_are_fixed_by_their_seed() -> None:
    a, b, c = (random_vgg19_features("2_2", seed=s) for s in (0, 0, 1))
    torch.manual_seed(123)  # the global generator plays no part
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    assert not torch.allclose(a(x), c(x))
    for i in (0, 2, 5, 7):  # He-normal: std √(2 / fan_in), zero biases
        conv = a.features[i]
        fan_in = conv.weight.shape[1] * 9
        assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1)
        assert not conv.bias.any()
    assert not list(a.parameters()) and a.rank_local
