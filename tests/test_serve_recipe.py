"""The user guide's shell recipe for the loopback S3 server, run for real.

The test takes the commands of the guide's two console blocks under
"The loopback server from a shell", runs them as subprocesses in a scratch
directory, checks the server's printed settings against the guide's copy,
then stops the server by closing its stdin. A second test stops it with
SIGINT, as Ctrl-C does. Every process reaches only 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import xarray as xr

from intake_earthscope.testing import REMOVED_AWS_VARIABLES, isolated_aws_variables

from conftest import REPO

HEADING = "### The loopback server from a shell"
CONSOLE_FENCE = re.compile(r"```console\n(.*?)```", re.DOTALL)
# The port the guide shows in its output and commands.
GUIDE_PORT = "40817"
SERVE_COMMAND = "python -m intake_earthscope.testing serve"


def recipe_blocks() -> list[str]:
    """Return the console blocks of the recipe's section of the guide."""
    text = (REPO / "docs/guide.md").read_text()
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    return CONSOLE_FENCE.findall(section)


def commands(block: str) -> list[str]:
    """Return the block's commands, with continued lines joined."""
    joined = block.replace("\\\n", " ")
    return [line[2:] for line in joined.splitlines() if line.startswith("$ ")]


def shown_output(block: str) -> list[str]:
    """Return the lines the block shows after its serve command."""
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if SERVE_COMMAND in line)
    return lines[start + 1 :]


@pytest.fixture
def shell_environment(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell, with throw-away AWS settings and
    this interpreter's bin directory first on PATH."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in REMOVED_AWS_VARIABLES
    }
    settings = tmp_path / "aws"
    settings.mkdir()
    environment.update(isolated_aws_variables(settings))
    bin_directory = str(Path(sys.executable).parent)
    environment["PATH"] = bin_directory + os.pathsep + environment.get("PATH", "")
    return environment


def run(command: str, cwd: Path, environment: dict[str, str]) -> str:
    """Run one of the guide's commands in bash and return its stdout."""
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stderr}"
    return result.stdout


def start_server(
    command: str, cwd: Path, environment: dict[str, str]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        shlex.split(command),
        cwd=cwd,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_lines(stream: IO[str], count: int) -> Iterator[str]:
    for _ in range(count):
        yield stream.readline().rstrip("\n")


def stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.kill()
        server.wait()


@pytest.mark.timeout(600)
def test_guide_recipe_runs(tmp_path: Path, shell_environment: dict[str, str]) -> None:
    first, second = recipe_blocks()
    setup = commands(first)
    serve_command = setup.pop()
    assert serve_command.startswith(SERVE_COMMAND)
    for command in setup:
        run(command, tmp_path, shell_environment)

    server = start_server(serve_command, tmp_path, shell_environment)
    try:
        assert server.stdout is not None and server.stdin is not None
        expected = shown_output(first)
        printed = list(read_lines(server.stdout, len(expected)))
        port = str(json.loads(printed[0])["port"])
        assert printed == [line.replace(GUIDE_PORT, port) for line in expected]

        availability, export = commands(second)
        table = run(availability.replace(GUIDE_PORT, port), tmp_path, shell_environment)
        run(export.replace(GUIDE_PORT, port), tmp_path, shell_environment)

        # The guide's variables in place of --storage-option endpoint_url=.
        variables = dict(shell_environment)
        variables["AWS_ENDPOINT_URL_S3"] = f"http://127.0.0.1:{port}"
        without_option = availability.split(" --storage-option")[0]
        table_from_variable = run(without_option, tmp_path, variables)

        server.stdin.close()
        assert server.wait(timeout=30) == 0
    finally:
        stop(server)

    rows = table.splitlines()[1:]
    assert len(rows) == 2
    assert "True" in rows[0]
    assert "False" in rows[1]
    assert table_from_variable == table
    with xr.open_dataset(tmp_path / "balst.nc") as written:
        assert written.waveform.shape == (2, 86400)
        assert (written.status.values == "ok").all()


@pytest.mark.timeout(120)
def test_serve_stops_on_sigint(
    tmp_path: Path, shell_environment: dict[str, str]
) -> None:
    server = start_server(
        f"{SERVE_COMMAND} --bucket empty", tmp_path, shell_environment
    )
    try:
        assert server.stdout is not None
        summary = json.loads(server.stdout.readline())
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)
        assert server.stderr is not None
        errors = server.stderr.read()
    finally:
        stop(server)

    assert summary["buckets"] == ["empty"]
    assert summary["endpoint_url"] == f"http://127.0.0.1:{summary['port']}"
    assert code == 0
    assert "stopped the loopback S3 server (Ctrl-C)" in errors
    assert "end of input" not in errors
    assert "Traceback" not in errors


@pytest.mark.parametrize(
    ("option", "reason"),
    [
        (["--upload", "mirror"], "give BUCKET=DIR"),
        (["--upload", "mirror=nowhere"], "directory nowhere does not exist"),
        (["--bucket", "Mirror_1"], "invalid bucket name 'Mirror_1'"),
    ],
)
def test_serve_rejects_invalid_options(
    tmp_path: Path, shell_environment: dict[str, str], option: list[str], reason: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "intake_earthscope.testing", "serve", *option],
        cwd=tmp_path,
        env=shell_environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert reason in result.stderr


@pytest.mark.timeout(120)
def test_serve_upload_prefix_and_region(
    tmp_path: Path, shell_environment: dict[str, str]
) -> None:
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "top.txt").write_bytes(b"top")
    (tree / "a" / "b" / "deep.txt").write_bytes(b"deep")
    command = f"{SERVE_COMMAND} --region us-east-2 --upload data/x/y/=tree"
    server = start_server(command, tmp_path, shell_environment)
    try:
        assert server.stdout is not None and server.stdin is not None
        summary = json.loads(server.stdout.readline())
        client = LoopbackS3Client(summary["port"])
        keys = client.keys("data")
        region = client.region("data")
        deep = client.read("data", "x/y/a/b/deep.txt")
        server.stdin.close()
        assert server.wait(timeout=30) == 0
    finally:
        stop(server)

    assert keys == ["x/y/a/b/deep.txt", "x/y/top.txt"]
    assert region == "us-east-2"
    assert deep == b"deep"


class LoopbackS3Client:
    """Unsigned reads from a server that ``serve`` started."""

    def __init__(self, port: int) -> None:
        from botocore import UNSIGNED
        from botocore.config import Config
        from botocore.session import Session

        config = Config(signature_version=UNSIGNED, proxies={})
        self._client = Session().create_client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            config=config,
        )

    def keys(self, bucket: str) -> list[str]:
        listing = self._client.list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in listing.get("Contents", [])]

    def region(self, bucket: str) -> str:
        return self._client.get_bucket_location(Bucket=bucket)["LocationConstraint"]

    def read(self, bucket: str, key: str) -> bytes:
        return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
