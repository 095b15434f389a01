"""Convolution and pooling as Keras writes them: ``keras.layers.Conv2D``, ``MaxPooling2D``,
… on channels-last data, (N, H, W, C), the spec's layout too, so nothing is permuted.

* Conv2D, Conv1D, DepthwiseConv2D: kernels (k_h, k_w, in, out), (k, in, out) and
  (k_h, k_w, C, M), as the spec's. ``padding="same"`` is TF's rule at every stride (the
  odd padded cell at the bottom or right); Keras refuses strides above 1 together with a
  dilation above 1 (torch and the spec compute it).
* MaxPooling2D, AveragePooling2D: ``"same"`` pads by the same rule; AveragePooling2D
  always leaves the padded cells out of the divisor (torch's ``count_include_pad=False``).
* GlobalAveragePooling2D: the mean over H and W.
* Cropping2D, UpSampling2D, Conv2DTranspose (kernel (k_h, k_w, out, in)) and
  SeparableConv2D (depthwise and pointwise kernels): Keras's own layers, as the spec's.

As with Dense, the dtype is explicit on the layers with weights, which are built at once;
the pooling layers keep their input's dtype (``autocast=False``), as the spec's do.
Keras's autocasting and the project's input checks: see ``tf_impl.layers``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

import reference
from reference.layouts import Context
from tf_impl._table import Read, Translation
from tf_impl.layers import activation_layers, built, read_activation


def Conv2D(in_channels: int, filters: int, kernel_size: int | Sequence[int], *,
           strides: int | Sequence[int] = 1, padding: str = "valid",
           dilation_rate: int | Sequence[int] = 1, activation: str = "linear",
           use_bias: bool = True, dtype: str = "float64") -> keras.layers.Conv2D:
    """A built ``keras.layers.Conv2D``: y = φ(conv(x, kernel) + bias), kernel
    (k_h, k_w, in_channels, filters).

    Shape: x (N, H, W, in_channels) → y (N, H', W', filters).
    """
    layer = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                                dilation_rate=dilation_rate, activation=activation,
                                use_bias=use_bias, dtype=dtype)
    layer.build((None, None, None, in_channels))
    return layer


def Conv1D(in_channels: int, filters: int, kernel_size: int | Sequence[int], *,
           strides: int | Sequence[int] = 1, padding: str = "valid",
           dilation_rate: int | Sequence[int] = 1, activation: str = "linear",
           use_bias: bool = True, dtype: str = "float64") -> keras.layers.Conv1D:
    """A built ``keras.layers.Conv1D``, kernel (k, in_channels, filters).

    Shape: x (N, L, in_channels) → y (N, L', filters).
    """
    layer = keras.layers.Conv1D(filters, kernel_size, strides=strides, padding=padding,
                                dilation_rate=dilation_rate, activation=activation,
                                use_bias=use_bias, dtype=dtype)
    layer.build((None, None, in_channels))
    return layer


def DepthwiseConv2D(in_channels: int, kernel_size: int | Sequence[int], *,
                    depth_multiplier: int = 1, strides: int | Sequence[int] = 1,
                    padding: str = "valid", dilation_rate: int | Sequence[int] = 1,
                    activation: str = "linear", use_bias: bool = True,
                    dtype: str = "float64") -> keras.layers.DepthwiseConv2D:
    """A built ``keras.layers.DepthwiseConv2D``, kernel (k_h, k_w, C, depth_multiplier).

    Shape: x (N, H, W, C) → y (N, H', W', C·depth_multiplier).
    """
    layer = keras.layers.DepthwiseConv2D(kernel_size, strides=strides, padding=padding,
                                         depth_multiplier=depth_multiplier,
                                         dilation_rate=dilation_rate, activation=activation,
                                         use_bias=use_bias, dtype=dtype)
    layer.build((None, None, None, in_channels))
    return layer


def MaxPool2D(pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
              padding: str = "valid", *, dtype: str | None = None) -> keras.layers.MaxPooling2D:
    """``keras.layers.MaxPooling2D``, keeping its input's dtype.

    NaN: TF's max pooling skips a NaN, where the spec and torch give NaN: a window's
    other cells win, and a window of NaN alone gives float32's lowest number, −3.4e38,
    even in float64 (``parity_tests/fuzz/test_fuzz_layer_kinds.py``).

    Shape: x (N, H, W, C) → y (N, H', W', C).
    """
    return keras.layers.MaxPooling2D(pool_size, strides, padding, dtype=dtype, autocast=False)


def AveragePool2D(pool_size: int | Sequence[int] = 2,
                  strides: int | Sequence[int] | None = None, padding: str = "valid", *,
                  dtype: str | None = None) -> keras.layers.AveragePooling2D:
    """``keras.layers.AveragePooling2D``, keeping its input's dtype: under ``"same"`` the
    divisor counts only the real cells of a window. Shape: x (N, H, W, C) → y (N, H', W', C).
    """
    return keras.layers.AveragePooling2D(pool_size, strides, padding, dtype=dtype,
                                         autocast=False)


def GlobalAveragePooling2D(*, keepdims: bool = False, dtype: str | None = None
                           ) -> keras.layers.GlobalAveragePooling2D:
    """``keras.layers.GlobalAveragePooling2D``, keeping its input's dtype.

    Shape: x (N, H, W, C) → y (N, C); keepdims: (N, 1, 1, C)."""
    return keras.layers.GlobalAveragePooling2D(keepdims=keepdims, dtype=dtype, autocast=False)


def GlobalMaxPooling2D(*, keepdims: bool = False, dtype: str | None = None
                       ) -> keras.layers.GlobalMaxPooling2D:
    """``keras.layers.GlobalMaxPooling2D``, keeping its input's dtype.

    Shape: x (N, H, W, C) → y (N, C); keepdims: (N, 1, 1, C)."""
    return keras.layers.GlobalMaxPooling2D(keepdims=keepdims, dtype=dtype, autocast=False)


def GlobalAveragePooling1D(*, keepdims: bool = False, dtype: str | None = None
                           ) -> keras.layers.GlobalAveragePooling1D:
    """``keras.layers.GlobalAveragePooling1D``, keeping its input's dtype.

    Shape: x (N, L, C) → y (N, C); keepdims: (N, 1, C)."""
    return keras.layers.GlobalAveragePooling1D(keepdims=keepdims, dtype=dtype, autocast=False)


# -- the translation table's rows ------------------------------------------------------------

def _build_convolution(layer: reference.layers.Layer, context: Context,
                       dtype: str) -> list[keras.Layer]:
    name, after = activation_layers(layer, layer.dtype.name, f"from_reference: {layer.name}")
    options = {"strides": layer.strides, "padding": layer.padding,
               "dilation_rate": layer.dilation_rate, "activation": name,
               "use_bias": layer.use_bias, "dtype": layer.dtype.name}
    if isinstance(layer, reference.DepthwiseConv2D):
        main = DepthwiseConv2D(layer.in_channels, layer.kernel_size,
                               depth_multiplier=layer.depth_multiplier, **options)
    else:
        make = Conv1D if isinstance(layer, reference.Conv1D) else Conv2D
        main = make(layer.in_channels, layer.filters, layer.kernel_size, **options)
    return [main, *after]


def _padding(main: keras.Layer, where: str) -> str:
    if getattr(main, "data_format", "channels_last") != "channels_last":
        raise TypeError(f"to_reference: {where} is channels_first; the spec is channels-last")
    padding = main.padding.lower()
    if padding not in ("valid", "same"):
        raise TypeError(f"to_reference: {where} pads {padding!r}; the spec pads 'valid' or "
                        "'same'")
    return padding


def _read_convolution(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    padding = _padding(main, where)
    built(main, where)
    if getattr(main, "groups", 1) != 1:
        raise TypeError(f"to_reference: {where} has groups > 1; the spec's convolutions have "
                        "one group (DepthwiseConv2D: one per channel)")
    activation, n = read_activation(layers, i, where)
    kernel = main.kernel
    options = {"strides": main.strides, "padding": padding,
               "dilation_rate": main.dilation_rate, "activation": activation,
               "use_bias": main.use_bias, "dtype": kernel.dtype}
    if isinstance(main, keras.layers.DepthwiseConv2D):
        return reference.DepthwiseConv2D(int(kernel.shape[2]), main.kernel_size,
                                         depth_multiplier=int(kernel.shape[3]), **options), n
    kind = reference.Conv1D if isinstance(main, keras.layers.Conv1D) else reference.Conv2D
    return kind(int(kernel.shape[-2]), int(kernel.shape[-1]), main.kernel_size, **options), n


def _build_pooling(layer: reference.layers.Layer, context: Context,
                   dtype: str) -> list[keras.Layer]:
    if isinstance(layer, reference.MaxPool2D):
        return [MaxPool2D(layer.pool_size, layer.strides, layer.padding, dtype=dtype)]
    if layer.count_include_pad and layer.padding == "same":
        raise TypeError(f"from_reference: {layer.name} counts padded cells in its divisor "
                        "(count_include_pad=True); Keras's AveragePooling2D always leaves "
                        "them out")
    return [AveragePool2D(layer.pool_size, layer.strides, layer.padding, dtype=dtype)]


def _read_pooling(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    kind = reference.MaxPool2D if isinstance(main, keras.layers.MaxPooling2D) else \
        reference.AveragePool2D
    return kind(main.pool_size, main.strides, _padding(main, where)), 1


def _read_global_pooling(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    if main.data_format != "channels_last":
        raise TypeError(f"to_reference: {where} is channels_first; the spec is channels-last")
    kind = {keras.layers.GlobalMaxPooling2D: reference.GlobalMaxPooling2D,
            keras.layers.GlobalAveragePooling1D: reference.GlobalAveragePooling1D}
    return kind.get(type(main), reference.GlobalAveragePooling2D)(keepdims=main.keepdims), 1


def ZeroPadding2D(padding: int | tuple = 1, *,
                  dtype: str | None = None) -> keras.layers.ZeroPadding2D:
    """``keras.layers.ZeroPadding2D(padding)``, keeping its input's dtype; ``padding`` as
    ((top, bottom), (left, right)). Shape: x (N, H, W, C) → (N, H + top + bottom,
    W + left + right, C)."""
    return keras.layers.ZeroPadding2D(padding, dtype=dtype, autocast=False)


def _read_zero_padding(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    if main.data_format != "channels_last":
        raise TypeError(f"to_reference: {where} is channels_first; the spec is channels-last")
    return reference.ZeroPadding2D(tuple(tuple(int(p) for p in pair)
                                         for pair in main.padding)), 1


# Feature maps are channels-first in torch: these kinds do not port to Keras (template None).
TRANSLATIONS = [
    *(Translation(kind, _build_convolution, _read_convolution, (reads,))
      for kind, reads in (("Conv2D", keras.layers.Conv2D), ("Conv1D", keras.layers.Conv1D),
                          ("DepthwiseConv2D", keras.layers.DepthwiseConv2D))),
    Translation("MaxPool2D", _build_pooling, _read_pooling, (keras.layers.MaxPooling2D,)),
    Translation("AveragePool2D", _build_pooling, _read_pooling,
                (keras.layers.AveragePooling2D,)),
    Translation("GlobalAveragePooling2D",
                lambda layer, context, dtype: [GlobalAveragePooling2D(
                    keepdims=layer.keepdims, dtype=dtype)],
                _read_global_pooling, (keras.layers.GlobalAveragePooling2D,)),
    Translation("GlobalMaxPooling2D",
                lambda layer, context, dtype: [GlobalMaxPooling2D(
                    keepdims=layer.keepdims, dtype=dtype)],
                _read_global_pooling, (keras.layers.GlobalMaxPooling2D,)),
    Translation("GlobalAveragePooling1D",
                lambda layer, context, dtype: [GlobalAveragePooling1D(
                    keepdims=layer.keepdims, dtype=dtype)],
                _read_global_pooling, (keras.layers.GlobalAveragePooling1D,)),
    Translation("ZeroPadding2D",
                lambda layer, context, dtype: [ZeroPadding2D(layer.padding, dtype=dtype)],
                _read_zero_padding, (keras.layers.ZeroPadding2D,)),
]


# -- the layers of upsampling paths (U-Net) and separable stacks (MobileNet) --------------

def Cropping2D(cropping: int | tuple = ((0, 0), (0, 0)), *,
               dtype: str | None = None) -> keras.layers.Cropping2D:
    """``keras.layers.Cropping2D(cropping)``, keeping its input's dtype; ``cropping`` as
    ((top, bottom), (left, right)). Shape: x (N, H, W, C) → (N, H − top − bottom,
    W − left − right, C)."""
    return keras.layers.Cropping2D(cropping, dtype=dtype, autocast=False)


def UpSampling2D(size: int | tuple[int, int] = 2, interpolation: str = "nearest", *,
                 dtype: str | None = None) -> keras.layers.UpSampling2D:
    """``keras.layers.UpSampling2D(size, interpolation=…)``, keeping its input's dtype.
    ``"bilinear"`` samples at half-pixel centres (torch's ``align_corners=False``); TF's
    resize kernel computes it in float32 even for float64 data (about 1e-7 off the
    spec's float64 numbers). Shape: x (N, H, W, C) → (N, H·s_h, W·s_w, C)."""
    return keras.layers.UpSampling2D(size, interpolation=interpolation, dtype=dtype,
                                     autocast=False)


def Conv2DTranspose(in_channels: int, filters: int, kernel_size: int | Sequence[int], *,
                    strides: int | Sequence[int] = 1, padding: str = "valid",
                    output_padding: int | Sequence[int] | None = None,
                    activation: str = "linear",
                    dtype: str = "float64") -> keras.layers.Conv2DTranspose:
    """A built ``keras.layers.Conv2DTranspose``, kernel (k_h, k_w, filters, in_channels).

    Shape: x (N, H, W, in_channels) → y (N, H', W', filters), H' = H·s under "same"."""
    layer = keras.layers.Conv2DTranspose(filters, kernel_size, strides=strides,
                                         padding=padding, output_padding=output_padding,
                                         activation=activation, dtype=dtype)
    layer.build((None, None, None, in_channels))
    return layer


def SeparableConv2D(in_channels: int, filters: int, kernel_size: int | Sequence[int], *,
                    depth_multiplier: int = 1, strides: int | Sequence[int] = 1,
                    padding: str = "valid", dilation_rate: int | Sequence[int] = 1,
                    activation: str = "linear", use_bias: bool = True,
                    dtype: str = "float64") -> keras.layers.SeparableConv2D:
    """A built ``keras.layers.SeparableConv2D``: depthwise kernel (k_h, k_w, C, M), pointwise
    kernel (1, 1, C·M, filters), bias (filters,) unless ``use_bias=False``.

    Shape: x (N, H, W, C) → y (N, H', W', filters)."""
    layer = keras.layers.SeparableConv2D(filters, kernel_size, strides=strides,
                                         padding=padding, depth_multiplier=depth_multiplier,
                                         dilation_rate=dilation_rate, activation=activation,
                                         use_bias=use_bias, dtype=dtype)
    layer.build((None, None, None, in_channels))
    return layer


def _channels_last(main: keras.Layer, where: str) -> None:
    if main.data_format != "channels_last":
        raise TypeError(f"to_reference: {where} is channels_first; the spec is channels-last")


def _read_cropping(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    _channels_last(layers[i], where)
    return reference.Cropping2D(tuple(tuple(int(p) for p in pair)
                                      for pair in layers[i].cropping)), 1


def _read_upsampling(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    _channels_last(main, where)
    if main.interpolation not in reference.convolution.INTERPOLATIONS:
        raise TypeError(f"to_reference: {where} interpolates {main.interpolation!r}; the "
                        "spec has 'nearest' and 'bilinear'")
    return reference.UpSampling2D(tuple(main.size), main.interpolation), 1


def _build_conv_transpose(layer: reference.Conv2DTranspose, context: Context,
                          dtype: str) -> list[keras.Layer]:
    name, after = activation_layers(layer, layer.dtype.name, f"from_reference: {layer.name}")
    return [Conv2DTranspose(layer.in_channels, layer.filters, layer.kernel_size,
                            strides=layer.strides, padding=layer.padding,
                            output_padding=layer.output_padding, activation=name,
                            dtype=layer.dtype.name), *after]


def _read_conv_transpose(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    padding = _padding(main, where)
    built(main, where)
    if not main.use_bias or tuple(main.dilation_rate) != (1, 1):
        raise TypeError(f"to_reference: {where} has no bias or a dilation; the spec's "
                        "Conv2DTranspose has a bias and none")
    activation, n = read_activation(layers, i, where)
    kernel = main.kernel
    return reference.Conv2DTranspose(
        int(kernel.shape[3]), int(kernel.shape[2]), main.kernel_size, strides=main.strides,
        padding=padding, output_padding=main.output_padding, activation=activation,
        dtype=kernel.dtype), n


def _build_separable(layer: reference.SeparableConv2D, context: Context,
                     dtype: str) -> list[keras.Layer]:
    name, after = activation_layers(layer, layer.dtype.name, f"from_reference: {layer.name}")
    return [SeparableConv2D(layer.in_channels, layer.out_channels, layer.kernel_size,
                            depth_multiplier=layer.depth_multiplier, strides=layer.strides,
                            padding=layer.padding, dilation_rate=layer.dilation_rate,
                            activation=name, use_bias=layer.use_bias,
                            dtype=layer.dtype.name), *after]


def _read_separable(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    padding = _padding(main, where)
    built(main, where)
    activation, n = read_activation(layers, i, where)
    depthwise, pointwise = main.depthwise_kernel, main.pointwise_kernel
    return reference.SeparableConv2D(
        int(depthwise.shape[2]), int(pointwise.shape[3]), main.kernel_size,
        depth_multiplier=int(depthwise.shape[3]), strides=main.strides, padding=padding,
        dilation_rate=main.dilation_rate, activation=activation, use_bias=main.use_bias,
        dtype=depthwise.dtype), n


TRANSLATIONS += [
    Translation("Cropping2D",
                lambda layer, context, dtype: [Cropping2D(layer.cropping, dtype=dtype)],
                _read_cropping, (keras.layers.Cropping2D,)),
    Translation("UpSampling2D",
                lambda layer, context, dtype: [UpSampling2D(layer.size, layer.interpolation,
                                                            dtype=dtype)],
                _read_upsampling, (keras.layers.UpSampling2D,)),
    Translation("Conv2DTranspose", _build_conv_transpose, _read_conv_transpose,
                (keras.layers.Conv2DTranspose,)),
    Translation("SeparableConv2D", _build_separable, _read_separable,
                (keras.layers.SeparableConv2D,)),
]
