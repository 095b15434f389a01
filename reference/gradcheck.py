"""Central finite differences: the independent check of every hand-written derivative.

The spec's derivatives are never verified only against themselves: each is compared
with (f(x + h e_i) − f(x − h e_i)) / 2h, whose error is O(h²) from truncation plus
O(ε/h) from rounding; h = 1e-6 in float64 balances the two at about 1e-10.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from reference._validation import as_numeric_array, check_real


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       step: float = 1e-6) -> np.ndarray:
    """dF/dx by central differences, for a scalar function F of a float64 array x.

    One pair of evaluations per entry of x: meant for the small arrays of tests.
    """
    where = "numerical_gradient"
    if not callable(f):
        raise TypeError(f"{where}: f must be a function of an array, got {type(f).__name__}")
    check_real(where, "step", step, 0.0, low_open=True)  # 0 divides, NaN poisons every entry
    x = as_numeric_array(x, where, "x").astype(np.float64)  # a copy: entries are moved
    grad = np.empty_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + step
        upper = f(x)
        flat[i] = saved - step
        lower = f(x)
        flat[i] = saved
        if not (_is_real(upper) and _is_real(lower)):
            wrong = lower if _is_real(upper) else upper
            raise TypeError(f"{where}: f must return one real number, got "
                            f"{type(wrong).__name__} {wrong!r:.60}")
        out[i] = (upper - lower) / (2.0 * step)
    return grad


def _is_real(value: object) -> bool:
    """A real number, or NumPy's 0-d array of one (``np.sum`` of a 0-d array)."""
    return isinstance(value, numbers.Real) or (
        isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf")


def gradient_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """max |a − n| / max(1, |n|): relative for large entries, absolute for small ones."""
    analytic = as_numeric_array(analytic, "gradient_error", "analytic")
    numerical = as_numeric_array(numerical, "gradient_error", "numerical")
    if analytic.shape != numerical.shape:
        raise ValueError(f"gradient_error: shapes differ: analytic {analytic.shape}, numerical "
                         f"{numerical.shape}")
    return float(np.max(np.abs(analytic - numerical) / np.maximum(1.0, np.abs(numerical)),
                        initial=0.0))


def through_parameter(layer, name: str, loss: Callable[[], float]
                      ) -> Callable[[np.ndarray], float]:
    """The loss as a function of one parameter: F(v) sets ``layer``'s ``name`` to v,
    evaluates ``loss()`` and puts the layer's current value back."""
    saved = layer.parameters[name].copy()

    def loss_of(value: np.ndarray) -> float:
        layer.set(name, value)
        try:
            return loss()
        finally:
            layer.set(name, saved)
    return loss_of


def parameter_gradient_errors(layers: Sequence, gradients: Sequence[dict[str, np.ndarray]],
                              loss: Callable[[], float]) -> dict[str, float]:
    """``{"layer.parameter": error}``: each analytic ``gradients[k][name]`` of ``layers[k]``
    against central differences of ``loss()`` through that parameter alone."""
    return {f"{layer.name}.{name}": gradient_error(
                analytic, numerical_gradient(through_parameter(layer, name, loss),
                                             layer.parameters[name]))
            for layer, grads in zip(layers, gradients, strict=True)
            for name, analytic in grads.items()}


def case_derivatives(concept, data: dict, upstream: np.ndarray | None = None
                     ) -> Iterator[tuple[str, np.ndarray, Callable[[np.ndarray], float],
                                         np.ndarray]]:
    """For a registry case of a hand-differentiated module, each derivative to check:
    ``(what, analytic, F, x)``, where ``analytic`` is the spec's dF/dx at x.

    activations: F(z) = Σ g ⊙ φ(z) for the ``upstream`` g, against ``Activation.vjp``;
    losses: F = L(y_true, ·), against the loss's gradient; layers and networks: F = the
    loss of the model's output, by its input and by each layer's W and b, against
    ``backward``. A model's weights are restored after every probe.
    """
    from reference import activations, losses

    if concept.module == "activations":
        act, z = activations.get(concept.name, **data["params"]), data["z"]
        g = np.ones_like(z) if upstream is None else upstream
        yield "dL/dz", act.vjp(z, g), lambda v: float(np.sum(g * act(v))), z
        return
    if concept.module == "losses":
        y_true, y_pred = data["y_true"], data["y_pred"]
        loss = losses.get(concept.name)
        yield ("dL/dŷ", losses.gradient(concept.name)(y_true, y_pred),
               lambda v: loss(y_true, v), y_pred)
        return
    model, x, y_true = data["model"], data["x"], data["y_true"]
    training = data.get("training", False)
    loss = losses.get(data["loss"])

    def loss_at(v: np.ndarray) -> float:
        return loss(y_true, model.forward(v, training=training))

    dx = model.backward(losses.gradient(data["loss"])(y_true, model.forward(x, training=training)))
    grads = [{name: g.copy() for name, g in layer.gradients.items()} for layer in model.layers]
    if dx is not None:  # None: the input is integer indices (an Embedding's)
        yield "dL/dx", dx, loss_at, x
    for k, layer in enumerate(model.layers):
        for name, analytic in grads[k].items():
            yield (f"dL/d{name}[{k}]", analytic, through_parameter(layer, name, lambda: loss_at(x)),
                   layer.parameters[name].copy())
