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

Cropping2D is an ``nn.ZeroPad2d`` with negative amounts (torch has no crop module);
UpSampling2D ``nn.Upsample`` (bilinear: ``align_corners=False``); Conv2DTranspose
``nn.ConvTranspose2d``, then an ``nn.ZeroPad2d((0, -1, 0, -1))`` where Keras's "same"
crops its odd cell at the end, which ``padding=`` cannot (read back, that crop is the
layer's own, in a Sequential and in a graph; any other crop a Cropping2D); SeparableConv2D an
``nn.Sequential`` of a depthwise ``nn.Conv2d`` and a 1×1 one.
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
        bias=layer.use_bias, dtype=torch_dtype(layer.dtype))
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
        if conv.padding_mode != "zeros":
            raise TypeError(f"{where} pads with {conv.padding_mode!r}; the spec's convolutions "
                            "pad with zeros")
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
                   "use_bias": conv.bias is not None, "dtype": numpy_dtype(conv.weight),
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
        if pads is not None:  # it pads on its own: the pad module is a ZeroPadding2D
            return None
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


def _global_pool(layer: reference.GlobalAveragePooling2D | reference.GlobalMaxPooling2D,
                 context: Context) -> list[nn.Module]:
    """nn.Adaptive{Avg,Max}Pool2d(1), (N, C, 1, 1), then nn.Flatten() unless keepdims."""
    pool = nn.AdaptiveAvgPool2d(1) if isinstance(layer, reference.GlobalAveragePooling2D) \
        else nn.AdaptiveMaxPool2d(1)
    return [pool] if layer.keepdims else [pool, nn.Flatten()]


def _flattened(modules: Sequence[nn.Module], i: int) -> bool:
    """A global pooling at ``i`` is followed by nn.Flatten (Keras's keepdims=False)."""
    return following(modules, i + 1, (nn.Flatten,)) is not None


def _read_global_pool(modules: Sequence[nn.Module], i: int, place: Context
                      ) -> Read:
    pool = modules[i]
    if pool.output_size == (1, None):
        return None  # a sequence's GlobalAveragePooling1D (see _global_average_1d)
    if pool.output_size not in (1, (1, 1)):
        raise TypeError(f"module {i} ({pool!r}): the spec's GlobalAveragePooling2D is "
                        "nn.AdaptiveAvgPool2d(1), followed by nn.Flatten() unless keepdims")
    flat = _flattened(modules, i)
    return reference.GlobalAveragePooling2D(keepdims=not flat), 1 + flat


def _read_global_max_pool(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    pool = modules[i]
    if pool.output_size not in (1, (1, 1)) or pool.return_indices:
        raise TypeError(f"module {i} ({pool!r}): the spec's GlobalMaxPooling2D is "
                        "nn.AdaptiveMaxPool2d(1), followed by nn.Flatten() unless keepdims")
    flat = _flattened(modules, i)
    return reference.GlobalMaxPooling2D(keepdims=not flat), 1 + flat


def _global_average_1d(layer: reference.GlobalAveragePooling1D, context: Context
                       ) -> list[nn.Module]:
    """The mean over steps: a Conv1D's feature map is (N, C, L) in torch, pooled over L;
    any other sequence stays (N, T, F) as in the spec, and nn.AdaptiveAvgPool2d reads that
    as one unbatched (C, H, W) = (N, T, F) image: output size (1, None) averages the T rows
    and keeps the F columns."""
    pool = nn.AdaptiveAvgPool1d(1) if context.feature_map else nn.AdaptiveAvgPool2d((1, None))
    return [pool] if layer.keepdims else [pool, nn.Flatten()]


def _read_global_pool_1d(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    pool = modules[i]
    on_a_sequence = isinstance(pool, nn.AdaptiveAvgPool2d)  # see _global_average_1d
    if on_a_sequence:
        fits = pool.output_size == (1, None) and not place.feature_map
    else:
        fits = pool.output_size in (1, (1,))
    if not fits:
        raise TypeError(f"module {i} ({pool!r}): the spec's GlobalAveragePooling1D is "
                        "nn.AdaptiveAvgPool1d(1) on a Conv1D's (N, C, L), "
                        "nn.AdaptiveAvgPool2d((1, None)) on a sequence (N, T, F), each "
                        "followed by nn.Flatten() unless keepdims")
    flat = _flattened(modules, i)
    return reference.GlobalAveragePooling1D(keepdims=not flat), 1 + flat


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


def _kernel_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict[str, Any]:
    arguments = [str(_size(layer.kernel_size))]
    if set(layer.strides) != {1}:
        arguments.append(f"stride={_size(layer.strides)}")
    if set(layer.dilation_rate) != {1}:
        arguments.append(f"dilation={_size(layer.dilation_rate)}")
    return _windows(layer, shape, arguments)


def _convolution_fields(layer: reference.layers.Layer, shape: tuple[int, ...]
                        ) -> dict[str, Any]:
    fields = _kernel_fields(layer, shape)
    if not layer.use_bias:  # Keras's use_bias=False; torch's Conv2d takes bias last
        fields["arguments"] += ", bias=False"
    return fields


def _separable_fields(layer: reference.SeparableConv2D, shape: tuple[int, ...]
                      ) -> dict[str, Any]:
    """The depthwise step's arguments; the bias, if any, is the 1×1 step's."""
    return {**_kernel_fields(layer, shape),
            "pointwise_bias": "" if layer.use_bias else ", bias=False"}


def _keep(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict[str, Any]:
    """A global pooling's Keras keepdims=True: torch's keepdim=True."""
    return {"keep": ", keepdim=True" if layer.keepdims else ""}


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
    if pads is None or len(pads) != 2 or any(n < 0 for pair in pads for n in pair):
        return None  # negative amounts crop: a Cropping2D
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
    Translation("GlobalAveragePooling2D", _global_pool, _read_global_pool,
                (nn.AdaptiveAvgPool2d,),
                Template(None, call="x = x.mean(dim=(2, 3){keep})", arguments=_keep,
                         layout="channels")),
    Translation("GlobalMaxPooling2D", _global_pool, _read_global_max_pool,
                (nn.AdaptiveMaxPool2d,),
                Template(None, call="x = x.amax(dim=(2, 3){keep})", arguments=_keep,
                         layout="channels")),
    Translation("GlobalAveragePooling1D", _global_average_1d,
                _read_global_pool_1d, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d),
                Template(None, call="x = x.mean(dim=2{keep})", arguments=_keep,
                         layout="channels")),
    # after the rows above, which take a pad module that is TF's "same" of the next layer
    Translation("ZeroPadding2D", _zero_padding, _read_zero_padding, (nn.ConstantPad2d,),
                Template("nn.ZeroPad2d({pads})", note="Keras's ((top, bottom), (left, right))",
                         arguments=lambda layer, shape: {"pads": (
                             *layer.padding[1], *layer.padding[0])}, layout="channels")),
)


# ── The layers of upsampling paths (U-Net) and separable stacks (MobileNet) ─────────────

def _cropping(layer: reference.Cropping2D, context: Context) -> list[nn.Module]:
    (top, bottom), (left, right) = layer.cropping
    # torch has no crop module: a negative pad cuts, in F.pad's order (left, right, top, bottom)
    return [nn.ZeroPad2d((-left, -right, -top, -bottom))]


def _read_cropping(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    pads, _ = _read_pads(modules, i, 0.0)
    if pads is None or len(pads) != 2 or not any(n < 0 for pair in pads for n in pair):
        return None
    if any(n > 0 for pair in pads for n in pair):
        raise TypeError(f"module {i} ({modules[i]!r}) pads some sides and crops others; the "
                        "spec has ZeroPadding2D and Cropping2D, each one way")
    return reference.Cropping2D(tuple((-before, -after) for before, after in pads)), 1


def _crop_fields(layer: reference.Cropping2D, shape: tuple[int, ...]) -> dict[str, Any]:
    def cut(before: int, after: int) -> str:
        return f"{before}:{-after}" if after else f"{before}:"
    (top, bottom), (left, right) = layer.cropping
    return {"rows": cut(top, bottom), "columns": cut(left, right)}


def _upsampling(layer: reference.UpSampling2D, context: Context) -> list[nn.Module]:
    if layer.interpolation == "nearest":
        return [nn.Upsample(scale_factor=_size(layer.size), mode="nearest")]
    # Keras's bilinear samples at half-pixel centres: align_corners=False, not True
    return [nn.Upsample(scale_factor=_size(layer.size), mode="bilinear", align_corners=False)]


def _read_upsampling(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    module = modules[i]
    scale = module.scale_factor
    scale = (scale, scale) if not isinstance(scale, tuple) else scale
    where = f"module {i} ({module!r})"
    if module.size is not None or any(s is None or float(s) != int(s) for s in scale):
        raise TypeError(f"{where}: the spec's UpSampling2D takes a whole scale_factor, not "
                        "a size")
    if module.mode not in reference.convolution.INTERPOLATIONS or module.align_corners or \
            module.recompute_scale_factor:
        raise TypeError(f"{where}: the spec (Keras) interpolates 'nearest' or 'bilinear' "
                        "with align_corners=False")
    return reference.UpSampling2D(tuple(int(s) for s in scale), module.mode), 1


def _transpose_amounts(layer: reference.Conv2DTranspose) -> tuple[Pads, list[int]]:
    """torch's (padding, output_padding) per axis for the spec layer, and the cells to
    crop after it at the end: Keras's output is F[start : start + out] (F the full
    output), torch's F[q : F − q + p]; q = start, and p = out − F + 2q, which is −1 where
    Keras crops its odd cell at the end (k − s odd): p = 0 then, and one cell cropped."""
    found, crops = [], []
    for axis in (0, 1):
        full, out, start = layer.geometry(1, axis)  # the same for every input size
        extra = out - full + 2 * start
        found.append((start, max(extra, 0)))
        crops.append(max(-extra, 0))
    return found, crops


def _conv_transpose(layer: reference.Conv2DTranspose, context: Context) -> list[nn.Module]:
    """nn.ConvTranspose2d, [the crop of Keras's odd "same" cell], [activation module]."""
    amounts, (crop_h, crop_w) = _transpose_amounts(layer)
    conv = nn.ConvTranspose2d(
        layer.in_channels, layer.filters, _size(layer.kernel_size), stride=_size(layer.strides),
        padding=_size([q for q, _ in amounts]), output_padding=_size([p for _, p in amounts]),
        dtype=torch_dtype(layer.dtype))
    # Keras's "same" crops the odd cell of k − s at the end; padding= crops both ends alike
    crop = [nn.ZeroPad2d((0, -crop_w, 0, -crop_h))] if crop_h or crop_w else []
    return [conv, *crop, *as_modules(layer.activation, conv.weight.dtype, feature_map=True)]


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _read_conv_transpose(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    conv = modules[i]
    where = f"module {i} (ConvTranspose2d)"
    if conv.groups != 1 or _pair(conv.dilation) != (1, 1) or conv.bias is None or \
            conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        raise TypeError(f"{where} has groups, dilation, no bias or a padding mode; the spec's "
                        "Conv2DTranspose (Keras's) has none of them")
    pads, k = _read_pads(modules, i + 1, 0.0) if i + 1 < len(modules) else (None, i + 1)
    crop = [0, 0] if pads is None else [-after for before, after in pads]
    if pads is not None and any(before for before, _ in pads):
        pads, crop, k = None, [0, 0], i + 1  # a crop at the start: a Cropping2D of its own
    kernel, stride = _pair(conv.kernel_size), _pair(conv.stride)
    amounts = list(zip(_pair(conv.padding), _pair(conv.output_padding), strict=True))
    options = [("valid", None), ("same", None), *(
        (padding, (p, q)) for padding in ("valid", "same") for p in range(stride[0])
        for q in range(stride[1]))]
    readings = []
    for padding, output_padding in options:
        try:
            found = reference.Conv2DTranspose(conv.in_channels, conv.out_channels, kernel,
                                              strides=stride, padding=padding,
                                              output_padding=output_padding)
        except ValueError:
            continue
        made, crops = _transpose_amounts(found)
        if made == amounts and crops in (crop, [0, 0]):
            readings.append((padding, output_padding, crops))
    if readings:
        # the crop _conv_transpose writes for "same" is the layer's own (ConvTranspose2d +
        # ZeroPad2d((0, -1, 0, -1)) is a 3×3 stride-2 "same", not "valid" + a Cropping2D);
        # any other crop after the convolution is a Cropping2D of its own
        padding, output_padding, crops = next(
            (reading for reading in readings if reading[2] == crop), readings[0])
        k = k if crops == crop else i + 1
    else:
        raise TypeError(f"{where} crops {conv.padding} and adds {conv.output_padding} cells: "
                        "not Keras's 'valid' or 'same' rule for any output_padding (Keras "
                        "crops an odd cell at the end, never at the start); write it as "
                        "padding=0 and the crop as a module of its own, e.g. "
                        "nn.ZeroPad2d((-1, 0, -1, 0)) for padding=1, output_padding=1")
    activation = following(modules, k, MODULE_CLASSES)
    layer = reference.Conv2DTranspose(
        conv.in_channels, conv.out_channels, kernel, strides=stride, padding=padding,
        output_padding=output_padding, dtype=numpy_dtype(conv.weight),
        activation="identity" if activation is None else
        from_module(activation, f"module {k}", feature_map=True))
    return layer, k - i + (activation is not None)


def _conv_transpose_fields(layer: reference.Conv2DTranspose, shape: tuple[int, ...]
                           ) -> dict[str, Any]:
    amounts, (crop_h, crop_w) = _transpose_amounts(layer)
    arguments = [str(_size(layer.kernel_size))]
    if set(layer.strides) != {1}:
        arguments.append(f"stride={_size(layer.strides)}")
    if any(q for q, _ in amounts):
        arguments.append(f"padding={_size([q for q, _ in amounts])}")
    if any(p for _, p in amounts):
        arguments.append(f"output_padding={_size([p for _, p in amounts])}")
    rows, columns = (":-1" if crop_h else ":"), (":-1" if crop_w else ":")
    crop = f"\nx = x[:, :, {rows}, {columns}]  # Keras's \"same\": the odd cell cropped at the " \
        "end" if crop_h or crop_w else ""
    return {"arguments": ", ".join(arguments), "crop": crop}


def _separable(layer: reference.SeparableConv2D, context: Context) -> list[nn.Module]:
    """[pad module where TF's "same" is uneven,] nn.Sequential(depthwise, 1×1), [activation]."""
    padding, amounts = _split(_tf_pads(layer, context.input_shape))
    channels, dtype = layer.in_channels, torch_dtype(layer.dtype)
    depth = channels * layer.depth_multiplier
    pair = nn.Sequential(
        nn.Conv2d(channels, depth, _size(layer.kernel_size), stride=_size(layer.strides),
                  padding=padding, dilation=_size(layer.dilation_rate), groups=channels,
                  bias=False, dtype=dtype),
        nn.Conv2d(depth, layer.out_channels, 1, bias=layer.use_bias, dtype=dtype))
    pad = [] if amounts is None else [_pad_module(amounts)]
    return [*pad, pair, *as_modules(layer.activation, dtype, feature_map=True)]


def _read_separable(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    pads, k = _read_pads(modules, i, 0.0)
    pair = modules[k] if k < len(modules) else None
    if not isinstance(pair, nn.Sequential) or len(pair) != 2 or \
            not all(type(m) is nn.Conv2d for m in pair):
        return None
    depthwise, pointwise = pair
    where = f"module {k} (nn.Sequential of two nn.Conv2d)"
    if depthwise.groups != depthwise.in_channels or depthwise.bias is not None or \
            _pair(pointwise.kernel_size) != (1, 1) or pointwise.groups != 1 or \
            _pair(pointwise.stride) != (1, 1) or \
            _own_pads(pointwise, 2) != [(0, 0)] * 2 or \
            depthwise.padding_mode != "zeros" or depthwise.padding == "same":
        raise TypeError(f"{where} is not a SeparableConv2D: a depthwise nn.Conv2d "
                        "(groups=in_channels, bias=False), then a 1×1 nn.Conv2d")
    own = _own_pads(depthwise, 2)
    total = own if pads is None else [(a + c, b + d) for (a, b), (c, d) in
                                      zip(pads, own, strict=True)]
    if pads is not None and not _tf_same(total, depthwise, place.input_shape):
        return None  # the pad module is a ZeroPadding2D of its own
    activation = following(modules, k + 1, MODULE_CLASSES)
    layer = reference.SeparableConv2D(
        depthwise.in_channels, pointwise.out_channels, depthwise.kernel_size,
        depth_multiplier=depthwise.out_channels // depthwise.in_channels,
        strides=depthwise.stride, padding=_spec_padding(where, total, depthwise,
                                                        place.input_shape),
        dilation_rate=depthwise.dilation, dtype=numpy_dtype(pointwise.weight),
        use_bias=pointwise.bias is not None,
        activation="identity" if activation is None else
        from_module(activation, f"module {k + 1}", feature_map=True))
    return layer, k + 1 - i + (activation is not None)


TRANSLATIONS = (
    *(row for row in TRANSLATIONS if row.kind != "ZeroPadding2D"),
    Translation("Cropping2D", _cropping, _read_cropping, (nn.ConstantPad2d,),
                Template(None, call="x = x[:, :, {rows}, {columns}]  # Keras's cropping "
                         "((top, bottom), (left, right))", arguments=_crop_fields,
                         layout="channels")),
    Translation("UpSampling2D", _upsampling, _read_upsampling, (nn.Upsample,),
                Template("nn.Upsample(scale_factor={scale}, mode={interpolation!r}{corners})",
                         note="{note}", layout="channels", arguments=lambda layer, shape: {
                             "scale": _size(layer.size),
                             "corners": ", align_corners=False" if
                             layer.interpolation == "bilinear" else "",
                             "note": "Keras's bilinear: half-pixel centres" if
                             layer.interpolation == "bilinear" else ""})),
    Translation("Conv2DTranspose", _conv_transpose, _read_conv_transpose,
                (nn.ConvTranspose2d,),
                Template("nn.ConvTranspose2d({in_channels}, {filters}, {arguments})",
                         note="kernel (in, out, k_h, k_w)", call="x = self.{attr}(x){crop}",
                         arguments=_conv_transpose_fields, layout="channels")),
    Translation("SeparableConv2D", _separable, _read_separable, (nn.Sequential, *_PADS),
                Template("nn.Sequential(\n    nn.Conv2d({in_channels}, {in_channels} * "
                         "{depth_multiplier}, {arguments}, groups={in_channels}, bias=False),"
                         "\n    nn.Conv2d({in_channels} * {depth_multiplier}, {filters}, 1"
                         "{pointwise_bias}),\n)",
                         note="Keras's SeparableConv2D: depthwise, then 1×1; {note}",
                         call="{pad}x = self.{attr}(x)", arguments=_separable_fields,
                         layout="channels")),
    # last, after every row that takes a pad module as TF's "same" of its layer (the
    # separable pair's too: asked first, this row read that pad as a layer of its own)
    *(row for row in TRANSLATIONS if row.kind == "ZeroPadding2D"),
)
