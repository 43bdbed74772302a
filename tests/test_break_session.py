"""Event windows, failure reports and profile credentials under hostile setups.

The windows read real miniSEED records from a moto S3 server on loopback
(the objects of tests/test_window_failures.py). In the AssumeRole test a
loopback STS server rejects every role.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
import s3fs
from clusters import process_cluster
from distributed import Client
from test_window_failures import (  # noqa: F401 (_index_cache is an autouse fixture)
    BUCKET,
    REGION,
    _index_cache,
    key,
    lazy,
    load_warned,
    private,
    public,
    url,
)

from intake_earthscope import outcome_table
from intake_earthscope.errors import AccessDeniedError
from intake_earthscope.storage import StorageSpec, read_bytes
from intake_earthscope.testing import LoopbackS3, create_bucket

from conftest import publish
from loopback_http import LoopbackServer


@pytest.fixture
def bucket(s3: LoopbackS3) -> LoopbackS3:
    """The sage bucket, empty, on the moto server."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    return s3


def every_two_seconds(day: str, first: str, count: int) -> list[str]:
    """Return ``count`` reference times two seconds apart from ``first``."""
    start = np.datetime64(f"{day}T{first}")
    times = start + np.arange(count) * np.timedelta64(2, "s")
    return [str(time) for time in times]


# Two batches of one day: 90 windows, the last ones crossing midnight


def test_two_batches_warn_per_batch(bucket: LoopbackS3) -> None:
    """Day 1 is denied and day 2 missing.

    The first 64 windows end before midnight, so their batch reports day 1
    only. The second batch contains the windows that cross into day 2.
    """
    private(bucket, 1)
    times = every_two_seconds("2024-01-01", "23:57:00", 90)

    opened = lazy(times, 20.0, errors="warn")
    chunks = opened.waveform.chunks[0]
    dataset, texts = load_warned(opened)
    table = outcome_table(dataset)

    assert chunks == (64, 26)
    denied = [text for text in texts if f"access denied reading {url(1)}" in text]
    missing = [text for text in texts if "2024-01-02 not found in tier" in text]
    assert len(texts) == 3
    assert len(denied) == 2
    assert len(missing) == 1
    assert "(status 'missing')" in missing[0]
    assert len(table) == 90
    assert set(table["status"]) == {"access_denied"}
    assert np.isnan(dataset.waveform.values).all()


# The raised error crosses a process boundary


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_cluster_raises_same_error(bucket: LoopbackS3) -> None:
    """One batch of 64 windows: day 1 missing, day 2 denied, day 3 not
    miniSEED. The worker rewrites the error's message before raising it,
    so the client must receive the class and the whole message."""
    private(bucket, 2)
    publish(bucket, "sage", {key(3): b"<html>not miniSEED</html>" * 40})
    times = every_two_seconds("2024-01-02", "00:00:00", 32)
    times += every_two_seconds("2024-01-02", "23:58:56", 32)
    dataset = lazy(times, 20.0)
    chunks = dataset.waveform.chunks[0]

    with pytest.raises(AccessDeniedError) as local:
        dataset.load(scheduler="synchronous")
    with (
        process_cluster() as cluster,
        Client(cluster),
        pytest.raises(AccessDeniedError) as remote,
    ):
        dataset.load()

    message = str(remote.value)
    assert chunks == (64,)
    assert message == str(local.value)
    assert message.startswith("3 objects that the windows need failed:\n")
    assert (
        "- missing: object of XX.STA for 2024-01-01 not found in tier 'open'" in message
    )
    assert f"- access_denied: access denied reading {url(2)}" in message
    assert f"- unreadable: invalid miniSEED in s3://{BUCKET}/{key(3)}" in message
    assert message.endswith("(status 'access_denied')")


# A profile whose role STS rejects


class _RejectingSTS(BaseHTTPRequestHandler):
    """Reply to every STS request with the AccessDenied error of AssumeRole."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's method name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = (
            b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            b"<Error><Type>Sender</Type><Code>AccessDenied</Code>"
            b"<Message>not authorized to assume the role</Message></Error>"
            b"<RequestId>1</RequestId></ErrorResponse>"
        )
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refused_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, object]]:
    """Yield the storage_options of a "roled" profile whose AssumeRole the
    loopback STS rejects."""
    server = LoopbackServer(_RejectingSTS).start()
    config = tmp_path / "config"
    config.write_text(
        "[profile base]\naws_access_key_id = AKIABASEPROFILE01\n"
        "aws_secret_access_key = base-profile-secret\n"
        "[profile roled]\nrole_arn = arn:aws:iam::123456789012:role/reader\n"
        "source_profile = base\n"
    )
    (tmp_path / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield {"anon": False, "profile": "roled"}
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


@pytest.mark.parametrize("client", ["urllib3", "s3fs"])
def test_refused_role_access_denied(
    bucket: LoopbackS3,
    refused_role: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
    client: str,
) -> None:
    """A listing and a read raise AccessDeniedError, not botocore's
    ClientError."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", client)
    public(bucket, 1)
    spec = StorageSpec(
        "s3",
        BUCKET,
        region=REGION,
        anonymous=False,
        endpoint_url=bucket.endpoint_url,
        storage_options=refused_role,
    )

    with pytest.raises(AccessDeniedError) as listing:
        lazy(["2024-01-01T23:55:00"], 10.0, storage_options=refused_role)
    with pytest.raises(AccessDeniedError) as read:
        read_bytes(spec, key(1), 0, 10)

    assert f"access denied listing s3://{BUCKET}/miniseed/" in str(listing.value)
    assert f"access denied reading s3://{BUCKET}/{key(1)}" in str(read.value)
