"""S3 GETs sent over plain HTTP with urllib3 (intake_earthscope.s3http).

Reads go to the moto S3 server on loopback through a fault proxy that
records each request's User-Agent, Range and Authorization headers, so a
test can tell which client sent a request and what it requested. The same
reads with ``INTAKE_EARTHSCOPE_S3_CLIENT=s3fs`` go through s3fs and must
end the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_windows import CODES, station_day
from test_windows import key as day_key

from intake_earthscope import auth, open_windows, s3http
from intake_earthscope.errors import (
    ObjectNotFoundError,
    StorageUnavailableError,
)
from intake_earthscope.recordindex import forget_indexes
from intake_earthscope.s3http import HttpRoute, http_route
from intake_earthscope.storage import StorageSpec, read_bytes
from intake_earthscope.testing import LoopbackS3, create_bucket, put_public_object

import faultproxy
from conftest import collection_spec, proxied_object, s3_spec, stand_in_credentials
from faultproxy import CORRUPTION, FAULTS, REJECTION, FaultProxy, FaultRule

BUCKET = "ranges-bucket"
REGION = "us-east-2"
KEY = "miniseed/XX/2024/001/odd name+#1"
DATA = bytes(range(256)) * 400


@pytest.fixture
def proxy(s3: LoopbackS3) -> Iterator[FaultProxy]:
    """One public object on the moto server, reached through a fault proxy."""
    with proxied_object(s3, BUCKET, REGION, KEY, DATA) as running:
        yield running


def spec_at(proxy: FaultProxy, **options) -> StorageSpec:
    return s3_spec(proxy.url, BUCKET, REGION, **options)


def gets(proxy: FaultProxy) -> list[faultproxy.ProxiedRequest]:
    return [request for request in proxy.seen if request.method == "GET"]


def sent_by_urllib3(request: faultproxy.ProxiedRequest) -> bool:
    return (request.user_agent or "").startswith("python-urllib3/")


# Which client sends a read


def test_ranged_read_sent_by_urllib3(proxy) -> None:
    data = read_bytes(spec_at(proxy), KEY, 1000, 5000)

    assert data == DATA[1000:5000]
    assert len(gets(proxy)) == 1
    assert sent_by_urllib3(gets(proxy)[0])
    assert gets(proxy)[0].byte_range == "bytes=1000-4999"
    assert gets(proxy)[0].authorization is None


def test_whole_read_sent_by_urllib3(proxy) -> None:
    data = read_bytes(spec_at(proxy), KEY)

    assert data == DATA
    assert sent_by_urllib3(gets(proxy)[0])
    assert gets(proxy)[0].byte_range is None


def test_bodies_return_connection_to_pool(s3: LoopbackS3) -> None:
    """Whole, ranged and empty bodies, read to the end, free their connection.

    The pool of a host outlives a test, so the count of connections it made
    is compared before and after. A GET whose connection was not returned
    would make the next GET open another one.
    """
    client = s3.client(REGION)
    create_bucket(client, BUCKET, REGION)
    put_public_object(client, BUCKET, KEY, DATA)
    put_public_object(client, BUCKET, "empty", b"")
    spec = s3_spec(s3.endpoint_url, BUCKET, REGION)
    pool = s3http._pool().connection_from_url(s3.endpoint_url)
    before = pool.num_connections

    for _ in range(3):
        assert read_bytes(spec, "empty") == b""
        assert read_bytes(spec, KEY, 10, 70_000) == DATA[10:70_000]
        assert read_bytes(spec, KEY) == DATA

    assert pool.num_connections - before <= 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting", ["urllib3", "s3fs"])
def test_corrupt_whole_object_retried(proxy, monkeypatch, setting) -> None:
    """Both clients check the object's CRC32 and read a damaged body again."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", setting)
    proxy.rules = [FaultRule(CORRUPTION, key="odd", limit=1)]

    data = read_bytes(spec_at(proxy), KEY)

    assert data == DATA
    assert proxy.injected()[CORRUPTION] == 1
    assert len(gets(proxy)) == 2


@pytest.mark.timeout(60)
def test_corrupt_body_every_time_fails(proxy, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    proxy.rules = [FaultRule(CORRUPTION, key="odd")]

    with pytest.raises(StorageUnavailableError, match="ChecksumMismatchError"):
        read_bytes(spec_at(proxy), KEY)

    assert len(gets(proxy)) == 2


@pytest.mark.parametrize("byte_range", [(None, None), (10, 20)])
def test_variable_zero_sends_by_s3fs(proxy, monkeypatch, byte_range) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "s3fs")

    data = read_bytes(spec_at(proxy), KEY, *byte_range)

    assert data == DATA[slice(*byte_range)]
    assert not sent_by_urllib3(gets(proxy)[0])


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 1, DATA[:1]),
        (len(DATA) - 10, len(DATA) + 500, DATA[-10:]),
        (len(DATA) - 1, None, DATA[-1:]),
        (len(DATA), len(DATA) + 10, b""),
        (500, 500, b""),
    ],
)
def test_range_edges(proxy, start, end, expected) -> None:
    assert read_bytes(spec_at(proxy), KEY, start, end) == expected


def test_empty_range_sends_nothing(proxy) -> None:
    read_bytes(spec_at(proxy), KEY, 500, 500)

    assert gets(proxy) == []


def test_key_quoted_in_path(proxy) -> None:
    read_bytes(spec_at(proxy), KEY, 0, 10)

    assert gets(proxy)[0].path == (f"/{BUCKET}/miniseed/XX/2024/001/odd%20name%2B%231")


# Faults: retried as on the s3fs path


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", FAULTS)
def test_transient_fault_retried(proxy, monkeypatch, fault) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "0.5")
    proxy.rules = [FaultRule(fault, key="odd", limit=1, delay=1.5)]

    data = read_bytes(spec_at(proxy), KEY, 100, 60_000)

    assert data == DATA[100:60_000]
    assert proxy.injected()[fault] == 1
    assert all(sent_by_urllib3(request) for request in gets(proxy))


@pytest.mark.timeout(60)
def test_trickle_stops_at_attempt_deadline(proxy, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "0.5")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    proxy.rules = [FaultRule("trickle", key="odd", delay=0.1)]
    began = time.monotonic()

    with pytest.raises(StorageUnavailableError, match="2 attempt"):
        read_bytes(spec_at(proxy), KEY, 0, 60_000)

    assert time.monotonic() - began < 15
    assert len(gets(proxy)) == 2


@pytest.mark.timeout(60)
def test_unreachable_endpoint_named(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    spec = StorageSpec("s3", BUCKET, region=REGION, endpoint_url="http://127.0.0.1:9")

    with pytest.raises(StorageUnavailableError) as caught:
        read_bytes(spec, KEY, 0, 10)

    assert "cannot reach" in str(caught.value)
    assert "http://127.0.0.1:9" in str(caught.value)


def _outcome(spec: StorageSpec, key: str) -> tuple[type, str]:
    """Return the class and message of the error a ranged read raises."""
    try:
        read_bytes(spec, key, 0, 100)
    except Exception as error:  # noqa: BLE001 - the test compares the errors
        return type(error), str(error)
    return type(None), ""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", [REJECTION, "missing", "denied"])
def test_errors_match_s3fs_path(proxy, monkeypatch, fault) -> None:
    """Each failure raises the same error, with the same message, on both paths."""
    denied = (403, "AccessDenied", "Access Denied")
    monkeypatch.setitem(faultproxy._S3_ERRORS, "denied", denied)
    monkeypatch.setattr(faultproxy, "FAULTS", (*FAULTS, "denied"))
    key = "no/such/key" if fault == "missing" else KEY
    if fault != "missing":
        proxy.rules = [FaultRule(fault, key="odd")]

    by_urllib3 = _outcome(spec_at(proxy), key)
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "s3fs")
    s3http.clear_routes()
    by_s3fs = _outcome(spec_at(proxy), key)

    assert by_urllib3 == by_s3fs
    assert by_urllib3[0] is not type(None)
    assert sent_by_urllib3(gets(proxy)[0])
    assert not sent_by_urllib3(gets(proxy)[-1])


def test_missing_object_not_retried(proxy) -> None:
    with pytest.raises(ObjectNotFoundError, match="object not found"):
        read_bytes(spec_at(proxy), "no/such/key", 0, 100)

    assert len(gets(proxy)) == 1


# Signed requests


def test_own_keys_sign_ranged_get(proxy) -> None:
    spec = spec_at(proxy, key="AKIAOWNKEYEXAMPLE", secret="own-secret-value")

    data = read_bytes(spec, KEY, 0, 100)

    request = gets(proxy)[0]
    assert data == DATA[:100]
    assert sent_by_urllib3(request)
    assert request.authorization.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAOWNKEYEXAMPLE/"
    )
    assert f"/{REGION}/s3/aws4_request" in request.authorization
    assert "range" in request.authorization.partition("SignedHeaders=")[2]


def test_secret_absent_from_error_and_logs(proxy, caplog) -> None:
    secret = "own-secret-value-9f3b"
    spec = spec_at(proxy, key="AKIAOWNKEYEXAMPLE", secret=secret, token="tok-3c1d")
    proxy.rules = [FaultRule(REJECTION, key="odd")]
    caplog.set_level(logging.DEBUG)

    with pytest.raises(OSError) as caught:
        read_bytes(spec, KEY, 0, 100)

    for text in (secret, "tok-3c1d"):
        assert text not in str(caught.value)
        assert text not in repr(caught.value.__cause__)
        assert text not in caplog.text


@pytest.fixture
def token_spec(proxy, monkeypatch) -> Iterator[tuple[StorageSpec, list]]:
    """A spec read with EarthScope credentials from a stand-in service.

    The test is about what the reader does with expired credentials, so
    :func:`conftest.stand_in_credentials` replaces the service.
    """
    issued = stand_in_credentials(monkeypatch)
    spec = StorageSpec(
        "s3",
        BUCKET,
        region=REGION,
        anonymous=False,
        endpoint_url=proxy.url,
        token_source=auth.TokenSource("sdk"),
        scope=auth.CredentialScope("role", "XX", None, REGION),
    )
    yield spec, issued


@pytest.mark.timeout(60)
def test_expired_credentials_refetched(proxy, token_spec, monkeypatch) -> None:
    spec, issued = token_spec
    expired = (400, "ExpiredToken", "The provided token has expired.")
    monkeypatch.setitem(faultproxy._S3_ERRORS, "expired", expired)
    monkeypatch.setattr(faultproxy, "FAULTS", (*FAULTS, "expired"))
    proxy.rules = [FaultRule("expired", key="odd", limit=1)]

    data = read_bytes(spec, KEY, 0, 1000)

    assert data == DATA[:1000]
    assert len(gets(proxy)) == 2
    assert len(issued) == 2
    assert [r.authorization.split("/")[0] for r in gets(proxy)] == [
        "AWS4-HMAC-SHA256 Credential=ASIA1",
        "AWS4-HMAC-SHA256 Credential=ASIA2",
    ]


# Routes: which specs the module serves


@pytest.fixture
def aws_endpoint(monkeypatch) -> None:
    """Remove the loopback endpoint that conftest sets for every test."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")


def test_route_of_aws_region(aws_endpoint) -> None:
    spec = StorageSpec("s3", "earthscope-geophysical-data", region="us-east-2")

    assert http_route(spec) == HttpRoute(
        "https://earthscope-geophysical-data.s3.us-east-2.amazonaws.com/",
        "us-east-2",
        False,
    )


def test_route_of_folder_root() -> None:
    spec = StorageSpec("s3", "bucket-a/mirror/sage", endpoint_url="http://127.0.0.1:9")

    route = http_route(spec)

    assert route is not None
    assert route.prefix == "http://127.0.0.1:9/bucket-a/mirror/sage/"


@pytest.mark.parametrize(
    ("root", "region", "endpoint", "options"),
    [
        ("bucket-a", "cn-north-1", None, {}),
        ("bucket.with.dots", "us-east-2", None, {}),
        ("bucket-a", None, None, {}),
        ("bucket-a", "us-east-2", "http://minio.example.org:9000", {}),
        ("bucket-a", "us-east-2", None, {"requester_pays": True}),
        ("bucket-a", "us-east-2", None, {"config_kwargs": {"proxies": {}}}),
        ("bucket-a", "us-east-2", None, {"client_kwargs": {"verify": False}}),
        ("bucket-a", "us-east-2", None, {"anon": False}),
    ],
)
def test_unhandled_specs_use_s3fs(root, region, endpoint, options) -> None:
    spec = StorageSpec(
        "s3", root, region=region, endpoint_url=endpoint, storage_options=options
    )

    assert http_route(spec) is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_USE_FIPS_ENDPOINT", "true"),
        ("INTAKE_EARTHSCOPE_S3_CLIENT", "s3fs"),
    ],
)
def test_environment_sends_to_s3fs(aws_endpoint, monkeypatch, variable, value) -> None:
    spec = StorageSpec("s3", "bucket-a", region="us-east-2")
    assert http_route(spec) is not None

    monkeypatch.setenv(variable, value)

    assert http_route(spec) is None


def test_invalid_client_named(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "curl")
    spec = StorageSpec("s3", "bucket-a", region="us-east-2")

    with pytest.raises(ValueError, match="INTAKE_EARTHSCOPE_S3_CLIENT='curl'"):
        http_route(spec)


def test_client_name_ignores_case(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", " S3FS ")
    spec = StorageSpec("s3", "bucket-a", region="us-east-2")

    assert http_route(spec) is None


def test_endpoint_variable_without_explicit_endpoint() -> None:
    """A worker whose AWS_ENDPOINT_URL_S3 names another server sends the
    GETs of a spec without an endpoint there, through s3fs."""
    spec = StorageSpec("s3", "bucket-a", region="us-east-2")

    assert http_route(spec) is None


def test_generic_endpoint_variable_with_explicit_endpoint(monkeypatch) -> None:
    """botocore lets an explicit endpoint win over AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    spec = StorageSpec("s3", "bucket-a", endpoint_url="http://127.0.0.1:9")

    assert http_route(spec) is not None


def test_proxy_bypassed_for_loopback(monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    spec = StorageSpec("s3", "bucket-a", endpoint_url="http://127.0.0.1:9")

    assert http_route(spec) is not None


def test_config_endpoint_sends_to_s3fs(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nendpoint_url = http://127.0.0.1:9\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    spec = StorageSpec("s3", "bucket-a", region="us-east-2")

    assert http_route(spec) is None


# A window read through the proxy, counted at the server side


def window_read(proxy: FaultProxy, bucket: str, times: list[str], **options):
    """Load 10-minute windows of BH? from ``bucket`` through the proxy."""
    return open_windows(
        collection_spec("sage"),
        times,
        300.0,
        300.0,
        root=f"s3://{bucket}",
        storage_options={"anon": True, "client_kwargs": {"endpoint_url": proxy.url}},
        **{**CODES, "channel": "BHZ,BHN,BHE"},
        **options,
    ).load()


@pytest.fixture
def window_bucket(s3: LoopbackS3) -> str:
    bucket = "window-bucket"
    create_bucket(s3.client(REGION), bucket, REGION)
    put_public_object(s3.client(REGION), bucket, day_key(1), station_day(1))
    return bucket


@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting", ["urllib3", "s3fs"])
def test_rejected_window_read_is_outcome(
    s3: LoopbackS3, window_bucket: str, monkeypatch, setting
) -> None:
    """A 400 reply to a window's object ends as the status unreachable."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", setting)
    times = ["2024-01-01T15:00:00"]
    with FaultProxy(s3.endpoint_url, [FaultRule(REJECTION)]) as running:
        dataset = window_read(
            running, window_bucket, times, errors="ignore", sampling_rate=20.0
        )
        with pytest.raises(StorageUnavailableError, match="failed: OSError") as read:
            window_read(running, window_bucket, times, sampling_rate=20.0)
        # Without a rate, the open reads the first records and fails there.
        with pytest.raises(StorageUnavailableError, match="failed: OSError") as opened:
            window_read(running, window_bucket, times)

    assert (dataset.status.values == "unreachable").all()
    assert np.isnan(dataset.waveform.values).all()
    assert day_key(1) in str(read.value)
    assert day_key(1) in str(opened.value)


@pytest.mark.timeout(120)
def test_window_read_bytes_counted_at_proxy(
    s3: LoopbackS3, window_bucket: str, tmp_path: Path, monkeypatch
) -> None:
    """A window read on first contact moves at most 15% of the object, and
    both clients read the same samples with the same requests."""
    bucket = window_bucket
    times = ["2024-01-01T15:00:00"]
    results = {}
    with FaultProxy(s3.endpoint_url) as running:
        for setting in ("urllib3", "s3fs"):
            monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", setting)
            monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / setting))
            forget_indexes()
            s3http.clear_routes()
            running.seen.clear()
            running.body_bytes = 0
            dataset = window_read(running, bucket, times)
            ranged = [r for r in gets(running) if r.byte_range is not None]
            results[setting] = (dataset, running.body_bytes, ranged)

    dataset, sent, ranged = results["urllib3"]
    assert (dataset.read_mode.values == "ranged").all()
    assert sent <= 0.15 * len(station_day(1))
    assert ranged
    assert all(sent_by_urllib3(request) for request in ranged)
    assert np.array_equal(
        dataset.waveform.values, results["s3fs"][0].waveform.values, equal_nan=True
    )
    assert sent == results["s3fs"][1]
    assert sorted(r.byte_range for r in ranged) == sorted(
        r.byte_range for r in results["s3fs"][2]
    )
