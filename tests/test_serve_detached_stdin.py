"""``serve`` started without a usable stdin, as nohup and scripts start it.

GNU nohup (coreutils 9.1) opens /dev/null for writing in place of a terminal
stdin, and a shell script gives a command that it runs with ``&`` stdin from
/dev/null. Neither stdin
can carry an end of input that means "stop", so serve must keep serving and
stop on SIGTERM or SIGINT. Each test runs ``python -m intake_earthscope.testing
serve`` on 127.0.0.1 behind ``sh`` redirections.
"""

from __future__ import annotations

import json
import signal
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
NOTE = "so end of input cannot stop the server"


def start_serve(
    redirection: str, cwd: Path, environment: dict[str, str]
) -> subprocess.Popen[str]:
    """Start serve of a bucket with one object, after ``redirection``."""
    tree = cwd / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(b"a")
    command = [*SERVE, "--upload", "mirror=tree"]
    return subprocess.Popen(
        ["sh", "-c", f'exec "$@" {redirection}', "sh", *command],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


STDIN_FORMS = {
    "closed": "0<&-",
    "dev_null": "</dev/null",
    # nohup's form: /dev/null opened for writing, so reading it fails.
    "dev_null_write_only": "0>/dev/null",
    # A file open only for writing, which passes the check for /dev/null but
    # fails on the first read with EBADF.
    "file_write_only": "0>stdin.txt",
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("redirection", STDIN_FORMS.values(), ids=STDIN_FORMS)
def test_detached_stdin_serves_until_sigterm(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
    redirection: str,
) -> None:
    server = start_serve(redirection, tmp_path, shell_environment)
    try:
        assert server.stdout is not None and server.stderr is not None
        summary = json.loads(server.stdout.readline())
        # serve prints the note once it has decided not to watch stdin, so
        # a server that stopped at end of input prints another line here.
        note = server.stderr.readline()
        read = LoopbackS3Client(summary["port"]).read("mirror", "a.txt")
        running = server.poll() is None
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        errors = server.stderr.read()
    finally:
        stop(server)

    assert NOTE in note
    assert f"kill {server.pid}" in note
    assert read == b"a"
    assert running
    assert code == 0
    assert "stopped the loopback S3 server (SIGTERM)" in errors
    assert "Traceback" not in note + errors


@pytest.mark.timeout(120)
def test_detached_stdin_stops_on_sigint(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    server = start_serve("</dev/null", tmp_path, shell_environment)
    try:
        assert server.stdout is not None and server.stderr is not None
        json.loads(server.stdout.readline())
        note = server.stderr.readline()
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)
        errors = server.stderr.read()
    finally:
        stop(server)

    assert NOTE in note
    assert code == 0
    assert "stopped the loopback S3 server (Ctrl-C)" in errors
    assert "Traceback" not in errors
