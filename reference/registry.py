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

Inputs keep a distance of at least 1e-2 from kinks (ReLU and step at 0), where a
finite difference or a comparison of one-sided derivatives would be meaningless. A case
that must sit on a kink (a probability of exactly 0 or 1, where the clipping starts)
says so with ``gradcheck=False``: parity still applies, the finite-difference check not.

Numerical extremes: every activation, every loss and the dense layer also have a case
whose values spread over many orders of magnitude, 1e-4 to 1e4 with both signs, the
extremes ±1e4 included (``_spread``), or, for probabilities, exact 0s and 1s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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
    gradcheck: bool = True  # False: an input sits on a kink (see the module docstring)


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


def _spread(rng: np.random.Generator, shape: tuple[int, ...], low: float = -4.0,
            high: float = 4.0) -> np.ndarray:
    """Random signs and magnitudes 10^u, u uniform in [low, high]; the first entries are
    the extremes +10^high and −10^high, so every array reaches them."""
    values = rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(low, high, shape)
    flat = values.reshape(-1)
    flat[:2] = [10.0**high, -(10.0**high)][:flat.size]
    return values


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
    return tuple(concepts)


def _extreme_activation_case(name: str) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        z = _spread(rng, (batch, int(rng.integers(2, 8))))
        return {"z": (_away_from_zero(z) if name in _KINKED else z).astype(dtype), "params": {}}
    return Case(f"{name}, z up to ±1e4", make)


def _saturated(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Probabilities with exact 0s and 1s: softmax of logits up to ±1e4 (rows of one-hot
    vectors, in floating point), every other row an interior one."""
    p = activations.softmax(_spread(rng, shape))
    p[1::2] = _probabilities(rng, p[1::2].shape)
    return p


def _extreme_loss_case(name: str, kind: str) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        shape = (batch, int(rng.integers(2, 6)))
        classes = rng.integers(0, shape[1], size=batch)
        y_true, y_pred = {
            "regression": lambda: (_spread(rng, shape), _spread(rng, shape)),
            "positive": lambda: (np.abs(_spread(rng, shape)), np.abs(_spread(rng, shape))),
            "binary": lambda: (rng.integers(0, 2, shape),
                               rng.choice([0.0, 1.0, 0.3, 0.7], shape)),
            "binary_logits": lambda: (rng.uniform(0.0, 1.0, shape), _spread(rng, shape)),
            "categorical": lambda: (_one_hot(classes, shape[1], dtype), _saturated(rng, shape)),
            "categorical_logits": lambda: (_one_hot(classes, shape[1], dtype),
                                           _spread(rng, shape)),
            "sparse": lambda: (classes, _saturated(rng, shape)),
            "sparse_logits": lambda: (classes, _spread(rng, shape)),
        }[kind]()
        y_true = y_true if kind.startswith("sparse") else y_true.astype(dtype)
        return {"y_true": y_true, "y_pred": y_pred.astype(dtype)}
    saturated = kind in ("binary", "categorical", "sparse")
    label = ("probabilities of exactly 0 and 1" if saturated else
             "values from 1e-4 to 1e4" if kind == "positive" else "values up to ±1e4")
    return Case(f"{name}, {label}", make, gradcheck=not saturated)


def _extreme_model_case(activation: str) -> Case:
    """Dense(4, 3) whose pre-activations reach ±1e4 through its bias, scored by binary
    cross-entropy with logits.

    Both choices keep the problem well-conditioned, so that parity is a fair test: a bias
    makes z large without cancellation inside x W, and this loss's gradient σ(ŷ) − y stays
    bounded. (With MSE, dL/dŷ ≈ 2ŷ/n would be ~1e3 and nearly equal across the batch, and
    dL/dW = xᵀ δ would cancel it down to O(1), amplifying float32 rounding ~1e3-fold.)
    """
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layer = Dense(4, 3, activation, dtype=dtype, seed=int(rng.integers(2**31)))
        layer.b = _spread(rng, (3,)).astype(dtype)
        return {"model": Sequential([layer]), "x": rng.standard_normal((batch, 4)).astype(dtype),
                "y_true": rng.integers(0, 2, (batch, 3)).astype(dtype),
                "loss": "binary_cross_entropy_with_logits"}
    return Case(f"Dense(4, 3, {activation}), pre-activations up to ±1e4", make)


def _with_extreme_cases(concept: Concept) -> Concept:
    """The concept with its numerical-extremes case appended (none for networks)."""
    if concept.module == "activations":
        extra = (_extreme_activation_case(concept.name),)
    elif concept.module == "losses" and concept.name in _LOSSES:
        extra = (_extreme_loss_case(concept.name, _LOSSES[concept.name][0]),)
    elif concept.module == "layers":
        extra = tuple(_extreme_model_case(a) for a in activations.NAMES if a != "step")
    else:
        extra = ()
    return replace(concept, cases=concept.cases + extra)


CONCEPTS: tuple[Concept, ...] = tuple(_with_extreme_cases(c) for c in _build())


def concepts(module: str | None = None) -> tuple[Concept, ...]:
    """All concepts, or those of one module."""
    return tuple(c for c in CONCEPTS if module is None or c.module == module)


def concept(name: str) -> Concept:
    """The concept called ``name``."""
    for c in CONCEPTS:
        if c.name == name:
            return c
    raise KeyError(f"no concept named {name!r}")
