"""The Keras mirror is Keras's own: every registry layer kind, converted with
``tf_impl.from_reference``, saves with ``model.save`` and loads with
``keras.models.load_model`` in a fresh Python process that cannot import this project,
and the loaded model computes what the converted one does.

The registry's layer cases are saved in both dtypes (one model per case and dtype), and
one isolated process (``python -I``, run from an empty folder, the project's packages
blocked from import) loads them all. Float64 GELU is the exception: Keras has no exact
float64 GELU (TF rounds 1/√2 through float32), so those models hold the registered
``tf_impl>gelu_erf`` and load only beside ``tf_impl``; their cases are left out of the
first test and the second shows the refusal.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from parity_tests.conftest import framework
from reference import registry

LAYER_MODULES = ("layers", "convolution", "normalization", "sequences", "networks")
PROJECT = ("reference", "tf_impl", "torch_impl", "nn_rosetta", "parity_tests")

# Run in the fresh process: block the project's packages, load each model, save outputs.
LOADER = textwrap.dedent(f"""
    import importlib.abc, json, sys
    PROJECT = {PROJECT!r}

    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in PROJECT:
                raise ImportError(f"{{name}} is part of nn-rosetta, blocked here")

    sys.meta_path.insert(0, Blocked())
    import keras, numpy as np
    results = {{}}
    for name in json.loads(open("models.json").read()):
        try:
            model = keras.models.load_model(name + ".keras")
            np.save(name + ".out.npy", keras.ops.convert_to_numpy(
                model(np.load(name + ".x.npy"))))
            results[name] = "loaded"
        except Exception as error:
            results[name] = f"{{type(error).__name__}}: {{error}}"
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in PROJECT)
    print(json.dumps({{"results": results, "project_modules": loaded}}))
""")


@functools.cache
def _cases() -> tuple[tuple[str, object, np.ndarray], ...]:
    """(name, spec model, input) of each registry layer concept's first case in float64
    and float32, and of every Dense activation in float64 (a slope or α is a layer of its
    own): one model per case and dtype."""
    found = []
    for concept in registry.CONCEPTS:
        if concept.module not in LAYER_MODULES:
            continue
        for k, case in enumerate(concept.cases):
            first, activation = k == 0, concept.name == "Dense" and "±" not in case.label
            for dtype in (np.float64, np.float32) if first else (np.float64,) * activation:
                data = case.make(np.random.default_rng(k), np.dtype(dtype), 2)
                found.append((f"{concept.name}-{k}-{np.dtype(dtype).name}", data["model"],
                              data["x"]))
    return tuple(found)


def _float64_gelu(model) -> bool:
    return model.dtype == np.float64 and any(
        getattr(getattr(layer, "activation", None), "name", "") == "gelu"
        for layer in model.layers)


def _save(folder: Path, name: str, spec, x: np.ndarray) -> np.ndarray:
    tf_impl = framework("tf").impl
    model = tf_impl.from_reference(spec)
    model.save(folder / f"{name}.keras")
    np.save(folder / f"{name}.x.npy", x)
    return model(framework("tf").tf.constant(x)).numpy()


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray], dict]:
    """Every case saved here and loaded in one fresh, isolated process: the folder, the
    converted models' outputs, and what the process reports."""
    folder = tmp_path_factory.mktemp("saved")
    expected = {name: _save(folder, name, spec, x) for name, spec, x in _cases()}
    (folder / "models.json").write_text(json.dumps(list(expected)))
    run = subprocess.run([sys.executable, "-I", "-c", LOADER], cwd=folder, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return folder, expected, json.loads(run.stdout.strip().splitlines()[-1])


def test_every_registry_layer_kind_loads_without_the_project(elsewhere) -> None:
    folder, expected, found = elsewhere
    stock = {name for name, spec, _ in _cases() if not _float64_gelu(spec)}
    assert {name: found["results"][name] for name in stock
            if found["results"][name] != "loaded"} == {}
    for name in stock:
        np.testing.assert_array_equal(np.load(folder / f"{name}.out.npy"), expected[name], name)
    kinds = {type(layer).__name__ for name, spec, _ in _cases() if name in stock
             for layer in spec.layers}
    assert kinds >= {concept.name for concept in registry.CONCEPTS
                     if concept.module in LAYER_MODULES and concept.name != "Sequential"}


def test_the_loading_process_imported_nothing_of_the_project(elsewhere) -> None:
    assert elsewhere[2]["project_modules"] == []


def test_a_float64_gelu_model_needs_tf_impl_to_load(elsewhere) -> None:
    folder, _, found = elsewhere
    name = next(name for name, spec, _ in _cases() if _float64_gelu(spec))
    assert "gelu_erf" in found["results"][name], found["results"][name]
    import keras  # after tf_impl (framework("tf")), which registers gelu_erf

    reloaded = keras.models.load_model(folder / f"{name}.keras")
    assert reloaded.layers[0].activation.__name__ == "gelu_erf"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_loaded_model_keeps_its_dtype_on_every_layer(elsewhere, dtype: str) -> None:
    import keras

    name = next(name for name, _, _ in _cases()
                if name.startswith("MaxPool2D") and name.endswith(dtype))
    loaded = keras.models.load_model(elsewhere[0] / f"{name}.keras")
    assert {layer.dtype_policy.name for layer in loaded.layers} == {dtype}
