"""Full-reference image quality: PSNR and SSIM per image, and the bicubic super-resolution baseline.

Both metrics take batches [N, C, H, W] of images in [-1, 1] (so the data range is 2) and return
one value per image, computed in float64, without needing scikit-image at run time. PSNR matches
its `peak_signal_noise_ratio(x, y, data_range=2)`. SSIM matches its
`structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
channel_axis=0)` of the images mapped to [0, 1] (data_range 1): SSIM's luminance term
(2·μx·μy + C1) / (μx² + μy² + C1) assumes non-negative intensities, and on zero-centred images it
turns negative wherever two local means differ in sign, so well-correlated images could score
below zero. On [0, 1] it gives the numbers papers report for 8-bit images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Wang et al. (2004): an 11×11 Gaussian window with σ = 1.5 and the stabilising constants
# C1 = (K1·L)², C2 = (K2·L)² for data range L.
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # scikit-image's truncate=3.5: int(3.5 · 1.5 + 0.5) = 5, an 11-tap window
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _check_pair(x: Tensor, y: Tensor) -> None:
    if x.ndim != 4 or x.shape != y.shape:
        raise ValueError(
            f"expected two image batches [N, C, H, W] of one shape, got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )


def psnr(x: Tensor, y: Tensor, data_range: float = 2.0) -> Tensor:
    """Peak signal-to-noise ratio of each image pair, in dB.

    Args:
        x: image batch [N, C, H, W]: the reference images (PSNR is symmetric).
        y: image batch [N, C, H, W]: the test images.
        data_range: the span of pixel values, 2 for images in [-1, 1].

    Returns:
        [N] float64: 10·log10(data_range² / MSE) with the MSE over each image's channels and
        pixels; +inf for identical images.
    """
    _check_pair(x, y)
    diff = x.double() - y.double()
    mse = diff.square().flatten(1).mean(1)  # [N]
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(dtype: torch.dtype, device: torch.device) -> Tensor:
    """The normalised 1-D Gaussian taps [11] (scipy.ndimage's, for σ 1.5 and radius 5)."""
    t = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=dtype, device=device)
    w = torch.exp(-0.5 * (t / SSIM_SIGMA) ** 2)
    return w / w.sum()


def _blur_valid(x: Tensor, window: Tensor) -> Tensor:
    """Separable Gaussian filter of [M, 1, H, W], keeping only the 'valid' output
    [M, 1, H - 10, W - 10]: the pixels whose window lies inside the image."""
    k = len(window)
    x = F.conv2d(x, window.view(1, 1, k, 1))  # along H
    return F.conv2d(x, window.view(1, 1, 1, k))  # along W


def ssim(x: Tensor, y: Tensor, data_range: float = 2.0) -> Tensor:
    """Structural similarity of each image pair (Wang et al., 2004), Gaussian-weighted.

    The images are first shifted by data_range / 2 onto [0, data_range], where the luminance
    term is meaningful (see the module's note); the shift changes no variance or covariance.
    Local means, variances (population, not sample) and covariance are taken under an 11×11
    Gaussian window (σ 1.5); the SSIM map is averaged over the pixels at least 5 from the
    border and then over the channels. scikit-image filters with reflected borders and then
    crops those 5 pixels away, so only windows lying wholly inside the image count: filtering
    'valid' here gives the same numbers without any padding.

    Args:
        x: image batch [N, C, H, W] with values in [-data_range / 2, data_range / 2]; H and W
            at least 11.
        y: the image batch to compare, of the same shape and range.
        data_range: the span of pixel values, 2 for images in [-1, 1].

    Returns:
        [N] float64 in [-1, 1]; 1 for identical images.
    """
    _check_pair(x, y)
    n, c, h, w = x.shape
    side = 2 * SSIM_RADIUS + 1
    if h < side or w < side:
        raise ValueError(f"SSIM needs images of at least {side}×{side}, got {h}×{w}")
    x = x.double().reshape(n * c, 1, h, w) + data_range / 2  # onto [0, data_range]
    y = y.double().reshape(n * c, 1, h, w) + data_range / 2
    window = _gaussian_window(x.dtype, x.device)
    # one filtering pass over the five moments: [5·N·C, 1, H', W']
    moments = _blur_valid(torch.cat([x, y, x * x, y * y, x * y]), window)
    mx, my, mxx, myy, mxy = moments.chunk(5)
    vx, vy, cov = mxx - mx * mx, myy - my * my, mxy - mx * my
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(n, c, -1).mean(2).mean(1)  # per channel, then over channels


def bicubic_upscale(lr: Tensor, factor: int) -> Tensor:
    """The super-resolution baseline: bicubic upsampling by an integer factor.

    Args:
        lr: low-resolution images [N, C, h, w] in [-1, 1].
        factor: the upscaling factor (4 for `photos-sr4`).

    Returns:
        [N, C, h·factor, w·factor] in [-1, 1] (torch's bicubic, a = -0.75, align_corners=False;
        clamped, since the cubic kernel overshoots at edges).
    """
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor!r}")
    if lr.ndim != 4:
        raise ValueError(f"expected an image batch [N, C, h, w], got {tuple(lr.shape)}")
    size = (lr.shape[-2] * factor, lr.shape[-1] * factor)
    up = F.interpolate(lr, size=size, mode="bicubic", align_corners=False)
    return up.clamp(-1.0, 1.0)
