"""nox sessions. Every session installs with constraints.txt, so every run compares the
same framework versions; parity, tests, docs and bench share one environment, ``env``.

    nox -s parity   the main job: the cross-framework parity suite and its matrix
    nox -s tests    everything: spec tests, parity suite, docs checks, lint
    nox -s lint     ruff (its own small environment)
    nox -s docs     regenerate docs/ and build/docs/index.html from the code and the last
                    parity run, then check them (the HTML page in headless chromium)
    nox -s bench    the spec's training step beside torch and TF (not run by default)
    nox -s env      the shared environment alone (.nox/env): the package editable, every
                    extra, pinned; the sessions above require it, so it is built once

Their dependencies agree (the same pins, one extra more or less), so one environment of
every extra serves them all: ``nox -s parity`` then ``nox -s tests`` install once. Skip
even the up-to-date check with ``nox -R`` (the package is editable: code changes are
picked up).
"""

from __future__ import annotations

import os
import socket

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
CONSTRAINTS = ("-c", "constraints.txt")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXTRAS = "torch,tf,test,docs,bench"  # every session's, in one environment
# The suites' tensors are small: one thread per library and process, so that pytest-xdist's
# workers (one per core) don't stall each other's thread pools.
ONE_THREAD_EACH = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
QUIET_FRAMEWORKS = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0",
                    "KERAS_BACKEND": "tensorflow", "KERAS_HOME": ".nox/keras-home"}
SHARED: dict[str, str] = {}  # the shared environment's bin folder, once `env` has run


def _torch_cpu_index() -> tuple[str, ...]:
    """pip's option for PyTorch's CPU wheels (PyPI's Linux torch is the CUDA build), where
    that index can be reached; a machine without it (a CI runner with a local wheel store)
    would make pip retry it, with a warning, for every package."""
    try:
        socket.create_connection(("download.pytorch.org", 443), timeout=3).close()
    except OSError:
        return ()
    return ("--extra-index-url", TORCH_CPU_INDEX)


@nox.session(python=PYTHON, default=False)
def env(session: nox.Session) -> None:
    """The environment parity, tests, docs and bench run in: the package editable, with
    every extra, pinned by constraints.txt."""
    session.install(*CONSTRAINTS, *_torch_cpu_index(), "-e", f".[{EXTRAS}]")
    SHARED["bin"] = session.bin


def _run(session: nox.Session, program: str, *args: str, env: dict[str, str]) -> None:
    """Run ``program`` of the shared environment, its bin folder first on PATH (the tests'
    subprocesses find the same Python)."""
    path = f"{SHARED['bin']}{os.pathsep}{os.environ.get('PATH', '')}"
    session.run(os.path.join(SHARED["bin"], program), *args, env={**env, "PATH": path},
                external=True)


@nox.session(venv_backend="none", requires=["env"])
def parity(session: nox.Session) -> None:
    """The cross-framework parity suite; prints the parity matrix, writes build/parity/."""
    # the fuzz suite (parity_tests/fuzz) runs in `tests`: it checks errors, not parity.
    # One pytest-xdist worker per core: the cases are independent, and the matrix gathers
    # every worker's records (parity_tests/conftest.py).
    _run(session, "pytest", "parity_tests", "--ignore=parity_tests/fuzz", "-n", "auto",
         *session.posargs, env={**QUIET_FRAMEWORKS, **ONE_THREAD_EACH})


@nox.session(venv_backend="none", requires=["env"])
def tests(session: nox.Session) -> None:
    """The whole test suite: lint, the spec's own tests, the parity suite, the docs' checks
    and the benchmark's smoke test."""
    _run(session, "ruff", "check", ".", env={})
    # One pytest run over pyproject's testpaths: one xdist worker per core, one thread
    # each, and work stealing, so that a worker never idles while the other still holds a
    # queue (a run per folder left one core idle behind each folder's slowest test, and
    # paid each folder's start-up). A worker's resident set peaked at 2.6 GB.
    _run(session, "pytest", "-n", "auto", "--dist", "worksteal", *session.posargs,
         env={**QUIET_FRAMEWORKS, **ONE_THREAD_EACH})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the whole tree."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", ".")


@nox.session(venv_backend="none", requires=["env"])
def docs(session: nox.Session) -> None:
    """Regenerate the docs from the code and the last parity run, then check them.

    Writes docs/*.md, docs/figures/, docs/parity-summary.json (from build/parity/report.json
    when a parity run left one), README.md's generated part and build/docs/index.html.
    """
    _run(session, "python", "-m", "docs.build", *session.posargs, env=QUIET_FRAMEWORKS)
    _run(session, "pytest", "docs/tests", env=QUIET_FRAMEWORKS)


@nox.session(venv_backend="none", requires=["env"], default=False)
def bench(session: nox.Session) -> None:
    """Time a training step of the spec, torch and TF; table, build/bench/report.json, plot.

    Arguments go to the benchmark, e.g. ``nox -s bench -- --quick`` or ``-- --sizes large``.
    """
    _run(session, "python", "-m", "benchmarks", *session.posargs, env=QUIET_FRAMEWORKS)
