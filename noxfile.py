"""nox sessions. Every session installs with constraints.txt, so every run compares the
same framework versions.

    nox -s parity   the main job: the cross-framework parity suite and its matrix
    nox -s tests    everything: spec tests, parity suite, docs checks, lint
    nox -s lint     ruff
    nox -s docs     regenerate docs/ and build/docs/index.html from the code and the last
                    parity run, then check them (the HTML page in headless chromium)
    nox -s bench    the spec's training step beside torch and TF (not run by default)

Reuse an existing virtualenv with ``nox -R`` (skips installs; the package is installed
editable, so code changes are picked up).
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
CONSTRAINTS = ("-c", "constraints.txt")
# The suites' tensors are small: one thread per library and process, so that pytest-xdist's
# workers (one per core) don't stall each other's thread pools.
ONE_THREAD_EACH = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
QUIET_FRAMEWORKS = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0",
                    "KERAS_BACKEND": "tensorflow", "KERAS_HOME": ".nox/keras-home"}


def _install(session: nox.Session, extras: str) -> None:
    session.install(*CONSTRAINTS, "-e", f".[{extras}]")


@nox.session(python=PYTHON)
def parity(session: nox.Session) -> None:
    """The cross-framework parity suite; prints the parity matrix, writes build/parity/."""
    _install(session, "torch,tf,test")
    # the fuzz suite (parity_tests/fuzz) runs in `tests`: it checks errors, not parity.
    # One pytest-xdist worker per core: the cases are independent, and the matrix gathers
    # every worker's records (parity_tests/conftest.py).
    session.run("pytest", "parity_tests", "--ignore=parity_tests/fuzz", "-n", "auto",
                *session.posargs, env={**QUIET_FRAMEWORKS, **ONE_THREAD_EACH})


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite: lint, the spec's own tests, the parity suite, the docs' checks
    and the benchmark's smoke test."""
    _install(session, "torch,tf,test,docs,bench")
    session.run("ruff", "check", ".")
    session.run("pytest", *session.posargs, env=QUIET_FRAMEWORKS)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the whole tree."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Regenerate the docs from the code and the last parity run, then check them.

    Writes docs/*.md, docs/figures/, docs/parity-summary.json (from build/parity/report.json
    when a parity run left one), README.md's generated part and build/docs/index.html.
    """
    _install(session, "torch,tf,test,docs")
    session.run("python", "-m", "docs.build", *session.posargs, env=QUIET_FRAMEWORKS)
    session.run("pytest", "docs/tests", env=QUIET_FRAMEWORKS)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Time a training step of the spec, torch and TF; table, build/bench/report.json, plot.

    Arguments go to the benchmark, e.g. ``nox -s bench -- --quick`` or ``-- --sizes large``.
    """
    _install(session, "torch,tf,bench")
    session.run("python", "-m", "benchmarks", *session.posargs, env=QUIET_FRAMEWORKS)
