"""``serve`` with file names that S3 keys cannot carry, and a closed stdout.

Each test runs ``python -m intake_earthscope.testing serve`` as a
subprocess on 127.0.0.1. Whatever goes wrong, serve must end with one error
line and no traceback, and its server must stop with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_serve_recipe import (  # noqa: F401 (a fixture)
    LoopbackS3Client,
    shell_environment,
    stop,
)

SERVE = [sys.executable, "-m", "intake_earthscope.testing", "serve"]


def run_serve(
    options: list[str], cwd: Path, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run serve with a stdin pipe that closes at once, so a server that
    starts stops again."""
    return subprocess.run(
        [*SERVE, *options],
        cwd=cwd,
        env=environment,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "then run serve again" in lines[0]
    return lines[0]


@pytest.mark.timeout(120)
def test_non_utf8_name_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "good.txt").write_bytes(b"good")
    with open(os.fsencode(tree) + b"/bad-\xff.txt", "wb") as file:
        file.write(b"bad")

    result = run_serve(["--upload", "mirror=tree"], tmp_path, shell_environment)

    line = assert_one_error_line(result)
    assert "bad-" in line
    assert "not valid UTF-8" in line


@pytest.mark.timeout(120)
def test_key_rejected_by_server_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    """moto 5.2 returns 404 to a PUT of a key with a line feed in it."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "line\nfeed.txt").write_bytes(b"x")

    result = run_serve(["--upload", "mirror=tree"], tmp_path, shell_environment)

    line = assert_one_error_line(result)
    assert "rejected the key 'line\\nfeed.txt'" in line


@pytest.mark.timeout(120)
def test_closed_stdout_pipe_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    """A reader that goes away before the port is printed stops the server."""
    server = subprocess.Popen(
        [*SERVE, "--bucket", "mirror"],
        cwd=tmp_path,
        env=shell_environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        # serve imports moto before it writes anything, which takes far
        # longer than this close.
        server.stdout.close()
        status = server.wait(timeout=60)
        errors = server.stderr.read()
    finally:
        stop(server)

    assert status == 1, errors
    assert "Traceback" not in errors
    assert "BrokenPipeError" not in errors
    assert "stdout was closed" in errors
