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
