"""Session set-up for the parity suite: frameworks configured once, matrix printed at the end."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from parity_tests.frameworks import FRAMEWORKS
from parity_tests.report import Record, Recorder, render, write_json

# Hypothesis profiles (parity_tests/test_properties.py). "parity", the default, keeps the
# suite fast and repeatable: few examples, derandomized (the same examples on every run,
# so CI cannot flake), no deadline (a first TF call can take a second). "explore" hunts:
# pytest --hypothesis-profile=explore -k properties; a failure it shrinks is then kept
# as an @example in the test.
settings.register_profile("parity", max_examples=12, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("parity")

_instances: dict[str, object] = {}


def framework(name: str):
    """The framework adapter ``name``, created (and configured) once per session."""
    if name not in _instances:
        _instances[name] = FRAMEWORKS[name]()
    return _instances[name]


@pytest.fixture(params=sorted(FRAMEWORKS, key=["torch", "tf"].index))
def fw(request):
    return framework(request.param)


@pytest.fixture(scope="session")
def torch():
    """The ``torch`` module, configured as the parity suite runs it."""
    return framework("torch").torch


@pytest.fixture(scope="session")
def tf():
    """The ``tensorflow`` module, imported after ``tf_impl`` has set TF's environment."""
    return framework("tf").tf


@pytest.fixture(scope="session")
def keras(tf):
    """The ``keras`` module (TensorFlow backend), after ``tf_impl`` has set the environment."""
    import keras
    return keras


def _shards(config) -> Path:
    """Where each pytest-xdist worker leaves its records for the controller's matrix."""
    return Path(config.rootpath) / "build" / "parity" / "workers"


def _versions_and_settings() -> tuple[dict[str, str], dict[str, dict]]:
    import numpy
    versions = {"numpy": numpy.__version__}
    for name in FRAMEWORKS:
        if name in _instances:
            versions.update(_instances[name].versions)
    return versions, {name: fw.settings for name, fw in _instances.items()}


def pytest_configure(config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a plain run): start clean
        shutil.rmtree(_shards(config), ignore_errors=True)


def pytest_sessionfinish(session) -> None:
    worker = getattr(session.config, "workerinput", None)
    if worker is None or not Recorder.records:
        return
    versions, settings = _versions_and_settings()
    path = _shards(session.config) / f"{worker['workerid']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"records": [asdict(r) for r in Recorder.records],
                                "versions": versions, "settings": settings}))


def _gathered(config) -> tuple[list[Record], dict[str, str], dict[str, dict]]:
    """This process's records, or, under pytest-xdist, every worker's."""
    versions, settings = _versions_and_settings()
    records = list(Recorder.records)
    for shard in sorted(_shards(config).glob("*.json")):
        found = json.loads(shard.read_text())
        records += [Record(**r) for r in found["records"]]
        versions.update(found["versions"])
        settings.update(found["settings"])
    return records, versions, settings


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    records, versions, settings = _gathered(config)
    if not records:
        return
    terminalreporter.write_line(render(records, versions, settings))
    path = Path(config.rootpath) / "build" / "parity" / "report.json"
    write_json(path, records, versions, settings)
    terminalreporter.write_line(f"parity report written to {path.relative_to(config.rootpath)}")
