"""Event windows whose objects fail in more than one way, on a moto S3 server.

Day 1 contains the ten minutes before midnight of 2024-01-02, day 2 the ten
minutes after it, as real miniSEED records of XX.STA.00.BHZ at 20 Hz. A
window that crosses midnight overlaps both objects, and a window that starts
soon after midnight reads day 1 only for records that run past midnight.
"""

from __future__ import annotations

import warnings

import dask
import numpy as np
import pytest
import xarray as xr
from test_windows import _index_cache  # noqa: F401 (an autouse fixture)

from intake_earthscope import open_windows, outcome_table
from intake_earthscope.errors import (
    AccessDeniedError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
    StorageUnavailableError,
)
from intake_earthscope.testing import LoopbackS3, create_bucket

import mseedgen
from conftest import bucket_of, collection_spec, publish
from faultproxy import FaultProxy, FaultRule

RATE = 20.0
CODES = {"network": "XX", "station": "STA", "location": "00", "channel": "BHZ"}
MIDNIGHT = mseedgen.nstime("2024-01-02T00:00:00Z")
BUCKET, REGION = bucket_of("sage")

# Overlaps day 1 and day 2.
CROSSING = ["2024-01-01T23:59:50"]
# Overlaps day 2 only. Day 1 is read for its records that run past midnight.
AFTER_MIDNIGHT = ["2024-01-02T00:00:20"]


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def url(day: int) -> str:
    return f"s3://{BUCKET}/{key(day)}"


def gone(day: int) -> str:
    """The message of a day whose object is not found when read."""
    return (
        f"object of XX.STA for 2024-01-{day:02d} not found in tier 'open': {url(day)}"
    )


def ten_minutes(day: int) -> bytes:
    """Day 1: the ten minutes before midnight. Day 2: the ten minutes after."""
    start = MIDNIGHT - 600 * 10**9 if day == 1 else MIDNIGHT
    values = (np.arange(600 * 20) % 500 + 1000 * day).astype(np.int32)
    return mseedgen.segment_bytes("XX.STA.00.BHZ", start, values, RATE)


@pytest.fixture
def bucket(s3: LoopbackS3) -> LoopbackS3:
    """The sage bucket, empty, on the moto server."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    return s3


def public(s3: LoopbackS3, day: int) -> None:
    publish(s3, "sage", {key(day): ten_minutes(day)})


def private(s3: LoopbackS3, day: int) -> None:
    """Store a day without the public-read ACL: moto returns 403 to reads."""
    s3.client(REGION).put_object(Bucket=BUCKET, Key=key(day), Body=ten_minutes(day))


def delete(s3: LoopbackS3, day: int) -> None:
    s3.client(REGION).delete_object(Bucket=BUCKET, Key=key(day))


def lazy(times: list[str], seconds: float, **options) -> xr.Dataset:
    """Open windows of ``seconds`` before and after ``times`` without reading."""
    return open_windows(
        collection_spec("sage"),
        times,
        seconds,
        seconds,
        sampling_rate=RATE,
        **{**CODES, **options},
    )


def load_warned(dataset: xr.Dataset) -> tuple[xr.Dataset, list[str]]:
    """Load under errors="warn" and return the texts of the warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = dataset.load()
    texts = [str(w.message) for w in caught if w.category is ReadOutcomeWarning]
    return loaded, texts


# A window that crosses midnight: day 1 not stored, day 2 denied


@pytest.fixture
def missing_then_denied(bucket: LoopbackS3) -> LoopbackS3:
    private(bucket, 2)
    return bucket


def test_crossing_raise_names_both(missing_then_denied: LoopbackS3) -> None:
    with pytest.raises(AccessDeniedError) as raised:
        lazy(CROSSING, 20.0).load()

    message = str(raised.value)
    assert message.startswith("2 objects that the windows need failed:")
    assert f"- missing: {gone(1)}\n" in message
    assert f"- access_denied: access denied reading {url(2)}" in message
    assert "(status 'access_denied')" in message


def test_crossing_raise_keeps_main_error(missing_then_denied: LoopbackS3) -> None:
    # The joint error is a new one, raised from the main failure, whose own
    # message stays as the read gave it.
    with pytest.raises(AccessDeniedError) as raised:
        lazy(CROSSING, 20.0).load()

    cause = raised.value.__cause__
    assert isinstance(cause, AccessDeniedError)
    assert str(cause).startswith(f"access denied reading {url(2)}")
    assert "objects that the windows need failed" not in str(cause)
    assert "errors='warn'" not in str(cause)


def test_crossing_warn_once_per_object(missing_then_denied: LoopbackS3) -> None:
    times = [*CROSSING, "2024-01-01T23:59:55"]

    dataset, texts = load_warned(lazy(times, 20.0, errors="warn"))

    assert len(texts) == 2
    assert "object of XX.STA for 2024-01-01 not found" in texts[0]
    assert "(status 'missing')" in texts[0]
    assert f"access denied reading {url(2)}" in texts[1]
    assert "(status 'access_denied')" in texts[1]
    assert (dataset.status.values == "access_denied").all()


def test_crossing_ignore_status(missing_then_denied: LoopbackS3) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = lazy(CROSSING, 20.0, errors="ignore").load()

    table = outcome_table(dataset)

    assert dataset.status.values.tolist() == [["access_denied"]]
    assert np.isnan(dataset.waveform.values).all()
    assert table["status"].tolist() == ["access_denied"]
    assert table["valid_fraction"].tolist() == [0.0]
    assert table["read_mode"].tolist() == [""]


# A window after midnight: one object fails, and so does the previous day's


def test_previous_day_missing_own_denied(bucket: LoopbackS3) -> None:
    private(bucket, 2)

    with pytest.raises(AccessDeniedError) as raised:
        lazy(AFTER_MIDNIGHT, 10.0).load()
    ignored = lazy(AFTER_MIDNIGHT, 10.0, errors="ignore").load()

    message = str(raised.value)
    assert "- missing: object of XX.STA for 2024-01-01" in message
    assert f"- access_denied: access denied reading {url(2)}" in message
    assert ignored.status.values.tolist() == [["access_denied"]]


def test_previous_day_denied_own_missing(bucket: LoopbackS3) -> None:
    """The denied day might have filled the window, so it sets the status."""
    private(bucket, 1)

    with pytest.raises(AccessDeniedError) as raised:
        lazy(AFTER_MIDNIGHT, 10.0).load()
    ignored = lazy(AFTER_MIDNIGHT, 10.0, errors="ignore").load()
    warned, texts = load_warned(lazy(AFTER_MIDNIGHT, 10.0, errors="warn"))

    message = str(raised.value)
    assert f"- access_denied: access denied reading {url(1)}" in message
    assert f"- missing: {gone(2)}" in message
    assert ignored.status.values.tolist() == [["access_denied"]]
    assert warned.status.values.tolist() == [["access_denied"]]
    assert len(texts) == 2


def test_previous_day_failure_alone_warns(bucket: LoopbackS3) -> None:
    """A window its own object fills keeps its status, and the failure of
    the day before is reported all the same."""
    private(bucket, 1)
    public(bucket, 2)

    dataset, texts = load_warned(lazy(AFTER_MIDNIGHT, 10.0, errors="warn"))

    assert len(texts) == 1
    assert f"access denied reading {url(1)}" in texts[0]
    assert dataset.status.values.tolist() == [["ok"]]
    assert dataset.valid_fraction.values.tolist() == [[1.0]]


def test_own_missing_previous_read_not_shown(bucket: LoopbackS3) -> None:
    """The previous day was read, but none of its records reach the window,
    so the window shows no read mode and no tier, as for a missing object."""
    public(bucket, 1)

    dataset = lazy(AFTER_MIDNIGHT, 10.0, errors="ignore").load()
    table = outcome_table(dataset)

    assert dataset.status.values.tolist() == [["missing"]]
    assert table["read_mode"].tolist() == [""]
    assert table["tier"].tolist() == [""]


def test_crossing_own_missing_keeps_previous_read(bucket: LoopbackS3) -> None:
    """A window that crosses midnight has samples from day 1, whose read
    mode and tier it shows next to the status of the missing day 2."""
    public(bucket, 1)

    dataset = lazy(CROSSING, 20.0, errors="ignore").load()
    table = outcome_table(dataset)

    assert dataset.status.values.tolist() == [["missing"]]
    assert table["read_mode"].tolist() == ["ranged"]
    assert table["tier"].tolist() == ["open"]


# Only missing objects: the error stays an ObjectNotFoundError


def test_only_missing_raise_not_found(bucket: LoopbackS3) -> None:
    """Day 1 is listed and then removed; day 2 is not in the listing."""
    public(bucket, 1)
    dataset = lazy(CROSSING, 20.0, station="ST?")
    delete(bucket, 1)

    with pytest.raises(ObjectNotFoundError) as raised:
        dataset.load()

    message = str(raised.value)
    assert f"- missing: {gone(1)}\n" in message
    unlisted = "object of XX.STA for 2024-01-02 not in the listing of tier 'open'"
    assert f"- missing: {unlisted} at s3://{BUCKET}" in message
    assert "`intake-earthscope availability` lists the objects" in message


# Unreachable day 2 and a missing day 1


def test_unreachable_and_missing(
    bucket: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    public(bucket, 2)
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    with FaultProxy(bucket.endpoint_url, [FaultRule("500", key=key(2))]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        with pytest.raises(StorageUnavailableError) as raised:
            lazy(CROSSING, 20.0).load()
        ignored = lazy(CROSSING, 20.0, errors="ignore").load()

    message = str(raised.value)
    assert "- missing: object of XX.STA for 2024-01-01" in message
    # The first request for an object is a GET of its first bytes, whose
    # reply also gives its size.
    assert f"- unreachable: GET {url(2)}" in message
    assert "HTTP 500" in message
    assert ignored.status.values.tolist() == [["unreachable"]]


# Messages of a single missing object name the tier, the station and the day


def test_unlisted_day_names_tier(bucket: LoopbackS3) -> None:
    public(bucket, 2)
    times = ["2024-01-02T00:05:00", "2024-01-03T12:00:00"]

    with pytest.raises(ObjectNotFoundError) as raised:
        lazy(times, 10.0, station="ST?").load()

    message = str(raised.value)
    assert message.startswith(
        "object of XX.STA for 2024-01-03 not in the listing of tier 'open' at "
        f"s3://{BUCKET} (region {REGION}); pass errors="
    )


def test_listed_day_gone_names_tier(bucket: LoopbackS3) -> None:
    public(bucket, 2)
    # At noon no window reads day 1 for records that run past midnight.
    dataset = lazy(["2024-01-02T12:00:00"], 10.0, station="ST?")
    delete(bucket, 2)

    with pytest.raises(ObjectNotFoundError) as raised:
        dataset.load()

    message = str(raised.value)
    assert message.startswith(f"{gone(2)}; pass errors=")


def load_outcomes(dataset: xr.Dataset, scheduler: str) -> list:
    """Load ``dataset`` with the dask ``scheduler``; return its outcome warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dask.config.set(scheduler=scheduler):
            dataset.load()
    return [w for w in caught if w.category is ReadOutcomeWarning]


def test_sync_warning_points_here(missing_then_denied: LoopbackS3) -> None:
    warned = load_outcomes(lazy(CROSSING, 20.0, errors="warn"), "sync")

    assert len(warned) == 2
    assert warned[0].filename == __file__
    assert "outcome_table" not in str(warned[0].message)


def test_thread_warning_names_outcome_table(missing_then_denied: LoopbackS3) -> None:
    warned = load_outcomes(lazy(CROSSING, 20.0, errors="warn"), "threads")

    assert len(warned) == 2
    assert "outcome_table(windows)" in str(warned[0].message)
