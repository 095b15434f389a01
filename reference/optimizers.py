r"""Gradient descent and the optimizers built on it: SGD (momentum, Nesterov), Adam, AdamW.

Every optimizer moves parameters p against their gradient g = dL/dp. Plain gradient
descent (note 002) is p ← p − η g. The others keep a little memory per parameter.

The frameworks agree on the idea but not on every formula. Each optimizer here takes
``convention="torch"`` (the default, which is also the textbook form) or
``convention="keras"`` and then computes exactly what that framework computes:

=================  =====================================  =====================================
                   torch.optim                            keras.optimizers (TF backend)
=================  =====================================  =====================================
SGD momentum       b ← μ b + g  (b = g at step 1)         v ← μ v − η g
                   p ← p − η b                            p ← p + v
Nesterov           p ← p − η (g + μ b)                    p ← p + μ v − η g
Adam step          p ← p − (η/c₁) m / (√v / √c₂ + ε)      p ← p − η (√c₂/c₁) m / (√v + ε)
                   c_k = 1 − β_kᵗ                         (ε meets √v before bias correction)
Adam ε default     1e-8                                   1e-7
weight_decay       SGD, Adam: coupled (L2), g ← g + λp;   decoupled on every optimizer,
                   AdamW: decoupled, p ← p (1 − ηλ)       p ← p − (p λ) η, before the step
hyper-parameters   Python floats, used as they are        η is a float32 variable; μ, β₁, β₂
                                                          (in βᵗ) and λ are cast from float32
=================  =====================================  =====================================

What the differences amount to (``reference/tests/test_optimizers.py`` shows them in
numbers): the two momentum forms give the same steps while η stays constant (v = −η b)
and part when η changes, since torch's buffer does not hold η. Keras's ε acts as torch's
ε/√c₂, 31.6 times larger at t = 1 and fading as c₂ → 1: the two agree to about 1e-5 when
√v ≫ ε, but with gradients of 1e-6 Keras's first step is 0.24η against torch's 0.99η.
float32 rounding turns β₂ = 0.999 into 0.99900001287 and η = 0.01 into 0.0099999998
even for float64 parameters (``keras_rounded``).

Weight decay: ``weight_decay=λ`` with ``decoupled_weight_decay=False`` adds λp to the
gradient (L2 regularisation of λ/2 ‖p‖², torch's ``weight_decay`` on SGD and Adam);
``True`` shrinks p by ηλ p outside the gradient (Loshchilov & Hutter's AdamW, Keras's
``weight_decay`` everywhere). With momentum or Adam the two differ, because the L2 term
is averaged into the moments and rescaled by Adam, where decoupled decay is not.

Gradient clipping, before everything else in a step (``clipnorm``, ``global_clipnorm``,
``clipvalue``: Keras's optimizer arguments, at most one of them; torch users call
``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` between ``backward()`` and
``step()``):

=================  =====================================  =====================================
                   torch.nn.utils                         keras.optimizers
=================  =====================================  =====================================
per variable       clip_grad_norm_([p], c) for each p:    clipnorm=c:
                   g ← g · min(1, c / (‖g‖ + 1e-6))       g ← g · c / max(‖g‖, c)
global             clip_grad_norm_(params, c), ‖G‖ the    global_clipnorm=c:
                   norm of all gradients as one vector:   g ← g · c · min(1/‖G‖, 1/c)
                   g ← g · min(1, c / (‖G‖ + 1e-6))
by value           clip_grad_value_(params, v)            clipvalue=v: both clip g to [−v, v]
=================  =====================================  =====================================

torch's 1e-6 makes its clipped norm c·‖g‖/(‖g‖ + 1e-6), a relative 1e-6/‖g‖ short of c.

``learning_rate`` may be a schedule (``reference.schedules``): η_t then follows it, step
by step, computed as the convention's framework computes it.

An optimizer object holds only its hyper-parameters (it is frozen: use
``dataclasses.replace`` for a variant). Its memory lives in an :class:`OptimizerState`
from :meth:`init`; :meth:`step` updates the parameters in place.

Shape: ``params`` and ``grads`` are lists of arrays, pairwise of the same shape and dtype.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from reference._validation import (
    FLOAT32_MAX,
    as_float_array,
    check_clipping,
    check_count,
    check_hyperparameters,
    check_optimizer_switches,
    check_real,
    check_shape,
    type_name,
)
from reference.schedules import _Schedule

CONVENTIONS = ("torch", "keras")
EPSILON_DEFAULTS = {"torch": 1e-8, "keras": 1e-7}
ADAMW_WEIGHT_DECAY_DEFAULTS = {"torch": 0.01, "keras": 0.004}


def keras_rounded(value: float) -> float:
    """``value`` rounded to float32, as Keras rounds a hyper-parameter (still a Python float).

    ``keras.ops.cast(0.999, "float64")`` first makes a float32 tensor, and the learning
    rate is a variable of ``floatx`` (float32): 0.999 → 0.9990000128746033.
    """
    # a finite real number within float32's range: NumPy's "only 0-dimensional arrays can
    # be converted", or inf with an overflow warning, otherwise
    check_real("keras_rounded", "value", value, -FLOAT32_MAX, FLOAT32_MAX)
    return float(np.float32(value))


def gradient_descent(grad: Callable[[np.ndarray], np.ndarray], x0: float, learning_rate: float,
                     precision: float, max_iters: int, *,
                     convention: str = "torch") -> np.ndarray:
    """Gradient descent on a function of one variable, with note 002's stopping rule.

    x_{k+1} = x_k − η f'(x_k), until a step |x_{k+1} − x_k| is at most ``precision`` or
    ``max_iters`` steps were taken. On f(x) = (x − 2)² from x₀ = 4 with η = 0.01:
    4 → 3.96 → 3.9208 → 3.882384 → …, since x_k − 2 = 2 · 0.98ᵏ.

    ``grad`` is the derivative f', worked out by hand as in note 002 (the mirrors take f
    itself and let autograd or the tape find f'). ``x0``'s dtype (float64 for a Python
    float, or a NumPy float32) is the dtype of the whole run; ``convention="keras"``
    rounds η through float32 as ``keras.optimizers.SGD`` does.

    Shape: x0 a scalar → the iterates x_0, x_1, …, x_k, shape (k + 1,).
    """
    _check_convention(convention, "gradient_descent")
    check_hyperparameters("gradient_descent", learning_rate=learning_rate, precision=precision)
    check_count("gradient_descent", "max_iters", max_iters, 0)
    x = as_float_array(x0, None, "gradient_descent", "x0")
    check_descent("gradient_descent", "grad", grad, x.shape)
    eta = keras_rounded(learning_rate) if convention == "keras" else float(learning_rate)
    iterates, last_step = [x], math.inf
    while last_step > precision and len(iterates) <= max_iters:
        x = x - eta * _derivative("gradient_descent", grad(x), x)
        last_step = float(abs(x - iterates[-1]))
        iterates.append(x)
    return np.array(iterates)


@dataclass
class OptimizerState:
    """An optimizer's memory: the step count t and one list of arrays per kind of slot."""

    iterations: int = 0
    slots: dict[str, list[np.ndarray | None]] = field(default_factory=dict)


def check_descent(where: str, what: str, function: object, x0_shape: tuple[int, ...]) -> None:
    """Note 002's descent on one variable, in the spec and both mirrors: a function to
    call, and x0 one number. A list x0 failed in NumPy's words ("only 0-dimensional
    arrays can be converted to Python scalars"), in torch's ("grad can be implicitly
    created only for scalar outputs"); a function that is none in Python's ("'int'
    object is not callable"), inside TF's trace."""
    if not callable(function):
        raise TypeError(f"{where}: {what} must be a function of x, got {type_name(function)} "
                        f"{function!r:.60}")
    check_shape(where, "x0 (one number)", x0_shape, ())


def _derivative(where: str, value: object, x: np.ndarray) -> object:
    """grad's value at x: one real number, a Python one or of x's dtype. An array of
    shape (2,) failed in NumPy's words ("only length-1 arrays can be converted to Python
    scalars"), a string or None in Python's, and a float64 value would make a float32
    run float64 silently."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.generic):
        return value  # Python's numbers are weak: they take x's dtype
    array = np.asarray(value) if isinstance(value, np.ndarray | np.generic) else None
    if array is None or array.shape != () or array.dtype != x.dtype:
        shown = type_name(value) if array is None else \
            f"{type_name(value)} of shape {array.shape} and dtype {array.dtype.name}"
        raise TypeError(f"{where}: grad must return one number, a Python float or of x0's "
                        f"dtype {x.dtype.name}, got {shown} {value!r:.60}")
    return value


def _check_convention(convention: str, where: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"{where}: convention must be one of {CONVENTIONS}, got "
                         f"{convention!r}")


def _first_rate(learning_rate: float | _Schedule) -> float:
    """η, or a schedule's η₀ (the schedule checks the rest of itself)."""
    return learning_rate.initial_learning_rate if isinstance(learning_rate, _Schedule) \
        else learning_rate


def _checked(name: str, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             state: OptimizerState, slots: tuple[str, ...]) -> None:
    if not isinstance(state, OptimizerState):
        raise TypeError(f"{name}.step: state must be an OptimizerState from {name}.init, got "
                        f"{type(state).__name__}")
    check_count(f"{name}.step", "state.iterations", state.iterations, 0)
    if set(state.slots) != set(slots) or \
            any(len(state.slots[slot]) != len(params) for slot in slots):
        found = {slot: len(arrays) for slot, arrays in state.slots.items()}
        raise ValueError(f"{name}.step: the state holds the slots {found} (arrays per slot), "
                         f"but {len(params)} parameters need the slots {list(slots)}; make "
                         f"the state with {name}.init(params)")
    for slot in slots:  # a state made for other shapes would be broadcast silently
        for k, (p, kept) in enumerate(zip(params, state.slots[slot], strict=True)):
            if kept is not None and (kept.shape != p.shape or kept.dtype != p.dtype):
                raise ValueError(f"{name}.step: state slot {slot!r} {k} has shape {kept.shape} "
                                 f"and dtype {kept.dtype}, its parameter {p.shape} and "
                                 f"{p.dtype}: the state was made for other parameters")
    if len(params) != len(grads):
        raise ValueError(f"{name}.step: {len(params)} parameters but {len(grads)} gradients")
    for k, (p, g) in enumerate(zip(params, grads, strict=True)):
        if p.shape != g.shape or p.dtype != g.dtype:
            raise ValueError(f"{name}.step: gradient {k} has shape {g.shape} and dtype "
                             f"{g.dtype}, its parameter {p.shape} and {p.dtype}")


class _Optimizer:
    """What SGD and Adam share: the convention, weight decay, and the step loop."""

    learning_rate: float
    weight_decay: float
    decoupled_weight_decay: bool
    convention: str

    clipnorm: float | None
    global_clipnorm: float | None
    clipvalue: float | None

    def _check_clipping(self) -> None:
        check_clipping(type(self).__name__, {"clipnorm": self.clipnorm,
                                             "global_clipnorm": self.global_clipnorm,
                                             "clipvalue": self.clipvalue},
                       float32=self.convention == "keras")

    def _clipped(self, grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The gradients after clipping, in this convention's arithmetic (module docstring)."""
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            return [self._clip_to(g, float(np.sqrt(np.sum(np.square(g)))), self.clipnorm)
                    for g in grads]
        if self.global_clipnorm is not None:
            norms = [np.sqrt(np.sum(np.square(g))) for g in grads]
            total = float(np.sqrt(np.sum(np.square(norms)))) if self.convention == "torch" \
                else float(np.sqrt(np.sum([np.sum(np.square(g)) for g in grads])))
            return [self._clip_to(g, total, self.global_clipnorm) for g in grads]
        return list(grads)

    def _clip_to(self, g: np.ndarray, norm: float, c: float) -> np.ndarray:
        real = g.dtype.type  # the norm and the factor in the gradient's dtype, as both do
        if norm == 0.0:  # nothing to clip (Keras's 1/‖G‖ would be inf, its min then 1/c)
            return g
        if self.convention == "torch":
            return g * min(real(c) / (real(norm) + real(1e-6)), real(1.0))
        if self.clipnorm is not None:
            return (g * real(c)) / max(real(norm), real(c))
        return g * (real(c) * min(real(1.0) / real(norm), real(1.0) / real(c)))

    def _eta(self, state: OptimizerState) -> float:
        """η of this step: a schedule's at t = ``state.iterations``, or the constant."""
        if isinstance(self.learning_rate, _Schedule):
            return self.learning_rate(state.iterations, self.convention)
        return self._hyper(self.learning_rate)

    def _hyper(self, value: float) -> float:
        """A hyper-parameter as this convention's framework sees it (see ``keras_rounded``)."""
        return keras_rounded(value) if self.convention == "keras" else float(value)

    def init(self, params: Sequence[np.ndarray]) -> OptimizerState:
        """A fresh state for ``params``: step 0 and empty slots."""
        return OptimizerState(slots={name: [None] * len(params) for name in self._SLOTS})

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             state: OptimizerState) -> None:
        """One update of every parameter, in place."""
        _checked(type(self).__name__, params, grads, state, self._SLOTS)
        for k, (p, g) in enumerate(zip(params, self._clipped(grads), strict=True)):
            if self.weight_decay and not self.decoupled_weight_decay:
                g = g + self.weight_decay * p  # coupled: L2 in the gradient
            elif self.weight_decay:
                self._decay(p, self._eta(state))
            self._update(k, p, g, state)
        state.iterations += 1

    def _decay(self, p: np.ndarray, eta: float) -> None:
        """Decoupled weight decay, p ← p − ηλp, in each framework's own arithmetic."""
        if self.convention == "keras":
            p -= (p * self._hyper(self.weight_decay)) * eta
        else:
            p *= 1.0 - eta * self.weight_decay

    _SLOTS: tuple[str, ...] = ()

    def _update(self, k: int, p: np.ndarray, g: np.ndarray, state: OptimizerState) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class SGD(_Optimizer):
    r"""Stochastic gradient descent, with momentum μ and Nesterov's variant.

    Without momentum: p ← p − η g. With it, torch's form (b₁ = g₁):

        b ← μ b + g;   p ← p − η b          Nesterov: p ← p − η (g + μ b)

    and Keras's (v₀ = 0):

        v ← μ v − η g; p ← p + v            Nesterov: p ← p + μ v − η g

    which take the same steps while η is constant (v = −η b). Defaults: η = 0.01 as in
    Keras (torch's ``SGD`` defaults to 1e-3), μ = 0, no weight decay.
    """

    learning_rate: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    convention: str = "torch"
    clipnorm: float | None = None
    global_clipnorm: float | None = None
    clipvalue: float | None = None

    _SLOTS = ("momentum",)

    def __post_init__(self) -> None:
        _check_convention(self.convention, "SGD")
        self._check_clipping()
        check_hyperparameters("SGD", float32=self.convention == "keras",
                              learning_rate=_first_rate(self.learning_rate),
                              momentum=self.momentum, weight_decay=self.weight_decay)
        check_optimizer_switches("SGD", self.momentum, nesterov=self.nesterov,
                                 decoupled_weight_decay=self.decoupled_weight_decay)

    def _update(self, k: int, p: np.ndarray, g: np.ndarray, state: OptimizerState) -> None:
        eta, mu = self._eta(state), self._hyper(self.momentum)
        buffers = state.slots["momentum"]
        if not self.momentum:
            p -= eta * g if self.convention == "torch" else g * eta
        elif self.convention == "torch":
            buffers[k] = g.copy() if buffers[k] is None else buffers[k] * mu + g
            direction = g + mu * buffers[k] if self.nesterov else buffers[k]
            p -= eta * direction
        else:
            v = np.zeros_like(p) if buffers[k] is None else buffers[k]
            buffers[k] = v * mu - g * eta
            p += buffers[k] * mu - g * eta if self.nesterov else buffers[k]


@dataclass(frozen=True)
class Adam(_Optimizer):
    r"""Adam (Kingma & Ba): step sizes from running moments of the gradient.

        m ← β₁ m + (1 − β₁) g;   v ← β₂ v + (1 − β₂) g²;   c_k = 1 − β_kᵗ (t = 1, 2, …)

    torch (the paper's Algorithm 1):  p ← p − (η / c₁) · m / (√v / √c₂ + ε)
    Keras (the paper's §2 variant):   p ← p − η (√c₂ / c₁) · m / (√v + ε)

    ``epsilon=None`` takes the convention's default (1e-8 torch, 1e-7 Keras).
    ``weight_decay`` is coupled (L2, torch's Adam) unless ``decoupled_weight_decay``.
    """

    learning_rate: float = 0.001
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float | None = None
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    convention: str = "torch"
    clipnorm: float | None = None
    global_clipnorm: float | None = None
    clipvalue: float | None = None

    _SLOTS = ("m", "v")

    def __post_init__(self) -> None:
        _check_convention(self.convention, type(self).__name__)
        check_optimizer_switches(type(self).__name__,
                                 decoupled_weight_decay=self.decoupled_weight_decay)
        self._check_clipping()
        if self.epsilon is None:  # resolved once, so a replace() keeps the value
            object.__setattr__(self, "epsilon", EPSILON_DEFAULTS[self.convention])
        if self.weight_decay is None and not isinstance(self, AdamW):  # AdamW's default only
            check_real(type(self).__name__, "weight_decay", None)  # refused by name
        if self.weight_decay is not None:  # AdamW resolves its default below
            check_hyperparameters(type(self).__name__, float32=self.convention == "keras",
                                  learning_rate=_first_rate(self.learning_rate),
                                  beta_1=self.beta_1, beta_2=self.beta_2,
                                  epsilon=self.epsilon, weight_decay=self.weight_decay)

    def _update(self, k: int, p: np.ndarray, g: np.ndarray, state: OptimizerState) -> None:
        m_slot, v_slot = state.slots["m"], state.slots["v"]
        m = np.zeros_like(p) if m_slot[k] is None else m_slot[k]
        v = np.zeros_like(p) if v_slot[k] is None else v_slot[k]
        t = state.iterations + 1
        b1, b2 = self.beta_1, self.beta_2
        if self.convention == "torch":
            m = m + (1.0 - b1) * (g - m)  # torch's lerp_
            v = v * b2 + ((1.0 - b2) * g) * g
            c1, c2 = 1.0 - b1**t, 1.0 - b2**t
            p += (-(self._eta(state) / c1) * m) / (np.sqrt(v) / c2**0.5 + self.epsilon)
        else:
            real = p.dtype.type  # Keras forms α in the variable's dtype from rounded βs
            c1 = real(1) - real(self._hyper(b1)) ** real(t)
            c2 = real(1) - real(self._hyper(b2)) ** real(t)
            alpha = real(self._eta(state)) * np.sqrt(c2) / c1
            m = m + (g - m) * (1.0 - b1)
            v = v + (g * g - v) * (1.0 - b2)
            p -= (m * alpha) / (np.sqrt(v) + self.epsilon)
        m_slot[k], v_slot[k] = m, v


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay, p ← p − ηλp beside the Adam step (Loshchilov & Hutter).

    ``weight_decay=None`` takes the convention's default: 0.01 for torch's ``AdamW``,
    0.004 for Keras's.
    """

    weight_decay: float | None = None
    decoupled_weight_decay: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay",
                               ADAMW_WEIGHT_DECAY_DEFAULTS[self.convention])
            super().__post_init__()
