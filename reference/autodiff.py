r"""Reverse-mode automatic differentiation over NumPy arrays, written from scratch.

Note 001 names the three ideas behind backpropagation and leaves their sections empty;
this module is those sections, as code.

**Jacobians.** For f taking an array x to an array y, the Jacobian holds every partial
derivative, J[i…, j…] = ∂y[i…]/∂x[j…], of shape y.shape + x.shape (an (m, n) matrix for
vectors). Softmax has a full (K, K) one, diag(s) − s sᵀ; an elementwise activation a
diagonal one, diag(φ'(z)); a dense layer y = φ(xW + b) with respect to x one of shape
(N, out, N, in) that is zero between different samples.

**Chain rule.** The Jacobian of a composition is the product of the Jacobians,
J_{g∘f}(x) = J_g(f(x)) J_f(x). For a network x → a¹ → … → a^L → L (a scalar), read
right to left:

    ∂L/∂x = ∇_{a^L}Lᵀ · J_L · … · J_2 · J_1.

Multiplied from the left, every step is a row vector times a matrix, gᵀJ: the
*vector-Jacobian product* (VJP). It never needs J itself: for an elementwise φ it is
g ⊙ φ'(z), for z = xW it is g Wᵀ. That left-to-right order is reverse mode, and it is
the backward pass of ``Sequential.backward``, derived by hand there and by the graph here.

**Computational graph.** Every operation on a :class:`Tensor` returns a new Tensor that
remembers its inputs (``parents``) and its VJP: the forward pass records a graph.
:func:`grad` walks that graph from the output back to the inputs in reverse
topological order, so a node is processed only once every node that used it has
handed it a gradient; a node used twice (x·x, a shared weight) receives the *sum* of
the two contributions, the multivariable chain rule. Broadcasting counts as reuse too:
b of shape (M,) added to every row of an (N, M) array gets the rows' gradients summed.

This is a teaching spec, not a framework: only first derivatives are recorded (the
backward pass itself is plain NumPy, so :func:`hessian` differentiates it numerically,
where torch's ``create_graph=True`` and TF's nested tapes record it), one dtype per
graph, and just the operations the spec's activations, losses and networks need. The
torch and TF mirrors (``torch_impl.autodiff``, ``tf_impl.autodiff``) say how autograd
and ``tf.GradientTape`` map onto it: what a leaf is, what is watched, when gradients
accumulate. Shapes follow NumPy's broadcasting; ``@`` takes 2-D arrays.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from functools import reduce

import numpy as np
from scipy import special

from reference import losses as _spec_losses
from reference._validation import as_float_array, check_real, check_shape, type_name
from reference.activations import Activation
from reference.layers import Dense
from reference.networks import Sequential

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class Tensor:
    """An array that remembers how it was computed: one node of the computational graph.

    A *leaf* is made by the user; ``Tensor(x, requires_grad=True)`` asks for derivatives
    with respect to x. Any operation with an input that requires grad returns a Tensor
    that records ``parents`` and ``vjp``, the map g ↦ (gᵀ ∂self/∂parent, per parent).
    Operations on constants record nothing. :meth:`backward` adds the derivatives of
    this Tensor to every leaf's ``grad``, accumulating as torch does.

    Shape: ``data`` any shape, float32 or float64 (integers become float64); the graph
    keeps one dtype, and Python numbers take the dtype of the Tensor they meet.
    """

    __array_ufunc__ = None  # ndarray ∘ Tensor must defer to the Tensor's reflected operator

    def __init__(self, data: object, requires_grad: bool = False, *,
                 parents: tuple[Tensor, ...] = (), vjp: Callable | None = None,
                 op: str = "leaf") -> None:
        self.data: np.ndarray = as_float_array(data, None, "Tensor", "data")
        self.requires_grad = requires_grad
        self.parents = parents
        self.vjp = vjp
        self.op = op
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """Made by the user (or a constant, as in torch): where :meth:`backward` stores grads."""
        return not self.parents

    def __add__(self, other: _Operand) -> Tensor:
        return add(self, other)

    def __radd__(self, other: _Operand) -> Tensor:
        return add(other, self)

    def __sub__(self, other: _Operand) -> Tensor:
        return add(self, -_lift(other, self))

    def __rsub__(self, other: _Operand) -> Tensor:
        return add(other, -self)

    def __mul__(self, other: _Operand) -> Tensor:
        return mul(self, other)

    def __rmul__(self, other: _Operand) -> Tensor:
        return mul(other, self)

    def __truediv__(self, other: _Operand) -> Tensor:
        return div(self, other)

    def __rtruediv__(self, other: _Operand) -> Tensor:
        return div(other, self)

    def __pow__(self, exponent: float) -> Tensor:
        """xᵖ for a scalar exponent p, as in micrograd; derivative p·xᵖ⁻¹."""
        if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
            raise TypeError("Tensor.__pow__: the exponent must be a real scalar (int or "
                            f"float), got {type(exponent).__name__}")
        return _elementwise(self, np.power(self.data, exponent),
                            lambda: exponent * np.power(self.data, exponent - 1), "pow")

    def __neg__(self) -> Tensor:
        return _result(-self.data, (self,), lambda g: (-g,), "neg")

    def __matmul__(self, other: _Operand) -> Tensor:
        return matmul(self, other)

    def __abs__(self) -> Tensor:
        """|x|, with derivative sign(x) and sign(0) = 0, as in torch and TF."""
        return _result(np.abs(self.data), (self,), lambda g: (g * np.sign(self.data),), "abs")

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Σ over ``axis``; every summed entry receives the output's gradient unchanged."""
        kept = np.sum(self.data, axis=axis, keepdims=True)
        out = kept if keepdims else np.squeeze(kept, axis=axis)
        return _result(out, (self,),
                       lambda g: (np.broadcast_to(np.reshape(g, kept.shape), self.shape).copy(),),
                       "sum")

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The sum over ``axis`` divided by the number of entries summed."""
        total = self.sum(axis, keepdims)
        return total * (total.data.size / self.data.size)

    def backward(self, seed: np.ndarray | None = None) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf that requires grad.

        Gradients *accumulate* across calls, as in torch; :func:`zero_grad` resets them.
        The graph is kept (torch frees it unless ``retain_graph=True``), so a second call
        adds the same gradients again.
        """
        if not self.requires_grad:
            raise ValueError("backward() of a Tensor that does not require grad: nothing in "
                             "its graph was made with requires_grad=True")
        for node, g in _backpropagate(self, _seed(self, seed)).items():
            if node.is_leaf:
                node.grad = g.copy() if node.grad is None else node.grad + g

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{flag}, op={self.op!r})"


_Operand = Tensor | np.ndarray | float


# --- Building blocks: every operation is its value and its vector-Jacobian product. ---

def _lift(value: _Operand, like: Tensor) -> Tensor:
    """A constant Tensor for a non-Tensor operand, in the dtype of the Tensor it meets."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, int | float):
        return Tensor(np.asarray(value, dtype=like.dtype))
    return Tensor(as_float_array(value, like.dtype, "autodiff", "operand"))


def _operands(a: _Operand, b: _Operand) -> tuple[Tensor, Tensor]:
    like = a if isinstance(a, Tensor) else b
    a, b = _lift(a, like), _lift(b, like)
    if a.dtype != b.dtype:  # NumPy would promote to float64 without a word
        raise TypeError(f"operands of dtypes {a.dtype} and {b.dtype}: a graph computes in one "
                        "dtype; convert one of them explicitly")
    return a, b


def _result(data: np.ndarray, parents: tuple[Tensor, ...], vjp: Callable, op: str) -> Tensor:
    """An operation's output: a recorded node if any input requires grad, else a constant."""
    if any(p.requires_grad for p in parents):
        return Tensor(data, True, parents=parents, vjp=vjp, op=op)
    return Tensor(data)


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return np.sum(grad, axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


def add(a: _Operand, b: _Operand) -> Tensor:
    """a + b, broadcast: ∂/∂a = ∂/∂b = 1, so each gets g summed back to its own shape."""
    a, b = _operands(a, b)
    return _result(a.data + b.data, (a, b),
                   lambda g: (_unbroadcast(g, a.shape), _unbroadcast(g, b.shape)), "add")


def mul(a: _Operand, b: _Operand) -> Tensor:
    """a ⊙ b, broadcast: ∂/∂a = b, ∂/∂b = a."""
    a, b = _operands(a, b)
    return _result(a.data * b.data, (a, b),
                   lambda g: (_unbroadcast(g * b.data, a.shape),
                              _unbroadcast(g * a.data, b.shape)), "mul")


def div(a: _Operand, b: _Operand) -> Tensor:
    """a / b, broadcast: ∂/∂a = 1/b, ∂/∂b = −a/b²."""
    a, b = _operands(a, b)
    return _result(a.data / b.data, (a, b),
                   lambda g: (_unbroadcast(g / b.data, a.shape),
                              _unbroadcast(-g * (a.data / b.data) / b.data, b.shape)), "div")


def matmul(a: _Operand, b: _Operand) -> Tensor:
    """a @ b for a (N, K) and b (K, M): gᵀJ is g bᵀ for a and aᵀ g for b (g of shape (N, M))."""
    a, b = _operands(a, b)
    return _result(a.data @ b.data, (a, b), lambda g: (g @ b.data.T, a.data.T @ g), "matmul")


def where(condition: np.ndarray, a: _Operand, b: _Operand) -> Tensor:
    """a where ``condition`` holds, else b (broadcast). Each branch gets g where it was chosen.

    The condition is a constant boolean array, not differentiated: this is how the kinks
    of ReLU, ELU and the clipped losses enter the graph. Both branches are computed
    everywhere, so a branch must stay finite even where it is not chosen (see :func:`elu`).
    """
    a, b = _operands(a, b)
    chosen = np.asarray(condition, dtype=bool)
    return _result(np.where(chosen, a.data, b.data), (a, b),
                   lambda g: (_unbroadcast(np.where(chosen, g, 0.0), a.shape),
                              _unbroadcast(np.where(chosen, 0.0, g), b.shape)), "where")


def _elementwise(x: Tensor, value: np.ndarray, derivative: Callable[[], np.ndarray],
                 op: str) -> Tensor:
    # An elementwise function has a diagonal Jacobian: gᵀJ = g ⊙ f'(x).
    return _result(value, (x,), lambda g: (g * derivative(),), op)


def exp(x: Tensor) -> Tensor:
    """e^x; derivative e^x."""
    out = np.exp(x.data)
    return _elementwise(x, out, lambda: out, "exp")


def expm1(x: Tensor) -> Tensor:
    """e^x − 1, exact for small x; derivative e^x."""
    out = np.expm1(x.data)
    return _elementwise(x, out, lambda: out + 1.0, "expm1")


def log(x: Tensor) -> Tensor:
    """log x; derivative 1/x."""
    return _elementwise(x, np.log(x.data), lambda: 1.0 / x.data, "log")


def log1p(x: Tensor) -> Tensor:
    """log(1 + x), exact for small x; derivative 1/(1 + x)."""
    return _elementwise(x, np.log1p(x.data), lambda: 1.0 / (1.0 + x.data), "log1p")


def square(x: Tensor) -> Tensor:
    """x²; derivative 2x."""
    return _elementwise(x, np.square(x.data), lambda: 2.0 * x.data, "square")


def tanh(x: Tensor) -> Tensor:
    """tanh x (also the tanh activation); derivative 1 − tanh² x."""
    out = np.tanh(x.data)
    return _elementwise(x, out, lambda: 1.0 - out * out, "tanh")


def erf(x: Tensor) -> Tensor:
    """The error function; derivative (2/√π) e^(−x²)."""
    return _elementwise(x, special.erf(x.data),
                        lambda: _TWO_OVER_SQRT_PI * np.exp(-x.data * x.data), "erf")


# --- The walk: reverse topological order, gradients summed over every use. ---

def _topological_order(output: Tensor) -> list[Tensor]:
    """Every node that ``output`` depends on, each listed after all of its parents."""
    order: list[Tensor] = []
    seen: set[int] = set()

    def visit(node: Tensor) -> None:
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.parents:
                visit(parent)
            order.append(node)

    visit(output)
    return order


def _backpropagate(output: Tensor, seed: np.ndarray) -> dict[Tensor, np.ndarray]:
    """d(seed · output)/d(node) for every node that requires grad and leads to ``output``."""
    grads = {output: seed}
    for node in reversed(_topological_order(output)):  # every user of a node comes first
        if node not in grads or node.is_leaf:
            continue
        for parent, parent_grad in zip(node.parents, node.vjp(grads[node]), strict=True):
            if parent.requires_grad:  # the multivariable chain rule: sum over every use
                grads[parent] = grads[parent] + parent_grad if parent in grads else parent_grad
    return grads


def _seed(output: Tensor, seed: np.ndarray | None) -> np.ndarray:
    if seed is None:
        if output.data.size != 1:
            raise ValueError(f"output has shape {output.shape}: a gradient needs a scalar, "
                             "or a seed of the output's shape (the g of the product gᵀJ)")
        return np.ones_like(output.data)
    seed = as_float_array(seed, output.dtype, "grad", "seed")
    check_shape("grad", "seed", seed.shape, output.shape)
    return seed


def grad(output: Tensor, inputs: Sequence[Tensor],
         seed: np.ndarray | None = None) -> list[np.ndarray]:
    """d(output)/d(input) for each input, returned, leaving every ``.grad`` untouched.

    For a non-scalar output pass ``seed`` = g (the output's shape): the result is the
    vector-Jacobian product gᵀJ. An input the output does not depend on gets zeros.
    """
    if not isinstance(output, Tensor) or not isinstance(inputs, Sequence) or \
            not all(isinstance(x, Tensor) for x in inputs):  # "'bool' object has no
        # attribute 'data'" otherwise
        raise TypeError(f"grad: takes an output Tensor and a list of input Tensors, got "
                        f"{type_name(output)} and {type_name(inputs)} {inputs!r:.60}")
    for k, x in enumerate(inputs):
        if not x.requires_grad:
            raise ValueError(f"input {k} does not require grad: make it a leaf with "
                             "Tensor(data, requires_grad=True)")
    grads = _backpropagate(output, _seed(output, seed))
    return [grads[x].copy() if x in grads else np.zeros_like(x.data) for x in inputs]


def zero_grad(leaves: Sequence[Tensor]) -> None:
    """Forget accumulated gradients (``grad = None``), as torch's ``zero_grad()`` does."""
    for leaf in leaves:
        leaf.grad = None


# --- The spec's activations and losses as compositions: their derivatives come for free. ---

def identity(z: Tensor) -> Tensor:
    """φ(z) = z."""
    return z


def step(z: Tensor) -> Tensor:
    """1 if z > 0 else 0: a constant, with no edge back to z, so its gradient is 0."""
    return Tensor((z.data > 0).astype(z.dtype))


def sigmoid(z: Tensor) -> Tensor:
    """σ(z) from e = e^(−|z|) ≤ 1: 1/(1 + e) for z ≥ 0, e/(1 + e) for z < 0 (never overflows).

    −|z| is written where(z ≥ 0, −z, z), whose derivative at 0 is that of −z; ``abs``
    would give 0 there, and σ'(0) would come out 0 instead of 1/4.
    """
    nonnegative = z.data >= 0
    e = exp(where(nonnegative, -z, z))
    return where(nonnegative, 1.0 / (1.0 + e), e / (1.0 + e))


def relu(z: Tensor) -> Tensor:
    """max(0, z); derivative 0 at the kink."""
    return where(z.data > 0, z, 0.0)


def leaky_relu(z: Tensor, negative_slope: float = 0.01) -> Tensor:
    """z if z > 0 else s·z; derivative s at the kink."""
    return where(z.data > 0, z, negative_slope * z)


def elu(z: Tensor, alpha: float = 1.0) -> Tensor:
    """z if z > 0 else α(e^z − 1); derivative α at the kink.

    The inner ``where`` gives expm1 only z ≤ 0: e^z of a large unchosen z would overflow.
    """
    positive = z.data > 0
    return where(positive, z, alpha * expm1(where(positive, 0.0, z)))


def softmax(z: Tensor) -> Tensor:
    """e^(z − m) / Σ e^(z − m) over the last axis, m = max z.

    m is a constant here: softmax(z − c) = softmax(z) for any c, so the shift changes no
    derivative, and it keeps every exponent ≤ 0.
    """
    e = exp(z - np.max(z.data, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softplus(z: Tensor) -> Tensor:
    """log(1 + e^z) = max(z, 0) + log(1 + e^(−|z|)), with −|z| as in :func:`sigmoid`."""
    nonnegative = z.data >= 0
    return where(nonnegative, z, 0.0) + log1p(exp(where(nonnegative, -z, z)))


def silu(z: Tensor) -> Tensor:
    """z·σ(z)."""
    return z * sigmoid(z)


def exponential(z: Tensor) -> Tensor:
    """e^z (inf past the dtype's range, as the spec's ``exponential``)."""
    with np.errstate(over="ignore"):
        return exp(z)


def _normal_cdf(x: Tensor) -> Tensor:
    """Φ(x) by ``scipy.special.ndtr``, accurate in both tails; derivative ϕ(x)."""
    return _elementwise(x, special.ndtr(x.data),
                        lambda: _INV_SQRT_2PI * np.exp(-0.5 * x.data * x.data), "ndtr")


def gelu(z: Tensor, approximate: str = "none") -> Tensor:
    """z·Φ(z), the exact form; ``approximate="tanh"``: ½ z (1 + tanh(√(2/π)(z + 0.044715 z³)))."""
    if approximate == "tanh":
        return 0.5 * z * (1.0 + tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)))
    return z * _normal_cdf(z)


def logsumexp(x: Tensor) -> Tensor:
    """log Σ e^x over the last axis, kept as a length-1 axis: m + log Σ e^(x − m), m = max x."""
    m = np.max(x.data, axis=-1, keepdims=True)
    return log(exp(x - m).sum(axis=-1, keepdims=True)) + m


def log_softmax(x: Tensor) -> Tensor:
    """x − logsumexp(x): finite for every finite x, where log(softmax(x)) can reach log 0."""
    return x - logsumexp(x)


def _clipped(p: Tensor) -> Tensor:
    # The spec's clip to [ε, 1 − ε]: a constant outside the range, so the gradient is 0 there.
    return where(_spec_losses._inside_clip(p.data), p, _spec_losses._clip(p.data))


def _target(where_: str, y_true: object, y_pred: Tensor) -> np.ndarray:
    return _spec_losses._pair(where_, y_true, y_pred.data)[0]


def _one_hot(where_: str, y_true: object, y_pred: Tensor) -> np.ndarray:
    indices, logits = _spec_losses._sparse(where_, y_true, y_pred.data)
    return np.eye(logits.shape[1], dtype=logits.dtype)[indices]


def mean_squared_error(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """mean (ŷ − y)²."""
    y_true = _target("mean_squared_error", y_true, y_pred)
    return square(y_pred - y_true).mean()


def half_mean_squared_error(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """Σ (ŷ − y)² / 2N."""
    y_true = _target("half_mean_squared_error", y_true, y_pred)
    return square(y_pred - y_true).sum() * (0.5 / y_pred.shape[0])


def mean_absolute_error(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """mean |ŷ − y|."""
    y_true = _target("mean_absolute_error", y_true, y_pred)
    return abs(y_pred - y_true).mean()


def mean_squared_logarithmic_error(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """mean (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²."""
    y_true = _target("mean_squared_logarithmic_error", y_true, y_pred)
    eps = _spec_losses.EPSILON
    d = log1p(where(y_pred.data > eps, y_pred, eps)) - np.log1p(np.maximum(y_true, eps))
    return square(d).mean()


def binary_cross_entropy(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """−mean [y log p + (1 − y) log(1 − p)], p = ŷ clipped to [ε, 1 − ε]."""
    y_true = _target("binary_cross_entropy", y_true, y_pred)
    p = _clipped(y_pred)
    return -(y_true * log(p) + (1.0 - y_true) * log1p(-p)).mean()


def binary_cross_entropy_with_logits(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """mean [softplus(x) − x·y]: the binary cross-entropy of σ(x), never forming σ(x)."""
    y_true = _target("binary_cross_entropy_with_logits", y_true, y_pred)
    return (softplus(y_pred) - y_pred * y_true).mean()


def categorical_cross_entropy(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """−Σ y log q / N, q = ŷ/Σŷ clipped to [ε, 1 − ε]."""
    y_true = _target("categorical_cross_entropy", y_true, y_pred)
    q = _clipped(y_pred / y_pred.sum(axis=-1, keepdims=True))
    return -(y_true * log(q)).sum() * (1.0 / y_pred.shape[0])


def categorical_cross_entropy_with_logits(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """−Σ y log softmax(x) / N."""
    y_true = _target("categorical_cross_entropy_with_logits", y_true, y_pred)
    return -(y_true * log_softmax(y_pred)).sum() * (1.0 / y_pred.shape[0])


def sparse_categorical_cross_entropy(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """mean [log Σc − log c_k], c = ŷ clipped to [ε, 1 − ε], k = ``y_true``."""
    one_hot = _one_hot("sparse_categorical_cross_entropy", y_true, y_pred)
    c = _clipped(y_pred)
    return (log(c.sum(axis=-1)) - (one_hot * log(c)).sum(axis=-1)).mean()


def sparse_categorical_cross_entropy_with_logits(y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """mean [logsumexp(x) − x_k], k = ``y_true``."""
    one_hot = _one_hot("sparse_categorical_cross_entropy_with_logits", y_true, y_pred)
    return (logsumexp(y_pred) - (one_hot * y_pred).sum(axis=-1, keepdims=True)).mean()


ACTIVATIONS: dict[str, Callable[..., Tensor]] = {
    f.__name__: f for f in (identity, step, sigmoid, tanh, relu, leaky_relu, elu, softmax,
                            softplus, silu, gelu, exponential)
}
LOSSES: dict[str, Callable[[np.ndarray, Tensor], Tensor]] = {
    name: globals()[name] for name in _spec_losses.NAMES
}


def activation(spec: Activation) -> Callable[[Tensor], Tensor]:
    """The spec activation ``spec`` (name and parameters) as a function of Tensors."""
    return lambda z: ACTIVATIONS[spec.name](z, **spec.params)


# --- The spec's networks on Tensors, and what the graph computes about them. ---

def _layers(model: Sequential | Dense, where: str) -> list[Dense]:
    if not isinstance(model, Sequential | Dense):  # Python's "'int' object has no
        # attribute 'name'" named neither the function nor the argument
        raise TypeError(f"{where}: model must be a reference.Sequential of Dense layers or a "
                        f"Dense, got {type_name(model)} {model!r:.60}")
    layers = model.layers if isinstance(model, Sequential) else [model]
    others = [f"{k}: {layer.name}" for k, layer in enumerate(layers)
              if not isinstance(layer, Dense)]
    if others:  # the graph here records dense networks, the notes' networks
        raise TypeError(f"autodiff: only networks of Dense layers are recorded; got {others}")
    return layers


def forward(model: Sequential | Dense, x: Tensor,
            params: Sequence[tuple[Tensor, Tensor]] | None = None) -> Tensor:
    """The spec model's forward pass, a^l = φ(a^{l−1} W + b) layer by layer, recorded.

    ``params``: one (W, b) pair of Tensors per layer, leaves to differentiate; by default
    the model's own weights, as constants.

    Shape: x (N, in_features) → (N, out_features).
    """
    layers = _layers(model, "forward")
    as_float_array(x.data, layers[0].dtype, layers[0].name, "input x")
    check_shape(layers[0].name, "input x", x.shape, (None, layers[0].in_features))
    if params is None:
        params = [(Tensor(layer.W), Tensor(layer.b)) for layer in layers]
    for layer, (W, b) in zip(layers, params, strict=True):
        x = activation(layer.activation)(x @ W + b)
    return x


def check_loss_name(where: str, loss: object) -> None:
    """A loss this graph records, by name (in the mirrors' ``network_gradients`` too):
    Python's KeyError otherwise, or getattr's "attribute name must be string"."""
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"{where}: unknown loss {loss!r:.60}; choose one of "
                         f"{', '.join(LOSSES)}")


def network_gradients(model: Sequential | Dense, x: np.ndarray, y_true: np.ndarray,
                      loss: str) -> tuple[float, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The loss, dL/dx and [(dL/dW, dL/db) per layer], all from one walk of the graph.

    The same numbers ``model.backward`` derives by hand; x and every W, b are the leaves.

    Shape: x (N, in); dL/dx like x; dL/dW (in, out) and dL/db (out,) per layer.
    """
    layers = _layers(model, "network_gradients")
    check_loss_name("network_gradients", loss)
    x_leaf = Tensor(as_float_array(x, layers[0].dtype, layers[0].name, "input x"),
                    requires_grad=True)
    params = [(Tensor(W, requires_grad=True), Tensor(b, requires_grad=True))
              for W, b in (layer.params for layer in layers)]
    value = LOSSES[loss](y_true, forward(model, x_leaf, params))
    dx, *flat = grad(value, [x_leaf, *(p for pair in params for p in pair)])
    return float(value.data), dx, list(zip(flat[::2], flat[1::2], strict=True))


def _check_function(where: str, f: object) -> None:
    if not callable(f):
        raise TypeError(f"{where}: f must be a function of a Tensor, got {type_name(f)} "
                        f"{f!r:.60}")


def _checked_value(where: str, value: object, scalar: bool) -> Tensor:
    """f's value at x: a Tensor computed from x (a Python float or an array has no graph:
    "'float' object has no attribute 'data'" otherwise), one number where a gradient of
    it is asked for (grad's "output has shape (2,)", which names no function)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{where}: f must return a Tensor computed from its argument, got "
                        f"{type_name(value)} {value!r:.60}")
    if scalar and value.data.size != 1:
        raise ValueError(f"{where}: f must return one number (a scalar Tensor), got a Tensor "
                         f"of shape {value.shape}")
    return value


def check_entries(where: str, shape: tuple[int, ...]) -> None:
    """An x with entries (in the mirrors' Jacobians too): NumPy's "need at least one
    array to stack" otherwise, torch's IndexError, TF's "Tensor's shape (0, 2) is not
    compatible with supplied shape (0, 2, 0, 2)"."""
    if 0 in shape:
        raise ValueError(f"{where}: x has no entries (shape {shape}); a Jacobian needs at "
                         "least one")


def jacobian(f: Callable[[Tensor], Tensor], x: np.ndarray) -> np.ndarray:
    """The full Jacobian J[i…, j…] = ∂f(x)[i…]/∂x[j…], of shape f(x).shape + x.shape.

    Reverse mode yields one row per backward pass: seeded with the unit vector e_i, the
    walk returns e_iᵀJ, row i. So an m-output function costs m passes, and a scalar loss
    one, which is why backpropagation runs in reverse. (torch's
    ``autograd.functional.jacobian`` loops the same way; TF's ``tape.jacobian``
    vectorises the loop.)
    """
    _check_function("jacobian", f)
    leaf = Tensor(as_float_array(x, None, "jacobian", "x"), requires_grad=True)
    check_entries("jacobian", leaf.shape)
    y = _checked_value("jacobian", f(leaf), scalar=False)
    seeds = np.eye(y.data.size, dtype=y.dtype).reshape((y.data.size, *y.shape))
    rows = [grad(y, [leaf], seed)[0] for seed in seeds]
    return np.stack(rows).reshape(y.shape + leaf.shape)


def layer_jacobians(model: Sequential | Dense, x: np.ndarray) -> list[np.ndarray]:
    """∂a^l/∂a^{l−1} for each layer l, at the activations of the forward pass from x.

    Each is (N, out, N, in) and zero between different samples: layers act row by row.
    :func:`chain_rule` multiplies them into the network's Jacobian.
    """
    jacobians = []
    for layer in _layers(model, "layer_jacobians"):
        jacobians.append(jacobian(lambda a, layer=layer: forward(layer, a), x))
        x = forward(layer, Tensor(x)).data
    return jacobians


def _checked_jacobians(jacobians: object) -> list[np.ndarray]:
    """A non-empty list of float arrays of even rank (out… + in…), each one's input
    the previous one's output: "'int' object is not subscriptable", "list index out of
    range" or matmul's core-dimension mismatch otherwise."""
    if isinstance(jacobians, str | bytes | np.ndarray) or not isinstance(jacobians, Sequence) \
            or not jacobians:
        raise TypeError(f"chain_rule: jacobians must be a non-empty list of Jacobian arrays, "
                        f"first layer first, got {type_name(jacobians)} {jacobians!r:.60}")
    arrays = []
    for k, J in enumerate(jacobians):
        J = as_float_array(J, None, "chain_rule", f"jacobians[{k}]")
        if J.ndim == 0 or J.ndim % 2:
            raise ValueError(f"chain_rule: jacobians[{k}] must have shape out… + in… of "
                             f"even rank, as jacobian gives, got shape {J.shape}")
        if 0 in J.shape:
            raise ValueError(f"chain_rule: jacobians[{k}] has no entries (shape {J.shape})")
        if arrays and J.dtype != arrays[0].dtype:  # matmul would cast silently
            raise TypeError(f"chain_rule: jacobians[{k}] has dtype {J.dtype.name} but "
                            f"jacobians[0] has {arrays[0].dtype.name}; convert explicitly")
        if arrays:
            previous = arrays[-1]
            made, taken = previous.shape[:previous.ndim // 2], J.shape[J.ndim // 2:]
            if math.prod(made) != math.prod(taken):
                raise ValueError(f"chain_rule: jacobians[{k}] takes an input of shape "
                                 f"{taken}, but jacobians[{k - 1}] gives an output of "
                                 f"shape {made}")
        arrays.append(J)
    return arrays


def chain_rule(jacobians: Sequence[np.ndarray]) -> np.ndarray:
    """J_L ⋯ J_2 J_1, for Jacobians listed first layer first as :func:`layer_jacobians` gives.

    Each (N, out, N, in) Jacobian is used as an (N·out, N·in) matrix; the product is the
    Jacobian of the whole network, (N, out_L, N, in_1). Multiplying a gradient gᵀ into it
    from the left is exactly the backward pass.
    """
    jacobians = _checked_jacobians(jacobians)

    def as_matrix(J: np.ndarray) -> np.ndarray:
        half = J.ndim // 2
        return J.reshape(math.prod(J.shape[:half]), math.prod(J.shape[half:]))

    product = reduce(lambda acc, J: as_matrix(J) @ acc, jacobians[1:], as_matrix(jacobians[0]))
    last, first = jacobians[-1], jacobians[0]
    return product.reshape(last.shape[:last.ndim // 2] + first.shape[first.ndim // 2:])


def hessian(f: Callable[[Tensor], Tensor], x: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """∂²f/∂x∂x of a scalar f, shape x.shape + x.shape: finite differences of its gradient.

    This graph records the forward pass only, so the gradient it returns is an array, not
    a graph to differentiate again (torch's ``create_graph=True`` and TF's nested tapes
    record the backward pass too). Column j is the five-point stencil of the exact
    gradient g = ∇f:

        H[:, j] = (g(x − 2h e_j) − 8 g(x − h e_j) + 8 g(x + h e_j) − g(x + 2h e_j)) / 12h,

    whose error is O(h⁴) from truncation plus O(ε/h) from rounding: about 1e-12 at
    h = 1e-3 in float64, for an f that is smooth within 2h of x. Near a kink (ReLU at 0)
    or a pole (log p at p → 0) the truncation term grows. Float32 is refused: there ε/h
    alone would be 1e-4.
    """
    _check_function("hessian", f)
    x = as_float_array(x, np.float64, "hessian", "x (finite differences need float64)")
    check_entries("hessian", x.shape)
    check_real("hessian", "step", step, 0.0, low_open=True)  # h = NaN: a Hessian of NaN

    def gradient(point: np.ndarray) -> np.ndarray:
        leaf = Tensor(point, requires_grad=True)
        return grad(_checked_value("hessian", f(leaf), scalar=True), [leaf])[0].reshape(-1)

    columns = []
    for e in np.eye(x.size).reshape((x.size, *x.shape)) * step:
        columns.append((gradient(x - 2 * e) - 8.0 * gradient(x - e)
                        + 8.0 * gradient(x + e) - gradient(x + 2 * e)) / (12.0 * step))
    return np.stack(columns, axis=-1).reshape(x.shape + x.shape)
