"""The TF mirror's input checks, written once and kept out of the bodies.

A public function's body is what a Keras/TF user writes; what it may be given is said
by its decorator, ``@checked(check)``. ``check(where, **arguments)`` runs the spec's
checks (``reference._validation``) on the bound arguments before the body, raises the
spec's clear error naming ``where`` (the function, or ``Class.method``), and returns
the arguments it converted (integer data to the float dtype, arrays to tensors), which
replace the originals. Value checks run eagerly; inside ``tf.function`` they become
``tf.debugging`` assertions, which raise ``InvalidArgumentError`` when the graph runs.
The checks below are data plumbing: nothing is computed here.

The dtype policy: integer data (the notes' XOR table) becomes floating; a float tensor
of the other float dtype is refused, as ``reference._validation`` refuses it, rather
than cast silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import keras
import numpy as np
import tensorflow as tf

import reference
from reference._fit_checks import (
    as_parts,
    check_graph_data,
    check_one_output_run,
    check_run,
    check_targets,
    check_terms,
    is_graph_run,
    is_sparse,
)
from reference._validation import (
    HYPERPARAMETERS,
    SWITCHES,
    as_flag,
    as_float_array,
    as_index_array,
    as_numeric_array,
    check_clipping,
    check_copy_fits,
    check_count,
    check_hyperparameters,
    check_integer_labels,
    check_not_empty,
    check_optimizer_switches,
    check_same_shape,
    check_shape,
    check_within,
    float_conversion,
    type_name,
)
from reference._validation import Check as Check  # the decorators, written once there
from reference._validation import checked as checked
from reference.autodiff import check_entries, check_loss_name
from reference.initializers import check_arguments
from reference.losses import check_code
from reference.optimizers import check_descent

_F = TypeVar("_F", bound=Callable[..., Any])


def as_float_tensor(value: object, dtype: tf.DType | None, where: str, what: str) -> tf.Tensor:
    """``value`` as a float tensor of ``dtype`` (``None``: keep a float dtype, ints → float64)."""
    if tf.is_tensor(value) or isinstance(value, tf.Variable):
        if not value.dtype.is_floating:
            return tf.cast(value, dtype or tf.float64)
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"{where}: {what} has dtype {value.dtype.name} but {where} computes "
                            f"in {dtype.name}; convert it explicitly so the change of precision "
                            "is visible")
        return tf.convert_to_tensor(value)
    numpy_dtype = None if dtype is None else np.dtype(dtype.as_numpy_dtype)
    array = as_float_array(value, numpy_dtype, where, what)
    return tf.constant(array)


def as_tensor(value: object, where: str, what: str) -> tf.Tensor:
    """A tensor as it is; anything else through NumPy, so Python floats are float64 as in
    the spec (``tf.convert_to_tensor([0.1])`` would make them float32)."""
    if tf.is_tensor(value) or isinstance(value, tf.Variable):
        return tf.convert_to_tensor(value)
    return tf.constant(as_numeric_array(value, where, what))


# -- losses -------------------------------------------------------------------------------

def _as_float(where: str, what: str, t: tf.Tensor, dtype: tf.DType | None) -> tf.Tensor:
    target = float_conversion(where, what, t.dtype, dtype)
    return t if target is None else tf.cast(t, target)


def _within(where: str, what: str, t: tf.Tensor, low: float, high: float) -> None:
    outside = tf.boolean_mask(t, (t < low) | (t > high))  # NaN compares false: it passes
    if not tf.executing_eagerly():
        tf.debugging.assert_equal(tf.size(outside), 0,
                                  message=f"{where}: {what} must lie in [{low:g}, {high:g}]")
    elif tf.size(outside) > 0:
        check_within(where, what, int(tf.size(outside)), tf.reduce_min(outside).numpy().item(),
                     tf.reduce_max(outside).numpy().item(), low, high)


def pair(probabilities: tuple[str, ...] = ()) -> Check:
    """A loss's ``(y_true, y_pred)``: one float dtype, the same shape, and the arguments
    named in ``probabilities`` in [0, 1]."""
    def check(where: str, y_true: tf.Tensor, y_pred: tf.Tensor) -> dict[str, Any]:
        y_true, y_pred = as_tensor(y_true, where, "y_true"), as_tensor(y_pred, where, "y_pred")
        y_pred = _as_float(where, "y_pred", y_pred, None)
        y_true = _as_float(where, "y_true", y_true, y_pred.dtype)
        check_same_shape(where, y_true.shape, y_pred.shape)
        for what, t in (("y_true", y_true), ("y_pred", y_pred)):
            if what in probabilities:
                _within(where, f"{what} (probabilities)", t, 0.0, 1.0)
        return {"y_true": y_true, "y_pred": y_pred}
    return check


def sparse(probabilities: tuple[str, ...] = ()) -> Check:
    """A sparse loss's integer class indices (N,) in [0, C − 1] and predictions (N, C);
    or (N, T) and (N, T, C)."""
    def check(where: str, y_true: tf.Tensor, y_pred: tf.Tensor) -> dict[str, Any]:
        y_true, y_pred = as_tensor(y_true, where, "y_true"), as_tensor(y_pred, where, "y_pred")
        y_pred = _as_float(where, "y_pred", y_pred, None)
        if len(y_pred.shape) < 2:
            check_shape(where, "y_pred", y_pred.shape, (None, None))
        check_not_empty(where, "y_pred", y_pred.shape)
        check_integer_labels(where, "y_true", y_true.dtype)
        check_shape(where, "y_true (class indices)", y_true.shape, tuple(y_pred.shape[:-1]))
        _within(where, "y_true (class indices)", y_true, 0, y_pred.shape[-1] - 1)
        if "y_pred" in probabilities:
            _within(where, "y_pred (probabilities)", y_pred, 0.0, 1.0)
        return {"y_true": y_true, "y_pred": y_pred}
    return check


# -- training, optimizers, perceptron --------------------------------------------------------

def _out_features(model: keras.Layer) -> int | None:
    """The width of the model's output (at every step of a sequence), when Keras knows it;
    ``None`` otherwise."""
    try:
        shape = tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        return None
    return shape[-1] if len(shape) >= 2 and shape[-1] is not None else None


def _output_rank(model: keras.Layer) -> int | None:
    """The rank of the model's per-sample output, when Keras knows it."""
    try:
        return len(tuple(model.output_shape)) - 1
    except (AttributeError, ValueError, TypeError):
        return None


def _input_shape(model: keras.Layer, given: tuple) -> tuple:
    """The per-sample input shape a built Keras model takes (its own size where it leaves
    an axis free); ``given``'s when it fixes none."""
    try:
        shape = tuple(model.input_shape)[1:]
    except (AttributeError, ValueError, TypeError):
        return tuple(given[1:])
    if len(shape) != len(given) - 1:
        return shape
    return tuple(g if s is None else s for s, g in zip(shape, given[1:], strict=True))


# TF's rule for a name scope, which a compiled step opens for each layer it calls
_SCOPE_NAME = re.compile(r"[A-Za-z0-9_.\\/>-]*")


def _layers(model: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """The model and its layers, those of nested models included."""
    yield model
    for layer in getattr(model, "layers", []):
        yield from _layers(layer)


def fit_data(where: str, model: Any, X: object, Y: object, *, tf_function: object = False,
             **options: Any) -> dict[str, Any]:
    """:func:`training_data`, and ``tf_function`` a switch; a compiled step takes every
    layer's name as a TF name scope, so a name TF refuses is named here (else Keras's "not
    a valid scope name" from inside the trace)."""
    as_flag(where, "tf_function", tf_function)
    data = training_data(where, model, X, Y, **options)
    unfit = next((layer.name for layer in _layers(model)
                  if not _SCOPE_NAME.fullmatch(layer.name)), None) if tf_function else None
    if unfit is not None:
        raise ValueError(f"{where}: tf_function=True compiles the step, and TF takes no name "
                         f"scope {unfit!r} for the layer of that name (letters, digits and "
                         "_ . \\ / > - only); name the layers (the spec's name=) or train "
                         "with tf_function=False")
    return data


def training_data(where: str, model: Any, X: object, Y: object,
                  loss: object = "mean_squared_error", optimizer: object = None,
                  epochs: object = 1, batch_size: object = None, seed: object = 0,
                  early_stopping: object = None, loss_weights: object = None, kl: object = None,
                  **_: Any) -> dict[str, Any]:
    """``fit``'s arguments, checked as the spec's ``fit`` checks them (``check_run``), and
    X (N, …) and Y (N, out) as tensors of the model's dtype; for a sparse loss Y holds
    integer class indices (N,) in [0, C − 1], or (N, T) for an output per step; X holds
    integer indices when the model begins with an Embedding. A graph's run (lists, a loss
    per output, ``kl``): :func:`graph_training_data`."""
    if not isinstance(model, keras.Layer) or not model.trainable_variables:
        raise TypeError(f"{where}: model must be a built Keras model with trainable variables, "
                        f"got {type(model).__name__}")
    check_run(where, loss, optimizer, epochs, batch_size, seed, early_stopping)
    if isinstance(model, keras.Sequential):
        check_one_output_run(where, "keras.Sequential", loss, loss_weights, kl)
    inputs, outputs = (len(getattr(model, kind, None) or [None]) for kind in ("inputs",
                                                                              "outputs"))
    if is_graph_run(inputs, outputs, loss, loss_weights, kl):
        return graph_training_data(where, model, X, Y, loss, loss_weights, kl)
    dtype = tf.as_dtype(model.trainable_variables[0].dtype)
    first = next((layer for layer in getattr(model, "layers", ())
                  if not isinstance(layer, keras.layers.InputLayer)), model)
    if isinstance(first, keras.layers.Embedding):  # TF's gather would fail, or on some
        X = as_index_tensor(X, where, "X")         # devices read zeros, outside the table
        _within(where, "X (indices into the Embedding's rows)", X, 0, first.input_dim - 1)
    else:
        X = as_float_tensor(X, dtype, where, "X")
    Y = as_tensor(Y, where, "Y") if is_sparse(loss) else as_float_tensor(Y, dtype, where, "Y")
    out_features = _out_features(model)
    # the per-sample output: Y's own shape, its class axis (sparse) or last width the model's
    per_step = tuple(Y.shape[1:]) if is_sparse(loss) else tuple(Y.shape[1:-1])
    output_shape = tuple(Y.shape[1:]) + ((None,) if is_sparse(loss) else ()) \
        if out_features is None else (*per_step, out_features)
    if out_features is not None and _output_rank(model) not in (None, len(output_shape)):
        output_shape = (*(None,) * (_output_rank(model) - 1), out_features)  # Y's is wrong
    # the per-sample input shape the model was built for, when it says one (Keras would
    # broadcast or fail deep inside a layer)
    check_targets(where, loss, tuple(X.shape), tuple(Y.shape), Y.dtype, _input_shape(model,
                                                                                     X.shape),
                  output_shape)
    if is_sparse(loss) and out_features is not None:
        _within(where, "Y (class indices)", Y, 0, out_features - 1)
    return {"X": X, "Y": Y}


def as_index_tensor(value: object, where: str, what: str) -> tf.Tensor:
    """``value`` as integer indices (an Embedding's input, class labels); a float is
    refused, as ``reference._validation.as_index_array`` refuses it."""
    if tf.is_tensor(value):
        as_index_array(np.empty(0, value.dtype.as_numpy_dtype), where, what)
        return value
    return tf.constant(as_index_array(value, where, what))


def starting_point(where: str, function: object, x0: object, learning_rate: object,
                   precision: object, max_iters: object, **_: Any) -> dict[str, Any]:
    """A function to call and a starting point ``x0``, one number, as a float tensor; a
    finite η ≥ 0 and precision, as Python floats (torch's SGD said "an integer is
    required" for an η of np.uint64), an integer count of steps (the framework would
    take NaN)."""
    check_hyperparameters(where, learning_rate=learning_rate, precision=precision)
    check_count(where, "max_iters", max_iters, 0)
    x0 = as_float_tensor(x0, None, where, "x0")
    check_descent(where, "function", function, tuple(x0.shape))
    # one eager call at x0, before the run: inside the traced step TF would wrap the
    # refusal in its "in user code:" trace
    checked_values(where, function, "function", one_number=True)(tf.Variable(x0))
    return {"x0": x0, "learning_rate": float(learning_rate), "precision": float(precision)}


def checked_values(where: str, function: Callable, what: str, one_number: bool) -> Callable:
    """``function``, its every value checked: a TF tensor computed from its argument, and
    one number where a gradient of it is taken. A Python float or an array has no graph,
    and a vector no gradient: TF stopped inside its own code ("'float' object has no
    attribute 'shape'", or an error from inside a traced step), naming no function."""
    def run(x: Any) -> Any:
        value = function(x)
        if not tf.is_tensor(value):
            raise TypeError(f"{where}: {what} must return a TF tensor computed from its "
                            f"argument, got {type_name(value)} {value!r:.60}")
        if one_number and value.shape.num_elements() not in (1, None):
            raise ValueError(f"{where}: {what} must return one number (a scalar tensor), "
                             f"got a tensor of shape {tuple(value.shape)}")
        return value
    return run


def function_and_point(where: str, f: object, x: object, **_: Any) -> dict[str, Any]:
    """``jacobian`` and ``hessian``: f a function, x a float tensor (an array, a list:
    as a tensor; integers as float64), f's values checked as they come (for ``hessian``
    one number each): the framework's own words otherwise ("'int' object is not
    callable", "The inputs given to jacobian must be either a Tensor…")."""
    if not callable(f):
        raise TypeError(f"{where}: f must be a function of a tensor, got {type_name(f)} "
                        f"{f!r:.60}")
    x = as_float_tensor(x, None, where, "x")
    check_entries(where, tuple(x.shape))
    return {"f": checked_values(where, f, "f", one_number=where == "hessian"), "x": x}


def network_and_input(where: str, model: object, x: object, **arguments: Any) -> dict[str, Any]:
    """``layer_jacobians`` and ``network_gradients``: a built Keras model with trainable
    variables (a ``keras.Sequential`` for the layer-by-layer walk), x a float tensor of its
    dtype with the per-sample shape it was built for, a loss the spec's graph knows.
    TF's words otherwise: "'int' object has no attribute 'layers'", "TensorArray dtype is
    float64 but Op is trying to write dtype float32"."""
    kind, name = (keras.Sequential, "a keras.Sequential") if where == "layer_jacobians" \
        else (keras.Layer, "a Keras model")
    if not isinstance(model, kind) or not model.trainable_variables:
        raise TypeError(f"{where}: model must be {name} with trainable variables (tf_impl."
                        f"from_reference makes one), got {type_name(model)} {model!r:.60}")
    if "loss" in arguments:
        check_loss_name(where, arguments["loss"])
    x = as_float_tensor(x, tf.as_dtype(model.trainable_variables[0].dtype), where, "input x")
    check_shape(where, "input x", tuple(x.shape), (None, *_input_shape(model, tuple(x.shape))))
    check_entries(where, tuple(x.shape))
    return {"x": x}


def hyperparameters(where: str, **arguments: Any) -> dict[str, Any]:
    """An optimizer builder's hyper-parameters: finite and in range (the framework would
    take a NaN learning rate, and Keras a negative one), as Python floats (Keras refuses
    ``learning_rate=0``, an int, in its own words); its switches True or False."""
    numbers = {name: value for name, value in arguments.items() if name in HYPERPARAMETERS
               and not isinstance(value, keras.optimizers.schedules.LearningRateSchedule)}
    check_hyperparameters(where, float32=True, **numbers)
    check_optimizer_switches(where, arguments.get("momentum", 0.0),
                             **{name: arguments[name] for name in SWITCHES if name in arguments})
    check_clipping(where, arguments.get("clipping", {}), float32=True)
    return {name: float(value) for name, value in numbers.items()}


def perceptron_weights(where: str, learning_rate: object, weights: object,
                       **_: Any) -> dict[str, Any]:
    """A finite learning rate ≥ 0; given weights (n,) or a scalar, as a float tensor."""
    check_hyperparameters(where, learning_rate=learning_rate)
    return {} if weights is None else {"weights": as_float_tensor(weights, None, where,
                                                                  "weights")}


def perceptron_data(where: str, self: Any, X: object, y: object, max_epochs: object,
                    **_: Any) -> dict[str, Any]:
    """Training data: X (N, n) or (N,), labels y (N,) of 0 and 1, one float dtype; an
    integer count of epochs."""
    check_count(where, "max_epochs", max_epochs, 0)
    X = as_float_tensor(X, None, where, "X")
    if X.shape.rank != 1:
        check_shape(where.split(".")[0], "X", X.shape, (None, None))
    y = as_float_tensor(y, X.dtype, where, "y")
    check_shape(where, "y", y.shape, (X.shape[0],))
    if not bool(tf.reduce_all((y == 0) | (y == 1))):
        raise ValueError(f"{where}: labels y must be 0 or 1")
    return {"X": X, "y": y}


def ready(where: str, self: Any, **_: Any) -> None:
    """A perceptron that has weights: fitted, or given them."""
    if self._w is None:
        raise RuntimeError(f"{where.split('.')[0]}: call fit() or give weights= before using it")


def perceptron_input(where: str, self: Any, X: object, **_: Any) -> dict[str, Any]:
    """Inputs for a fitted perceptron: X (N, n), or (N,) in the 1-d form, made (N, 1)."""
    ready(where, self)
    where = where.split(".")[0]
    X = as_float_tensor(X, self._w.dtype, where, "X")
    X = X[:, None] if X.shape.rank == 1 and self._one_d else X
    check_shape(where, "X", X.shape, (None, self._w.shape[0]))
    return {"X": X}


def same_shape(first: str, second: str) -> Check:
    """Two arguments of one shape (``first``'s is checked against ``second``'s)."""
    def check(where: str, **arguments: Any) -> None:
        check_shape(where, first, arguments[first].shape, tuple(arguments[second].shape))
    return check


# -- the converters ---------------------------------------------------------------------------

def spec_model(where: str) -> Callable[[_F], _F]:
    """``@spec_model("from_reference")``: the argument ``model`` is a spec model or layer,
    and a copy of its weights fits in the memory available now."""
    def check(where: str, model: object, **_: Any) -> None:
        if not isinstance(model, reference.Sequential | reference.Model | reference.layers.Layer):
            raise TypeError(f"{where}: expected a reference.Sequential, reference.Model or a "
                            f"spec layer, got "
                            f"{type(model).__name__}")
        check_copy_fits(where, model)
    return checked(check, where)


def check_input_shape(where: str) -> Callable[[_F], _F]:
    """``@check_input_shape("to_reference")``: ``model`` is a Keras model or layer, and the
    per-sample ``input_shape``, when given, positive integers."""
    def check(where: str, model: object, input_shape: object = None,
              **_: Any) -> dict[str, Any] | None:
        if not isinstance(model, keras.Layer):  # before anything reads Keras attributes
            raise TypeError(f"{where}: expected a Keras model or layer, got "
                            f"{type(model).__name__}")
        if input_shape is None:
            return None
        if isinstance(input_shape, str | bytes) or not hasattr(input_shape, "__iter__"):
            raise TypeError(f"{where}: input_shape must be a tuple of positive integers, got "
                            f"{input_shape!r}")
        shape = tuple(input_shape)
        for size in shape:
            check_count(where, "input_shape", size, 1)
        return {"input_shape": tuple(int(size) for size in shape)}
    return checked(check, where)


# -- graph models: several inputs and outputs (fit), the KL term ------------------------------

def code_pair(where: str, z_mean: object, z_log_var: object) -> dict[str, Any]:
    """A Gaussian code's mean and log-variance: float tensors of one dtype and one shape,
    (N, *) with at least one entry per sample."""
    z_mean = _as_float(where, "z_mean", as_tensor(z_mean, where, "z_mean"), None)
    z_log_var = _as_float(where, "z_log_var", as_tensor(z_log_var, where, "z_log_var"),
                          z_mean.dtype)
    check_code(where, tuple(z_mean.shape), tuple(z_log_var.shape))
    return {"z_mean": z_mean, "z_log_var": z_log_var}


def _graph_input(where: str, what: str, value: object, spec: Any) -> tf.Tensor:
    """One input of a functional model, as its ``keras.Input`` takes it: a boolean mask
    or integer indices as they are, floats of the Input's dtype."""
    dtype = tf.as_dtype(spec.dtype)
    if not dtype.is_floating:
        t = as_tensor(value, where, what)
        if t.dtype.is_floating:
            raise TypeError(f"{where}: {what} must be {dtype.name} (the Input's dtype), got "
                            f"{t.dtype.name}")
        return t if t.dtype == dtype or dtype == tf.bool else tf.cast(t, dtype)
    return as_float_tensor(value, dtype, where, what)


def graph_training_data(where: str, model: Any, X: object, Y: object, loss: object,
                        loss_weights: object, kl: object) -> dict[str, Any]:
    """A functional model's run, checked as the spec's ``fit`` checks it
    (``check_terms``, ``check_graph_data``): X a tensor per ``model.inputs`` of that
    Input's shape and dtype, Y a target per output with a loss (None otherwise). Returns
    X and Y as lists, ``loss`` one name (or None) per output, ``loss_weights`` one float
    per output and ``kl``."""
    if not isinstance(getattr(model, "inputs", None), list) or \
            not isinstance(getattr(model, "outputs", None), list):
        raise TypeError(f"{where}: a run with several inputs or outputs takes a functional "
                        f"keras.Model, got {type(model).__name__}")
    dtype = tf.as_dtype(model.trainable_variables[0].dtype)
    per_output, weights, kl = check_terms(where, loss, loss_weights, kl, len(model.outputs))
    xs = [_graph_input(where, f"X[{k}]", x, spec) for k, (x, spec) in enumerate(
        zip(as_parts(where, "X", X, len(model.inputs)), model.inputs, strict=True))]
    ys = as_parts(where, "Y", Y, len(model.outputs), [name is not None for name in per_output])
    ys = [None if y is None else as_tensor(y, where, f"Y[{k}]") if is_sparse(name) else
          as_float_tensor(y, dtype, where, f"Y[{k}]")
          for k, (y, name) in enumerate(zip(ys, per_output, strict=True))]
    outputs = [tuple(t.shape[1:]) for t in model.outputs]
    check_graph_data(where, per_output, [tuple(x.shape) for x in xs],
                     [tuple(t.shape[1:]) for t in model.inputs],
                     [None if y is None else tuple(y.shape) for y in ys],
                     [None if y is None else y.dtype for y in ys], outputs, kl)
    for k, (y, name) in enumerate(zip(ys, per_output, strict=True)):
        if name is not None and is_sparse(name) and outputs[k][-1] is not None:
            _within(where, f"Y[{k}] (class indices)", y, 0, outputs[k][-1] - 1)
    return {"X": xs, "Y": ys, "loss": per_output, "loss_weights": weights, "kl": kl}


_SEED_MAX = 2**63 - 1  # Keras holds a seed as an int64


def initializer_arguments(where: str, shape: object, rng: object, dtype: object,
                          fan_in: object = None, mean: object = 0.0, stddev: object = 1.0
                          ) -> dict[str, Any]:
    """An initialiser's arguments as the spec's (``reference.initializers.check_arguments``:
    a shape of positive integers that fits in memory, float32 or float64, a finite mean
    and stddev ≥ 0, an integer fan_in), and ``rng`` Keras's seed: a SeedGenerator, None,
    or an integer in [0, 2**63 − 1] given to Keras as a Python int (Keras refuses a NumPy
    integer, and says "Can't convert Python sequence with out-of-range integer" beyond)."""
    kernel = where == "glorot_uniform" or (where == "torch_linear_default" and fan_in is None)
    shape = check_arguments(where, shape, dtype, kernel=kernel, fan_in=fan_in, mean=mean,
                            stddev=stddev)
    if isinstance(rng, keras.random.SeedGenerator):
        return {"shape": shape}
    check_count(where, "rng", rng, 0, none_means="Keras's unseeded draw; or a "
                "keras.random.SeedGenerator")
    if rng is not None and rng > _SEED_MAX:
        raise ValueError(f"{where}: rng must be at most 2**63 − 1 (Keras's int64 seed), "
                         f"got {rng!r}")
    return {"shape": shape, "rng": None if rng is None else int(rng)}
