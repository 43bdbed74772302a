"""Files of ``serve --upload`` that cannot be stored, and uploads that overlap.

Each test runs ``python -m intake_earthscope.testing serve`` as a
subprocess on 127.0.0.1, as a user runs it. A file that cannot be stored
stops the command with status 2 and one line that names the file, before
anything is printed on stdout. Where two uploads give the same key, the
later one's file is stored, as with one ``aws s3 sync`` per upload.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_serve_recipe import (  # noqa: F401 (a fixture)
    LoopbackS3Client,
    shell_environment,
    stop,
)

from intake_earthscope.s3serve import Upload, _fill_buckets, _plan_uploads
from intake_earthscope.testing import LoopbackS3

SERVE = [sys.executable, "-m", "intake_earthscope.testing", "serve"]


def run_serve(
    options: list[str],
    cwd: Path,
    environment: dict[str, str],
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run serve, after the command ``prefix``, to its end. Its stdin is a
    pipe that closes at once, so a server that starts stops again."""
    return subprocess.run(
        [*prefix, *SERVE, *options],
        cwd=cwd,
        env=environment,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_stopped_on(result: subprocess.CompletedProcess[str], path: Path) -> None:
    """Check that serve exited with status 2 and one error line naming ``path``."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m intake_earthscope.testing serve: error: ")
    assert f"{path}:" in lines[0]
    assert "then run serve again" in lines[0]


def without_root_file_access() -> list[str]:
    """Return a command prefix under which mode 000 makes a file unreadable.

    Root reads such files through the capabilities CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, so for root the prefix runs the command with both
    removed from its capability bounding set, which ``setpriv`` from
    util-linux does. Skips where root has no ``setpriv``.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip(
            "root reads a file of mode 000 anyway, and setpriv (util-linux), "
            "which drops that privilege, is not installed"
        )
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


@pytest.mark.timeout(120)
def test_unreadable_file_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    prefix = without_root_file_access()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "readable.txt").write_bytes(b"ok")
    secret = tree / "secret.txt"
    secret.write_bytes(b"no")
    secret.chmod(0o000)

    result = run_serve(["--upload", "mirror=tree"], tmp_path, shell_environment, prefix)

    assert_stopped_on(result, secret)
    assert "permission denied" in result.stderr
    assert "chmod a+rX" in result.stderr


@pytest.mark.timeout(120)
def test_unreadable_directory_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    prefix = without_root_file_access()
    tree = tmp_path / "tree"
    closed = tree / "closed"
    closed.mkdir(parents=True)
    (closed / "inside.txt").write_bytes(b"x")
    closed.chmod(0o000)

    result = run_serve(["--upload", "mirror=tree"], tmp_path, shell_environment, prefix)
    closed.chmod(0o755)

    assert_stopped_on(result, closed)
    assert "cannot list this directory" in result.stderr


@pytest.mark.timeout(120)
def test_broken_symlink_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "good.txt").write_bytes(b"good")
    link = tree / "gone.txt"
    link.symlink_to(tmp_path / "removed-target.txt")

    result = run_serve(["--upload", "mirror=tree"], tmp_path, shell_environment)

    assert_stopped_on(result, link)
    assert "broken symbolic link to" in result.stderr
    assert "removed-target.txt" in result.stderr


@pytest.mark.timeout(120)
def test_symlink_loop_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    inner = tmp_path / "tree" / "day"
    inner.mkdir(parents=True)
    (inner / "data.txt").write_bytes(b"x")
    link = inner / "up"
    link.symlink_to("..")

    result = run_serve(["--upload", "mirror=tree"], tmp_path, shell_environment)

    assert_stopped_on(result, link)
    assert f"symbolic link to {tmp_path / 'tree'}, which contains the link" in (
        result.stderr
    )


@pytest.mark.timeout(120)
def test_fifo_stops_serve(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    fifo = tree / "pipe"
    os.mkfifo(fifo)

    result = run_serve(["--upload", "mirror=tree"], tmp_path, shell_environment)

    assert_stopped_on(result, fifo)
    assert "not a regular file" in result.stderr


def test_removed_file_raises_with_fix(s3: LoopbackS3, tmp_path: Path) -> None:
    # serve reads each file after it has listed them all and started the
    # server. A subprocess offers no moment between the two to remove a
    # file, so this test calls the two steps itself, against a real server.
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "kept.txt").write_bytes(b"kept")
    (tree / "removed.txt").write_bytes(b"removed")
    upload = Upload("mirror", "", tree)
    objects, overlaps = _plan_uploads([upload])
    (tree / "removed.txt").unlink()

    with pytest.raises(FileNotFoundError) as caught:
        _fill_buckets(s3.endpoint_url, "us-east-1", [], objects)

    assert overlaps == []
    assert caught.value.filename == str(tree / "removed.txt")
    assert caught.value.strerror is not None
    assert "removed while serve was storing the upload" in caught.value.strerror
    assert f"--upload mirror={tree}" in caught.value.strerror


def start_serve(
    options: list[str], cwd: Path, environment: dict[str, str]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SERVE, *options],
        cwd=cwd,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(120)
def test_later_upload_wins_same_key(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    (tmp_path / "base" / "sub").mkdir(parents=True)
    (tmp_path / "base" / "sub" / "day.txt").write_bytes(b"base")
    (tmp_path / "base" / "other.txt").write_bytes(b"other")
    (tmp_path / "patch").mkdir()
    (tmp_path / "patch" / "day.txt").write_bytes(b"patch")
    options = ["--upload", "mirror=base", "--upload", "mirror/sub=patch"]

    server = start_serve(options, tmp_path, shell_environment)
    try:
        assert server.stdout is not None and server.stdin is not None
        summary = json.loads(server.stdout.readline())
        settings = [server.stdout.readline() for _ in range(2)]
        client = LoopbackS3Client(summary["port"])
        keys = client.keys("mirror")
        day = client.read("mirror", "sub/day.txt")
        server.stdin.close()
        assert server.wait(timeout=30) == 0
        assert server.stderr is not None
        errors = server.stderr.read()
    finally:
        stop(server)

    assert keys == ["other.txt", "sub/day.txt"]
    assert day == b"patch"
    assert "# bucket mirror (us-east-1): 2 objects" in settings[1]
    warnings = [line for line in errors.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert f"--upload mirror/sub={tmp_path / 'patch'}" in warnings[0]
    assert f"--upload mirror={tmp_path / 'base'}" in warnings[0]
    assert "replaces 1 object" in warnings[0]
    assert "s3://mirror/sub/day.txt" in warnings[0]


@pytest.mark.timeout(120)
def test_symlinked_directory_is_uploaded(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "day.txt").write_bytes(b"day")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / ".hidden").write_bytes(b"hidden")
    (tmp_path / "tree" / "linked").symlink_to(tmp_path / "elsewhere")

    server = start_serve(["--upload", "mirror=tree"], tmp_path, shell_environment)
    try:
        assert server.stdout is not None and server.stdin is not None
        summary = json.loads(server.stdout.readline())
        keys = LoopbackS3Client(summary["port"]).keys("mirror")
        server.stdin.close()
        assert server.wait(timeout=30) == 0
    finally:
        stop(server)

    assert keys == [".hidden", "linked/day.txt"]
