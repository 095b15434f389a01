"""Input checks shared by the spec and, through shapes, dtype names and plain numbers, by
both mirrors.

The policy, once for the whole project; every check runs before any computation:

* A model has one floating dtype (float64 by default, as in NumPy). An input in the
  *other* floating dtype is refused with a ``TypeError``: a silent cast would hide a
  precision change from the reader. Any other dtype (float16, complex, object) is
  refused too.
* Integer and boolean inputs (the notes' XOR data is integer) are converted to the
  model's floating dtype, explicitly, before any arithmetic: nothing is ever computed
  in integer arithmetic. With no model dtype to follow (a loss's predictions), they
  become float64.
* Shapes must match exactly; nothing is broadcast by accident. A layer's input needs a
  batch dimension, (N, in_features), even for one sample. A shape error names where it
  happened, the shape that was expected and the shape that was received.
* Values are checked where the mathematics needs a range: probabilities in [0, 1] and
  class indices in [0, C − 1]. The error says how many values are outside and shows
  the extreme ones, with every digit Python needs to tell them apart (``repr``): a
  probability of 1 + 1e-12 shows as 1.000000000001, not as 1.
* An empty batch (no rows, or rows of no entries) is refused: its mean is 0/0.
* Counts (``epochs``, ``batch_size``) and sizes (widths, kernel sizes, axes, target
  shapes) are integers, never truncated floats, and never booleans: Python counts
  ``True`` as 1, but a switch where a number belongs is a mistake, so ``epochs=True``
  and ``learning_rate=True`` are refused like ``"1"``. A hyper-parameter (a learning
  rate, a momentum, an ε, a scale) is a finite real number in its range
  (:data:`HYPERPARAMETERS` for the optimizers): NaN or ±inf there would silently turn
  every weight into NaN. A switch (``training``, ``nesterov``, ``mask_zero``, …) is
  True or False, never a value read as one (``bool("no")`` is True).
* Non-finite values (NaN) are never refused, clipped or skipped: NaN in, NaN out. A NaN
  is the symptom of an earlier failure (a diverged run, a division by zero upstream);
  it must reach the loss, where it is seen, rather than vanish into a clip or turn
  into an error about a "probability outside [0, 1]". The range checks therefore let
  NaN through (every comparison with NaN is false); ±inf is an ordinary value outside
  the range. Every output and every loss that depends on a NaN input is NaN, and in a
  network the NaN reaches every parameter's gradient. The mirrors do what their
  framework does, documented per function: torch's ``F.binary_cross_entropy`` raises
  on a NaN probability or target, and ``torch_impl.losses.binary_cross_entropy`` lets
  it; elsewhere both frameworks propagate NaN too (``parity_tests/test_nonfinite.py``).
  Training is where a NaN is seen: every ``fit`` and ``data_parallel_fit`` raises
  ``TrainingDiverged`` at the first step whose loss is NaN or ±inf (the spec and torch
  before that step's update, TF, whose step is one graph, after it).
  A NaN where no data goes (a hyper-parameter, a constant a layer is built with such as
  Rescaling's scale or Normalization's variance, a count) is refused, like ±inf. TF's
  max pooling is the mirrors' one other departure: it skips a NaN in a window
  (``tf_impl.convolution.MaxPool2D``), where the spec and torch give NaN.
  The derivative *at* a NaN entry is left to each framework's kernel (torch's ReLU
  backward passes the upstream gradient, TF's zeroes it): the NaN loss is the signal.

The checks take plain tuples, dtype *names* and counts, so the torch and TF mirrors
reuse them on ``tensor.shape``, ``tensor.dtype`` and values read from their own
reductions, without any NumPy computation.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

# A mirror's entry point says what it may be given with ``@checked(check)``: the policy
# below, applied to the framework's tensors by the mirror's ``_inputs.py``.
Check = Callable[..., Mapping[str, Any] | None]
_F = TypeVar("_F", bound=Callable[..., Any])
# The largest float32: a layer's constant that TF holds in float32 (a LeakyRelu's slope)
# or that a float32 layer computes with must fit there, or it becomes inf
FLOAT32_MAX = float(np.finfo(np.float32).max)
# The largest size a window may have (kernel_size, strides, dilation_rate): torch's and
# TF's pooling and convolution kernels hold them as 32-bit integers
SIZE_MAX = 2**31 - 1


def checked(check: Check, where: str | None = None) -> Callable[[_F], _F]:
    """Run ``check(where, **arguments)`` before the decorated function; use what it returns.

    ``where`` (default: the function's ``__qualname__``) names the function in the errors.
    The check receives every argument by name, defaults applied (``self`` too, for a
    method), and returns a mapping of the arguments it replaced, or ``None``.
    """
    def decorate(function: _F) -> _F:
        signature = inspect.signature(function)
        name = where or function.__qualname__

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            bound.arguments.update(check(name, **bound.arguments) or {})
            return function(*bound.args, **bound.kwargs)

        return run  # type: ignore[return-value]
    return decorate


def not_called(model: object) -> TypeError:
    """The refusal of calling a spec model like a Keras one: Keras calls a model on a
    tensor to nest it in a graph and on a batch to run it; a spec model does neither
    (Python's own "not callable" names nothing)."""
    return TypeError(f"{type(model).__name__}: a spec model is not called: on arrays, call "
                     "forward(x); in a graph (reference.Model), a model does not nest as a "
                     "layer: call its layers one by one on the graph's tensors")


def as_array(value: object, where: str, what: str) -> np.ndarray:
    """``np.asarray(value)``, with a ragged nested list (rows of different lengths)
    refused by name rather than with NumPy's "inhomogeneous shape" message, and a masked
    array (``np.ma``) refused: ``np.asarray`` keeps its data, masked entries included,
    and drops the mask without a word."""
    if isinstance(value, np.ma.MaskedArray) or (isinstance(value, list | tuple) and any(
            isinstance(part, np.ma.MaskedArray) for part in value)):
        raise TypeError(f"{where}: {what} is a masked array (numpy.ma), whose mask nothing "
                        "here reads; give plain data: x.filled(value) to fill the masked "
                        "entries, or x.compressed() / x[~x.mask] to drop them")
    try:
        return np.asarray(value)
    except ValueError:  # NumPy's "inhomogeneous shape": rows of different lengths
        raise ValueError(f"{where}: {what} must be a rectangular array, got a ragged nested "
                         "sequence (its rows differ in length)") from None
    except (TypeError, RuntimeError) as error:  # an array-like that refuses: a torch tensor
        reason = str(error).strip().splitlines()[0] if str(error).strip() else \
            type(error).__name__  # that requires grad ("use tensor.detach()")
        raise TypeError(f"{where}: {what} cannot be read as a NumPy array ({type_name(value)}: "
                        f"{reason})") from None


def as_numeric_array(value: object, where: str, what: str) -> np.ndarray:
    """``value`` as a NumPy array of numbers; strings, objects or complex are refused."""
    array = as_array(value, where, what)
    # np.longdouble (float128) too: neither framework holds it (torch: "can't convert
    # np.ndarray of type numpy.longdouble", TF: "Unsupported numpy type: NPY_LONGDOUBLE")
    if array.dtype.kind not in "biuf" or array.dtype.itemsize > 8:
        raise TypeError(f"{where}: {what} must be a float32/float64 or integer array, got "
                        f"dtype {array.dtype.name}")
    return array


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
FLOAT_NAMES = tuple(dtype.name for dtype in FLOAT_DTYPES)


# NumPy computes ``dtype.name`` in Python on every read: a recurrent layer's step asks
# for it tens of times, so the names a step meets are looked up instead.
_NUMPY_NAMES = {np.dtype(kind): np.dtype(kind).name for kind in np.typecodes["All"]
                if kind not in "OMmVSUa"}


def dtype_name(dtype: object) -> str:
    """The plain name of a NumPy, torch or TF dtype: ``torch.float64`` → ``"float64"``."""
    if isinstance(dtype, np.dtype) and dtype in _NUMPY_NAMES:
        return _NUMPY_NAMES[dtype]
    if str(dtype).startswith("torch."):
        return str(dtype).removeprefix("torch.")
    name = getattr(dtype, "name", None)  # NumPy and TF dtype objects
    return name if isinstance(name, str) else np.dtype(dtype).name


def is_integer_name(name: str) -> bool:
    """True for the names of integer and boolean dtypes (int64, uint8, bool, …)."""
    return name == "bool" or name.startswith(("int", "uint"))


def as_dtype(dtype: object, where: str = "dtype") -> np.dtype:
    """Return ``dtype`` as a NumPy floating dtype, refusing anything but float32/64."""
    try:
        name = dtype_name(dtype)
    except TypeError:  # NumPy's "data type 'x' not understood"
        name = repr(dtype)
    if name not in FLOAT_NAMES:
        raise TypeError(f"{where}: the dtype must be float32 or float64, got {name}")
    return np.dtype(name)


def float_conversion(where: str, what: str, received: object,
                     expected: object | None) -> str | None:
    """Apply the dtype policy to dtype names: the float dtype an input must be converted
    to (an integer input), ``None`` when it is already right, a ``TypeError`` otherwise.

    ``expected=None`` accepts either float dtype and converts integers to float64.
    """
    received = dtype_name(received)
    expected = None if expected is None else dtype_name(expected)
    if is_integer_name(received):
        return expected or "float64"
    if received not in FLOAT_NAMES:
        raise TypeError(f"{where}: {what} must be a float32/float64 or integer array, "
                        f"got dtype {received}")
    if expected is not None and received != expected:
        raise TypeError(f"{where}: {what} has dtype {received} but {where} computes in "
                        f"{expected}; convert it explicitly (e.g. x.astype(np.{expected}) or "
                        f"x.to(torch.{expected})) so the change of precision is visible")
    return None


def as_float_array(value: object, dtype: np.dtype | None, where: str, what: str) -> np.ndarray:
    """Convert ``value`` to an array of the floating ``dtype``, following the policy above.

    ``dtype=None`` keeps a floating input's own dtype and gives integers float64.
    """
    array = as_array(value, where, what)
    target = float_conversion(where, what, array.dtype, dtype)
    return array if target is None else array.astype(target)


def as_index_array(value: object, where: str, what: str) -> np.ndarray:
    """``value`` as integer indices (an Embedding's input): any integer dtype, never a
    float (1.7 would be truncated silently) nor a bool."""
    array = as_array(value, where, what)
    name = array.dtype.name
    if name == "bool" or not is_integer_name(name):
        raise TypeError(f"{where}: {what} must hold integer indices, got dtype {name}")
    return array


def check_shape(where: str, what: str, received: Sequence[int],
                expected: Sequence[int | None]) -> None:
    """Raise ``ValueError`` unless ``received`` matches ``expected`` (``None`` = any size).

    A ``None`` in ``received`` (a size TF does not know while tracing) matches any size.
    """
    received = tuple(None if n is None else int(n) for n in received)
    if len(received) != len(expected) or any(
        e is not None and r is not None and r != e
        for r, e in zip(received, expected, strict=False)
    ):
        shown = "(" + ", ".join("N" if e is None else str(e) for e in expected)
        shown += ",)" if len(expected) == 1 else ")"
        raise ValueError(f"{where}: {what} must have shape {shown}, got {received}")


def check_same_shape(where: str, y_true_shape: Sequence[int],
                     y_pred_shape: Sequence[int]) -> None:
    """Refuse targets and predictions of different shapes, (N, 1) against (N,) included.

    torch's ``mse_loss`` broadcasts those two to (N, N) with only a warning; here that
    is an error.
    """
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    if y_true_shape != y_pred_shape:
        raise ValueError(f"{where}: y_true has shape {y_true_shape} but y_pred has shape "
                         f"{y_pred_shape}; they must match exactly (nothing is broadcast)")
    if len(y_pred_shape) == 0:
        raise ValueError(f"{where}: expected a batch dimension, got a scalar")
    check_not_empty(where, "y_pred", y_pred_shape)


def check_not_empty(where: str, what: str, shape: Sequence[int | None]) -> None:
    """Refuse an array with no entries: a mean over it is 0/0 (NaN), a sum silently 0."""
    if any(n == 0 for n in shape):
        raise ValueError(f"{where}: {what} is empty (shape {tuple(shape)}); a loss needs at "
                         "least one sample with at least one entry")


def check_batch(where: str, what: str, received: Sequence[int], width: int) -> None:
    """Require a batch of rows, shape (N, width); say how to add a missing batch axis."""
    received = tuple(received)
    if len(received) == 1 and received[0] == width:
        raise ValueError(f"{where}: {what} must have shape (N, {width}), got {received}: a "
                         "single sample needs a batch dimension too, e.g. x[None, :] or "
                         "x.reshape(1, -1) (torch: x.unsqueeze(0))")
    check_shape(where, what, received, (None, width))


def check_integer_labels(where: str, what: str, received: object) -> None:
    """Class indices must be integers: a float 1.7 would be truncated silently elsewhere."""
    name = dtype_name(received)
    if name == "bool" or not is_integer_name(name):
        raise TypeError(f"{where}: {what} must hold integer class indices, got dtype {name}")


def check_within(where: str, what: str, outside: int, lowest: float, highest: float,
                 low: float, high: float) -> None:
    """Refuse values outside [low, high], given how many there are (``outside``) and the
    lowest and highest of them. NaN is never counted as outside (see the policy above).
    """
    if outside:
        values = "1 value lies" if outside == 1 else f"{outside} values lie"
        raise ValueError(f"{where}: {what} must lie in [{low:g}, {high:g}], but {values} "
                         f"outside (from {lowest!r} to {highest!r})")


def check_array_within(where: str, what: str, array: np.ndarray, low: float,
                       high: float) -> None:
    """:func:`check_within` for a NumPy array (the spec's own inputs)."""
    outside = array[(array < low) | (array > high)]  # NaN compares false: it passes
    if outside.size:
        check_within(where, what, outside.size, outside.min().item(), outside.max().item(),
                     low, high)


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def check_count(where: str, what: str, value: object, minimum: int, *,
                none_means: str | None = None) -> None:
    """Require an integer ≥ ``minimum`` (``None`` too, when ``none_means`` says what it is).

    A float is refused even when whole: ``batch_size=2.5`` would otherwise be cut to 2.
    """
    if value is None and none_means is not None:
        return
    if not _is_integer(value) or value < minimum:
        allowed = f"an integer ≥ {minimum}" + (f" or None ({none_means})" if none_means else "")
        raise ValueError(f"{where}: {what} must be {allowed}, got {value!r}")


def as_seed(where: str, seed: object) -> np.random.Generator:
    """A layer's random generator from ``seed``: an integer ≥ 0, or ``None`` for fresh
    entropy (NumPy would also take a list, and ``True`` as 1)."""
    check_count(where, "seed", seed, 0, none_means="a fresh random draw")
    return np.random.default_rng(seed)


def check_path(where: str, path: object) -> None:
    """A file's path: a ``str`` or ``os.PathLike`` (``None`` or a number would reach the
    operating system's calls with Python's own message)."""
    if not isinstance(path, str | os.PathLike):  # bytes: the suffix checks compare str
        raise TypeError(f"{where}: path must be a file name (str or os.PathLike), got "
                        f"{type_name(path)} {path!r:.60}")


def check_instance(where: str, what: str, value: object, kinds: type | tuple[type, ...],
                   name: str) -> None:
    """``value`` is an instance of ``kinds`` (``name`` says which in the error): a spec
    object given to a mirror's ``from_reference``, a framework object to a builder."""
    if not isinstance(value, kinds):
        raise TypeError(f"{where}: {what} must be {name}, got {type_name(value)} "
                        f"{value!r:.60}")


def instance_check(what: str, kinds: type | tuple[type, ...], name: str) -> Check:
    """For ``@checked``: the argument ``what`` is an instance of ``kinds``
    (:func:`check_instance`), e.g. the spec object a mirror's ``from_reference`` reads."""
    def check(where: str, **arguments: Any) -> None:
        check_instance(where, what, arguments[what], kinds, name)
    return check


def spec_check(spec_kind: Callable[..., object], *skipped: str) -> Check:
    """For ``@checked``: a mirror's builder of a spec concept (a schedule, early stopping)
    takes what the spec's class of that name takes: the spec object is built from the
    same arguments (all but ``skipped``, e.g. torch's optimizer), its errors naming it."""
    def check(where: str, **arguments: Any) -> None:
        spec_kind(**{name: value for name, value in arguments.items()
                     if name not in (*skipped, "self")})
    return check


def check_model(where: str, model: object, kind: type, name: str) -> None:
    """``model`` is an instance of ``kind`` (``name`` says it in the error)."""
    if not isinstance(model, kind):
        raise TypeError(f"{where}: model must be {name}, got {type_name(model)}")


def as_shape(where: str, what: str, value: object, *,
             any_length: bool = False) -> tuple[int | None, ...]:
    """A per-sample shape (``input_shape``): a sequence of integers ≥ 1, never a
    float cut to an integer nor a string read as its characters; with ``any_length``, a
    size may be None (a sequence of any length)."""
    wanted = "positive integers" + (" or None" if any_length else "")
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__") or \
            getattr(value, "ndim", None) == 0:  # a 0-d array: "iteration over a 0-d array"
        raise TypeError(f"{where}: {what} must be a tuple of {wanted}, got {value!r}")
    sizes = tuple(value)
    if any(not (any_length and size is None) and (not _is_integer(size) or size < 1)
           for size in sizes):
        raise ValueError(f"{where}: {what} must be a tuple of {wanted}, got {sizes!r}")
    return tuple(None if size is None else int(size) for size in sizes)


def as_flag(where: str, what: str, value: object) -> bool:
    """A switch (``return_sequences``, ``mask_zero``, …): True or False, never a value
    read as one (``bool("no")`` is True)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{where}: {what} must be True or False, got {value!r}")
    return bool(value)


def _finite(value: numbers.Real) -> bool:
    """``math.isfinite``, False for an integer too large for a float (10**400), where
    ``math.isfinite`` raises ``OverflowError``."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def real_value(value: object) -> float | None:
    """A real number as a float (a NumPy scalar of any width too: float16's comparison
    with a float64 bound overflowed, an int64 was refused as "not a number"; an integer
    too large for a float is inf); ``None`` for anything else, a bool included."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral) and not _finite(value):
        return math.inf if value > 0 else -math.inf
    return float(value)


def check_real(where: str, what: str, value: object, low: float = 0.0,
               high: float = math.inf, *, low_open: bool = False,
               high_open: bool = False) -> None:
    """Require a finite real number in [low, high] (an end left out with ``low_open`` /
    ``high_open``: (0, ∞) for an ε that divides)."""
    if math.isfinite(high):
        shown = (f"a finite number in {'(' if low_open else '['}{low!r}, "
                 f"{high!r}{')' if high_open else ']'}")
    elif math.isfinite(low):
        shown = f"a finite number {'>' if low_open else '≥'} {low!r}"
    else:
        shown = "a finite number"
    number = real_value(value)
    if number is None or not math.isfinite(number) or number < low or number > high or \
            (low_open and number == low) or (high_open and number == high):
        raise ValueError(f"{where}: {what} must be {shown}, got {value!r}")


# The range of every optimizer hyper-parameter, shared by the spec's optimizer objects and
# the mirrors' optimizer builders: (low, high, low_open, high_open). Why each end:
# ε divides a moment that is 0 for a parameter whose gradient is 0 (0/0 = NaN), so ε > 0;
# β = 1 makes Adam's bias correction 1 − βᵗ zero, so β < 1; μ = 1 (Keras allows it) is a
# heavy ball without friction, defined if rarely useful; η = 0 and λ = 0 change nothing.
HYPERPARAMETERS = {
    "learning_rate": (0.0, math.inf, False, False),
    "momentum": (0.0, 1.0, False, False),
    "beta_1": (0.0, 1.0, False, True),
    "beta_2": (0.0, 1.0, False, True),
    "epsilon": (0.0, math.inf, True, False),
    "weight_decay": (0.0, math.inf, False, False),
    "precision": (0.0, math.inf, False, False),
}
CLIPPING = ("clipnorm", "global_clipnorm", "clipvalue")
SWITCHES = ("nesterov", "decoupled_weight_decay")


def check_hyperparameters(where: str, *, float32: bool = False, **values: object) -> None:
    """Check each named hyper-parameter against its range in :data:`HYPERPARAMETERS`;
    with ``float32`` (Keras, which holds the learning rate in a float32 variable and casts
    the others to it) also within float32's range: η = 1e300 became inf there, and in the
    spec's Keras convention NumPy warned "overflow encountered in cast"."""
    for name, value in values.items():
        low, high, low_open, high_open = HYPERPARAMETERS[name]
        if float32 and high > FLOAT32_MAX:
            high, high_open = FLOAT32_MAX, False
        check_real(where, name, value, low, high, low_open=low_open, high_open=high_open)


def check_clipping(where: str, given: Mapping[str, object], *, float32: bool = False) -> None:
    """Keras's gradient clipping arguments: only the names of :data:`CLIPPING`, at most one
    of them not None, and that one a finite number > 0."""
    unknown = sorted(set(given) - set(CLIPPING))
    if unknown:
        raise TypeError(f"{where}: unknown argument(s) {unknown}; the clipping arguments are "
                        f"{', '.join(CLIPPING)}")
    chosen = {name: value for name, value in given.items() if value is not None}
    if len(chosen) > 1:
        raise ValueError(f"{where}: at most one of clipnorm, global_clipnorm and clipvalue "
                         f"(as Keras), got {chosen}")
    for name, value in chosen.items():
        check_real(where, name, value, 0.0, FLOAT32_MAX if float32 else math.inf,
                   low_open=True)


def check_optimizer_switches(where: str, momentum: object = 0.0, **switches: object) -> None:
    """An optimizer's switches (``nesterov``, ``decoupled_weight_decay``) are True or False,
    and Nesterov needs a momentum (torch refuses it in its own words, Keras ignores it)."""
    for name, value in switches.items():
        as_flag(where, name, value)
    if switches.get("nesterov") and not momentum:
        raise ValueError(f"{where}: nesterov=True needs a momentum > 0, got momentum "
                         f"{momentum!r}")


def type_name(value: object) -> str:
    """A value's type as an error shows it: ``str``, ``reference.networks.Sequential``,
    ``torch.nn.modules.container.Sequential`` (three packages have a ``Sequential``)."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__qualname__}"


MEMORY_CHECKED_FROM = 16 << 20  # bytes; see check_memory


def available_memory() -> int | None:
    """The bytes this machine can give a process now without swapping: Linux's
    ``MemAvailable`` (free memory plus the caches it can drop), elsewhere the free
    physical pages ``os.sysconf`` reports; ``None`` where neither is known."""
    try:
        with open("/proc/meminfo", "rb") as meminfo:
            for line in meminfo:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts in KiB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # no such name on this system
        return None


def check_memory(where: str, what: str, needed: int,
                 error: type[Exception] = ValueError) -> None:
    """Refuse, with ``error`` naming ``where``, to allocate ``needed`` bytes (``what``)
    beyond :func:`available_memory`, before anything is allocated.

    Why not let NumPy try: under Linux's default overcommit an allocation below the
    machine's total memory succeeds at once and its pages are taken only as they are
    written, so a layer of 16 GB on a machine with 10 GB free is not refused, it grows
    the process until the kernel's OOM killer ends it (or another one). Below
    :data:`MEMORY_CHECKED_FROM` nothing is read: the kernel's count costs 0.1 ms, more
    than building a small layer.
    """
    if needed < MEMORY_CHECKED_FROM:
        return
    available = available_memory()
    if available is not None and needed > available:
        raise error(f"{where}: {what}: {_bytes(needed)} needed, and this machine has "
                    f"{_bytes(available)} available now; refused before allocating")


def check_copy_fits(where: str, model: Any, copies: int = 1) -> None:
    """:func:`check_memory` for a framework's ``copies`` of a spec model's (or layer's)
    arrays, before a mirror (or the port) builds them."""
    layers = getattr(model, "layers", [model])
    check_memory(where, f"{copies} cop{'y' if copies == 1 else 'ies'} of the spec model's "
                 "weights", copies * sum(array.nbytes for layer in layers for array in
                                         (*layer.parameters.values(), *layer.state.values())))


def _bytes(count: int) -> str:
    """A byte count as people read it: ``32.0 GB (32000000000 bytes)``."""
    if count >= 10**300:  # count / 1e9 would raise OverflowError (steps=10**400)
        return f"more than 10**291 GB ({len(str(count))} digits of bytes)"
    return f"{count / 1e9:.1f} GB ({count} bytes)" if count >= 10**8 else f"{count} bytes"


def as_sizes(where: str, what: str, value: object, rank: int) -> tuple[int, ...]:
    """A window's sizes (``kernel_size``, ``strides``, ``dilation_rate``): one integer ≥ 1
    for every axis, or ``rank`` of them; a float (2.0 included) is refused, not cut."""
    values = (value,) * rank if _is_integer(value) else \
        tuple(value) if isinstance(value, tuple | list) else None
    if values is None or len(values) != rank or \
            any(not _is_integer(v) or not 1 <= v <= SIZE_MAX for v in values):
        raise ValueError(f"{where}: {what} must be a positive integer or {rank} of them "
                         f"(a tuple), each at most 2**31 − 1, got {value!r}")
    return tuple(int(v) for v in values)


def as_mask(where: str, what: str, value: object,
            shape: Sequence[int | None] | None = None) -> np.ndarray:
    """A mask as a boolean array (True: keep the step, attend to the key).

    The rule: a boolean array, or an integer array of only 0 and 1 (0 is False, 1 is
    True), read as booleans; nothing else is cast. A float mask (even of 0.0 and 1.0), a
    string, or an integer other than 0 and 1 is refused: casting 0.5 or ``"no"`` to True
    would hide a mistake. A ragged nested list is refused with its rows' lengths, and
    ``shape`` (``None`` entries: any size) must match exactly.
    """
    array = as_array(value, where, what)
    name = array.dtype.name
    if name != "bool":
        if not is_integer_name(name):
            raise TypeError(f"{where}: {what} must be boolean (or integers 0 and 1), got "
                            f"dtype {name}")
        others = array[(array != 0) & (array != 1)]
        if others.size:
            raise ValueError(f"{where}: {what} of integers must hold only 0 (False) and 1 "
                             f"(True), got {others.size} other value(s), e.g. "
                             f"{others.flat[0].item()!r}")
    if shape is not None:
        check_shape(where, what, array.shape, shape)
    return array.astype(bool)
