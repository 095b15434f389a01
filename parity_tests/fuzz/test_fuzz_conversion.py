"""Fuzz: moving weights across, ``from_reference`` and ``to_reference``, given what is no
model of theirs: a clear ``TypeError`` naming the function, never a framework traceback."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework


def _foreign(name: str) -> list:
    fw = framework(name)
    other = framework("tf" if name == "torch" else "torch")
    spec = reference.Sequential([reference.Dense(2, 3), reference.Dense(3, 1)], seed=0)
    # a framework model of a layer the spec lacks (a torch ReLU module is a spec activation)
    native = (fw.torch.nn.Sequential(fw.torch.nn.Linear(2, 3), fw.torch.nn.Hardswish())
              if name == "torch" else
              __import__("keras").Sequential([__import__("keras").Input((2,)),
                                              __import__("keras").layers.GaussianNoise(0.1)]))
    return [None, 3, "model", np.zeros((2, 3)), spec.params, other.impl.from_reference(spec),
            native]


@pytest.mark.parametrize("name", ["torch", "tf"])
def test_conversion_refuses_what_is_not_its_model_naming_itself(name: str) -> None:
    impl = framework(name).impl
    for value in _foreign(name)[:5]:
        with pytest.raises(TypeError, match="from_reference"):
            impl.from_reference(value)
    for value in _foreign(name):
        with pytest.raises(TypeError, match="to_reference"):
            impl.to_reference(value)


@pytest.mark.parametrize(("input_shape", "error"), [(3, TypeError), ((2.0,), ValueError),
                                                    (("2",), ValueError), ((True,), ValueError),
                                                    ((0,), ValueError)])
def test_torch_to_reference_names_an_input_shape_that_is_no_shape(input_shape, error) -> None:
    """3 gave "'int' object is not iterable"; 2.0 was cut to 2."""
    torch = framework("torch").torch
    with pytest.raises(error, match=r"to_reference: input_shape must be a tuple of positive "
                                    r"integers"):
        framework("torch").impl.to_reference(torch.nn.Sequential(torch.nn.ReLU()),
                                             input_shape=input_shape)


@pytest.mark.parametrize("dtype", [None, np.float32, np.float64])
def test_torch_to_reference_of_a_module_without_parameters_takes_the_dtype_it_is_told(
        dtype) -> None:
    """torch keeps no dtype on nn.ReLU(): the read-back spec model computes in ``dtype``,
    float64 (the spec's default) when none is given, and equals the module there."""
    torch = framework("torch").torch
    module = torch.nn.Sequential(torch.nn.ReLU())
    model = framework("torch").impl.to_reference(module, input_shape=(3,), dtype=dtype)
    expected = np.dtype(dtype or np.float64)
    x = np.array([[-1.5, 0.0, 2.5]], expected)
    assert model.dtype == expected
    np.testing.assert_array_equal(model.forward(x), module(torch.tensor(x)).numpy())


@pytest.mark.parametrize(("dtype", "match"), [
    (np.float16, r"to_reference: the dtype must be float32 or float64, got float16"),
    (np.float64, r"to_reference: dtype=float64 was given, but the module's parameters are "
                 r"float32"),
])
def test_torch_to_reference_refuses_a_dtype_its_parameters_contradict(dtype, match) -> None:
    torch = framework("torch").torch
    with pytest.raises(TypeError, match=match):
        framework("torch").impl.to_reference(torch.nn.Sequential(torch.nn.Linear(2, 1)),
                                             dtype=dtype)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("graph", [False, True], ids=["Sequential", "functional"])
def test_tf_to_reference_refuses_a_mixed_precision_layer(policy, graph) -> None:
    """Its float32 weights were read as a float32 spec model, while Keras computes in
    float16: outputs 3e-4 apart, silently."""
    import keras

    x = keras.Input((3,))
    dense = keras.layers.Dense(2, dtype=policy, name="half")
    model = keras.Model(x, [dense(x), keras.layers.Dense(2)(x)]) if graph else \
        keras.Sequential([x, dense])
    with pytest.raises(TypeError, match=rf"to_reference: layer \d \(half\) computes in "
                                        rf"b?float16 with float32 weights \(dtype policy "
                                        rf"'{policy}'\)"):
        framework("tf").impl.to_reference(model)


def _subclassed_linear():
    from torch import nn

    class Tripled(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 3
    return nn.Sequential(Tripled(3, 2))


def _subclassed_sequential():
    from torch import nn

    class Shifted(nn.Sequential):
        def forward(self, x):
            return super().forward(x) + 1
    return Shifted(nn.Linear(3, 2))


@pytest.mark.parametrize(("build", "error", "message"), [
    (_subclassed_linear, TypeError, r"module '0' is a Tripled, a subclass of nn.Linear with "
                                    r"its own forward"),
    (_subclassed_sequential, TypeError, r"the module is a Shifted, a subclass of "
                                        r"nn.Sequential with its own forward"),
    (lambda: __import__("torch").nn.Sequential(__import__("torch").nn.LazyLinear(2)),
     ValueError, r"parameter '0.weight' holds no values yet"),
    (lambda: __import__("torch").nn.Sequential(__import__("torch").nn.Linear(3, 2,
                                                                              device="meta")),
     ValueError, r"parameter '0.weight' holds no values yet"),
    (lambda: __import__("torch").nn.Sequential(__import__("torch").nn.Linear(3, 2),
                                               __import__("torch").nn.Flatten(0)),
     TypeError, r"reshape the batch axis; the spec's Reshape keeps it"),
], ids=["Linear subclass", "Sequential subclass", "lazy", "meta", "Flatten(0)"])
def test_torch_to_reference_refuses_what_it_would_read_wrong(build, error, message) -> None:
    """A subclass's forward was dropped (the spec computed a third of its output), a
    lazy or meta parameter reached torch's own error, Flatten(0) the spec's Reshape's."""
    framework("torch")
    with pytest.raises(error, match=rf"to_reference: .*{message}"):
        framework("torch").impl.to_reference(build(), input_shape=(3,))
