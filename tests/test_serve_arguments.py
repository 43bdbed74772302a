"""Options of ``python -m intake_earthscope.testing serve`` that are rejected.

Each case runs the command as a subprocess, as a user runs it. An invalid
option prints the usage of the ``serve`` subcommand and one error line that
names the value and the fix, and exits with status 2 before a server starts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_serve_recipe import shell_environment  # noqa: F401 (a fixture)

from intake_earthscope.s3serve import _bucket_name_problem

SERVE = [sys.executable, "-m", "intake_earthscope.testing", "serve"]
SERVE_USAGE = "usage: python -m intake_earthscope.testing serve [-h]"
ERROR_PREFIX = "python -m intake_earthscope.testing serve: error: "


def run_serve(
    options: list[str], cwd: Path, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    # Its stdin is a pipe that closes at once, so a server that starts stops
    # again.
    return subprocess.run(
        [*SERVE, *options],
        cwd=cwd,
        env=environment,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--upload", "mirror"], ["'mirror'", "give BUCKET=DIR or BUCKET/PREFIX"]),
        (["--upload", "=tree"], ["'=tree'", "give BUCKET=DIR"]),
        (["--upload", "mirror="], ["'mirror='", "give BUCKET=DIR"]),
        (
            ["--upload", "mirror=nowhere"],
            ["'mirror=nowhere'", "directory nowhere does not exist", "Give the path"],
        ),
        (
            ["--upload", "mirror=tree/file.txt"],
            ["tree/file.txt is a file, not a directory", "Give the directory"],
        ),
        (
            ["--bucket", "Mirror_1"],
            ["'Mirror_1'", "only lowercase letters", "such as 'mirror-1'"],
        ),
        (["--bucket", "ab"], ["'ab'", "it has 2 characters", "3 to 63"]),
        (["--bucket", "x" * 64], ["it has 64 characters"]),
        (["--bucket=-mirror"], ["'-mirror'", "start and end with"]),
        (["--bucket", "a..mirror"], ["'a..mirror'", "two adjacent dots"]),
        (["--bucket", "192.168.5.4"], ["'192.168.5.4'", "form of an IP address"]),
        (["--bucket", "xn--mirror"], ["'xn--mirror'", "prefix 'xn--'"]),
        (["--bucket", "sthree-mirror"], ["prefix 'sthree-'"]),
        (["--bucket", "mirror-s3alias"], ["suffix '-s3alias'"]),
        (["--bucket", "mirror--ol-s3"], ["suffix '--ol-s3'"]),
        (
            ["--upload", "Big/sage=tree"],
            ["'Big' in --upload Big/sage=", "such as 'big'"],
        ),
        (["--upload", "mirror/../x=tree"], ["prefix part '..'", "plain folder"]),
        (["--upload", "mirror/./x=tree"], ["prefix part '.'", "plain folder"]),
        (["--upload", "mirror/ sage=tree"], ["prefix part ' sage'"]),
        (["--region", "us east"], ["'us east'", "such as us-east-1"]),
        (["--region", "US-EAST-1"], ["'US-EAST-1'", "AWS region name"]),
        (["--bogus"], ["unrecognized arguments: --bogus", "serve --help"]),
        (["--parent-pid", "me"], ["--parent-pid", "invalid int value: 'me'"]),
    ],
)
def test_serve_rejects_option(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
    options: list[str],
    expected: list[str],
) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "file.txt").write_bytes(b"x")

    result = run_serve(options, tmp_path, shell_environment)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(SERVE_USAGE)
    error = result.stderr.splitlines()[-1]
    assert error.startswith(ERROR_PREFIX)
    for text in expected:
        assert text in error


@pytest.mark.parametrize(
    "name",
    ["abc", "my-mirror", "a.b.c", "1mirror9", "x" * 63, "192.168.5.mirror"],
)
def test_bucket_name_rules_accept(name: str) -> None:
    assert _bucket_name_problem(name) is None


def test_serve_help_states_rules(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    result = run_serve(["--help"], tmp_path, shell_environment)

    assert result.returncode == 0
    assert "the later item's file is" in result.stdout
    assert "aws s3 sync" in result.stdout
    assert "exits with status 2" in result.stdout
    assert "broken" in result.stdout
    assert "Leave it out when you" in result.stdout
