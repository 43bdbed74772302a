"""Errors of an S3 endpoint that refuses connections or lacks the bucket.

The refused connections go to loopback ports that nothing listens on. The
missing buckets are missing on the moto server on loopback. Each message
must name the endpoint the requests were sent to, and the setting that
chose it.
"""

from __future__ import annotations

import contextlib
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from s3fs import S3FileSystem

from intake_earthscope.collection import Collection, Tier
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import (
    AuthenticationError,
    BucketNotFoundError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
    StorageUnavailableError,
)
from intake_earthscope.request import WaveformRequest
from intake_earthscope.routing import Credentials, build_routes
from intake_earthscope.storage import (
    StorageSpec,
    _describe_endpoint,
    list_directory,
    object_stat,
    read_bytes,
)
from intake_earthscope.testing import LoopbackS3, create_bucket
from intake_earthscope.timeutil import parse_time
from intake_earthscope.windows import open_windows

import mseedgen
from conftest import CLOSED_PORT_URL, bucket_of, collection_spec, publish
from loopback_http import fake_jwt

OPEN_BUCKET, OPEN_REGION = bucket_of("sage")
SAFETY_NET_URL = CLOSED_PORT_URL.rstrip("/")
DAY = "2025-11-10"
KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
REQUEST = dict(
    network="CH",
    station="BALST",
    location="",
    channel="LHZ",
    start=DAY,
    end="2025-11-11",
)


@pytest.fixture
def closed_url() -> str:
    """URL of a loopback port that was free a moment ago and has no listener."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")


@contextlib.contextmanager
def fresh_s3_clients() -> Iterator[None]:
    """Drop the s3fs filesystems that other tests cached.

    fsspec reuses a filesystem made with the same options, and its client
    keeps the endpoint of the AWS config file that it was made under.
    """
    S3FileSystem.clear_instance_cache()
    try:
        yield
    finally:
        S3FileSystem.clear_instance_cache()


@pytest.fixture
def config_file_endpoint(
    aws_isolation: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """Remove the endpoint variables, and set the closed port in the AWS config.

    A request whose endpoint no option sets then goes to that closed port
    instead of AWS.
    """
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nendpoint_url = {SAFETY_NET_URL}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with fresh_s3_clients():
        yield


@pytest.fixture(params=["urllib3", "s3fs"])
def s3_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Send the object GETs through each of the two clients in turn."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", request.param)
    return str(request.param)


def open_sage(**arguments: object):
    return open_waveforms(collection_spec("sage"), **{**REQUEST, **arguments})


def client_kwargs(url: str) -> dict[str, dict[str, str]]:
    return {"client_kwargs": {"endpoint_url": url}}


def day_object() -> bytes:
    values = np.arange(600, dtype=np.int32)
    return mseedgen.segment_bytes(
        "CH.BALST..LHZ", parse_time(DAY, "start"), values, 1.0
    )


# A refused connection names the endpoint and the setting that chose it.


@pytest.mark.usefixtures("aws_isolation", "quick_retries")
@pytest.mark.parametrize("tier", ["open", "auto"])
def test_refused_names_client_kwargs_endpoint(closed_url: str, tier: str) -> None:
    # The autouse fixture of conftest sets AWS_ENDPOINT_URL_S3 to another
    # closed port, which storage_options override.
    with pytest.raises(StorageUnavailableError) as caught:
        open_sage(tier=tier, storage_options=client_kwargs(closed_url))

    message = str(caught.value)
    assert f"cannot reach s3://{OPEN_BUCKET}" in message
    assert f"at {closed_url} (storage_options" in message
    assert "client_kwargs" in message
    assert SAFETY_NET_URL not in message
    assert "default endpoint" not in message


@pytest.mark.usefixtures("config_file_endpoint", "quick_retries")
def test_refused_option_without_variable(closed_url: str) -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        open_sage(tier="open", storage_options=client_kwargs(closed_url))

    message = str(caught.value)
    assert f"at {closed_url} (storage_options" in message
    assert "default endpoint" not in message


@pytest.mark.usefixtures("config_file_endpoint", "quick_retries")
def test_refused_names_root_and_endpoint(closed_url: str) -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        open_sage(
            root="s3://mybucket/prefix", storage_options=client_kwargs(closed_url)
        )

    message = str(caught.value)
    assert "cannot reach s3://mybucket/prefix" in message
    assert f"at {closed_url} (storage_options" in message
    assert "default endpoint" not in message


@pytest.mark.usefixtures("config_file_endpoint", "quick_retries")
def test_refused_names_top_level_endpoint_url(closed_url: str) -> None:
    spec = StorageSpec.for_tier(
        _open_tier(), storage_options={"anon": True, "endpoint_url": closed_url}
    )

    with pytest.raises(StorageUnavailableError) as caught:
        read_bytes(spec, KEY, 0, 100)

    assert f"at {closed_url} (storage_options endpoint_url)" in str(caught.value)


@pytest.mark.usefixtures("aws_isolation", "quick_retries")
@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_refused_names_endpoint_variable(
    closed_url: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.setenv(variable, closed_url)

    with pytest.raises(StorageUnavailableError) as caught:
        open_sage(tier="open")

    assert f"at {closed_url} ({variable})" in str(caught.value)


@pytest.mark.usefixtures("config_file_endpoint", "quick_retries")
def test_refused_names_config_file_endpoint() -> None:
    # No option or variable sets the endpoint, so botocore takes the one of
    # the AWS config file, and the message names the URL it connected to.
    spec = StorageSpec.for_tier(_open_tier())

    with pytest.raises(StorageUnavailableError) as caught:
        read_bytes(spec, KEY, 0, 100)

    message = str(caught.value)
    assert f"at {SAFETY_NET_URL}" in message
    assert "default endpoint" not in message


@pytest.mark.usefixtures("aws_isolation", "quick_retries")
def test_refused_listing_names_endpoint(closed_url: str) -> None:
    spec = StorageSpec.for_tier(
        _open_tier(), storage_options={"anon": True, **client_kwargs(closed_url)}
    )

    with pytest.raises(StorageUnavailableError) as caught:
        list_directory(spec, "miniseed/")

    assert f"at {closed_url} (storage_options" in str(caught.value)


# A bucket missing on the server is named, with the endpoint.


@pytest.mark.parametrize("by_option", [False, True])
def test_auto_tier_missing_bucket(s3: LoopbackS3, by_option: bool) -> None:
    options = client_kwargs(s3.endpoint_url) if by_option else None

    with pytest.raises(StorageUnavailableError) as caught:
        open_sage(tier="auto", storage_options=options)

    message = str(caught.value)
    assert not isinstance(caught.value, AuthenticationError)
    assert f"bucket {OPEN_BUCKET!r} does not exist" in message
    assert s3.endpoint_url in message
    assert "token" not in message


def test_auto_tier_missing_bucket_with_token(
    s3: LoopbackS3, caplog: pytest.LogCaptureFixture
) -> None:
    # A server with the restricted tier alone: with a token, every network
    # goes to that tier.
    collection = Collection.from_yaml(collection_spec("sage"))
    request = WaveformRequest.build(**REQUEST)
    credentials = Credentials(token=fake_jwt())

    with caplog.at_level("WARNING", logger="intake_earthscope.routing"):
        routes = build_routes(request, collection, "auto", None, None, credentials)

    assert [route.tier for route in routes] == ["restricted"]
    assert routes[0].networks == ("CH",)
    assert f"bucket {OPEN_BUCKET!r} does not exist" in caplog.text


def test_root_missing_bucket_names_it(s3: LoopbackS3) -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        open_sage(root="s3://nosuch/prefix")

    message = str(caught.value)
    assert "bucket 'nosuch' does not exist" in message
    assert f"at {s3.endpoint_url} (AWS_ENDPOINT_URL_S3)" in message
    assert "no object of the request" not in message


def test_root_missing_bucket_with_wildcard(s3: LoopbackS3) -> None:
    options = client_kwargs(s3.endpoint_url)

    with pytest.raises(StorageUnavailableError) as caught:
        open_sage(root="s3://nosuch/prefix", station="BAL*", storage_options=options)

    message = str(caught.value)
    assert "bucket 'nosuch' does not exist" in message
    assert f"at {s3.endpoint_url} (storage_options" in message


@pytest.mark.usefixtures("s3_client")
def test_missing_bucket_read_raises(s3: LoopbackS3) -> None:
    source = open_sage(root="s3://nosuch/prefix", sampling_rate=1, neighbour_bytes=0)

    with pytest.raises(BucketNotFoundError) as caught:
        source.load()

    message = str(caught.value)
    assert "bucket 'nosuch' does not exist" in message
    assert "errors=" not in message


@pytest.mark.usefixtures("s3_client")
def test_missing_bucket_with_previous_day(s3: LoopbackS3) -> None:
    # The previous day's object is read too, and fails the same way.
    source = open_sage(root="s3://nosuch/prefix", sampling_rate=1)

    with pytest.raises(BucketNotFoundError) as caught:
        source.load()

    message = str(caught.value)
    assert "bucket 'nosuch' does not exist" in message
    assert "errors=" not in message


def test_missing_bucket_open_no_hint(s3: LoopbackS3) -> None:
    with pytest.raises(BucketNotFoundError) as caught:
        open_sage(root="s3://nosuch/prefix")

    assert "errors=" not in str(caught.value)


@pytest.mark.usefixtures("s3_client")
def test_missing_bucket_ignore_status(s3: LoopbackS3) -> None:
    source = open_sage(
        root="s3://nosuch/prefix", sampling_rate=1, errors="ignore", neighbour_bytes=0
    )

    dataset = source.load()

    assert dataset.status.values[0, 0] == "missing"


@pytest.mark.usefixtures("s3_client")
def test_missing_bucket_warn_names_bucket(s3: LoopbackS3) -> None:
    source = open_sage(
        root="s3://nosuch/prefix", sampling_rate=1, errors="warn", neighbour_bytes=0
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = source.load()

    texts = [str(w.message) for w in caught if w.category is ReadOutcomeWarning]
    assert dataset.status.values[0, 0] == "missing"
    assert len(texts) == 1
    assert "bucket 'nosuch' does not exist" in texts[0]
    assert "status 'missing'" in texts[0]
    assert "cannot reach" not in texts[0]


@pytest.mark.usefixtures("s3_client")
def test_missing_bucket_warn_previous_day(s3: LoopbackS3) -> None:
    source = open_sage(root="s3://nosuch/prefix", sampling_rate=1, errors="warn")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = source.load()

    texts = [str(w.message) for w in caught if w.category is ReadOutcomeWarning]
    assert dataset.status.values[0, 0] == "missing"
    assert texts
    assert all("bucket 'nosuch' does not exist" in text for text in texts)
    assert not any("unreachable" in text for text in texts)


def test_missing_bucket_windows(s3: LoopbackS3) -> None:
    windows = open_windows(
        collection_spec("sage"),
        [f"{DAY}T03:00"],
        30,
        30,
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        sampling_rate=1,
        root="s3://nosuch/prefix",
    )

    with pytest.raises(BucketNotFoundError) as caught:
        windows.load()

    message = str(caught.value)
    assert "bucket 'nosuch' does not exist" in message
    assert "errors=" not in message


def test_missing_bucket_windows_across_days(s3: LoopbackS3) -> None:
    # The window crosses midnight, so two objects fail.
    windows = open_windows(
        collection_spec("sage"),
        ["2025-11-11T00:00:10"],
        30,
        30,
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        sampling_rate=1,
        root="s3://nosuch/prefix",
    )

    with pytest.raises(BucketNotFoundError) as caught:
        windows.load()

    message = str(caught.value)
    assert message.startswith("2 objects that the windows need failed:")
    assert "- missing: bucket 'nosuch' does not exist" in message
    assert "errors=" not in message


def test_missing_bucket_windows_ignore(s3: LoopbackS3) -> None:
    windows = open_windows(
        collection_spec("sage"),
        [f"{DAY}T03:00"],
        30,
        30,
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        sampling_rate=1,
        errors="ignore",
        root="s3://nosuch/prefix",
    )

    dataset = windows.load()

    assert dataset.status.values[0, 0] == "missing"


@pytest.mark.usefixtures("s3_client")
def test_missing_bucket_storage_calls(s3: LoopbackS3) -> None:
    spec = StorageSpec.for_tier(_open_tier(), root="s3://nosuch/prefix")

    with pytest.raises(BucketNotFoundError, match="bucket 'nosuch' does not"):
        read_bytes(spec, KEY, 0, 100)
    with pytest.raises(BucketNotFoundError, match="bucket 'nosuch' does not"):
        read_bytes(spec, KEY)
    with pytest.raises(BucketNotFoundError, match="bucket 'nosuch' does not"):
        object_stat(spec, KEY)
    with pytest.raises(BucketNotFoundError, match="bucket 'nosuch' does not"):
        list_directory(spec, "miniseed/CH/")


def test_bucket_error_classes() -> None:
    error = BucketNotFoundError("bucket 'nosuch' does not exist")

    assert isinstance(error, StorageUnavailableError)
    assert isinstance(error, FileNotFoundError)
    assert not isinstance(error, ObjectNotFoundError)


def test_missing_bucket_config_file_endpoint(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nendpoint_url = {s3.endpoint_url}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")

    with fresh_s3_clients(), pytest.raises(StorageUnavailableError) as caught:
        open_sage(root="s3://nosuch/prefix")

    message = str(caught.value)
    assert "bucket 'nosuch' does not exist" in message
    assert "at the endpoint that the AWS config file sets" in message


@pytest.mark.usefixtures("aws_isolation")
def test_default_endpoint_named_by_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # No request is sent: the text is what a missing bucket on AWS would show.
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    spec = StorageSpec.for_tier(_open_tier())

    assert _describe_endpoint(spec) == f"the AWS S3 endpoint of region {OPEN_REGION}"


@pytest.mark.usefixtures("s3_client")
def test_missing_key_stays_not_found(s3: LoopbackS3) -> None:
    create_bucket(s3.client(), "present")
    spec = StorageSpec.for_tier(_open_tier(), root="s3://present/prefix")

    with pytest.raises(ObjectNotFoundError):
        read_bytes(spec, KEY, 0, 100)
    with pytest.raises(ObjectNotFoundError):
        object_stat(spec, KEY)
    assert list_directory(spec, "miniseed/CH/") == ()


def test_present_bucket_still_reads(s3: LoopbackS3) -> None:
    publish(s3, "sage", {KEY: day_object()})

    dataset = open_sage(tier="auto").load()

    assert dataset.status.values[0, 0] == "ok"


def _open_tier() -> Tier:
    return Collection.from_yaml(collection_spec("sage")).tier("open")
