"""The torch mirror's input checks at the project's entry points, kept out of the bodies.

A public function's body is what a PyTorch user writes; what it may be given is said
by its decorator, ``@checked(check)``. ``check(where, **arguments)`` runs the spec's
checks (``reference._validation``) on the bound arguments before the body, raises the
spec's clear error naming ``where`` (the function, or ``Class.method``), and returns
the arguments it converted (integer data to the float dtype, arrays to tensors), which
replace the originals. The checks below are data plumbing: nothing is computed here.

The dtype policy: integer data (the notes' XOR table) becomes floating; a float tensor
of the other float dtype is refused, as ``reference._validation`` refuses it, rather
than cast silently.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

import reference.schedules
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
    as_float_array,
    as_index_array,
    as_numeric_array,
    check_array_within,
    check_batch,
    check_count,
    check_hyperparameters,
    check_instance,
    check_integer_labels,
    check_not_empty,
    check_optimizer_switches,
    check_real,
    check_same_shape,
    check_shape,
    check_within,
    dtype_name,
    float_conversion,
    type_name,
)
from reference._validation import Check as Check  # the decorators, written once there
from reference._validation import checked as checked
from reference.autodiff import check_entries, check_loss_name
from reference.initializers import check_arguments
from reference.losses import check_code
from reference.optimizers import check_descent

_NUMPY = {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32)}


def as_float_tensor(value: object, dtype: torch.dtype | None, where: str,
                    what: str) -> torch.Tensor:
    """``value`` as a float tensor of ``dtype`` (``None``: keep a float dtype, ints → float64)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return value.to(dtype or torch.float64)
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"{where}: {what} has dtype {dtype_name(value.dtype)} but {where} "
                            f"computes in {dtype_name(dtype)}; convert it explicitly so the "
                            "change of precision is visible")
        return value
    array = as_float_array(value, None if dtype is None else _NUMPY[dtype], where, what)
    # a copy, C-ordered (torch takes no negative stride): keeps the dtype, the shape (0-d
    # too) and the caller's data safe
    return torch.from_numpy(array.copy())


def as_tensor(value: object, where: str, what: str) -> torch.Tensor:
    """A tensor as it is; anything else (a list, an array) through NumPy: Python floats
    become float64, as in the spec, not torch's default float32."""
    if isinstance(value, torch.Tensor):
        return value
    array = as_numeric_array(value, where, what)
    # NumPy has two names for each 64-bit integer: np.asarray(2**63) is a numpy.ulonglong
    # array, which torch refuses ("can't convert np.ndarray of type numpy.ulonglong"),
    # where it takes the numpy.uint64 of the same bytes
    if array.dtype.char != np.dtype(array.dtype.name).char:
        array = array.view(array.dtype.name)
    # torch shares an array's memory, which it will not for a read-only array
    # (np.broadcast_to, a TF tensor's: it warns) or one with a negative stride (x[::-1]:
    # it refuses): those are copied
    shareable = array.flags.writeable and all(stride >= 0 for stride in array.strides)
    return torch.as_tensor(array if shareable else array.copy())


# -- conversion -----------------------------------------------------------------------------

def chain_pair(where: str, model: object, module: object) -> None:
    """A spec chain and the ``nn.Sequential`` that ``from_reference`` made of it: a graph's
    module names its parameters by layer, not by position."""
    if not isinstance(model, reference.Sequential) or not isinstance(module, nn.Sequential):
        raise TypeError(f"{where}: takes a reference.Sequential and the nn.Sequential "
                        f"torch_impl.from_reference made of it, got {type_name(model)} and "
                        f"{type(module).__name__}; for a graph, give fit's l2 by the names of "
                        "module.named_parameters() (its layers' names)")


def check_readable(where: str, module: nn.Module) -> None:
    """A module ``to_reference`` can read by its class: no subclass of a stock torch layer
    (nn.Linear, nn.Sequential, …) with its own ``forward`` (the spec would copy the
    weights and drop what that forward adds), no parameter that holds no numbers yet
    (a lazy module's, one on the meta device)."""
    for name, child in module.named_modules():  # the module itself first, named ""
        stock = next(base for base in type(child).__mro__
                     if base.__module__.startswith(("torch.", "torch_impl")))
        if stock is not nn.Module and type(child).forward is not stock.forward:
            raise TypeError(f"{where}: {f'module {name!r}' if name else 'the module'} is a "
                            f"{type(child).__name__}, "
                            f"a subclass of nn.{stock.__name__} with its own forward; the "
                            f"spec reads stock modules only (what forward adds would be lost)")
    for name, parameter in module.named_parameters():
        if nn.parameter.is_lazy(parameter) or parameter.is_meta:
            raise ValueError(f"{where}: parameter {name!r} holds no values yet (a lazy "
                             "module before its first call, or on the meta device)")


# -- losses -------------------------------------------------------------------------------

def _as_float(where: str, what: str, t: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    target = float_conversion(where, what, t.dtype, dtype)
    return t if target is None else t.to(getattr(torch, target))


def _within(where: str, what: str, t: torch.Tensor, low: float, high: float) -> None:
    if t.is_meta:  # shapes without values: torch's own NotImplementedError otherwise
        raise ValueError(f"{where}: {what} is a tensor on the meta device (a shape, no "
                         f"values), and {where} checks its values lie in [{low}, {high}]; "
                         "give a tensor with data")
    t = t.detach()
    if t.dtype in (torch.uint16, torch.uint32, torch.uint64):  # torch compares none of
        check_array_within(where, what, t.cpu().numpy(), low, high)  # them ("lt_cpu")
        return
    outside = t[(t < low) | (t > high)]  # NaN compares false: it passes (the NaN policy)
    if outside.numel():
        check_within(where, what, outside.numel(), outside.min().item(), outside.max().item(),
                     low, high)


def pair(probabilities: tuple[str, ...] = ()) -> Check:
    """A loss's ``(y_true, y_pred)``: one float dtype, the same shape, and the arguments
    named in ``probabilities`` in [0, 1]."""
    def check(where: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> dict[str, Any]:
        y_pred = _as_float(where, "y_pred", as_tensor(y_pred, where, "y_pred"), None)
        y_true = _as_float(where, "y_true", as_tensor(y_true, where, "y_true"), y_pred.dtype)
        check_same_shape(where, y_true.shape, y_pred.shape)
        for what, t in (("y_true", y_true), ("y_pred", y_pred)):
            if what in probabilities:
                _within(where, f"{what} (probabilities)", t, 0.0, 1.0)
        return {"y_true": y_true, "y_pred": y_pred}
    return check


def sparse(probabilities: tuple[str, ...] = ()) -> Check:
    """A sparse loss's class indices (N,) in [0, C − 1] (made ``torch.long``, as
    ``F.cross_entropy`` requires) and predictions (N, C); or (N, T) and (N, T, C)."""
    def check(where: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> dict[str, Any]:
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
        return {"y_true": y_true.long(), "y_pred": y_pred}
    return check


# -- training, optimizers, perceptron --------------------------------------------------------

def _first_input(model: nn.Module) -> tuple[nn.Module, tuple[int | None, ...] | None]:
    """The model's first module past any padding, and the input shape it fixes
    ((N, in_features), (N, C, *spatial) channels-first, (N, T, features)); ``None`` where
    it fixes none."""
    modules = list(model) if isinstance(model, nn.Sequential) else [model]
    first = next((m for m in modules if not isinstance(m, nn.ConstantPad1d |
                                                       nn.ConstantPad2d)), model)
    if isinstance(first, nn.Linear):
        return first, (None, first.in_features)
    if isinstance(first, nn.Conv1d | nn.Conv2d):
        return first, (None, first.in_channels, *(None,) * len(first.kernel_size))
    if isinstance(first, nn.RNNBase) and first.batch_first:
        return first, (None, None, first.input_size)
    return first, None


def model_input(where: str, model: nn.Module, X: object) -> torch.Tensor:
    """A model's input under the spec's policy (``reference._validation``): integer
    indices for a model that begins with an Embedding; else a float tensor of the model's
    dtype (integers converted, the other float dtype refused), with a batch axis and the
    first module's width (channels-first for a convolution)."""
    first, shape = _first_input(model)
    if isinstance(first, nn.Embedding):  # its rows checked here: torch's own IndexError
        X = as_index_tensor(X, where, "X")  # names neither the function nor the index
        _within(where, "X (indices into the Embedding's rows)", X, 0, first.num_embeddings - 1)
        return X
    parameter = next(model.parameters(), None)
    X = as_float_tensor(X, None if parameter is None else parameter.dtype, where, "input x")
    if shape is not None and len(shape) == 2:
        check_batch(where, "input x", tuple(X.shape), shape[1])
    elif shape is not None:
        check_shape(where, "input x" + (" (channels-first)" if isinstance(
            first, nn.Conv1d | nn.Conv2d) else ""), tuple(X.shape), shape)
    return X


def training_data(where: str, model: nn.Module, X: object, Y: object,
                  loss: object = "mean_squared_error", optimizer: object = None,
                  epochs: object = 1, batch_size: object = None, seed: object = 0,
                  early_stopping: object = None, l2: object = None, loss_weights: object = None,
                  kl: object = None, **_: Any) -> dict[str, Any]:
    """``fit``'s arguments, checked as the spec's ``fit`` checks them (``check_run``); X by
    :func:`model_input` and Y (N, out) as tensors of the model's dtype; for a sparse loss Y
    holds integer class indices (N,) in [0, C − 1], or (N, T) for an output per step;
    ``l2`` names trained parameters of the model (none frozen), each with a finite λ ≥ 0.
    A graph's run (lists, a loss per output, ``kl``): :func:`graph_training_data`."""
    if not isinstance(model, nn.Module) or next(model.parameters(), None) is None:
        raise TypeError(f"{where}: model must be a torch.nn.Module with parameters, got "
                        f"{type(model).__name__}")
    check_run(where, loss, optimizer, epochs, batch_size, seed, early_stopping)
    if isinstance(model, nn.Sequential):
        check_one_output_run(where, "torch.nn.Sequential", loss, loss_weights, kl)
    if is_graph_run(_input_count(model), 1, loss, loss_weights, kl):
        return graph_training_data(where, model, X, Y, loss, loss_weights, kl, l2)
    if l2 is not None and not isinstance(l2, Mapping):
        raise TypeError(f"{where}: l2 must map parameter names to λ (a dict) or be None, got "
                        f"{type(l2).__name__} {l2!r:.60}")
    names = dict(model.named_parameters())
    unknown = sorted(set(l2 or {}) - set(names))
    if unknown:
        raise ValueError(f"{where}: l2 names {unknown}, which are not parameters of the "
                         f"model ({', '.join(names)})")
    frozen = sorted(name for name in l2 or {} if not names[name].requires_grad)
    if frozen:  # λ‖p‖² of a parameter that does not train: a constant in every step's loss
        raise ValueError(f"{where}: l2 names {frozen}, which the model holds frozen "
                         "(requires_grad=False: not trained, so its penalty only adds a "
                         "constant to the loss; a BatchNorm's weight of Keras's scale=False, "
                         "bias of center=False); penalise trained parameters only")
    for name, strength in (l2 or {}).items():
        check_real(where, f"l2[{name!r}]", strength)
    dtype = next(model.parameters()).dtype
    X = model_input(where, model, X)
    Y = as_tensor(Y, where, "Y") if is_sparse(loss) else as_float_tensor(Y, dtype, where, "Y")
    check_not_empty(where, "X", tuple(X.shape))
    # the per-sample output the model gives (Y's class axis added for a sparse loss)
    output_shape = _sample_output_shape(where, model, X)
    check_targets(where, loss, tuple(X.shape), tuple(Y.shape), Y.dtype, tuple(X.shape[1:]),
                  output_shape)
    if is_sparse(loss) and not output_shape:
        raise ValueError(f"{where}: {loss} needs class scores (N, C) from the model, which "
                         f"gives one number per sample (N,)")
    if is_sparse(loss):
        _within(where, "Y (class indices)", Y, 0, output_shape[-1] - 1)
    return {"X": X, "Y": Y}


def _sample_output_shape(where: str, model: nn.Module, X: torch.Tensor) -> tuple[int, ...]:
    """The per-sample output shape of ``model`` on X's first sample, computed without
    gradients in eval mode (no running statistic moves, no dropout mask is drawn; each
    module's mode is put back after). An ``nn.Module`` does not record the image size it
    was built for, nor a graph module its wiring: X of the wrong height or width would
    reach torch's shape error deep inside, naming neither the function nor X's shape."""
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            y = model(X[:1])
    except (RuntimeError, ValueError, TypeError, IndexError) as error:  # torch's, or a
        # graph module's forward given one tensor for several inputs
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise ValueError(f"{where}: the model cannot take X of shape {tuple(X.shape)} "
                         f"(channels-first for feature maps); torch stops with: "
                         f"{reason}") from None
    finally:
        for module, mode in modes.items():
            module.training = mode
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{where}: the model must return one tensor, got {type(y).__name__}")
    return tuple(y.shape[1:])


def as_index_tensor(value: object, where: str, what: str) -> torch.Tensor:
    """``value`` as integer indices (an Embedding's input, class labels): a long tensor;
    a float is refused, as ``reference._validation.as_index_array`` refuses it."""
    if isinstance(value, torch.Tensor):
        as_index_array(np.empty(0, str(value.dtype).removeprefix("torch.")), where, what)
        return value.long()
    return torch.from_numpy(np.array(as_index_array(value, where, what), np.int64))


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
    return {"function": checked_values(where, function, "function", one_number=True),
            "x0": x0, "learning_rate": float(learning_rate), "precision": float(precision)}


def checked_values(where: str, function: Callable, what: str, one_number: bool) -> Callable:
    """``function``, its every value checked: a torch tensor computed from its argument, and
    one number where a gradient of it is taken. A Python float or an array has no graph,
    and a vector no gradient: the framework stopped inside its own code ("'float' object
    has no attribute 'backward'", "grad can be implicitly created only for scalar
    outputs"), naming no function."""
    def run(x: Any) -> Any:
        value = function(x)
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{where}: {what} must return a torch tensor computed from its "
                            f"argument, got {type_name(value)} {value!r:.60}")
        if one_number and value.numel() != 1:
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
    """``layer_jacobians`` and ``network_gradients``: a module with parameters (an
    ``nn.Sequential`` for the layer-by-layer walk), x under :func:`model_input`'s policy,
    a loss the spec's graph knows. torch's words otherwise: "'int' object is not
    iterable", "both arguments to linear need to be at least 1D"."""
    kind, name = (nn.Sequential, "an nn.Sequential") if where == "layer_jacobians" else \
        (nn.Module, "an nn.Module")
    if not isinstance(model, kind) or next(model.parameters(), None) is None:
        raise TypeError(f"{where}: model must be {name} with parameters (torch_impl."
                        f"from_reference makes one), got {type_name(model)} {model!r:.60}")
    if where == "network_gradients":
        dense_network(where, model)
    if "loss" in arguments:
        check_loss_name(where, arguments["loss"])
    x = model_input(where, model, x)
    check_entries(where, tuple(x.shape))
    return {"x": x}


def dense_network(where: str, model: nn.Module) -> None:
    """The spec's network of Dense layers: modules with parameters are nn.Linear with a
    bias, each trained (autograd.grad stopped on a frozen one, "One of the
    differentiated Tensors does not require grad": a BatchNorm(scale=False)'s weight)."""
    others = [f"{name or 'the model'}: {type(module).__name__}"
              for name, module in model.named_modules()
              if next(module.parameters(recurse=False), None) is not None and not (
                  isinstance(module, nn.Linear) and module.bias is not None)]
    frozen = [name for name, parameter in model.named_parameters()
              if not parameter.requires_grad]
    if others or frozen:
        raise TypeError(f"{where}: only networks of nn.Linear layers with a bias, "
                        "all trained (the spec's Dense), are differentiated; got "
                        + "; ".join([*others, *(f"{name} frozen (requires_grad=False)"
                                                for name in frozen)]))


def hyperparameters(where: str, **arguments: Any) -> dict[str, Any]:
    """An optimizer builder's parameters, a non-empty iterable of tensors
    (``model.parameters()``: torch's own message for None is Python's "not iterable", for
    none "optimizer got an empty parameter list"), read once into a list; its
    hyper-parameters finite and in range (the framework would take a NaN learning rate,
    and Keras a negative one); its switches True or False."""
    params = arguments["params"]
    if isinstance(params, torch.Tensor | str | bytes) or not isinstance(params, Iterable):
        raise TypeError(f"{where}: params must be an iterable of tensors, such as "
                        f"model.parameters(); got {type(params).__name__}")
    try:
        params = list(params)  # a generator (model.parameters()) is read once, here
    except TypeError:  # an iterable that is none: a 0-d array ("iteration over a 0-d array")
        raise TypeError(f"{where}: params must be an iterable of tensors, such as "
                        f"model.parameters(); got {type_name(params)} {params!r:.60}") from None
    for param in params:  # torch's own "optimizer can only optimize Tensors, but one of
        # the params is int" names neither the builder nor the argument
        if isinstance(param, dict) and "params" in param:  # a parameter group
            continue
        if not isinstance(param, torch.Tensor):
            raise TypeError(f"{where}: params must hold tensors (or parameter groups, dicts "
                            f"with 'params'), such as model.parameters(); one is "
                            f"{type_name(param)} {param!r:.60}")
    if not params:
        raise ValueError(f"{where}: params is empty: the model has no parameters to train "
                         "(a module without weights, or a generator already read)")
    check_hyperparameters(where, **{name: value for name, value in arguments.items()
                                    if name in HYPERPARAMETERS})
    check_optimizer_switches(where, arguments.get("momentum", 0.0),
                             **{name: arguments[name] for name in SWITCHES if name in arguments})
    return {"params": params}


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
    if X.ndim != 1:
        check_shape(where.split(".")[0], "X", X.shape, (None, None))
    y = as_float_tensor(y, X.dtype, where, "y")
    check_shape(where, "y", y.shape, (X.shape[0],))
    if not torch.all((y == 0) | (y == 1)):
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
    X = X[:, None] if X.ndim == 1 and self._one_d else X
    check_shape(where, "X", X.shape, (None, self._w.shape[0]))
    return {"X": X}


def same_shape(first: str, second: str) -> Check:
    """Two arguments of one shape (``first``'s is checked against ``second``'s)."""
    def check(where: str, **arguments: Any) -> None:
        check_shape(where, first, arguments[first].shape, tuple(arguments[second].shape))
    return check


def schedule_start(where: str, optimizer: torch.optim.Optimizer, **arguments: Any) -> None:
    """The spec schedule's checks (the spec's class of the same name), then: a torch
    scheduler starts from the optimizer's ``lr``, which must be the schedule's η₀;
    ``MultiStepLR`` multiplies by one γ, so piecewise values must be geometric."""
    check_instance(where, "optimizer", optimizer, torch.optim.Optimizer,
                   "a torch.optim optimizer")
    getattr(reference.schedules, where)(**arguments)  # its checks, its messages, this name
    values = arguments.get("values")
    start = values[0] if values is not None else arguments["initial_learning_rate"]
    lr = optimizer.param_groups[0]["lr"]
    if lr != start:
        raise ValueError(f"{where}: the optimizer's lr is {lr} but the schedule starts from "
                         f"{start}; torch schedules from the optimizer's lr")
    if values is not None and not all(
            math.isclose(b / a, values[1] / values[0], rel_tol=1e-12)
            for a, b in itertools.pairwise(values)):
        raise ValueError(f"{where}: MultiStepLR multiplies by one γ, but the values "
                         f"{list(values)} are not geometric")


# -- graph models: several inputs and outputs (fit), the KL term ------------------------------

def code_pair(where: str, z_mean: object, z_log_var: object) -> dict[str, Any]:
    """A Gaussian code's mean and log-variance: float tensors of one dtype and one shape,
    (N, *) with at least one entry per sample."""
    z_mean = _as_float(where, "z_mean", as_tensor(z_mean, where, "z_mean"), None)
    z_log_var = _as_float(where, "z_log_var", as_tensor(z_log_var, where, "z_log_var"),
                          z_mean.dtype)
    check_code(where, tuple(z_mean.shape), tuple(z_log_var.shape))
    return {"z_mean": z_mean, "z_log_var": z_log_var}


def _input_count(model: nn.Module) -> int:
    """How many tensors the model's ``forward`` takes (a GraphModule: one per Input)."""
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in inspect.signature(model.forward).parameters.values())


def _graph_input(where: str, what: str, value: object, dtype: torch.dtype) -> torch.Tensor:
    """One input of a graph: a boolean tensor stays a mask (attention's), integers become
    long indices (an Embedding's), floats must be the model's dtype."""
    t = as_tensor(value, where, what)
    if t.dtype == torch.bool:
        return t
    return t.long() if not t.is_floating_point() else as_float_tensor(t, dtype, where, what)


def graph_training_data(where: str, model: nn.Module, X: object, Y: object, loss: object,
                        loss_weights: object, kl: object, l2: object) -> dict[str, Any]:
    """A graph's run, checked as the spec's ``fit`` checks it (``check_terms``,
    ``check_graph_data``): X a tensor per ``forward`` argument (feature maps
    channels-first), the outputs counted on X's first row (eval mode, no gradient), Y a
    target per output with a loss (None otherwise). Returns X and Y as lists, ``loss`` one
    name (or None) per output, ``loss_weights`` one float per output and ``kl``."""
    if l2:
        raise ValueError(f"{where}: l2 is for a Sequential's run; a graph's run takes none")
    dtype = next(model.parameters()).dtype
    xs = [_graph_input(where, f"X[{k}]", x, dtype)
          for k, x in enumerate(as_parts(where, "X", X, _input_count(model)))]
    check_graph_data(where, [None], [tuple(x.shape) for x in xs],
                     [(None,) * (x.dim() - 1) for x in xs], [None], [None], [()])
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            outputs = model(*(x[:1] for x in xs))
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise ValueError(f"{where}: the model cannot take X of shapes "
                         f"{[tuple(x.shape) for x in xs]} (channels-first for feature maps); "
                         f"torch stops with: {reason}") from None
    finally:
        for module, mode in modes.items():
            module.training = mode
    outputs = list(outputs) if isinstance(outputs, tuple | list) else [outputs]
    per_output, weights, kl = check_terms(where, loss, loss_weights, kl, len(outputs))
    ys = as_parts(where, "Y", Y, len(outputs), [name is not None for name in per_output])
    ys = [None if y is None else as_tensor(y, where, f"Y[{k}]") if is_sparse(name) else
          as_float_tensor(y, dtype, where, f"Y[{k}]")
          for k, (y, name) in enumerate(zip(ys, per_output, strict=True))]
    check_graph_data(where, per_output, [tuple(x.shape) for x in xs],
                     [tuple(x.shape[1:]) for x in xs],
                     [None if y is None else tuple(y.shape) for y in ys],
                     [None if y is None else y.dtype for y in ys],
                     [tuple(o.shape[1:]) for o in outputs], kl)
    for k, (y, name) in enumerate(zip(ys, per_output, strict=True)):
        if name is not None and is_sparse(name):
            _within(where, f"Y[{k}] (class indices)", y, 0, outputs[k].shape[-1] - 1)
    return {"X": xs, "Y": ys, "loss": per_output, "loss_weights": weights, "kl": kl}


def initializer_arguments(where: str, shape: object, rng: object, dtype: object,
                          fan_in: object = None, mean: object = 0.0, stddev: object = 1.0
                          ) -> dict[str, Any]:
    """An initialiser's arguments as the spec's (``reference.initializers.check_arguments``:
    a shape of positive integers that fits in memory, float32 or float64, a finite mean
    and stddev ≥ 0, an integer fan_in), and ``rng`` a ``torch.Generator`` or None."""
    kernel = where == "glorot_uniform" or (where == "torch_linear_default" and fan_in is None)
    shape = check_arguments(where, shape, dtype, kernel=kernel, fan_in=fan_in, mean=mean,
                            stddev=stddev)
    check_instance(where, "rng", rng, (torch.Generator, type(None)),
                   "a torch.Generator or None (torch's global generator)")
    return {"shape": shape}
