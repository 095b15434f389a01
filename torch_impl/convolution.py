"""Convolution and pooling as torch writes them: ``nn.Conv2d``, ``nn.MaxPool2d``, … on
channels-first data, images (N, C, H, W), sequences (N, C, L).

The spec is channels-last, (N, H, W, C) as Keras; the change of layout stays at the
boundary, visibly: a model from ``torch_impl.from_reference`` takes torch's channels-first
input, :func:`channels_first` is ``x.permute(0, 3, 1, 2)`` of a spec batch and
:func:`channels_last` its inverse, and ``reference.layouts`` permutes the kernels
((k_h, k_w, in, out) → (out, in, k_h, k_w)) and the rows of a Dense kernel after a
Flatten ((h, w, c) → (c, h, w)).

TF's ``padding="same"`` (``reference.convolution.same_padding``) pads (⌊t/2⌋, t − ⌊t/2⌋)
cells along an axis, by amounts that depend on the input's size at strides above 1 (a
3×3 kernel at stride 2 pads 10 cells (0, 1), 9 cells (1, 1)). The converter knows each
layer's input size, so the amounts are fixed numbers: where they are the same on both
sides of every axis, they are the module's own ``padding=``; where TF puts an odd cell
after, which torch's modules never do, an ``nn.ZeroPad2d((left, right, top, bottom))``
(``nn.ConstantPad2d(…, -inf)`` before a max pooling) comes first. Keras's average
pooling divides by the real cells of a window; ``nn.AvgPool2d(count_include_pad=False)``
does the same for its own symmetric padding, and :class:`PaddedAvgPool2d` for TF's
uneven one, which no torch module does.

Global average pooling is ``nn.AdaptiveAvgPool2d(1)`` then ``nn.Flatten()``, the mean over
H and W, (N, C, H, W) → (N, C); global max pooling ``nn.AdaptiveMaxPool2d(1)`` then
``nn.Flatten()``; a sequence's average ``nn.AdaptiveAvgPool1d(1)`` then ``nn.Flatten()``,
(N, C, L) → (N, C).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import reference
from reference.convolution import same_padding
from reference.layouts import Context
from torch_impl._table import (
    Read,
    Template,
    Translation,
    following,
    numpy_dtype,
    torch_dtype,
)
from torch_impl.activations import MODULE_CLASSES, as_modules, from_module

Pads = list[tuple[int, int]]  # (before, after) per spatial axis, first axis first


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """A spec (channels-last) batch in torch's layout: (N, H, W, C) → (N, C, H, W),
    (N, L, C) → (N, C, L). A view: autograd carries gradients back through it."""
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """torch's layout back to the spec's: (N, C, H, W) → (N, H, W, C)."""
    return x.permute(0, *range(2, x.dim()), 1)


class PaddedAvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d`` after fixed, possibly uneven zero padding ``pads`` (F.pad's order,
    (left, right, top, bottom)), each window divided by its real cells only (Keras's
    "same" average pooling).

    torch has no module for it: ``nn.AvgPool2d`` pads symmetrically only, and an
    ``nn.ZeroPad2d`` before it makes the padded zeros count in the divisor.

    Shape: x (N, C, H, W) → y (N, C, H', W').
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int],
                 pads: tuple[int, int, int, int]) -> None:
        super().__init__(kernel_size, stride)
        self.pads = tuple(pads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        real = F.pad(torch.ones_like(x[:1, :1]), self.pads)  # 1 on a real cell, 0 on padding
        return super().forward(F.pad(x, self.pads)) / super().forward(real)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, pads={self.pads}"


SMALL_MODULES = (PaddedAvgPool2d,)


# ── TF's padding in torch's terms ────────────────────────────────────────────────────────

def _tf_pads(layer: reference.layers.Layer, shape: tuple[int, ...] | None) -> Pads:
    """TF's cells (before, after) per spatial axis of a window layer on a per-sample
    ``shape`` (channels-last); all zero under "valid". Without the sizes only stride 1
    is known (the total is then d·(k − 1) whatever the size)."""
    rank = len(layer.kernel_size)
    if layer.padding == "valid":
        return [(0, 0)] * rank
    sizes = shape[:-1] if shape is not None and len(shape) == rank + 1 else (None,) * rank
    dilation = getattr(layer, "dilation_rate", (1,) * rank)
    if any(size is None and s != 1 for size, s in zip(sizes, layer.strides, strict=True)):
        raise TypeError(f"{layer.name}: TF's 'same' at stride {layer.strides} pads by the "
                        "input's size; convert it inside a reference.Sequential, whose "
                        "input_shape fixes it")
    return [same_padding(1 if size is None else size, k, s, d)
            for size, k, s, d in zip(sizes, layer.kernel_size, layer.strides, dilation,
                                     strict=True)]


def _size(values: Sequence[int]) -> int | tuple[int, ...]:
    """An int where every axis agrees (torch's constructors take 3 for (3, 3))."""
    return values[0] if len(set(values)) == 1 else tuple(values)


def _split(pads: Pads) -> tuple[int | tuple[int, ...], tuple[int, ...] | None]:
    """The module's own symmetric ``padding=``, or 0 and the F.pad amounts (last axis
    first: (left, right, top, bottom)) of a pad module before it."""
    if all(before == after for before, after in pads):
        return _size([before for before, _ in pads]), None
    return 0, tuple(n for pair in reversed(pads) for n in pair)


def _pad_module(amounts: tuple[int, ...], value: float = 0.0) -> nn.Module:
    rank = len(amounts) // 2
    if value == 0.0:
        return nn.ZeroPad2d(amounts) if rank == 2 else nn.ZeroPad1d(amounts)
    return nn.ConstantPad2d(amounts, value) if rank == 2 else nn.ConstantPad1d(amounts, value)


def _read_pads(modules: Sequence[nn.Module], i: int, value: float) -> tuple[Pads | None, int]:
    """A constant pad module holding ``value`` at ``i``: its (before, after) per axis and
    the index after it; ``(None, i)`` where there is none."""
    pad = modules[i]
    if not isinstance(pad, nn.ConstantPad1d | nn.ConstantPad2d) or pad.value != value:
        return None, i
    flat = pad.padding
    return [(flat[k], flat[k + 1]) for k in range(len(flat) - 2, -1, -2)], i + 1


def _spec_padding(where: str, pads: Pads, module: nn.Module, shape: tuple[int, ...] | None
                  ) -> str:
    """"valid" or "same" for the cells a torch module and the pad module before it add;
    refused where that is not TF's rule on this input."""
    if not any(before or after for before, after in pads):
        return "valid"
    kernel, stride = module.kernel_size, module.stride
    rank = len(pads)
    kernel = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    stride = (stride,) * rank if isinstance(stride, int) else tuple(stride)
    dilation = getattr(module, "dilation", 1)
    dilation = (dilation,) * rank if isinstance(dilation, int) else tuple(dilation)
    sizes = shape[:-1] if shape is not None and len(shape) == rank + 1 else (None,) * rank
    expected = [same_padding(1 if n is None else n, k, s, d) for n, k, s, d in
                zip(sizes, kernel, stride, dilation, strict=True)
                if n is not None or s == 1]
    if len(expected) == rank and list(pads) == expected:
        return "same"
    raise TypeError(f"{where} pads {pads}; the spec pads by TF's rule only ('valid', or "
                    "'same': ⌈n/s⌉ outputs, the odd cell at the bottom/right; at stride > 1 "
                    "pass input_shape so that the sizes are known)")


def _tf_same(pads: Pads, module: nn.Module, shape: tuple[int, ...] | None) -> bool:
    """Whether ``pads`` are TF's "same" cells for ``module`` on this input."""
    try:
        return _spec_padding("", pads, module, shape) == "same"
    except TypeError:
        return False


def _own_pads(module: nn.Module, rank: int) -> Pads:
    padding = module.padding
    if isinstance(padding, str):  # "valid", or "same" (stride 1): TF's amounts by torch
        return [(0, 0)] * rank
    padding = (padding,) * rank if isinstance(padding, int) else tuple(padding)
    return [(p, p) for p in padding]


# ── Convolutions ─────────────────────────────────────────────────────────────────────────

def _convolution(layer: reference.layers.Layer, context: Context) -> list[nn.Module]:
    """[pad module where TF's "same" is uneven,] nn.Conv1d/2d, [activation module]."""
    rank = len(layer.kernel_size)
    padding, amounts = _split(_tf_pads(layer, context.input_shape))
    groups = layer.in_channels if type(layer).__name__ == "DepthwiseConv2D" else 1
    conv = (nn.Conv2d if rank == 2 else nn.Conv1d)(
        layer.in_channels, layer.filters, _size(layer.kernel_size), stride=_size(layer.strides),
        padding=padding, dilation=_size(layer.dilation_rate), groups=groups,
        dtype=torch_dtype(layer.dtype))
    pad = [] if amounts is None else [_pad_module(amounts)]
    return [*pad, conv, *as_modules(layer.activation, conv.weight.dtype, feature_map=True)]


def _reader(conv_class: type[nn.Module], depthwise: bool = False):
    """The read function of Conv1D and Conv2D (``nn.Conv1d``/``nn.Conv2d``, groups=1) or of
    DepthwiseConv2D (``depthwise``: ``nn.Conv2d`` with groups=in_channels)."""
    def read(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
        pads, k = _read_pads(modules, i, 0.0)
        conv = modules[k] if k < len(modules) else None
        if type(conv) is not conv_class or (conv.groups != 1) != depthwise:
            return None
        where = f"module {k} ({type(conv).__name__})"
        if conv.groups not in (1, conv.in_channels):
            raise TypeError(f"{where} has groups={conv.groups}; the spec has ordinary "
                            "(groups=1) and depthwise (groups=in_channels) convolutions")
        if conv.bias is None or conv.padding_mode != "zeros":
            raise TypeError(f"{where} has no bias or pads other than with zeros; the spec's "
                            "convolutions have a bias and pad with zeros")
        own = _own_pads(conv, len(conv.kernel_size))
        if pads is not None and conv.padding == "same":
            raise TypeError(f"{where} pads twice (a pad module and padding='same')")
        total = own if pads is None else [(a + c, b + d) for (a, b), (c, d) in
                                          zip(pads, own, strict=True)]
        if pads is not None and not _tf_same(total, conv, place.input_shape):
            return None  # the pad module is a ZeroPadding2D of its own
        padding = "same" if conv.padding == "same" else \
            _spec_padding(where, total, conv, place.input_shape)
        activation = following(modules, k + 1, MODULE_CLASSES)
        options = {"strides": conv.stride, "padding": padding, "dilation_rate": conv.dilation,
                   "dtype": numpy_dtype(conv.weight),
                   "activation": "identity" if activation is None else
                   from_module(activation, f"module {k + 1}", feature_map=True)}
        consumed = k + 1 - i + (activation is not None)
        if depthwise:
            return reference.DepthwiseConv2D(conv.in_channels, conv.kernel_size,
                                             depth_multiplier=conv.out_channels //
                                             conv.in_channels, **options), consumed
        kind = reference.Conv1D if conv_class is nn.Conv1d else reference.Conv2D
        return kind(conv.in_channels, conv.out_channels, conv.kernel_size, **options), consumed
    return read


# ── Pooling ──────────────────────────────────────────────────────────────────────────────

def _max_pool(layer: reference.MaxPool2D, context: Context) -> list[nn.Module]:
    padding, amounts = _split(_tf_pads(layer, context.input_shape))
    pool = nn.MaxPool2d(_size(layer.pool_size), _size(layer.strides), padding=padding)
    # torch pads a max pooling symmetrically only: TF's odd cell, holding −∞, first
    return [pool] if amounts is None else [_pad_module(amounts, float("-inf")), pool]


def _average_pool(layer: reference.AveragePool2D, context: Context) -> list[nn.Module]:
    padding, amounts = _split(_tf_pads(layer, context.input_shape))
    kernel, stride = _size(layer.pool_size), _size(layer.strides)
    if amounts is None:
        # Keras divides by the real cells; count_include_pad=False, torch's default True
        return [nn.AvgPool2d(kernel, stride, padding=padding,
                             count_include_pad=layer.count_include_pad)]
    if layer.count_include_pad:  # the padded zeros count: they are cells of the input here
        return [_pad_module(amounts), nn.AvgPool2d(kernel, stride)]
    return [PaddedAvgPool2d(kernel, stride, amounts)]


def _check_pool(pool: nn.Module, where: str) -> None:
    if pool.ceil_mode or getattr(pool, "dilation", 1) not in (1, (1, 1)) or \
            getattr(pool, "return_indices", False) or getattr(pool, "divisor_override", None):
        raise TypeError(f"{where} dilates, rounds its output size up, returns indices or "
                        "overrides its divisor; the spec pools without")


def _read_max_pool(modules: Sequence[nn.Module], i: int, place: Context
                   ) -> Read:
    pads, k = _read_pads(modules, i, float("-inf"))
    pool = modules[k] if k < len(modules) else None
    if not isinstance(pool, nn.MaxPool2d):
        return None
    where = f"module {k} (MaxPool2d)"
    _check_pool(pool, where)
    own = _own_pads(pool, 2)
    if pads is not None and own != [(0, 0)] * 2:
        raise TypeError(f"{where} pads twice (a pad module and its own padding)")
    padding = _spec_padding(where, pads or own, pool, place.input_shape)
    return reference.MaxPool2D(pool.kernel_size, pool.stride, padding), k + 1 - i


def _read_average_pool(modules: Sequence[nn.Module], i: int, place: Context
                       ) -> Read:
    pads, k = _read_pads(modules, i, 0.0)
    pool = modules[k] if k < len(modules) else None
    if not isinstance(pool, nn.AvgPool2d):
        return None
    where = f"module {k} ({type(pool).__name__})"
    _check_pool(pool, where)
    own = _own_pads(pool, 2)
    if isinstance(pool, PaddedAvgPool2d):
        pads, include = [(pool.pads[2], pool.pads[3]), (pool.pads[0], pool.pads[1])], False
    elif pads is not None:
        if not _tf_same(pads, pool, place.input_shape):
            return None  # the pad module is a ZeroPadding2D of its own
        include = True  # the pad module's zeros are real cells to nn.AvgPool2d
    else:
        pads, include = own, pool.count_include_pad and own != [(0, 0)] * 2
    padding = _spec_padding(where, pads, pool, place.input_shape)
    return reference.AveragePool2D(pool.kernel_size, pool.stride, padding,
                                   count_include_pad=include), k + 1 - i


def _read_global_pool(modules: Sequence[nn.Module], i: int, place: Context
                      ) -> Read:
    pool = modules[i]
    if pool.output_size not in (1, (1, 1)) or not isinstance(
            following(modules, i + 1, (nn.Flatten,)), nn.Flatten):
        raise TypeError(f"module {i} ({pool!r}): the spec's GlobalAveragePooling2D is "
                        "nn.AdaptiveAvgPool2d(1) followed by nn.Flatten()")
    return reference.GlobalAveragePooling2D(), 2


def _read_global_max_pool(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    pool = modules[i]
    if pool.output_size not in (1, (1, 1)) or pool.return_indices or not isinstance(
            following(modules, i + 1, (nn.Flatten,)), nn.Flatten):
        raise TypeError(f"module {i} ({pool!r}): the spec's GlobalMaxPooling2D is "
                        "nn.AdaptiveMaxPool2d(1) followed by nn.Flatten()")
    return reference.GlobalMaxPooling2D(), 2


def _read_global_pool_1d(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    pool = modules[i]
    if pool.output_size not in (1, (1,)) or not isinstance(
            following(modules, i + 1, (nn.Flatten,)), nn.Flatten):
        raise TypeError(f"module {i} ({pool!r}): the spec's GlobalAveragePooling1D is "
                        "nn.AdaptiveAvgPool1d(1) followed by nn.Flatten()")
    return reference.GlobalAveragePooling1D(), 2


# ── The port's code ──────────────────────────────────────────────────────────────────────

def _windows(layer: reference.layers.Layer, shape: tuple[int, ...], arguments: list[str],
             value: str = "") -> dict[str, Any]:
    """The constructor's arguments and the padding: torch's ``padding=`` when TF's "same"
    pads each side alike, else an F.pad line before the call (TF puts the odd cell after,
    by amounts that depend on the input size; torch pads symmetrically only)."""
    padding, amounts = _split(_tf_pads(layer, shape))
    fields = {"pad": "", "note": ""}
    if amounts is not None:
        fields["pad"] = f"x = F.pad(x, {amounts}{value})  # TF's \"same\": the odd cell after\n"
    elif padding:
        arguments.append(f"padding={padding}")
        fields["note"] = "TF's \"same\""
    return {**fields, "arguments": ", ".join(arguments)}


def _convolution_fields(layer: reference.layers.Layer, shape: tuple[int, ...]
                        ) -> dict[str, Any]:
    arguments = [str(_size(layer.kernel_size))]
    if set(layer.strides) != {1}:
        arguments.append(f"stride={_size(layer.strides)}")
    if set(layer.dilation_rate) != {1}:
        arguments.append(f"dilation={_size(layer.dilation_rate)}")
    return _windows(layer, shape, arguments)


def _pooling_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict[str, Any]:
    arguments = [str(_size(layer.kernel_size))]
    if layer.strides != layer.kernel_size:
        arguments.append(f"stride={_size(layer.strides)}")
    if type(layer).__name__ == "MaxPool2D":
        return _windows(layer, shape, arguments, value=', value=float("-inf")')
    fields = _windows(layer, shape, arguments)
    if fields["pad"] and not layer.count_include_pad:
        raise TypeError("it averages over the real cells of TF's \"same\" padding, which "
                        "puts the odd cell after: no torch pooling does that; it ports with "
                        "padding='valid', or where 'same' pads each side alike")
    if fields["note"] and not layer.count_include_pad:
        fields.update(arguments=fields["arguments"] + ", count_include_pad=False",
                      note="TF's \"same\"; TF averages over the real cells only")
    return fields


def _template(module: str, note: str = "{note}") -> Template:
    return Template(module, note=note, call="{pad}x = self.{attr}(x)",
                    arguments=_pooling_fields if "Pool" in module else _convolution_fields,
                    layout="channels")


def _zero_padding(layer: reference.ZeroPadding2D, context: Context) -> list[nn.Module]:
    (top, bottom), (left, right) = layer.padding
    return [nn.ZeroPad2d((left, right, top, bottom))]  # torch: the last axis first, as F.pad


def _read_zero_padding(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    pads, _ = _read_pads(modules, i, 0.0)
    if pads is None or len(pads) != 2:
        return None
    return reference.ZeroPadding2D(tuple(pads)), 1


_PADS = (nn.ConstantPad1d, nn.ConstantPad2d)  # ZeroPad1d/2d are ConstantPad1d/2d

TRANSLATIONS = (
    Translation("Conv2D", _convolution, _reader(nn.Conv2d), (nn.Conv2d, *_PADS),
                _template("nn.Conv2d({in_channels}, {filters}, {arguments})")),
    Translation("Conv1D", _convolution, _reader(nn.Conv1d), (nn.Conv1d, *_PADS),
                _template("nn.Conv1d({in_channels}, {filters}, {arguments})")),
    Translation("DepthwiseConv2D", _convolution, _reader(nn.Conv2d, depthwise=True),
                (nn.Conv2d, *_PADS),
                _template("nn.Conv2d({in_channels}, {in_channels} * {depth_multiplier}, "
                          "{arguments}, groups={in_channels})",
                          note="Keras's DepthwiseConv2D; {note}")),
    Translation("MaxPool2D", _max_pool, _read_max_pool, (nn.MaxPool2d, *_PADS),
                _template("nn.MaxPool2d({arguments})")),
    Translation("AveragePool2D", _average_pool, _read_average_pool, (nn.AvgPool2d, *_PADS),
                _template("nn.AvgPool2d({arguments})")),
    Translation("GlobalAveragePooling2D",
                lambda layer, context: [nn.AdaptiveAvgPool2d(1), nn.Flatten()],
                _read_global_pool, (nn.AdaptiveAvgPool2d,),
                Template(None, call="x = x.mean(dim=(2, 3))", layout="channels")),
    Translation("GlobalMaxPooling2D",
                lambda layer, context: [nn.AdaptiveMaxPool2d(1), nn.Flatten()],
                _read_global_max_pool, (nn.AdaptiveMaxPool2d,),
                Template(None, call="x = x.amax(dim=(2, 3))", layout="channels")),
    Translation("GlobalAveragePooling1D",
                lambda layer, context: [nn.AdaptiveAvgPool1d(1), nn.Flatten()],
                _read_global_pool_1d, (nn.AdaptiveAvgPool1d,),
                Template(None, call="x = x.mean(dim=2)", layout="channels")),
    # after the rows above, which take a pad module that is TF's "same" of the next layer
    Translation("ZeroPadding2D", _zero_padding, _read_zero_padding, (nn.ConstantPad2d,),
                Template("nn.ZeroPad2d({pads})", note="Keras's ((top, bottom), (left, right))",
                         arguments=lambda layer, shape: {"pads": (
                             *layer.padding[1], *layer.padding[0])}, layout="channels")),
)
