"""Layers: the one protocol every spec layer follows, and the layers that prove it.

The protocol (:class:`Layer`), the same for a dense layer, a convolution, a recurrent
layer or a parameter-free reshape:

* ``forward(x, *, training=False)``: the output; remembers what ``backward`` needs.
  ``training`` matters where training and inference differ (Dropout, BatchNorm); the
  default is inference, as a Keras layer called directly (a torch module starts in
  training mode instead: ``module.train()`` / ``module.eval()``). It must be True or
  False: ``training="no"`` would read as True and switch Dropout on, so every layer
  kind's ``forward`` refuses anything else, by the layer's name (:class:`Layer` checks
  it, and ``backward``'s ``input_gradient``, once for all kinds).
* ``backward(grad_output, *, input_gradient=True)``: given dL/dy, stores dL/dθ for every
  parameter in ``gradients`` and returns dL/dx (``None`` when not asked for).
* ``parameters``: the trainable arrays by name, in a fixed order (Dense: ``W``, ``b``);
  ``gradients``: dL/d(each), same names, from the last ``backward``; ``state``: the
  named non-trainable arrays (BatchNorm's running statistics), updated by ``forward``
  in training. ``set(name, value)`` assigns one of either, shape and dtype checked.
* ``regularization_loss()``: the layer's own term of the loss, which training adds to it
  (Dense's L2 penalty λ‖W‖², whose gradient ``backward`` includes); 0 for most layers.
* ``initialize(rng)``: draws the parameters from a generator (``Sequential(seed=…)``
  re-draws all layers from one generator, layer by layer).
* ``input_ndim``: the rank of the input it accepts, batch axis included (``None``:
  any rank ≥ 2); ``input_kind``: ``"float"`` (converted to the layer's dtype under the
  input policy) or ``"indices"`` (integer indices, kept as integers: Embedding);
  ``output_shape(input_shape)``: the per-sample output shape, or a ``ValueError``
  naming the layer when it cannot take that input.
* ``config()``: the constructor's arguments as JSON-able data; ``from_config(kind,
  config)`` rebuilds the layer. Weight files and conversion use these.
* ``merges``: False for a layer of one input; True for a merge layer
  (``reference.merging``: Add, Concatenate, …), whose ``forward`` takes a list of
  arrays, whose ``backward`` returns a list (dL/d(each input), in order) and whose
  ``output_shape`` takes the list of per-sample input shapes.
* ``layer(tensor)``: on a symbolic tensor (``reference.graphs.Input`` or a layer's
  output), wires the layer into a graph and returns its symbolic output
  (``reference.graphs``); it never changes ``forward``, which is what a graph calls.

Each layer kind's mapping onto torch's and Keras's weights is data, not code: see
``reference.layouts``.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from reference import activations, initializers
from reference._validation import (
    FLOAT32_MAX,
    as_dtype,
    as_flag,
    as_float_array,
    as_mask,
    as_seed,
    check_batch,
    check_memory,
    check_real,
    check_shape,
    real_value,
)
from reference.activations import for_layer, get


def _references(holder: dict[str, np.ndarray], key: str) -> int:
    """``sys.getrefcount`` of ``holder[key]``, counted the same way wherever it is called."""
    return sys.getrefcount(holder[key])


# what _references counts for an array its dict alone holds: the dict's reference and the
# call's own, which CPython versions count differently, so measured rather than assumed
_SOLE_REFERENCES = _references({"array": np.empty(0)}, "array")


def _check_output_fits(layer: Layer, x: object) -> None:
    """Refuse an output beyond the memory available now (``check_memory``), from its
    shape, before the forward allocates it: an UpSampling2D of size 300 on a 100 × 100
    image asks for 22 GB. An input the layer cannot take is left to its forward's error."""
    if layer.merges or not isinstance(x, np.ndarray) or x.ndim < 2:
        return
    try:
        shape = (x.shape[0], *layer.output_shape(tuple(x.shape[1:])))
    except (TypeError, ValueError):
        return
    itemsize = layer.dtype.itemsize if layer.dtype is not None else \
        x.dtype.itemsize if x.dtype.kind == "f" else 8  # integers become float64
    check_memory(layer.name, f"its output of shape {shape}", math.prod(shape) * itemsize)


def _checked_forward(forward: Callable[..., Any]) -> Callable[..., Any]:
    """``forward`` after the check of its ``training`` switch, and with an output too large
    to allocate refused by the layer's name (see :class:`Layer`)."""
    @functools.wraps(forward)
    def run(self: Layer, *args: object, training: object = False, **kwargs: object) -> Any:
        training = as_flag(self.name, "training", training)
        _check_output_fits(self, args[0] if args else kwargs.get("x"))
        try:
            return forward(self, *args, training=training, **kwargs)
        except MemoryError as error:  # NumPy refuses the allocation at once: nothing grew
            raise ValueError(f"{self.name}: the arrays of this forward do not fit in memory "
                             f"({error})") from None
    return run


def _checked_backward(backward: Callable[..., Any]) -> Callable[..., Any]:
    """``backward`` after the check of its ``input_gradient`` switch."""
    @functools.wraps(backward)
    def run(self: Layer, *args: object, input_gradient: object = True, **kwargs: object
            ) -> Any:
        return backward(self, *args, input_gradient=as_flag(self.name, "input_gradient",
                                                            input_gradient), **kwargs)
    return run


def _checked_initialize(initialize: Callable[..., None]) -> Callable[..., None]:
    """``initialize`` with parameters too large to allocate refused by the layer's name:
    those beyond the memory available now before any is drawn (``check_memory``), and
    any NumPy refuses."""
    @functools.wraps(initialize)
    def run(self: Layer, *args: object, **kwargs: object) -> None:
        sizes = [math.prod(shape) for shape in type(self).array_shapes(self.config()).values()]
        if sizes and self.dtype is not None:  # each array is drawn in float64, then cast
            total = sum(sizes) * self.dtype.itemsize
            check_memory(self.name, f"its parameters ({total} bytes of {self.dtype.name}) "
                         "and the float64 draw of the largest", total + max(sizes) * 8)
        try:
            initialize(self, *args, **kwargs)
        except MemoryError as error:  # NumPy refuses the allocation at once: nothing grew
            raise ValueError(f"{self.name}: its parameters do not fit in memory ({error}); "
                             "choose smaller sizes") from None
    return run


# What every layer kind's own methods get from Layer.__init_subclass__: the checks of the
# protocol's arguments, written once here rather than in each kind.
_PROTOCOL_CHECKS = {"forward": _checked_forward, "backward": _checked_backward,
                    "initialize": _checked_initialize}


class Layer:
    """The protocol (see the module docstring); subclasses fill in the math.

    Shape:
        x: (N, *input_shape) → y: (N, *output_shape(input_shape)).
    """

    input_ndim: ClassVar[int | None] = None
    # "float": the input is converted to the layer's float dtype (integers too);
    # "indices": the input is integer indices, kept as they are (Embedding).
    input_kind: ClassVar[str] = "float"
    # True: the layer honours a per-step ``mask`` (N, T), which Sequential hands it from an
    # Embedding with mask_zero=True below it (Keras's mask propagation).
    takes_mask: ClassVar[bool] = False
    # True: forward takes a list of inputs (a merge layer, reference.merging).
    merges: ClassVar[bool] = False
    # True: the layer takes a sequence of any length, an input whose per-sample shape holds
    # None (Keras's ``Input(shape=(None, …))``) on an axis its output's shape carries along
    # or drops; False: it needs every size known (Flatten, Reshape, a Dense, a convolution).
    any_length: ClassVar[bool] = False
    parameter_names: ClassVar[tuple[str, ...]] = ()
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, dtype: object | None = np.float64, name: str | None = None,
                 default_name: str | None = None) -> None:
        kind = type(self).__name__
        for what, given in (("name", name), ("default_name", default_name)):
            if given is not None and not isinstance(given, str):
                raise TypeError(f"{kind}: {what} must be a str or None, got {given!r}")
        if dtype is None and self.parameter_names:  # None: the input's dtype, for no weights
            raise TypeError(f"{kind}: a layer with weights needs dtype float32 or float64, "
                            "got None")
        self.name = name or default_name or kind  # a kind's default: its settings
        # None: a layer without parameters computes in its input's float dtype.
        self.dtype: np.dtype | None = None if dtype is None else as_dtype(dtype, self.name)
        self._values: dict[str, np.ndarray] = {}
        self._gradients: dict[str, np.ndarray] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give the ``forward``, ``backward`` and ``initialize`` a subclass defines the
        protocol's checks: ``training`` and ``input_gradient`` True or False, never a value
        read as one, and arrays NumPy cannot allocate, or that do not fit in the memory
        available now (parameters, an output), refused by the layer's name."""
        super().__init_subclass__(**kwargs)
        for method, check in _PROTOCOL_CHECKS.items():
            if method in cls.__dict__:
                setattr(cls, method, check(cls.__dict__[method]))

    def __call__(self, inputs: object) -> object:
        """Wire the layer into a graph: ``layer(tensor)`` (a list of tensors for a merge
        layer) returns the symbolic output (``reference.graphs``). Arrays go to
        :meth:`forward` instead; this call computes nothing."""
        from reference.graphs import connect  # graphs builds on layers

        return connect(self, inputs)

    # -- parameters, gradients and state -------------------------------------------------

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """The trainable arrays by name, in the layer's fixed order."""
        return {name: self._values[name] for name in self.parameter_names}

    @property
    def state(self) -> dict[str, np.ndarray]:
        """The named non-trainable arrays (running statistics); empty for most layers."""
        return {name: self._values[name] for name in self.state_names}

    @property
    def gradients(self) -> dict[str, np.ndarray]:
        """dL/d(parameter) by name, from the last :meth:`backward`."""
        if self._gradients is None:
            if not self.parameter_names:
                return {}
            raise RuntimeError(f"{self.name}: call backward() before reading gradients")
        return dict(self._gradients)

    @property
    def params(self) -> tuple[np.ndarray, ...]:
        """The parameters as a tuple, in order (Dense: (W, b))."""
        return tuple(self.parameters.values())

    @property
    def grads(self) -> tuple[np.ndarray, ...]:
        """The gradients as a tuple, in the order of :attr:`params`."""
        gradients = self.gradients
        return tuple(gradients[name] for name in self.parameter_names)

    def regularization_loss(self) -> float:
        """The layer's own term of the loss (a weight penalty); 0 for most layers."""
        return 0.0

    def _unshared_gradient(self, name: str, shape: tuple[int, ...], dtype: np.dtype
                           ) -> np.ndarray | None:
        """The last backward's dL/d``name`` for this backward to write into, when nothing
        outside the layer refers to it, so no one can see it change; else None (a new array).

        Why: an array larger than glibc's mmap threshold (32 MB at most) is fresh memory
        each time, and writing it first page-faults every page (the large MLP's 64 MB
        dL/dW: about 5% of its step). NumPy reuses its own temporaries by the same rule,
        a reference count that says no one else holds them."""
        if not self._gradients or name not in self._gradients or \
                _references(self._gradients, name) > _SOLE_REFERENCES:
            return None
        last = self._gradients[name]
        fits = last.shape == shape and last.dtype == dtype and last.flags.c_contiguous
        return last if fits and last.flags.writeable else None

    def expected_shape(self, name: str) -> tuple[int, ...]:
        """The shape a parameter or state array must have."""
        return self._values[name].shape

    def set(self, name: str, value: np.ndarray) -> None:
        """Assign a parameter or state array (a checked copy) by name."""
        if name not in self.parameter_names + self.state_names:
            raise KeyError(f"{self.name}: no parameter or state named {name!r}; it has "
                           f"{list(self.parameter_names + self.state_names)}")
        value = as_float_array(value, self.dtype, self.name, name)
        check_shape(self.name, name, value.shape, self.expected_shape(name))
        self._values[name] = value.copy()

    # -- what each layer defines ----------------------------------------------------------

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw the parameters from ``rng``; a layer without parameters draws nothing."""

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample output shape for a per-sample ``input_shape``."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        """The names and shapes of the arrays (parameters, then state) that a layer built
        from ``config`` holds, computed without building it: a weight file's declared sizes
        are checked against these before any array is allocated. None for most layers
        without weights."""
        return {}

    def config(self) -> dict[str, Any]:
        """The constructor's arguments (JSON-able), so that ``from_config`` rebuilds it."""
        return {} if self.dtype is None else {"dtype": self.dtype.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    # -- shared plumbing -------------------------------------------------------------------

    def _input(self, x: np.ndarray) -> np.ndarray:
        """``x`` under the input policy: the layer's dtype (integers converted), its rank."""
        x = as_float_array(x, self.dtype, self.name, "input x")
        if self.input_ndim is not None and x.ndim != self.input_ndim:
            raise ValueError(f"{self.name}: input x must have {self.input_ndim} axes "
                             f"(batch first), got shape {x.shape}")
        if self.input_ndim is None and x.ndim < 2:
            raise ValueError(f"{self.name}: input x needs a batch axis and at least one more, "
                             f"got shape {x.shape}")
        return x

    def _upstream(self, grad_output: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        g = as_float_array(grad_output, self.dtype, self.name, "grad_output")
        check_shape(self.name, "grad_output", g.shape, shape)
        return g

    def _no_forward(self) -> RuntimeError:
        return RuntimeError(f"{self.name}: call forward() before backward()")


class Dense(Layer):
    r"""Fully connected layer: ``z = x W + b``, ``y = φ(z)``.

    Entry by entry, z_{n,i} = b_i + Σ_j x_{n,j} W_{j,i}: W_{j,i} joins input j to unit i,
    the w_{j,i} of note 000. That (in, out) layout is Keras's ``kernel``; torch's
    ``nn.Linear.weight`` stores the transpose, (out, in), and computes ``x Aᵀ + b``.

    Backward, given g = dL/dy: δ = dL/dz = φ'(z) ⊙ g (a vector-Jacobian product for
    softmax), then dL/dW = xᵀ δ, dL/db = Σ_n δ_n and dL/dx = δ Wᵀ.

    L2 regularisation as a loss term (Keras's ``kernel_regularizer=L2(λ)``): the layer
    adds λ‖W‖² = λ Σ W² to the loss (:meth:`regularization_loss`), so dL/dW gains 2λW;
    the bias is not penalised. torch has no such argument: its users add the term to the
    loss in the loop, or use ``weight_decay=λ'``, which adds λ'p to the gradient of every
    parameter, the bias included (λ' = 2λ gives the kernel the same step).

    Shape:
        x: (N, in_features); y, z, g: (N, out_features);
        W: (in_features, out_features); b: (out_features,).

    Args:
        in_features, out_features: widths of the input and of the layer.
        activation: a name from ``reference.activations`` or an ``Activation``.
        kernel_regularizer: λ of the L2 loss term λ‖W‖² (0: none).
        dtype: float64 (default, NumPy's) or float32; float inputs must match it, integer
            inputs are converted to it (``reference._validation`` states the policy).
        use_bias: False: no b, y = φ(x W) (Keras's ``use_bias=False``, torch's
            ``bias=False``), as before a BatchNormalization, whose β takes its place.
        seed: seeds the Glorot-uniform kernel (Keras's default, zero bias).
            ``Sequential(..., seed=...)`` re-draws all layers from one generator.
        name: used in error messages.
    """

    input_ndim = 2
    parameter_names = ("W", "b")

    def __init__(self, in_features: int, out_features: int,
                 activation: str | activations.Activation = "identity", *,
                 kernel_regularizer: float = 0.0, use_bias: bool = True,
                 dtype: object = np.float64, seed: int | None = None,
                 name: str | None = None) -> None:
        self.use_bias = as_flag("Dense", "use_bias", use_bias)
        if not self.use_bias:
            self.parameter_names = ("W",)
        for what, width in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
                raise ValueError(f"Dense: {what} must be a positive integer, got {width!r}")
        regularizer = real_value(kernel_regularizer)
        if regularizer is None or not 0.0 <= regularizer < math.inf:
            raise ValueError(f"Dense: kernel_regularizer must be a finite number ≥ 0 (λ of "
                             f"λ‖W‖²), got {kernel_regularizer!r}")
        self.kernel_regularizer = regularizer
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = for_layer("Dense", activation)
        super().__init__(dtype=dtype, name=name,
                         default_name=f"Dense({in_features}, {out_features}, "
                                                   f"{self.activation.name})")
        self.initialize(as_seed("Dense", seed))
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw W Glorot-uniform and set b to zero, as ``keras.layers.Dense`` does."""
        shape = (self.in_features, self.out_features)
        self._values["W"] = initializers.glorot_uniform(shape, rng, self.dtype)
        if self.use_bias:
            self._values["b"] = initializers.zeros((self.out_features,), dtype=self.dtype)

    @property
    def W(self) -> np.ndarray:
        """The kernel, shape (in_features, out_features)."""
        return self._values["W"]

    @W.setter
    def W(self, value: np.ndarray) -> None:
        self.set("W", value)

    @property
    def b(self) -> np.ndarray:
        """The bias, shape (out_features,)."""
        return self._values["b"]

    @b.setter
    def b(self, value: np.ndarray) -> None:
        self.set("b", value)

    @property
    def dW(self) -> np.ndarray | None:
        return None if self._gradients is None else self._gradients["W"]

    @property
    def db(self) -> np.ndarray | None:
        return None if self._gradients is None else self._gradients.get("b")

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        bias = {"b": [config["out_features"]]} if config.get("use_bias", True) else {}
        return {"W": [config["in_features"], config["out_features"]], **bias}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(f"{self.name}: expects {self.in_features} input features per "
                             f"sample, got per-sample shape {tuple(input_shape)}")
        return (self.out_features,)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = φ(x W + b); remembers x and z for :meth:`backward`.

        x must be (N, in_features) in the layer's dtype; an integer x (the notes' XOR
        data) is converted to that dtype first. ``training`` changes nothing here.
        """
        x = as_float_array(x, self.dtype, self.name, "input x")
        check_batch(self.name, "input x", x.shape, self.in_features)
        z = x @ self.W
        if self.use_bias:
            z += self.b  # in place: no second (N, out) temporary
        self._x, self._z = x, z
        # identity (a linear output, logits): z itself, not φ's copy of it
        return z if self.activation.name == "identity" else self.activation(z)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """Given g = dL/dy, store dL/dW and dL/db and return dL/dx.

        ``input_gradient=False`` skips dL/dx = δ Wᵀ, as costly as dL/dW, and returns None:
        a training step never needs the gradient of its data (torch skips it too, for an
        input that does not require grad).
        """
        if self._x is None or self._z is None:
            raise self._no_forward()
        g = self._upstream(grad_output, self._z.shape)
        # identity: δ = g, without φ'(z) = 1 made and multiplied (nothing below writes to δ)
        delta = g if self.activation.name == "identity" else self.activation.vjp(self._z, g)
        into = self._unshared_gradient("W", self.W.shape, np.result_type(self._x, delta))
        if len(delta) != 1:  # BLAS reads xᵀ as x with a flag: no transposed copy
            dW = np.matmul(self._x.T, delta, out=into)
        else:  # one sample: an outer product, which matmul leaves to a slow non-BLAS loop
            dW = np.multiply(self._x.T, delta, out=into)
        if self.kernel_regularizer:
            dW += (2.0 * self.kernel_regularizer) * self.W  # d(λ‖W‖²)/dW
        self._gradients = {"W": dW, **({"b": np.sum(delta, axis=0)} if self.use_bias else {})}
        return delta @ self.W.T if input_gradient else None

    def regularization_loss(self) -> float:
        """λ‖W‖² for ``kernel_regularizer`` λ (0 without one)."""
        return self.kernel_regularizer * float(np.sum(np.square(self.W))) \
            if self.kernel_regularizer else 0.0

    def config(self) -> dict[str, Any]:
        regularizer = {"kernel_regularizer": self.kernel_regularizer} \
            if self.kernel_regularizer else {}
        bias = {} if self.use_bias else {"use_bias": False}
        return {"in_features": self.in_features, "out_features": self.out_features,
                "activation": self.activation.name, "activation_params":
                    dict(self.activation.params), **regularizer, **bias, **super().config()}

    def __repr__(self) -> str:
        return (f"Dense({self.in_features}, {self.out_features}, "
                f"activation={self.activation.name!r}, dtype={self.dtype.name})")


class Flatten(Layer):
    r"""Each sample's axes laid out as one: (N, d₁, …, d_k) → (N, d₁·…·d_k), row-major.

    Row-major (C order) means the last axis varies fastest. For an image in the spec's
    channels-last layout (N, H, W, C) the features come out ordered (h, w, c), as Keras's
    ``Flatten`` orders them; torch's ``nn.Flatten`` on its (N, C, H, W) images orders
    them (c, h, w). The numbers are the same, the order is not, so a Dense layer after a
    Flatten needs its kernel rows permuted when weights move between the two
    (``reference.layouts``). Backward is the inverse reshape: dL/dx = g reshaped to x.

    Shape:
        x: (N, d₁, …, d_k) → y: (N, d₁·…·d_k).
    """

    def __init__(self, *, dtype: object | None = None, name: str | None = None) -> None:
        super().__init__(dtype=dtype, name=name)
        self._shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self._shape = x.shape
        return x.reshape(len(x), math.prod(x.shape[1:]))  # -1 fails on an empty batch

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        g = self._upstream(grad_output, (self._shape[0], math.prod(self._shape[1:])))
        return g.reshape(self._shape) if input_gradient else None


class Dropout(Layer):
    r"""Inverted dropout: in training, y = x ⊙ m / (1 − p), m_i ~ Bernoulli(1 − p);
    in inference, y = x.

    Every unit is zeroed with probability p (``rate``) and the survivors are scaled by
    1/(1 − p), so the expected output equals the inference output and nothing needs
    rescaling at test time; torch's ``nn.Dropout(p)`` and Keras's ``Dropout(rate)`` both
    do this, each with its own random numbers. Backward: dL/dx = g ⊙ m / (1 − p).

    ``noise_shape`` (Keras's): the shape of the mask, batch axis included, one draw shared
    along each axis where it is 1 (``None``: the input's size there); EfficientNet's
    stochastic depth, ``(None, 1, 1, 1)``, keeps or drops each sample whole.

    The mask can be injected: set ``mask`` (an array of 0s and 1s of the mask's shape) and
    every training forward uses it instead of a draw, which is how the parity suite makes
    the three frameworks drop the same units. ``last_mask`` holds the mask of the last
    training forward.

    Shape:
        x, y: (N, *) any shape; mask: the shape of x, or the noise shape if one is set.

    Args:
        rate: p, the probability of dropping a unit, in [0, 1).
        seed: seeds the generator of the masks.
        noise_shape: the mask's shape, one entry per axis of x: 1 (one draw shared along
            it), or ``None`` or the input's size (a draw per entry).
    """

    any_length = True  # elementwise

    def __init__(self, rate: float, *, seed: int | None = None,
                 noise_shape: Sequence[int | None] | None = None, dtype: object | None = None,
                 name: str | None = None) -> None:
        number = real_value(rate)
        if number is None or not 0.0 <= number < 1.0:
            raise ValueError(f"Dropout: rate must be a number in [0, 1), got {rate!r}")
        if noise_shape is not None and (not isinstance(noise_shape, tuple | list) or not all(
                n is None or (isinstance(n, int) and not isinstance(n, bool) and n >= 1)
                for n in noise_shape)):
            raise ValueError(f"Dropout: noise_shape must be a sequence of None and positive "
                             f"integers, got {noise_shape!r}")
        super().__init__(dtype=dtype, name=name, default_name=f"Dropout({rate})")
        self.rate = number
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self._rng = as_seed("Dropout", seed)
        self.seed = None if seed is None else int(seed)  # a NumPy integer is no JSON number
        self.mask: np.ndarray | None = None
        self.last_mask: np.ndarray | None = None
        self._scale: np.ndarray | None = None  # m / (1 − p) of the last forward; None: inference
        self._forwarded = False

    def output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        self._mask_shape((None, *input_shape))  # a noise shape that cannot fit, refused
        return tuple(input_shape)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        # checked in inference too: the torch mirror's module reads the noise shape always
        shape = self._mask_shape(x.shape)
        self._forwarded = True
        if not training:
            self._scale = None
            return x
        if self.mask is not None:
            keep = as_mask(self.name, "mask", self.mask, shape)
        else:
            keep = self._rng.random(shape) >= self.rate
        self.last_mask = keep
        self._scale = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._scale

    def _mask_shape(self, shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The shape of one draw: the noise shape's entries, ``None`` the input's size (a
        size of None, not known before the call, takes any entry)."""
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape) or any(
                n not in (None, 1, size) and size is not None
                for n, size in zip(self.noise_shape, shape, strict=False)):
            raise ValueError(f"{self.name}: noise_shape {self.noise_shape} does not fit the "
                             f"input's shape {shape}: one entry per axis, each None, 1 or "
                             "the input's size")
        return tuple(size if n is None else n for n, size in zip(self.noise_shape, shape,
                                                                 strict=True))

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if not self._forwarded:
            raise self._no_forward()
        g = as_float_array(grad_output, self.dtype, self.name, "grad_output")
        if not input_gradient:
            return None
        return g if self._scale is None else g * self._scale

    def config(self) -> dict[str, Any]:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {"rate": self.rate, "seed": self.seed, "noise_shape": noise,
                **super().config()}


class Activation(Layer):
    r"""An activation as a layer of its own: y = φ(x), elementwise (softmax: over the
    last axis).

    Keras's ``keras.layers.Activation("relu")``; in torch, the activation's module
    (``nn.ReLU()``, ``nn.Sigmoid()``, ``nn.Softmax(dim=-1)`` …), which torch users put
    after every ``nn.Linear`` anyway. A Dense with ``activation="relu"`` computes what a
    linear Dense followed by ``Activation("relu")`` computes; the layer form is what
    conv → BatchNorm → ReLU blocks are written with. Backward: dL/dx = g ⊙ φ'(x) (for
    softmax the vector-Jacobian product).

    Shape:
        x, y: (N, *) any shape (softmax: the last axis holds the classes).

    Args:
        activation: a name from ``reference.activations`` (``params`` bind its
            parameters: ``Activation("elu", alpha=0.5)``) or an ``Activation``.
    """

    any_length = True  # elementwise (softmax: along the last axis)

    def __init__(self, activation: str | activations.Activation, *, dtype: object | None = None,
                 name: str | None = None, default_name: str | None = None,
                 **params: float | str) -> None:
        self.activation = for_layer(type(self).__name__, activation, **params)
        super().__init__(dtype=dtype, name=name,
                         default_name=f"Activation({self.activation.name!r})"
                         if default_name is None else default_name)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self._x = self._input(x)
        return self.activation(self._x)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._x is None:
            raise self._no_forward()
        g = self._upstream(grad_output, self._x.shape)
        return self.activation.vjp(self._x, g) if input_gradient else None

    def config(self) -> dict[str, Any]:
        return {"activation": self.activation.name,
                "activation_params": dict(self.activation.params), **super().config()}


def _non_negative(where: str, what: str, value: object, *, positive: bool = False) -> float:
    """A rectifier's constant: finite, ≥ 0 (> 0 with ``positive``), and within float32's
    range, where TF holds it (a LeakyRelu's slope is a float32 attribute; Keras's ReLU
    converts max_value and threshold through float32): 1e300 became inf there."""
    check_real(where, what, value, 0.0, FLOAT32_MAX, low_open=positive)
    return float(value)


class ReLU(Layer):
    r"""Keras's rectifier layer, with its three options: a ceiling, a slope below the
    threshold, and the threshold itself.

    y = min(x, max_value) for x > threshold; y = negative_slope · (x − threshold) for
    x ≤ threshold. The defaults give max(x, 0). ``ReLU(max_value=6)`` is MobileNet's
    ReLU6, torch's ``nn.ReLU6()``; another ceiling is ``nn.Hardtanh(0, max_value)``;
    a slope alone is ``nn.LeakyReLU(negative_slope)``; torch has no module for a slope
    with a ceiling or threshold. Backward: dL/dx = g where threshold < x < max_value,
    g · negative_slope where x ≤ threshold, 0 where x ≥ max_value (at a kink, the
    frameworks' choice: the one-sided derivative from inside the open interval is not
    taken, 0 at the ceiling, the slope at the threshold).

    Shape:
        x, y: (N, *) any shape.

    Args:
        max_value: the ceiling (None: none), > 0.
        negative_slope: the slope below the threshold, ≥ 0.
        threshold: where the rectifier turns on, ≥ 0 (Keras refuses a negative one).
    """

    any_length = True  # elementwise

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, *, dtype: object | None = None,
                 name: str | None = None) -> None:
        # a ceiling of 0 gives 0 everywhere, which torch's nn.Hardtanh(0, 0) refuses
        self.max_value = None if max_value is None else \
            _non_negative("ReLU", "max_value", max_value, positive=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        super().__init__(dtype=dtype, name=name, default_name="ReLU")
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._x = self._input(x)
        t = x.dtype.type(self.threshold)
        above = x if self.max_value is None else np.minimum(x, x.dtype.type(self.max_value))
        # no slope: 0 below the threshold, −∞ included (0 · (−∞ − t) was NaN), NaN kept
        below = x.dtype.type(self.negative_slope) * (x - t) if self.negative_slope else \
            np.where(np.isnan(x), x, x.dtype.type(0))
        return np.where(x > t, above, below)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._x is None:
            raise self._no_forward()
        x = self._x
        g = self._upstream(grad_output, x.shape)
        if not input_gradient:
            return None
        below = x <= x.dtype.type(self.threshold)
        ceiling = np.zeros_like(below) if self.max_value is None else \
            x >= x.dtype.type(self.max_value)
        slope = np.where(below, x.dtype.type(self.negative_slope), x.dtype.type(1))
        return g * np.where(ceiling & ~below, x.dtype.type(0), slope)

    def config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold, **super().config()}


class LeakyReLU(Activation):
    r"""y = x for x ≥ 0, y = negative_slope · x below: Keras's ``LeakyReLU`` layer.

    The default slope is Keras's layer default, 0.3; torch's ``nn.LeakyReLU()`` defaults
    to 0.01 (and ``keras.activations.leaky_relu`` to 0.2), so a port writes the slope
    out. Backward: dL/dx = g for x > 0, g · negative_slope for x ≤ 0.

    Shape:
        x, y: (N, *) any shape.
    """

    def __init__(self, negative_slope: float = 0.3, *, dtype: object | None = None,
                 name: str | None = None) -> None:
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        super().__init__("leaky_relu", negative_slope=self.negative_slope, dtype=dtype,
                         name=name, default_name=f"LeakyReLU({self.negative_slope})")

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope, **Layer.config(self)}  # not the
        # activation's name and parameters: the slope is the whole configuration


class Softmax(Layer):
    r"""y = exp(x) / Σ exp(x) along ``axis``: Keras's ``Softmax(axis)``, torch's
    ``nn.Softmax(dim)``.

    ``axis`` counts the batch axis, as both frameworks do, and −1 (the last) is Keras's
    default; torch's ``nn.Softmax`` has no default worth keeping (``dim=None`` warns and
    guesses), so its ``dim`` is always written out. On a channels-last feature map the
    spec's last axis is torch's ``dim=1`` (channels-first). Backward: the softmax
    vector-Jacobian product along the axis, dL/dx = y ⊙ (g − Σ g ⊙ y).

    Shape:
        x, y: (N, *) any shape, ``axis`` one of its axes other than the batch axis.
    """

    any_length = True  # along one axis, of any size

    def __init__(self, axis: int = -1, *, dtype: object | None = None,
                 name: str | None = None) -> None:
        if isinstance(axis, bool) or not isinstance(axis, int | np.integer) or axis == 0:
            raise ValueError(f"Softmax: axis must be a non-zero integer (axis 0 is the batch), "
                             f"got {axis!r}")
        self.axis = int(axis)
        super().__init__(dtype=dtype, name=name, default_name=f"Softmax(axis={self.axis})")
        self._y: np.ndarray | None = None

    def _axis(self, ndim: int) -> int:
        axis = self.axis % ndim if -ndim <= self.axis < ndim else None
        if axis in (None, 0):
            raise ValueError(f"{self.name}: axis {self.axis} is not a feature axis of an "
                             f"input with {ndim} axes (batch first)")
        return axis

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._axis(len(input_shape) + 1)
        return tuple(input_shape)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        axis = self._axis(x.ndim)
        self._y = np.moveaxis(activations.softmax(np.moveaxis(x, axis, -1)), -1, axis)
        return self._y

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._y is None:
            raise self._no_forward()
        y = self._y
        g = self._upstream(grad_output, y.shape)
        if not input_gradient:
            return None
        return y * (g - (g * y).sum(axis=self._axis(y.ndim), keepdims=True))

    def config(self) -> dict[str, Any]:
        return {"axis": self.axis, **super().config()}


class Reshape(Layer):
    r"""Each sample's values laid out in a new shape, row-major: Keras's
    ``Reshape(target_shape)``.

    ``target_shape`` leaves the batch axis out, and one entry may be −1: that axis takes
    whatever size the others leave (Keras's rule). The values keep their row-major order
    (C order, the last axis fastest), so y.reshape(x.shape) = x; backward is that inverse
    reshape, dL/dx = g reshaped to x's shape.

    The trap: in a model with feature maps, the spec's and Keras's (H, W, C) is torch's
    (C, H, W), so Keras's reshape of a feature map is not torch's ``view`` of the same
    tensor. EfficientNet's squeeze-excite ``Reshape((1, 1, C))`` after a global pooling is
    ``nn.Unflatten(1, (C, 1, 1))`` in torch; where no reshape of torch's layout gives
    Keras's numbers the torch mirror permutes to channels-last first
    (``torch_impl.layers``). A target of three axes is an image (H, W, C): the layers
    after it take it as a feature map (``channels_last``).

    Shape:
        x: (N, *input_shape) → y: (N, *target_shape), −1 resolved; ∏ input_shape =
        ∏ target_shape.

    Args:
        target_shape: the per-sample shape, positive sizes and at most one −1.
    """

    def __init__(self, target_shape: Sequence[int], *, dtype: object | None = None,
                 name: str | None = None) -> None:
        sizes = tuple(target_shape) if isinstance(target_shape, tuple | list) else None
        if not sizes or any(isinstance(s, bool) or not isinstance(s, int | np.integer) or
                            (s < 1 and s != -1) for s in sizes) or sizes.count(-1) > 1:
            raise ValueError(f"Reshape: target_shape must be a tuple of positive sizes with "
                             f"at most one -1, got {target_shape!r}")
        self.target_shape = tuple(int(s) for s in sizes)
        super().__init__(dtype=dtype, name=name, default_name=f"Reshape({self.target_shape})")
        self._shape: tuple[int, ...] | None = None

    @property
    def channels_last(self) -> bool:
        """A target of three axes is an image (H, W, C): channels-first in torch."""
        return len(self.target_shape) == 3

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        size, known = math.prod(input_shape), math.prod(s for s in self.target_shape if s != -1)
        if -1 in self.target_shape and known and size % known == 0:
            return tuple(size // known if s == -1 else s for s in self.target_shape)
        if -1 not in self.target_shape and known == size:
            return self.target_shape
        raise ValueError(f"{self.name}: cannot lay out a per-sample shape "
                         f"{tuple(input_shape)} ({size} values) as {self.target_shape}")

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self._shape = x.shape
        return x.reshape(len(x), *self.output_shape(x.shape[1:]))  # -1 resolved: an
        # empty batch has no size to infer it from

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        g = self._upstream(grad_output, (self._shape[0], *self.output_shape(self._shape[1:])))
        return g.reshape(self._shape) if input_gradient else None

    def config(self) -> dict[str, Any]:
        return {"target_shape": list(self.target_shape), **super().config()}


class Permute(Layer):
    r"""Each sample's axes in a new order: Keras's ``Permute(dims)``,
    y[n, i₁, …, i_k] with y's axis j being x's axis ``dims[j]``.

    ``dims`` numbers the per-sample axes from 1 (the batch axis stays first), as Keras
    does: ``Permute((2, 1))`` swaps the two axes of (N, L, C). It is ``x.permute(0,
    *dims)`` on the same numbers; backward permutes g back by the inverse order.

    The trap: on a feature map, Keras's axes are (H, W, C) and torch's (C, H, W), so
    ``Permute((2, 1, 3))`` (swap H and W) is torch's ``permute(0, 1, 3, 2)``, not
    ``permute(0, 2, 1, 3)``. Three axes are an image (``channels_last``).

    Shape:
        x: (N, d₁, …, d_k) → y: (N, d_{dims[1]}, …, d_{dims[k]}).

    Args:
        dims: a permutation of 1 … k.
    """

    def __init__(self, dims: Sequence[int], *, dtype: object | None = None,
                 name: str | None = None) -> None:
        order = tuple(dims) if isinstance(dims, tuple | list) else None
        if not order or any(isinstance(d, bool) or not isinstance(d, int | np.integer)
                            for d in order) or sorted(order) != list(range(1, len(order) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1 … k (the batch axis "
                             f"is not counted), got {dims!r}")
        self.dims = tuple(int(d) for d in order)
        super().__init__(dtype=dtype, name=name, default_name=f"Permute({self.dims})")
        self._shape: tuple[int, ...] | None = None

    @property
    def channels_last(self) -> bool:
        """Three axes are an image (H, W, C): channels-first in torch."""
        return len(self.dims) == 3

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != len(self.dims):
            raise ValueError(f"{self.name}: permutes {len(self.dims)} axes, got per-sample "
                             f"shape {tuple(input_shape)}")
        return tuple(input_shape[d - 1] for d in self.dims)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self.output_shape(x.shape[1:])
        self._shape = x.shape
        return x.transpose(0, *self.dims).copy()

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        g = self._upstream(grad_output, (self._shape[0], *self.output_shape(self._shape[1:])))
        if not input_gradient:
            return None
        return g.transpose(0, *(np.argsort(self.dims) + 1)).copy()  # the inverse order

    def config(self) -> dict[str, Any]:
        return {"dims": list(self.dims), **super().config()}


LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    Dense, Flatten, Dropout, Activation, ReLU, LeakyReLU, Softmax, Reshape, Permute)}


def from_config(kind: str, config: dict[str, Any]) -> Layer:
    """The layer of ``kind`` (a name in ``LAYERS``) built from its :meth:`Layer.config`."""
    if kind not in LAYERS:
        raise ValueError(f"from_config: unknown layer kind {kind!r}; the spec has "
                         f"{', '.join(LAYERS)}")
    if hasattr(LAYERS[kind], "from_config"):  # a layer that wraps another (TimeDistributed)
        return LAYERS[kind].from_config(config)
    config = dict(config)
    if "activation" in config:  # Dense and the convolutions
        config["activation"] = get(config.pop("activation"),
                                   **config.pop("activation_params", {}))
    if kind == "Dense":
        in_features, out_features = config.pop("in_features"), config.pop("out_features")
        return Dense(in_features, out_features, **config)
    if kind == "Dropout":
        return Dropout(config.pop("rate"), **config)
    return LAYERS[kind](**config)


def check_known_sizes(layer: Layer, input_shapes: Sequence[tuple[int | None, ...]]) -> None:
    """Refuse, by name and with what to do, a per-sample input shape with a None axis (a
    sequence of any length) for a layer that needs every size known (``any_length``
    False)."""
    free = next((shape for shape in input_shapes if None in shape), None)
    if free is not None and not layer.any_length:
        raise ValueError(
            f"{layer.name}: a {type(layer).__name__} needs every size of its input known, got "
            f"per-sample shape {tuple(free)}, whose None axis is a sequence of any length; "
            "fix the length (Input(shape=(T, …)), each sequence padded or cut to T) or "
            "reduce the time axis first (GlobalAveragePooling1D, a recurrent layer without "
            "return_sequences)")


def layer_shapes(layers: Sequence[Layer], input_shape: tuple[int | None, ...]
                 ) -> list[tuple[int | None, ...]]:
    """The per-sample input shape of every layer, then the output shape of the last (a
    None size: a sequence of any length, for the layers that take one)."""
    shapes = [tuple(input_shape)]
    for layer in layers:
        check_known_sizes(layer, [shapes[-1]])
        shapes.append(tuple(layer.output_shape(shapes[-1])))
    return shapes
