"""Retries, timeouts and outcomes under injected transport faults.

A :class:`faultproxy.FaultProxy` sits between the reader and the real
servers: the moto S3 server for object reads and listings, the loopback
HTTP server for web-service reads. Each test compares what it reads with
the bytes it stored, and counts the requests the proxy saw.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import dask
import numpy as np
import pytest

from intake_earthscope import auth, storage, tasks
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import (
    AccessDeniedError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
    StorageUnavailableError,
    WebServiceError,
)
from intake_earthscope.retry import backoff_delay
from intake_earthscope.settings import RetrySettings, retry_settings
from intake_earthscope.tasks import object_slots
from intake_earthscope.testing import LoopbackS3
from intake_earthscope.timeutil import parse_time
from intake_earthscope.webservices import WebServiceSpec, close_client, https_get

import faultproxy
import mseedgen
from conftest import bucket_of, collection_spec, publish, stand_in_credentials
from faultproxy import FAULTS, REJECTION, FaultProxy, FaultRule
from loopback_http import LoopbackHttp, Reply

DAY_NS = parse_time("2024-01-01", "start")


def key(day: int, station: str = "STA") -> str:
    return f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"


def day_object(day: int, station: str = "STA") -> bytes:
    """One hour of 1 Hz samples at the start of a day, values unique per day."""
    values = np.arange(3600, dtype=np.int32) + 10_000 * day
    start = DAY_NS + (day - 1) * 86_400 * 10**9
    return mseedgen.segment_bytes(f"XX.{station}.00.LHZ", start, values, 1.0)


def expected_row(days: int) -> np.ndarray:
    """The waveform row a clean read of days 1..days returns."""
    row = np.full(days * 86_400, np.nan)
    for day in range(1, days + 1):
        first = (day - 1) * 86_400
        row[first : first + 3600] = np.arange(3600) + 10_000 * day
    return row


def read(days: int = 2, **request):
    parameters = dict(
        network="XX",
        station="STA",
        location="00",
        channel="LHZ",
        start="2024-01-01",
        end=f"2024-01-{days + 1:02d}",
        tier="open",
        sampling_rate=1,
    )
    parameters.update(request)
    return open_waveforms(collection_spec("sage"), **parameters).load()


@pytest.fixture
def proxy(s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """Two station-days on the moto server, reached through a fault proxy."""
    publish(s3, "sage", {key(day): day_object(day) for day in (1, 2)})
    with FaultProxy(s3.endpoint_url) as running:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", running.url)
        yield running


def requests_for(proxy: FaultProxy, text: str) -> list[str]:
    return [f"{r.method} {r.path}" for r in proxy.seen if text in r.path]


# Transient faults: retried, and the result equals a clean read


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", FAULTS)
def test_s3_fault_is_retried(proxy, monkeypatch, fault) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "0.5")
    proxy.rules = [FaultRule(fault, key=key(2), limit=1, delay=1.5)]

    dataset = read()

    np.testing.assert_array_equal(dataset.waveform.values[0], expected_row(2))
    assert list(dataset.status.values[0]) == ["ok", "ok"]
    assert proxy.injected()[fault] == 1


@pytest.mark.timeout(60)
def test_listing_fault_is_retried(proxy) -> None:
    proxy.rules = [FaultRule("slowdown", key="list-type", limit=2)]

    dataset = read(station="ST?")

    np.testing.assert_array_equal(dataset.waveform.values[0], expected_row(2))
    assert proxy.injected()["slowdown"] == 2


# Budget: attempts, seconds, and no retries below ours


@pytest.mark.timeout(60)
def test_budget_bounds_requests(proxy, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "3")
    proxy.rules = [FaultRule("503", key=key(2))]

    with pytest.raises(StorageUnavailableError) as caught:
        read()
    message = str(caught.value)

    # s3fs and botocore add no attempts of their own.
    assert len(requests_for(proxy, key(2))) == 3
    assert "ServiceUnavailable (HTTP 503) on 3 attempt(s)" in message
    assert "INTAKE_EARTHSCOPE_RETRY_ATTEMPTS" in message


@pytest.mark.timeout(60)
def test_budget_seconds_stop_retries(proxy, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "50")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_DELAY", "0.2")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_SECONDS", "1")
    proxy.rules = [FaultRule("500", key=key(2))]

    began = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="HTTP 500"):
        read()
    elapsed = time.monotonic() - began

    assert elapsed < 5
    assert len(requests_for(proxy, key(2))) < 50


@pytest.mark.timeout(60)
@pytest.mark.parametrize("errors", ["warn", "ignore"])
def test_spent_budget_gives_outcome(proxy, errors) -> None:
    proxy.rules = [FaultRule("slowdown", key=key(2))]

    expected = pytest.warns(ReadOutcomeWarning)
    with expected if errors == "warn" else contextlib.nullcontext():
        dataset = read(errors=errors)
    row = dataset.waveform.values[0]

    assert list(dataset.status.values[0]) == ["ok", "unreachable"]
    np.testing.assert_array_equal(row[:86_400], expected_row(1))
    assert np.isnan(row[86_400:]).all()


@pytest.mark.timeout(60)
def test_denied_read_not_retried(s3, monkeypatch) -> None:
    bucket, region = bucket_of("sage")
    publish(s3, "sage", {key(1): day_object(1)})
    # A private object: an anonymous GET gets 403 from moto.
    s3.client(region).put_object(Bucket=bucket, Key=key(2), Body=day_object(2))
    with FaultProxy(s3.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        with pytest.raises(AccessDeniedError):
            read()

    # One GET, with no HEAD before it and no retry after it.
    assert requests_for(proxy, key(2)) == [f"GET /{bucket}/{key(2)}"]


@pytest.mark.timeout(60)
def test_rejected_read_not_retried(proxy, monkeypatch) -> None:
    proxy.rules = [FaultRule(REJECTION, key=key(2))]

    with pytest.raises(OSError):
        read()
    one_attempt = len(requests_for(proxy, key(2)))
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    dataset = read(errors="ignore")

    # s3fs sends its own requests for one attempt, the same number again.
    assert len(requests_for(proxy, key(2))) == 2 * one_attempt
    assert list(dataset.status.values[0]) == ["ok", "unreachable"]


@pytest.mark.timeout(60)
def test_rejected_neighbour_is_reported(proxy) -> None:
    """A rejected read of the previous day's object is a read error, not a
    missing object, so it follows errors= and the days keep their samples."""
    proxy.rules = [FaultRule(REJECTION, key="2023/365")]

    with pytest.raises(StorageUnavailableError) as raised:
        read()
    with pytest.warns(ReadOutcomeWarning) as caught:
        dataset = read(errors="warn")

    assert proxy.injected()[REJECTION] >= 1
    assert "previous-day object miniseed/XX/2023/365/" in str(raised.value)
    assert "(status 'unreachable')" in str(raised.value)
    assert len(caught) == 1
    assert "(status 'unreachable')" in str(caught[0].message)
    np.testing.assert_array_equal(dataset.waveform.values[0], expected_row(2))


@pytest.mark.timeout(60)
def test_missing_object_not_retried(proxy) -> None:
    with pytest.raises(ObjectNotFoundError):
        read(days=3)

    assert len(requests_for(proxy, key(3))) == 1


# Anonymous tiers send unsigned requests


@pytest.mark.timeout(60)
def test_open_tier_requests_unsigned(proxy) -> None:
    read(station="ST?")

    assert len(proxy.seen) >= 3
    assert {r.authorization for r in proxy.seen} == {None}


@pytest.mark.timeout(60)
def test_own_keys_sign_requests(proxy) -> None:
    read(storage_options={"key": "testing", "secret": "testing"})

    assert all(r.authorization.startswith("AWS4-HMAC") for r in proxy.seen)


# The settings


def test_settings_defaults() -> None:
    settings = retry_settings()

    assert settings.attempts == 5
    assert settings.budget_seconds == 60.0
    assert settings.connect_timeout == 10.0
    assert settings.read_timeout == 30.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "0"),
        ("INTAKE_EARTHSCOPE_RETRY_SECONDS", "-1"),
        ("INTAKE_EARTHSCOPE_READ_TIMEOUT", "soon"),
        ("INTAKE_EARTHSCOPE_CONNECT_TIMEOUT", "0"),
    ],
)
def test_invalid_setting_named(monkeypatch, name, value) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=f"invalid {name}="):
        retry_settings()


@pytest.mark.parametrize("value", ["0", "many"])
def test_invalid_max_objects_named(monkeypatch, value) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_MAX_OBJECTS", value)

    with pytest.raises(ValueError, match="invalid INTAKE_EARTHSCOPE_MAX_OBJECTS="):
        object_slots()


def test_max_objects_sizes_semaphore(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_MAX_OBJECTS", "2")
    slots = object_slots()

    acquired = [slots.acquire(blocking=False) for _ in range(3)]
    for _ in range(acquired.count(True)):
        slots.release()

    assert acquired == [True, True, False]


def test_backoff_is_capped_full_jitter() -> None:
    settings = RetrySettings(base_delay=1.0, max_delay=4.0)

    delays = {retry: backoff_delay(settings, retry) for retry in range(1, 8)}

    assert all(0.0 <= delay <= 4.0 for delay in delays.values())
    assert delays[1] <= 1.0
    assert delays[2] <= 2.0


def test_s3_clients_get_timeouts(monkeypatch, s3) -> None:
    from intake_earthscope.collection import Collection
    from intake_earthscope.storage import StorageSpec

    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "7")
    tier = Collection.from_yaml(collection_spec("sage")).tier("open")
    spec = StorageSpec.for_tier(tier)

    fs = spec.filesystem()
    config = fs.config_kwargs

    assert config["read_timeout"] == 7.0
    assert config["connect_timeout"] == 10.0
    assert config["retries"]["total_max_attempts"] == 1
    assert fs.retries == 1


# Web-service reads (GAGE files, FDSN queries) through the proxy


@pytest.fixture
def files() -> Iterator[tuple[LoopbackHttp, FaultProxy]]:
    """A loopback file server with one file, behind a fault proxy."""
    server = LoopbackHttp("127.0.0.1")
    body = bytes(range(256)) * 40
    server.routes["/archive/day.bin"] = lambda params: Reply(200, body)
    server.start()
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        yield server, proxy
    server.stop()
    close_client()


def archive_spec(proxy: FaultProxy) -> WebServiceSpec:
    return WebServiceSpec(
        proxy.url + "/archive/", allowed_hosts=("127.0.0.1",), timeout=0.5
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", FAULTS)
def test_https_fault_is_retried(files, fault) -> None:
    _, proxy = files
    proxy.rules = [FaultRule(fault, limit=1, delay=1.5)]

    data = https_get(archive_spec(proxy), "day.bin")

    assert data == bytes(range(256)) * 40
    assert proxy.injected()[fault] == 1


@pytest.mark.timeout(60)
def test_https_budget_bounds_requests(files, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "4")
    _, proxy = files
    proxy.rules = [FaultRule("503")]

    with pytest.raises(WebServiceError, match="server error 503"):
        https_get(archive_spec(proxy), "day.bin")

    assert len(proxy.seen) == 4


@pytest.mark.timeout(60)
def test_https_reset_budget_names_attempts(files, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    _, proxy = files
    proxy.rules = [FaultRule("reset")]

    with pytest.raises(WebServiceError, match="on each of 2 attempt"):
        https_get(archive_spec(proxy), "day.bin")

    assert len(proxy.seen) == 2


@pytest.mark.timeout(60)
def test_https_not_found_not_retried(files) -> None:
    _, proxy = files

    with pytest.raises(ObjectNotFoundError):
        https_get(archive_spec(proxy), "other.bin")

    assert len(proxy.seen) == 1


@pytest.mark.timeout(60)
def test_fault_rules_select_by_count_and_seed(files) -> None:
    _, proxy = files
    proxy.rules = [FaultRule("500", every=3), FaultRule("reset", probability=0.2)]

    for _ in range(12):
        https_get(archive_spec(proxy), "day.bin")
    counts = proxy.injected()

    assert counts["500"] >= 3
    assert proxy.forwarded() == 12


# A server that trickles its reply: each read is quick, the whole is not


@pytest.mark.timeout(60)
def test_s3_trickle_stops_at_attempt_deadline(proxy, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "0.5")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    proxy.rules = [FaultRule("trickle", key=key(2), delay=0.1)]
    began = time.monotonic()

    with pytest.raises(StorageUnavailableError, match="2 attempt"):
        read()

    assert time.monotonic() - began < 15
    assert len([r for r in proxy.seen if r.method == "GET" and key(2) in r.path]) == 2


@pytest.mark.timeout(60)
def test_https_trickle_stops_at_attempt_deadline(files, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    _, proxy = files
    proxy.rules = [FaultRule("trickle", delay=0.1)]
    began = time.monotonic()

    with pytest.raises(WebServiceError, match="ATTEMPT_SECONDS"):
        https_get(archive_spec(proxy), "day.bin")

    assert time.monotonic() - began < 15
    assert len(proxy.seen) == 2


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "soon"])
def test_attempt_seconds_must_be_finite(monkeypatch, value) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", value)

    with pytest.raises(ValueError, match="INTAKE_EARTHSCOPE_ATTEMPT_SECONDS"):
        retry_settings()


# Whole-object reads: one GET, whatever s3fs's block size


@pytest.mark.timeout(60)
def test_object_over_block_size_one_get(proxy) -> None:
    # s3fs splits an object larger than its block size into ranged GETs
    # after a HEAD, unless the read requests a single GET.
    options = {"default_block_size": 1024, "max_concurrency": 4}

    dataset = read(storage_options=options)

    assert len(day_object(2)) > 1024
    assert requests_for(proxy, key(2)) == [f"GET /{bucket_of('sage')[0]}/{key(2)}"]
    np.testing.assert_array_equal(dataset.waveform.values[0], expected_row(2))


@pytest.mark.timeout(60)
def test_short_body_over_block_size_retried(proxy) -> None:
    proxy.rules = [FaultRule("truncate", key=key(2), limit=1)]
    options = {"default_block_size": 1024, "max_concurrency": 4}

    dataset = read(storage_options=options)

    assert len(requests_for(proxy, key(2))) == 2
    np.testing.assert_array_equal(dataset.waveform.values[0], expected_row(2))


@pytest.mark.timeout(60)
def test_missing_object_status(proxy) -> None:
    with pytest.warns(ReadOutcomeWarning, match="object not found"):
        dataset = read(days=3, errors="warn")

    assert list(dataset.status.values[0]) == ["ok", "ok", "missing"]


@pytest.fixture
def token_spec(
    s3, monkeypatch
) -> Iterator[tuple[storage.StorageSpec, FaultProxy, list]]:
    """A spec read with EarthScope credentials, through a fault proxy.

    The credentials service is a stand-in here: the fake API mints STS
    sessions only on the IAM-enforcing server, whose tests skip under moto
    newer than 5.2.5. The list contains the scope of each credentials lookup.
    """
    bucket, region = bucket_of("sage")
    publish(s3, "sage", {key(1): day_object(1)})
    issued = stand_in_credentials(monkeypatch)
    with FaultProxy(s3.endpoint_url) as proxy:
        spec = storage.StorageSpec(
            "s3",
            bucket,
            region=region,
            anonymous=False,
            endpoint_url=proxy.url,
            token_source=auth.TokenSource("sdk"),
            scope=auth.CredentialScope("role", "XX", None, region),
        )
        yield spec, proxy, issued


@pytest.mark.timeout(60)
def test_expired_credentials_on_get_refetched(token_spec, monkeypatch) -> None:
    spec, proxy, issued = token_spec
    expired = (400, "ExpiredToken", "The provided token has expired.")
    monkeypatch.setitem(faultproxy._S3_ERRORS, "expired", expired)
    monkeypatch.setattr(faultproxy, "FAULTS", (*FAULTS, "expired"))
    proxy.rules = [FaultRule("expired", key=key(1), limit=1)]

    data = storage.read_bytes(spec, key(1))

    assert data == day_object(1)
    assert [r.method for r in proxy.seen] == ["GET", "GET"]
    assert len(issued) == 2


@pytest.mark.timeout(60)
def test_rejected_get_keeps_credentials(token_spec) -> None:
    """A 400 that is not about credentials fetches no new ones."""
    spec, proxy, issued = token_spec
    proxy.rules = [FaultRule(REJECTION, key=key(1))]

    with pytest.raises(OSError):
        storage.read_bytes(spec, key(1))

    assert [r.method for r in proxy.seen] == ["GET"]
    assert len(issued) == 1


# Objects in flight per process


@pytest.mark.timeout(60)
def test_one_object_slot_many_threads(s3, monkeypatch) -> None:
    days = range(1, 5)
    objects = {
        key(d, station): day_object(d, station)
        for d in days
        for station in ("STA", "STB")
    }
    publish(s3, "sage", objects)
    monkeypatch.setenv("INTAKE_EARTHSCOPE_MAX_OBJECTS", "1")
    lock = threading.Lock()
    reading = [0, 0]  # current and maximum reads in progress
    fetch = tasks.read_bytes

    def counted(*args, **kwargs) -> bytes:
        with lock:
            reading[0] += 1
            reading[1] = max(reading)
        try:
            return fetch(*args, **kwargs)
        finally:
            with lock:
                reading[0] -= 1

    monkeypatch.setattr(tasks, "read_bytes", counted)
    dataset = open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="ST?",
        location="00",
        channel="LHZ",
        start="2024-01-01",
        end="2024-01-05",
        tier="open",
        sampling_rate=1,
    )

    with dask.config.set(scheduler="threads", num_workers=8):
        values = dataset.waveform.values

    assert np.isfinite(values).sum() == 2 * 4 * 3600
    assert reading[1] == 1
