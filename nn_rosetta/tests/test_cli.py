"""``nn-rosetta list`` and ``nn-rosetta show``, and the catalog they read the code from."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import reference
from nn_rosetta import catalog, cli, parity
from reference import registry

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _report(tmp_path: Path) -> Path:
    """A parity report by hand: sigmoid passes, relu fails in float32, nothing else ran."""
    def record(concept, dtype, framework, kind, error, passed):
        return {"concept": concept, "case": concept, "framework": framework, "dtype": dtype,
                "batch": 1, "quantity": kind, "kind": kind, "error": error,
                "rtol": 1e-10 if dtype == "float64" else 1e-5, "atol": 0.0, "passed": passed}
    records = [record("sigmoid", "float64", "torch", "output", 1.234e-16, True),
               record("sigmoid", "float64", "tf", "gradient", 2.2e-16, True),
               record("sigmoid", "float32", "tf", "output", 6.04e-8, True),
               record("relu", "float64", "torch", "output", 0.0, True),
               record("relu", "float32", "torch", "output", 3.0e-3, False)]
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"versions": {"torch": "9.9"}, "records": records}))
    return path


def test_list_shows_every_concept_with_its_worst_error_per_dtype(capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, "--report", str(_report(tmp_path)), "list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert set(rows) == {c.name for c in registry.CONCEPTS}
    # the worst of torch and TF, to two significant digits, per dtype
    assert rows["sigmoid"].split()[1:5] == ["2.2e-16", "✓", "6.0e-08", "✓"]
    assert rows["relu"].split()[1:5] == ["0", "✓", "3.0e-03", "✗"]
    assert "not measured" in rows["tanh"]
    assert "torch 9.9" in out


def test_list_reads_the_last_run_over_the_committed_snapshot(capsys, tmp_path,
                                                            monkeypatch) -> None:
    (tmp_path / "docs").mkdir()
    snapshot = parity.Summary({"tanh": {"float64": {"tf": {"output": parity.Cell(
        4.4e-16, 1e-10, True)}}}}, {}, "snapshot")
    (tmp_path / parity.SNAPSHOT).write_text(snapshot.to_json())
    (tmp_path / "build" / "parity").mkdir(parents=True)
    _report(tmp_path).rename(tmp_path / parity.REPORT)
    monkeypatch.chdir(tmp_path)
    _, out, _ = _run(capsys, "list")
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert rows["tanh"].split()[1:3] == ["4.4e-16", "✓"]  # from the snapshot
    assert rows["sigmoid"].split()[1:3] == ["2.2e-16", "✓"]  # from the run
    assert "build/parity/report.json over docs/parity-summary.json" in out


def test_show_puts_the_three_translations_side_by_side(capsys) -> None:
    code, out, _ = _run(capsys, "show", "sigmoid", "--width", "160")
    assert code == 0
    lines = out.splitlines()
    heads = ("def sigmoid(z: np.ndarray)", "def sigmoid(z: torch.Tensor)",
             "def sigmoid(z: tf.Tensor)")
    row = next(line for line in lines if heads[0] in line)
    assert all(head in row for head in heads)
    assert row.index(heads[0]) < row.index(heads[1]) < row.index(heads[2])
    assert max(len(line) for line in lines) <= 160
    assert "def sigmoid_derivative" in out  # the spec's hand-written derivative, beside


def test_show_stacks_the_translations_when_the_terminal_is_narrow(capsys) -> None:
    code, out, _ = _run(capsys, "show", "sigmoid", "--width", "72")
    lines = out.splitlines()
    starts = [next(i for i, line in enumerate(lines) if line.startswith(head))
              for head in ("def sigmoid(z: np.ndarray)", "def sigmoid(z: torch.Tensor)",
                           "def sigmoid(z: tf.Tensor)")]
    assert code == 0 and starts == sorted(starts)
    assert max(len(line) for line in lines) <= 72


def test_show_highlights_when_asked_and_not_into_a_pipe(capsys) -> None:
    _, plain, _ = _run(capsys, "show", "relu", "--width", "150")
    _, coloured, _ = _run(capsys, "show", "relu", "--width", "150", "--color", "always")
    assert not ANSI.search(plain)  # capsys is not a terminal
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured).splitlines()[4:] == plain.splitlines()[4:]


def test_show_names_the_closest_concepts_for_a_typo(capsys) -> None:
    code, out, err = _run(capsys, "show", "sigmod")
    assert code == 2 and not out
    assert "no concept named 'sigmod'" in err and "sigmoid" in err


def test_the_console_script_runs_main() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    script = re.search(r'^\[project\.scripts\]\nnn-rosetta = "([\w.]+):(\w+)"$', pyproject, re.M)
    assert script and script.groups() == ("nn_rosetta.cli", "main")
    assert callable(cli.main)
    assert re.search(r'^packages = \[.*"nn_rosetta".*\]$', pyproject, re.M)  # in the wheel


def test_it_runs_as_a_process_without_importing_the_frameworks() -> None:
    probe = ("import runpy, sys; sys.argv = ['nn-rosetta', 'show', 'Dense', '--width', '200'];"
             "\ntry: runpy.run_module('nn_rosetta', run_name='__main__')"
             "\nexcept SystemExit as e: assert e.code == 0"
             "\nprint('imported:', 'torch' in sys.modules, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert "class Dense" in done.stdout and "def Dense" in done.stdout
    assert done.stdout.rstrip().endswith("imported: False False")


@pytest.mark.parametrize("concept", registry.CONCEPTS, ids=lambda c: c.name)
def test_the_catalog_finds_each_concept_in_all_three_packages(concept) -> None:
    found = catalog.translate(concept)
    assert [i and i.relpath for i in found.implementations] == [
        f"{p}/{concept.module}.py" for p in ("reference", "torch_impl", "tf_impl")]


def test_the_code_shown_is_the_code_that_runs() -> None:
    spec, torch_code, tf_code = catalog.find("sigmoid").implementations
    assert spec.code == "\n\n\n".join(inspect.getsource(f).rstrip() for f in (
        reference.activations.sigmoid, reference.activations.sigmoid_derivative))
    assert torch_code.code.startswith("def sigmoid(z: torch.Tensor)")
    assert "keras.activations.sigmoid(z)" in tf_code.code


def test_differences_are_the_mirror_docstrings_bullets_that_name_the_concept() -> None:
    differences = dict(catalog.find("leaky_relu").differences)
    assert set(differences) == {"torch_impl", "tf_impl"}
    assert "Keras's default slope is 0.2" in differences["tf_impl"]
    assert "``softmax``" not in differences["tf_impl"]


def test_a_page_per_registered_module_group_and_none_for_absent_ones() -> None:
    modules = {c.module for c in registry.CONCEPTS}
    assert {g.page for g in catalog.groups()} == {catalog.page_of(m)[0] for m in modules}
    assert sum(len(g.translations) for g in catalog.groups()) == len(registry.CONCEPTS)


def test_show_binary_cross_entropy_is_at_most_four_lines_per_framework(capsys) -> None:
    """Issue 10: the column is the line a PyTorch or Keras user writes, not our guards."""
    _, torch_code, tf_code = catalog.find("binary_cross_entropy").implementations
    _, out, _ = _run(capsys, "show", "binary_cross_entropy", "--width", "400")
    for implementation in (torch_code, tf_code):
        lines = implementation.code.splitlines()
        assert len(lines) <= 4, implementation.code
        assert all(line.strip() in out for line in lines)  # what the CLI shows
    assert "F.binary_cross_entropy(p, y_true)" in torch_code.code
    assert "keras.losses.BinaryCrossentropy(" in tf_code.code


def test_a_mirror_column_shows_its_check_as_a_decorator_and_no_docstring() -> None:
    _, torch_code, _ = catalog.find("mean_squared_error").implementations
    assert torch_code.code.splitlines() == [
        "@checked(pair())",
        "def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:",
        "    return F.mse_loss(y_pred, y_true)"]
