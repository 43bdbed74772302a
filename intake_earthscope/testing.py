"""Loopback S3 server and AWS environment isolation for tests and demos.

:class:`LoopbackS3` runs moto's S3 emulation in a child process bound to
``127.0.0.1`` on a port the operating system chooses. The child exits when
:meth:`LoopbackS3.stop` closes its stdin, and also when the parent process
dies, so a crashed test run leaves no server behind.

:func:`isolated_aws_environment` gives a test throw-away credentials and
blank AWS configuration files, so neither a developer's profile nor an
instance metadata service can change what a test does.

Both, and the bucket and object helpers, import only the standard library.
moto and boto3 (the ``demo`` extra) are imported when a server starts or a
client is made. All but :class:`LoopbackS3` are defined in
:mod:`intake_earthscope.s3serve`, which the server process runs.

Run ``python -m intake_earthscope.testing serve`` to start a server by hand.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient

from intake_earthscope import s3serve
from intake_earthscope.s3serve import (
    DEFAULT_REGION,
    LOOPBACK_HOST,
    REMOVED_AWS_VARIABLES,
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    Upload,
    _client,
    _require_module,
    create_bucket,
    isolated_aws_environment,
    isolated_aws_variables,
    main,
    put_public_object,
)

__all__ = [
    "DEFAULT_REGION",
    "LOOPBACK_HOST",
    "REMOVED_AWS_VARIABLES",
    "TEST_ACCESS_KEY_ID",
    "TEST_SECRET_ACCESS_KEY",
    "LoopbackS3",
    "Upload",
    "create_bucket",
    "isolated_aws_environment",
    "isolated_aws_variables",
    "put_public_object",
]

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
_STDERR_TAIL_BYTES = 4000

# Run by the server process: load this file and call main() with the
# arguments that follow the file's path.
_SERVER_BOOTSTRAP = (
    "import runpy, sys; runpy.run_path(sys.argv[1])['main'](sys.argv[2:])"
)


class LoopbackS3:
    """moto S3 server in a child process on a loopback port.

    Parameters
    ----------
    environment : Mapping[str, str], optional
        Variables added to the server process's environment, for example
        ``{"INITIAL_NO_AUTH_ACTION_COUNT": "0"}`` to make moto enforce IAM.
        The server process inherits no ``AWS_*`` variables from the parent.
    startup_timeout : float
        Seconds to wait for the server to report its port.

    Attributes
    ----------
    port : int
        TCP port the server listens on, chosen by the operating system.
        0 until :meth:`start` returns.

    Notes
    -----
    The server process watches its stdin and exits when the pipe closes,
    which happens on :meth:`stop`, when this object is garbage-collected, and
    when the parent process dies. It also polls its parent's process id, so
    it exits when the parent dies even if a forked grandchild keeps the pipe
    open.

    Everything the server stores is lost when it stops, and :meth:`reset`
    clears it while the server runs.

    Examples
    --------
    >>> with LoopbackS3() as s3:  # doctest: +SKIP
    ...     client = s3.client()
    ...     create_bucket(client, "open-data", "us-east-2")
    ...     put_public_object(client, "open-data", "a#1", b"bytes")
    ...     fs = s3fs.S3FileSystem(**s3.anonymous_storage_options())
    ...     fs.cat_file("open-data/a#1", start=0, end=2)
    b'by'
    """

    def __init__(
        self,
        environment: Mapping[str, str] | None = None,
        *,
        startup_timeout: float = _STARTUP_TIMEOUT_S,
    ) -> None:
        self.port = 0
        self._environment = dict(environment or {})
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"LoopbackS3(endpoint_url={self.endpoint_url!r}, {state})"

    def __enter__(self) -> LoopbackS3:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """URL of the server, ``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the server process, or None before :meth:`start`."""
        return None if self._process is None else self._process.pid

    def is_running(self) -> bool:
        """Return True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> LoopbackS3:
        """Start the server process and wait until it listens.

        Returns
        -------
        LoopbackS3
            This object, so ``server = LoopbackS3().start()`` works.

        Raises
        ------
        RuntimeError
            If the server is already running, or its process exits or prints
            something other than its port.
        TimeoutError
            If the port is not reported within ``startup_timeout`` seconds.
        ImportError
            If moto is not installed.
        """
        if self._process is not None:
            raise RuntimeError(f"{self!r} is already started; call stop() first")
        _require_module("moto", "LoopbackS3")

        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            _server_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_server_environment(self._environment),
        )

        try:
            self.port = self._read_port()
        except BaseException:
            self.stop()
            raise

        logger.info("started moto S3 server pid %d at %s", self.pid, self.endpoint_url)
        return self

    def stop(self) -> None:
        """Stop the server process and wait until it has exited.

        Closing the server's stdin makes it shut down. A server that has not
        exited after 10 s is killed. Calling this again does nothing.
        """
        process, self._process = self._process, None
        if process is None:
            return

        _close_quietly(process.stdin)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            logger.warning(
                "moto S3 server pid %d did not exit; killing it", process.pid
            )
            process.kill()
            process.wait()

        _close_quietly(process.stdout)
        _close_quietly(self._stderr)
        self._stderr = None
        logger.info("stopped moto S3 server pid %d", process.pid)

    def reset(self) -> None:
        """Delete every bucket and object through moto's ``/moto-api/reset``.

        Raises
        ------
        RuntimeError
            If the server is not running.
        urllib.error.URLError
            If the request fails.
        """
        if not self.is_running():
            raise RuntimeError(f"{self!r} is not running; call start() first")

        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST"
        )
        # An empty ProxyHandler keeps the request off any configured proxy.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=_STOP_TIMEOUT_S) as response:
            response.read()
        logger.debug("reset moto S3 server at %s", self.endpoint_url)

    def client(self, region: str = DEFAULT_REGION) -> BaseClient:
        """Create a boto3 S3 client for this server.

        Parameters
        ----------
        region : str
            Region the client signs requests for.

        Returns
        -------
        botocore.client.BaseClient
            An S3 client signed with the throw-away test credentials, using
            path-style addressing and no proxy.

        Notes
        -----
        boto3 still reads the AWS configuration files and ``AWS_PROFILE``, so
        a profile that does not exist raises ``ProfileNotFound``. Use
        :func:`isolated_aws_environment` to make a test independent of them.
        """
        _require_module("boto3", "LoopbackS3.client")
        return _client(self.endpoint_url, region)

    def anonymous_storage_options(self) -> dict[str, Any]:
        """Return s3fs ``storage_options`` for unsigned requests to this server."""
        return {"anon": True, "client_kwargs": {"endpoint_url": self.endpoint_url}}

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        line = _read_line(self._process.stdout, self._startup_timeout)

        try:
            port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            raise RuntimeError(self._startup_failure(line)) from None

        if not 0 < port < 65536:
            raise RuntimeError(self._startup_failure(line))
        return port

    def _startup_failure(self, line: bytes) -> str:
        assert self._process is not None
        try:
            returncode = self._process.wait(timeout=1.0)
            status = f"exited with status {returncode}"
        except subprocess.TimeoutExpired:
            status = "is running"

        return (
            f"moto S3 server process {status} without reporting its port; "
            f'expected a line like {{"port": 12345}} on stdout, got {line!r}. '
            f"Its stderr ends with:\n{self._stderr_tail()}"
        )

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
        return self._stderr.read().decode("utf-8", errors="replace")


def _server_command() -> list[str]:
    if not sys.executable:
        raise RuntimeError("sys.executable is empty, so no server process can start")

    # The server runs this file by path rather than with -m, so it never
    # imports the package's __init__ and needs no PYTHONPATH entry. -P keeps
    # the working directory off sys.path, so files there cannot shadow the
    # modules the server imports.
    return [
        sys.executable,
        "-P",
        "-c",
        _SERVER_BOOTSTRAP,
        str(Path(s3serve.__file__).resolve()),
        "serve",
        "--parent-pid",
        str(os.getpid()),
    ]


def _server_environment(extra: Mapping[str, str]) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AWS_")
    }
    environment.update(extra)
    return environment


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    lines: queue.Queue[bytes] = queue.Queue(maxsize=1)
    reader = threading.Thread(
        target=lambda: lines.put(stream.readline()),
        name="loopback-s3-startup",
        daemon=True,
    )
    reader.start()

    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(
            f"moto S3 server reported no port within {timeout} s; "
            "pass a larger startup_timeout if the machine is slow"
        ) from None


def _close_quietly(stream: IO[bytes] | None) -> None:
    if stream is None:
        return
    with contextlib.suppress(OSError):
        stream.close()


if __name__ == "__main__":
    sys.exit(main())
