"""Fuzz: the command line. Any arguments give the output asked for or one line of usage
error (exit status 2), never a traceback and never a silently adjusted value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn_rosetta import cli
from reference import registry

TOKENS = ("list", "show", "sigmoid", "sigmod", "", "--width", "-5", "0", "19", "20", "80",
          "abc", "--color", "always", "never", "rainbow", "--report", "/nonexistent.json",
          "--help-me", registry.CONCEPTS[-1].name)


@given(argv=st.lists(st.sampled_from(TOKENS), max_size=5))
def test_any_command_line_runs_or_is_refused_in_one_line(argv) -> None:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's usage error, already printed
        code = exit_.code
    assert code in (0, 2), argv


@pytest.mark.parametrize(("argv", "message"), [
    (["show", "sigmoid", "--width", "-5"], "at least 20 columns, got -5"),
    (["show", "sigmoid", "--width", "2.5"], "a whole number of columns, got '2.5'"),
    (["--report", "/nonexistent.json", "list"], "not a readable parity report"),
])
def test_a_bad_value_is_named_not_adjusted(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
