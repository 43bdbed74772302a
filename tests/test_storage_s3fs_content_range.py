"""Content-Range checks of ranged GETs sent through s3fs.

s3fs returns the body of a 206 reply whatever its Content-Range gives, so a
server or proxy that sends other bytes than those requested would place
them at the wrong offsets. Reads through s3fs must reject such a reply as
the urllib3 path does, naming the key and both ranges. The server is a
loopback socket server that sends scripted replies, which moto never sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_s3http_body_faults import BODY, KEY, ScriptedServer, reply

from intake_earthscope import s3http
from intake_earthscope.errors import StorageUnavailableError
from intake_earthscope.storage import read_bytes

from conftest import s3_spec

BUCKET = "s3fs-ranges"
REGION = "us-east-2"


@pytest.fixture(autouse=True)
def _s3fs_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reads go through s3fs, with one attempt and short timeouts."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "s3fs")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "2")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", "10")
    s3http.clear_routes()
    yield
    s3http.clear_routes()


def read(url: str, start: int | None, end: int | None) -> bytes | bytearray:
    return read_bytes(s3_spec(url, BUCKET, REGION), KEY, start, end)


def failure(url: str, start: int | None = 0, end: int | None = 10) -> str:
    with pytest.raises(StorageUnavailableError) as caught:
        read(url, start, end)
    return str(caught.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "content_range",
    ["bytes 1-10/11", "bytes 0-8/10", "bytes 0-9/9", "bytes 0-9"],
    ids=["shifted", "shorter", "past_size", "no_size"],
)
def test_other_content_range_rejected(content_range: str) -> None:
    with ScriptedServer([reply(BODY, content_range=content_range)]) as server:
        message = failure(server.url)

    assert f"invalid response to GET {KEY}" in message
    assert "Range bytes=0-9 was requested" in message
    assert f"Content-Range {content_range!r}" in message


@pytest.mark.timeout(30)
def test_missing_content_range_rejected() -> None:
    with ScriptedServer([reply(BODY, content_range=None)]) as server:
        message = failure(server.url)

    assert f"invalid response to GET {KEY}" in message
    assert "has no Content-Range header" in message
    assert "Range bytes=0-9" in message


@pytest.mark.timeout(30)
def test_open_range_checked() -> None:
    """A range without an end is checked from its first byte."""
    shifted = reply(BODY[1:], content_range="bytes 5-13/14")
    with ScriptedServer([shifted]) as server:
        message = failure(server.url, 4, None)

    assert "Range bytes=4- was requested" in message
    assert "Content-Range 'bytes 5-13/14'" in message


@pytest.mark.timeout(30)
def test_matching_content_range_read() -> None:
    tail = reply(BODY[4:], content_range="bytes 4-9/10")
    with ScriptedServer([reply(BODY), tail]) as server:
        whole_range = read(server.url, 0, 10)
        open_range = read(server.url, 4, None)

    assert whole_range == BODY
    assert open_range == BODY[4:]


@pytest.mark.timeout(30)
def test_ignored_range_sliced() -> None:
    """A server that ignores Range sends the whole object with 200."""
    whole = reply(BODY, status="200 OK")
    with ScriptedServer([whole, whole]) as server:
        closed_range = read(server.url, 2, 6)
        open_range = read(server.url, 2, None)

    assert closed_range == BODY[2:6]
    assert open_range == BODY[2:]
