"""Settings that ``python -m intake_earthscope.testing serve`` prints.

The server is started as a user starts it, in a subprocess on 127.0.0.1,
with real files uploaded under a prefix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_serve_recipe import shell_environment, stop  # noqa: F401 (a fixture)

from intake_earthscope.s3serve import Upload, _settings_text

URL = "http://127.0.0.1:40817"


def root_line(text: str) -> str:
    return next(line for line in text.splitlines() if "--root" in line)


def test_settings_root_has_upload_prefix(tmp_path: Path) -> None:
    uploads = [Upload("mirror", "sage/", tmp_path)]

    text = _settings_text(URL, "us-east-1", {"mirror": 3}, uploads)

    assert f"--root s3://mirror/sage --storage-option endpoint_url={URL}" in text


def test_settings_root_prefers_filled_bucket(tmp_path: Path) -> None:
    uploads = [Upload("empty", "", tmp_path), Upload("data", "x/y/", tmp_path)]

    text = _settings_text(URL, "us-east-1", {"empty": 0, "data": 2}, uploads)

    assert "--root s3://data/x/y " in root_line(text)


def test_settings_root_of_bucket_only() -> None:
    text = _settings_text(URL, "us-east-1", {"plain": 0})

    assert "--root s3://plain " in root_line(text)


@pytest.mark.timeout(120)
def test_served_settings_name_prefix(
    tmp_path: Path,
    shell_environment: dict[str, str],  # noqa: F811 (the fixture)
) -> None:
    tree = tmp_path / "tree"
    (tree / "miniseed").mkdir(parents=True)
    (tree / "miniseed" / "one.txt").write_bytes(b"one")
    command = [
        sys.executable, "-m", "intake_earthscope.testing", "serve",
        "--upload", "mirror//sage//=tree",
    ]  # fmt: skip
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=shell_environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        summary = json.loads(server.stdout.readline())
        lines = [server.stdout.readline() for _ in range(4)]
        server.stdin.close()
        assert server.wait(timeout=30) == 0
        assert server.stderr is not None
        errors = server.stderr.read()
    finally:
        stop(server)

    assert summary["buckets"] == ["mirror"]
    assert "stopped the loopback S3 server (end of input)" in errors
    assert "--root s3://mirror/sage " in root_line("".join(lines))
