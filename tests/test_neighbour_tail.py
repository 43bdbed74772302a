"""Reads of the previous day's end that start inside a record.

The object of 2024-01-01 ends with a record that starts before midnight
and runs ten seconds past it. ``neighbour_bytes`` reads only the end of that object
first, and a byte count that is not a multiple of the record length starts
that read inside a record.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from test_windows import _index_cache  # noqa: F401 (an autouse fixture)

from intake_earthscope import open_waveforms
from intake_earthscope.errors import ObjectNotFoundError
from intake_earthscope.testing import LoopbackS3, create_bucket

import mseedgen
from conftest import bucket_of, collection_spec, publish

RATE = 1.0
BUCKET, REGION = bucket_of("sage")
# Day 1: 3,610 samples at 1 Hz from 23:00:00 in 512-byte records, so its
# last record starts before midnight and runs ten seconds past it.
CROSSING_START = "2024-01-01T23:00:00Z"


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def previous_day() -> bytes:
    values = (np.arange(3_610) * 7 % 900).astype(np.int32)
    return mseedgen.segment_bytes("XX.STA.00.LHZ", CROSSING_START, values, RATE)


def own_day() -> bytes:
    values = (np.arange(600) % 300 + 5_000).astype(np.int32)
    return mseedgen.segment_bytes("XX.STA.00.LHZ", "2024-01-02T00:00:10Z", values, RATE)


@pytest.fixture
def bucket(s3: LoopbackS3) -> LoopbackS3:
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(1): previous_day(), key(2): own_day()})
    return s3


def first_minute(**options) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return open_waveforms(
            collection_spec("sage"),
            network="XX",
            station="STA",
            location="00",
            channel="LHZ",
            start="2024-01-02",
            end="2024-01-02T00:01",
            sampling_rate=RATE,
            **options,
        ).load()


def test_previous_day_crosses_midnight(bucket: LoopbackS3) -> None:
    whole = first_minute(neighbour_bytes=None)

    # The last record of day 1 gives the first ten seconds of day 2.
    assert not np.isnan(whole.waveform.values[0, :10]).any()


@pytest.mark.parametrize("tail", [100, 511, 513, 1_000, 5_000])
def test_tail_inside_record_same_samples(bucket: LoopbackS3, tail: int) -> None:
    whole = first_minute(neighbour_bytes=None)
    ended = first_minute(neighbour_bytes=tail)

    assert (ended.status.values == "ok").all()
    np.testing.assert_array_equal(ended.waveform.values, whole.waveform.values)


def test_tail_of_truncated_object(bucket: LoopbackS3) -> None:
    """A cut after the crossing record leaves it whole in the tail."""
    publish(bucket, "sage", {key(1): previous_day() + b"\x00" * 100})
    whole = first_minute(neighbour_bytes=None)
    ended = first_minute(neighbour_bytes=1_000)

    np.testing.assert_array_equal(ended.waveform.values, whole.waveform.values)
    assert not np.isnan(ended.waveform.values[0, :10]).any()


def test_own_day_missing_names_rate_fix(s3: LoopbackS3) -> None:
    """Only the previous day exists, which cannot give the rate at open."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(1): previous_day()})
    codes = {"network": "XX", "station": "STA", "location": "00", "channel": "LHZ"}

    with pytest.raises(ObjectNotFoundError) as caught:
        open_waveforms(
            collection_spec("sage"), start="2024-01-02", end="2024-01-03", **codes
        )

    assert key(2) in str(caught.value)
    assert key(1) not in str(caught.value)
    assert "sampling_rate=" in str(caught.value)


def test_own_day_missing_rate_given(s3: LoopbackS3) -> None:
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(1): previous_day()})

    dataset = first_minute(errors="ignore")

    assert (dataset.status.values == "missing").all()
    assert not np.isnan(dataset.waveform.values[0, :10]).any()
    assert np.isnan(dataset.waveform.values[0, 10:]).all()


@pytest.mark.parametrize("station", ["STA", "ST?", "*"])
def test_own_day_missing_any_codes(s3: LoopbackS3, station: str) -> None:
    """Exact codes and wildcards both raise at open, naming the fix."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(1): previous_day()})

    with pytest.raises(ObjectNotFoundError, match="sampling_rate="):
        open_waveforms(
            collection_spec("sage"),
            network="XX",
            station=station,
            location="00",
            channel="LH?",
            start="2024-01-02",
            end="2024-01-03",
        )
