"""The attempt deadline also bounds the wait for the status line and headers.

The server here accepts each connection on 127.0.0.1, reads the request and
sends a valid reply one byte at a time, each byte well within the read
timeout. Sent whole, its header block takes several seconds.
"""

from __future__ import annotations

import pickle
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from intake_earthscope.errors import StorageUnavailableError
from intake_earthscope.retry import AttemptTimeout
from intake_earthscope.s3http import http_route
from intake_earthscope.storage import (
    StorageSpec,
    clear_listing_cache,
    list_directory,
    object_stat,
    read_bytes,
)

from conftest import s3_spec

BUCKET = "trickle-bucket"
KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
BODY = b"0123456789"
# 121 bytes of headers at 0.15 s a byte take about 18 s to send, so a read
# that ends within MAX_SECONDS was cut by the attempt deadline.
HEADERS = (
    b"HTTP/1.1 206 Partial Content\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Range: bytes 0-9/10\r\n"
    b"Content-Length: 10\r\n\r\n"
)
BYTE_GAP_SECONDS = 0.15
READ_TIMEOUT = "0.5"
ATTEMPT_SECONDS = "0.6"
# The deadline plus room for a busy 2-core machine, where setting up an s3fs
# client alone has taken over 2 s.
MAX_SECONDS = 8.0


class TricklingServer:
    """A loopback server that sends every reply a byte at a time."""

    def __init__(self, byte_gap: float = BYTE_GAP_SECONDS) -> None:
        self.byte_gap = byte_gap
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> TricklingServer:
        accepting = threading.Thread(target=self._accept)
        accepting.start()
        self._threads.append(accepting)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            replying = threading.Thread(target=self._reply, args=(connection,))
            replying.start()
            self._threads.append(replying)

    def _reply(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                part = connection.recv(4096)
                if not part:
                    return
                request += part
            self.requests += 1
            for index in range(len(HEADERS + BODY)):
                if self._stop.wait(self.byte_gap):
                    return
                try:
                    connection.sendall((HEADERS + BODY)[index : index + 1])
                except OSError:
                    # The client gave up and closed the connection.
                    return


@pytest.fixture
def trickling(monkeypatch: pytest.MonkeyPatch) -> Iterator[TricklingServer]:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", READ_TIMEOUT)
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", ATTEMPT_SECONDS)
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    with TricklingServer() as server:
        yield server


def spec_at(server: TricklingServer) -> StorageSpec:
    return s3_spec(server.url, BUCKET, "us-east-2")


@pytest.mark.timeout(30)
def test_trickled_headers_stop_at_deadline(trickling: TricklingServer) -> None:
    spec = spec_at(trickling)
    route = http_route(spec)
    assert route is not None
    began = time.monotonic()

    with pytest.raises(TimeoutError) as caught:
        route.get(spec, KEY, 0, 10)
    elapsed = time.monotonic() - began

    assert elapsed < MAX_SECONDS
    assert trickling.requests == 1
    assert "INTAKE_EARTHSCOPE_ATTEMPT_SECONDS" in str(caught.value)
    assert f"GET {spec.endpoint_url}/{BUCKET}/{KEY}" in str(caught.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("setting", ["urllib3", "s3fs"])
def test_trickled_read_unavailable_quickly(
    trickling: TricklingServer, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", setting)
    began = time.monotonic()

    with pytest.raises(StorageUnavailableError, match="1 attempt") as caught:
        read_bytes(spec_at(trickling), KEY, 0, 10)
    elapsed = time.monotonic() - began

    assert elapsed < MAX_SECONDS
    # Both clients name the setting that bounds the wait, not the retries.
    message = str(caught.value)
    assert f"did not finish within {ATTEMPT_SECONDS} s" in message
    assert "raise INTAKE_EARTHSCOPE_ATTEMPT_SECONDS" in message
    assert "RETRY" not in message
    assert f"{BUCKET}/{KEY}" in str(caught.value.__cause__)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("method", ["HEAD", "LIST"])
def test_trickled_head_and_list_stop(trickling: TricklingServer, method: str) -> None:
    """s3fs sends HEAD and LIST requests, which the deadline bounds too."""
    spec = spec_at(trickling)
    clear_listing_cache()
    began = time.monotonic()

    with pytest.raises(StorageUnavailableError, match="1 attempt") as caught:
        if method == "HEAD":
            object_stat(spec, KEY)
        else:
            list_directory(spec, "miniseed/XX/2024/001/")
    elapsed = time.monotonic() - began

    assert elapsed < MAX_SECONDS
    message = str(caught.value)
    assert message.startswith(f"{method} s3://{BUCKET}/")
    assert f"did not finish within {ATTEMPT_SECONDS} s" in message
    assert "raise INTAKE_EARTHSCOPE_ATTEMPT_SECONDS" in message


@pytest.mark.timeout(30)
def test_slow_reply_within_deadline_read(
    trickling: TricklingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply that ends before the deadline is read whole, byte by byte."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", "30")
    trickling.byte_gap = 0.005

    data = read_bytes(spec_at(trickling), KEY, 0, 10)

    assert data == BODY


def test_attempt_timeout_survives_pickle() -> None:
    """A worker's timeout reaches the client as the same error."""
    error = AttemptTimeout("s3://trickle-bucket/key", 2.5)

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is AttemptTimeout
    assert str(copy) == str(error)
    assert copy.seconds == 2.5
