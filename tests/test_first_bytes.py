"""The first GET of a window read returns the object's size and version.

A window read needs an object's size, its version tag (for the record index
cache) and its first records. Where the plain-HTTP route serves the object,
one ranged GET brings all three, so no HEAD request is sent. Where the
reply does not give the size, ``read_first_bytes`` returns None and the
reader asks with a HEAD as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_s3http_body_faults import BODY, KEY, ScriptedServer, reply
from test_window_failures import CROSSING, bucket, key, lazy, public  # noqa: F401

from intake_earthscope import s3http
from intake_earthscope.errors import ObjectNotFoundError
from intake_earthscope.storage import (
    StorageSpec,
    object_stat,
    read_bytes,
    read_first_bytes,
)
from intake_earthscope.testing import LoopbackS3, create_bucket

from conftest import bucket_of, s3_spec
from faultproxy import FaultProxy

SAGE_BUCKET, SAGE_REGION = bucket_of("sage")
BUCKET, REGION = "first-bytes", "us-east-2"
OBJECT = bytes(range(256)) * 300


@pytest.fixture(autouse=True)
def _fresh_routes() -> Iterator[None]:
    s3http.clear_routes()
    yield
    s3http.clear_routes()


@pytest.fixture
def store(s3: LoopbackS3) -> tuple[StorageSpec, LoopbackS3]:
    client = s3.client(REGION)
    create_bucket(client, BUCKET, REGION)
    client.put_object(Bucket=BUCKET, Key="object", Body=OBJECT)
    client.put_object(Bucket=BUCKET, Key="short", Body=OBJECT[:1000])
    client.put_object(Bucket=BUCKET, Key="empty", Body=b"")
    spec = s3_spec(s3.endpoint_url, BUCKET, REGION, key="testing", secret="testing")
    return spec, s3


def test_first_bytes_size_and_version(store: tuple[StorageSpec, LoopbackS3]) -> None:
    spec, _ = store

    found = read_first_bytes(spec, "object", 4096)

    assert found is not None
    data, size, version, _ = found
    assert bytes(data) == OBJECT[:4096]
    assert size == len(OBJECT)
    assert (size, version) == object_stat(spec, "object")
    assert version
    assert '"' not in version
    assert found.match == f'"{version}"'


def test_first_bytes_of_short_object(store: tuple[StorageSpec, LoopbackS3]) -> None:
    spec, _ = store

    found = read_first_bytes(spec, "short", 4096)

    assert found is not None
    assert bytes(found[0]) == OBJECT[:1000]
    assert found[1] == 1000


def test_first_bytes_of_empty_object(store: tuple[StorageSpec, LoopbackS3]) -> None:
    """S3 replies 416 to a range of an empty object, without its size."""
    spec, _ = store

    assert read_first_bytes(spec, "empty", 4096) is None
    assert object_stat(spec, "empty")[0] == 0


def test_first_bytes_missing_object(store: tuple[StorageSpec, LoopbackS3]) -> None:
    spec, _ = store

    with pytest.raises(ObjectNotFoundError) as caught:
        read_first_bytes(spec, "absent", 4096)

    assert "absent" in str(caught.value)


def test_first_bytes_local_file(tmp_path: Path) -> None:
    """A local file's size comes from a stat, which costs less than a read."""
    (tmp_path / "object").write_bytes(OBJECT)
    spec = StorageSpec("file", str(tmp_path))

    assert read_first_bytes(spec, "object", 4096) is None
    assert read_bytes(spec, "object", 0, 4096) == OBJECT[:4096]


@pytest.mark.timeout(30)
def test_first_bytes_unknown_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Content-Range of size ``*`` leaves the size to a HEAD request."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "urllib3")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    replies = [reply(BODY, content_range="bytes 0-9/*")]
    with ScriptedServer(replies) as server:
        spec = s3_spec(server.url, BUCKET, REGION)

        assert read_first_bytes(spec, KEY, 10) is None


@pytest.mark.timeout(30)
def test_first_bytes_whole_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that ignores the range sends the object, whose length is its
    size."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "urllib3")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    headers = ["Content-Length: 10", 'ETag: "abc123"']
    with ScriptedServer([reply(BODY, headers, "200 OK")]) as server:
        spec = s3_spec(server.url, BUCKET, REGION)

        found = read_first_bytes(spec, KEY, 4)

    assert found is not None
    assert bytes(found[0]) == BODY[:4]
    assert found.size == len(BODY)
    assert found.version == "abc123"
    assert found.match == '"abc123"'


@pytest.mark.parametrize("etag", ['W/"abc123"', "abc123", '""'])
def test_first_bytes_no_match_tag(monkeypatch: pytest.MonkeyPatch, etag: str) -> None:
    """A weak, unquoted or empty ETag gives no tag for If-Match."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "urllib3")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    headers = ["Content-Length: 10", f"ETag: {etag}"]
    with ScriptedServer([reply(BODY, headers, "200 OK")]) as server:
        spec = s3_spec(server.url, BUCKET, REGION)

        found = read_first_bytes(spec, KEY, 4)

    assert found is not None
    assert found.match == ""


def test_window_read_sends_no_head(
    bucket: LoopbackS3,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    public(bucket, 1)
    public(bucket, 2)
    with FaultProxy(bucket.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        dataset = lazy(CROSSING, 20.0).load()

    objects = [r for r in proxy.seen if key(1) in r.path or key(2) in r.path]
    assert dataset.status.values.tolist() == [["ok"]]
    assert [r.method for r in objects if r.method != "GET"] == []
    firsts = {day: next(r for r in objects if key(day) in r.path) for day in (1, 2)}
    assert firsts[1].byte_range == "bytes=0-32767"
    assert firsts[2].byte_range == "bytes=0-32767"
