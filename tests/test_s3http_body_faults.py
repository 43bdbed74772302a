"""GET bodies that do not match their headers, read over plain HTTP.

A raw socket server on 127.0.0.1 sends each reply exactly as a test scripts
it: a Content-Length that is false, listed twice or alongside chunked
encoding, a Content-Range other than the range requested, a body cut off
by a close or a reset, or one sent a byte at a time. moto never sends such
replies. Each test then sends a good GET, which
must read the right bytes, on the same kept-alive connection where the
fault left it usable.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence

import pytest

from intake_earthscope import s3http
from intake_earthscope.errors import StorageUnavailableError
from intake_earthscope.storage import read_bytes

from conftest import s3_spec

BUCKET = "body-bucket"
REGION = "us-east-2"
KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
BODY = b"0123456789"

# A reply is the bytes to send, or a function that writes to the client's
# socket and returns whether the connection stays open.
Reply = bytes | Callable[[socket.socket], bool]


def reply(
    body: bytes,
    headers: Sequence[str] | None = None,
    status: str = "206 Partial",
    content_range: str | None = "bytes 0-9/10",
) -> bytes:
    """Return an HTTP/1.1 reply.

    The default header is the true Content-Length. A 206 reply also gets
    ``content_range``, by default that of BODY, the range that
    :func:`read_range` requests.
    """
    if headers is None:
        headers = [f"Content-Length: {len(body)}"]
    if status.startswith("206") and content_range is not None:
        headers = [*headers, f"Content-Range: {content_range}"]
    lines = "".join(f"{header}\r\n" for header in headers)
    return f"HTTP/1.1 {status}\r\n{lines}\r\n".encode() + body


GOOD = reply(BODY)


class ScriptedServer:
    """Send one scripted reply per request, in order, on kept-alive connections.

    ``connections`` lists, per request received, the number of the
    connection it came on (1 for the first connection accepted).
    """

    def __init__(self, replies: Sequence[Reply]) -> None:
        self._replies = list(replies)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []
        self.connections: list[int] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> ScriptedServer:
        self._start(self._accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        # On Linux, shutdown() wakes a thread blocked in accept() or recv()
        # on the socket, and close() alone does not.
        with self._lock:
            sockets = [self._listener, *self._clients]
        for each in sockets:
            try:
                each.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it already
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            number += 1
            with self._lock:
                self._clients.append(client)
            self._start(self._serve, client, number)

    def _serve(self, client: socket.socket, number: int) -> None:
        with client:
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    try:
                        received = client.recv(65536)
                    except OSError:
                        return
                    if not received:
                        return
                    pending += received
                pending = pending.partition(b"\r\n\r\n")[2]
                with self._lock:
                    self.connections.append(number)
                    if not self._replies:
                        return
                    next_reply = self._replies.pop(0)
                try:
                    if isinstance(next_reply, bytes):
                        client.sendall(next_reply)
                    elif not next_reply(client):
                        return
                except OSError:
                    return


@pytest.fixture(autouse=True)
def _one_quick_attempt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One attempt per read, a 1 s read timeout, a 2 s attempt deadline and
    a connection pool of the test's own."""
    monkeypatch.setattr(s3http, "_pools", {})
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "urllib3")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", "2")
    s3http.clear_routes()
    yield
    s3http.clear_routes()


def read_range(server: ScriptedServer, start: int | None = 0, end: int | None = 10):
    return read_bytes(s3_spec(server.url, BUCKET, REGION), KEY, start, end)


def closing(data: bytes) -> Callable[[socket.socket], bool]:
    """Return a reply that sends ``data`` and closes the connection."""

    def send(client: socket.socket) -> bool:
        client.sendall(data)
        return False

    return send


def resetting(data: bytes) -> Callable[[socket.socket], bool]:
    """Return a reply that sends ``data`` and resets the connection."""

    def send(client: socket.socket) -> bool:
        client.sendall(data)
        time.sleep(0.05)
        # Linger with a zero timeout makes close() send RST, not FIN.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False

    return send


def trickling(client: socket.socket) -> bool:
    """Send headers for 100 bytes, then one byte every 0.1 s (past 2 s)."""
    client.sendall(reply(b"", ["Content-Length: 100"]))
    for _ in range(100):
        client.sendall(b"x")
        time.sleep(0.1)
    return True


# Content-Length values that no body is allocated for


@pytest.mark.timeout(30)
@pytest.mark.parametrize("announced", [10**13, 10**19])
@pytest.mark.parametrize(("start", "end"), [(0, 10), (None, None)])
def test_huge_length_fails_as_short_body(announced, start, end) -> None:
    """A server announces more bytes than fit in memory, sends 30 and closes.

    The read fails like any body cut short, not with MemoryError or
    OverflowError from allocating the announced length.
    """
    status = "200 OK" if start is None else "206 Partial"
    lie = closing(reply(b"x" * 30, [f"Content-Length: {announced}"], status))
    with ScriptedServer([lie, GOOD]) as server:
        with pytest.raises(StorageUnavailableError, match="IncompleteReadError"):
            read_range(server, start, end)
        assert read_range(server) == BODY


@pytest.mark.timeout(30)
def test_false_length_allocates_little() -> None:
    """A reply of 30 bytes to a 10-byte range, sent under a 200 MB
    Content-Length, allocates far less than 200 MB."""
    lie = closing(reply(b"x" * 30, [f"Content-Length: {200 * 2**20}"]))
    with ScriptedServer([lie]) as server:
        tracemalloc.start()
        try:
            with pytest.raises(StorageUnavailableError):
                read_range(server)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak < 20 * 2**20


# Content-Length forms that urllib3 and http.client read differently


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "headers",
    [
        ["Content-Length: 10, 10"],
        ["Transfer-Encoding: chunked", "Content-Length: 40"],
    ],
    ids=["repeated_value", "chunked_with_length"],
)
def test_valid_length_forms_read(headers) -> None:
    """RFC 9110 allows a repeated value, and chunked encoding overrides a length."""
    body = BODY
    if "Transfer-Encoding: chunked" in headers:
        body = b"5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"
    with ScriptedServer([reply(body, headers), GOOD]) as server:
        assert read_range(server) == BODY
        assert read_range(server) == BODY


@pytest.mark.timeout(30)
def test_negative_length_read_to_close() -> None:
    """http.client and urllib3 ignore a negative length; the close ends the body."""
    with ScriptedServer([closing(reply(BODY, ["Content-Length: -5"])), GOOD]) as server:
        assert read_range(server) == BODY
        assert read_range(server) == BODY


# The next GET after a fault


FAULTS: dict[str, Reply] = {
    "close_in_body": closing(reply(b"x" * 30, ["Content-Length: 100"])),
    "reset_in_body": resetting(reply(b"x" * 30, ["Content-Length: 100"])),
    "trickle_past_deadline": trickling,
    "two_lengths_differ": reply(BODY, ["Content-Length: 10", "Content-Length: 12"]),
}
GOOD_REPLIES: dict[str, bytes] = {
    "extra_bytes_after_length": reply(BODY + b"XX", ["Content-Length: 10"]),
    # A 206 reply cannot be empty, because its Content-Range names at least
    # one byte, so the empty reply to the range is a 200.
    "zero_length_extra_reply": reply(GOOD, ["Content-Length: 0"], "200 OK"),
    "two_equal_lengths": reply(BODY, ["Content-Length: 10", "Content-Length: 10"]),
    "chunked": reply(
        b"5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", ["Transfer-Encoding: chunked"]
    ),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_next_get_after_failed_body(fault) -> None:
    with ScriptedServer([FAULTS[fault], GOOD]) as server:
        with pytest.raises(StorageUnavailableError):
            read_range(server)
        assert read_range(server) == BODY


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(GOOD_REPLIES))
def test_next_get_after_odd_body(name) -> None:
    """These replies are read as their Content-Length or chunked encoding
    specifies, and the connection stays in use."""
    expected = b"" if name.startswith("zero_length") else BODY
    with ScriptedServer([GOOD_REPLIES[name], GOOD]) as server:
        assert read_range(server) == expected
        assert read_range(server) == BODY

    assert server.connections == [1, 1]


@pytest.mark.timeout(30)
def test_whole_object_for_range_cut() -> None:
    """A 200 reply with the whole object to a Range request is cut to the range."""
    whole = b"AAAAA" + BODY + b"BBBB"
    with ScriptedServer([reply(whole, status="200 OK"), GOOD]) as server:
        assert read_range(server, 5, 15) == BODY
        assert read_range(server) == BODY

    assert server.connections == [1, 1]


# Content-Range and Content-Length that do not fit the range requested

# Content-Range values that are no reply to bytes 0-9 of an object.
WRONG_RANGES = {
    "other_start": "bytes 5-14/100",
    "other_end": "bytes 0-19/100",
    "whole_object": "bytes 0-99/100",
    "short_of_known_size": "bytes 0-4/100",
    "past_size": "bytes 0-9/5",
    "unsatisfied_form": "bytes */100",
    "other_unit": "items 0-9/100",
}


def failure_of(server: ScriptedServer, start: int = 0, end: int | None = 10) -> str:
    """Read a range that must fail, and return the message of its error."""
    with pytest.raises(StorageUnavailableError) as caught:
        read_range(server, start, end)
    return str(caught.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(WRONG_RANGES))
def test_wrong_content_range_rejected(name, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "3")
    wrong = reply(BODY, content_range=WRONG_RANGES[name])
    with ScriptedServer([wrong, GOOD]) as server:
        message = failure_of(server)
        # The failure is not retried, so the next request reads GOOD.
        assert read_range(server) == BODY

    assert f"invalid response to GET {KEY}" in message
    assert "Range bytes=0-9 was requested" in message
    assert f"Content-Range {WRONG_RANGES[name]!r}" in message
    assert server.url not in message
    assert "cannot reach" not in message


@pytest.mark.timeout(30)
def test_missing_content_range_rejected(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "3")
    bare = reply(BODY, content_range=None)
    with ScriptedServer([bare, GOOD]) as server:
        message = failure_of(server)
        assert read_range(server) == BODY

    assert f"invalid response to GET {KEY}" in message
    assert "the 206 reply to Range bytes=0-9 has no Content-Range" in message


@pytest.mark.timeout(30)
def test_body_shorter_than_content_range() -> None:
    """A Content-Length that agrees with the body but not with the range."""
    short = reply(BODY[:8], content_range="bytes 0-9/100")
    with ScriptedServer([short, GOOD]) as server:
        message = failure_of(server)
        assert read_range(server) == BODY

    assert "Content-Range bytes 0-9 (10 bytes) but a body of 8 bytes" in message


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("start", "end", "content_range"),
    [
        (0, 10, "bytes 0-9/10"),
        (0, 10, "bytes 0-9/*"),
        (0, 20, "bytes 0-9/10"),
        (0, 20, "bytes 0-9/*"),
        (0, None, "bytes 0-9/10"),
        (0, None, "bytes 0-9/*"),
        (5, 15, "bytes 5-14/100"),
    ],
)
def test_matching_content_range_read(start, end, content_range) -> None:
    """A range past the end of the object ends at its last byte, and a size
    given as * leaves that end unknown."""
    with ScriptedServer([reply(BODY, content_range=content_range)]) as server:
        assert read_range(server, start, end) == BODY


@pytest.mark.timeout(30)
def test_conflicting_lengths_named(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "3")
    conflicting = reply(BODY, ["Content-Length: 10", "Content-Length: 12"])
    with ScriptedServer([conflicting, GOOD]) as server:
        message = failure_of(server)
        assert read_range(server) == BODY

    assert f"invalid response to GET {KEY}" in message
    assert "conflicting Content-Length values (10, 12)" in message
    assert "cannot reach" not in message
    assert server.url not in message
