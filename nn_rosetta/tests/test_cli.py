"""``nn-rosetta list``, ``show`` and ``cheatsheet``, the alias table they read names with,
and the catalog they read the code from."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import reference
from nn_rosetta import catalog, cheatsheet, cli, names, notes, parity

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
    assert set(rows) == {c.name for c in catalog.concepts()}
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
    assert "no concept or cheat-sheet name 'sigmod'; did you mean sigmoid" in err


@pytest.mark.parametrize(("word", "concept"), [
    ("adam", "Adam"), ("sgd", "SGD"), ("mse", "mean_squared_error"),
    ("bce", "binary_cross_entropy"), ("dense", "Dense"), ("nn.Linear", "Dense"),
    ("BCELoss", "binary_cross_entropy"), ("keras.layers.Dense", "Dense"),
    ("BinaryCrossentropy", "binary_cross_entropy"), ("perceptron", "Perceptron"),
    ("sequential", "Sequential"), ("SIGMOID", "sigmoid"), ("nn.BCEWithLogitsLoss",
                                                          "binary_cross_entropy_with_logits"),
    ("torch.optim.AdamW", "AdamW"), ("keras.losses.MeanSquaredError", "mean_squared_error"),
    # issue 23: abbreviations, keyword arguments, framework classes the mirrors use
    ("BatchNorm", "BatchNormalization"), ("BN", "BatchNormalization"),
    ("nn.BatchNorm2d", "BatchNormalization"), ("MHA", "MultiHeadAttention"),
    ("attention", "MultiHeadAttention"), ("clipnorm", "SGD"), ("weight_decay", "SGD"),
    ("DDP", "data_parallel_fit"), ("DistributedDataParallel", "data_parallel_fit"),
    ("MirroredStrategy", "data_parallel_fit"), ("tf.distribute.MirroredStrategy",
                                                "data_parallel_fit"),
    ("data parallelism", "data_parallel_fit"), ("torch_impl/parallel.py", "data_parallel_fit"),
    ("reference.losses.mse", "mean_squared_error")])
def test_show_resolves_keras_torch_and_short_names(capsys, word, concept) -> None:
    assert names.lookup(word).concept == concept
    code, out, _ = _run(capsys, "show", word, "--width", "120")
    assert code == 0 and out.startswith(f"{concept} — ")


def test_every_concept_and_cheatsheet_name_resolves_to_its_row() -> None:
    concepts = [c.name for c in catalog.concepts()]
    for name in concepts:
        assert names.lookup(name).concept == name
        if sum(names.key(other) == names.key(name) for other in concepts) == 1:
            assert names.lookup(name.upper()).concept == name  # letters alone decide


def test_names_that_differ_only_in_case_name_both_concepts() -> None:
    """relu (the function) and ReLU (Keras's layer): written out, each is itself; in
    another spelling the word names both, and show lists them."""
    assert names.lookup("ReLU").concept == "ReLU"
    assert names.lookup("relu").concept == "relu"
    assert set(names.lookup("RELU").concepts) == {"ReLU", "relu"}
    for row in cheatsheet.ROWS:
        for name in filter(names.key, row.names):
            found = names.lookup(name)
            assert found.concept == row.spec or row in found.rows, name


def _sheet_words() -> list[str]:
    """Every name of the cheat-sheet's rows, and every word of its Keras and torch cells."""
    words = {n for row in cheatsheet.ROWS for n in row.names}
    words |= {w for row in cheatsheet.ROWS for w in re.findall(r"[A-Za-z_][\w.]+",
                                                              f"{row.keras} {row.torch}")}
    return sorted(words)


def test_show_works_for_every_name_cheatsheet_finds(capsys) -> None:
    """Issue 23's "done when": walked over every name and word of the cheat-sheet."""
    walked = 0
    for word in _sheet_words():
        code, sheet_out, _ = _run(capsys, "cheatsheet", word, "--width", "120")
        if code != 0:
            continue  # cheatsheet finds nothing: show need not either
        walked += 1
        code, out, err = _run(capsys, "show", word, "--width", "120")
        assert code == 0 and out and not err, (word, err)
        found = names.lookup(word)
        if found.concept is None:  # the rows, as cheatsheet prints them
            assert sheet_out in out, word
    assert walked > len(cheatsheet.ROWS)


def test_show_and_cheatsheet_print_each_row_once(capsys) -> None:
    for command in ("show", "cheatsheet"):
        _, out, _ = _run(capsys, command, "CrossEntropyLoss", "--width", "400")
        for row in names.lookup("CrossEntropyLoss").rows:
            assert sum(line.startswith(f"{row.keras.replace('`', '')} ")
                       for line in out.splitlines()) == 1, (command, row.keras)
    assert len(names.lookup("CrossEntropyLoss").rows) == 2


def test_a_name_of_several_concepts_shows_their_rows_and_names_them(capsys) -> None:
    code, out, _ = _run(capsys, "show", "CrossEntropyLoss", "--width", "400")
    assert code == 0
    assert ("is not one concept of the spec: it names categorical_cross_entropy_with_logits, "
            "sparse_categorical_cross_entropy_with_logits") in out.splitlines()[0]


def test_data_parallelism_is_a_concept_of_list_and_show(capsys) -> None:
    _, out, _ = _run(capsys, "list")
    lines = out.splitlines()
    assert lines[lines.index("Data parallelism") + 1].split()[0] == "data_parallel_fit"
    code, shown, _ = _run(capsys, "show", "DDP", "--width", "200")
    row = next(line for line in shown.splitlines() if "ddp = DistributedDataParallel" in line)
    assert code == 0 and "def data_parallel_fit" in shown
    assert "tf.distribute.get_strategy()" in shown and " │ " in row  # three columns


def test_data_parallelism_shows_the_parity_of_its_own_test(capsys, tmp_path) -> None:
    record = {"concept": "data parallelism", "case": "one step, even split",
              "framework": "torch", "dtype": "float64", "batch": 8, "quantity": "loss",
              "kind": "loss", "error": 3.1e-16, "rtol": 1e-10, "atol": 0.0, "passed": True}
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"versions": {}, "records": [record]}))
    _, out, _ = _run(capsys, "--report", str(report), "list")
    assert next(line for line in out.splitlines()
                if line.startswith("  data_parallel_fit")).split()[1:3] == ["3.1e-16", "✓"]


def test_suggestions_rank_what_the_word_most_likely_means() -> None:
    assert names.suggestions("adm")[:2] == ["Adam", "AdamW"]
    assert names.suggestions("sigmiod")[0] == "sigmoid"
    assert names.suggestions("binary_cross")[:2] == ["binary_cross_entropy",
                                                     "binary_cross_entropy_with_logits"]
    assert names.suggestions("earlystop") == ["EarlyStopping"]


def test_a_cheatsheet_name_without_a_concept_shows_its_row(capsys) -> None:
    code, out, _ = _run(capsys, "show", "stop_gradient", "--width", "120")
    assert code == 0 and "is not a concept of the spec; the cheat-sheet has it" in out
    assert "x.detach()" in out


def test_cheatsheet_lists_every_row_side_by_side_from_100_columns(capsys) -> None:
    code, out, _ = _run(capsys, "cheatsheet", "--width", "100")
    lines = out.splitlines()
    assert code == 0 and max(len(line) for line in lines) <= 100
    row = next(line for line in lines if line.startswith("keras.layers.Dense(units)"))
    assert "nn.Linear(in_features," in row and "Dense" in row  # one line, side by side
    assert all(r.section.upper() in lines for r in cheatsheet.ROWS)
    assert _run(capsys, "bridge", "--width", "100")[1] == out  # the alias


def test_cheatsheet_stacks_below_100_columns_and_says_so(capsys) -> None:
    code, out, _ = _run(capsys, "cheatsheet", "BCELoss", "--width", "99")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("(stacked: 99 columns is narrower than 100")
    assert "  PyTorch: nn.BCELoss() / F.binary_cross_entropy" in lines
    assert max(len(line) for line in lines) <= 99


def test_show_is_side_by_side_at_100_and_stacked_at_99_saying_so(capsys) -> None:
    _, wide, _ = _run(capsys, "show", "relu", "--width", "100")
    _, narrow, _ = _run(capsys, "show", "relu", "--width", "99")
    assert any("def relu(z: np.ndarray)" in x and "def relu(z: torch.Tensor)" in x
               for x in wide.splitlines())
    assert "(stacked: 99 columns is narrower than 100" in narrow and "(stacked" not in wide


def test_wrapped_code_is_not_cut_inside_a_name(capsys) -> None:
    _, out, _ = _run(capsys, "show", "binary_cross_entropy", "--width", "160")
    code = "\n".join(impl.code for impl in catalog.find("binary_cross_entropy").implementations)
    names_in_code = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]{3,}", code))
    table = [line for line in out.splitlines() if " │ " in line]  # the code, not the prose
    cells = [cell.strip() for line in table for cell in line.split(" │ ")]
    assert max(len(line) for line in out.splitlines()) <= 160
    pieces = {w for cell in cells for w in re.findall(r"[A-Za-z_][A-Za-z_0-9]{3,}", cell)}
    broken = {p for p in pieces - names_in_code
              if any(n.startswith(p) or n.endswith(p) for n in names_in_code)}
    assert not broken


def test_notes_says_what_each_note_is(capsys) -> None:
    code, out, _ = _run(capsys, "notes")
    assert code == 0
    for note in notes.NOTES:
        assert f"note {note.number}  ({note.file})" in out
        assert all(url in out for _, url in note.links)
    _, listed, _ = _run(capsys, "list")
    assert notes.legend() in listed


def test_bare_nn_rosetta_prints_the_help_and_exits_0() -> None:
    done = subprocess.run([sys.executable, "-m", "nn_rosetta"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr
    assert done.stdout.startswith("usage: nn-rosetta") and "nn-rosetta cheatsheet" in done.stdout


def test_version_prints_the_installed_package_version() -> None:
    done = subprocess.run([sys.executable, "-m", "nn_rosetta", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == f"nn-rosetta {importlib.metadata.version('nn-rosetta')}\n"


def test_port_without_the_frameworks_names_the_extra_to_install(tmp_path) -> None:
    probe = ("import sys; sys.modules['tensorflow'] = sys.modules['keras'] = None\n"
             "from nn_rosetta import cli\n"
             "sys.exit(cli.main(['port', 'model.keras', '--out', 'ported']))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert 'pip install "nn-rosetta[torch,tf]"' in done.stderr
    assert not (tmp_path / "ported").exists()


def test_help_is_plain_text() -> None:
    done = subprocess.run([sys.executable, "-m", "nn_rosetta", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    assert "``" not in done.stdout and ":class:" not in done.stdout
    assert "nn-rosetta cheatsheet" in done.stdout and "side by side from 100 columns" in (
        done.stdout)


def test_a_closed_pipe_ends_quietly() -> None:
    reader = subprocess.Popen([sys.executable, "-m", "nn_rosetta", "cheatsheet", "--width", "120"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # like `| head` leaving before the output is written
    with reader.stderr:
        err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


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


@pytest.mark.parametrize("concept", catalog.concepts(), ids=lambda c: c.name)
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
    modules = {c.module for c in catalog.concepts()}
    assert {g.page for g in catalog.groups()} == {catalog.page_of(m)[0] for m in modules}
    assert sum(len(g.translations) for g in catalog.groups()) == len(catalog.concepts())
    assert [t.name for g in catalog.groups() if not g.registered for t in g.translations] == [
        o.name for o in catalog.OUTSIDE_REGISTRY]


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
