"""Content-Range forms, oversized numbers, secrets and 16 threads on the urllib3 path.

The servers are loopback HTTP servers that send what moto never sends. Their
Content-Range has an upper-case unit or numbers of thousands of digits, or
it is wrong for some requests while other requests on the same connections
get the right one. One test reads the moto server from 16 threads.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest
from test_s3http_body_faults import BODY, GOOD, KEY, ScriptedServer, reply

from intake_earthscope import s3http
from intake_earthscope.errors import StorageUnavailableError
from intake_earthscope.storage import read_bytes
from intake_earthscope.testing import LoopbackS3

from conftest import proxied_object, s3_spec
from loopback_http import LoopbackServer

BUCKET = "range-forms"
REGION = "us-east-2"
OBJECT = bytes(range(256)) * 64
ACCESS_KEY = "AKIDRANGEFORMS0000"
SECRET_KEY = "range/forms/secret/value/0123456789abcdef"


@pytest.fixture(autouse=True)
def _urllib3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reads go over urllib3, with one attempt, short timeouts and a new pool."""
    monkeypatch.setattr(s3http, "_pools", {})
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "urllib3")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "2")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", "5")
    s3http.clear_routes()
    yield
    s3http.clear_routes()


def read(url: str, start: int, end: int, **options: str) -> bytes | bytearray:
    return read_bytes(s3_spec(url, BUCKET, REGION, **options), KEY, start, end)


def failure(url: str, start: int = 0, end: int = 10, **options: str) -> str:
    with pytest.raises(StorageUnavailableError) as caught:
        read(url, start, end, **options)
    return str(caught.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("unit", ["BYTES", "Bytes", "bYtEs"])
def test_unit_case_ignored(unit: str) -> None:
    """Range units are case-insensitive (RFC 9110, section 14.1)."""
    with ScriptedServer([reply(BODY, content_range=f"{unit} 0-9/10"), GOOD]) as server:
        assert read(server.url, 0, 10) == BODY
        assert read(server.url, 0, 10) == BODY

    assert server.connections == [1, 1]


HUGE = "9" * 5000


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "content_range",
    [f"bytes {HUGE}-9/10", f"bytes 0-{HUGE}/*", f"bytes 0-9/{HUGE}"],
    ids=["first", "last", "size"],
)
def test_huge_numbers_rejected(content_range: str) -> None:
    """Numbers past the 4300 digits CPython int() reads give InvalidResponseError."""
    with ScriptedServer([reply(BODY, content_range=content_range), GOOD]) as server:
        message = failure(server.url)
        assert read(server.url, 0, 10) == BODY

    assert "InvalidResponseError" in message
    assert f"invalid response to GET {KEY}" in message
    assert HUGE not in message
    assert len(message) < 1000


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "content_range",
    ["bytes=0-9/10", "bytes 0-9/10, bytes 0-9/10", "bytes 0 - 9/10", "bytes -0-9/10"],
    ids=["equals", "two_values", "spaced", "negative"],
)
def test_malformed_forms_rejected(content_range: str) -> None:
    with ScriptedServer([reply(BODY, content_range=content_range), GOOD]) as server:
        message = failure(server.url)
        assert read(server.url, 0, 10) == BODY

    assert f"Content-Range {content_range!r}" in message


SECRET_PARTS = (SECRET_KEY, ACCESS_KEY, "Signature", "Credential=", "?")


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "fault",
    [
        reply(BODY, content_range="bytes 1-10/10"),
        reply(BODY, content_range=None),
        reply(BODY[:8], content_range="bytes 0-9/10"),
        reply(BODY, ["Content-Length: 10", "Content-Length: 11"]),
    ],
    ids=["other_range", "no_range", "short_body", "two_lengths"],
)
def test_signed_failure_keeps_secrets(fault: bytes) -> None:
    with ScriptedServer([fault]) as server:
        message = failure(server.url, key=ACCESS_KEY, secret=SECRET_KEY)

    for part in SECRET_PARTS:
        assert part not in message
    assert server.url not in message


@pytest.mark.timeout(30)
def test_cut_content_range_hides_secret() -> None:
    # The message quotes the first 77 characters of the header, and the
    # secret key crosses that cut. Cutting before redacting would keep the
    # key's first part.
    value = "bytes " + "1" * 60 + " " + SECRET_KEY
    with ScriptedServer([reply(BODY, content_range=value)]) as server:
        message = failure(server.url, key=ACCESS_KEY, secret=SECRET_KEY)

    assert "Content-Range 'bytes 111" in message
    assert SECRET_KEY[:10] not in message
    assert "[redacted]" in message


class OddStartServer:
    """Serve OBJECT with a wrong Content-Range for every odd first byte.

    The reply to an odd start claims to start one byte later, so a client
    that trusts it places its bytes at the wrong offset. Connections are
    kept alive, so good and rejected replies share them.
    """

    def __init__(self) -> None:
        self.connections: set[int] = set()
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handler())
        self.url = self._server.url

    def __enter__(self) -> OddStartServer:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's method name
                with owner._lock:
                    owner.connections.add(id(self.connection))
                found = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers["Range"])
                assert found is not None
                first, last = int(found[1]), int(found[2])
                claimed_first = first + first % 2
                body = OBJECT[first : last + 1]
                self.send_response(206)
                self.send_header("Content-Length", str(len(body)))
                self.send_header(
                    "Content-Range", f"bytes {claimed_first}-{last}/{len(OBJECT)}"
                )
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def read_or_error(url: str, start: int, end: int) -> bytes | str:
    try:
        return bytes(read(url, start, end))
    except StorageUnavailableError as error:
        return str(error)


@pytest.mark.timeout(120)
def test_sixteen_threads_good_and_rejected() -> None:
    draw = random.Random(16)
    ranges = []
    for _ in range(16 * 25):
        start = draw.randrange(len(OBJECT) - 1)
        ranges.append((start, draw.randrange(start + 1, len(OBJECT) + 1)))

    with OddStartServer() as server, ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(lambda r: read_or_error(server.url, *r), ranges))

    for (start, end), outcome in zip(ranges, outcomes, strict=True):
        if start % 2:
            assert isinstance(outcome, str)
            assert f"Range bytes={start}-{end - 1} was requested" in outcome
        else:
            assert outcome == OBJECT[start:end]
    # Rejected replies close their connection, good ones keep theirs.
    assert len(server.connections) < len(ranges)


@pytest.mark.timeout(120)
def test_sixteen_threads_read_moto(s3: LoopbackS3) -> None:
    draw = random.Random(61)
    ranges = [(0, len(OBJECT)), (len(OBJECT) - 5, len(OBJECT) + 100)]
    for _ in range(16 * 20):
        start = draw.randrange(len(OBJECT))
        ranges.append((start, start + draw.randrange(1, 3000)))

    with proxied_object(s3, BUCKET, REGION, KEY, OBJECT) as proxy:
        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(lambda r: read(proxy.url, *r), ranges))

    for (start, end), outcome in zip(ranges, outcomes, strict=True):
        assert outcome == OBJECT[start:end]
