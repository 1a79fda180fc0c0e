"""The FID Inception network: InceptionV3 exactly as TensorFlow's 2015-12-05 graph computes it.

Published FID, KID and IS numbers come from one network, the TensorFlow InceptionV3 graph of
2015-12-05 that the original FID code (TTUR) loads. Its weights were ported to PyTorch once,
as the file `pt_inception-2015-12-05-6726825d.pth` (pytorch-fid; torch-fidelity ships the same
bytes as `weights-inception-2015-12-05-6726825d.pth`), and this module's network has exactly that
file's parameter names and shapes, so one file loads into gankit, pytorch-fid and torch-fidelity.

That graph is not torchvision's InceptionV3; the differences decide the scores:

- the input is resized to 299×299 with TensorFlow 1's legacy bilinear resize
  (`resize_like_tf1`: no half-pixel centres), then mapped to [-1, 1] as ``(x - 128) / 128``;
- the average-pool branches of the 35×35, 17×17 and first 8×8 blocks leave the zero padding out
  of the mean (``count_include_pad=False``), and the last block's pool branch is a *max*-pool;
- every convolution has no bias and is followed by batch norm with ``eps = 0.001``;
- the classifier has 1,008 outputs (the 2015 graph's label set), not 1,000.

Outputs: the 2,048-d average-pooled features ("pool3": FID, KID, precision/recall), the 1,008
logits, and the logits without the classifier's bias ("logits_unbiased": what torch-fidelity's
Inception Score reads). The weights are never shipped: `gankit data fetch inception` downloads
them, or `--inception PATH` / ``$GANKIT_INCEPTION_WEIGHTS`` names a copy (`inception_weights_path`).
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.data.fetch import INCEPTION_WEIGHTS
from gankit.data.locations import weights_dir
from gankit.errors import GankitError
from gankit.files import file_sha256

log = logging.getLogger("gankit")

# the reference file, as `gankit data fetch inception` downloads it (its name carries the first
# 8 hex digits of its SHA-256)
INCEPTION_FILE = INCEPTION_WEIGHTS.name
INCEPTION_SHA256 = INCEPTION_WEIGHTS.sha256
INCEPTION_URLS = INCEPTION_WEIGHTS.urls
WEIGHTS_ENV = "GANKIT_INCEPTION_WEIGHTS"
INPUT_SIZE = 299
POOL_DIM = 2048
NUM_LOGITS = 1008

# How to provide the weights, in every message about missing ones.
_HOW_TO_PROVIDE = (
    "Provide them in one of three ways: pass --inception PATH, set "
    f"{WEIGHTS_ENV}=PATH, or run `gankit data fetch inception` (downloads {INCEPTION_FILE})."
)


# -------------------------------------------------------------------------------------------
# Input: TensorFlow 1's bilinear resize
# -------------------------------------------------------------------------------------------


def _tf1_taps(n_in: int, n_out: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """The two input indices and the weight of the second, for each of `n_out` output pixels.

    TF1's legacy resize (``align_corners=False``, no half-pixel centres) reads output pixel ``i``
    at input coordinate ``i * n_in / n_out``: the grid is anchored at the top-left corner rather
    than at pixel centres, which shifts the image by up to half a pixel against PyTorch's
    `interpolate`. TF1 computes the coordinate in float32, and so does this: in float64 the
    fractional weights would differ in the last bits, and the features with them.
    """
    scale = torch.tensor(n_in / n_out, dtype=torch.float32)
    pos = torch.arange(n_out, dtype=torch.float32, device=device) * scale  # [n_out], >= 0
    lo = pos.long()  # truncation is floor here: pos is never negative
    hi = (lo + 1).clamp_max(n_in - 1)  # the last row/column repeats at the border
    return lo, hi, pos - lo.float()


def resize_like_tf1(x: Tensor, size: int) -> Tensor:
    """Bilinear resize of `x` to ``size × size`` as TensorFlow 1.x's `tf.image.resize_bilinear`
    does it with ``align_corners=False``: the resize the FID reference applies before Inception.

    Args:
        x: Float images ``[N, C, H, W]`` of any size (up- and down-sampling alike; no
            antialiasing, as in TF1).
        size: The output side.

    Returns:
        ``[N, C, size, size]`` in the dtype of `x`. Interpolates along the width first, then
        the height, in the same order of operations as TF1, so float32 results match
        torch-fidelity's `interpolate_bilinear_2d_like_tensorflow1x` bit for bit.
    """
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(
            f"resize_like_tf1 expects float images [N, C, H, W], got {x.dtype} {tuple(x.shape)}"
        )
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    y_lo, y_hi, dy = _tf1_taps(x.shape[2], size, x.device)
    x_lo, x_hi, dx = _tf1_taps(x.shape[3], size, x.device)
    dx, dy = dx.to(x.dtype), dy.to(x.dtype)[:, None]

    def along_width(rows: Tensor) -> Tensor:  # [N, C, size, W] -> [N, C, size, size]
        left, right = rows.index_select(3, x_lo), rows.index_select(3, x_hi)
        return left + (right - left) * dx

    top = along_width(x.index_select(2, y_lo))
    bottom = along_width(x.index_select(2, y_hi))
    return top + (bottom - top) * dy


# -------------------------------------------------------------------------------------------
# The network
# -------------------------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (``eps = 0.001``, TensorFlow's), ReLU."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool_3x3(x: Tensor) -> Tensor:
    """3×3 mean over the pixels inside the image: TF's average pool leaves the padding out."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35×35 block (Mixed_5b-d): 1×1, 5×5, double 3×3 and avg-pool branches."""

    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, 1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:  # [N, c_in, 35, 35] -> [N, 224 + pool, 35, 35]
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = self.branch_pool(_avg_pool_3x3(x))
        return torch.cat([self.branch1x1(x), b5, b3, pool], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (Mixed_6a): strided 3×3, strided double 3×3 and max-pool."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:  # [N, 288, 35, 35] -> [N, 768, 17, 17]
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([self.branch3x3(x), b3, pool], 1)


class InceptionC(nn.Module):
    """17×17 block (Mixed_6b-e): 1×1, factorised 7×7, double factorised 7×7, avg-pool."""

    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:  # [N, 768, 17, 17] -> [N, 768, 17, 17]
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b7dbl = self.branch7x7dbl_1(x)
        for conv in (
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            b7dbl = conv(b7dbl)
        pool = self.branch_pool(_avg_pool_3x3(x))
        return torch.cat([self.branch1x1(x), b7, b7dbl, pool], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (Mixed_7a): 1×1 then strided 3×3, a 7×7 stack, max-pool."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:  # [N, 768, 17, 17] -> [N, 1280, 8, 8]
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, pool], 1)


class InceptionE(nn.Module):
    """8×8 block (Mixed_7b, Mixed_7c): 1×1, split 3×3, split double 3×3 and a pool branch.

    `max_pool` picks the pool branch: the TF graph average-pools in Mixed_7b (padding left out
    of the mean) but max-pools in Mixed_7c, unlike the paper and torchvision; the reference
    weights were trained with exactly that, so it is kept.
    """

    def __init__(self, c_in: int, *, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(c_in, 320, 1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:  # [N, c_in, 8, 8] -> [N, 2048, 8, 8]
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        b3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        b3dbl = torch.cat([self.branch3x3dbl_3a(b3dbl), self.branch3x3dbl_3b(b3dbl)], 1)
        if self.max_pool:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _avg_pool_3x3(x)
        return torch.cat([self.branch1x1(x), b3, b3dbl, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """InceptionV3 as the FID reference computes it (Szegedy et al. 2016, "Rethinking the
    Inception Architecture for Computer Vision"; the TF graph of 2015-12-05 used by Heusel et al.
    2017 for FID and Salimans et al. 2016 for IS). See the module docstring for what differs from
    torchvision's InceptionV3.

    Build it with `load_inception`, which loads and checks the reference weights; a bare
    ``FIDInceptionV3()`` has random weights. Attribute names are the weight file's keys.

    Input: uint8 images ``[N, 3, H, W]`` (or grayscale ``[N, 1, H, W]``) of any size, on the
    model's device. Output: see `forward`.
    """

    def __init__(self) -> None:
        super().__init__()
        # Stem: [N, 3, 299, 299] -> [N, 192, 35, 35].
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)  # 149×149
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)  # 147×147
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)  # 147×147, then max-pool: 73
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)  # 73×73
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)  # 71×71, then max-pool: 35
        self.Mixed_5b = InceptionA(192, pool_features=32)  # 256 channels
        self.Mixed_5c = InceptionA(256, pool_features=64)  # 288
        self.Mixed_5d = InceptionA(288, pool_features=64)  # 288
        self.Mixed_6a = InceptionB(288)  # 768, 17×17
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)  # 1280, 8×8
        self.Mixed_7b = InceptionE(1280, max_pool=False)  # 2048
        self.Mixed_7c = InceptionE(2048, max_pool=True)  # 2048
        self.fc = nn.Linear(POOL_DIM, NUM_LOGITS)

    @staticmethod
    def prepare(x: Tensor) -> Tensor:
        """uint8 ``[N, 1|3, H, W]`` -> float32 ``[N, 3, 299, 299]`` in [-1, 1], as the graph's
        own preprocessing: TF1 bilinear resize of the 0..255 values, then ``(x - 128) / 128``."""
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(
                "the FID Inception network takes uint8 images [N, 3, H, W] or [N, 1, H, W], "
                f"got {x.dtype} {tuple(x.shape)}"
            )
        x = x.expand(-1, 3, -1, -1)  # grayscale: the same image in R, G and B
        x = resize_like_tf1(x.float(), INPUT_SIZE)
        # The graph multiplies by 1/128 (exact in binary), so dividing gives the same bits.
        return (x - 128) / 128

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x: uint8 images ``[N, 3, H, W]`` of any size (grayscale ``[N, 1, H, W]`` is repeated
        to 3 channels), on the model's device.

        Returns:
            ``{"pool": [N, 2048], "logits": [N, 1008], "logits_unbiased": [N, 1008]}``, float32:
            the average-pooled features, the classifier's logits, and the logits without the
            classifier's bias (``pool @ fc.weight.T``, what torch-fidelity's IS protocol reads).
        """
        x = self.prepare(x)  # [N, 3, 299, 299]
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # [N, 64, 73, 73]
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # [N, 192, 35, 35]
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))  # [N, 288, 35, 35]
        x = self.Mixed_6a(x)  # [N, 768, 17, 17]
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))  # [N, 2048, 8, 8]
        pool = F.adaptive_avg_pool2d(x, 1).flatten(1)  # [N, 2048]
        # Bias added separately rather than by one addmm: the unbiased logits are an output too,
        # and this is the order torch-fidelity (the reference) computes both in.
        unbiased = pool.mm(self.fc.weight.T)  # [N, 1008]
        return {"pool": pool, "logits": unbiased + self.fc.bias, "logits_unbiased": unbiased}


@torch.no_grad()
def inception_outputs(
    model: FIDInceptionV3, images: Tensor, batch_size: int = 64
) -> dict[str, Tensor]:
    """`model`'s outputs on `images` (uint8 ``[N, 3|1, H, W]``, any device), `batch_size` at a
    time on the model's device.

    Returns:
        ``{"pool": [N, 2048], "logits": [N, 1008], "logits_unbiased": [N, 1008]}``, float32 on
        the CPU.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = model.fc.weight.device
    parts: dict[str, list[Tensor]] = {"pool": [], "logits": [], "logits_unbiased": []}
    for chunk in images.split(batch_size):
        for name, value in model(chunk.to(device)).items():
            parts[name].append(value.cpu())
    widths = {"pool": POOL_DIM, "logits": NUM_LOGITS, "logits_unbiased": NUM_LOGITS}
    return {
        name: torch.cat(values) if values else torch.empty(0, widths[name])
        for name, values in parts.items()
    }


# -------------------------------------------------------------------------------------------
# The weights file
# -------------------------------------------------------------------------------------------


def inception_weights_path(explicit: str | Path | None = None) -> Path:
    """Where the Inception weights are: `explicit` (the CLI's ``--inception PATH``), else
    ``$GANKIT_INCEPTION_WEIGHTS``, else ``weights_dir() / INCEPTION_FILE`` (where
    `gankit data fetch inception` puts them). The first of these that is given is the one used;
    a folder stands for the file `INCEPTION_FILE` in it.

    Raises:
        GankitError: If the chosen place holds no file; the message names every place looked
            at and the three ways to provide the weights.
    """
    env = os.environ.get(WEIGHTS_ENV)
    if explicit is not None:
        path, origin, others = Path(explicit).expanduser(), "given by --inception", ""
    elif env:
        path, origin, others = Path(env).expanduser(), f"${WEIGHTS_ENV}", ""
    else:
        path = weights_dir() / INCEPTION_FILE
        origin = "the default, where `gankit data fetch inception` puts them"
        others = f"; --inception was not given and ${WEIGHTS_ENV} is not set"
    file = path / INCEPTION_FILE if path.is_dir() else path
    if file.is_file():
        return file
    raise GankitError(
        f"The FID Inception weights were not found. Looked at: {file} ({origin}){others}. "
        + _HOW_TO_PROVIDE
    )


def _first_reason(err: BaseException) -> str:
    """The first sentence of an error's message, or its type when it has none."""
    text = str(err).strip()
    return text.splitlines()[0].split(". ")[0].rstrip(".") if text else type(err).__name__


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    """The tensors of the weights file `path`, read without running any code in it."""
    try:
        with warnings.catch_warnings():
            # Plain pickles draw a warning about their protocol before the error below says more.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message is mostly advice to load with weights_only=False; keep the cause only.
        text = str(err)
        refused = re.search(r"GLOBAL ([\w.]+)", text)
        if refused:
            # weights_only refuses every reference to a Python callable: building the object
            # would have run code from the file. Nothing was run.
            raise GankitError(
                f"{path} holds Python objects other than tensors (it refers to "
                f"{refused.group(1)}); gankit reads weights with torch.load(weights_only=True), "
                "which runs no code from the file, so it did not load it. "
                f"Use the reference file {INCEPTION_FILE}."
            ) from None
        cause = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
        raise GankitError(
            f"{path} is not a PyTorch weights file "
            f"({cause.group(1).strip() if cause else _first_reason(err)}). "
            f"Use the reference file {INCEPTION_FILE}."
        ) from None
    except EOFError:
        raise GankitError(
            f"{path} is not a PyTorch weights file (it is empty or ends too early). "
            f"Use the reference file {INCEPTION_FILE}."
        ) from None
    except Exception as err:  # torch.load raises several types for a file it cannot parse
        raise GankitError(
            f"{path} is not a PyTorch weights file ({_first_reason(err)}). "
            f"Use the reference file {INCEPTION_FILE}."
        ) from None
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()
    ):
        raise GankitError(
            f"{path} does not hold a state dict of tensors (it holds a {type(state).__name__}). "
            f"Use the reference file {INCEPTION_FILE}."
        )
    return dict(state)


def _architecture_mismatch(state: Mapping[str, Tensor], model: nn.Module) -> str | None:
    """What differs between the file's `state` and `model`'s parameters, or None if nothing.

    BatchNorm's ``num_batches_tracked`` counters may be absent: the reference file predates
    them, and they do not change an eval-mode forward.
    """
    expected = model.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in state and k not in optional]
    unexpected = [k for k in state if k not in expected]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return f"parameter {missing[0]!r} is missing{more}"
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        return f"it has the unexpected key {unexpected[0]!r}{more}"
    for name, value in expected.items():
        if name in state and state[name].shape != value.shape:
            return (
                f"parameter {name!r} has shape {list(state[name].shape)}, "
                f"expected {list(value.shape)}"
            )
    return None


@functools.lru_cache(maxsize=4)
def _checked_hash(path: Path, mtime_ns: int, size: int) -> str:
    """The file's SHA-256, warning (once per file version) when it is not the reference's."""
    digest = file_sha256(path)
    if digest != INCEPTION_SHA256:
        log.warning(
            "%s is not the reference FID Inception file (SHA-256 %s…, expected %s…): FID, KID "
            "and IS computed with it are NOT comparable with published numbers",
            path,
            digest[:12],
            INCEPTION_SHA256[:12],
        )
    return digest


@functools.lru_cache(maxsize=2)
def _load_cached(path: Path, mtime_ns: int, size: int, device: str) -> FIDInceptionV3:
    state = _read_state_dict(path)
    model = FIDInceptionV3()
    problem = _architecture_mismatch(state, model)
    if problem:
        raise GankitError(
            f"{path} does not hold the FID Inception network's weights: {problem}. "
            f"Use the reference file {INCEPTION_FILE}."
        )
    # strict=False only lets the optional num_batches_tracked be absent (checked above).
    model.load_state_dict(state, strict=False)
    return model.requires_grad_(False).eval().to(device)


def load_inception(
    path: str | Path | None = None, device: str | torch.device = "cpu"
) -> tuple[FIDInceptionV3, str]:
    """The FID Inception network with the weights found by `inception_weights_path(path)`.

    The model is cached per file version (resolved path, modification time, size) and device,
    so repeated evaluations do not reload it; callers share it and must not modify it. A file
    whose SHA-256 is not `INCEPTION_SHA256` still loads if it fits the network, with one
    warning on the "gankit" logger that its scores are not comparable with published ones.

    Args:
        path: The weights file (or a folder holding `INCEPTION_FILE`); None looks in
            ``$GANKIT_INCEPTION_WEIGHTS``, then where `gankit data fetch inception` puts it.
        device: Where the model lives.

    Returns:
        ``(model, sha256)``: the network, frozen and in eval mode, and its file's SHA-256 (to
        record beside the scores).

    Raises:
        GankitError: If no file is found; if it is not a loadable PyTorch state dict, or holds
            objects that ``torch.load(weights_only=True)`` refuses (nothing from it is run); or
            if its keys or shapes differ from this network's (the message names the first
            missing or unexpected key, or the first parameter whose shape differs).
    """
    file = inception_weights_path(path).resolve()
    stat = file.stat()
    model = _load_cached(file, stat.st_mtime_ns, stat.st_size, str(torch.device(device)))
    # After the load, so that a file that is no Inception at all gets its error, not a warning.
    return model, _checked_hash(file, stat.st_mtime_ns, stat.st_size)
