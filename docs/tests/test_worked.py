"""Each worked graph has a page, and the code its page shows is true: the Keras listing
builds, and the torch listing's class holds, the model the spec computes."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import numpy as np
import pytest

import reference
from docs import build, worked
from nn_rosetta import parity
from nn_rosetta.tolerances import tolerance


def _factories() -> set[str]:
    """Every public function of the spec's modules that builds a ``Model``."""
    found = set()
    for info in pkgutil.iter_modules(reference.__path__):
        if info.name.startswith("_") or info.name in ("registry", "tests"):
            continue
        module = importlib.import_module(f"reference.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            returns = inspect.signature(function).return_annotation
            if function.__module__ == module.__name__ and not name.startswith("_") and \
                    returns in ("Model", "reference.Model", reference.Model):
                found.add(f"{module.__name__}.{name}")
    return found


def test_every_graph_factory_of_the_spec_is_a_worked_graph() -> None:
    assert _factories() == {g.factory for g in worked.GRAPHS}


@pytest.mark.parametrize("graph", worked.GRAPHS, ids=lambda g: g.page)
def test_each_worked_graph_is_a_forward_case_of_the_model_concept(graph) -> None:
    shown, *_ = worked.cases(graph)
    data = shown.make(np.random.default_rng(0), np.dtype(np.float32), 2)
    assert isinstance(data["model"], reference.Model) and "x" in data


@pytest.fixture(scope="module")
def files() -> dict:
    return build.committed(build.collect(build.snapshot()))


@pytest.mark.parametrize("graph", worked.GRAPHS, ids=lambda g: g.page)
def test_each_worked_graph_has_a_page_linked_from_its_group_and_the_indexes(files, graph) -> None:
    page = files[build.DOCS / f"{graph.page}.md"]
    shown = worked.shown(graph)
    for code in (shown.definition.bare, shown.keras, shown.torch):
        assert f"```python\n{code}\n```" in page
    for index in (f"{worked.group_page()}.md", "README.md"):
        assert f"]({graph.page}.md)" in files[build.DOCS / index]
    assert f"](docs/{graph.page}.md)" in files[build.README]


def test_the_html_page_shows_each_worked_graph_with_a_link() -> None:
    page = build.page(build.collect(build.snapshot()))
    for graph in worked.GRAPHS:
        assert f'<section class="group" id="{graph.page}">' in page
        assert f'<a href="#{graph.page}">' in page


def _spec(graph: worked.Graph) -> tuple[reference.Model, list[np.ndarray], list[np.ndarray]]:
    """The graph as its page lists it, its inputs, and the spec's outputs on them."""
    data = worked.made(graph)
    model = data["model"]
    xs = data["x"] if model.input_list else [data["x"]]
    outputs = model.forward(data["x"], training=False)
    return model, xs, outputs if model.output_list else [outputs]


def _run(source: str, name: str) -> object:
    namespace: dict = {}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace[name]


def _assert_equal_to_the_spec(actual: list, expected: list) -> None:
    tol = tolerance(np.float32, "output")
    for got, want in zip(actual, expected, strict=True):
        assert got.shape == want.shape
        assert tol.error(got, want) <= tol.rtol


@pytest.mark.parametrize("graph", worked.GRAPHS, ids=lambda g: g.page)
def test_the_keras_listing_builds_the_spec_graph(graph) -> None:
    import tf_impl

    model, xs, expected = _spec(graph)
    converted = tf_impl.from_reference(model)
    listed = _run(worked.shown(graph).keras, "build")()
    assert [layer.name for layer in listed.layers] == [layer.name for layer in converted.layers]
    for layer in listed.layers:  # the converted weights, into the listed model
        layer.set_weights(converted.get_layer(layer.name).get_weights())
    outputs = listed(xs if model.input_list else xs[0], training=False)
    outputs = outputs if model.output_list else [outputs]
    _assert_equal_to_the_spec([np.asarray(o) for o in outputs], expected)


@pytest.mark.parametrize("graph", worked.GRAPHS, ids=lambda g: g.page)
def test_the_torch_listing_loads_the_graph_module_strictly_and_computes_the_spec(graph) -> None:
    import torch

    import torch_impl
    from reference.graphs import feature_maps

    model, xs, expected = _spec(graph)
    converted = torch_impl.from_reference(model)
    listed = _run(worked.shown(graph).torch, graph.class_name)()
    listed.load_state_dict(converted.state_dict(), strict=True)
    maps = feature_maps(model)
    channels = torch_impl.convolution
    fed = [channels.channels_first(torch.from_numpy(x)) if maps[t.name] else torch.from_numpy(x)
           for x, t in zip(xs, model.inputs, strict=True)]
    with torch.no_grad():
        outputs = listed.eval()(*fed)
    outputs = list(outputs) if model.output_list else [outputs]
    outputs = [channels.channels_last(o) if maps[t.name] else o
               for o, t in zip(outputs, model.outputs, strict=True)]
    _assert_equal_to_the_spec([o.numpy() for o in outputs], expected)


def test_a_constructor_argument_is_written_as_a_reader_writes_it() -> None:
    assert [worked.literal(v, "kernel_size") for v in ((3, 3), (0, 1, 0, 1), (6,))] == [
        "3", "(0, 1, 0, 1)", "(6,)"]
    assert worked.literal((4, 4, 4), "target_shape") == "(4, 4, 4)"  # not a square window
    assert [worked.literal(v) for v in (1 - 0.99, "same")] == ["0.01", '"same"']


def test_a_refresh_keeps_each_worked_graphs_parity_from_its_cases(tmp_path) -> None:
    graph = worked.GRAPHS[0]
    label = worked.cases(graph)[0].label

    def record(case: str, error: float) -> dict:
        return {"concept": worked.CONCEPT, "case": case, "framework": "torch",
                "dtype": "float32", "batch": 1, "quantity": "output", "kind": "output",
                "error": error, "rtol": 1e-5, "atol": 1e-6, "passed": error <= 1e-5}
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"versions": {}, "records": [
        record(label, 2e-7), record("another graph of the concept", 1.0)]}))
    refreshed = build.refreshed(parity.Summary({}, {}, "none"), report)
    assert refreshed.status(graph.parity, "float32").passed  # the other case's error not
    assert not refreshed.status(worked.CONCEPT, "float32").passed  # counted: the concept's
    assert all(refreshed.status(g.parity, "float32") is None for g in worked.GRAPHS[1:])
