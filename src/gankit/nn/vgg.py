"""VGG19 (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for Large-Scale Image
Recognition") as a frozen feature extractor for content losses (SRGAN's VGG loss).

The layers follow torchvision's `vgg19().features` index for index, so a user's local
`vgg19-dcad8c8d.pth`-style state dict (keys `features.N.weight` / `features.N.bias`) loads as it
is, from a `.pth` file (read with `torch.load(weights_only=True)`) or a `.safetensors` file.
Nothing is ever downloaded: without such a file, `random_vgg19_features` gives the same
architecture with fixed, seeded random weights (see `gankit.models.srgan` for what that is and
what it is not).

Layers are named as in the SRGAN paper: φ_i,j ("i_j") is the output of the j-th convolution
(after its ReLU) of block i, before that block's max-pooling; "5_4" is SRGAN's VGG54 and "2_2"
its VGG22.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from gankit.errors import GankitError

# torchvision's configuration "E": channels of each 3×3 convolution, "M" for 2×2 max-pooling
VGG19_CONFIG: tuple[int | str, ...] = (
    64, 64, "M",
    128, 128, "M",
    256, 256, 256, 256, "M",
    512, 512, 512, 512, "M",
    512, 512, 512, 512, "M",
)  # fmt: skip
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the statistics torchvision's weights were trained with
IMAGENET_STD = (0.229, 0.224, 0.225)


def _layer_ends() -> dict[str, int]:
    """ "i_j" -> number of `features` modules up to and including the ReLU of conv j of block i."""
    ends, index, block, conv = {}, 0, 1, 0
    for item in VGG19_CONFIG:
        if item == "M":
            index, block, conv = index + 1, block + 1, 0
        else:
            conv += 1
            index += 2  # the convolution and its ReLU
            ends[f"{block}_{conv}"] = index
    return ends


VGG19_LAYERS: dict[str, int] = _layer_ends()  # e.g. "2_2" -> 9, "5_4" -> 36


def vgg19_layer(name: str | int) -> str:
    """The canonical name "i_j" of a VGG19 layer given as "i_j", "i,j" or "ij" (the paper's
    VGG54; also what YAML makes of 5_4: the integer 54)."""
    text = str(name).strip().replace("_", "").replace(",", "")
    key = f"{text[0]}_{text[1]}" if len(text) == 2 else str(name)
    if key not in VGG19_LAYERS:
        raise GankitError(f"no VGG19 layer {name!r} (choose from {', '.join(VGG19_LAYERS)})")
    return key


def vgg19_layers(layer: str) -> nn.Sequential:
    """The first modules of torchvision's `vgg19().features`, up to φ_`layer` (same indices)."""
    layer = vgg19_layer(layer)
    modules: list[nn.Module] = []
    channels = 3
    for item in VGG19_CONFIG:
        if item == "M":
            modules.append(nn.MaxPool2d(2, 2))
        else:
            assert isinstance(item, int)
            modules += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
            channels = item
    return nn.Sequential(*modules[: VGG19_LAYERS[layer]])


class VGG19Features(nn.Module):
    """Frozen VGG19 features φ_`layer` of images [N, 3 (or 1), H, W] in [-1, 1].

    The input is mapped to [0, 1] and normalised with the ImageNet statistics (what torchvision's
    weights expect); grayscale inputs are repeated to three channels. The output,
    [N, C, H / 2^(i−1), W / 2^(i−1)] for layer "i_j", is multiplied by `scale` (SRGAN divides
    its VGG features by 12.75).

    The weights are stored as non-persistent buffers, not parameters: no optimiser or phase can
    pick them up, and a model's checkpoint does not carry them (rebuilt from their source). The
    module is marked `rank_local`: identical on every process, nothing to average between them.

    Args:
        layer: "i_j" (or "ij"), see `VGG19_LAYERS`.
        scale: factor on the output features.
    """

    rank_local = True

    def __init__(self, layer: str = "5_4", *, scale: float = 1.0) -> None:
        super().__init__()
        self.layer, self.scale = vgg19_layer(layer), scale
        # its weights are always loaded or drawn from their own generator afterwards: building
        # the layers must not consume the global RNG (SRGAN builds this lazily, mid-training,
        # where that would make a resumed run differ from a straight one)
        with torch.random.fork_rng(devices=[]):
            self.features = vgg19_layers(layer)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def load_torchvision(self, state: dict[str, Tensor], *, source: str = "state dict") -> None:
        """Copy the `features.N.*` entries of a torchvision VGG19 state dict (other entries, such
        as the classifier's, are ignored); a missing entry or a wrong shape is a GankitError."""
        if any(k.startswith("features.") and k.endswith(".running_mean") for k in state):
            raise GankitError(
                f"{source} holds VGG19 with batch norm (vgg19_bn); the VGG loss needs the plain "
                "VGG19 (torchvision's vgg19-dcad8c8d.pth layout)"
            )
        for name, tensor in self.features.state_dict().items():
            key = f"features.{name}"
            if key not in state:
                raise GankitError(
                    f"{source} is not a torchvision VGG19 state dict: it has no {key!r} "
                    "(expected the layout of vgg19-dcad8c8d.pth, without batch norm)"
                )
            if tuple(state[key].shape) != tuple(tensor.shape):
                raise GankitError(
                    f"{source}: {key!r} has shape {tuple(state[key].shape)}, VGG19 needs "
                    f"{tuple(tensor.shape)}"
                )
            tensor.copy_(state[key].to(tensor.dtype))

    def freeze(self) -> VGG19Features:
        """Turn every parameter into a non-persistent buffer and switch to eval mode."""
        for module in self.features:
            for name, param in list(module.named_parameters(recurse=False)):
                delattr(module, name)
                module.register_buffer(name, param.detach(), persistent=False)
        return self.eval()

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"expected images [N, 1 or 3, H, W], got {tuple(x.shape)}")
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        mean, std = self.get_buffer("mean").to(x.dtype), self.get_buffer("std").to(x.dtype)
        x = ((x + 1) / 2 - mean) / std  # [N, 3, H, W], ImageNet-normalised
        return self.features(x) * self.scale


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """A state dict from a local `.safetensors` file or a PyTorch `.pth`/`.pt` file (loaded with
    `weights_only=True`: no code in the file runs). Problems are GankitErrors naming the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise GankitError(f"VGG19 weights file not found: {path}")
    state: object
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file fails in many ways
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise GankitError(
            f"cannot read VGG19 weights from {path}: not a PyTorch state dict (.pth) or a "
            f"safetensors file ({first})"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a training checkpoint that wraps the weights
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise GankitError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    return state


def vgg19_features(path: str | Path, layer: str = "5_4", *, scale: float = 1.0) -> VGG19Features:
    """Frozen VGG19 features φ_`layer` with the weights of the local file `path`."""
    net = VGG19Features(layer, scale=scale)
    with torch.no_grad():
        net.load_torchvision(read_state_dict(path), source=str(path))
    return net.freeze()


def random_vgg19_features(
    layer: str = "2_2", *, seed: int = 0, scale: float = 1.0
) -> VGG19Features:
    """Frozen VGG19 features φ_`layer` with fixed random weights: He-normal filters (std
    √(2 / fan_in), which keeps the activations' scale through ReLU layers) and zero biases, drawn
    from their own generator seeded with `seed`, so that every run gets the same network."""
    net = VGG19Features(layer, scale=scale)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.features:
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * math.prod(module.kernel_size)
                module.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=gen)
                assert module.bias is not None
                module.bias.zero_()
    return net.freeze()
