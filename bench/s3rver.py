"""Run s3rver, a Node.js S3 server that keeps objects as files, on loopback.

moto serves a ranged GET by copying the whole object first, so a benchmark
of ranged reads against it measures moto. s3rver streams the requested
bytes from its files, as an object store does. ``make bench`` installs it
with npm into ``bench/.s3rver``. Without Node.js the benchmark leaves its
rows out and writes a line about it on the page.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from serverprocess import first_found, stop

__all__ = ["S3rver", "s3rver_command"]

logger = logging.getLogger(__name__)

INSTALL_DIR = Path(__file__).resolve().parent / ".s3rver"
EXECUTABLE = INSTALL_DIR / "node_modules" / ".bin" / "s3rver"
START_TIMEOUT_S = 30.0
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")

# s3rver's built-in key pair; it signs nothing of value.
ACCESS_KEY = "S3RVER"


def s3rver_command() -> Path | None:
    """Return the installed s3rver executable, or None when it is missing."""
    if EXECUTABLE.exists() and shutil.which("node"):
        return EXECUTABLE
    return None


class S3rver:
    """An s3rver process on 127.0.0.1 with one bucket, stopped on exit.

    Parameters
    ----------
    bucket : str
        Bucket created at start.
    """

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.endpoint_url = ""
        self._folder: tempfile.TemporaryDirectory | None = None
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        """Process id of the server."""
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> S3rver:
        command = s3rver_command()
        if command is None:
            raise FileNotFoundError(f"s3rver is not installed in {INSTALL_DIR}")
        self._folder = tempfile.TemporaryDirectory(prefix="bench-s3rver-")
        self._process = subprocess.Popen(
            [
                str(command),
                "--directory",
                self._folder.name,
                "--address",
                "127.0.0.1",
                "--port",
                "0",
                "--configure-bucket",
                self.bucket,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        port = self._wait_for_port()
        self.endpoint_url = f"http://127.0.0.1:{port}"
        logger.info("started s3rver pid %d at %s", self.pid, self.endpoint_url)
        return self

    def _wait_for_port(self) -> int:
        """Read the server's output until it names its port."""
        assert self._process is not None and self._process.stdout is not None
        port = first_found(self._process.stdout, _port_of, START_TIMEOUT_S)
        if port is None:
            self._stop()
            raise RuntimeError(f"s3rver did not start within {START_TIMEOUT_S:.0f} s")
        return port

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def client(self) -> BaseClient:
        """Return a boto3 client that writes to the server.

        Checksums are sent only where an operation requires them, because
        s3rver predates the checksum headers that boto3 adds by default.
        """
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=ACCESS_KEY,
            region_name="us-east-1",
            config=Config(
                request_checksum_calculation="when_required",
                s3={"addressing_style": "path"},
            ),
        )


def _port_of(line: str) -> int | None:
    """Return the port of s3rver's "listening" line, if it is one."""
    match = _LISTENING.search(line)
    return int(match.group(1)) if match else None
