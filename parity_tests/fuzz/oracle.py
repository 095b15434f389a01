"""The fuzz suite's one rule, applied to every call: a result that is right, or a clear error.

A *clear error* is a ``ValueError`` or ``TypeError`` (``WeightFileError`` is a
``ValueError``) whose message names the entry point that refused the input; anything
else (an ``IndexError`` from inside NumPy, a framework's ``InvalidArgumentError``, a
``RuntimeWarning``, a ``MemoryError``) is a failure. The spec is the oracle for the
mirrors: where it refuses an input, both mirrors must refuse it too; where it computes,
the mirrors must compute the same number within the parity tolerance, NaN where it
gives NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from parity_tests.tolerances import tolerance

CLEAR = (ValueError, TypeError)


@dataclass(frozen=True)
class Outcome:
    """What a call did: its result, or the clear error it raised."""

    value: object = None
    error: Exception | None = None


def outcome(call: Callable[[], object], where: str) -> Outcome:
    """Run ``call``; a clear error must name ``where``. Other exceptions propagate (the
    test fails on them), and so do warnings: pytest makes them errors."""
    try:
        return Outcome(value=call())
    except CLEAR as error:
        assert where in str(error), f"the error does not name {where!r}: {error!r}"
        return Outcome(error=error)


def spec_outcome(call: Callable[[], object], where: str) -> Outcome:
    """:func:`outcome` for the spec on inputs that may hold ±inf: ∞ − ∞ then gives NaN,
    the value the mirrors give too, with NumPy's RuntimeWarning, which is the signal
    the NaN policy keeps (``reference._validation``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return outcome(call, where)


def assert_same(spec: Outcome, mirror: Outcome, dtype: np.dtype, what: str) -> None:
    """The mirror refuses what the spec refuses and computes what it computes."""
    if spec.error is not None:
        assert mirror.error is not None, f"{what}: the spec refused ({spec.error}), the " \
                                         f"mirror returned {mirror.value!r}"
        assert type(mirror.error) is type(spec.error), f"{what}: {mirror.error!r} vs " \
                                                       f"{spec.error!r}"
        return
    assert mirror.error is None, f"{what}: the mirror refused ({mirror.error}), the spec " \
                                 f"computed {spec.value!r}"
    expected = np.asarray(spec.value, np.float64)
    actual = np.asarray(mirror.value, np.float64)
    assert actual.shape == expected.shape, what
    spec_dtype, mirror_dtype = _float_dtype(spec.value), _float_dtype(mirror.value)
    assert spec_dtype == mirror_dtype, f"{what}: the mirror computes in {mirror_dtype}, " \
                                       f"the spec in {spec_dtype}"
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), \
        f"{what}: NaN where the spec has none, or none where it has: {actual} vs {expected}"
    finite = np.isfinite(expected) & np.isfinite(actual)
    assert np.array_equal(np.isinf(actual), np.isinf(expected)), f"{what}: {actual} vs " \
                                                                 f"{expected}"
    error = tolerance(dtype, "loss").error(actual[finite], expected[finite])
    assert error <= tolerance(dtype, "loss").rtol, f"{what}: {actual} vs {expected}"


def _float_dtype(value: object) -> np.dtype | None:
    """The float dtype of an array or tensor with an axis; None for anything else (a
    Python float, a 0-d value read with ``.item()``, integers)."""
    array = np.asarray(value)
    return array.dtype if array.ndim and np.issubdtype(array.dtype, np.floating) else None
