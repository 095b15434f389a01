"""Convolution and pooling as torch writes them: ``nn.Conv2d``, ``nn.MaxPool2d``, … on
channels-first data, images (N, C, H, W), sequences (N, C, L).

The spec is channels-last, (N, H, W, C) as Keras; the change of layout happens at the
boundary, visibly: :func:`channels_first` is ``x.permute(0, 3, 1, 2)`` of a spec batch,
:func:`channels_last` its inverse, and ``reference.layouts`` permutes the kernels
((k_h, k_w, in, out) → (out, in, k_h, k_w)) and the rows of a Dense kernel after a
Flatten ((h, w, c) → (c, h, w)). A module here takes and returns torch's layout.

TF's ``padding="same"``: torch's own ``padding="same"`` pads (⌊t/2⌋, t − ⌊t/2⌋) like TF
at stride 1 but refuses strides above 1, where TF's amounts depend on the input size (a
3×3 kernel at stride 2 pads 10 cells (0, 1), 9 cells (1, 1)). :class:`SamePadding` is
that bridge: ``F.pad`` with TF's amounts, computed from each input's size. The layers use
it only where torch cannot pad by itself.

Input policy (``torch_impl._inputs.spec_input_policy``, outside the bodies): a
convolution's input must be (N, C, H, W) (or (N, C, L)) with its ``in_channels``, in its
dtype, integers converted.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from torch_impl._inputs import convolution_input, pooling_input, spec_input_policy
from torch_impl.activations import get


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """A spec (channels-last) batch in torch's layout: (N, H, W, C) → (N, C, H, W),
    (N, L, C) → (N, C, L). A view: autograd carries gradients back through it."""
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """torch's layout back to the spec's: (N, C, H, W) → (N, H, W, C)."""
    return x.permute(0, *range(2, x.dim()), 1)


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1
                 ) -> tuple[int, int]:
    """TF's ``"same"`` along one axis: (before, after), the odd cell after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _tuple(value: int | Sequence[int], rank: int) -> tuple[int, ...]:
    return (value,) * rank if isinstance(value, int) else tuple(value)


class SamePadding(nn.Module):
    """TF's ``padding="same"`` as an explicit ``F.pad``, its amounts from the input's size;
    ``kernel_size``, ``stride``, ``dilation``: an int or one per spatial axis; ``value``:
    what the padded cells hold (−∞ before a max pooling)."""

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int],
                 dilation: int | Sequence[int], value: float = 0.0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rank = x.dim() - 2
        k, s, d = ([v] * rank if isinstance(v, int) else v
                   for v in (self.kernel_size, self.stride, self.dilation))
        pads: list[int] = []
        for axis, size in enumerate(x.shape[2:]):
            pads = [*same_padding(size, k[axis], s[axis], d[axis]), *pads]  # F.pad: last first
        return F.pad(x, pads, value=self.value)


def _padding(padding: str, kernel: tuple[int, ...], stride: tuple[int, ...],
             dilation: tuple[int, ...], value: float = 0.0) -> tuple[nn.Module, str]:
    """The module that pads before a convolution or pooling, and the padding left to it."""
    if padding == "valid":
        return nn.Identity(), "valid"
    if all(s == 1 and d * (k - 1) % 2 == 0 for k, s, d in zip(kernel, stride, dilation,
                                                             strict=True)):
        return nn.Identity(), "same"  # symmetric at stride 1: torch pads as TF does
    # torch's padding="same" refuses strides > 1 (and warns at an odd total): TF's F.pad first
    return SamePadding(kernel, stride, dilation, value), "valid"


class _Convolution(nn.Module):
    """pad (only where torch cannot), ``nn.ConvNd``, then the activation."""

    def __init__(self, conv: type[nn.Module], rank: int, in_channels: int, out_channels: int,
                 kernel_size: int | Sequence[int], *, strides: int | Sequence[int] = 1,
                 padding: str = "valid", dilation_rate: int | Sequence[int] = 1,
                 activation: str = "identity", groups: int = 1,
                 dtype: torch.dtype = torch.float64, **activation_params: float) -> None:
        super().__init__()
        kernel, stride = _tuple(kernel_size, rank), _tuple(strides, rank)
        dilation = _tuple(dilation_rate, rank)
        self.pad, torch_padding = _padding(padding, kernel, stride, dilation)
        self.conv = conv(in_channels, out_channels, kernel, stride=stride, padding=torch_padding,
                         dilation=dilation, groups=groups, dtype=dtype)
        self.activation = get(activation, **activation_params)
        self.activation_name, self.activation_params = activation, dict(activation_params)
        self.name = f"{type(self).__name__}({in_channels}, {out_channels}, {activation})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.conv(self.pad(x)))


@spec_input_policy(convolution_input)
class Conv2D(_Convolution):
    """y = φ(conv2d(x, weight) + bias) with ``nn.Conv2d``, weight (out, in, k_h, k_w).

    Shape: x (N, in_channels, H, W) → y (N, filters, H', W').
    """

    def __init__(self, in_channels: int, filters: int, kernel_size: int | Sequence[int],
                 **options: object) -> None:
        super().__init__(nn.Conv2d, 2, in_channels, filters, kernel_size, **options)


@spec_input_policy(convolution_input)
class Conv1D(_Convolution):
    """y = φ(conv1d(x, weight) + bias) with ``nn.Conv1d``, weight (out, in, k).

    Shape: x (N, in_channels, L) → y (N, filters, L').
    """

    def __init__(self, in_channels: int, filters: int, kernel_size: int | Sequence[int],
                 **options: object) -> None:
        super().__init__(nn.Conv1d, 1, in_channels, filters, kernel_size, **options)


@spec_input_policy(convolution_input)
class DepthwiseConv2D(_Convolution):
    """Each channel convolved with its own ``depth_multiplier`` filters: ``nn.Conv2d(C,
    C·M, k, groups=C)``, weight (C·M, 1, k_h, k_w), output channel c·M + m.

    Shape: x (N, C, H, W) → y (N, C·M, H', W').
    """

    def __init__(self, in_channels: int, kernel_size: int | Sequence[int], *,
                 depth_multiplier: int = 1, **options: object) -> None:
        super().__init__(nn.Conv2d, 2, in_channels, in_channels * depth_multiplier,
                         kernel_size, groups=in_channels, **options)


@spec_input_policy(pooling_input)
class MaxPool2D(nn.Module):
    """``nn.MaxPool2d``; under TF's ``"same"``, −∞ padding by TF's rule first.

    Shape: x (N, C, H, W) → y (N, C, H', W').
    """

    def __init__(self, pool_size: int | Sequence[int] = 2,
                 strides: int | Sequence[int] | None = None, padding: str = "valid") -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(pool_size, strides)  # stride None: the pool size, as Keras
        # torch pads a max pooling symmetrically only: TF's cells, holding −∞, by F.pad
        self.pad = nn.Identity() if padding == "valid" else \
            SamePadding(self.pool.kernel_size, self.pool.stride, 1, value=float("-inf"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.pad(x))


@spec_input_policy(pooling_input)
class AveragePool2D(nn.Module):
    """``nn.AvgPool2d``; under TF's ``"same"``, zero padding by TF's rule first, and the
    window sums divided by the count of real cells (Keras) or by k_h·k_w
    (``count_include_pad=True``, torch's default for its own padding).

    Shape: x (N, C, H, W) → y (N, C, H', W').
    """

    def __init__(self, pool_size: int | Sequence[int] = 2,
                 strides: int | Sequence[int] | None = None, padding: str = "valid", *,
                 count_include_pad: bool = False) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(pool_size, strides)
        self.pad = nn.Identity() if padding == "valid" else \
            SamePadding(self.pool.kernel_size, self.pool.stride, 1)
        self.divide_by_real_cells = padding == "same" and not count_include_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.divide_by_real_cells:
            return self.pool(self.pad(x))
        # TF divides by the real cells only: the padded sums over each window's real count
        return self.pool(self.pad(x)) / self.pool(self.pad(torch.ones_like(x[:1, :1])))


@spec_input_policy(pooling_input)
class GlobalAveragePooling2D(nn.Module):
    """The mean over H and W, ``x.mean(dim=(2, 3))`` (torch has no module of that name;
    ``nn.AdaptiveAvgPool2d(1)`` then ``nn.Flatten()`` is the same).

    Shape: x (N, C, H, W) → y (N, C).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))
