"""The dense layer: the multi-output perceptron of note 000, for a whole batch at once."""

from __future__ import annotations

import numpy as np

from reference import initializers
from reference._validation import as_dtype, as_float_array, check_batch, check_shape
from reference.activations import Activation, get


class Dense:
    r"""Fully connected layer: ``z = x W + b``, ``y = φ(z)``.

    Entry by entry, z_{n,i} = b_i + Σ_j x_{n,j} W_{j,i}: W_{j,i} joins input j to unit i,
    the w_{j,i} of note 000. That (in, out) layout is Keras's ``kernel``; torch's
    ``nn.Linear.weight`` stores the transpose, (out, in), and computes ``x Aᵀ + b``.

    Backward, given g = dL/dy: δ = dL/dz = φ'(z) ⊙ g (a vector-Jacobian product for
    softmax), then dL/dW = xᵀ δ, dL/db = Σ_n δ_n and dL/dx = δ Wᵀ.

    Shape:
        x: (N, in_features); y, z, g: (N, out_features);
        W: (in_features, out_features); b: (out_features,).

    Args:
        in_features, out_features: widths of the input and of the layer.
        activation: a name from ``reference.activations`` or an ``Activation``.
        dtype: float64 (default, NumPy's) or float32; float inputs must match it, integer
            inputs are converted to it (``reference._validation`` states the policy).
        seed: seeds the Glorot-uniform kernel (Keras's default, zero bias).
            ``Sequential(..., seed=...)`` re-draws all layers from one generator.
        name: used in error messages.
    """

    def __init__(self, in_features: int, out_features: int,
                 activation: str | Activation = "identity", *,
                 dtype: object = np.float64, seed: int | None = None,
                 name: str | None = None) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Dense: widths must be positive, got ({in_features}, {out_features})")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = get(activation)
        self.name = name or f"Dense({in_features}, {out_features}, {self.activation.name})"
        self.dtype = as_dtype(dtype, self.name)
        self.initialize(np.random.default_rng(seed))
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw W Glorot-uniform and set b to zero, as ``keras.layers.Dense`` does."""
        shape = (self.in_features, self.out_features)
        self._W = initializers.glorot_uniform(shape, rng, self.dtype)
        self._b = initializers.zeros((self.out_features,), dtype=self.dtype)

    @property
    def W(self) -> np.ndarray:
        """The kernel, shape (in_features, out_features)."""
        return self._W

    @W.setter
    def W(self, value: np.ndarray) -> None:
        value = as_float_array(value, self.dtype, self.name, "W")
        check_shape(self.name, "W", value.shape, (self.in_features, self.out_features))
        self._W = value.copy()

    @property
    def b(self) -> np.ndarray:
        """The bias, shape (out_features,)."""
        return self._b

    @b.setter
    def b(self, value: np.ndarray) -> None:
        value = as_float_array(value, self.dtype, self.name, "b")
        check_shape(self.name, "b", value.shape, (self.out_features,))
        self._b = value.copy()

    @property
    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, b)."""
        return self._W, self._b

    @property
    def grads(self) -> tuple[np.ndarray, np.ndarray]:
        """(dL/dW, dL/db) from the last :meth:`backward`."""
        if self.dW is None or self.db is None:
            raise RuntimeError(f"{self.name}: call backward() before reading grads")
        return self.dW, self.db

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = φ(x W + b); remembers x and z for :meth:`backward`.

        x must be (N, in_features) in the layer's dtype; an integer x (the notes' XOR
        data) is converted to that dtype first.
        """
        x = as_float_array(x, self.dtype, self.name, "input x")
        check_batch(self.name, "input x", x.shape, self.in_features)
        z = x @ self._W
        z += self._b  # in place: no second (N, out) temporary
        self._x, self._z = x, z
        return self.activation(z)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """Given g = dL/dy, store dL/dW and dL/db and return dL/dx.

        ``input_gradient=False`` skips dL/dx = δ Wᵀ, as costly as dL/dW, and returns None:
        a training step never needs the gradient of its data (torch skips it too, for an
        input that does not require grad).
        """
        if self._x is None or self._z is None:
            raise RuntimeError(f"{self.name}: call forward() before backward()")
        g = as_float_array(grad_output, self.dtype, self.name, "grad_output")
        check_shape(self.name, "grad_output", g.shape, self._z.shape)
        delta = self.activation.vjp(self._z, g)
        if len(delta) != 1:
            self.dW = self._x.T @ delta  # BLAS reads xᵀ as x with a flag: no transposed copy
        else:  # one sample: an outer product, which matmul leaves to a slow non-BLAS loop
            self.dW = self._x.T * delta
        self.db = np.sum(delta, axis=0)
        return delta @ self._W.T if input_gradient else None

    def __repr__(self) -> str:
        return (f"Dense({self.in_features}, {self.out_features}, "
                f"activation={self.activation.name!r}, dtype={self.dtype.name})")
