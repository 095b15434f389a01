"""The registry of concepts: what the project covers, and on which inputs each is checked.

Every concept has a public name that exists, with the same meaning, in
``reference/<module>.py``, ``torch_impl/<module>.py`` and ``tf_impl/<module>.py``, and
at least one :class:`Case`: a recipe for valid inputs. The parity suite, the
finite-difference checks and the docs are all generated from this list, so a concept
added here without its mirrors or its cases fails a test.

A case's ``make(rng, dtype, batch)`` returns a dict; its keys depend on the module:

* activations: ``z`` and ``params`` (keyword arguments of the activation);
* losses: ``y_true`` and ``y_pred``;
* layers, networks: ``model`` (a spec :class:`~reference.networks.Sequential`), ``x``,
  ``y_true`` and ``loss`` (a loss name): forward, loss, then backward.
* autodiff: the keys of the case it reuses, plus what to differentiate: ``of`` for a
  Jacobian (``"softmax"`` of ``z``, or ``"model"``: the model's output by its ``x``);
  ``loss`` for a Hessian (by ``y_pred``, or by ``x`` when the case has a ``model``).

Inputs keep a distance of at least 1e-2 from kinks (ReLU and step at 0), where a
finite difference or a comparison of one-sided derivatives would be meaningless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reference import activations
from reference.layers import Dense
from reference.networks import Sequential

Make = Callable[[np.random.Generator, np.dtype, int], dict]


@dataclass(frozen=True)
class Case:
    """One input recipe for a concept; ``label`` names it in reports and test ids."""

    label: str
    make: Make


@dataclass(frozen=True)
class Concept:
    """A concept, the module that holds it in all three packages, and its cases."""

    name: str
    module: str
    summary: str
    notes: tuple[str, ...]
    cases: tuple[Case, ...]
    differentiable: bool = True


def _away_from_zero(z: np.ndarray, margin: float = 1e-2) -> np.ndarray:
    return np.where(np.abs(z) < margin, np.copysign(margin, z) + z, z)


def _activation_case(label: str, params: dict, kink: bool) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        z = 3.0 * rng.standard_normal((batch, int(rng.integers(2, 8))))
        return {"z": (_away_from_zero(z) if kink else z).astype(dtype), "params": params}
    return Case(label, make)


def _one_hot(indices: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    return np.eye(classes, dtype=dtype)[indices]


def _probabilities(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return activations.softmax(rng.standard_normal(shape))


def _loss_inputs(kind: str) -> Make:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        shape = (batch, int(rng.integers(2, 6)))
        classes = rng.integers(0, shape[1], size=batch)
        y_true, y_pred = {
            "regression": lambda: (rng.standard_normal(shape), rng.standard_normal(shape)),
            "positive": lambda: (rng.uniform(0.0, 3.0, shape), rng.uniform(0.0, 3.0, shape)),
            "binary": lambda: (rng.integers(0, 2, shape), rng.uniform(0.05, 0.95, shape)),
            "binary_logits": lambda: (rng.uniform(0.0, 1.0, shape),
                                      3.0 * rng.standard_normal(shape)),
            "categorical": lambda: (_one_hot(classes, shape[1], dtype),
                                    _probabilities(rng, shape)),
            "categorical_logits": lambda: (_one_hot(classes, shape[1], dtype),
                                           3.0 * rng.standard_normal(shape)),
            "sparse": lambda: (classes, _probabilities(rng, shape)),
            "sparse_logits": lambda: (classes, 3.0 * rng.standard_normal(shape)),
        }[kind]()
        y_true = y_true if y_true.dtype.kind in "iu" and kind.startswith("sparse") else \
            y_true.astype(dtype)
        return {"y_true": y_true, "y_pred": y_pred.astype(dtype)}
    return make


def _with_random_biases(model: Sequential, rng: np.random.Generator) -> Sequential:
    # Glorot init leaves biases at zero; a parity check should see them matter.
    for layer in model.layers:
        layer.b = rng.uniform(-0.5, 0.5, layer.out_features).astype(model.dtype)
    return model


def _targets(loss: str, rng: np.random.Generator, batch: int, width: int,
             dtype: np.dtype) -> np.ndarray:
    if loss in ("categorical_cross_entropy", "categorical_cross_entropy_with_logits"):
        return _one_hot(rng.integers(0, width, size=batch), width, dtype)
    if loss.startswith("binary"):
        return rng.integers(0, 2, size=(batch, width)).astype(dtype)
    return rng.standard_normal((batch, width)).astype(dtype)


def _model_case(label: str, widths: tuple[int, ...], acts: tuple[str, ...], loss: str) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layers = [Dense(i, o, a, dtype=dtype)
                  for i, o, a in zip(widths[:-1], widths[1:], acts, strict=True)]
        model = _with_random_biases(Sequential(layers, seed=int(rng.integers(2**31))), rng)
        x = rng.standard_normal((batch, widths[0])).astype(dtype)
        return {"model": model, "x": x, "y_true": _targets(loss, rng, batch, widths[-1], dtype),
                "loss": loss}
    return Case(label, make)


XOR_INPUTS = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]])
XOR_TARGETS = np.array([[0, 1], [1, 0], [1, 0], [0, 1]])


def _note004_case() -> Case:
    """Note 004's Linear(3,5) → Linear(5,8) → Linear(8,2), sigmoid after each, on its data."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layers = [Dense(3, 5, "sigmoid", dtype=dtype), Dense(5, 8, "sigmoid", dtype=dtype),
                  Dense(8, 2, "sigmoid", dtype=dtype)]
        model = _with_random_biases(Sequential(layers, seed=int(rng.integers(2**31))), rng)
        return {"model": model, "x": XOR_INPUTS.astype(dtype), "y_true": XOR_TARGETS.astype(dtype),
                "loss": "mean_squared_error"}
    return Case("note 004: 3-5-8-2 sigmoid on XOR data, MSE", make)


_KINKED = {"step", "relu", "leaky_relu", "elu"}
_ACTIVATION_NOTES = {
    "identity": ("003",), "step": ("001", "004"), "sigmoid": ("000", "001", "002", "003"),
    "tanh": ("000", "002", "003"), "relu": ("000", "002", "003"), "leaky_relu": ("003",),
    "elu": ("003",), "softmax": ("003",), "softplus": (), "silu": (), "gelu": (),
}
_ACTIVATION_PARAMS = {"leaky_relu": ({}, {"negative_slope": 0.2}), "elu": ({}, {"alpha": 0.3})}

_LOSSES = {
    # name: (input kind, notes)
    "mean_squared_error": ("regression", ("000", "003")),
    "half_mean_squared_error": ("regression", ("002", "003")),
    "mean_absolute_error": ("regression", ("003",)),
    "mean_squared_logarithmic_error": ("positive", ("003",)),
    "binary_cross_entropy": ("binary", ("000", "002", "003")),
    "binary_cross_entropy_with_logits": ("binary_logits", ("000",)),
    "categorical_cross_entropy": ("categorical", ("003",)),
    "categorical_cross_entropy_with_logits": ("categorical_logits", ("000", "003")),
    "sparse_categorical_cross_entropy": ("sparse", ("003",)),
    "sparse_categorical_cross_entropy_with_logits": ("sparse_logits", ("003",)),
}


def _with_inputs(case: Case, **extra: object) -> Case:
    """``case`` (same label, so the same inputs) plus ``extra`` keys: what to differentiate."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        return {**case.make(rng, dtype, batch), **extra}
    return Case(case.label, make)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0]


def _build() -> tuple[Concept, ...]:
    from reference import losses  # local: losses imports activations, keep the graph simple

    concepts = [
        Concept(
            name=name, module="activations",
            summary=_first_line(getattr(activations, name).__doc__),
            notes=_ACTIVATION_NOTES[name],
            cases=tuple(_activation_case(name + "".join(f"[{k}={v}]" for k, v in p.items()),
                                         p, name in _KINKED)
                        for p in _ACTIVATION_PARAMS.get(name, ({},))),
            differentiable=name != "step",
        )
        for name in activations.NAMES
    ]
    concepts += [
        Concept(name=name, module="losses", summary=_first_line(getattr(losses, name).__doc__),
                notes=notes, cases=(Case(name, _loss_inputs(kind)),))
        for name, (kind, notes) in _LOSSES.items()
    ]
    concepts.append(Concept(
        name="Dense", module="layers", summary=_first_line(Dense.__doc__), notes=("000", "002"),
        cases=tuple(_model_case(f"Dense(4, 3, {a})", (4, 3), (a,), "mean_squared_error")
                    for a in activations.NAMES if a != "step"),
    ))
    concepts.append(Concept(
        name="Sequential", module="networks", summary=_first_line(Sequential.__doc__),
        notes=("000", "002", "004"),
        cases=(
            _model_case("note 000: one hidden layer 3-4-1 sigmoid, binary cross-entropy",
                        (3, 4, 1), ("sigmoid", "sigmoid"), "binary_cross_entropy"),
            _note004_case(),
            _model_case("6-8-8-5-4 relu/tanh/gelu/softmax, categorical cross-entropy",
                        (6, 8, 8, 5, 4), ("relu", "tanh", "gelu", "softmax"),
                        "categorical_cross_entropy"),
            _model_case("5-7-3 elu, logits, categorical cross-entropy with logits",
                        (5, 7, 3), ("elu", "identity"), "categorical_cross_entropy_with_logits"),
        ),
    ))
    concepts += _autodiff_concepts({c.name: c for c in concepts})
    return tuple(concepts)


def _autodiff_concepts(spec: dict[str, Concept]) -> list[Concept]:
    """The computational graph's concepts, on the inputs of the concepts above.

    The frameworks' Jacobians cost one backward pass per row, so the Jacobian and
    Hessian concepts take a few small cases; ``reference/tests/test_autodiff.py`` runs
    the chain rule and the finite-difference checks on every network.
    """
    from reference import autodiff

    dense = {case.label: case for case in spec["Dense"].cases}
    networks = spec["Sequential"].cases
    jacobian_cases = (
        _with_inputs(spec["softmax"].cases[0], of="softmax"),
        *(_with_inputs(dense[f"Dense(4, 3, {a})"], of="model")
          for a in ("tanh", "relu", "softmax")),
    )
    hessian_cases = (
        *(_with_inputs(spec[name].cases[0], loss=name) for name in (
            "binary_cross_entropy_with_logits", "categorical_cross_entropy_with_logits")),
        networks[0],
    )
    return [
        Concept(name="jacobian", module="autodiff", summary=_first_line(autodiff.jacobian.__doc__),
                notes=("001",), cases=jacobian_cases),
        Concept(name="layer_jacobians", module="autodiff",
                summary=_first_line(autodiff.layer_jacobians.__doc__),
                notes=("001", "003", "004"), cases=networks[:1]),
        Concept(name="hessian", module="autodiff", summary=_first_line(autodiff.hessian.__doc__),
                notes=(), cases=hessian_cases),
        Concept(name="network_gradients", module="autodiff",
                summary=_first_line(autodiff.network_gradients.__doc__),
                notes=("000", "002", "004"), cases=networks),
    ]


CONCEPTS: tuple[Concept, ...] = _build()


def concepts(module: str | None = None) -> tuple[Concept, ...]:
    """All concepts, or those of one module."""
    return tuple(c for c in CONCEPTS if module is None or c.module == module)


def concept(name: str) -> Concept:
    """The concept called ``name``."""
    for c in CONCEPTS:
        if c.name == name:
            return c
    raise KeyError(f"no concept named {name!r}")
