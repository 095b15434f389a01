"""Session set-up for the parity suite: frameworks configured once, matrix printed at the end."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from parity_tests.frameworks import FRAMEWORKS
from parity_tests.report import Recorder, render, write_json

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


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    records = Recorder.records
    if not records:
        return
    versions = {k: v for name in FRAMEWORKS if name in _instances
                for k, v in _instances[name].versions.items()}
    import numpy
    versions = {"numpy": numpy.__version__, **versions}
    settings = {name: fw.settings for name, fw in _instances.items()}
    terminalreporter.write_line(render(records, versions, settings))
    path = Path(config.rootpath) / "build" / "parity" / "report.json"
    write_json(path, records, versions, settings)
    terminalreporter.write_line(f"parity report written to {path.relative_to(config.rootpath)}")
