"""The spec's optimizers as ``keras.optimizers``, and gradient descent with ``GradientTape``.

``SGD``, ``Adam`` and ``AdamW`` take the spec's argument names and return Keras's own
``keras.optimizers.SGD`` / ``Adam`` / ``AdamW``; ``from_reference`` builds one from a spec
optimizer object. Keras computes its own formulas whatever the spec object's
``convention`` says: compare it with the spec under ``convention="keras"``, which
reproduces them (see ``reference.optimizers``):

* momentum is kept as a velocity v ← μv − ηg that includes η;
* Adam adds ε to √v before the bias correction, and defaults to ε = 1e-7;
* the learning rate is a variable of ``floatx`` (float32), and μ, β₁, β₂ (inside βᵗ) and
  the weight decay go through ``ops.cast`` of a Python float, i.e. through float32, even
  when the model is float64;
* ``weight_decay`` is decoupled on every Keras optimizer, p ← p − pλη before the step;
* ``clipnorm`` clips each variable's gradient to norm c alone, ``global_clipnorm`` all of
  them together, ``clipvalue`` each entry; the optimizer does it in ``apply_gradients``,
  before the decay and the step (torch users clip in the loop instead).

Bridged: coupled (L2) weight decay, which torch's ``SGD`` and ``Adam`` do and Keras has
no option for, is added by a small subclass whose ``update_step`` uses g + λp in place
of g, exactly torch's ``grad.add(param, alpha=λ)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import tensorflow as tf

import reference
from reference._validation import instance_check
from tf_impl import schedules
from tf_impl._inputs import checked, hyperparameters, starting_point


class CoupledWeightDecay:
    """Mixin: L2 weight decay in the gradient, g ← g + λp, before the optimizer's own step."""

    def __init__(self, *, coupled_weight_decay: float, **options) -> None:
        super().__init__(**options)
        self.coupled_weight_decay = coupled_weight_decay

    def update_step(self, gradient, variable, learning_rate):
        gradient = keras.ops.add(gradient, keras.ops.multiply(variable, self.coupled_weight_decay))
        return super().update_step(gradient, variable, learning_rate)


class SGDWithL2(CoupledWeightDecay, keras.optimizers.SGD):
    """``keras.optimizers.SGD`` with torch's coupled weight decay."""


class AdamWithL2(CoupledWeightDecay, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with torch's coupled weight decay."""


@checked(hyperparameters)
def SGD(learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
        weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
        **clipping: float | None) -> keras.optimizers.SGD:
    """``keras.optimizers.SGD`` with the spec's arguments (decay coupled unless told);
    ``clipping``: Keras's ``clipnorm``, ``global_clipnorm`` or ``clipvalue``."""
    options = dict(learning_rate=learning_rate, momentum=float(momentum),
                   nesterov=nesterov, **clipping)
    if weight_decay and not decoupled_weight_decay:
        return SGDWithL2(coupled_weight_decay=weight_decay, name="sgd_with_l2", **options)
    return keras.optimizers.SGD(weight_decay=weight_decay or None, **options)


@checked(hyperparameters)
def Adam(learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
         epsilon: float = 1e-7, weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
         **clipping: float | None) -> keras.optimizers.Adam:
    """``keras.optimizers.Adam``: ε added before bias correction; decay coupled unless told."""
    options = dict(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                   epsilon=epsilon, **clipping)
    if weight_decay and not decoupled_weight_decay:
        return AdamWithL2(coupled_weight_decay=weight_decay, name="adam_with_l2", **options)
    return keras.optimizers.Adam(weight_decay=weight_decay or None, **options)


@checked(hyperparameters)
def AdamW(learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
          epsilon: float = 1e-7, weight_decay: float = 0.004,
          **clipping: float | None) -> keras.optimizers.AdamW:
    """``keras.optimizers.AdamW``: decoupled decay p ← p − pλη before the Adam step."""
    return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay,
                                  beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **clipping)


@checked(instance_check("optimizer", (reference.optimizers.SGD, reference.optimizers.Adam),
                         "a reference.optimizers object (SGD, Adam, AdamW)"))
def from_reference(optimizer: reference.optimizers.SGD | reference.optimizers.Adam
                   ) -> keras.optimizers.Optimizer:
    """The ``keras.optimizers`` optimizer with the hyper-parameters of a spec optimizer."""
    spec = reference.optimizers
    # η: a Python float (Keras keeps it in a float32 variable) or a Keras schedule
    rate = schedules.from_reference(optimizer.learning_rate) if isinstance(
        optimizer.learning_rate, reference.schedules.SCHEDULES) else float(optimizer.learning_rate)
    clipping = {k: getattr(optimizer, k) for k in ("clipnorm", "global_clipnorm", "clipvalue")
                if getattr(optimizer, k, None) is not None}
    if isinstance(optimizer, spec.AdamW):
        return AdamW(rate, optimizer.beta_1, optimizer.beta_2,
                     optimizer.epsilon, optimizer.weight_decay, **clipping)
    if isinstance(optimizer, spec.Adam):
        return Adam(rate, optimizer.beta_1, optimizer.beta_2,
                    optimizer.epsilon, optimizer.weight_decay, optimizer.decoupled_weight_decay,
                    **clipping)
    if isinstance(optimizer, spec.SGD):
        return SGD(rate, optimizer.momentum, optimizer.nesterov,
                   optimizer.weight_decay, optimizer.decoupled_weight_decay, **clipping)
    raise TypeError(f"no keras.optimizers counterpart for {type(optimizer).__name__}")


@checked(starting_point)
def gradient_descent(function: Callable[[tf.Variable], tf.Tensor], x0: float,
                     learning_rate: float, precision: float, max_iters: int) -> tf.Tensor:
    """Note 002's gradient descent: a ``tf.Variable``, ``GradientTape`` and Keras's ``SGD``.

    Unlike the spec, which is given the derivative, this is given f itself: the tape
    finds f'(x) and ``apply_gradients`` assigns x ← x − η f'(x) to the variable, in a
    step compiled once by ``tf.function`` (hundreds of eager Keras updates are slow). (Note
    000's loop writes ``x = x - lr * g`` instead, which rebinds the name to a plain
    tensor that the next tape does not watch: its gradient is then ``None``.) η is
    rounded to float32, Keras's learning-rate variable: compare with the spec under
    ``convention="keras"``.

    Shape: x0 a scalar → the iterates, shape (k + 1,).
    """
    x = tf.Variable(x0)
    optimizer = keras.optimizers.SGD(learning_rate=float(learning_rate))
    optimizer.build([x])  # its variables exist before the step is traced

    @tf.function  # one graph for the step; the loop and its stopping rule stay in Python
    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            value = function(x)
        optimizer.apply_gradients([(tape.gradient(value, x), x)])
        return tf.identity(x)

    iterates, last_step = [tf.identity(x)], math.inf
    while last_step > precision and len(iterates) <= max_iters:
        iterates.append(step())
        last_step = float(tf.abs(iterates[-1] - iterates[-2]))
    return tf.stack(iterates)
