"""Sequences: Embedding, the recurrent layers (SimpleRNN, LSTM, GRU), with backpropagation
through time written out step by step, Bidirectional around them, and attention (scaled
dot-product, multi-head).

Layout, for the whole module: batch first, x of shape (N, T, features), as Keras has it.
torch's recurrent modules default to time first, (T, N, features), unless
``batch_first=True``; the torch mirror always passes it.

Weights: the Keras layout. A recurrent layer with k gate blocks (SimpleRNN 1, GRU 3,
LSTM 4) and H units keeps a kernel ``W`` (in, k·H) applied to the input, a recurrent
kernel ``U`` (H, k·H) applied to the previous state, and a bias ``b``; column block j of
W, U and b belongs to gate j. torch stores the transposes, ``weight_ih_l0 = Wᵀ`` and
``weight_hh_l0 = Uᵀ``, and two biases, ``bias_ih_l0`` and ``bias_hh_l0``, that are only
ever added (except in the GRU's candidate, see :class:`GRU`). ``reference.layouts``
holds these rules as data.

Backpropagation through time (BPTT). Unrolled over T steps, a recurrent layer is a deep
network of T copies of one cell that share W, U and b. Backward walks the steps from the
last to the first. At step t the gradient reaching the state h_t is

    dL/dh_t = g_t + (dL/dz_{t+1}) Uᵀ,

the upstream gradient of that step's output (g_t; zero for every step but the last when
only the last step is returned) plus what flows back from step t+1 through the
recurrence. From it the cell's own derivatives give dL/dz_t, the gradient of the step's
pre-activations; then, because the weights are shared, their gradients are sums over
the steps, done as one matrix product each after the loop:

    dL/dW = Σ_t x_tᵀ dL/dz_t,   dL/dU = Σ_t h_{t−1}ᵀ dL/dz_t,   dL/db = Σ_t Σ_n dL/dz_t,
    dL/dx_t = dL/dz_t Wᵀ.

The fast path. Inside, the layers keep their per-step arrays time first, (T, N, ·), while
their inputs and outputs stay batch first: x_t W + b for all steps is then one (T·N, D) ×
(D, kH) product before the loop, and each step's rows, ``xw[t]``, one contiguous block
into which the loop adds its one small product h_{t−1} U in place; gates and states are
written (``out=``) into arrays made once. Backward fills dL/dz for every step into one
(T, N, kH) array, and the sums above, and dL/dx, are products over all steps after it.
The LSTM's loop goes one step further and keeps step t feature-major, z_tᵀ = Uᵀ h_{t−1}ᵀ
+ … of shape (4H, N), so that each of its four gate blocks is one contiguous (H, N)
array for the dozen elementwise calls per step; its Wᵀ x_tᵀ + bᵀ for all steps is one
batched product, (T, 4H, N) directly.

The factor Uᵀ, times the activation's derivative (≤ 1 for tanh, ≤ 1/4 for sigmoid), is
applied once per step going back, so dL/dh_0 shrinks geometrically with T when those
factors are small: the vanishing gradient (``reference/tests/test_sequences.py``
measures it). The LSTM's cell state c_t carries a second path, dL/dc_{t−1} = dL/dc_t ⊙ f_t,
multiplied only by the forget gate, which is how it keeps gradients alive longer.

Masks: a (N, T) boolean ``mask`` (False: padding; integers 0 and 1 are read as booleans,
anything else is refused: ``reference._validation.as_mask``) makes a step carry the states over
unchanged, h_t = h_{t−1} (and c_t = c_{t−1}), as Keras does with the mask of an
``Embedding(mask_zero=True)``; in a Sequential the Embedding's ``output_mask`` reaches
the recurrent layer after it. Backward, a masked step passes dL/dh_t straight to h_{t−1}.

Initial and final states: set ``initial_state`` on a layer (a tuple of (N, H) arrays:
(h₀,) or, for the LSTM, (h₀, c₀)) before ``forward``; ``None`` means zeros. After
``forward``, ``final_state`` holds the last step's states; after ``backward``,
``initial_state_gradients`` holds dL/d(initial state).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from reference import initializers
from reference._validation import (
    as_array,
    as_flag,
    as_float_array,
    as_index_array,
    as_mask,
    as_seed,
    check_array_within,
    check_memory,
    check_shape,
    type_name,
)
from reference.layers import LAYERS, Dense, Layer


def _positive(where: str, what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive integer, got {value!r}")
    return int(value)


class Embedding(Layer):
    r"""A lookup table: y_{n,t} = E[x_{n,t}], row x_{n,t} of the table E.

    Equivalent to a one-hot vector times E (onehot(k) E = E[k]) without building the
    one-hot vectors. Backward: row k of dL/dE is the sum of the upstream gradients of
    every position that looked k up (a scatter-add, ``np.add.at``); the input, integer
    indices, has no gradient (``backward`` returns None).

    Keras's ``Embedding`` (``embeddings``, drawn U(−0.05, 0.05)) and torch's
    ``nn.Embedding`` (``weight``, drawn N(0, 1)) hold the same (V, D) table. Padding
    differs: Keras ``mask_zero=True`` keeps row 0 an ordinary trainable row and passes
    a mask (x ≠ 0) to the layers after it; torch ``padding_idx=0`` leaves the lookup
    alone but never updates that row (its gradient is zero) and passes no mask. The
    spec's ``padding_idx`` is torch's; its ``mask_zero`` is Keras's (``output_mask``).

    Shape:
        x: (N, T) integer indices in [0, V − 1] → y: (N, T, D); E: (V, D).

    Args:
        input_dim: V, the vocabulary size; output_dim: D, the embedding width.
        mask_zero: index 0 is padding: ``output_mask`` (x ≠ 0) is set by ``forward``
            for the layers after it (Keras's convention).
        padding_idx: this row starts at zeros and its gradient is zero (torch's
            convention).
    """

    input_ndim = 2
    input_kind = "indices"
    any_length = True  # (T,) → (T, D), any T
    parameter_names = ("embeddings",)

    def __init__(self, input_dim: int, output_dim: int, *, mask_zero: bool = False,
                 padding_idx: int | None = None, dtype: object = np.float64,
                 seed: int | None = None, name: str | None = None) -> None:
        self.input_dim = _positive("Embedding", "input_dim", input_dim)
        self.output_dim = _positive("Embedding", "output_dim", output_dim)
        if padding_idx is not None and (isinstance(padding_idx, bool) or not isinstance(
                padding_idx, int | np.integer) or not 0 <= padding_idx < input_dim):
            raise ValueError(f"Embedding: padding_idx must be None or an integer in "
                             f"[0, {input_dim - 1}], got {padding_idx!r}")
        self.mask_zero = as_flag("Embedding", "mask_zero", mask_zero)
        self.padding_idx = None if padding_idx is None else int(padding_idx)
        super().__init__(dtype=dtype, name=name,
                         default_name=f"Embedding({input_dim}, {output_dim})")
        self.initialize(as_seed("Embedding", seed))
        self.output_mask: np.ndarray | None = None
        self._x: np.ndarray | None = None

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw E from U(−0.05, 0.05), as ``keras.layers.Embedding`` does; the
        ``padding_idx`` row starts at zeros, as in torch's ``nn.Embedding``."""
        shape = (self.input_dim, self.output_dim)
        self._values["embeddings"] = rng.uniform(-0.05, 0.05, shape).astype(self.dtype)
        if self.padding_idx is not None:
            self._values["embeddings"][self.padding_idx] = 0.0

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 1:
            raise ValueError(f"{self.name}: takes (N, T) indices, got per-sample shape "
                             f"{tuple(input_shape)}")
        return (*input_shape, self.output_dim)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = as_index_array(x, self.name, "input x")
        check_shape(self.name, "input x", x.shape, (None, None))
        check_array_within(self.name, "input x (indices)", x, 0, self.input_dim - 1)
        self._x = x
        self.output_mask = x != 0 if self.mask_zero else None
        return self._values["embeddings"][x]

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._x is None:
            raise self._no_forward()
        g = self._upstream(grad_output, (*self._x.shape, self.output_dim))
        # dL/dE[v] = Σ of g over the positions that hold index v. np.add.at(dE, x, g) says
        # it in one call but adds row by row; sorting the positions by index and summing
        # each run (np.add.reduceat) is 2-3x faster, in the same order of additions.
        ids = self._x.reshape(-1)
        order = np.argsort(ids, kind="stable")
        rows, starts = np.unique(ids[order], return_index=True)
        dE = np.zeros_like(self._values["embeddings"])
        dE[rows] = np.add.reduceat(g.reshape(-1, self.output_dim)[order], starts)
        if self.padding_idx is not None:
            dE[self.padding_idx] = 0.0  # torch's padding_idx: that row never learns
        self._gradients = {"embeddings": dE}
        return None  # indices have no gradient

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        return {"embeddings": [config["input_dim"], config["output_dim"]]}

    def config(self) -> dict[str, Any]:
        return {"input_dim": self.input_dim, "output_dim": self.output_dim,
                "mask_zero": self.mask_zero, "padding_idx": self.padding_idx,
                **super().config()}


def _sigmoid(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{−z}) into ``out``, four in-place NumPy passes.

    Faster than ``scipy.special.expit`` in float32 (NumPy's e^x is vectorised; about 10
    against 20 µs on a (32, 128) array), as fast in float64. For very negative z, e^{−z}
    overflows to inf and σ is 0, exactly: call it inside ``np.errstate(over="ignore")``.
    """
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


class _Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: weights, states, the loop's bookends."""

    input_ndim = 3
    takes_mask = True
    any_length = True  # the loop runs over however many steps come
    parameter_names = ("W", "U", "b")
    blocks: ClassVar[int]  # gate blocks in W's and U's columns
    state_count: ClassVar[int] = 1  # h (the LSTM adds c)

    def __init__(self, in_features: int, units: int, *, return_sequences: bool = False,
                 dtype: object = np.float64, seed: int | None = None,
                 name: str | None = None) -> None:
        kind = type(self).__name__
        self.in_features = _positive(kind, "in_features", in_features)
        self.units = _positive(kind, "units", units)
        self.return_sequences = as_flag(kind, "return_sequences", return_sequences)
        super().__init__(dtype=dtype, name=name, default_name=f"{kind}({in_features}, {units})")
        self.initialize(as_seed(kind, seed))
        self.initial_state: tuple[np.ndarray, ...] | None = None
        self.final_state: tuple[np.ndarray, ...] | None = None
        self.initial_state_gradients: tuple[np.ndarray, ...] | None = None
        self.mask: np.ndarray | None = None
        self._cache: dict[str, Any] | None = None

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        units, columns = config["units"], cls.blocks * config["units"]
        bias = [2, columns] if config.get("reset_after") else [columns]  # GRU's two rows
        return {"W": [config["in_features"], columns], "U": [units, columns], "b": bias}

    def initialize(self, rng: np.random.Generator) -> None:
        """Keras's defaults: Glorot-uniform W, orthogonal U, zero b (LSTM: forget 1)."""
        H, k = self.units, self.blocks
        self._values["W"] = initializers.glorot_uniform((self.in_features, k * H), rng,
                                                        self.dtype)
        q, r = np.linalg.qr(rng.standard_normal((k * H, H)))
        self._values["U"] = np.ascontiguousarray((q * np.sign(np.diag(r))).T, self.dtype)
        self._values["b"] = self._initial_bias()

    def _initial_bias(self) -> np.ndarray:
        return np.zeros(self.blocks * self.units, self.dtype)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 2 or input_shape[1] != self.in_features:
            raise ValueError(f"{self.name}: takes per-sample shape (T, {self.in_features}), "
                             f"got {tuple(input_shape)}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    # -- the loop's bookends -------------------------------------------------------------

    def _sequence(self, x: np.ndarray) -> np.ndarray:
        x = self._input(x)
        check_shape(self.name, "input x", x.shape, (None, None, self.in_features))
        if 0 in x.shape[:2]:  # NumPy's reshape of an empty batch would name nothing
            raise ValueError(f"{self.name}: needs at least one sequence of at least one step, "
                             f"got shape {x.shape}")
        return x

    def _initial(self, n: int) -> tuple[np.ndarray, ...]:
        if self.initial_state is None:
            return tuple(np.zeros((n, self.units), self.dtype)
                         for _ in range(self.state_count))
        if len(self.initial_state) != self.state_count:
            raise ValueError(f"{self.name}: initial_state must hold {self.state_count} "
                             f"array(s), got {len(self.initial_state)}")
        states = tuple(as_float_array(s, self.dtype, self.name, "initial_state")
                       for s in self.initial_state)
        for s in states:
            check_shape(self.name, "initial_state", s.shape, (n, self.units))
        return states

    def _step_mask(self, n: int, t: int) -> np.ndarray | None:
        """The mask time first, (T, N, 1), so that step t's rows are ``mask[t]``."""
        if self.mask is None:
            return None
        return np.ascontiguousarray(as_mask(self.name, "mask", self.mask, (n, t)).T[..., None])

    def _projection(self, x: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x time first, xs (T, N, D), and x_t W + bias for every step, (T, N, kH).

        One (T·N, D) × (D, kH) product before the loop instead of T small ones inside it;
        time first so that each step's rows, ``xw[t]``, are one contiguous block.
        """
        xs = np.ascontiguousarray(x.transpose(1, 0, 2))
        xw = (xs.reshape(-1, self.in_features) @ self._values["W"]).reshape(*xs.shape[:2], -1)
        xw += bias
        return xs, xw

    def _output(self, hs: np.ndarray) -> np.ndarray:
        """hs (T + 1, N, H), h_0 first, back to batch first: (N, T, H) or the last (N, H)."""
        if self.return_sequences:
            return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
        return hs[-1].copy()

    def _upstream_steps(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dh_t from above for every step, time first (T, N, H): g itself, or g at the
        last step only."""
        t, n = self._cache["xs"].shape[:2]
        if self.return_sequences:
            g = self._upstream(grad_output, (n, t, self.units))
            return g.transpose(1, 0, 2).copy()  # a copy even where N or T is 1: backward
            # accumulates in it, and grad_output is the caller's
        g = self._upstream(grad_output, (n, self.units))
        steps = np.zeros((t, n, self.units), self.dtype)
        steps[-1] = g
        return steps

    def _weight_gradients(self, dX: np.ndarray, h_prev: np.ndarray, dR: np.ndarray,
                          input_gradient: bool) -> np.ndarray | None:
        """The sums over steps, one matrix product each: dL/dW = Σ_t x_tᵀ dz_t, …

        dX, h_prev, dR time first, (T, N, ·); returns dL/dx batch first, (N, T, D).
        """
        xs = self._cache["xs"]
        k = dX.shape[-1]
        dX2 = dX.reshape(-1, k)
        dW = xs.reshape(-1, self.in_features).T @ dX2
        dU = h_prev.reshape(-1, self.units).T @ dR.reshape(-1, dR.shape[-1])
        self._gradients = {"W": dW, "U": dU, "b": self._bias_gradient(dX, dR)}
        if not input_gradient:
            return None
        dx = (dX2 @ self._values["W"].T).reshape(xs.shape)
        return np.ascontiguousarray(dx.transpose(1, 0, 2))

    def _bias_gradient(self, dX: np.ndarray, dR: np.ndarray) -> np.ndarray:
        return dX.sum(axis=(0, 1))

    def config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "units": self.units,
                "return_sequences": self.return_sequences, **super().config()}


class SimpleRNN(_Recurrent):
    r"""The plain recurrent layer: h_t = tanh(x_t W + h_{t−1} U + b), h_0 = 0.

    Backward through time, a_t = x_t W + h_{t−1} U + b: dL/da_t = dL/dh_t ⊙ (1 − h_t²)
    and dL/dh_{t−1} = g_{t−1} + dL/da_t Uᵀ (the module docstring has the sums).

    torch's ``nn.RNN`` computes the same with ``weight_ih_l0 = Wᵀ``, ``weight_hh_l0 =
    Uᵀ`` and b split as ``bias_ih_l0 + bias_hh_l0``; Keras's ``SimpleRNN`` has W, U, b as
    ``kernel``, ``recurrent_kernel``, ``bias``.

    Shape:
        x: (N, T, in_features) → y: (N, T, H) with ``return_sequences``, else (N, H) (the
        last step); W: (in_features, H); U: (H, H); b: (H,).
    """

    blocks = 1

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._sequence(x)
        n, steps, _ = x.shape
        mask = self._step_mask(n, steps)
        xs, a = self._projection(x, self._values["b"])  # x_t W + b; h_{t−1} U joins in the loop
        U = self._values["U"]
        hs = np.empty((steps + 1, n, self.units), self.dtype)  # hs[t + 1] = h_t, time first
        hs[0] = self._initial(n)[0]
        for t in range(steps):
            a[t] += hs[t] @ U
            np.tanh(a[t], out=hs[t + 1])
            if mask is not None:  # a masked step carries h over unchanged
                np.copyto(hs[t + 1], hs[t], where=~mask[t])
        self._cache = {"xs": xs, "hs": hs, "mask": mask}
        self.final_state = (hs[-1].copy(),)
        return self._output(hs)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._cache is None:
            raise self._no_forward()
        hs, mask = self._cache["hs"], self._cache["mask"]
        g = self._upstream_steps(grad_output)  # (T, N, H), our own copy: dh accumulates in it
        U_T = self._values["U"].T
        tanh_prime = 1.0 - hs[1:] ** 2  # for every step at once; a masked step's is 0
        if mask is not None:
            tanh_prime *= mask
        da = np.empty_like(g)
        dh_next = np.zeros_like(g[0])
        for t in reversed(range(g.shape[0])):
            dh = g[t]
            dh += dh_next  # from this step's output, and back from step t + 1
            np.multiply(dh, tanh_prime[t], out=da[t])
            dh_next = da[t] @ U_T
            if mask is not None:  # a masked step passes dh through
                dh_next += dh * ~mask[t]
        self.initial_state_gradients = (dh_next,)
        return self._weight_gradients(da, hs[:-1], da, input_gradient)


class LSTM(_Recurrent):
    r"""Long short-term memory, gates in the order (i, f, c̃, o) in both frameworks:

        z_t = x_t W + h_{t−1} U + b,  split into four blocks of H columns,
        i_t = σ(z_i),  f_t = σ(z_f),  c̃_t = tanh(z_c),  o_t = σ(z_o),
        c_t = f_t ⊙ c_{t−1} + i_t ⊙ c̃_t,   h_t = o_t ⊙ tanh(c_t),   h_0 = c_0 = 0.

    Backward through time, with dh = dL/dh_t (this step's upstream plus dL/dz_{t+1} Uᵀ)
    and dc = dL/dc_t = dh ⊙ o_t ⊙ (1 − tanh²c_t) + dL/dc_{t+1} ⊙ f_{t+1}:

        dz_i = dc ⊙ c̃_t ⊙ i_t(1 − i_t),   dz_f = dc ⊙ c_{t−1} ⊙ f_t(1 − f_t),
        dz_c = dc ⊙ i_t ⊙ (1 − c̃_t²),    dz_o = dh ⊙ tanh(c_t) ⊙ o_t(1 − o_t).

    torch's ``nn.LSTM`` (gates i, f, g, o: the same order) stores ``weight_ih_l0 = Wᵀ``
    (4H, in), ``weight_hh_l0 = Uᵀ`` (4H, H) and two biases whose sum is b; Keras's
    ``LSTM`` keeps W, U, b as ``cell.kernel``, ``cell.recurrent_kernel``, ``cell.bias``,
    with ``unit_forget_bias=True``: the forget block of b starts at 1 (the spec's too).

    Shape:
        x: (N, T, in_features) → y: (N, T, H) with ``return_sequences``, else (N, H);
        W: (in_features, 4H); U: (H, 4H); b: (4H,); states h, c: (N, H).
    """

    blocks = 4
    state_count = 2

    def _initial_bias(self) -> np.ndarray:
        b = np.zeros(4 * self.units, self.dtype)
        b[self.units:2 * self.units] = 1.0  # Keras's unit_forget_bias
        return b

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._sequence(x)
        n, steps, _ = x.shape
        H, mask = self.units, self._step_mask(n, steps)
        # Feature-major in the loop: step t's z, gates and states are (4H, N) and (H, N)
        # (z_tᵀ = Wᵀ x_tᵀ + Uᵀ h_{t−1}ᵀ + bᵀ), so each gate's block is one contiguous slab;
        # batch-major, a block's rows lie 4H apart and every elementwise call walks them row
        # by row. Wᵀ x_tᵀ + bᵀ for all steps before the loop, one batched product (x_tᵀ a
        # transposed view, which BLAS reads with a flag); h_{t−1} U joins in the loop.
        xs = np.ascontiguousarray(x.transpose(1, 0, 2))  # (T, N, D), for dL/dW and dL/dx
        z = np.matmul(self._values["W"].T, xs.transpose(0, 2, 1))  # (T, 4H, N)
        z += self._values["b"][:, None]
        U_T = np.ascontiguousarray(self._values["U"].T)
        hs = np.empty((steps + 1, H, n), self.dtype)  # hs[t + 1] = h_tᵀ; cs likewise
        cs = np.empty_like(hs)
        hs[0], cs[0] = (s.T for s in self._initial(n))
        gates = np.empty((steps, 4 * H, n), self.dtype)  # i, f, c̃, o after their activations
        tanh_c = np.empty((steps, H, n), self.dtype)
        i_c_hat = np.empty((H, n), self.dtype)
        keep = None if mask is None else ~mask.transpose(0, 2, 1)  # (T, 1, N): carry over
        with np.errstate(over="ignore"):  # σ's e^{−z} is inf for very negative z: σ = 0
            for t in range(steps):
                z[t] += U_T @ hs[t]
                a = gates[t]
                _sigmoid(z[t], out=a)  # σ on all four blocks (one pass), then tanh on c̃'s
                np.tanh(z[t, 2 * H:3 * H], out=a[2 * H:3 * H])
                i, f, c_hat, o = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
                c = np.multiply(f, cs[t], out=cs[t + 1])  # written in place: c_t, then h_t
                c += np.multiply(i, c_hat, out=i_c_hat)
                np.multiply(o, np.tanh(c, out=tanh_c[t]), out=hs[t + 1])
                if keep is not None:  # a masked step carries both states over unchanged
                    np.copyto(hs[t + 1], hs[t], where=keep[t])
                    np.copyto(cs[t + 1], cs[t], where=keep[t])
        self._cache = {"xs": xs, "hs": hs, "cs": cs, "gates": gates, "tanh_c": tanh_c,
                       "mask": mask}
        self.final_state = (hs[-1].T.copy(), cs[-1].T.copy())
        return self._output(hs.transpose(0, 2, 1))

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._cache is None:
            raise self._no_forward()
        cache, H = self._cache, self.units
        cs, gates, tanh_c, mask = cache["cs"], cache["gates"], cache["tanh_c"], cache["mask"]
        # feature-major, as in forward: (T, H, N), our own copy (dh accumulates in it)
        g = np.ascontiguousarray(self._upstream_steps(grad_output).transpose(0, 2, 1))
        steps, _, n = g.shape
        i, f, c_hat, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
        # What does not depend on the recurrence, for every step at once: the factors that
        # turn dc (for i, f, c̃) and dh (for o) into the gates' pre-activation gradients,
        # dz_i = dc ⊙ c̃ i(1 − i), dz_f = dc ⊙ c_{t−1} f(1 − f), dz_c = dc ⊙ i(1 − c̃²),
        # dz_o = dh ⊙ tanh(c_t) o(1 − o), and dL/dc_t's share of dh, o(1 − tanh²c_t).
        factors = np.concatenate([c_hat * i * (1.0 - i), cs[:-1] * f * (1.0 - f),
                                  i * (1.0 - c_hat**2), tanh_c * o * (1.0 - o)], axis=1)
        dc_from_dh = o * (1.0 - tanh_c**2)
        f_next = f
        if mask is not None:  # a masked step: no gradient reaches its gates, and dh, dc
            step_mask = mask.transpose(0, 2, 1)  # (T, 1, N); pass straight to step t − 1
            factors *= step_mask
            dc_from_dh *= step_mask
            f_next = np.where(step_mask, f, 1.0)
        U = self._values["U"]  # dL/dh_{t−1}ᵀ = U dz_tᵀ, (H, 4H) × (4H, N)
        dz = np.empty((steps, 4 * H, n), self.dtype)
        dz_from_dc, factors_dc = (a[:, :3 * H].reshape(steps, 3, H, n) for a in (dz, factors))
        dc, dc_next = np.empty_like(g[0]), np.zeros_like(g[0])
        dh_next = np.zeros_like(g[0])
        for t in reversed(range(steps)):
            dh = g[t]
            dh += dh_next  # this step's output, and back from step t + 1
            np.multiply(dh, dc_from_dh[t], out=dc)
            dc += dc_next  # dL/dc_t; a masked step's is dL/dc_{t+1}, passed on
            np.multiply(factors_dc[t], dc, out=dz_from_dc[t])  # dz_i, dz_f, dz_c
            np.multiply(factors[t, 3 * H:], dh, out=dz[t, 3 * H:])  # dz_o
            dh_next = U @ dz[t]
            if mask is not None:
                dh_next += dh * ~step_mask[t]
            np.multiply(dc, f_next[t], out=dc_next)
        self.initial_state_gradients = (dh_next.T.copy(), dc_next.T.copy())
        dz = np.ascontiguousarray(dz.transpose(0, 2, 1))  # batch-major for the sums
        h_prev = cache["hs"][:-1].transpose(0, 2, 1)
        return self._weight_gradients(dz, h_prev, dz, input_gradient)


class GRU(_Recurrent):
    r"""Gated recurrent unit, Keras's gate order (z, r, h̃) in W's, U's and b's blocks:

        z_t = σ(x_t W_z + h_{t−1} U_z + b_z),   r_t = σ(x_t W_r + h_{t−1} U_r + b_r),
        reset_after=True (Keras's default, torch's formula):
            h̃_t = tanh(x_t W_h + b⁽ⁱ⁾_h + r_t ⊙ (h_{t−1} U_h + b⁽ʳ⁾_h)),
        reset_after=False (the original GRU; no torch equivalent):
            h̃_t = tanh(x_t W_h + (r_t ⊙ h_{t−1}) U_h + b_h),
        h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ h̃_t.

    With ``reset_after=True`` the bias is (2, 3H): row 0 is added to the input's part and
    row 1 to the recurrent part, because the reset gate multiplies the latter alone; that
    is exactly torch's (``bias_ih_l0``, ``bias_hh_l0``). torch's ``nn.GRU`` orders the
    blocks (r, z, n) instead, so converting swaps the first two blocks of every array.

    Backward through time, dh = dL/dh_t, a_h the argument of tanh:
    da_h = dh ⊙ (1 − z) ⊙ (1 − h̃²), dz_z = dh ⊙ (h_{t−1} − h̃) ⊙ z(1 − z), and the reset
    gate's dz_r = (da_h ⊙ (h_{t−1}U_h + b⁽ʳ⁾_h)) ⊙ r(1 − r) (reset_after=True) or
    (da_h U_hᵀ ⊙ h_{t−1}) ⊙ r(1 − r) (reset_after=False); dL/dh_{t−1} collects dh ⊙ z and
    every recurrent product's transpose.

    Shape:
        x: (N, T, in_features) → y: (N, T, H) or (N, H); W: (in_features, 3H);
        U: (H, 3H); b: (2, 3H) with ``reset_after=True``, else (3H,).
    """

    blocks = 3

    def __init__(self, in_features: int, units: int, *, reset_after: bool = True,
                 return_sequences: bool = False, dtype: object = np.float64,
                 seed: int | None = None, name: str | None = None) -> None:
        self.reset_after = as_flag("GRU", "reset_after", reset_after)
        super().__init__(in_features, units, return_sequences=return_sequences, dtype=dtype,
                         seed=seed, name=name)

    def _initial_bias(self) -> np.ndarray:
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return np.zeros(shape, self.dtype)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._sequence(x)
        n, steps, _ = x.shape
        H, mask = self.units, self._step_mask(n, steps)
        U, b = self._values["U"], self._values["b"]
        xs, a_in = self._projection(x, b[0] if self.reset_after else b)  # the loop adds h U
        hs = np.empty((steps + 1, n, H), self.dtype)  # hs[t + 1] = h_t, time first
        hs[0] = self._initial(n)[0]
        gates = np.empty((steps, n, 3 * H), self.dtype)  # z, r, h̃ after their activations
        hu = np.empty((steps, n, 3 * H), self.dtype)  # h_{t−1} U + b⁽ʳ⁾ (reset_after=True)
        with np.errstate(over="ignore"):  # σ's e^{−z} is inf for very negative z: σ = 0
            for t in range(steps):
                h_prev, a, pre = hs[t], gates[t], a_in[t]
                if self.reset_after:
                    np.matmul(h_prev, U, out=hu[t])
                    hu[t] += b[1]
                    pre[:, :2 * H] += hu[t, :, :2 * H]
                    _sigmoid(pre[:, :2 * H], out=a[:, :2 * H])
                    pre[:, 2 * H:] += a[:, H:2 * H] * hu[t, :, 2 * H:]
                else:
                    pre[:, :2 * H] += h_prev @ U[:, :2 * H]
                    _sigmoid(pre[:, :2 * H], out=a[:, :2 * H])
                    pre[:, 2 * H:] += (a[:, H:2 * H] * h_prev) @ U[:, 2 * H:]
                np.tanh(pre[:, 2 * H:], out=a[:, 2 * H:])
                z, h_hat = a[:, :H], a[:, 2 * H:]
                h = np.subtract(h_prev, h_hat, out=hs[t + 1])  # z ⊙ h_{t−1} + (1 − z) ⊙ h̃
                h *= z
                h += h_hat
                if mask is not None:  # a masked step carries h over unchanged
                    np.copyto(h, h_prev, where=~mask[t])
        self._cache = {"xs": xs, "hs": hs, "gates": gates, "mask": mask,
                       "inner": hu[..., 2 * H:] if self.reset_after else hs[:-1]}
        self.final_state = (hs[-1].copy(),)
        return self._output(hs)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._cache is None:
            raise self._no_forward()
        cache, H = self._cache, self.units
        hs, gates, inner, mask = cache["hs"], cache["gates"], cache["inner"], cache["mask"]
        g = self._upstream_steps(grad_output)  # (T, N, H), our own copy: dh accumulates in it
        U = self._values["U"]
        z, r, h_hat = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
        # For every step at once: da_h = dh ⊙ (1 − z)(1 − h̃²), dz_z = dh ⊙ (h_{t−1} − h̃)
        # z(1 − z), dz_r = (what r multiplied) ⊙ r(1 − r) times da_h (or da_h U_hᵀ), and
        # dh's share that goes straight to h_{t−1}, z (1 on a masked step).
        h_factor = (1.0 - z) * (1.0 - h_hat**2)
        z_factor = (hs[:-1] - h_hat) * z * (1.0 - z)
        r_factor = inner * r * (1.0 - r)
        through = z
        if mask is not None:  # a masked step: no gradient reaches its gates
            h_factor *= mask
            z_factor *= mask
            through = np.where(mask, z, 1.0)
        dX = np.empty_like(gates)  # dL/d(input part x_t W + b⁽ⁱ⁾) per step
        dR = np.empty_like(gates)  # dL/d(recurrent part h_{t−1} U + b⁽ʳ⁾) (reset_after=True)
        U_T, U_zr_T, U_h_T = U.T, U[:, :2 * H].T, U[:, 2 * H:].T
        dh_next = np.zeros_like(g[0])
        for t in reversed(range(g.shape[0])):
            dh = g[t]
            dh += dh_next
            d = dX[t]
            np.multiply(dh, h_factor[t], out=d[:, 2 * H:])
            np.multiply(dh, z_factor[t], out=d[:, :H])
            if self.reset_after:
                np.multiply(d[:, 2 * H:], r_factor[t], out=d[:, H:2 * H])
                dR[t, :, :2 * H] = d[:, :2 * H]
                np.multiply(d[:, 2 * H:], r[t], out=dR[t, :, 2 * H:])
                dh_next = dR[t] @ U_T
            else:
                d_rh = d[:, 2 * H:] @ U_h_T  # dL/d(r ⊙ h_{t−1})
                np.multiply(d_rh, r_factor[t], out=d[:, H:2 * H])
                dh_next = d[:, :2 * H] @ U_zr_T
                dh_next += d_rh * r[t]
            dh_next += dh * through[t]
        self.initial_state_gradients = (dh_next,)
        if self.reset_after:
            return self._weight_gradients(dX, hs[:-1], dR, input_gradient)
        # reset_after=False: U_z and U_r multiply h_{t−1}, U_h multiplies r ⊙ h_{t−1}
        dx = self._weight_gradients(dX, hs[:-1], dX, input_gradient)
        rh = r * hs[:-1]
        self._gradients["U"][:, 2 * H:] = rh.reshape(-1, H).T @ dX[..., 2 * H:].reshape(-1, H)
        return dx

    def _bias_gradient(self, dX: np.ndarray, dR: np.ndarray) -> np.ndarray:
        if self.reset_after:
            return np.stack([dX.sum(axis=(0, 1)), dR.sum(axis=(0, 1))])
        return dX.sum(axis=(0, 1))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "reset_after": self.reset_after}


class TimeDistributed(Layer):
    r"""A Dense layer applied at every time step, with the same weights: y_{n,t} = f(x_{n,t}).

    Keras's ``Dense`` and torch's ``nn.Linear`` both act on the last axis of any input,
    so on a sequence they are already time-distributed; the spec's Dense takes (N, in)
    only (the input policy: no input is reshaped by accident), so a sequence model says
    it with this wrapper, as ``keras.layers.TimeDistributed`` does. Forward and backward
    fold time into the batch, (N, T, in) → (N·T, in), and call the Dense layer once.

    Shape:
        x: (N, T, in_features) → y: (N, T, out_features); W, b: the Dense layer's.
    """

    input_ndim = 3
    any_length = True  # the Dense acts at every step
    parameter_names = ("W", "b")

    def __init__(self, layer: Dense, *, name: str | None = None) -> None:
        if not isinstance(layer, Dense):
            raise TypeError(f"TimeDistributed: wraps a Dense layer, got {type(layer).__name__}")
        super().__init__(dtype=layer.dtype, name=name,
                         default_name=f"TimeDistributed({layer.name})")
        self.layer = layer
        self.parameter_names = layer.parameter_names  # no b where the Dense has no bias
        self._values = layer._values  # one set of weights, the Dense layer's
        self._shape: tuple[int, ...] | None = None

    def initialize(self, rng: np.random.Generator) -> None:
        self.layer.initialize(rng)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: takes per-sample shape (T, features), got "
                             f"{tuple(input_shape)}")
        return (input_shape[0], *self.layer.output_shape(input_shape[1:]))

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self._shape = x.shape
        y = self.layer.forward(x.reshape(-1, x.shape[-1]), training=training)
        return y.reshape(*x.shape[:-1], y.shape[-1])

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward()
        g = as_array(grad_output, self.name, "grad_output")
        dx = self.layer.backward(g.reshape(-1, g.shape[-1]), input_gradient=input_gradient)
        self._gradients = self.layer._gradients
        return None if dx is None else dx.reshape(self._shape)

    def config(self) -> dict[str, Any]:
        return {"layer": {"kind": "Dense", "config": self.layer.config()}}

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        from reference.layers import Dense
        return Dense.array_shapes(config["layer"]["config"])  # the wrapped layer's arrays

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        from reference.layers import from_config
        inner = config["layer"]
        return cls(from_config(inner["kind"], inner["config"]))


MERGE_MODES = ("concat", "sum", "mul", "ave")


class Bidirectional(Layer):
    r"""A recurrent layer run both ways over the sequence, its two outputs merged.

    The forward layer reads x_1 … x_T. The backward layer, a second layer of the same
    kind with weights of its own, reads x_T … x_1 (Keras's ``go_backwards=True``); with
    ``return_sequences`` its outputs are put back in time order, so step t of both
    belongs to x_t; without, each gives its final state: the forward layer's after x_T,
    the backward layer's after x_1. With y⃗ and y⃖ the two outputs:

        concat: [y⃗, y⃖] (forward features first),  sum: y⃗ + y⃖,  mul: y⃗ ⊙ y⃖,
        ave: (y⃗ + y⃖) / 2.

    Backward: the merge's derivative gives each direction its upstream gradient (concat:
    g's two halves; sum: g each; mul: g ⊙ y⃖ and g ⊙ y⃗; ave: g/2 each); each layer
    backpropagates through time on its own, the backward layer on g reversed in time as
    its input was, and dL/dx is the sum of the two layers' dL/dx (the backward one's
    reversed back).

    Masks (from an ``Embedding(mask_zero=True)`` below): each direction carries its states
    over the masked steps (the backward layer reads the mask reversed), and with
    ``return_sequences`` a masked step's output is 0 in both directions, as Keras's
    ``Bidirectional`` sets ``zero_output_for_mask`` on its two layers.

    Weights: ``forward_W``, ``forward_U``, ``forward_b``, then ``backward_W``,
    ``backward_U``, ``backward_b``, each in the wrapped kind's layout. Keras's
    ``Bidirectional.weights`` lists the forward layer's three (``forward_layer.cell``'s
    ``kernel``, ``recurrent_kernel``, ``bias``), then the backward layer's. torch's
    ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN(bidirectional=True, batch_first=True)`` is one
    module holding ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` for
    the forward direction and the same names ending in ``_reverse`` for the backward
    one, each converted as the one-direction kind's (transposed; LSTM gates (i, f, g, o)
    in torch, (i, f, c, o) in Keras, the same order; GRU (r, z, n) against (z, r, h)).
    Its per-step output is the concat merge; its last step's reverse half is the backward
    direction's first step, not its final state, which is at t = 0 (both finals are in
    ``h_n``).

    Shape:
        x: (N, T, D) → (N, T, 2H) (concat) or (N, T, H) with ``return_sequences``,
        else (N, 2H) or (N, H); each direction's W, U, b as its kind's.

    Args:
        layer: the forward direction, a SimpleRNN, LSTM or GRU.
        merge_mode: "concat", "sum", "mul" or "ave".
        backward_layer: the backward direction: the same kind with the same configuration
            (in_features, units, return_sequences, …). None: a copy of ``layer``'s
            configuration with weights of its own, drawn from ``seed``.
    """

    input_ndim = 3
    takes_mask = True
    any_length = True  # as its two recurrent layers
    parameter_names = ("forward_W", "forward_U", "forward_b",
                       "backward_W", "backward_U", "backward_b")

    def __init__(self, layer: _Recurrent, *, merge_mode: str = "concat",
                 backward_layer: _Recurrent | None = None, seed: int | None = None,
                 name: str | None = None) -> None:
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"Bidirectional: wraps a SimpleRNN, LSTM or GRU, got "
                            f"{type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, _Recurrent):
            raise TypeError(f"Bidirectional: backward_layer must be a {type(layer).__name__} "
                            f"or None (a copy of layer), got {type_name(backward_layer)} "
                            f"{backward_layer!r:.60}")
        if not isinstance(merge_mode, str) or merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {MERGE_MODES}, got "
                             f"{merge_mode!r}")
        kind = type(layer).__name__
        as_seed("Bidirectional", seed)  # checked here, to be named here; the copy draws
        super().__init__(dtype=layer.dtype, name=name, default_name=f"Bidirectional({layer.name})")
        if backward_layer is None:  # the copy's memory, as its own check counts it, by this name
            arrays = layer._values.values()
            check_memory(self.name, f"its backward layer, a copy of {layer.name}",
                         sum(a.nbytes for a in arrays) + max(a.size for a in arrays) * 8)
            backward_layer = type(layer)(**layer.config(), seed=seed)
        elif type(backward_layer) is not type(layer) or \
                backward_layer.config() != layer.config():
            raise ValueError(f"Bidirectional: backward_layer must be a {kind} configured as "
                             f"the forward layer ({layer.config()}), got "
                             f"{type(backward_layer).__name__} {backward_layer.config()}")
        self.forward_layer, self.backward_layer = layer, backward_layer
        self.merge_mode = merge_mode
        self.mask: np.ndarray | None = None
        self._outputs: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        self._gather()

    def _directions(self) -> tuple[tuple[str, _Recurrent], ...]:
        return ("forward", self.forward_layer), ("backward", self.backward_layer)

    def _gather(self) -> None:
        """This layer's arrays are the two layers' W, U, b, by prefixed name."""
        self._values = {f"{direction}_{part}": layer._values[part]
                        for direction, layer in self._directions() for part in ("W", "U", "b")}

    def _share(self) -> None:
        """Hand the two layers this layer's arrays (``set`` or an optimizer may have
        replaced them here)."""
        for direction, layer in self._directions():
            for part in ("W", "U", "b"):
                layer._values[part] = self._values[f"{direction}_{part}"]

    def initialize(self, rng: np.random.Generator) -> None:
        """The forward layer's draw, then the backward layer's, from one generator."""
        self.forward_layer.initialize(rng)
        self.backward_layer.initialize(rng)
        self._gather()

    @property
    def return_sequences(self) -> bool:
        return self.forward_layer.return_sequences

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = self.forward_layer.output_shape(input_shape)
        return (*shape[:-1], 2 * shape[-1]) if self.merge_mode == "concat" else shape

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        check_shape(self.name, "input x", x.shape, (None, None, self.forward_layer.in_features))
        if 0 in x.shape[:2]:  # refused here, by this layer's name, not its forward layer's
            raise ValueError(f"{self.name}: needs at least one sequence of at least one step, "
                             f"got shape {x.shape}")
        mask = None if self.mask is None else as_mask(self.name, "mask", self.mask,
                                                      x.shape[:2])
        self._share()
        self.forward_layer.mask = mask
        self.backward_layer.mask = None if mask is None else mask[:, ::-1]
        y_forward = self.forward_layer.forward(x, training=training)
        y_backward = self.backward_layer.forward(x[:, ::-1], training=training)
        keep = None
        if self.return_sequences:
            y_backward = y_backward[:, ::-1]  # back in time order: step t belongs to x_t
            if mask is not None:  # Keras's zero_output_for_mask: a masked step outputs 0
                keep = mask[..., None].astype(self.dtype)
                y_forward, y_backward = y_forward * keep, y_backward * keep
        self._outputs = (y_forward, y_backward, keep)
        if self.merge_mode == "concat":
            return np.concatenate([y_forward, y_backward], axis=-1)
        if self.merge_mode == "sum":
            return y_forward + y_backward
        if self.merge_mode == "mul":
            return y_forward * y_backward
        return (y_forward + y_backward) / 2.0

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._outputs is None:
            raise self._no_forward()
        y_forward, y_backward, keep = self._outputs
        shape = y_forward.shape
        g = self._upstream(grad_output, (*shape[:-1], 2 * shape[-1])
                           if self.merge_mode == "concat" else shape)
        if self.merge_mode == "concat":
            g_forward, g_backward = g[..., :shape[-1]], g[..., shape[-1]:]
        elif self.merge_mode == "sum":
            g_forward = g_backward = g
        elif self.merge_mode == "mul":
            g_forward, g_backward = g * y_backward, g * y_forward
        else:
            g_forward = g_backward = g / 2.0
        if keep is not None:
            g_forward, g_backward = g_forward * keep, g_backward * keep
        if self.return_sequences:
            g_backward = g_backward[:, ::-1]  # the backward layer's own time order
        dx_forward = self.forward_layer.backward(g_forward, input_gradient=input_gradient)
        dx_backward = self.backward_layer.backward(g_backward, input_gradient=input_gradient)
        self._gradients = {f"{direction}_{part}": gradient
                           for direction, layer in self._directions()
                           for part, gradient in layer._gradients.items()}
        return dx_forward + dx_backward[:, ::-1] if input_gradient else None

    def config(self) -> dict[str, Any]:
        return {"layer": {"kind": type(self.forward_layer).__name__,
                          "config": self.forward_layer.config()},
                "merge_mode": self.merge_mode}

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        """Each direction's W, U, b as the wrapped kind's, prefixed."""
        inner = LAYERS[config["layer"]["kind"]].array_shapes(config["layer"]["config"])
        return {f"{direction}_{part}": shape for direction in ("forward", "backward")
                for part, shape in inner.items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        from reference.layers import from_config
        inner = config["layer"]
        return cls(from_config(inner["kind"], inner["config"]),
                   merge_mode=config.get("merge_mode", "concat"))


# ── Attention ─────────────────────────────────────────────────────────────────────────


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                                 mask: np.ndarray | None = None
                                 ) -> tuple[np.ndarray, np.ndarray]:
    r"""Attention(Q, K, V) = softmax(Q Kᵀ / √d) V, and the weights softmax(Q Kᵀ / √d).

    Each query row takes a weighted mean of the value rows, weighted by how well it
    matches each key; dividing by √d (d: the key width) keeps the scores' spread near 1
    whatever d is, so the softmax does not saturate. ``mask`` (True: attend, Keras's and
    ``F.scaled_dot_product_attention``'s polarity; ``nn.MultiheadAttention``'s boolean
    ``attn_mask`` is the opposite) sets the blocked scores to −∞, weight 0. A query that
    may attend to nothing gets NaN here (0/0: the NaN policy); torch's
    ``F.scaled_dot_product_attention`` returns 0 there, and Keras, which puts −0.7·3.4e38
    in a blocked score instead of −∞, the mean of the values.

    Shape:
        q: (..., T, d); k: (..., S, d); v: (..., S, d_v); mask: broadcastable to
        (..., T, S) → output (..., T, d_v), weights (..., T, S).
    """
    where = "scaled_dot_product_attention"
    q = as_float_array(q, None, where, "q")
    k, v = as_float_array(k, q.dtype, where, "k"), as_float_array(v, q.dtype, where, "v")
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim or k.shape[:-2] != q.shape[:-2] \
            or k.shape[-1] != q.shape[-1] or v.shape[:-1] != k.shape[:-1]:
        raise ValueError(f"{where}: q (..., T, d), k (..., S, d) and v (..., S, d_v) must "
                         f"agree, got q {q.shape}, k {k.shape}, v {v.shape}")
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(as_mask("scaled_dot_product_attention", "mask", mask), scores, -np.inf)
    with np.errstate(invalid="ignore"):  # a fully blocked row: NaN, by the rule above
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights


def scaled_dot_product_attention_vjp(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                                     weights: np.ndarray, grad_output: np.ndarray
                                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""dL/dQ, dL/dK, dL/dV given g = dL/d(output) and the forward pass's weights A.

    dL/dV = Aᵀ g; dL/dA = g Vᵀ; through the softmax, row by row,
    dL/dS = A ⊙ (dL/dA − Σ_j A_j (dL/dA)_j); then S = Q Kᵀ/√d gives
    dL/dQ = dL/dS K / √d and dL/dK = (dL/dS)ᵀ Q / √d. Blocked entries have A = 0, so
    no gradient flows through them.
    """
    dv = np.swapaxes(weights, -1, -2) @ grad_output
    da = grad_output @ np.swapaxes(v, -1, -2)
    ds = weights * (da - np.sum(da * weights, axis=-1, keepdims=True)) / math.sqrt(q.shape[-1])
    return ds @ k, np.swapaxes(ds, -1, -2) @ q, dv


class MultiHeadAttention(Layer):
    r"""Multi-head attention: H heads attend in parallel, from a query sequence to a
    key/value sequence (cross-attention) or over one sequence (self-attention).

    With a query x_q (N, T, E), a value x_v (N, S, E_v), a key x_k (N, S, E_k) (the value
    when not given) and heads of width D (``key_dim``, E/H unless given):
    Q_h = x_q W^q_h + b^q_h (N, T, D), K_h = x_k W^k_h + b^k_h, V_h = x_v W^v_h + b^v_h
    (N, S, D), O_h = Attention(Q_h, K_h, V_h) (:func:`scaled_dot_product_attention`), and
    y = Σ_h O_h W^o_h + b^o (N, T, E): the heads' outputs side by side, projected back to
    the query's width. Backward: the output projection's transpose, each head's attention
    vjp (:func:`scaled_dot_product_attention_vjp`), then the three projections'
    transposes; a tensor that feeds several of them (x in self-attention, the value that
    is also the key) gets the sum.

    Called on one tensor (``forward(x)``, a Sequential, ``layer(x)`` in a graph) it is
    self-attention, query = key = value = x; on a list, ``[query, value]`` or ``[query,
    value, key]``, cross-attention, as Keras's ``layer(query, value, key=key)``; a fourth
    entry is the attention mask, Keras's ``attention_mask=`` (in a graph, a boolean input:
    a padding mask).

    Keras's ``MultiHeadAttention(num_heads, key_dim=D)`` keeps the kernels as the spec
    does, (E_in, H, D) for the query, key and value and (H, D, E) for the output, and
    takes any D; torch's ``nn.MultiheadAttention(E, H, kdim=E_k, vdim=E_v)`` has heads of
    E/H only, and packs the three input projections into one (3E, E) ``in_proj_weight``
    when E_k = E_v = E (else ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``),
    with one (3E,) ``in_proj_bias``; it defaults to time first (``batch_first=False``).

    Masks, True: query t may attend to key s. ``mask`` (N, T, S) is Keras's
    ``attention_mask``: set it before ``forward``, like an injected Dropout mask.
    ``use_causal_mask=True`` (Keras's call argument of that name) adds the causal mask,
    ``np.tril(np.ones((T, S), bool))``: query t sees keys 0 … t (aligned at the top left
    when T ≠ S, as Keras's and torch's ``is_causal``); the two are combined by "and".

    Shape:
        query (N, T, E), value (N, S, E_v), key (N, S, E_k) → y (N, T, E); kernels: query
        (E, H, D), key (E_k, H, D), value (E_v, H, D), biases (H, D); output kernel
        (H, D, E), bias (E,).
    """

    input_ndim = 3
    any_length = True  # T queries, S keys and values, any T and S
    takes_list = True  # a list of tensors in a graph: cross-attention
    mask_position = 3  # [query, value, key, mask]: a boolean input, no gradient
    parameter_names = ("query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel",
                       "value_bias", "output_kernel", "output_bias")

    def __init__(self, embed_dim: int, num_heads: int, *, key_dim: int | None = None,
                 key_features: int | None = None, value_features: int | None = None,
                 use_causal_mask: bool = False, dtype: object = np.float64,
                 seed: int | None = None, name: str | None = None) -> None:
        where = "MultiHeadAttention"
        self.embed_dim = _positive(where, "embed_dim", embed_dim)
        self.num_heads = _positive(where, "num_heads", num_heads)
        if key_dim is None and self.embed_dim % self.num_heads:
            raise ValueError(f"MultiHeadAttention: embed_dim ({embed_dim}) must be a multiple "
                             f"of num_heads ({num_heads}), or key_dim given")
        # of the ints checked above: a NumPy integer's quotient stayed one, which Keras's
        # key_dim refuses
        self.key_dim = self.embed_dim // self.num_heads if key_dim is None else \
            _positive(where, "key_dim", key_dim)
        self.key_features = self.embed_dim if key_features is None else \
            _positive(where, "key_features", key_features)
        self.value_features = self.embed_dim if value_features is None else \
            _positive(where, "value_features", value_features)
        self.use_causal_mask = as_flag(where, "use_causal_mask", use_causal_mask)
        super().__init__(dtype=dtype, name=name, default_name=f"MultiHeadAttention({embed_dim}, "
                                                   f"{num_heads})")
        self.initialize(as_seed("MultiHeadAttention", seed))
        self.mask: np.ndarray | None = None
        self._cache: dict[str, Any] | None = None

    @property
    def head_dim(self) -> int:
        """The width D of each head (Keras's ``key_dim``)."""
        return self.key_dim

    def _widths(self) -> dict[str, int]:
        return {"query": self.embed_dim, "key": self.key_features, "value": self.value_features}

    def initialize(self, rng: np.random.Generator) -> None:
        """Glorot-uniform kernels (over E_in in, H·D out; the output kernel over H·D in,
        E out), zero biases."""
        H, D, E = self.num_heads, self.head_dim, self.embed_dim
        for part, width in self._widths().items():
            self._values[f"{part}_kernel"] = initializers.glorot_uniform(
                (width, H * D), rng, self.dtype).reshape(width, H, D)
            self._values[f"{part}_bias"] = np.zeros((H, D), self.dtype)
        self._values["output_kernel"] = initializers.glorot_uniform(
            (H * D, E), rng, self.dtype).reshape(H, D, E)
        self._values["output_bias"] = np.zeros(E, self.dtype)

    def output_shape(self, input_shape: object) -> tuple[int, ...]:
        """(T, E) for a query of (T, E); a list of per-sample shapes is cross-attention's
        [query, value], [query, value, key] or [query, value, key, mask]."""
        shapes = [tuple(s) for s in input_shape] if isinstance(input_shape, list) else \
            [tuple(input_shape)] * 2
        if not 2 <= len(shapes) <= 4:
            raise ValueError(f"{self.name}: takes [query, value], [query, value, key] or "
                             f"[query, value, key, mask], got {len(shapes)} inputs")
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        t, s = query[0] if query else None, value[0] if value else None
        wanted = {"query": (None, self.embed_dim), "value": (None, self.value_features),
                  "key": (s, self.key_features), "mask": (t, s)}
        for what, shape in zip(wanted, (query, value, key, *shapes[3:]), strict=False):
            if len(shape) != 2 or any(w is not None and n != w
                                      for n, w in zip(shape, wanted[what], strict=True)):
                expected = "(T, S)" if what == "mask" else \
                    f"({'T' if what == 'query' else 'S'}, {wanted[what][1]})"
                raise ValueError(f"{self.name}: takes a {what} of per-sample shape {expected}, "
                                 f"got {shape}")
        return query

    def _heads(self, x: np.ndarray, part: str) -> np.ndarray:
        """x W + b for one projection, split by head: (N, L, E_in) → (N, H, L, D)."""
        n, steps, width = x.shape
        kernel = self._values[f"{part}_kernel"].reshape(width, -1)
        z = x @ kernel + self._values[f"{part}_bias"].reshape(-1)
        return z.reshape(n, steps, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _arrays(self, inputs: object) -> tuple[list[np.ndarray], np.ndarray | None, int]:
        """[query, value, key] as arrays, the mask given in the list (or None), and how
        many inputs were given (1: x alone)."""
        if not isinstance(inputs, list | tuple):
            if self.key_features != self.embed_dim or self.value_features != self.embed_dim:
                raise ValueError(f"{self.name}: has key_features={self.key_features}, "
                                 f"value_features={self.value_features} for embed_dim="
                                 f"{self.embed_dim}: cross-attention, called on a list "
                                 "[query, value] or [query, value, key], not on one x")
            x = self._input(inputs)
            return [x, x, x], None, 1
        if not 2 <= len(inputs) <= 4:
            raise ValueError(f"{self.name}: forward takes x, or a list [query, value], "
                             f"[query, value, key] or [query, value, key, mask], got a list "
                             f"of {len(inputs)}")
        arrays = [as_float_array(a, self.dtype, self.name, what)
                  for a, what in zip(inputs[:3], ("query", "value", "key"), strict=False)]
        if any(a.ndim != 3 for a in arrays):
            raise ValueError(f"{self.name}: query, value and key need 3 axes (N, steps, "
                             f"features), got shapes {[a.shape for a in arrays]}")
        mask = as_mask(self.name, "mask", inputs[3]) if len(inputs) == 4 else None
        return arrays + arrays[1:2] * (3 - len(arrays)), mask, len(inputs)

    def forward(self, x: object, *, training: bool = False) -> np.ndarray:
        (query, value, key), mask, given = self._arrays(x)
        n, t, _ = query.shape
        s = value.shape[1]
        check_shape(self.name, "query", query.shape, (None, None, self.embed_dim))
        check_shape(self.name, "value", value.shape, (n, None, self.value_features))
        check_shape(self.name, "key", key.shape, (n, s, self.key_features))
        if 0 in (n, t, s):  # NumPy's reshape of an empty batch would name nothing
            raise ValueError(f"{self.name}: needs at least one sample, one query step and one "
                             f"key step, got query {query.shape}, value {value.shape}")
        if mask is not None:
            check_shape(self.name, "mask", mask.shape, (n, t, s))
        if self.mask is not None:
            set_mask = as_mask(self.name, "mask", self.mask, (n, t, s))
            mask = set_mask if mask is None else mask & set_mask
        if self.use_causal_mask:
            causal = np.tril(np.ones((t, s), bool))
            mask = causal if mask is None else mask & causal
        q, k, v = (self._heads(a, part) for a, part in ((query, "query"), (key, "key"),
                                                          (value, "value")))
        heads, weights = scaled_dot_product_attention(
            q, k, v, None if mask is None else mask[..., None, :, :])  # for every head
        o = heads.transpose(0, 2, 1, 3).reshape(n, t, -1)  # the heads side by side
        self._cache = {"inputs": (query, value, key), "given": given, "q": q, "k": k,
                       "v": v, "weights": weights, "o": o}
        kernel = self._values["output_kernel"]
        return o @ kernel.reshape(-1, kernel.shape[-1]) + self._values["output_bias"]

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | list | None:
        """dL/dx (self-attention), or [dL/dquery, dL/dvalue(, dL/dkey)] as it was called."""
        if self._cache is None:
            raise self._no_forward()
        c, H, D = self._cache, self.num_heads, self.head_dim
        query, value, key = c["inputs"]
        n, t, e = query.shape
        g = self._upstream(grad_output, query.shape).reshape(n * t, e)
        gradients = {"output_kernel": (c["o"].reshape(n * t, -1).T @ g).reshape(H, D, e),
                     "output_bias": g.sum(axis=0)}
        d_heads = (g @ self._values["output_kernel"].reshape(-1, e).T).reshape(n, t, H, D)
        dq, dk, dv = scaled_dot_product_attention_vjp(c["q"], c["k"], c["v"], c["weights"],
                                                      d_heads.transpose(0, 2, 1, 3))
        found = {}
        for part, x, dz in (("query", query, dq), ("key", key, dk), ("value", value, dv)):
            dz = dz.transpose(0, 2, 1, 3).reshape(-1, H * D)  # back to (N·L, H·D)
            x2 = x.reshape(-1, x.shape[-1])
            gradients[f"{part}_kernel"] = (x2.T @ dz).reshape(-1, H, D)
            gradients[f"{part}_bias"] = dz.sum(axis=0).reshape(H, D)
            if input_gradient:
                kernel = self._values[f"{part}_kernel"]
                found[part] = (dz @ kernel.reshape(kernel.shape[0], -1).T).reshape(x.shape)
        self._gradients = {name: gradients[name] for name in self.parameter_names}
        if not input_gradient:
            return None
        if c["given"] == 1:  # x fed all three projections
            return found["query"] + found["key"] + found["value"]
        if c["given"] == 2:  # no key given: the value is the key too
            return [found["query"], found["value"] + found["key"]]
        # a boolean mask, the fourth input, has no gradient
        return [found["query"], found["value"], found["key"], None][:c["given"]]

    def config(self) -> dict[str, Any]:
        """The heads and width; ``key_dim``, the key's and value's widths and the causal
        mask only where they are not the defaults (as Dense's ``use_bias``)."""
        options = {name: value for name, value, default in (
            ("key_dim", self.key_dim, self.embed_dim / self.num_heads),
            ("key_features", self.key_features, self.embed_dim),
            ("value_features", self.value_features, self.embed_dim),
            ("use_causal_mask", self.use_causal_mask, False)) if value != default}
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads, **options,
                **super().config()}

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        """Per projection a kernel (E_in, H, D) and a bias (H, D); the output kernel
        (H, D, E) and bias (E,)."""
        e, h = config["embed_dim"], config["num_heads"]
        d = config.get("key_dim") or e // h
        widths = {"query": e, "key": config.get("key_features") or e,
                  "value": config.get("value_features") or e}
        projection = {f"{part}_{array}": shape for part, width in widths.items()
                      for array, shape in (("kernel", [width, h, d]), ("bias", [h, d]))}
        return {**projection, "output_kernel": [h, d, e], "output_bias": [e]}


LAYERS.update({cls.__name__: cls for cls in (Embedding, SimpleRNN, LSTM, GRU, TimeDistributed,
                                             MultiHeadAttention, Bidirectional)})
