"""The command line when the program reading its output closes it early,
as ``intake-earthscope list | head -1`` does."""

from __future__ import annotations

import subprocess
import sys

from intake_earthscope.cli import EXIT_PROBLEM


def test_closed_pipe_exits_quietly() -> None:
    """The reading end closes before the command writes a line: no
    traceback and no message, exit code 1."""
    process = subprocess.Popen(
        [sys.executable, "-m", "intake_earthscope", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Starting the interpreter and importing the package take about a
    # second here, so the pipe is closed before the command prints.
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=120)

    assert process.returncode == EXIT_PROBLEM
    assert err.decode() == ""
