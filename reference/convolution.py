"""Convolution and pooling, channels-last: images are (N, H, W, C), sequences (N, L, C).

Why channels-last: it is Keras's default (``data_format="channels_last"``) and the
layout of the course the notes follow (its digit-classification lab feeds (N, 28, 28, 1)
to ``keras.layers.Conv2D``); a sample's features then flatten to (h, w, c), the order
Keras's ``Flatten`` produces. torch holds images channels-first, (N, C, H, W), and its
``nn.Flatten`` orders features (c, h, w). The layout changes only at the torch boundary,
in plain sight: ``torch_impl.convolution.channels_first`` permutes an input batch with
``x.permute(0, 3, 1, 2)``, the kernel tables of ``reference.layouts`` permute the
weights, and the Dense layer after a Flatten has its kernel rows permuted from (h, w, c)
to (c, h, w).

Padding, TF's rule (``padding="same"``): the output has ⌈n / s⌉ positions along an axis
of size n at stride s, and the input is padded by
total = max((⌈n/s⌉ − 1)·s + d·(k − 1) + 1 − n, 0) cells, ⌊total/2⌋ before and the rest
after (:func:`same_padding`). When ``total`` is odd the extra cell goes at the bottom or
right, and it depends on n: a 3×3 kernel at stride 2 pads an input of 10 by (0, 1) and
one of 9 by (1, 1). torch's ``padding="same"`` refuses strides above 1, so the torch
mirror pads explicitly (``F.pad``) with this formula. ``padding="valid"``: no padding,
⌊(n − d·(k − 1) − 1)/s⌋ + 1 positions.

Computation: a convolution copies its windows, a strided view of the input, into a
(N, H', W', k_h, k_w, C) array (im2col) and does one BLAS matrix product (``Conv2D``: one
per block of samples, right after that block's copy, while it is in the cache); backward
gets dL/dW as one more product, and dL/dx by adding δ W[i, j]ᵀ onto the cells under each
kernel offset (i, j), one product per offset (col2im), or, at stride 1 with ``"same"``
padding, as the transposed convolution of δ (gathers and products as the forward's:
``Conv2D._input_gradient``). Pooling works offset by offset on strided views of the whole
batch. No Python loop runs over samples or pixels (``Conv2D``'s over blocks of about a
megabyte of windows each).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reference._validation import as_flag, as_seed, as_sizes, check_count, check_memory
from reference.activations import Activation, for_layer
from reference.layers import LAYERS, Layer

PADDINGS = ("valid", "same")
# Conv2D gathers and multiplies its windows a block of about this many bytes at a time
# (Conv2D._blocks): 1 MiB measured best of 128 KiB to 1 MiB on the AMD EPYC (512 KiB L2)
_BLOCK_BYTES = 1 << 20


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1
                 ) -> tuple[int, int]:
    """TF's ``padding="same"`` along one axis: the cells (before, after) added to an input
    of ``size``; the odd one, if any, goes after (bottom or right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _column_sums(rows: np.ndarray) -> np.ndarray:
    """Σ over the rows of a (P, C) array, as the product 1ᵀ rows: NumPy's ``sum(axis=0)``
    of a tall, narrow array (the digit CNN's first layer: 43 264 × 24) takes ten times as
    long as this matrix-vector product (BLAS), which also adds with less rounding."""
    return np.ones(len(rows), rows.dtype) @ rows


def _add_bias(z: np.ndarray, b: np.ndarray) -> None:
    """z += b along z's last axis (the channels), in place, with b tiled over one
    sample's positions first: NumPy adds a (C,) row with its inner loop over the C
    numbers (the digit CNN's first layer: 43 264 loops of 24), against the tiled
    (H', W', C) along whole rows, 2-3× faster."""
    z += np.tile(b, (*z.shape[1:-1], 1))


class _Windows(Layer):
    """What convolution and pooling share: a window of ``kernel`` cells (``dilation``
    apart) placed every ``stride`` cells, the padding rule, and gather/scatter.

    Inside, every layer works in 2-D: a 1-D layer sees (N, L, C) as (N, 1, L, C) with a
    1 × k window, so one implementation serves both.
    """

    rank: ClassVar[int] = 2
    channels_last: ClassVar[bool] = True  # torch holds this layer's data channels-first

    def _setup(self, kernel: Any, strides: Any, padding: str, dilation: Any,
               kernel_name: str = "kernel_size") -> None:
        where = type(self).__name__
        self.kernel_size = as_sizes(where, kernel_name, kernel, self.rank)
        self.strides = as_sizes(where, "strides", strides, self.rank)
        self.dilation_rate = as_sizes(where, "dilation_rate", dilation, self.rank)
        if not isinstance(padding, str) or padding not in PADDINGS:
            raise ValueError(f"{where}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding
        self.input_ndim = self.rank + 2
        self._cache: dict[str, Any] | None = None

    def _as_2d(self, values: tuple[int, ...], fill: int = 1) -> tuple[int, int]:
        return (fill, *values) if self.rank == 1 else values

    def _spatial_out(self, sizes: tuple[int, ...]) -> tuple[int, ...]:
        out = []
        for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate,
                              strict=True):
            span = d * (k - 1) + 1
            if self.padding == "same":
                out.append(-(-n // s))
            elif n < span:
                raise ValueError(f"{self.name}: a window of {span} cells does not fit an input "
                                 f"of {n} cells without padding")
            else:
                out.append((n - span) // s + 1)
        return tuple(out)

    def _check_spatial(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != self.rank + 1:
            layout = "(H, W, C)" if self.rank == 2 else "(L, C)"
            raise ValueError(f"{self.name}: expects per-sample shape {layout}, channels last, "
                             f"got {tuple(input_shape)}")
        return self._spatial_out(tuple(input_shape[:-1]))

    def _pads(self, sizes: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        kernel, stride = self._as_2d(self.kernel_size), self._as_2d(self.strides)
        dilation = self._as_2d(self.dilation_rate)
        if self.padding == "valid":
            return (0, 0), (0, 0)
        return tuple(same_padding(n, k, s, d)  # type: ignore[return-value]
                     for n, k, s, d in zip(sizes, kernel, stride, dilation, strict=True))

    def _slices(self, out: tuple[int, int]):
        """For each kernel offset (i, j): the input cells it meets, as two strided slices."""
        (kh, kw), (sh, sw) = self._as_2d(self.kernel_size), self._as_2d(self.strides)
        dh, dw = self._as_2d(self.dilation_rate)
        for i in range(kh):
            for j in range(kw):
                yield i, j, (slice(i * dh, i * dh + sh * (out[0] - 1) + 1, sh),
                             slice(j * dw, j * dw + sw * (out[1] - 1) + 1, sw))

    def _padded(self, x: np.ndarray, fill: float = 0.0) -> tuple[np.ndarray, tuple[int, int]]:
        """A 2-D batch x (N, H, W, C) padded by the layer's rule with ``fill``, and the
        output's (H', W'); remembers the geometry for :meth:`_scatter`."""
        out = self._as_2d(self._spatial_out(x.shape[3 - self.rank:3]))
        (top, bottom), (left, right) = self._pads(x.shape[1:3])
        if top or bottom or left or right:  # a filled array and one copy: np.pad takes 1.7×
            n, height, width, channels = x.shape
            shape = (n, top + height + bottom, left + width + right, channels)
            check_memory(self.name, f"its padded input of shape {shape}",
                         math.prod(shape) * x.itemsize)
            padded = np.full(shape, fill, x.dtype)
            padded[:, top:top + height, left:left + width, :] = x
            x = padded
        self._geometry = (x.shape, out, top, left)
        return x, out

    def _gather(self, x: np.ndarray) -> np.ndarray:
        """The windows of a 2-D batch x (N, H, W, C), zero-padded: (N, H', W', k_h, k_w, C).

        One strided view holds them all (``sliding_window_view``: every s-th window, every
        d-th cell of it) and one copy makes im2col's array. With a single channel (an
        image's first layer) one slice per kernel offset instead: that copy's inner loop
        would run over the one channel, three times slower than a slice's along a row."""
        return self._windows(*self._padded(x))

    def _windows(self, x: np.ndarray, out: tuple[int, int]) -> np.ndarray:
        """The (N, H', W', k_h, k_w, C) windows of an already padded batch x, ``out`` the
        (H', W') positions (:meth:`_gather`'s copy, without its padding)."""
        (kh, kw) = self._as_2d(self.kernel_size)
        if x.shape[3] == 1:
            cols = np.empty((x.shape[0], *out, kh, kw, 1), x.dtype)
            self._copy_single_channel(x, out, cols)
            return cols
        return np.ascontiguousarray(self._window_view(x, out))

    def _window_view(self, x: np.ndarray, out: tuple[int, int]) -> np.ndarray:
        """Every window of an already padded batch x as one strided view, no copy:
        (N, H', W', k_h, k_w, C), every s-th window, every d-th cell of it."""
        (kh, kw), (sh, sw) = self._as_2d(self.kernel_size), self._as_2d(self.strides)
        dh, dw = self._as_2d(self.dilation_rate)
        spans = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        windows = sliding_window_view(x, spans, axis=(1, 2))  # (N, ·, ·, C, span_h, span_w)
        windows = windows[:, :sh * out[0]:sh, :sw * out[1]:sw, :, ::dh, ::dw]
        return windows.transpose(0, 1, 2, 4, 5, 3)

    def _copy_single_channel(self, x: np.ndarray, out: tuple[int, int], cols: np.ndarray
                             ) -> None:
        """The windows of a one-channel padded batch x into ``cols``, one slice per kernel
        offset: the view's copy would run its inner loop over the one channel."""
        for i, j, (rows, columns) in self._slices(out):
            cols[:, :, :, i, j, :] = x[:, rows, columns, :]

    def _scatter(self, send: Callable[[int, int, np.ndarray], None], dtype: np.dtype
                 ) -> np.ndarray:
        """col2im, the adjoint of gathering: for each kernel offset (i, j),
        ``send(i, j, cells)`` adds onto ``cells`` (N, H', W', C), a strided view of the
        zero-initialised dL/dx̃ under that offset, what the windows send the cells they read
        there; the padding cut off."""
        padded_shape, out, top, left = self._geometry
        height, width = (1, self._input_shape[1]) if self.rank == 1 else self._input_shape[1:3]
        dx = np.zeros(padded_shape, dtype)
        for i, j, (rows, columns) in self._slices(out):
            send(i, j, dx[:, rows, columns, :])
        return dx[:, top:top + height, left:left + width, :]

    @property
    def _disjoint(self) -> bool:
        """Whether no input cell lies in two windows (stride ≥ window span on each axis,
        as the digit CNN's 2×2 pooling): then a cell's gradient can be written, not added."""
        return all(s >= d * (k - 1) + 1 for k, s, d in zip(
            self.kernel_size, self.strides, self.dilation_rate, strict=True))

    def _input_2d(self, x: np.ndarray) -> np.ndarray:
        x = self._input(x)
        self._input_shape = x.shape
        return x[:, None] if self.rank == 1 else x

    def _output(self, y: np.ndarray) -> np.ndarray:
        return y[:, 0] if self.rank == 1 else y

    def _grad_2d(self, grad_output: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        g = self._upstream(grad_output, shape)
        return g[:, None] if self.rank == 1 else g

    def _dx(self, dx: np.ndarray) -> np.ndarray:
        return dx[:, 0] if self.rank == 1 else dx

    def config(self) -> dict[str, Any]:
        return {"kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, **super().config()}


class _Convolution(_Windows):
    """A convolution's kernel W, bias b and activation φ (see :class:`Conv2D`)."""

    parameter_names = ("W", "b")

    def __init__(self, in_channels: int, filters: int, kernel_size: Any, *, strides: Any = 1,
                 padding: str = "valid", dilation_rate: Any = 1,
                 activation: str | Activation = "identity", use_bias: bool = True,
                 dtype: object = np.float64, seed: int | None = None,
                 name: str | None = None) -> None:
        kind = type(self).__name__
        self.use_bias = as_flag(kind, "use_bias", use_bias)
        if not self.use_bias:  # as before a BatchNormalization, whose β takes its place
            self.parameter_names = tuple(n for n in type(self).parameter_names if n != "b")
        for what, width in (("in_channels", in_channels), ("filters", filters)):
            if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
                raise ValueError(f"{kind}: {what} must be a positive integer, got {width!r}")
        self.in_channels, self.filters = int(in_channels), int(filters)
        self.activation = for_layer(kind, activation)
        self._setup(kernel_size, strides, padding, dilation_rate)
        super().__init__(dtype=dtype, name=name,
                         default_name=f"{kind}({in_channels}, {filters}, "
                                      f"{self.activation.name})")
        self.initialize(as_seed(kind, seed))

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        """W (*kernel_size, in, filters), b (filters); DepthwiseConv2D: W (*kernel_size,
        in, depth_multiplier), b (in · depth_multiplier)."""
        kernel, channels = list(config["kernel_size"]), config["in_channels"]
        out = config["depth_multiplier"] if "depth_multiplier" in config else config["filters"]
        bias = {"b": [channels * out if "depth_multiplier" in config else out]} \
            if config.get("use_bias", True) else {}
        return {"W": [*kernel, channels, out], **bias}

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        return (*self.kernel_size, self.in_channels, self.filters)

    @property
    def out_channels(self) -> int:
        return self.filters

    def initialize(self, rng: np.random.Generator) -> None:
        """Glorot-uniform kernel (fans counted over the window: k_h·k_w·in and k_h·k_w·out)
        and zero bias, Keras's defaults."""
        window = math.prod(self.kernel_size)
        limit = np.sqrt(6.0 / (window * self.in_channels + window * self.out_channels))
        self._values["W"] = rng.uniform(-limit, limit, self.kernel_shape).astype(self.dtype)
        if self.use_bias:
            self._values["b"] = np.zeros(self.out_channels, self.dtype)

    @property
    def W(self) -> np.ndarray:
        """The kernel (see the class's Shape section)."""
        return self._values["W"]

    @W.setter
    def W(self, value: np.ndarray) -> None:
        self.set("W", value)

    @property
    def b(self) -> np.ndarray:
        """The bias, shape (out_channels,)."""
        return self._values["b"]

    @b.setter
    def b(self, value: np.ndarray) -> None:
        self.set("b", value)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        out = self._check_spatial(input_shape)
        if input_shape[-1] != self.in_channels:
            raise ValueError(f"{self.name}: expects {self.in_channels} input channels (the last "
                             f"axis), got per-sample shape {tuple(input_shape)}")
        return (*out, self.out_channels)

    def _check_channels(self, x: np.ndarray) -> None:
        if x.shape[-1] != self.in_channels:
            raise ValueError(f"{self.name}: input x must have {self.in_channels} channels on its "
                             f"last axis (channels-last), got shape {self._input_shape}")

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = φ(conv(x, W) + b); remembers the windows and z for :meth:`backward`."""
        x = self._input_2d(x)
        self._check_channels(x)
        z, kept = self._convolve(x)
        if self.use_bias:
            _add_bias(z, self.b)
        self._cache = {**kept, "z": z}
        # identity (a convolution before a BatchNormalization): z itself, not φ's copy of it
        return self._output(z if self.activation.name == "identity" else self.activation(z))

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """Given g = dL/dy: δ = φ'(z) ⊙ g, dL/dW from the windows and δ, dL/db = Σ δ, and
        dL/dx as the windows' gradients added back (col2im)."""
        if self._cache is None:
            raise self._no_forward()
        z = self._cache["z"]
        g = self._grad_2d(grad_output, self._output(z).shape)
        # identity: δ = g, without φ'(z) = 1 made and multiplied (backward reads z's shape only)
        delta = g if self.activation.name == "identity" else self.activation.vjp(z, g)
        weights, dx = self._gradients_from(delta, input_gradient)
        self._gradients = {"W": weights}
        if self.use_bias:
            self._gradients["b"] = _column_sums(delta.reshape(-1, delta.shape[-1]))
        return None if dx is None else self._dx(dx)

    def _convolve(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """z without the bias, from a 2-D batch x, and what backward reads: the windows
        (im2col)."""
        cols = self._gather(x)
        return self._combine(cols), {"cols": cols}

    def _gradients_from(self, delta: np.ndarray, input_gradient: bool
                        ) -> tuple[np.ndarray, np.ndarray | None]:
        """dL/dW from the forward's windows, and dL/dx (2-D; None unless asked)."""
        weights = self._kernel_gradient(self._cache["cols"], delta)
        return weights, self._input_gradient(delta) if input_gradient else None

    def _input_gradient(self, delta: np.ndarray) -> np.ndarray:
        """dL/dx (2-D) from δ: each offset's δ W[i, j]ᵀ added back (col2im)."""
        sent = np.empty((*delta.shape[:3], self.in_channels), delta.dtype)  # one per offset

        def send(i: int, j: int, cells: np.ndarray) -> None:
            cells += self._sent_back(delta, i, j, out=sent)

        return self._scatter(send, delta.dtype)

    def config(self) -> dict[str, Any]:
        bias = {} if self.use_bias else {"use_bias": False}
        return {"in_channels": self.in_channels, "filters": self.filters,
                "dilation_rate": list(self.dilation_rate), "activation": self.activation.name,
                "activation_params": dict(self.activation.params), **bias,
                **super().config()}


class Conv2D(_Convolution):
    r"""2-D convolution over channels-last images, y = φ(conv(x, W) + b).

    A cross-correlation, as in every framework:

        z[n, h, w, o] = b_o + Σ_{i, j, c} x̃[n, h·s_h + i·d_h, w·s_w + j·d_w, c] · W[i, j, c, o],
        y = φ(z),

    x̃ the input padded by the layer's rule (module docstring: TF's ``"same"`` or
    ``"valid"``), s the strides, d the dilation. The kernel layout (k_h, k_w, in, out) is
    Keras's; torch's ``nn.Conv2d.weight`` is (out, in, k_h, k_w), ``W.transpose(3, 2, 0, 1)``.

    Backward, given g = dL/dy: δ = φ'(z) ⊙ g; dL/dW[i, j, c, o] = Σ_{n,h,w} x̃[…] δ[n,h,w,o]
    (windows transposed times δ), dL/db = Σ_{n,h,w} δ, and dL/dx̃ = δ Wᵀ spread back over
    every window (each input cell collects what each window it fell in sends it).

    Shape:
        x: (N, H, W, in_channels) → y, z: (N, H', W', filters), H' = ⌈H/s_h⌉ with
        ``"same"``, ⌊(H − d_h(k_h − 1) − 1)/s_h⌋ + 1 with ``"valid"`` (W' alike);
        W: (k_h, k_w, in_channels, filters); b: (filters,).

    Args:
        in_channels, filters: channels in and out.
        kernel_size, strides, dilation_rate: an int or a pair (h, w).
        padding: ``"valid"`` (none) or ``"same"`` (TF's rule).
        activation: a name from ``reference.activations`` or an ``Activation``.
        use_bias, dtype, seed, name: as :class:`reference.layers.Dense`.
    """

    def _blocks(self, padded: np.ndarray, out: tuple[int, int], keep: np.ndarray | None = None
                ) -> Iterator[tuple[slice, np.ndarray]]:
        """The windows of a padded 2-D batch for ``out`` (H', W') positions, a block of
        samples at a time, each about ``_BLOCK_BYTES``: yields the block's samples and its
        windows as im2col's rows (n·H'·W', k_h·k_w·C), copied into ``keep[samples]``
        (``keep``: the whole batch's (N, H', W', k_h, k_w, C) windows) or, without
        ``keep``, into one buffer reused by every block.

        Why blocks: the batch's windows are k_h·k_w times its input (the ResNet's 8-channel
        layer: 14 MB in float32). Copied whole, then multiplied, they go out to memory and
        are read back; a block's product reads them from the cache the copy left them in
        (that layer's forward: 4-16% less time in float32, 41-44% in float64). The loop
        runs over blocks, not samples: one copy and one product of about a megabyte each
        turn. The strided view of all windows is made once (making one costs about as much
        as copying a sample's windows)."""
        (kh, kw), channels = self._as_2d(self.kernel_size), padded.shape[3]
        per_sample = out[0] * out[1] * kh * kw * channels * padded.itemsize
        size = max(1, min(len(padded), _BLOCK_BYTES // max(per_sample, 1)))
        view = self._window_view(padded, out)
        reused = None if keep is not None else \
            np.empty((size, *out, kh, kw, channels), padded.dtype)
        for start in range(0, len(padded), size):
            samples = slice(start, start + size)
            cols = keep[samples] if reused is None else reused[:len(padded[samples])]
            if channels == 1:
                self._copy_single_channel(padded[samples], out, cols)
            else:
                np.copyto(cols, view[samples])
            yield samples, cols.reshape(len(cols) * out[0] * out[1], kh * kw * channels)

    @property
    def _transposed(self) -> bool:
        """Whether backward takes dL/dx and dL/dW from δ's windows (stride 1, "same"
        padding: :meth:`_by_transposed_convolution`)."""
        return self.padding == "same" and all(s == 1 for s in self.strides)

    def _convolve(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """z = windows · W without the bias, one product per block of samples
        (:meth:`_blocks`) with the kernel as a (k_h·k_w·C, out) matrix, and what backward
        reads: the input, padded and not, and the whole batch's windows, kept for dL/dW
        (None where backward takes dL/dW from δ's windows, :attr:`_transposed`; one
        channel's are kept all the same: they are small, k_h·k_w numbers a pixel, and a
        first layer's backward, without dL/dx, reads them)."""
        padded, out = self._padded(x)
        (kh, kw), filters = self._as_2d(self.kernel_size), self.filters
        keep = not self._transposed or x.shape[3] == 1
        cols = np.empty((len(x), *out, kh, kw, x.shape[3]), x.dtype) if keep else None
        z = np.empty((len(x), *out, filters), x.dtype)
        kernel = self.W.reshape(-1, filters)
        for samples, rows in self._blocks(padded, out, keep=cols):
            np.matmul(rows, kernel, out=z[samples].reshape(-1, filters))
        return z, {"cols": cols, "x": x, "padded": padded}

    def _gradients_from(self, delta: np.ndarray, input_gradient: bool
                        ) -> tuple[np.ndarray, np.ndarray | None]:
        """dL/dW and dL/dx (None unless asked): both from δ's windows at stride 1 with
        "same" padding (one gather serves both); otherwise dL/dW from the forward's windows,
        or from the padded input's gathered again block by block where the forward kept
        none (a first layer's backward), and dL/dx by :meth:`_input_gradient`."""
        if input_gradient and self._transposed:
            return self._by_transposed_convolution(delta)
        cols = self._cache["cols"]
        weights = self._kernel_gradient(cols, delta) if cols is not None else \
            self._kernel_gradient_in_blocks(delta)
        return weights, self._input_gradient(delta) if input_gradient else None

    def _kernel_gradient(self, cols: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """dL/dW = windowsᵀ δ: one BLAS product, computed as its transpose δᵀ windows,
        (out, N·H'·W') × (N·H'·W', k_h·k_w·C), whose long operand OpenBLAS reads faster
        this way round (the digit CNN's and the ResNet's products: 1-21% less time)."""
        rows = cols.reshape(-1, math.prod(cols.shape[3:]))
        transposed = delta.reshape(len(rows), delta.shape[-1]).T @ rows  # (out, k_h·k_w·C)
        return np.ascontiguousarray(transposed.T).reshape(self.W.shape)

    def _kernel_gradient_in_blocks(self, delta: np.ndarray) -> np.ndarray:
        """dL/dW = windowsᵀ δ as :meth:`_kernel_gradient`, the windows gathered again from
        the padded input a block at a time, the blocks' products summed."""
        padded, filters = self._cache["padded"], delta.shape[-1]
        transposed = np.zeros((filters, self.W.size // filters), delta.dtype)
        for samples, rows in self._blocks(padded, delta.shape[1:3]):
            transposed += delta[samples].reshape(-1, filters).T @ rows
        return np.ascontiguousarray(transposed.T).reshape(self.W.shape)

    def _by_transposed_convolution(self, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dL/dW and dL/dx (2-D) at stride 1 with ``"same"`` padding, from the windows of
        δ̂, δ zero-padded so that every input cell sees the whole kernel (by d·(k − 1) minus
        the forward's padding on each side). dL/dx is the transposed convolution, those
        windows times the kernel flipped in space, in and out swapped,

            dL/dx[n, a, b, c] = Σ_{i, j, o} δ̂[n, a + i·d_h, b + j·d_w, o]
                                             · W[k_h − 1 − i, k_w − 1 − j, c, o],

        and dL/dW is the input against the same windows, flipped back:

            dL/dW[i, j, c, o] = Σ_{n, a, b} x[n, a, b, c]
                                            · δ̂[n, a + (k_h − 1 − i)·d_h, b + (k_w − 1 − j)·d_w, o].

        The forward's shapes, one gather for both products, block by block
        (:meth:`_blocks`); the forward keeps no windows. The ResNet's 8 → 8 layer's
        backward: 26% less time than dL/dW from the forward's whole-batch windows and dL/dx
        from a whole batch of δ's windows in float32, 42% in float64."""
        x = self._cache["x"]
        _, _, top, left = self._geometry
        height, width = x.shape[1:3]
        (kh, kw), (dh, dw) = self._as_2d(self.kernel_size), self._as_2d(self.dilation_rate)
        channels, filters = self.in_channels, delta.shape[-1]
        reach_h, reach_w = dh * (kh - 1), dw * (kw - 1)
        spread = np.zeros((len(delta), height + reach_h, width + reach_w, filters), delta.dtype)
        spread[:, reach_h - top:reach_h - top + delta.shape[1],
               reach_w - left:reach_w - left + delta.shape[2], :] = delta
        flipped = self.W.reshape(kh, kw, channels, filters)[::-1, ::-1].transpose(0, 1, 3, 2)
        flipped = flipped.reshape(-1, channels)  # (k_h·k_w·out, in)
        dx = np.empty((len(delta), height, width, channels), delta.dtype)
        against = np.zeros((channels, kh * kw * filters), delta.dtype)  # xᵀ windows
        for samples, rows in self._blocks(spread, (height, width)):
            np.matmul(rows, flipped, out=dx[samples].reshape(-1, channels))
            against += x[samples].reshape(-1, channels).T @ rows
        weights = against.reshape(channels, kh, kw, filters)[:, ::-1, ::-1].transpose(1, 2, 0, 3)
        return np.ascontiguousarray(weights).reshape(self.W.shape), dx

    def _input_gradient(self, delta: np.ndarray) -> np.ndarray:
        """dL/dx (2-D) from δ where it is no transposed convolution (that is stride 1 with
        "same" padding: :meth:`_by_transposed_convolution`): at strides above 1 without
        dilation, :meth:`_input_gradient_by_phase` (the transposed convolution of δ
        dilated with zeros: 2.4× slower on the ResNet's stride-2 layer); otherwise
        (``"valid"`` padding, or dilation at strides above 1) the per-offset products (the
        transposed convolution would compute (H' + k − 1)² positions for H'²: the digit
        CNN's second layer's backward 10-43% slower)."""
        if any(s != 1 for s in self.strides) and all(d == 1 for d in self.dilation_rate):
            return self._input_gradient_by_phase(delta)
        return super()._input_gradient(delta)

    def _input_gradient_by_phase(self, delta: np.ndarray) -> np.ndarray:
        """dL/dx at strides s > 1 (no dilation), one phase (p, q) of the stride at a time:
        the padded input's cells x̃[p + s·u, q + s·v] meet only the kernel offsets
        (p + s·a, q + s·b), from output position (u − a, v − b):

            dL/dx̃[n, p + s_h u, q + s_w v, c] = Σ_{a, b, o} δ[n, u − a, v − b, o]
                                                          · W[p + s_h a, q + s_w b, c, o].

        Each offset's product δ W[i, j]ᵀ, as in the per-offset scatter, is added into a
        contiguous array of its phase, shifted by (a, b): NumPy's adds run along whole
        rows, where adding into the stride's cells of dL/dx̃ runs its inner loop over C
        numbers; each phase is then written into its cells once. The same sums in the
        same order (the ResNet's stride-2 layer's backward: 20% less time in float32, 14%
        in float64)."""
        padded_shape, _, top, left = self._geometry
        height, width = (1, self._input_shape[1]) if self.rank == 1 else self._input_shape[1:3]
        (kh, kw), (sh, sw) = self._as_2d(self.kernel_size), self._as_2d(self.strides)
        kernel = self.W.reshape(kh, kw, self.in_channels, -1)
        n, rows, columns, out = delta.shape
        dx = np.zeros(padded_shape, delta.dtype)
        sent = np.empty((n, rows, columns, self.in_channels), delta.dtype)
        for p in range(min(sh, kh)):
            for q in range(min(sw, kw)):
                cells = dx[:, p::sh, q::sw, :]
                phase = np.zeros(cells.shape, delta.dtype)  # contiguous: its adds run along rows
                for a, i in enumerate(range(p, kh, sh)):
                    for b, j in enumerate(range(q, kw, sw)):
                        np.matmul(delta.reshape(-1, out), kernel[i, j].T,
                                  out=sent.reshape(-1, self.in_channels))
                        u, v = min(rows, cells.shape[1] - a), min(columns, cells.shape[2] - b)
                        phase[:, a:a + u, b:b + v, :] += sent[:, :u, :v, :]
                cells[...] = phase
        return dx[:, top:top + height, left:left + width, :]

    def _sent_back(self, delta: np.ndarray, i: int, j: int, out: np.ndarray) -> np.ndarray:
        """What the windows send the cells under kernel offset (i, j): δ W[i, j]ᵀ, one
        product per offset into ``out``.

        Not one (N·H'·W', out) × (out, k_h·k_w·C) product for all offsets: it computes
        faster, but adding its strided per-offset slices back runs NumPy's inner loop over
        C cells at a time, where a contiguous (N, H', W', C) result adds whole rows: the
        digit CNN's second layer's backward takes 15-35% less this way."""
        kernel = self.W.reshape(self._as_2d(self.kernel_size) + self.W.shape[-2:])[i, j]
        # as 2-D arrays, one BLAS call (matmul would loop over (N, H') stacks of (W', out))
        np.matmul(delta.reshape(-1, kernel.shape[1]), kernel.T, out=out.reshape(-1, len(kernel)))
        return out


class Conv1D(Conv2D):
    r"""1-D convolution over channels-last sequences, y = φ(conv(x, W) + b).

        z[n, l, o] = b_o + Σ_{i, c} x̃[n, l·s + i·d, c] · W[i, c, o],  y = φ(z).

    Everything else as :class:`Conv2D` along one axis. torch's ``nn.Conv1d`` takes
    (N, C, L) and stores its weight (out, in, k), ``W.transpose(2, 1, 0)``.

    Shape:
        x: (N, L, in_channels) → y, z: (N, L', filters); W: (k, in_channels, filters);
        b: (filters,).
    """

    rank = 1


class DepthwiseConv2D(_Convolution):
    r"""Depthwise 2-D convolution: each channel convolved with its own M filters.

    Each input channel c meets its own ``depth_multiplier`` M filters and channels never
    mix (a grouped convolution with one group per channel):

        z[n, h, w, c·M + m] = b_{c·M+m}
                             + Σ_{i, j} x̃[n, h·s_h + i·d_h, w·s_w + j·d_w, c] W[i, j, c, m].

    Keras's ``DepthwiseConv2D`` keeps the kernel (k_h, k_w, in, M) as here; torch writes it
    ``nn.Conv2d(C, C·M, k, groups=C)`` with weight (C·M, 1, k_h, k_w), output channel
    c·M + m in both.

    Backward per channel, as :class:`Conv2D`'s with in = 1: dL/dW[i, j, c, m] =
    Σ x̃[…, c] δ[…, c·M + m], dL/dx̃ = Σ_m δ[…, c·M + m] W[i, j, c, m] spread back.

    Shape:
        x: (N, H, W, C) → y, z: (N, H', W', C·M); W: (k_h, k_w, C, M); b: (C·M,).
    """

    def __init__(self, in_channels: int, kernel_size: Any, *, depth_multiplier: int = 1,
                 **options: Any) -> None:
        check_count(type(self).__name__, "in_channels", in_channels, 1)
        check_count(type(self).__name__, "depth_multiplier", depth_multiplier, 1)
        self.depth_multiplier = int(depth_multiplier)
        super().__init__(in_channels, in_channels * self.depth_multiplier, kernel_size,
                         **options)

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        return (*self.kernel_size, self.in_channels, self.depth_multiplier)

    def initialize(self, rng: np.random.Generator) -> None:
        """Glorot-uniform as Keras counts the fans of a depthwise kernel (k_h·k_w·C and
        k_h·k_w·M), zero bias."""
        window = math.prod(self.kernel_size)
        limit = np.sqrt(6.0 / (window * self.in_channels + window * self.depth_multiplier))
        self._values["W"] = rng.uniform(-limit, limit, self.kernel_shape).astype(self.dtype)
        if self.use_bias:
            self._values["b"] = np.zeros(self.out_channels, self.dtype)

    def _combine(self, cols: np.ndarray) -> np.ndarray:
        n, h, w, kh, kw, c = cols.shape
        per_channel = cols.reshape(-1, kh * kw, c).transpose(2, 0, 1)  # (C, P, k_h·k_w)
        z = per_channel @ self.W.reshape(kh * kw, c, -1).transpose(1, 0, 2)  # (C, P, M)
        return z.transpose(1, 0, 2).reshape(n, h, w, c * z.shape[-1])

    def _kernel_gradient(self, cols: np.ndarray, delta: np.ndarray) -> np.ndarray:
        kh, kw, c, m = self.W.shape
        per_channel = cols.reshape(-1, kh * kw, c).transpose(2, 1, 0)   # (C, k, P)
        d = delta.reshape(-1, c, m).transpose(1, 0, 2)                   # (C, P, M)
        return (per_channel @ d).transpose(1, 0, 2).reshape(self.W.shape)

    def _sent_back(self, delta: np.ndarray, i: int, j: int, out: np.ndarray) -> np.ndarray:
        """Σ_m δ[…, c·M + m] W[i, j, c, m], channel by channel, into ``out``."""
        c, m = self.W.shape[2:]
        return np.einsum("nhwcm,cm->nhwc", delta.reshape(*delta.shape[:3], c, m),
                         self.W[i, j], out=out)

    def config(self) -> dict[str, Any]:
        config = super().config()
        del config["filters"]
        return {**config, "depth_multiplier": self.depth_multiplier}


class _Pool(_Windows):
    """A pooling window (see :class:`MaxPool2D`); no parameters, the input's dtype."""

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", *,
                 dtype: object | None = None, name: str | None = None) -> None:
        self._setup(pool_size, pool_size if strides is None else strides, padding, 1,
                    "pool_size")
        super().__init__(dtype=dtype, name=name,
                         default_name=f"{type(self).__name__}({self.kernel_size}, "
                                      f"{self.strides})")

    @property
    def pool_size(self) -> tuple[int, ...]:
        return self.kernel_size

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*self._check_spatial(input_shape), input_shape[-1])

    def config(self) -> dict[str, Any]:
        config = super().config()
        return {"pool_size": config.pop("kernel_size"), **config}


class MaxPool2D(_Pool):
    r"""Max pooling: y[n, h, w, c] = max_{i, j} x̃[n, h·s_h + i, w·s_w + j, c], x̃ padded
    with −∞ under ``"same"`` (a padded cell never wins).

    Backward: each window sends g to the cell that held its maximum (the first, in
    row-major order, on a tie, as torch and TF both pick); a cell in several windows
    collects from each.

    Shape:
        x: (N, H, W, C) → y: (N, H', W', C), H' as :class:`Conv2D`'s with d = 1.

    Args:
        pool_size: an int or a pair; strides: the same, default ``pool_size``
            (Keras's and torch's default both); padding: ``"valid"`` or ``"same"``.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x, out = self._padded(self._input_2d(x), fill=-np.inf)
        (_, _, (rows, columns)), *others = self._slices(out)
        best = x[:, rows, columns, :].copy()
        # better[k]: offset k + 1 (row-major i·k_w + j) beat the offsets before it; the
        # maximum is first held by the last offset that beat the rest (backward's rule)
        better = np.empty((len(others), *best.shape), bool)
        for k, (_, _, (rows, columns)) in enumerate(others):  # each over the whole batch
            cells = x[:, rows, columns, :]
            np.greater(cells, best, out=better[k])  # strictly: a tie keeps the first
            np.maximum(best, cells, out=best)  # a NaN wins and stays: NaN in, NaN out
        y = self._output(best)
        self._cache = {"better": better, "shape": y.shape}
        return y

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._cache is None:
            raise self._no_forward()
        better, shape = self._cache["better"], self._cache["shape"]
        g = self._grad_2d(grad_output, shape)
        if not input_gradient:
            return None
        # routed[k]: g goes to the cell under offset k, the winner: the last offset that
        # beat those before it, found walking back (a bool pass each, where a stored index
        # would cost the forward pass three integer passes per offset)
        routed, later = [], np.zeros(better.shape[1:], bool)
        for beat in better[::-1]:
            routed.append(np.greater(beat, later))  # beat, and nothing later beat it
            np.logical_or(later, beat, out=later)
        routed = [~later, *routed[::-1]]
        kw = self._as_2d(self.kernel_size)[1]

        def send(i: int, j: int, cells: np.ndarray) -> None:
            if self._disjoint:  # written straight into dL/dx: no temporary, no second pass
                np.multiply(g, routed[i * kw + j], out=cells)
            else:
                cells += g * routed[i * kw + j]

        return self._dx(self._scatter(send, g.dtype))


class AveragePool2D(_Pool):
    r"""Average pooling: y[n, h, w, c] = (1/|w|) Σ_{(i, j) ∈ w} x̃[n, h·s_h + i, w·s_w + j, c].

    Under ``"same"`` padding the frameworks divide differently: Keras's
    ``AveragePooling2D`` (TF's ``avg_pool``) averages over the window's real cells only,
    |w| = the cells inside the input (``count_include_pad=False``, the default here);
    torch's ``nn.AvgPool2d`` counts its zero padding in the divisor unless told
    ``count_include_pad=False`` (its default is True), |w| = k_h·k_w.

    Backward: every cell of a window receives g / |w|.

    Shape:
        x: (N, H, W, C) → y: (N, H', W', C).

    Args:
        pool_size, strides, padding: as :class:`MaxPool2D`.
        count_include_pad: count the padded cells in the divisor (torch's default) rather
            than leave them out (Keras's only behaviour).
    """

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", *,
                 count_include_pad: bool = False, **options: Any) -> None:
        super().__init__(pool_size, strides, padding, **options)
        self.count_include_pad = as_flag("AveragePool2D", "count_include_pad", count_include_pad)

    def _divisor(self, x: np.ndarray) -> np.ndarray | float:
        if self.padding == "valid" or self.count_include_pad:
            return float(math.prod(self.kernel_size))
        real, out = self._padded(np.ones((1, *x.shape[1:3], 1), x.dtype))  # 1: a real cell
        return sum(real[:, rows, columns, :] for _, _, (rows, columns) in self._slices(out))

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input_2d(x)
        divisor = self._divisor(x)
        x, out = self._padded(x)
        total = sum(x[:, rows, columns, :] for _, _, (rows, columns) in self._slices(out))
        self._cache = {"divisor": divisor, "shape": total.shape}
        return self._output((total / divisor).astype(x.dtype))

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._cache is None:
            raise self._no_forward()
        g = self._grad_2d(grad_output, self._cache["shape"])
        if not input_gradient:
            return None
        share = (g / self._cache["divisor"]).astype(g.dtype)  # every cell of a window: g/|w|

        def send(i: int, j: int, cells: np.ndarray) -> None:
            cells += share

        return self._dx(self._scatter(send, g.dtype))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "count_include_pad": self.count_include_pad}


def _sample_shape(layer: Layer, input_shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """``input_shape`` (one sample's) as a tuple, if it has as many axes as ``layout``
    names, e.g. "(H, W, C)"; otherwise a ValueError naming ``layer``."""
    if len(input_shape) != layout.count(",") + 1:
        raise ValueError(f"{layer.name}: expects per-sample shape {layout}, got "
                         f"{tuple(input_shape)}")
    return tuple(input_shape)


class _GlobalPooling(Layer):
    """What the global poolings share: one number per channel from every position of a
    sample, (N, *positions, C) → (N, C), or (N, 1, …, 1, C) with ``keepdims=True`` (Keras's
    ``keepdims``: MobileNet pools so, then classifies with a 1×1 convolution). Subclasses
    set ``layout`` and the reduction."""

    layout: ClassVar[str]
    channels_last: ClassVar[bool] = True
    any_length = True  # every position pooled, however many: (C,) out

    def __init__(self, *, keepdims: bool = False, dtype: object | None = None,
                 name: str | None = None) -> None:
        self.keepdims = as_flag(type(self).__name__, "keepdims", keepdims)
        super().__init__(dtype=dtype, name=name)
        self._shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        *positions, channels = _sample_shape(self, input_shape, self.layout)
        return (*(1,) * len(positions) * self.keepdims, channels)

    def _pooled(self, y: np.ndarray) -> np.ndarray:
        """``y`` (N, C) as the layer gives it: (N, 1, …, 1, C) with ``keepdims``."""
        return y.reshape(len(y), *(1,) * (len(self._shape) - 2) * self.keepdims, -1)

    def _upstream_pooled(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dy as (N, C), from the shape the layer gave y."""
        n, *positions, c = self._shape
        g = self._upstream(grad_output, (n, *(1,) * len(positions) * self.keepdims, c))
        return g.reshape(n, c)

    def config(self) -> dict[str, Any]:
        return {**({"keepdims": True} if self.keepdims else {}), **super().config()}

    def _record(self, x: np.ndarray) -> np.ndarray:
        """``x``, its shape kept for the backward pass, if it has a position to pool."""
        if math.prod(x.shape[1:-1]) == 0:  # the mean or maximum of nothing is undefined
            raise ValueError(f"{self.name}: input x has no positions to pool, got shape "
                             f"{x.shape}")
        self._shape = x.shape
        return x


class _GlobalAverage(_GlobalPooling):
    """The mean over every position of a sample, y[n, c] = (1/P) Σ_p x[n, p, c], and its
    backward, g / P to every position (P positions: H·W of an image, L of a sequence)."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._record(self._input(x))
        return x.mean(axis=tuple(range(1, x.ndim - 1)), keepdims=self.keepdims)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        n, *positions, c = self._shape
        g = self._upstream_pooled(grad_output)
        if not input_gradient:
            return None
        share = (g / math.prod(positions)).reshape((n,) + (1,) * len(positions) + (c,))
        return np.broadcast_to(share, self._shape).copy()


class GlobalAveragePooling2D(_GlobalAverage):
    r"""The mean of each channel over the whole image: y[n, c] = (1/HW) Σ_{h,w} x[n, h, w, c].

    Keras's ``GlobalAveragePooling2D``; in torch ``x.mean(dim=(2, 3))`` on (N, C, H, W)
    (or ``nn.AdaptiveAvgPool2d(1)`` then ``nn.Flatten()``; ``keepdims=True``: without the
    Flatten). Backward: g / (HW) to every cell.

    Shape:
        x: (N, H, W, C) → y: (N, C); keepdims: (N, 1, 1, C).
    """

    input_ndim = 4
    layout = "(H, W, C)"


class GlobalMaxPooling2D(_GlobalPooling):
    r"""The maximum of each channel over the whole image:
    y[n, c] = max_{h,w} x[n, h, w, c].

    Keras's ``GlobalMaxPooling2D``; in torch ``nn.AdaptiveMaxPool2d(1)`` then
    ``nn.Flatten()`` on (N, C, H, W) (``keepdims=True``: without the Flatten). Backward: g
    goes to the cell that held the maximum, the first in row-major (h, w) order on a tie,
    as ``nn.AdaptiveMaxPool2d`` picks it; TF's gradient of ``reduce_max`` (Keras's) splits
    g evenly among tied cells instead, so the parity cases hold no ties (random real
    inputs).

    Shape:
        x: (N, H, W, C) → y: (N, C); keepdims: (N, 1, 1, C).
    """

    input_ndim = 4
    layout = "(H, W, C)"

    def __init__(self, *, keepdims: bool = False, dtype: object | None = None,
                 name: str | None = None) -> None:
        super().__init__(keepdims=keepdims, dtype=dtype, name=name)
        self._winner: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._record(self._input(x))
        cells = x.reshape(len(x), x.shape[1] * x.shape[2], x.shape[3])  # (N, H·W, C)
        self._winner = np.argmax(cells, axis=1)  # the first maximum (a NaN wins)
        return self._pooled(np.take_along_axis(cells, self._winner[:, None], axis=1)[:, 0])

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None or self._winner is None:
            raise self._no_forward()
        n, h, w, c = self._shape
        g = self._upstream_pooled(grad_output)
        if not input_gradient:
            return None
        dx = np.zeros((n, h * w, c), g.dtype)
        np.put_along_axis(dx, self._winner[:, None], g[:, None], axis=1)
        return dx.reshape(self._shape)


class GlobalAveragePooling1D(_GlobalAverage):
    r"""The mean of each channel over the sequence: y[n, c] = (1/L) Σ_l x[n, l, c].

    Keras's ``GlobalAveragePooling1D`` on (N, L, C). In torch a Conv1D's output is
    channels-first, (N, C, L): ``nn.AdaptiveAvgPool1d(1)`` then ``nn.Flatten()``; any other
    sequence (an Embedding's, a recurrent layer's) stays (N, L, C) there too:
    ``nn.AdaptiveAvgPool2d((1, None))`` then ``nn.Flatten()`` (``keepdims=True``: without
    the Flatten). Backward: g / L to every step.

    Shape:
        x: (N, L, C) → y: (N, C); keepdims: (N, 1, C).
    """

    input_ndim = 3
    layout = "(L, C)"
    # it takes a sequence as it comes: a feature map only after a convolution, so a
    # recurrent layer before it keeps torch's (N, L, C) (reference.graphs.feature_maps)
    channels_last: ClassVar[bool] = False


class ZeroPadding2D(Layer):
    r"""Zeros around each image: ``padding`` = ((top, bottom), (left, right)) rows and
    columns, channels untouched.

    Keras's ``ZeroPadding2D(padding)`` takes an int (all four sides), a pair (rows, cols)
    symmetric, or ((top, bottom), (left, right)); torch's ``nn.ZeroPad2d`` takes
    (left, right, top, bottom): the last axis first, as ``F.pad`` counts. Backward: dL/dx
    is g without the padded border.

    Shape:
        x: (N, H, W, C) → y: (N, top + H + bottom, left + W + right, C).
    """

    input_ndim = 4
    channels_last: ClassVar[bool] = True

    def __init__(self, padding: int | tuple[int, int] | tuple[tuple[int, int], tuple[int, int]]
                 = 1, *, dtype: object | None = None, name: str | None = None) -> None:
        self.padding = _paddings(padding)
        super().__init__(dtype=dtype, name=name, default_name=f"ZeroPadding2D({self.padding})")
        self._shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        (top, bottom), (left, right) = self.padding
        h, w, c = _sample_shape(self, input_shape, "(H, W, C)")
        return (top + h + bottom, left + w + right, c)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self.output_shape(x.shape[1:])
        self._shape = x.shape
        return np.pad(x, ((0, 0), *self.padding, (0, 0)))

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        n, h, w, c = self._shape
        (top, _), (left, _) = self.padding
        g = self._upstream(grad_output, (n, *self.output_shape((h, w, c))))
        return g[:, top:top + h, left:left + w].copy() if input_gradient else None

    def config(self) -> dict[str, Any]:
        return {"padding": [list(pair) for pair in self.padding], **super().config()}


def _paddings(padding: object, where: str = "ZeroPadding2D", what: str = "padding"
              ) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's three spellings of ZeroPadding2D's padding (and Cropping2D's cropping) as
    ((top, bottom), (left, right))."""
    refused = ValueError(f"{where}: {what} must be integers ≥ 0: an int, (rows, cols) "
                         f"or ((top, bottom), (left, right)), got {padding!r}")

    def count(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise refused
        return int(value)

    if isinstance(padding, int | np.integer) and not isinstance(padding, bool):
        return (count(padding),) * 2, (count(padding),) * 2
    pairs = tuple(padding) if isinstance(padding, tuple | list) else ()
    if len(pairs) == 2 and all(isinstance(p, int | np.integer) for p in pairs):
        return (count(pairs[0]),) * 2, (count(pairs[1]),) * 2
    if len(pairs) == 2 and all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        (top, bottom), (left, right) = pairs
        return (count(top), count(bottom)), (count(left), count(right))
    raise refused

LAYERS.update({cls.__name__: cls for cls in (Conv1D, Conv2D, DepthwiseConv2D, MaxPool2D,
                                             AveragePool2D, GlobalAveragePooling2D,
                                             ZeroPadding2D)})


# ── the layers of upsampling paths (U-Net) and separable stacks (MobileNet) ──────────────

class Cropping2D(Layer):
    r"""Rows and columns cut from each image's border: ``cropping`` = ((top, bottom),
    (left, right)), channels untouched; the inverse of :class:`ZeroPadding2D`'s shape.

        y[n, h, w, c] = x[n, top + h, left + w, c].

    Keras's ``Cropping2D(cropping)`` takes ZeroPadding2D's three spellings: an int (all
    four sides), a pair (rows, cols) symmetric, or ((top, bottom), (left, right)). torch
    has no crop module: ``nn.ZeroPad2d`` with the amounts negated, (−left, −right, −top,
    −bottom) in F.pad's order, cuts them (a negative pad removes cells), and a ``forward``
    slices ``x[:, :, top:H − bottom, left:W − right]``. Backward: g put back in a zero
    array of the input's shape (the adjoint of a slice is ZeroPadding2D's forward).

    Shape:
        x: (N, H, W, C) → y: (N, H − top − bottom, W − left − right, C).
    """

    input_ndim = 4
    channels_last: ClassVar[bool] = True

    def __init__(self, cropping: int | tuple[int, int] | tuple[tuple[int, int], tuple[int, int]]
                 = ((0, 0), (0, 0)), *, dtype: object | None = None,
                 name: str | None = None) -> None:
        self.cropping = _paddings(cropping, "Cropping2D", "cropping")
        super().__init__(dtype=dtype, name=name, default_name=f"Cropping2D({self.cropping})")
        self._shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        (top, bottom), (left, right) = self.cropping
        h, w, c = _sample_shape(self, input_shape, "(H, W, C)")
        if top + bottom >= h or left + right >= w:
            raise ValueError(f"{self.name}: cropping {self.cropping} leaves nothing of an "
                             f"image of {h}×{w}")
        return (h - top - bottom, w - left - right, c)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        h, w, _ = self.output_shape(x.shape[1:])
        self._shape = x.shape
        (top, _), (left, _) = self.cropping
        return x[:, top:top + h, left:left + w].copy()

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        g = self._upstream(grad_output, (self._shape[0], *self.output_shape(self._shape[1:])))
        if not input_gradient:
            return None
        return np.pad(g, ((0, 0), *self.cropping, (0, 0)))

    def config(self) -> dict[str, Any]:
        return {"cropping": [list(pair) for pair in self.cropping], **super().config()}


INTERPOLATIONS = ("nearest", "bilinear")


def bilinear_matrix(size: int, factor: int, dtype: object = np.float64) -> np.ndarray:
    """The (size·factor, size) matrix A of bilinear upsampling along one axis, y = A x, with
    half-pixel centres (TF's ``half_pixel_centers=True``, torch's ``align_corners=False``):
    output cell o reads the input at s = max((o + ½)/factor − ½, 0), i₀ = ⌊s⌋,
    i₁ = min(i₀ + 1, size − 1), weights 1 − λ and λ, λ = s − i₀ (the clamps repeat the
    edge cell)."""
    source = np.maximum((np.arange(size * factor) + 0.5) / factor - 0.5, 0.0)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size - 1)
    weight = source - low
    matrix = np.zeros((size * factor, size))
    rows = np.arange(size * factor)
    np.add.at(matrix, (rows, low), 1.0 - weight)  # add: at the last cell i₀ = i₁
    np.add.at(matrix, (rows, high), weight)
    return matrix.astype(dtype)


class UpSampling2D(Layer):
    r"""Each image enlarged ``size`` = (s_h, s_w) times, by repeating cells (``"nearest"``)
    or interpolating between them (``"bilinear"``).

    Nearest: y[n, h, w, c] = x[n, ⌊h/s_h⌋, ⌊w/s_w⌋, c]; backward: dL/dx sums g over each
    s_h × s_w block.

    Bilinear, separable: y[n, :, :, c] = A_h x[n, :, :, c] A_wᵀ, A the (H·s, H) matrix of
    :func:`bilinear_matrix` (two weights 1 − λ, λ per row, half-pixel centres); backward,
    its adjoint: dL/dx[n, :, :, c] = A_hᵀ g[n, :, :, c] A_w. Keras's bilinear equals
    torch's ``nn.Upsample(mode="bilinear", align_corners=False)``; torch's
    ``align_corners=True`` maps corner to corner instead, different numbers. TF computes
    the bilinear resize in float32 whatever the data's dtype.

    Shape:
        x: (N, H, W, C) → y: (N, H·s_h, W·s_w, C).
    """

    input_ndim = 4
    channels_last: ClassVar[bool] = True

    def __init__(self, size: int | tuple[int, int] = 2, interpolation: str = "nearest", *,
                 dtype: object | None = None, name: str | None = None) -> None:
        self.size = as_sizes("UpSampling2D", "size", size, 2)
        if not isinstance(interpolation, str) or interpolation not in INTERPOLATIONS:
            raise ValueError(f"UpSampling2D: interpolation must be 'nearest' or 'bilinear', "
                             f"got {interpolation!r}")
        self.interpolation = interpolation
        super().__init__(dtype=dtype, name=name,
                         default_name=f"UpSampling2D({self.size}, {interpolation})")
        self._shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        h, w, c = _sample_shape(self, input_shape, "(H, W, C)")
        return (h * self.size[0], w * self.size[1], c)

    def _matrices(self, h: int, w: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        return bilinear_matrix(h, self.size[0], dtype), bilinear_matrix(w, self.size[1], dtype)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self._shape = x.shape
        (sh, sw), (n, h, w, c) = self.size, x.shape
        if self.interpolation == "nearest":
            return np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)
        rows, columns = self._matrices(h, w, x.dtype)
        y = np.matmul(rows, x.reshape(n, h, w * c))  # A_h x, per sample
        return np.matmul(columns, y.reshape(n * h * sh, w, c)).reshape(n, h * sh, w * sw, c)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        n, h, w, c = self._shape
        (sh, sw) = self.size
        g = self._upstream(grad_output, (n, h * sh, w * sw, c))
        if not input_gradient:
            return None
        if self.interpolation == "nearest":
            return g.reshape(n, h, sh, w, sw, c).sum(axis=(2, 4))
        rows, columns = self._matrices(h, w, g.dtype)
        d = np.matmul(columns.T, g.reshape(n * h * sh, w * sw, c))  # g A_w
        return np.matmul(rows.T, d.reshape(n, h * sh, w * c)).reshape(n, h, w, c)

    def config(self) -> dict[str, Any]:
        return {"size": list(self.size), "interpolation": self.interpolation,
                **super().config()}


class Conv2DTranspose(_Windows):
    r"""Transposed 2-D convolution ("deconvolution"): each input cell stamps the kernel,
    scaled by its channels, onto the output, stride s apart; the adjoint of :class:`Conv2D`.

        full[n, h·s_h + i, w·s_w + j, o] = Σ_{h, w, c} x[n, h, w, c] · W[i, j, o, c],
        z = full cropped to the output (below) + b,   y = φ(z).

    ``full`` has (H − 1)·s_h + k_h rows (columns alike). The output, Keras's rule per axis:
    ``"valid"``: H·s + max(k − s, 0) cells from the first (cells past ``full`` hold b
    only); ``"same"``: H·s cells, cropping the k − s extra ones ⌊(k − s)/2⌋ at the start
    and the rest at the end; with ``output_padding`` p: (H − 1)·s + k − 2·pad + p cells,
    pad = 0 ("valid") or ⌊k/2⌋ ("same"), cropped as TF does (⌊(F − out)/2⌋ at the start).

    torch's ``nn.ConvTranspose2d(padding=q, output_padding=p)`` crops q cells at each
    end, then adds p at the end: it cannot crop one cell more at the end than at the
    start, which Keras's "same" does for k − s odd (k = 3, s = 2): the torch mirror crops
    that cell after it. Kernel: Keras's (k_h, k_w, out, in), as here; torch's
    ``ConvTranspose2d.weight`` is (in, out, k_h, k_w), ``W.transpose(3, 2, 0, 1)``.

    Backward, given g: δ = φ'(z) ⊙ g put back in the full grid (dL/dfull); dL/dx is a
    :class:`Conv2D` of dL/dfull (its windows, stride s, times W): dL/dx[n, h, w, c] =
    Σ_{i, j, o} dL/dfull[n, h·s_h + i, w·s_w + j, o] W[i, j, o, c]; dL/dW = xᵀ times the
    same windows, one product; dL/db = Σ δ.

    Shape:
        x: (N, H, W, in_channels) → y, z: (N, H', W', filters), H' by the rule above;
        W: (k_h, k_w, filters, in_channels); b: (filters,).

    Args:
        in_channels, filters: channels in and out.
        kernel_size, strides: an int or a pair (h, w).
        padding: ``"valid"`` or ``"same"`` (Keras's rule above).
        output_padding: ``None`` or an int or a pair, each below its stride: cells added
            at the end. With ``"same"`` and an even kernel it must be ≥ 1 (TF refuses 0:
            the output would be smaller than H·s − s + 1).
        activation, dtype, seed, name: as :class:`Conv2D`.
    """

    parameter_names = ("W", "b")

    def __init__(self, in_channels: int, filters: int, kernel_size: Any, *, strides: Any = 1,
                 padding: str = "valid", output_padding: Any = None,
                 activation: str | Activation = "identity", dtype: object = np.float64,
                 seed: int | None = None, name: str | None = None) -> None:
        for what, width in (("in_channels", in_channels), ("filters", filters)):
            check_count("Conv2DTranspose", what, width, 1)
        self.in_channels, self.filters = int(in_channels), int(filters)
        self.activation = for_layer("Conv2DTranspose", activation)
        self._setup(kernel_size, strides, padding, 1)
        self.output_padding = None if output_padding is None else \
            _output_padding(output_padding, self.strides, self.kernel_size, padding)
        super().__init__(dtype=dtype, name=name,
                         default_name=f"Conv2DTranspose({in_channels}, {filters}, "
                                      f"{self.activation.name})")
        self.initialize(as_seed("Conv2DTranspose", seed))

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        """W (k_h, k_w, filters, in), b (filters)."""
        return {"W": [*config["kernel_size"], config["filters"], config["in_channels"]],
                "b": [config["filters"]]}

    def initialize(self, rng: np.random.Generator) -> None:
        """Glorot-uniform (fans k_h·k_w·out and k_h·k_w·in, Keras's count) and zero bias."""
        window = math.prod(self.kernel_size)
        limit = np.sqrt(6.0 / (window * (self.in_channels + self.filters)))
        shape = (*self.kernel_size, self.filters, self.in_channels)
        self._values["W"] = rng.uniform(-limit, limit, shape).astype(self.dtype)
        self._values["b"] = np.zeros(self.filters, self.dtype)

    @property
    def W(self) -> np.ndarray:
        """The kernel, (k_h, k_w, filters, in_channels)."""
        return self._values["W"]

    @property
    def b(self) -> np.ndarray:
        """The bias, (filters,)."""
        return self._values["b"]

    @b.setter
    def b(self, value: np.ndarray) -> None:
        self.set("b", value)

    def geometry(self, size: int, axis: int) -> tuple[int, int, int]:
        """Along ``axis`` (0: rows, 1: columns) of an input of ``size`` cells: the full
        grid's length F, the output's length, and the cells cropped from F's start."""
        k, s = self.kernel_size[axis], self.strides[axis]
        full = (size - 1) * s + k
        if self.output_padding is None:
            out = size * s + (max(k - s, 0) if self.padding == "valid" else 0)
        else:
            pad = 0 if self.padding == "valid" else k // 2
            out = full - 2 * pad + self.output_padding[axis]
        start = max(full - out, 0) // 2 if self.padding == "same" else 0
        return full, out, start

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3 or input_shape[-1] != self.in_channels:
            raise ValueError(f"{self.name}: expects per-sample shape (H, W, "
                             f"{self.in_channels}), channels last, got {tuple(input_shape)}")
        return (self.geometry(input_shape[0], 0)[1], self.geometry(input_shape[1], 1)[1],
                self.filters)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = φ(crop(Σ_{i,j} x W[i, j]ᵀ placed at offset (i, j), stride s) + b)."""
        x = self._input(x)
        self.output_shape(x.shape[1:])
        (n, h, w, _), f = x.shape, self.filters
        (full_h, out_h, top), (full_w, out_w, left) = (self.geometry(h, 0),
                                                       self.geometry(w, 1))
        # the grid holds the full output and the output's window, which may reach past it
        grid = np.zeros((n, max(full_h, top + out_h), max(full_w, left + out_w), f), x.dtype)
        stamp = np.empty((n, h, w, f), x.dtype)  # one product per kernel offset, then added
        for i, j, (rows, columns) in self._slices((h, w)):
            np.matmul(x.reshape(-1, self.in_channels), self.W[i, j].T, out=stamp.reshape(-1, f))
            grid[:, rows, columns, :] += stamp
        z = grid[:, top:top + out_h, left:left + out_w, :] + self.b
        self._cache = {"x": x, "z": z, "grid": grid.shape, "full": (full_h, full_w),
                       "start": (top, left)}
        return self.activation(z)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """δ = φ'(z) ⊙ g back on the full grid; its windows give dL/dW and dL/dx, one
        product each (a Conv2D of δ)."""
        if self._cache is None:
            raise self._no_forward()
        x, z = self._cache["x"], self._cache["z"]
        g = self._upstream(grad_output, z.shape)
        delta = self.activation.vjp(z, g)
        (top, left), (full_h, full_w) = self._cache["start"], self._cache["full"]
        grid = np.zeros(self._cache["grid"], delta.dtype)
        grid[:, top:top + z.shape[1], left:left + z.shape[2], :] = delta
        windows = self._windows(grid[:, :full_h, :full_w], x.shape[1:3])  # (N, H, W, k, k, f)
        # not -1: an empty batch has no size to infer
        rows = windows.reshape(math.prod(windows.shape[:3]), math.prod(windows.shape[3:]))
        inputs = x.reshape(len(rows), self.in_channels)
        self._gradients = {"W": (inputs.T @ rows).reshape(self.in_channels, *self.W.shape[:3])
                           .transpose(1, 2, 3, 0).copy(),
                           "b": _column_sums(delta.reshape(-1, self.filters))}
        if not input_gradient:
            return None
        return (rows @ self.W.reshape(-1, self.in_channels)).reshape(x.shape)

    def config(self) -> dict[str, Any]:
        return {"in_channels": self.in_channels, "filters": self.filters,
                "output_padding": None if self.output_padding is None else
                list(self.output_padding), "activation": self.activation.name,
                "activation_params": dict(self.activation.params), **super().config()}


def _output_padding(value: object, strides: tuple[int, ...], kernel: tuple[int, ...],
                    padding: str) -> tuple[int, int]:
    """Conv2DTranspose's ``output_padding``: an int or a pair, 0 ≤ p < stride on each
    axis; with "same", ≥ 1 along an axis whose kernel is even (below, TF refuses)."""
    pair = (value, value) if isinstance(value, int | np.integer) else value
    ok = isinstance(pair, tuple | list) and len(pair) == 2 and all(
        isinstance(p, int | np.integer) and not isinstance(p, bool) and 0 <= p < s
        for p, s in zip(pair, strides, strict=True))
    if not ok:
        raise ValueError(f"Conv2DTranspose: output_padding must be None, or an int or a pair "
                         f"each ≥ 0 and below its stride {strides}, got {value!r}")
    if padding == "same" and any(k % 2 == 0 and p == 0 for k, p in zip(kernel, pair,
                                                                         strict=True)):
        raise ValueError(f"Conv2DTranspose: padding='same' with an even kernel {kernel} "
                         f"needs output_padding ≥ 1 on that axis, got {value!r} (TF refuses "
                         "0: its output would be one cell short of H·s − s + 1)")
    return int(pair[0]), int(pair[1])


class SeparableConv2D(DepthwiseConv2D):
    r"""Depthwise-separable 2-D convolution: a :class:`DepthwiseConv2D` (each channel its
    own M filters, no bias) then a 1×1 convolution mixing the C·M channels, then the bias.

        h[n, y, x, c·M + m] = Σ_{i, j} x̃[n, y·s_h + i·d_h, x·s_w + j·d_w, c] W[i, j, c, m],
        z = h P + b (P as a (C·M, filters) matrix),   y = φ(z).

    With ``use_bias=False`` (Xception's, a BatchNormalization after each) z = h P.

    Keras's ``SeparableConv2D`` holds ``depthwise_kernel`` (k_h, k_w, C, M),
    ``pointwise_kernel`` (1, 1, C·M, filters) and ``bias``, as here (W, P, b); torch
    writes it as two modules, ``nn.Conv2d(C, C·M, k, groups=C, bias=False)`` and
    ``nn.Conv2d(C·M, filters, 1)``, whose weights are (C·M, 1, k_h, k_w) and
    (filters, C·M, 1, 1). Padding (TF's rule) applies to the depthwise step.

    Backward, given g: δ = φ'(z) ⊙ g; dL/dP = hᵀ δ, dL/db = Σ δ; δ_h = δ Pᵀ, then
    DepthwiseConv2D's backward with δ_h (dL/dW and dL/dx).

    Shape:
        x: (N, H, W, C) → y, z: (N, H', W', filters) (H' as :class:`Conv2D`'s);
        W: (k_h, k_w, C, M); P: (1, 1, C·M, filters); b: (filters,).
    """

    parameter_names = ("W", "P", "b")

    def __init__(self, in_channels: int, filters: int, kernel_size: Any, *,
                 depth_multiplier: int = 1, **options: Any) -> None:
        check_count("SeparableConv2D", "filters", filters, 1)
        self.pointwise_filters = int(filters)
        super().__init__(in_channels, kernel_size, depth_multiplier=depth_multiplier,
                         **options)

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        """W (k_h, k_w, C, M), P (1, 1, C·M, filters), b (filters) unless use_bias=False."""
        channels, m = config["in_channels"], config["depth_multiplier"]
        bias = {"b": [config["filters"]]} if config.get("use_bias", True) else {}
        return {"W": [*config["kernel_size"], channels, m],
                "P": [1, 1, channels * m, config["filters"]], **bias}

    @property
    def out_channels(self) -> int:
        return self.pointwise_filters

    @property
    def P(self) -> np.ndarray:
        """The pointwise kernel, (1, 1, C·M, filters)."""
        return self._values["P"]

    def initialize(self, rng: np.random.Generator) -> None:
        """Glorot-uniform for each kernel (Keras's fans: k_h·k_w·C and k_h·k_w·M; C·M and
        filters), zero bias."""
        super().initialize(rng)
        depth = self.in_channels * self.depth_multiplier
        limit = np.sqrt(6.0 / (depth + self.pointwise_filters))
        self._values["P"] = rng.uniform(-limit, limit, (1, 1, depth, self.pointwise_filters)
                                        ).astype(self.dtype)
        if self.use_bias:
            self._values["b"] = np.zeros(self.pointwise_filters, self.dtype)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = φ(depthwise(x, W) P + b)."""
        x = self._input_2d(x)
        self._check_channels(x)
        cols = self._gather(x)
        h = self._combine(cols)  # DepthwiseConv2D's product, (N, H', W', C·M)
        n, rows, columns, depth = h.shape
        z = (h.reshape(-1, depth) @ self.P.reshape(depth, -1)).reshape(
            n, rows, columns, self.pointwise_filters)  # not -1: an empty batch has no size to infer
        if self.use_bias:
            _add_bias(z, self.b)
        self._cache = {"cols": cols, "h": h, "z": z}
        return self.activation(z)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """dL/dP = hᵀ δ and dL/db = Σ δ (with a bias); δ_h = δ Pᵀ through the depthwise
        step."""
        if self._cache is None:
            raise self._no_forward()
        cols, h, z = self._cache["cols"], self._cache["h"], self._cache["z"]
        delta = self.activation.vjp(z, self._upstream(grad_output, z.shape))
        depth = h.shape[-1]
        flat = delta.reshape(-1, self.pointwise_filters)
        pointwise = self.P.reshape(depth, -1)
        delta_h = (flat @ pointwise.T).reshape(h.shape)
        self._gradients = {"W": self._kernel_gradient(cols, delta_h),
                           "P": (h.reshape(-1, depth).T @ flat).reshape(self.P.shape)}
        if self.use_bias:
            self._gradients["b"] = _column_sums(flat)
        if not input_gradient:
            return None
        sent = np.empty((*delta_h.shape[:3], self.in_channels), delta_h.dtype)

        def send(i: int, j: int, cells: np.ndarray) -> None:
            cells += self._sent_back(delta_h, i, j, out=sent)

        return self._scatter(send, delta_h.dtype)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "filters": self.pointwise_filters}


LAYERS.update({cls.__name__: cls for cls in (Cropping2D, UpSampling2D, Conv2DTranspose,
                                             SeparableConv2D)})
LAYERS.update({cls.__name__: cls for cls in (GlobalMaxPooling2D, GlobalAveragePooling1D)})
