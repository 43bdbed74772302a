"""A reply header that is not UTF-8 text, on requests sent through s3fs.

aiobotocore decodes every header of a reply as UTF-8 and raises botocore's
``HTTPClientError`` where one is not, so the HEAD of :func:`object_stat` and
a GET sent through s3fs failed with that error, which names no object. The
server is a loopback socket server that sends an ETag with the bytes 0xFF
0xFE, which moto never sends.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import BotoCoreError
from test_s3http_body_faults import BODY, KEY, ScriptedServer
from test_storage_s3fs_content_range import _s3fs_client  # noqa: F401 (autouse)

from intake_earthscope.errors import StorageUnavailableError
from intake_earthscope.storage import object_stat, read_bytes

from conftest import s3_spec

BUCKET = "undecodable"
REGION = "us-east-2"
ETAG = b'"ab\xff\xfecd"'


def reply(status: str, body: bytes, extra: bytes = b"") -> bytes:
    """Return an HTTP/1.1 reply with the undecodable ETag."""
    return (
        f"HTTP/1.1 {status}\r\nContent-Length: 10\r\n".encode()
        + b"ETag: "
        + ETAG
        + b"\r\nLast-Modified: Wed, 01 Jan 2025 00:00:00 GMT\r\n"
        + extra
        + b"\r\n"
        + body
    )


# A HEAD reply announces the object's length and has no body.
HEAD_REPLY = reply("200 OK", b"")
GET_REPLY = reply("206 Partial Content", BODY, b"Content-Range: bytes 0-9/10\r\n")


def check_message(message: str, method: str) -> None:
    assert f"invalid response to {method} {KEY}" in message
    assert "not UTF-8" in message
    assert f"s3://{BUCKET}/{KEY}" in message


@pytest.mark.timeout(60)
def test_head_undecodable_etag_named() -> None:
    # s3fs may send the request again, so the server has a reply for each.
    with ScriptedServer([HEAD_REPLY] * 10) as server:
        spec = s3_spec(server.url, BUCKET, REGION)
        with pytest.raises(StorageUnavailableError) as caught:
            object_stat(spec, KEY)

    check_message(str(caught.value), "HEAD")
    assert not isinstance(caught.value, BotoCoreError)


@pytest.mark.timeout(60)
def test_s3fs_get_undecodable_etag_named() -> None:
    with ScriptedServer([GET_REPLY] * 10) as server:
        spec = s3_spec(server.url, BUCKET, REGION)
        with pytest.raises(StorageUnavailableError) as caught:
            read_bytes(spec, KEY, 0, 10)

    check_message(str(caught.value), "GET")
    assert not isinstance(caught.value, BotoCoreError)
