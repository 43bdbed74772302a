"""Failed previous-day objects are reported, on a moto S3 server.

Each station's object of 2024-01-01 contains the ten minutes before
midnight, and its object of 2024-01-02 the ten minutes after it, as real
miniSEED records at 20 Hz. A day request that starts on 2024-01-02 and a
window soon after midnight both read the object of 2024-01-01 for its
records that cross midnight. That object is stored without the public-read
ACL (denied), replaced by bytes that are not miniSEED (garbage), or not
stored (missing).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
import xarray as xr
from test_window_failures import load_warned
from test_windows import _index_cache  # noqa: F401 (an autouse fixture)

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.errors import (
    AccessDeniedError,
    DecodeError,
    StorageUnavailableError,
)
from intake_earthscope.testing import LoopbackS3, create_bucket

import mseedgen
from conftest import bucket_of, collection_spec, publish
from faultproxy import FaultProxy, FaultRule

RATE = 20.0
MIDNIGHT = mseedgen.nstime("2024-01-02T00:00:00Z")
BUCKET, REGION = bucket_of("sage")
GARBAGE = b"<html>403 Forbidden</html>\n" * 200
# The day's own object fills the first ten minutes of 2024-01-02.
OWN_FRACTION = 600 / 86_400
# A window after midnight that its own object fills. It reads the day before
# only for records that run past midnight.
AFTER_MIDNIGHT = ["2024-01-02T00:00:20"]


def key(day: int, station: str = "STA") -> str:
    return f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"


def ten_minutes(day: int, station: str = "STA") -> bytes:
    """Day 1: the ten minutes before midnight. Day 2: the ten minutes after."""
    start = MIDNIGHT - 600 * 10**9 if day == 1 else MIDNIGHT
    values = (np.arange(600 * 20) % 500 + 1000 * day).astype(np.int32)
    return mseedgen.segment_bytes(f"XX.{station}.00.BHZ", start, values, RATE)


@pytest.fixture
def bucket(s3: LoopbackS3) -> LoopbackS3:
    """The sage bucket on the moto server, with each station's day 2."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(2, s): ten_minutes(2, s) for s in ("STA", "STB")})
    return s3


def store_previous(s3: LoopbackS3, state: str, station: str = "STA") -> None:
    """Store day 1 of ``station`` as ``state``: denied, garbage or missing."""
    if state == "denied":
        # Without the public-read ACL moto returns 403 to anonymous reads.
        client = s3.client(REGION)
        client.put_object(
            Bucket=BUCKET, Key=key(1, station), Body=ten_minutes(1, station)
        )
    elif state == "garbage":
        publish(s3, "sage", {key(1, station): GARBAGE})


def days(station: str = "STA", **options) -> xr.Dataset:
    """Open 2024-01-02 of ``station`` lazily."""
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station=station,
        location="00",
        channel="BHZ",
        start="2024-01-02",
        end="2024-01-03",
        **options,
    )


def windows(station: str = "STA", **options) -> xr.Dataset:
    """Open ten seconds around the window after midnight lazily."""
    return open_windows(
        collection_spec("sage"),
        AFTER_MIDNIGHT,
        10.0,
        10.0,
        network="XX",
        station=station,
        location="00",
        channel="BHZ",
        sampling_rate=RATE,
        **options,
    )


def load_quiet(dataset: xr.Dataset) -> xr.Dataset:
    """Load with every warning turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return dataset.load()


def info_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]


FAILURES = [
    ("denied", AccessDeniedError, "access_denied"),
    ("garbage", DecodeError, "unreadable"),
]


# Day requests: the first day reads the previous day's object


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
@pytest.mark.parametrize("tail", [None, 4096])
def test_day_raise_names_object_and_fix(
    bucket: LoopbackS3, state: str, error: type, status: str, tail: int | None
) -> None:
    store_previous(bucket, state)

    with pytest.raises(error) as raised:
        days(neighbour_bytes=tail).load()

    message = str(raised.value)
    assert message.startswith(f"previous-day object {key(1)} of tier 'open', ")
    assert "read for the records that cross midnight into 2024-01-02" in message
    assert f"s3://{BUCKET}/{key(1)}" in message
    assert "neighbour_bytes=0 skips that read" in message
    assert "pass errors='warn' or errors='ignore'" in message
    assert f"(status {status!r})" in message


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_day_warn_keeps_own_samples(
    bucket: LoopbackS3, state: str, error: type, status: str
) -> None:
    store_previous(bucket, state)

    dataset, texts = load_warned(days(errors="warn"))
    row = dataset.waveform.values[0]

    assert len(texts) == 1
    assert texts[0].startswith(f"previous-day object {key(1)} of tier 'open', ")
    assert "cross midnight into 2024-01-02" in texts[0]
    assert "neighbour_bytes=0 skips that read" in texts[0]
    assert f"(status {status!r})" in texts[0]
    assert dataset.status.values.tolist() == [["ok"]]
    assert float(dataset.valid_fraction.values[0, 0]) == pytest.approx(OWN_FRACTION)
    assert not np.isnan(row[: 600 * 20]).any()
    assert np.isnan(row[600 * 20 :]).all()


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_day_ignore_logs_info(
    bucket: LoopbackS3,
    caplog: pytest.LogCaptureFixture,
    state: str,
    error: type,
    status: str,
) -> None:
    store_previous(bucket, state)
    caplog.set_level(logging.INFO, logger="intake_earthscope")

    dataset = load_quiet(days(errors="ignore"))
    reports = [text for text in info_records(caplog) if "previous-day" in text]

    assert len(reports) == 1
    assert reports[0].startswith(f"{status}: previous-day object {key(1)}")
    assert dataset.status.values.tolist() == [["ok"]]
    assert float(dataset.valid_fraction.values[0, 0]) == pytest.approx(OWN_FRACTION)


def test_day_neighbour_bytes_zero_skips(bucket: LoopbackS3) -> None:
    """The fix the error names reads the day without the previous object."""
    store_previous(bucket, "denied")

    with pytest.raises(AccessDeniedError):
        days().load()
    dataset = load_quiet(days(neighbour_bytes=0))

    assert dataset.status.values.tolist() == [["ok"]]


def test_day_missing_silent_denied_reported(bucket: LoopbackS3) -> None:
    """STA's previous object is missing, STB's is denied: one warning, for STB."""
    store_previous(bucket, "denied", station="STB")

    dataset, texts = load_warned(days(station="STA,STB", errors="warn"))

    assert len(texts) == 1
    assert key(1, "STB") in texts[0]
    assert dataset.status.values.tolist() == [["ok"], ["ok"]]


def test_day_listed_then_missing_silent(bucket: LoopbackS3) -> None:
    """A previous object listed at open and deleted before the read stays no
    error, while a denied one of the same request raises."""
    store_previous(bucket, "garbage")
    store_previous(bucket, "denied", station="STB")
    opened = days(station="STA,STB")
    bucket.client(REGION).delete_object(Bucket=BUCKET, Key=key(1))

    with pytest.raises(AccessDeniedError) as raised:
        opened.load()

    message = str(raised.value)
    assert key(1, "STB") in message
    assert key(1, "STA") not in message


def test_day_unreachable_raises(
    bucket: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_previous(bucket, "garbage")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    with FaultProxy(bucket.endpoint_url, [FaultRule("500", key=key(1))]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        with pytest.raises(StorageUnavailableError) as raised:
            days().load()

    message = str(raised.value)
    assert message.startswith(f"previous-day object {key(1)} of tier 'open', ")
    assert "HTTP 500" in message
    assert "(status 'unreachable')" in message


def test_day_message_without_secret(bucket: LoopbackS3) -> None:
    store_previous(bucket, "garbage")
    options = {"key": "AKIAEXAMPLEKEY", "secret": "do-not-print-this-secret"}

    with pytest.raises(DecodeError) as raised:
        days(storage_options=options).load()

    message = str(raised.value)
    assert key(1) in message
    assert "do-not-print-this-secret" not in message


def test_day_damaged_previous_gives_records(bucket: LoopbackS3) -> None:
    """A previous object with bytes that are not miniSEED after its records is
    damaged, not failed, so its records that cross midnight are placed."""
    before = MIDNIGHT - 600 * 10**9
    crossing = np.arange(600 * 20 + 200, dtype=np.int32)
    spill = mseedgen.segment_bytes("XX.STC.00.BHZ", before, crossing, RATE)
    later = mseedgen.segment_bytes(
        "XX.STC.00.BHZ", MIDNIGHT + 60 * 10**9, np.zeros(1200, np.int32), RATE
    )
    publish(bucket, "sage", {key(1, "STC"): spill + GARBAGE, key(2, "STC"): later})

    dataset = load_quiet(days(station="STC"))
    row = dataset.waveform.values[0]

    assert row[:200].tolist() == crossing[-200:].tolist()
    assert np.isnan(row[200 : 60 * 20]).all()
    assert dataset.status.values.tolist() == [["ok"]]


# Event windows: a window soon after midnight reads the day before too


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_window_raise_names_object(
    bucket: LoopbackS3, state: str, error: type, status: str
) -> None:
    store_previous(bucket, state)

    with pytest.raises(error) as raised:
        windows().load()

    message = str(raised.value)
    assert message.startswith(f"previous-day object {key(1)} of tier 'open', ")
    assert "read for the records that cross midnight into 2024-01-02" in message
    assert f"s3://{BUCKET}/{key(1)}" in message
    assert "pass errors='warn' or errors='ignore'" in message
    assert f"(status {status!r})" in message


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_window_warn_keeps_own_samples(
    bucket: LoopbackS3, state: str, error: type, status: str
) -> None:
    store_previous(bucket, state)

    dataset, texts = load_warned(windows(errors="warn"))

    assert len(texts) == 1
    assert texts[0].startswith(f"previous-day object {key(1)} of tier 'open', ")
    assert f"(status {status!r})" in texts[0]
    assert dataset.status.values.tolist() == [["ok"]]
    assert dataset.valid_fraction.values.tolist() == [[1.0]]
    assert not np.isnan(dataset.waveform.values).any()


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_window_ignore_logs_info(
    bucket: LoopbackS3,
    caplog: pytest.LogCaptureFixture,
    state: str,
    error: type,
    status: str,
) -> None:
    store_previous(bucket, state)
    caplog.set_level(logging.INFO, logger="intake_earthscope")

    dataset = load_quiet(windows(errors="ignore"))
    reports = [text for text in info_records(caplog) if "previous-day" in text]

    assert len(reports) == 1
    assert reports[0].startswith(f"{status}: previous-day object {key(1)}")
    assert dataset.status.values.tolist() == [["ok"]]
    assert dataset.valid_fraction.values.tolist() == [[1.0]]


def test_window_missing_silent_denied_reported(bucket: LoopbackS3) -> None:
    """STA's previous object is missing, STB's is denied: one warning, for STB."""
    store_previous(bucket, "denied", station="STB")

    dataset, texts = load_warned(windows(station="STA,STB", errors="warn"))

    assert len(texts) == 1
    assert key(1, "STB") in texts[0]
    assert dataset.status.values.tolist() == [["ok", "ok"]]
    assert dataset.valid_fraction.values.tolist() == [[1.0, 1.0]]
