"""Day reads whose own object is missing and whose previous-day object failed.

The tests run on a moto S3 server on loopback (LoopbackS3). The object of
XX.STA for 2024-01-01 contains the ten minutes before midnight as real
miniSEED records at 20 Hz. A day request for 2024-01-02 reads it for its
records that cross midnight. That object is stored without the public-read
ACL (denied) or as bytes that are not miniSEED (garbage), and STA has no
object for 2024-01-02. XX.STB's object for 2024-01-02 contains the ten
minutes after midnight, so a request of both stations learns the rate from
it.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
import xarray as xr
from test_window_failures import load_warned

from intake_earthscope import open_waveforms
from intake_earthscope.errors import (
    AccessDeniedError,
    DecodeError,
    ObjectNotFoundError,
    StorageUnavailableError,
)
from intake_earthscope.testing import LoopbackS3, create_bucket

import mseedgen
from conftest import bucket_of, collection_spec, publish
from faultproxy import FaultProxy, FaultRule

RATE = 20.0
MIDNIGHT = mseedgen.nstime("2024-01-02T00:00:00Z")
DAY_NS = 86_400 * 10**9
BUCKET, REGION = bucket_of("sage")
GARBAGE = b"<html>403 Forbidden</html>\n" * 200

FAILURES = [
    ("denied", AccessDeniedError, "access_denied"),
    ("garbage", DecodeError, "unreadable"),
]


def key(day: int, station: str = "STA") -> str:
    return f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"


def ten_minutes(day: int, station: str = "STA") -> bytes:
    """Day 1: the ten minutes before midnight. Later days: their first ten."""
    start = MIDNIGHT - 600 * 10**9 if day == 1 else MIDNIGHT + (day - 2) * DAY_NS
    values = (np.arange(600 * 20) % 500 + 1000 * day).astype(np.int32)
    return mseedgen.segment_bytes(f"XX.{station}.00.BHZ", start, values, RATE)


@pytest.fixture
def bucket(s3: LoopbackS3) -> LoopbackS3:
    """The sage bucket with STB's day 2 and nothing of STA."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(2, "STB"): ten_minutes(2, "STB")})
    return s3


def store_previous(s3: LoopbackS3, state: str) -> None:
    """Store STA's day 1 as ``state``: denied or garbage."""
    if state == "denied":
        # Without the public-read ACL moto returns 403 to anonymous reads.
        s3.client(REGION).put_object(Bucket=BUCKET, Key=key(1), Body=ten_minutes(1))
    else:
        publish(s3, "sage", {key(1): GARBAGE})


def days(station: str = "STA,STB", end: str = "2024-01-03", **options) -> xr.Dataset:
    """Open the days from 2024-01-02 to ``end`` lazily."""
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station=station,
        location="00",
        channel="BHZ",
        start="2024-01-02",
        end=end,
        **options,
    )


def gone() -> str:
    """The message of STA's own object, which a read did not find."""
    return f"object not found: s3://{BUCKET}/{key(2)} (tier 'open')"


def statuses(dataset: xr.Dataset) -> dict[str, str]:
    return dict(
        zip(dataset.station.values, dataset.status.values[:, 0].tolist(), strict=True)
    )


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_raise_names_both_objects(
    bucket: LoopbackS3, state: str, error: type, status: str
) -> None:
    store_previous(bucket, state)

    with pytest.raises(error) as raised:
        days().load()

    message = str(raised.value)
    assert not isinstance(raised.value, ObjectNotFoundError)
    assert f"- {status}: previous-day object {key(1)} of tier 'open'" in message
    assert f"- missing: {gone()}" in message
    assert message.index(f"- {status}:") < message.index("- missing:")
    assert "neighbour_bytes=0 skips that read" in message
    assert "pass errors='warn' or errors='ignore'" in message
    assert f"(status {status!r})" in message


def test_raise_own_unlisted(bucket: LoopbackS3) -> None:
    """A station wildcard lists the objects, and the listing lacks STA's day 2."""
    store_previous(bucket, "denied")
    publish(bucket, "sage", {key(3): ten_minutes(3)})

    with pytest.raises(AccessDeniedError) as raised:
        days(station="STA*", end="2024-01-04").load()

    message = str(raised.value)
    unlisted = (
        "object of XX.STA for 2024-01-02 not in the listing of tier 'open' at "
        f"s3://{BUCKET}"
    )
    assert f"- access_denied: previous-day object {key(1)}" in message
    assert f"- missing: {unlisted}" in message


def test_raise_unreachable_previous(
    bucket: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_previous(bucket, "garbage")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    with FaultProxy(bucket.endpoint_url, [FaultRule("500", key=key(1))]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        with pytest.raises(StorageUnavailableError) as raised:
            days().load()

    message = str(raised.value)
    assert f"- unreachable: previous-day object {key(1)}" in message
    assert "HTTP 500" in message
    assert f"- missing: {gone()}" in message
    assert "(status 'unreachable')" in message


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_warn_once_per_day(
    bucket: LoopbackS3, state: str, error: type, status: str
) -> None:
    store_previous(bucket, state)

    dataset, texts = load_warned(days(errors="warn"))
    lines = texts[0].splitlines()

    assert len(texts) == 1
    assert lines[0] == (
        "the object of 2024-01-02 and the previous day's object both failed:"
    )
    assert lines[1].startswith(f"- {status}: previous-day object {key(1)}")
    assert lines[2] == f"- missing: {gone()}"
    assert lines[3].startswith(f"the traces of 2024-01-02 have status {status!r}")
    # The warning comes from a dask worker thread, so its last line names
    # the outcome table.
    assert lines[4].startswith("(raised while dask computed the dataset")
    assert len(lines) == 5
    assert "own object were kept" not in texts[0]
    assert statuses(dataset) == {"STA": status, "STB": "ok"}
    assert np.isnan(dataset.waveform.sel(station="STA").values).all()


@pytest.mark.parametrize(("state", "error", "status"), FAILURES)
def test_ignore_sets_worse_status(
    bucket: LoopbackS3,
    caplog: pytest.LogCaptureFixture,
    state: str,
    error: type,
    status: str,
) -> None:
    store_previous(bucket, state)
    caplog.set_level(logging.DEBUG, logger="intake_earthscope.outcomes")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = days(errors="ignore").load()
    records = [r for r in caplog.records if r.name == "intake_earthscope.outcomes"]
    texts = [r.getMessage() for r in records]

    assert statuses(dataset) == {"STA": status, "STB": "ok"}
    assert dataset.valid_fraction.sel(station="STA").values.tolist() == [0.0]
    assert any(text.startswith(f"{status}: previous-day object") for text in texts)
    assert any(text.startswith(f"missing: {gone()}") for text in texts)
    assert all(r.levelno == logging.DEBUG for r in records)


def test_previous_missing_too_raises_not_found(bucket: LoopbackS3) -> None:
    """With no object of either day the error stays the own object's."""
    with pytest.raises(ObjectNotFoundError) as raised:
        days().load()

    message = str(raised.value)
    assert message.startswith(gone())
    assert "previous-day" not in message


def test_warn_own_failed_previous_failed(bucket: LoopbackS3) -> None:
    store_previous(bucket, "denied")
    publish(bucket, "sage", {key(2): GARBAGE})

    dataset, texts = load_warned(days(errors="warn"))
    lines = texts[0].splitlines()

    assert len(texts) == 1
    assert lines[1].startswith(f"- access_denied: previous-day object {key(1)}")
    assert lines[2].startswith("- unreadable: invalid miniSEED")
    assert f"s3://{BUCKET}/{key(2)}" in lines[2]
    assert lines[3].startswith("the traces of 2024-01-02 have status 'unreadable'")
    assert "were kept" not in texts[0]
    assert statuses(dataset) == {"STA": "unreadable", "STB": "ok"}
