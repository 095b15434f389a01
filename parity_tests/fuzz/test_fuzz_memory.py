"""Fuzz: arrays whose declared size fits under the kernel's limit but not in the memory
available now are refused before they are allocated (``reference._validation.
check_memory``), by every entry point that allocates them: a spec layer's construction,
the spec's and torch's weight-file readers, both mirrors' ``from_reference``, the port's
reading of a ``.keras`` file and its module.

The availability is faked (``available_memory`` replaced, the small-size shortcut set to
0), so each case is a model of a few numbers refused as if it were gigabytes; one real
case, a 32 GB Dense, is measured in a fresh process.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import reference
from reference import _validation
from reference.convolution import UpSampling2D, ZeroPadding2D
from reference.weights import WeightFileError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def available(monkeypatch):
    """Set the bytes ``check_memory`` sees as available: ``available(n)``."""
    monkeypatch.setattr(_validation, "MEMORY_CHECKED_FROM", 0)

    def set_to(count: int) -> None:
        monkeypatch.setattr(_validation, "available_memory", lambda: count)
    return set_to


def _model() -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 5, "tanh"), reference.Dense(5, 2)],
                                seed=0)


def test_a_layer_that_fits_exactly_is_built_and_one_byte_less_is_refused(available) -> None:
    # Dense(3, 5) float64: W and b (20 numbers), and W's float64 draw (15 numbers)
    available((15 + 5 + 15) * 8)
    assert reference.Dense(3, 5).W.shape == (3, 5)
    available((15 + 5 + 15) * 8 - 1)
    with pytest.raises(ValueError, match=r"Dense\(3, 5, identity\): its parameters .* "
                                         r"280 bytes needed, .* 279 bytes available now"):
        reference.Dense(3, 5)


@pytest.mark.parametrize("build", [
    lambda: reference.convolution.Conv2D(3, 4, 3, seed=0),
    lambda: reference.sequences.LSTM(4, 6, seed=0),
    lambda: reference.sequences.Embedding(50, 8, seed=0),
    lambda: reference.sequences.MultiHeadAttention(4, 2, seed=0),
    lambda: reference.normalization.BatchNormalization(7),
    lambda: reference.convolution.SeparableConv2D(3, 4, 3, seed=0),
], ids=["Conv2D", "LSTM", "Embedding", "MultiHeadAttention", "BatchNormalization",
        "SeparableConv2D"])
def test_every_kind_of_layer_with_weights_is_refused_by_its_name(available, build) -> None:
    available(10**9)
    name = build().name  # builds with room to spare
    available(16)
    with pytest.raises(ValueError, match=rf"^{name.replace('(', '.').replace(')', '.')}: "
                                         r"its parameters .* available now"):
        build()


@pytest.mark.parametrize(("name", "shown"), [(None, r"Bidirectional\(GRU\(3, 4\)\)"),
                                             ("both_ways", "both_ways")])
def test_a_bidirectional_layer_refuses_its_backward_copy_by_its_own_name(available, name,
                                                                         shown) -> None:
    """The copy's own check named the wrapped GRU, which the caller had already built."""
    available(10**9)
    gru = reference.sequences.GRU(3, 4, seed=0)
    available(16)
    with pytest.raises(ValueError, match=rf"^{shown}: its backward layer, a copy of "
                                         r"GRU\(3, 4\): \d+ bytes needed"):
        reference.sequences.Bidirectional(gru, name=name)


@pytest.mark.parametrize(("layer", "x", "shape"), [
    (UpSampling2D(300), np.zeros((1, 100, 100, 3)), (1, 30000, 30000, 3)),
    (ZeroPadding2D(25000), np.zeros((1, 1, 1, 1), np.float32), (1, 50001, 50001, 1)),
    (reference.Dense(2, 3), np.zeros((4, 2), int), (4, 3)),  # integers become float64
], ids=["UpSampling2D", "ZeroPadding2D", "Dense"])
def test_a_forward_refuses_an_output_beyond_the_memory(available, layer, x, shape) -> None:
    """The output's bytes, from the layer's output_shape, before the forward allocates:
    22 GB and 10 GB here, refused as if the machine had 16 bytes free."""
    itemsize = 4 if x.dtype == np.float32 else 8
    available(16)
    with pytest.raises(ValueError, match=rf"^{re.escape(layer.name)}: its output of shape "
                                         rf"{re.escape(str(shape))}: "
                                         rf"(\S+ GB \()?{math.prod(shape) * itemsize} bytes"):
        layer.forward(x)


def test_the_spec_weight_reader_refuses_a_model_beyond_the_memory(available,
                                                                   tmp_path) -> None:
    path = tmp_path / "m.npz"
    reference.save_weights(_model(), path)
    available(100)
    with pytest.raises(WeightFileError, match=rf"load_weights: {path}: .*: \d+ bytes needed"):
        reference.load_weights(path)


def test_the_torch_weight_reader_refuses_a_file_beyond_the_memory(available,
                                                                  tmp_path) -> None:
    import torch_impl

    module, path = torch_impl.from_reference(_model()), tmp_path / "m.pt"
    torch_impl.save_weights(module, path)
    available(100)
    with pytest.raises(WeightFileError, match=rf"load_weights: {path}: its records"):
        torch_impl.load_weights(path, module)


@pytest.mark.parametrize("mirror", ["torch_impl", "tf_impl"])
def test_from_reference_refuses_a_copy_beyond_the_memory(available, mirror) -> None:
    convert = __import__(mirror).from_reference
    spec = _model()
    available(100)  # the spec's 32 numbers are 256 bytes
    with pytest.raises(ValueError, match=r"from_reference: 1 copy of the spec model's "
                                         r"weights: 256 bytes needed"):
        convert(spec)


def test_the_port_refuses_a_keras_file_beyond_the_memory(available, tmp_path) -> None:
    import keras

    from nn_rosetta import port_files

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "m.keras"
    model.save(path)
    available(100)
    with pytest.raises(port_files.KerasFileError, match=rf"^{path}: the Keras model's "
                                                        r"weights .* available now"):
        port_files.load(path)


def test_the_port_refuses_modules_beyond_the_memory(available) -> None:
    import keras

    from nn_rosetta import port

    model = keras.Sequential([keras.Input((2,)), *(keras.layers.Dense(2) for _ in range(4))])
    available(100)  # each spec layer's 6 float32 numbers fit; two copies of 24 do not
    with pytest.raises(ValueError, match=r"^port: 2 copies of the spec model's weights: "
                                         r"192 bytes needed"):
        port(model)


def test_the_availability_falls_back_to_sysconf_without_proc_meminfo(monkeypatch) -> None:
    def unreadable(*_: object, **__: object) -> None:
        raise FileNotFoundError("/proc/meminfo")

    monkeypatch.setattr(_validation, "open", unreadable, raising=False)
    pages = os.sysconf("SC_AVPHYS_PAGES")
    assert _validation.available_memory() // os.sysconf("SC_PAGE_SIZE") in \
        range(pages - 4096, pages + 4096)  # free pages move while the test runs


_REAL_CASE = textwrap.dedent("""
    import json, resource, time
    import reference
    before, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    try:
        reference.Dense(200000, 20000)  # 32 GB of float64
        outcome = "built"
    except ValueError as error:
        outcome = str(error)
    print(json.dumps([outcome, time.perf_counter() - start,
                      (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024]))
""")


@pytest.mark.skipif(sys.platform != "linux", reason="reads Linux's MemAvailable")
def test_a_32_gb_dense_is_refused_at_once_without_growing_the_process() -> None:
    if _validation.available_memory() > 64 * 10**9:
        pytest.skip("this machine has room for a 32 GB layer and its draw")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", _REAL_CASE], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    outcome, seconds, grown = json.loads(result.stdout.splitlines()[-1])
    assert "available now; refused before allocating" in outcome
    assert seconds < 1.0
    assert grown < 16 << 20
